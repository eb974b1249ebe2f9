"""JSON renderer (schema documented in docs/json-schema.md)."""

from __future__ import annotations

import json

from gdcert.results import Report


def to_json(report: Report) -> str:
    """Strict JSON (no NaN/Infinity literals): ``inf`` is the string ``"inf"``."""
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)
