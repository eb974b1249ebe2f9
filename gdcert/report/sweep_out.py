"""Sweep renderers: the tidy table (CSV text, Parquet bytes), the JSON summary, and the
rich summary table. One row per run, columns as :data:`gdcert.results.sweep.COLUMNS`.

Floats are written with ``repr`` (17 significant digits), so a table read back holds
exactly the numbers the runs produced and two runs of the same sweep compare equal.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

from gdcert.errors import InputError
from gdcert.results.sweep import COLUMNS, SweepResult

#: Parquet types of the columns (everything else is a string).
_INT = ("depth", "width", "seed", "iterations", "promises_checked")
_FLOAT = ("step_times", "step_size", "final_loss", "optimal_loss", "loss_gap",
          "sharpness_final")
_BOOL = ("converged", "promises_held")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return str(v)


def to_csv(result: SweepResult) -> str:
    """The table as CSV (header + one line per run)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in result.rows:
        w.writerow([_cell(r.get(c)) for c in COLUMNS])
    return buf.getvalue()


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("a .parquet table needs pyarrow: pip install 'gdcert[parquet]' "
                         "(or write .csv)") from None
    return pyarrow


def to_parquet(result: SweepResult) -> bytes:
    """The table as Parquet bytes (needs pyarrow)."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    cols: dict[str, Any] = {}
    for c in COLUMNS:
        values = [r.get(c) for r in result.rows]
        if c in _INT:
            cols[c] = pa.array(values, type=pa.int64())
        elif c in _FLOAT:
            cols[c] = pa.array([math.nan if v is None else float(v) for v in values],
                               type=pa.float64())
        elif c in _BOOL:
            cols[c] = pa.array(values, type=pa.bool_())
        else:
            cols[c] = pa.array(["" if v is None else str(v) for v in values],
                               type=pa.string())
    table = pa.table(cols)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def to_table_bytes(result: SweepResult, path: str) -> bytes:
    """Parquet for ``*.parquet``, CSV otherwise."""
    if path.lower().endswith(".parquet"):
        return to_parquet(result)
    return to_csv(result).encode("utf-8")


def to_summary_json(result: SweepResult, *, with_rows: bool = False) -> str:
    return json.dumps(result.to_dict(with_rows=with_rows), indent=2, allow_nan=False) + "\n"


def summary_table(result: SweepResult, *, max_rows: int = 40) -> Any:
    """A rich Table: one line per (problem, depth, width, init) with outcome counts."""
    from rich.table import Table

    t = Table(title=f"sweep: {len(result.rows)}/{result.total_cells} runs"
                    + (" (interrupted)" if result.interrupted else ""))
    for col in ("problem", "L", "width", "init", "runs", "converged", "diverged", "other",
                "best iters", "edge"):
        t.add_column(col, justify="right" if col not in ("problem", "init") else "left")
    stats: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in result.rows:
        s = stats.setdefault((r["problem"], r["depth"], r["width"], r["init"]),
                             {"runs": 0, "conv": 0, "div": 0, "best": None})
        s["runs"] += 1
        if r["converged"]:
            s["conv"] += 1
            s["best"] = min(s["best"] or r["iterations"], r["iterations"])
        elif r["outcome"] == "diverged":
            s["div"] += 1
    edges: Mapping[tuple[Any, ...], float | None] = {
        (g.problem, g.depth, g.width, g.init): g.edge for g in result.groups}
    for n, (key, s) in enumerate(stats.items()):
        if n == max_rows:
            t.add_row("…", "", "", "", "", "", "", "", "", "")
            break
        edge = edges.get(key)
        t.add_row(str(key[0]), str(key[1]), "" if key[2] is None else str(key[2]), key[3],
                  str(s["runs"]), str(s["conv"]), str(s["div"]),
                  str(s["runs"] - s["conv"] - s["div"]),
                  "" if s["best"] is None else str(s["best"]),
                  "" if edge is None else f"{edge:.4g}")
    return t


def fits_text(result: SweepResult) -> str:
    """One line per power-law fit: ``iterations ∝ L^γ``."""
    lines = []
    for f in result.fits:
        w = "" if f.width is None else f", width {f.width}"
        lines.append(f"{f.problem}, init {f.init}{w}: iterations ≈ {f.coefficient:.3g}·L^"
                     f"{f.exponent:.2f} (R² {f.r2:.3f}, depths {list(f.depths)})")
    return "\n".join(lines)
