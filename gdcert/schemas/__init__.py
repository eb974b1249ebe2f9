"""JSON Schemas shipped with gdcert (package data): ``bound`` (``gdcert bound --json``),
``check`` (``gdcert check --format json``) and ``gdcert-yaml`` (the ``.gdcert.yaml`` checks
file). :func:`load` returns one as a dict; validate with any JSON Schema 2020-12 validator.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

NAMES = ("bound", "check", "gdcert-yaml")


def path(name: str) -> Any:
    """The schema file (an importlib.resources Traversable) for ``name``."""
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r}; expected one of {', '.join(NAMES)}")
    return resources.files(__package__).joinpath(f"{name}.schema.json")


def load(name: str) -> dict[str, Any]:
    """The JSON Schema ``name`` (``bound``, ``check`` or ``gdcert-yaml``) as a dict."""
    data: dict[str, Any] = json.loads(path(name).read_text(encoding="utf-8"))
    return data
