"""Frozen result objects: what every layer returns and every renderer formats.

All objects have ``to_dict()`` producing JSON-ready data. Non-finite floats are
encoded as the strings ``"inf"``, ``"-inf"``; a value that was not computed (e.g. the
step size of a bound that does not apply) is ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_VERSION = 1

Kind = Literal["necessary", "sufficient", "exact-local"]
Status = Literal["certified", "impossible", "non_global", "uncertified"]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats to JSON-ready data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    try:  # numpy scalars and arrays
        import numpy as np

        if isinstance(value, np.generic):
            return jsonable(value.item())
        if isinstance(value, np.ndarray):
            return jsonable(value.tolist())
    except ImportError:  # pragma: no cover
        pass
    return str(value)


@dataclass(frozen=True)
class Assumption:
    """One hypothesis of a theorem, checked on the problem: text, verdict, measurement."""

    text: str
    holds: bool | None  # None: could not be checked (the text says why)
    value: float | str | None = None
    #: The finding when it does not hold, in words ("Φ is not symmetric"); the reason a
    #: bound gives for not applying. Not part of the JSON (the reason is).
    failed: str = field(default="", compare=False)

    @property
    def finding(self) -> str:
        """What was found when the hypothesis fails (falls back to "not satisfied: …")."""
        return self.failed or f"not satisfied: {self.text}"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "holds": self.holds, "value": jsonable(self.value)}


@dataclass(frozen=True)
class Bound:
    """A step-size bound evaluated on one problem (and one initialisation, if relevant).

    ``log10_max_step`` is the primary value (bounds are computed in log space);
    ``max_step`` is derived and may be ``inf`` or ``0.0`` where ``10**x`` does not fit in
    a float. When ``applies`` is false the value is NaN unless it could still be
    computed, and ``reason`` says why the theorem does not apply.
    """

    id: str
    paper: str
    theorem: str
    kind: Kind
    applies: bool
    log10_max_step: float
    guarantee: str
    reason: str = ""
    init: str | None = None
    point: str | None = None
    assumptions: tuple[Assumption, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_step(self) -> float:
        from gdcert.linalg import pow10  # numpy: imported only when a value is needed

        return pow10(self.log10_max_step)

    def admits(self, eta: float) -> bool:
        """True when ``eta`` is at or below this bound's largest step size."""
        if math.isnan(self.log10_max_step):
            return False
        return math.log10(eta) <= self.log10_max_step + 1e-12

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "init": self.init,
            "point": self.point,
            "kind": self.kind,
            "paper": self.paper,
            "theorem": self.theorem,
            "applies": self.applies,
            "reason": self.reason,
            "assumptions": [a.to_dict() for a in self.assumptions],
            "max_step": jsonable(self.max_step),
            "log10_max_step": jsonable(self.log10_max_step),
            "guarantee": self.guarantee,
            "extras": jsonable(dict(self.extras)),
        }


@dataclass(frozen=True)
class Verdict:
    """Plain-words verdict on the user's step size."""

    step_size: float
    status: Status
    summary: str
    certified_by: tuple[str, ...] = ()
    violates: tuple[str, ...] = ()
    details: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "step_size": jsonable(self.step_size),
            "status": self.status,
            "summary": self.summary,
            "certified_by": list(self.certified_by),
            "violates": list(self.violates),
            "details": list(self.details),
        }


@dataclass(frozen=True)
class Report:
    """Everything ``gdcert bound`` computes: problem summary, bounds, verdict, notes."""

    problem: Mapping[str, Any]
    bounds: tuple[Bound, ...]
    verdict: Verdict | None = None
    notes: tuple[str, ...] = ()
    runs: tuple[Any, ...] = ()

    def bound(self, bound_id: str, init: str | None = None, point: str | None = None) -> Bound:
        """The bound with this id (and init / point, where several share the id)."""
        for b in self.bounds:
            if (b.id == bound_id and (init is None or b.init == init)
                    and (point is None or b.point == point)):
                return b
        raise KeyError(f"no bound {bound_id!r}" + (f" for init {init!r}" if init else ""))

    def to_frame(self) -> Any:
        """The bounds as a pandas DataFrame, one row per bound (needs pandas).

        Columns: ``id``, ``init``, ``point``, ``kind``, ``applies``, ``max_step`` and
        ``log10_max_step`` (float; NaN when not computed, ``inf`` when unbounded),
        ``paper``, ``theorem``, ``reason``, ``guarantee``.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Report.to_frame() needs pandas: pip install 'gdcert[pandas]' "
                              "(or use Report.to_dict())") from None
        rows = [{"id": b.id, "init": b.init, "point": b.point, "kind": b.kind,
                 "applies": b.applies, "max_step": float(b.max_step),
                 "log10_max_step": float(b.log10_max_step), "paper": b.paper,
                 "theorem": b.theorem, "reason": b.reason, "guarantee": b.guarantee}
                for b in self.bounds]
        frame = pd.DataFrame(rows, columns=["id", "init", "point", "kind", "applies",
                                            "max_step", "log10_max_step", "paper", "theorem",
                                            "reason", "guarantee"])
        return frame.astype({"max_step": "float64", "log10_max_step": "float64",
                             "applies": "bool"})

    def _summary_line(self) -> str:
        p = self.problem
        shape = "×".join(str(d) for d in p.get("shape", ()))
        return (f"{p.get('source', 'problem')} ({p.get('form', '')} {shape}), depth "
                f"{p.get('depth', '?')}, widths {list(p.get('widths', ()))}")

    def _repr_markdown_(self) -> str:
        """A compact Markdown table for notebooks (Jupyter calls this)."""
        def cell(text: object) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        lines = [f"**gdcert report** — {cell(self._summary_line())}", ""]
        if self.verdict is not None:
            lines += [f"**Verdict** (η = {self.verdict.step_size:.4g}): "
                      f"**{self.verdict.status}** — {cell(self.verdict.summary)}", ""]
        lines += ["| bound | init | kind | applies | max step |", "|---|---|---|---|---:|"]
        for b in self.bounds:
            value = f"{b.max_step:.4g}" if b.applies else "—"
            lines.append(f"| `{b.id}` | {b.init or ''} | {b.kind} | "
                         f"{'yes' if b.applies else 'no'} | {value} |")
        lines += [f"- {cell(n)}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __rich__(self) -> Any:
        """A rich renderable (``rich.print(report)``): the bounds as a table."""
        from rich.table import Table
        from rich.text import Text

        table = Table(title=Text(self._summary_line()), title_justify="left")
        for column, justify in (("bound", "left"), ("init", "left"), ("kind", "left"),
                                ("applies", "left"), ("max step", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for b in self.bounds:
            table.add_row(Text(b.id), Text(b.init or ""), Text(b.kind),
                          Text("yes" if b.applies else "no"),
                          Text(f"{b.max_step:.4g}" if b.applies else "—"))
        if self.verdict is not None:
            table.caption = Text(f"η = {self.verdict.step_size:.4g}: {self.verdict.status} — "
                                 f"{self.verdict.summary}")
        return table

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "problem": jsonable(dict(self.problem)),
            "bounds": [b.to_dict() for b in self.bounds],
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "notes": list(self.notes),
        }
        if self.runs:
            out["runs"] = [r.to_dict(with_records=False) if hasattr(r, "to_dict") else
                           jsonable(r) for r in self.runs]
        return out
