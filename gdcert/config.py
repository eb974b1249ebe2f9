"""Configuration files (YAML, JSON, TOML) with line numbers, key-path lookup and a schema.

YAML is read with :class:`GdcertLoader`, a ``yaml.SafeLoader`` subclass that fixes the
YAML 1.1 traps of PyYAML:

* ``1e-3``, ``1E+5``, ``.5e-2`` and ``-2e4`` are floats (PyYAML reads them as strings);
* only ``true`` / ``false`` (any case) are booleans — ``on``, ``off``, ``yes``, ``no``
  stay strings;
* integers follow YAML 1.2: ``010`` is ten (not octal eight), ``1:30`` is a string (not
  the sexagesimal 90); ``0o17`` and ``0x1f`` are octal and hex;
* a duplicated mapping key is an error naming the file and line (PyYAML keeps the last).

Every loader returns a :class:`ConfigDoc` whose :meth:`ConfigDoc.line` gives the 1-based
line where a key path is written, so errors can say ``train.yaml:12: ...``.

Schema
------
A schema maps key names to :class:`Field` objects.  ``Field.type`` is one of

* a scalar type — ``int``, ``float``, ``str``, ``bool`` or ``type(None)``; a tuple of
  them accepts any (tried in order, e.g. ``(int, type(None))`` for an optional seed);
* a nested schema (a mapping of key names to fields) for a sub-section;
* :class:`ListOf` (``ListOf(float)``, ``ListOf({"lr": Field(float)})``) for a list.

``float`` accepts ints and strings such as ``'1e-3'``; ``int`` accepts integral floats
such as ``1e4``; ``bool`` accepts only real booleans.  ``positive=True`` requires
``> 0``; ``choices`` restricts the (converted) value.  A missing optional key takes its
``default``; a missing optional section takes its fields' defaults.  Example::

    SCHEMA = {
        "problem": Field({"target": Field(str, required=True),
                          "depth": Field(int, required=True, positive=True)},
                         required=True),
        "run": Field({"iterations": Field(int, default=1000, positive=True),
                      "lr": Field(float, positive=True, help="step size"),
                      "init": Field(str, default="balanced",
                                    choices=("balanced", "identity", "random"))}),
        "step_sizes": Field(ListOf(float), default=[]),
    }
    doc = load_any("simulate.yaml")
    cfg = validate(doc, SCHEMA)   # {"problem": {...}, "run": {...}, "step_sizes": [...]}

Errors read ``simulate.yaml:7: unknown key 'lerning_rate' in 'run' (expected one of:
init, iterations, lr); did you mean 'lr'?``.
"""

from __future__ import annotations

import bisect
import copy
import difflib
import json
import math
import numbers
import re
import tomllib
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, cast

import yaml

from gdcert.errors import InputError

__all__ = [
    "ConfigDoc",
    "Field",
    "GdcertLoader",
    "KeyPath",
    "ListOf",
    "load_any",
    "load_yaml",
    "lookup",
    "positive_float",
    "validate",
]

KeyPath: TypeAlias = tuple[str | int, ...]

YAML_EXTENSIONS = (".yaml", ".yml")
CONFIG_EXTENSIONS = (*YAML_EXTENSIONS, ".json", ".toml")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _where(path: Path | str, line: int | None) -> str:
    return f"{path}:{line}" if line is not None else str(path)


# --------------------------------------------------------------------------- document


@dataclass
class ConfigDoc:
    """A parsed configuration file: its path, its data and where each key is written."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict, repr=False)

    def line(self, keypath: Iterable[str | int]) -> int | None:
        """1-based line where ``keypath`` (mapping keys and list indices) is written.

        ``None`` when unknown (e.g. keys that come from a YAML merge ``<<``).
        """
        return self.lines.get(_normalise(self.data, tuple(keypath)))


def _normalise(data: Any, keypath: KeyPath) -> KeyPath:
    """Mapping keys become ``str``, list indices ``int`` (walking ``data`` to tell which)."""
    out: list[str | int] = []
    node = data
    for part in keypath:
        if isinstance(node, list) and not isinstance(part, bool):
            try:
                index = int(part)
            except ValueError:
                return (*out, str(part))
            out.append(index)
            node = node[index] if -len(node) <= index < len(node) else None
        else:
            key = part if isinstance(part, str) else str(part)
            out.append(key)
            node = _get_key(node, key) if isinstance(node, dict) else None
    return tuple(out)


def _get_key(mapping: dict[Any, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    for k, v in mapping.items():
        if str(k) == key:
            return v
    return None


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
                    f"{self.name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
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


def _read_text(path: Path, kind: str) -> str:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: is not a regular file; expected a {kind} file")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: is not UTF-8 text ({_one_line(exc.reason)})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _parse_yaml(text: str, path: Path) -> ConfigDoc:
    loader = GdcertLoader(text)
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
        raise InputError(f"{_where(path, line)}: invalid YAML: {_one_line(problem)}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {_one_line(exc)}") from None
    finally:
        loader.dispose()
    return ConfigDoc(Path(path), data, lines)


def load_yaml(path: str | Path) -> ConfigDoc:
    """Parse a YAML file safely with :class:`GdcertLoader`; an empty file gives ``data=None``."""
    p = Path(path)
    return _parse_yaml(_read_text(p, "YAML"), p)


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
                    raise InputError(f"{path}:{key_line}: duplicate key {key!r}")
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
            f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except _DuplicateKey as exc:
        _json_lines(text, path)  # raises with the line number
        raise InputError(f"{path}: duplicate key {exc.args[0]!r}") from None
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
        raise InputError(f"{_where(path, line)}: invalid TOML: {_one_line(problem)}") from None
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
        shown = f"'{p.suffix}'" if p.suffix else "no extension"
        raise InputError(
            f"{p}: unsupported config file type ({shown}); supported: "
            + ", ".join(CONFIG_EXTENSIONS)
        )
    kind, parse = entry
    return parse(_read_text(p, kind), p)


# --------------------------------------------------------------------------- lookup

_KEYPATH_RE = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[0-9]+\])*")
_KEYPATH_TOKEN = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


def format_keypath(keypath: Iterable[str | int]) -> str:
    """``("optimizers", 0, "lr")`` → ``"optimizers[0].lr"``."""
    out = ""
    for part in keypath:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def parse_keypath(dotted: str) -> list[tuple[str, bool]]:
    """Split ``a.b[0].c`` / ``a.b.0.c`` into ``(token, was_bracketed)`` pairs."""
    if not _KEYPATH_RE.fullmatch(dotted):
        raise InputError(
            f"invalid key path {dotted!r}; expected keys joined by '.', with list "
            "indices as [0] or .0 (e.g. 'optimizers[0].lr')"
        )
    return [
        (m.group(1), False) if m.group(1) is not None else (m.group(2), True)
        for m in _KEYPATH_TOKEN.finditer(dotted)
    ]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return type(value).__name__


def lookup(doc: ConfigDoc, dotted: str) -> tuple[Any, int | None]:
    """The value at ``dotted`` (``optimizer.lr``, ``optimizers[0].lr``, ``stages.1.lr``)
    and the line where it is written."""
    node = doc.data
    found: list[str | int] = []
    try:
        tokens = parse_keypath(dotted)
    except InputError as exc:
        raise InputError(f"{doc.path}: {exc}") from None
    for token, bracketed in tokens:
        here = f"'{format_keypath(found)}'" if found else "the top level"
        if isinstance(node, list):
            if not token.isdigit():
                raise InputError(
                    f"{doc.path}: key {dotted!r} not found: {here} is a list; "
                    f"expected an index, got {token!r}"
                )
            index = int(token)
            if index >= len(node):
                raise InputError(
                    f"{doc.path}: key {dotted!r} not found: {here} has {len(node)} item"
                    f"{'s' if len(node) != 1 else ''} (index {index} out of range)"
                )
            node = node[index]
            found.append(index)
        elif isinstance(node, dict) and not bracketed:
            if token in node:
                key: Any = token
            else:
                matches = [k for k in node if str(k) == token]
                if not matches:
                    keys = ", ".join(str(k) for k in node) or "none"
                    raise InputError(
                        f"{doc.path}: key {dotted!r} not found: {here} has no key {token!r} "
                        f"(keys: {keys})"
                    )
                key = matches[0]
            node = node[key]
            found.append(str(key))
        else:
            wanted = "a list" if bracketed else "a mapping"
            what = "the file is empty" if node is None and not found else f"{here} is {_kind(node)}"
            raise InputError(f"{doc.path}: key {dotted!r} not found: {what}, not {wanted}")
    return node, doc.lines.get(tuple(found))


# --------------------------------------------------------------------------- values


def _as_float(value: Any) -> float | None:
    """A real number from an int/float or a float string; ``None`` if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def positive_float(value: Any, *, where: str) -> float:
    """``value`` as a finite float ``> 0``; accepts ints, floats and strings like ``'1e-3'``."""
    number = _as_float(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise InputError(f"{where}: expected a positive finite number, got {value!r}")
    return number


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class ListOf:
    """A list whose items all match ``item`` (a scalar type, a schema or another ListOf)."""

    item: FieldType
    min_length: int = 0


Schema: TypeAlias = Mapping[str, "Field"]
FieldType: TypeAlias = type | tuple[type, ...] | Schema | ListOf


@dataclass(frozen=True)
class Field:
    """One key of a schema; see the module docstring for the meaning of ``type``."""

    type: FieldType
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    positive: bool = False


_TYPE_NAMES: dict[type, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    type(None): "null",
}


def _type_name(ftype: FieldType) -> str:
    if isinstance(ftype, ListOf):
        return "a list"
    if isinstance(ftype, Mapping):
        return "a mapping"
    if isinstance(ftype, tuple):
        return " or ".join(_type_name(t) for t in ftype)
    return _TYPE_NAMES.get(ftype, f"a {ftype.__name__}")


class _Mismatch(Exception):
    """A scalar did not convert; the caller words the message."""


def _convert_scalar(value: Any, ftype: type) -> Any:
    if ftype is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if ftype is int:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, numbers.Integral):
            return int(value)
        number = _as_float(value)
        if number is not None and math.isfinite(number) and number.is_integer():
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    return int(number)
            return int(number)
        raise _Mismatch
    if ftype is float:
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise _Mismatch
        return number
    if ftype is type(None):
        if value is None:
            return None
        raise _Mismatch
    if isinstance(value, ftype) and not (isinstance(value, bool) and ftype is not bool):
        return value
    raise _Mismatch


def _shown(value: Any) -> str:
    if value is None:
        return "null (empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value) + " (not finite)"
    return repr(value)


class _Validator:
    def __init__(self, doc: ConfigDoc) -> None:
        self.doc = doc

    def fail(self, keypath: KeyPath, message: str, *, with_line: bool = True) -> InputError:
        line = self.doc.line(keypath) if with_line else None
        return InputError(f"{_where(self.doc.path, line)}: {message}")

    def mapping(self, data: Any, schema: Schema, prefix: KeyPath) -> dict[str, Any]:
        if data is None and not prefix:
            data = {}
        if not isinstance(data, dict):
            where = f"'{format_keypath(prefix)}'" if prefix else "the top level"
            raise self.fail(prefix, f"expected a mapping at {where}, got {_shown(data)}")
        allowed = list(schema)
        for key in data:
            if str(key) not in schema:
                raise self.fail((*prefix, str(key)), self.unknown(str(key), allowed, prefix))
        out: dict[str, Any] = {}
        for name, fld in schema.items():
            path = (*prefix, name)
            if name in data:
                out[name] = self.value(data[name], fld, path)
            elif fld.required:
                raise self.fail(
                    path, f"missing required key '{format_keypath(path)}'", with_line=False
                )
            elif (
                isinstance(fld.type, Mapping)
                and fld.default is None
                and not any(f.required for f in fld.type.values())
            ):
                out[name] = self.mapping({}, fld.type, path)
            else:
                out[name] = copy.deepcopy(fld.default)
        return out

    @staticmethod
    def unknown(key: str, allowed: list[str], prefix: KeyPath) -> str:
        where = f"in '{format_keypath(prefix)}'" if prefix else "at the top level"
        message = f"unknown key {key!r} {where} (expected one of: {', '.join(sorted(allowed))})"
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        return message + (f"; did you mean {close[0]!r}?" if close else "")

    def value(self, value: Any, fld: Field, path: KeyPath) -> Any:
        result = self.typed(value, fld.type, path, fld.positive)
        if fld.choices is not None and result not in fld.choices:
            options = ", ".join(str(c) for c in fld.choices)
            message = f"key '{format_keypath(path)}' must be one of: {options}; got {_shown(value)}"
            close = difflib.get_close_matches(str(value), [str(c) for c in fld.choices], n=1)
            raise self.fail(path, message + (f"; did you mean {close[0]!r}?" if close else ""))
        return result

    def typed(self, value: Any, ftype: FieldType, path: KeyPath, positive: bool) -> Any:
        name = format_keypath(path)
        if isinstance(ftype, Mapping):
            return self.mapping(value, ftype, path)
        if isinstance(ftype, ListOf):
            if not isinstance(value, list):
                raise self.fail(path, f"key '{name}' must be a list, got {_shown(value)}")
            if len(value) < ftype.min_length:
                raise self.fail(
                    path,
                    f"key '{name}' must have at least {ftype.min_length} item"
                    f"{'s' if ftype.min_length != 1 else ''}, got {len(value)}",
                )
            return [
                self.typed(item, ftype.item, (*path, i), positive) for i, item in enumerate(value)
            ]
        candidates = ftype if isinstance(ftype, tuple) else (ftype,)
        for candidate in candidates:
            try:
                result = _convert_scalar(value, candidate)
            except _Mismatch:
                continue
            if positive and isinstance(result, int | float) and not isinstance(result, bool):
                if result <= 0:
                    raise self.fail(
                        path, f"key '{name}' must be positive (> 0), got {_shown(value)}"
                    )
            return result
        raise self.fail(path, f"key '{name}' must be {_type_name(ftype)}, got {_shown(value)}")


def validate(
    doc: ConfigDoc,
    schema: Schema,
    *,
    data: Any = None,
    prefix: KeyPath = (),
) -> dict[str, Any]:
    """Check ``data`` (default: ``doc.data``) against ``schema``; return converted values.

    ``prefix`` is the key path of ``data`` inside ``doc`` (for validating a sub-section);
    it is used for line numbers and key names in messages.  Missing optional keys are
    filled with their defaults.  Raises :class:`InputError` on the first problem.
    """
    if data is None and not prefix:
        data = doc.data
    return _Validator(doc).mapping(data, schema, prefix)
