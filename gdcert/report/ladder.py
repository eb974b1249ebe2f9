"""The step-size ladder: where every bound and the user's η fall on a log scale.

Plain data in, rich ``Text`` out: each applicable bound is a bar from the left edge
to its value (log10 scale), coloured by kind; the user's ``--lr`` is a vertical mark
through every row, so "inside the bar" reads as "admitted by that bound".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from gdcert.report.format import bound_label, fmt_log10
from gdcert.results import Bound

STYLE = {"necessary": "red", "sufficient": "green", "exact-local": "yellow"}
#: A bar glyph per kind, so the ladder reads without colour (NO_COLOR, logs, Markdown).
GLYPH = {"necessary": "━", "sufficient": "═", "exact-local": "┅"}
END = {"necessary": "◆", "sufficient": "●", "exact-local": "▲"}


def _ticks(lo: float, hi: float, width: int) -> tuple[str, list[tuple[int, str]]]:
    span = hi - lo
    step = max(1, math.ceil(span / 6))
    ticks = []
    t = math.ceil(lo / step) * step
    while t <= hi:
        ticks.append((round((t - lo) / span * (width - 1)), f"1e{int(t)}"))
        t += step
    line = [" "] * (width + 8)
    for pos, label in ticks:
        for i, ch in enumerate(label):
            if 0 <= pos + i < len(line):
                line[pos + i] = ch
    return "".join(line).rstrip(), ticks


def ladder(bounds: Sequence[Bound], eta: float | None = None, *, total_width: int = 76) -> Text:
    """Render the ladder for the applicable, finite bounds (and ``eta``) in ``total_width``."""
    rows = [b for b in bounds if b.applies and math.isfinite(b.log10_max_step)]
    infinite = [b for b in bounds if b.applies and b.log10_max_step == math.inf]
    if not rows and eta is None:
        return Text("(no finite bound to draw)")
    vals = [b.log10_max_step for b in rows] + ([math.log10(eta)] if eta else [])
    lo, hi = math.floor(min(vals)) - 0.5, math.ceil(max(vals)) + 0.5
    span = hi - lo

    def pos(v: float) -> int:
        return max(0, min(width - 1, round((v - lo) / span * (width - 1))))

    label_w = max([len(bound_label(b)) for b in rows] + [len("your step size")]) + 1
    width = max(16, total_width - label_w - 11)
    eta_pos = pos(math.log10(eta)) if eta else None
    out = Text()
    scale, _ = _ticks(lo, hi, width)
    out.append(" " * label_w + scale + "\n", style="dim")
    for b in sorted(rows, key=lambda r: r.log10_max_step):
        p = pos(b.log10_max_step)
        out.append(bound_label(b).ljust(label_w))
        for i in range(width):
            if eta_pos is not None and i == eta_pos:
                out.append("┃", style="bold magenta")
            elif i < p:
                out.append(GLYPH.get(b.kind, "━"), style=STYLE.get(b.kind, ""))
            elif i == p:
                out.append(END.get(b.kind, "●"), style="bold " + STYLE.get(b.kind, ""))
            else:
                out.append(" ")
        out.append(f" {fmt_log10(b.log10_max_step)}\n")
    if eta is not None and eta_pos is not None:
        out.append("your step size".ljust(label_w), style="bold magenta")
        out.append(" " * eta_pos + "▲", style="bold magenta")
        out.append(" " * (width - eta_pos - 1) + f" {eta:.4g}\n", style="bold magenta")
    for b in infinite:
        out.append(f"{bound_label(b)}: ∞ (no limit)\n", style="dim")
    for i, kind in enumerate(("necessary", "sufficient", "exact-local")):
        out.append(("   " if i else "") + f"{GLYPH[kind]}{END[kind]} {kind}", style=STYLE[kind])
    if eta is not None:
        out.append("   ┃ your step size", style="magenta")
    return out
