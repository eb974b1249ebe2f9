"""Rich terminal report for ``gdcert bound``."""

from __future__ import annotations

import io
import math

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gdcert.report.format import (
    SHORT_PROMISE,
    extras_line,
    fmt_log10,
    fmt_num,
    short_source,
    where_label,
)
from gdcert.report.ladder import STYLE, ladder
from gdcert.results import Bound, Report, Verdict

VERDICT_STYLE = {"certified": "bold green", "impossible": "bold red",
                 "non_global": "bold yellow", "uncertified": "bold yellow"}

SUMMARY_FIELDS = [
    ("source", "input"), ("form", "form"), ("shape", "target shape (d_L × d_0)"),
    ("depth", "depth L"), ("widths", "widths d_0…d_L"), ("loss", "loss convention"),
    ("n_samples", "samples m"), ("rho", "ρ(Φ) = σ_max"), ("fro_norm", "‖Φ‖_F"),
    ("symmetric", "symmetric"), ("definiteness", "definiteness"),
    ("eig_min", "λ_min"), ("eig_max", "λ_max"), ("rank", "rank"),
    ("rank_cap", "rank cap r = min d_j"), ("optimal_loss", "optimal loss (rank ≤ r)"),
    ("whitening_residual", "whitening residual ‖XXᵀ − I‖"),
    ("sigma_min_x", "σ_min(X)"),
    ("hidden_units", "hidden units r"), ("max_x_f", "max_i ‖x_i‖‖f̂(x_i)‖"),
    ("argmax_sample", "attained at sample i (0-based)"), ("argmax_x", "x_i there"),
]


def summary_table(report: Report) -> Table:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold cyan")
    t.add_column()
    p = report.problem
    # Values are user data (file names may contain "[red]"): plain Text, never markup.
    for key, label in SUMMARY_FIELDS:
        if key in p and p[key] is not None:
            t.add_row(label, Text(fmt_num(p[key])))
    for init in p.get("inits", []):
        t.add_row(Text(f"init {init['name']}"),
                  Text(f"{init['description']} (b₀ = {fmt_num(init['b0'])})"))
    return t


#: Short kind labels for the table (the legend under the ladder spells them out).
KIND_SHORT = {"necessary": "nec", "sufficient": "suff", "exact-local": "exact"}


def _eta_cell(b: Bound, eta: float | None) -> Text:
    """Where η falls for one bound: ``≤`` (admitted) or ``>`` (above it); blank if n/a."""
    if eta is None or not b.applies or math.isnan(b.log10_max_step):
        return Text("")
    if b.admits(eta):
        return Text("η ≤", style="green")
    return Text("η >", style="red")


def _why_cell(b: Bound, sep: str = "\n") -> Text:
    why = SHORT_PROMISE.get(b.id, b.guarantee) if b.applies else b.reason
    cell = Text(why)
    extra = extras_line(b)
    if extra:
        cell.append(sep + extra, style="dim")
    cell.append(sep + short_source(b), style="dim italic")
    return cell


#: Below this width the promise / reason goes into a numbered list under the table.
WIDE = 110


def bounds_table(report: Report, *, width: int = WIDE) -> Group:
    """The bounds table: bound, kind, whether it applies, its value, where η falls, and
    the promise (or why it does not apply). Narrower than :data:`WIDE` columns, the last
    column becomes a numbered list under the table so every column stays readable."""
    t = Table(title="Step-size bounds", title_justify="left", box=box.SIMPLE_HEAD,
              pad_edge=False)
    eta = report.verdict.step_size if report.verdict else None
    wide = width >= WIDE
    t.add_column("bound / init", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("applies", justify="center", no_wrap=True)
    t.add_column("max step", justify="right", no_wrap=True)
    if eta is not None:
        t.add_column("your η", justify="center", no_wrap=True)
    t.add_column("promise or why not · source" if wide else "see", overflow="fold",
                 ratio=1 if wide else None, no_wrap=not wide)
    notes = Text()
    for n, b in enumerate(report.bounds, start=1):
        mark = Text("yes", style="green") if b.applies else Text("no", style="red")
        label = Text(b.id)
        where = where_label(b)
        if where:
            label.append("\n  " + where, style="cyan")
        row: list[Text | str] = [label, Text(KIND_SHORT.get(b.kind, b.kind),
                                             style=STYLE.get(b.kind, "")), mark,
                                 fmt_log10(b.log10_max_step)]
        if eta is not None:
            row.append(_eta_cell(b, eta))
        if wide:
            row.append(_why_cell(b))
        else:
            row.append(Text(f"[{n}]", style="dim"))
            notes.append(f"[{n}] ", style="dim")
            notes.append(_why_cell(b, " · "))
            notes.append("\n")
        t.add_row(*row)
    return Group(t, notes) if not wide else Group(t)


def verdict_panel(v: Verdict) -> Panel:
    body = Text()
    body.append(v.status.upper(), style=VERDICT_STYLE[v.status])
    body.append("  " + v.summary + "\n")
    for d in v.details:
        body.append("• " + d + "\n")
    return Panel(body, title=f"Verdict for η = {v.step_size:.4g}", title_align="left",
                 border_style=VERDICT_STYLE[v.status].split()[-1])


def verdict_line(v: Verdict) -> Text:
    """One line, first in the report: the status and the gist of the summary (the full
    verdict, with its details, closes the report)."""
    line = Text()
    line.append("Verdict: ", style="bold")
    line.append(v.status.upper().replace("_", "-"), style=VERDICT_STYLE[v.status])
    gist = v.summary.split(": ")[0] if len(v.summary) > 110 else v.summary
    line.append("  " + gist)
    return line


def build(report: Report, *, width: int = 76) -> Group:
    parts: list = []
    if report.verdict:
        parts.append(verdict_line(report.verdict))
    parts += [Panel(summary_table(report), title="Problem", title_align="left"),
              bounds_table(report, width=width + 4)]
    eta = report.verdict.step_size if report.verdict else None
    parts.append(Panel(ladder(report.bounds, eta, total_width=width), title="Step-size ladder "
                       "(log scale)", title_align="left"))
    if report.verdict:
        parts.append(verdict_panel(report.verdict))
    if report.runs:
        from gdcert.report.sim_terminal import loss_curves, runs_table

        parts.append(runs_table(report.runs, title="Verification runs (--verify)"))
        parts.append(loss_curves(report.runs, width=max(20, min(70, width - 14))))
    for n in report.notes:
        parts.append(Text("note: " + n, style="dim"))
    if any(b.id == "stability.exact" and not math.isnan(b.log10_max_step)
           for b in report.bounds):
        parts.append(Text("note: the exact local threshold is local — it says whether that "
                          "point can attract GD, not that GD reaches it from your init",
                          style="dim"))
    return Group(*parts)


def to_text(report: Report, *, width: int = 120) -> str:
    """The terminal report as plain text (no colour), for ``--output`` files."""
    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, force_terminal=False).print(
        build(report, width=width - 4))
    return buf.getvalue()
