"""Dotted key paths (``optimizers[0].lr``) and lookup in a :class:`ConfigDoc`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from gdcert.config.document import ConfigDoc
from gdcert.errors import InputError
from gdcert.validate import brief, clip

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
            f"invalid key path {brief(dotted)}; expected keys joined by '.', with list "
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
            if not (token.isascii() and token.isdigit()):
                raise InputError(
                    f"{doc.path}: key {brief(dotted)} not found: {here} is a list; "
                    f"expected an index, got {brief(token)}"
                )
            index = int(token) if len(token) <= 18 else len(node)
            if index >= len(node):
                raise InputError(
                    f"{doc.path}: key {brief(dotted)} not found: {here} has {len(node)} item"
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
                    keys = clip(", ".join(str(k) for k in list(node)[:20])) or "none"
                    raise InputError(
                        f"{doc.path}: key {brief(dotted)} not found: {here} has no key "
                        f"{brief(token)} (keys: {keys})"
                    )
                key = matches[0]
            node = node[key]
            found.append(str(key))
        else:
            wanted = "a list" if bracketed else "a mapping"
            what = "the file is empty" if node is None and not found else f"{here} is {_kind(node)}"
            raise InputError(f"{doc.path}: key {brief(dotted)} not found: {what}, not {wanted}")
    return node, doc.lines.get(tuple(found))


