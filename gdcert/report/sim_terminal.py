"""Terminal rendering of verification runs and the empirical edge (rich)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from gdcert.report.format import fmt_num

OUTCOME_STYLE = {
    "converged_global": "bold green", "converged_critical": "yellow", "diverged": "bold red",
    "oscillating": "magenta", "bounded": "magenta", "plateau": "yellow", "unfinished": "dim",
}
CURVE_COLOURS = ["cyan", "green", "magenta", "yellow", "blue", "red", "white"]


def _cert_cell(r: Any) -> Text:
    """The a posteriori certificate of a run: ``tail`` (proved from its last iterate),
    ``no`` (tried, not proved) or blank (not tried)."""
    cert = r.details.get("certificate") if isinstance(r.details, dict) else None
    if not cert:
        return Text("")
    return Text("tail", style="green") if cert.get("certified") else Text("no", style="dim")


def runs_table(runs: Sequence[Any], *, title: str = "Verification runs") -> Group:
    """One row per run, then each run's outcome summary and promise checks."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("#", justify="right")
    t.add_column("step size", overflow="fold", min_width=11, max_width=34)
    t.add_column("seed", justify="right")
    t.add_column("init")
    t.add_column("outcome", no_wrap=True)
    t.add_column("iters", justify="right")
    t.add_column("loss gap", justify="right", min_width=8)
    t.add_column("cert", no_wrap=True)
    notes = Text()
    for i, r in enumerate(runs, start=1):
        label = r.step_label if r.step_size is None or r.step_label == f"{r.step_size:.4g}" \
            else f"{r.step_label} = {r.step_size:.4g}"
        t.add_row(str(i), label, str(r.seed), r.init,
                  Text(r.outcome, style=OUTCOME_STYLE.get(r.outcome, "")), str(r.iterations),
                  f"{r.final_loss - r.optimal_loss:.3g}", _cert_cell(r))
        notes.append(f"#{i} ", style="bold")
        notes.append(r.outcome_summary + "\n", style="dim")
        if r.details.get("product_rank") is not None:
            notes.append(f"   product rank {r.details['product_rank']}, matches the rank-"
                         f"{r.details.get('matches_rank_k_optimum')} optimum\n", style="yellow")
        inv = r.details.get("invariants_final")
        if inv:
            j = max(range(len(inv)), key=lambda i: inv[i])
            inv0 = r.details.get("invariants_initial") or [math.nan] * len(inv)
            notes.append(f"   invariants ‖D_l‖ = ‖W_(l+1)ᵀW_(l+1) − W_lW_lᵀ‖: largest at the end "
                         f"{inv[j]:.3g} (l = {j + 1}; initially {inv0[j]:.3g})\n", style="dim")
        loose = r.details.get("sharpness_lower_estimates")
        if loose:
            sharp = r.records.get("sharpness")
            n_rec = 0 if sharp is None else np.size(sharp)
            notes.append(f"   sharpness: the tracker's product budget ran out before its residual "
                         f"test (1e-9) at {loose} of {n_rec} records; those values are lower "
                         f"estimates of λ_max\n", style="yellow")
        track = r.records.get("invariants")
        if track is not None and np.size(track):
            arr = np.asarray(track)
            peak = arr.max(axis=0)
            j = int(np.argmax(peak))
            notes.append(f"   tracked along the run: max_t ‖D_l‖ = {peak[j]:.3g} at l = {j + 1} "
                         f"(of {arr.shape[1]} invariants, {arr.shape[0]} records)\n",
                         style="dim")
        for p in r.promises:
            mark, style = (("– not checked", "dim") if p.held is None else
                           ("✓ held", "green") if p.held else ("✗ VIOLATED", "bold red"))
            notes.append(f"   {mark}  {p.bound_id}: {p.promise} — worst ratio "
                         f"{fmt_num(p.worst_margin)}; {p.detail}\n", style=style)
    return Group(t, notes)


def loss_curves(runs: Sequence[Any], *, width: int = 60, height: int = 12,
                max_curves: int = 7) -> Text:
    """log10(loss − optimal) against iteration, drawn with characters."""
    shown = list(runs)[:max_curves]
    series = []
    for r in shown:
        x = np.asarray(r.records["step_index"], dtype=float)
        gap = np.asarray(r.records["loss"], dtype=float) - r.optimal_loss
        y = np.log10(np.maximum(np.abs(gap), 1e-300))
        ok = np.isfinite(y)
        series.append((x[ok], y[ok]))
    xs = [s[0] for s in series if s[0].size]
    ys = [s[1] for s in series if s[1].size]
    if not xs:
        return Text("(no finite loss to draw)")
    x_max = max(float(a.max()) for a in xs) or 1.0
    y_lo = max(min(float(a.min()) for a in ys), -320.0)
    y_hi = max(float(a.max()) for a in ys)
    if y_hi - y_lo < 1e-9:
        y_hi, y_lo = y_hi + 0.5, y_lo - 0.5
    grid = [[(" ", "")] * width for _ in range(height)]
    for k, (x, y) in enumerate(series):
        colour = CURVE_COLOURS[k % len(CURVE_COLOURS)]
        cols = np.clip((x / x_max * (width - 1)).round().astype(int), 0, width - 1)
        rows = np.clip(((y_hi - y) / (y_hi - y_lo) * (height - 1)).round().astype(int), 0,
                       height - 1)
        for c, rr in zip(cols, rows, strict=True):
            grid[rr][c] = ("•", colour)
    out = Text()
    for i, row in enumerate(grid):
        level = y_hi - i * (y_hi - y_lo) / (height - 1)
        out.append(f"1e{level:6.1f} ┤" if i % 3 == 0 else "         │", style="dim")
        for ch, st in row:
            out.append(ch, style=st)
        out.append("\n")
    out.append("         └" + "─" * width + "\n", style="dim")
    out.append(f"          0{' ' * (width - len(str(int(x_max))) - 1)}{int(x_max)}\n",
               style="dim")
    out.append("          log10(loss − optimum) against iteration\n", style="dim")
    for k, r in enumerate(shown):
        out.append("• ", style=CURVE_COLOURS[k % len(CURVE_COLOURS)])
        out.append(f"#{k + 1} η {r.step_label}, seed {r.seed}  ")
    if len(runs) > max_curves:
        out.append(f"(+{len(runs) - max_curves} more runs not drawn)")
    return out


def edge_table(edge: Any) -> Table:
    t = Table(title=f"Bounds against the empirical edge η* = {edge.edge:.4g} "
                    f"(init {edge.init}, {len(edge.seeds)} seed(s))",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("bound")
    t.add_column("max step", justify="right")
    t.add_column("bound / edge", justify="right")
    t.add_column("")
    for key, ratio in sorted(edge.ratios.items(), key=lambda kv: -kv[1]):
        b = next(b for b in edge.bounds if (f"{b.id}@{b.point}" if b.point else b.id) == key)
        note = ""
        if b.kind == "sufficient" and ratio > 1:
            note = "[red]above the edge: a sufficient bound should not be[/red]"
        elif b.kind == "sufficient":
            dec = -math.log10(ratio) if ratio > 0 else math.inf
            note = f"{dec:.1f} orders of magnitude conservative"
        elif b.kind == "necessary" and ratio < 1:
            note = "[red]necessary bound below the edge[/red]"
        t.add_row(key, f"{b.max_step:.4g}", f"{ratio:.3g}", note)
    return t
