"""YAML (with the YAML 1.1 traps fixed), JSON and TOML loaders that keep line numbers."""

from __future__ import annotations

import bisect
import json
import math
import re
import tomllib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, cast

import yaml

from gdcert.config.document import (
    CONFIG_EXTENSIONS,
    ConfigDoc,
    KeyPath,
    _one_line,
    _where,
)
from gdcert.errors import InputError
from gdcert.validate import brief, clip, format_bytes, shown_path, stat_error

# --------------------------------------------------------------------------- YAML

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"

_DIGITS = r"[0-9](?:_?[0-9])*"
_INT_RE = re.compile(rf"^(?:[-+]?{_DIGITS}|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    rf"""^(?:
        [-+]?(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][-+]?[0-9]+)?  # 1.5, 1., .5, 1.5e3
      | [-+]?{_DIGITS}[eE][-+]?[0-9]+                                     # 1e-3, -2e4
      | [-+]?\.(?:inf|Inf|INF)
      | \.(?:nan|NaN|NAN)
    )$""",
    re.X,
)
_BOOL_RE = re.compile(r"^(?:true|false)$", re.I)


class GdcertLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with YAML 1.2 numbers and booleans and no duplicate keys.

    Set :attr:`name` to the file name so that errors and marks name it.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # SafeConstructor reports unhashable keys itself
            if key in seen:
                raise InputError(
                    f"{self.name}:{key_node.start_mark.line + 1}: duplicate key {brief(key)}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        text = str(self.construct_scalar(node)).replace("_", "")
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        text = str(self.construct_scalar(node)).replace("_", "").lower()
        if text.endswith(".inf"):
            return -math.inf if text.startswith("-") else math.inf
        if text == ".nan":
            return math.nan
        return float(text)


GdcertLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT_TAG, _FLOAT_TAG, _BOOL_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Order matters: the first matching resolver wins, so int goes before float.
GdcertLoader.add_implicit_resolver(_BOOL_TAG, _BOOL_RE, list("tTfF"))
GdcertLoader.add_implicit_resolver(_INT_TAG, _INT_RE, list("-+0123456789"))
GdcertLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT_RE, list("-+0123456789."))
GdcertLoader.add_constructor(_INT_TAG, GdcertLoader.construct_yaml_int)
GdcertLoader.add_constructor(_FLOAT_TAG, GdcertLoader.construct_yaml_float)


def _yaml_lines(root: yaml.Node | None) -> dict[KeyPath, int]:
    """Map every key path to the line of its key (mapping) or item (sequence)."""
    lines: dict[KeyPath, int] = {}
    visited: set[int] = set()  # aliases share nodes: walk each node once (no blow-up)

    def walk(node: yaml.Node, prefix: KeyPath) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                path = (*prefix, str(key_node.value))
                lines.setdefault(path, key_node.start_mark.line + 1)
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                path = (*prefix, index)
                lines.setdefault(path, item.start_mark.line + 1)
                walk(item, path)

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


#: Largest configuration file read (a training config or checks file is a few KB).
MAX_CONFIG_BYTES = 16 * 1024**2


def _read_text(path: Path, kind: str) -> str:
    shown = shown_path(path)
    try:
        exists, is_file = path.exists(), path.is_file()
        size = path.stat().st_size if is_file else 0
    except (OSError, ValueError) as exc:
        raise InputError(f"{shown}: cannot access: {stat_error(exc)}") from None
    if not exists:
        raise InputError(f"{shown}: file not found")
    if not is_file:
        raise InputError(f"{shown}: is not a regular file; expected a {kind} file")
    if size > MAX_CONFIG_BYTES:
        raise InputError(f"{shown}: is {format_bytes(size)}; a {kind} configuration file "
                         f"is expected to be at most {format_bytes(MAX_CONFIG_BYTES)}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{shown}: is not UTF-8 text ({_one_line(exc.reason)})") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read: {exc.strerror or exc}") from None


def _parse_yaml(text: str, path: Path) -> ConfigDoc:
    try:
        loader = GdcertLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        where = _where(path, text.count("\n", 0, exc.position) + 1)
        raise InputError(f"{where}: invalid YAML: character "
                         f"#x{exc.character:04x} is not allowed in YAML text") from None
    loader.name = str(path)
    try:
        root = loader.get_single_node()
        lines = _yaml_lines(root)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if exc.problem and exc.context:
            joiner = ", " if exc.problem.startswith("but ") else ": "
            problem = f"{exc.context}{joiner}{exc.problem}"
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"{_where(path, line)}: invalid YAML: {clip(problem)}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {clip(exc)}") from None
    finally:
        loader.dispose()
    return ConfigDoc(Path(path), data, lines)


def load_yaml(path: str | Path) -> ConfigDoc:
    """Parse a YAML file safely with :class:`GdcertLoader`; an empty file gives ``data=None``."""
    p = Path(path)
    return parse_guarded(_parse_yaml, _read_text(p, "YAML"), p, "YAML")


# --------------------------------------------------------------------------- JSON


class _LineIndex:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos)


# The decoder's string scanner (not declared in typeshed): (text, index after the opening
# quote) -> (decoded string, index after the closing quote).
_scanstring = cast(Callable[[str, int], tuple[str, int]], vars(json.decoder)["scanstring"])


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


_JSON_WS = re.compile(r"[ \t\r\n]*")
_JSON_SCALAR = re.compile(r"[^\s,\]\}]+")


def _json_lines(text: str, path: Path) -> dict[KeyPath, int]:
    """Key/item lines of a *valid* JSON text; raises on a duplicate key (with its line)."""
    line_of = _LineIndex(text)
    lines: dict[KeyPath, int] = {}

    def ws(pos: int) -> int:
        match = _JSON_WS.match(text, pos)
        return match.end() if match else pos

    def value(pos: int, prefix: KeyPath) -> int:
        pos = ws(pos)
        char = text[pos]
        if char == "{":
            pos, seen = ws(pos + 1), set()
            while text[pos] != "}":
                key_line = line_of(pos)
                key, pos = _scanstring(text, pos + 1)
                if key in seen:
                    raise InputError(f"{path}:{key_line}: duplicate key {brief(key)}")
                seen.add(key)
                lines[(*prefix, key)] = key_line
                pos = ws(pos) + 1  # ':'
                pos = ws(value(pos, (*prefix, key)))
                if text[pos] == ",":
                    pos = ws(pos + 1)
            return pos + 1
        if char == "[":
            pos, index = ws(pos + 1), 0
            while text[pos] != "]":
                lines[(*prefix, index)] = line_of(pos)
                pos = ws(value(pos, (*prefix, index)))
                if text[pos] == ",":
                    pos = ws(pos + 1)
                index += 1
            return pos + 1
        if char == '"':
            return _scanstring(text, pos + 1)[1]
        match = _JSON_SCALAR.match(text, pos)
        return match.end() if match else pos + 1

    start = ws(0)
    lines[()] = line_of(start)
    value(start, ())
    return lines


def _parse_json(text: str, path: Path) -> ConfigDoc:
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}: invalid JSON: {clip(exc.msg)} (column {exc.colno})"
        ) from None
    except _DuplicateKey as exc:
        _json_lines(text, path)  # raises with the line number
        raise InputError(f"{path}: duplicate key {brief(exc.args[0])}") from None
    return ConfigDoc(Path(path), data, _json_lines(text, path))


# --------------------------------------------------------------------------- TOML

_TOML_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_SCALAR = re.compile(r"[^,\]\}\n#]+")
_TOML_ERROR_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


class _TomlScanner:
    """Where keys and array items are written in a *valid* TOML text (best effort).

    Understands ``[table]`` and ``[[array.of.tables]]`` headers, dotted and quoted keys,
    inline tables, (multi-line) arrays and all four string forms; ``tomllib`` has already
    checked the syntax, so the scanner only needs to find positions.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line_of = _LineIndex(text)
        self.lines: dict[KeyPath, int] = {}
        self.array_tables: dict[KeyPath, int] = {}

    def run(self) -> dict[KeyPath, int]:
        self.lines[()] = 1
        table: KeyPath = ()
        text = self.text
        while True:
            self.skip(newlines=True)
            if self.pos >= len(text):
                return self.lines
            if text.startswith("[[", self.pos):
                self.pos += 2
                table = self.header(array=True)
                self.pos += 2
            elif text[self.pos] == "[":
                self.pos += 1
                table = self.header(array=False)
                self.pos += 1
            else:
                self.keyval(table)

    def skip(self, *, newlines: bool) -> None:
        text, chars = self.text, " \t\r\n" if newlines else " \t"
        while self.pos < len(text):
            if text[self.pos] in chars:
                self.pos += 1
            elif text[self.pos] == "#" and newlines:
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def header(self, *, array: bool) -> KeyPath:
        line = self.line_of(self.pos)
        keys = self.key()
        resolved: KeyPath = ()
        for i, key in enumerate(keys):
            resolved = (*resolved, key)
            self.lines.setdefault(resolved, line)
            last = i == len(keys) - 1
            if array and last:
                count = self.array_tables.get(resolved, 0)
                self.array_tables[resolved] = count + 1
                resolved = (*resolved, count)
                self.lines.setdefault(resolved, line)
            elif resolved in self.array_tables:
                resolved = (*resolved, self.array_tables[resolved] - 1)
        self.skip(newlines=False)
        return resolved

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip(newlines=False)
            parts.append(self.simple_key())
            self.skip(newlines=False)
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            return parts

    def simple_key(self) -> str:
        text = self.text
        if text[self.pos] == '"':
            try:
                value, self.pos = _scanstring(text, self.pos + 1)
                return value
            except ValueError:
                end = text.index('"', self.pos + 1)
                value, self.pos = text[self.pos + 1 : end], end + 1
                return value
        if text[self.pos] == "'":
            end = text.index("'", self.pos + 1)
            value, self.pos = text[self.pos + 1 : end], end + 1
            return value
        match = _TOML_BARE_KEY.match(text, self.pos)
        if match is None:
            raise ValueError(f"unexpected character at {self.pos}")
        self.pos = match.end()
        return match.group()

    def keyval(self, table: KeyPath) -> None:
        line = self.line_of(self.pos)
        keys = self.key()
        path = table
        for key in keys:
            path = (*path, key)
            self.lines.setdefault(path, line)
        self.skip(newlines=False)
        self.pos += 1  # '='
        self.value(path)

    def value(self, path: KeyPath) -> None:
        self.skip(newlines=False)
        text = self.text
        char = text[self.pos]
        if char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip(newlines=True)
                if text[self.pos] == "]":
                    self.pos += 1
                    return
                self.lines.setdefault((*path, index), self.line_of(self.pos))
                self.value((*path, index))
                self.skip(newlines=True)
                if text[self.pos] == ",":
                    self.pos += 1
                index += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip(newlines=True)
                if text[self.pos] == "}":
                    self.pos += 1
                    return
                self.keyval(path)
                self.skip(newlines=True)
                if text[self.pos] == ",":
                    self.pos += 1
        elif char in "\"'":
            self.string(char)
        else:
            match = _TOML_SCALAR.match(text, self.pos)
            self.pos = match.end() if match else self.pos + 1

    def string(self, quote: str) -> None:
        text = self.text
        triple = quote * 3
        if text.startswith(triple, self.pos):
            self.pos += 3
            while True:
                if quote == '"' and text[self.pos] == "\\":
                    self.pos += 2
                elif text.startswith(triple, self.pos):
                    self.pos += 3
                    # Up to two quotes right before the closing delimiter are content.
                    while self.pos < len(text) and text[self.pos] == quote:
                        self.pos += 1
                    return
                else:
                    self.pos += 1
        self.pos += 1
        while text[self.pos] != quote:
            self.pos += 2 if quote == '"' and text[self.pos] == "\\" else 1
        self.pos += 1


def _parse_toml(text: str, path: Path) -> ConfigDoc:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_ERROR_AT.search(message)
        line = int(at.group(1)) if at else None
        problem = _TOML_ERROR_AT.sub("", message)
        raise InputError(f"{_where(path, line)}: invalid TOML: {clip(problem)}") from None
    try:
        lines = _TomlScanner(text).run()
    except (ValueError, IndexError):
        lines = {(): 1}  # line numbers are best effort; the data are already correct
    return ConfigDoc(Path(path), data, lines)


# --------------------------------------------------------------------------- load_any

_PARSERS: dict[str, tuple[str, Callable[[str, Path], ConfigDoc]]] = {
    ".yaml": ("YAML", _parse_yaml),
    ".yml": ("YAML", _parse_yaml),
    ".json": ("JSON", _parse_json),
    ".toml": ("TOML", _parse_toml),
}


def load_any(path: str | Path) -> ConfigDoc:
    """Parse a ``.yaml``/``.yml``, ``.json`` or ``.toml`` file (chosen by extension)."""
    p = Path(path)
    entry = _PARSERS.get(p.suffix.lower())
    if entry is None:
        shown = brief(p.suffix) if p.suffix else "no extension"
        raise InputError(
            f"{shown_path(p)}: unsupported config file type ({shown}); supported: "
            + ", ".join(CONFIG_EXTENSIONS)
        )
    kind, parse = entry
    return parse_guarded(parse, _read_text(p, kind), p, kind)


#: Deepest nesting of mappings/lists accepted in a configuration file.
MAX_NESTING = 100


def parse_guarded(parse: Callable[[str, Path], ConfigDoc], text: str, path: Path,
                  kind: str) -> ConfigDoc:
    """Run a parser; refuse absurd nesting, and turn exhausted recursion or memory (deep
    nesting, alias bombs) into one line naming the file."""
    depth = _max_brackets(text)
    if depth > MAX_NESTING:
        raise InputError(f"{shown_path(path)}: nested {depth} levels deep; a {kind} "
                         f"configuration is expected to nest at most {MAX_NESTING} levels")
    try:
        doc = parse(text, path)
    except InputError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{shown_path(path)}: invalid {kind}: {clip(exc)}") from None
    except RecursionError:
        raise InputError(f"{shown_path(path)}: nested too deeply to read as {kind}") from None
    except MemoryError:
        raise InputError(f"{shown_path(path)}: out of memory while reading {kind} (an alias "
                         "or nesting bomb?)") from None
    if _nesting(doc.data) > MAX_NESTING:
        raise InputError(f"{shown_path(path)}: nested more than {MAX_NESTING} levels deep; a "
                         f"{kind} configuration is expected to be shallow")
    return doc


def _max_brackets(text: str) -> int:
    """Upper bound on flow nesting ([ and {), ignoring quotes: cheap and conservative."""
    depth = best = 0
    for match in re.finditer(r"[\[{\]}]", text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        best = max(best, depth)
    return best


def _nesting(data: Any) -> int:
    """Nesting depth of parsed data (each shared node visited once; iterative)."""
    best = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen: set[int] = set()
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            best = max(best, level + 1)
            if best > MAX_NESTING:
                return best
            stack.extend((v, level + 1) for v in (node.values() if isinstance(node, dict)
                                                  else node))
    return best


