"""A parsed configuration file with the line of every key (:class:`ConfigDoc`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

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


