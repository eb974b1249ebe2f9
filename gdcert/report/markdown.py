"""Markdown renderer: tables ready for docs, PR comments and job summaries."""

from __future__ import annotations

from gdcert.report.format import bound_label, extras_line, fmt_log10, fmt_num
from gdcert.report.terminal import SUMMARY_FIELDS
from gdcert.results import Report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    p = report.problem
    lines = ["# gdcert bound report", "", "## Problem", "", "| quantity | value |", "|---|---|"]
    for key, label in SUMMARY_FIELDS:
        if key in p and p[key] is not None:
            lines.append(f"| {_cell(label)} | {_cell(fmt_num(p[key]))} |")
    for init in p.get("inits", []):
        lines.append(f"| init {init['name']} | {_cell(init['description'])} |")
    lines += ["", "## Bounds", "",
              "| bound | kind | max step | applies | why / promise | source |",
              "|---|---|---:|:---:|---|---|"]
    for b in report.bounds:
        why = b.guarantee if b.applies else b.reason
        extra = extras_line(b)
        if extra:
            why = f"{why} ({extra})" if why else extra
        lines.append(f"| `{bound_label(b)}` | {b.kind} | {fmt_log10(b.log10_max_step)} | "
                     f"{'✓' if b.applies else '✗'} | {_cell(why)} | "
                     f"{_cell(b.paper + ', ' + b.theorem)} |")
    if report.verdict:
        v = report.verdict
        lines += ["", f"## Verdict for η = {v.step_size:.4g}: **{v.status}**", "", v.summary]
        lines += [f"- {d}" for d in v.details]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def edge_markdown(edge: object) -> str:
    """Markdown table of bound / edge ratios for ``gdcert edge --output``."""
    e = edge
    lines = [f"# Empirical edge: η* = {e.edge:.5g}", "",  # type: ignore[attr-defined]
             f"init `{e.init}`, seeds {list(e.seeds)}, "  # type: ignore[attr-defined]
             f"≤ {e.iterations} iterations, tolerance {e.tolerance:.3g}", "",  # type: ignore[attr-defined]
             "| bound | bound / edge |", "|---|---:|"]
    cert = getattr(e, "certified_edge", None)
    if cert is not None:
        level = (getattr(e, "certificate", None) or {}).get("level", "?")
        lines.append(f"| `aposteriori.pl_ball` (computer-assisted, {level}) | "
                     f"{cert / e.edge:.3g} |")  # type: ignore[attr-defined]
    for key, ratio in sorted(e.ratios.items(), key=lambda kv: -kv[1]):  # type: ignore[attr-defined]
        lines.append(f"| `{key}` | {ratio:.3g} |")
    return "\n".join(lines) + "\n"
