"""Sweep pictures (optional ``plot`` extra): PNG or SVG bytes, never files.

* :func:`phase_diagram` — depth × step size, each cell coloured by its outcome (the
  outcome shared by all seeds, else "mixed"), every applicable bound's curve and the
  empirical edge overlaid; one panel per (problem, init[, width]).
* :func:`iterations_plot` — fewest iterations to converge vs depth (log–log) with the
  fitted power law ``c·L^γ`` (:class:`gdcert.results.sweep.PowerLawFit`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from gdcert.report.plot import _matplotlib
from gdcert.results.sweep import SweepResult

COLOURS = {
    "converged_global": "#2ca02c",
    "converged_critical": "#bcbd22",
    "oscillating": "#ff7f0e",
    "plateau": "#9467bd",
    "unfinished": "#8c8c8c",
    "diverged": "#d62728",
    "mixed": "#17becf",
}
#: Line colours of the bounds (none shared with an outcome colour).
_BOUND_COLOURS = ("#1f3b73", "#8c564b", "#e377c2", "#393b79", "#637939", "#843c39",
                  "#7b4173", "#3182bd", "#e6550d", "#636363", "#a55194")
#: Bounds drawn as lines (sufficient bounds dashed, necessary ones solid).
_STYLES = {"necessary": "-", "sufficient": "--", "exact-local": ":"}


def _panels(result: SweepResult) -> list[tuple[str, str, Any]]:
    seen: dict[tuple[str, str, Any], None] = {}
    for r in result.rows:
        seen.setdefault((r["problem"], r["init"], r["width"]), None)
    return list(seen)


def _title(key: tuple[str, str, Any]) -> str:
    return f"{key[0]}, init {key[1]}" + ("" if key[2] is None else f", width {key[2]}")


def _figure(n: int, plt: Any) -> tuple[Any, list[Any]]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    flat = [a for row in axes for a in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _depth_ticks(ax: Any, depths: Sequence[int]) -> None:
    from matplotlib.ticker import NullFormatter

    if depths:
        ax.set_xticks(list(depths), [str(d) for d in depths])
        ax.xaxis.set_minor_formatter(NullFormatter())


def _save(fig: Any, fmt: str) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=110, format=fmt)
    finally:
        plt.close(fig)
    return buf.getvalue()


def phase_diagram(result: SweepResult, *, fmt: str = "png", title: str = "") -> bytes:
    """Depth × step size coloured by outcome, bounds and the empirical edge overlaid.

    The step-size axis spans the tested step sizes (down to 10⁻⁴ of the smallest): a
    bound's curve below that leaves the panel at the bottom.
    """
    plt = _matplotlib()
    panels = _panels(result)
    fig, axes = _figure(max(len(panels), 1), plt)
    for ax, key in zip(axes, panels, strict=False):
        cells: dict[tuple[int, float], set[str]] = {}
        for r in result.rows:
            if (r["problem"], r["init"], r["width"]) != key or r["step_size"] is None:
                continue
            cells.setdefault((r["depth"], r["step_size"]), set()).add(r["outcome"])
        drawn: set[str] = set()
        for (depth, eta), outs in cells.items():
            label = outs.pop() if len(outs) == 1 else "mixed"
            ax.scatter([depth], [eta], color=COLOURS.get(label, "k"), s=36, marker="s",
                       label=None if label in drawn else label, zorder=3)
            drawn.add(label)
        groups = sorted((g for g in result.groups
                         if (g.problem, g.init, g.width) == key), key=lambda g: g.depth)
        ids: list[str] = []
        for g in groups:
            ids.extend(b["id"] for b in g.bounds if b["id"] not in ids)
        for n, bid in enumerate(ids):
            pts = [(g.depth, g.bound(bid)) for g in groups]
            pts = [(d, v) for d, v in pts if v is not None and 0 < v < math.inf]
            if not pts:
                continue
            kind = next(b["kind"] for g in groups for b in g.bounds if b["id"] == bid)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], _STYLES.get(kind, "-"),
                    marker=".", lw=1.2, label=bid, color=_BOUND_COLOURS[n % len(_BOUND_COLOURS)])
        edge = [(g.depth, g.edge) for g in groups if g.edge is not None]
        if edge:
            ax.plot([p[0] for p in edge], [p[1] for p in edge], "k-", lw=2.2,
                    marker="o", label="empirical edge")
        ax.set_xscale("log")
        ax.set_yscale("log")
        etas = [eta for _, eta in cells] + [v for _, v in edge]
        if etas:
            shown = [v for ln in ax.get_lines() for v in ln.get_ydata()
                     if max(etas) < v < max(etas) * 1e4]
            etas += shown
            # bounds far below the tested step sizes (Nguegnang et al.'s at depth 64 is
            # ~1e-230) would flatten the picture: they leave the panel at its bottom
            ax.set_ylim(min(etas) / 1e4, max(etas) * 5)
        _depth_ticks(ax, sorted({d for d, _ in cells}))
        ax.set_xlabel("depth L")
        ax.set_ylabel("step size η")
        ax.set_title(_title(key), fontsize=9)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=6, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, fmt)


def iterations_plot(result: SweepResult, *, fmt: str = "png", title: str = "") -> bytes:
    """Fewest iterations to converge vs depth, with each fitted power law and exponent."""
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for f in result.fits:
        label = _title((f.problem, f.init, f.width))
        line, = ax.loglog(f.depths, f.iterations, "o", label=label)
        xs: Sequence[float] = [min(f.depths), max(f.depths)]
        ax.loglog(xs, [f.coefficient * x ** f.exponent for x in xs], "--",
                  color=line.get_color(), label=f"fit ∝ L^{f.exponent:.2f} (R² {f.r2:.2f})")
    _depth_ticks(ax, sorted({d for g in result.fits for d in g.depths}))
    if not result.fits:
        ax.text(0.5, 0.5, "no (problem, init) converged at two or more depths",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("depth L")
    ax.set_ylabel("iterations to converge (best step size tried)")
    ax.set_title(title or "Iterations vs depth")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, fmt)
