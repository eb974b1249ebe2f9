"""Resumable sweep storage: one JSON part file per finished task, written atomically.

``results.parquet`` keeps its parts in ``results.parquet.parts/<hash>.json``; each part is
``{"format": "gdcert-sweep-part", "version": 1, "group": {...}, "rows": [...]}`` as
:func:`gdcert.api.sweep.run_group` returned it. Floats round-trip exactly (JSON ``repr``;
``NaN``/``Infinity`` allowed), so a table rebuilt from parts equals one built in memory.
A part is written whole or not at all (:func:`gdcert.io.atomic.atomic_write_text`), so a
killed sweep leaves only complete parts behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gdcert.errors import InputError
from gdcert.io.atomic import atomic_write_text

FORMAT = "gdcert-sweep-part"


def parts_dir(table: str | Path) -> Path:
    """Where the parts of ``table`` live: ``<table>.parts/``."""
    t = Path(table)
    return t.with_name(t.name + ".parts")


def part_name(part: Mapping[str, Any]) -> str:
    ids = sorted(r["cell_id"] for r in part["rows"])
    doc = json.dumps([part["group"]["key"], ids, part["group"].get("edge")])
    return hashlib.sha256(doc.encode()).hexdigest()[:24] + ".json"


def write_part(directory: str | Path, part: Mapping[str, Any]) -> Path:
    """Write one part atomically (creating the directory); its path."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{d}: cannot create the parts directory: {exc.strerror}") from None
    path = d / part_name(part)
    atomic_write_text(path, json.dumps({"format": FORMAT, "version": 1, **part}) + "\n")
    return path


def load_parts(directory: str | Path) -> list[dict[str, Any]]:
    """Every part in ``directory`` (sorted by file name; none if it does not exist)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    out = []
    for path in sorted(d.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable sweep part ({exc}); delete it to re-run "
                             "its cells") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise InputError(f"{path}: not a gdcert sweep part; remove it from {d}")
        out.append(doc)
    return out
