"""Renderers for ``gdcert check``: rich text, JSON, GitHub annotations, JUnit XML, Markdown.

Each ``to_*`` function takes the :class:`~gdcert.results.CheckResult` list and returns a
string; :func:`render` writes it to stdout or atomically to ``--output``. Renderers only
format: every number and message comes from :mod:`gdcert.api.checks`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from gdcert.results import CheckResult

SCHEMA_VERSION = 1


def _counts(results: Sequence[CheckResult]) -> tuple[int, int]:
    """(total, not passed) — failed, unknown and errored checks all count as not passed."""
    failed = sum(1 for r in results if not r.passed)
    return len(results), failed


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    """Counts by outcome: total, passed, failed, unknown, errors."""
    outcomes = [r.outcome for r in results]
    return {"total": len(results), "passed": outcomes.count("pass"),
            "failed": outcomes.count("fail"), "unknown": outcomes.count("unknown"),
            "errors": outcomes.count("error")}


def _headline(results: Sequence[CheckResult]) -> str:
    n = summary(results)
    total = n["total"]
    plural = "s" if total != 1 else ""
    if n["passed"] == total:
        return f"gdcert check: all {total} check{plural} passed"
    parts = [f"{n[k]} {label}" for k, label in (("failed", "failed"), ("unknown", "unknown"),
                                                ("errors", "could not be evaluated"))
             if n[k]]
    first, rest = parts[0].split(" ", 1)
    return (f"gdcert check: {first} of {total} check{plural} {rest}"
            + "".join(f", {p}" for p in parts[1:]))


def _full_message(r: CheckResult) -> str:
    if r.suggestion is not None and not r.passed:
        return f"{r.message}. To pass '{r.requirement}': {r.suggestion.text}"
    return r.message


def _eta(r: CheckResult, spec: str = ".4g") -> str:
    return "—" if r.step_size != r.step_size else format(r.step_size, spec)


def _where(r: CheckResult) -> str:
    if r.source.file is None:
        return r.source.key
    line = f":{r.source.line}" if r.source.line is not None else ""
    return f"{r.source.key} in {r.source.file}{line}"


_LABELS = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN", "error": "ERROR"}
_ICONS = {"pass": "✅", "fail": "❌", "unknown": "❔", "error": "⚠️"}


# --------------------------------------------------------------------------- JSON


def to_json(results: Sequence[CheckResult]) -> str:
    """One JSON document (schema: ``gdcert/schemas/check.schema.json``)."""
    _, failed = _counts(results)
    doc = {"schema_version": SCHEMA_VERSION, "passed": failed == 0,
           "summary": summary(results),
           "checks": [r.to_dict() for r in results]}
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_path(file: str, *, cwd: str, root: str | None) -> str:
    """``file`` (relative to ``cwd``) relative to the repository ``root``, with ``/``.

    GitHub resolves annotation paths against the repository root, not the directory the
    job ran in. Pure string operations: the CLI passes ``cwd`` and ``root``.
    """
    import posixpath
    from os import path as ospath

    if root is None:
        return file
    full = ospath.normpath(ospath.join(cwd, file))
    rel = ospath.relpath(full, root)
    if rel.startswith(".."):
        return file
    return posixpath.join(*rel.split(ospath.sep)) if rel != "." else rel


def to_github(results: Sequence[CheckResult], *, cwd: str = ".", root: str | None = None
              ) -> str:
    """GitHub Actions workflow commands: ``::error`` per failed or broken check,
    ``::warning`` per unknown one, ``::notice`` per pass, each pointing at the file and
    line where the step size (or the broken ``lr_from``) is written; paths relative to
    ``root`` (the repository)."""
    lines = []
    levels = {"pass": "notice", "fail": "error", "unknown": "warning", "error": "error"}
    for r in results:
        level = levels[r.outcome]
        props = []
        if r.source.file is not None:
            shown = annotation_path(r.source.file, cwd=cwd, root=root)
            props.append(f"file={_escape_property(shown)}")
            if r.source.line is not None:
                props.append(f"line={r.source.line}")
        verdict = {"pass": "passed", "fail": "failed", "unknown": "unknown",
                   "error": "could not be evaluated"}[r.outcome]
        title = f"gdcert check {r.name} ({r.requirement}) {verdict}"
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(_full_message(r))}")
    lines.append(_headline(results))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JUnit


def to_junit(results: Sequence[CheckResult]) -> str:
    """JUnit XML valid against the common ``junit-10.xsd`` (Jenkins xUnit): one
    ``<testcase>`` per check; ``<failure>`` when it fails or is unknown, ``<error>`` when it
    could not be evaluated. Where the step size is written goes into ``system-out`` and the
    message (the schema has no ``file``/``line`` attributes on ``<testcase>``)."""
    import xml.etree.ElementTree as ET

    n = summary(results)
    failures = str(n["failed"] + n["unknown"])
    seconds = f"{sum(r.seconds for r in results):.3f}"
    suites = ET.Element("testsuites", name="gdcert check", tests=str(n["total"]),
                        failures=failures, errors=str(n["errors"]), time=seconds)
    suite = ET.SubElement(suites, "testsuite", name="gdcert check", tests=str(n["total"]),
                          failures=failures, errors=str(n["errors"]), skipped="0",
                          time=seconds)
    for r in results:
        case = ET.SubElement(suite, "testcase", name=r.name,
                             classname=f"gdcert.check.{r.requirement}",
                             time=f"{r.seconds:.3f}")
        body = [f"step size η = {_eta(r, '.6g')} from {_where(r)}",
                f"requirement: {r.requirement}; verdict: {r.status}; init: {r.init}",
                f"problem: {r.problem}"]
        if r.suggestion is not None:
            body.append(f"suggestion: {r.suggestion.text}")
        if r.outcome == "error":
            err = ET.SubElement(case, "error", message=r.message, type="gdcert.input-error")
            err.text = "\n".join([r.message, f"at {_where(r)}"])
        elif r.passed:
            ET.SubElement(case, "system-out").text = r.message + "\n" + "\n".join(body)
        else:
            kind = "unknown" if r.outcome == "unknown" else r.requirement
            fail = ET.SubElement(case, "failure", message=_full_message(r),
                                 type=f"gdcert.{kind}")
            fail.text = "\n".join([r.message, *body])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


# --------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(results: Sequence[CheckResult]) -> str:
    """A table ready for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    _, failed = _counts(results)
    icon = "❌" if failed else "✅"
    out = [f"### {icon} {_headline(results)}", "",
           "| | check | requirement | η | from | verdict | largest passing η | message |",
           "|---|---|---|---:|---|---|---:|---|"]
    for r in results:
        sug = r.suggestion
        limit = (f"{sug.max_step:.4g} (`{sug.bound}`)" if sug is not None and sug.max_step
                 is not None and sug.bound is not None else "—")
        message = _full_message(r)
        out.append(f"| {_ICONS[r.outcome]} | {_md(r.name)} | {r.requirement} | "
                   f"{_eta(r)} | `{_md(_where(r))}` | {r.status} | {limit} | "
                   f"{_md(message)} |")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- text


def _text_renderable(results: Sequence[CheckResult]) -> Any:
    from rich.console import Group, RenderableType
    from rich.padding import Padding
    from rich.text import Text

    parts: list[RenderableType] = []
    for r in results:
        head = Text()
        style = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow",
                 "error": "bold magenta"}[r.outcome]
        head.append(_LABELS[r.outcome] + " ", style=style)
        head.append(r.name, style="bold")
        head.append(f"  [{r.requirement}]  η = {_eta(r)}  verdict: {r.status}")
        head.append(f"  from {_where(r)}", style="dim")
        body = Text(r.message)
        if r.suggestion is not None and not r.passed:
            body.append(f"\n→ {r.suggestion.text}", style="bold")
        parts += [head, Padding(body, (0, 0, 0, 5))]
    _, failed = _counts(results)
    parts.append(Text(_headline(results), style="bold red" if failed else "bold green"))
    return Group(*parts)


def to_text(results: Sequence[CheckResult], *, width: int = 120) -> str:
    """Plain text (no colour, no wrapping: one line per paragraph), as written to
    ``--output`` or a pipe."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, force_terminal=False,
            soft_wrap=True).print(_text_renderable(results), soft_wrap=True)
    return buf.getvalue()


# --------------------------------------------------------------------------- dispatch


def render(results: Sequence[CheckResult], *, fmt: str, cwd: str = ".",
           root: str | None = None) -> str:
    """The report in ``fmt`` (``text``, ``json``, ``github``, ``junit``, ``markdown``);
    ``cwd``/``root`` make GitHub annotation paths relative to the repository."""
    if fmt == "github":
        return to_github(results, cwd=cwd, root=root)
    renderers = {"json": to_json, "junit": to_junit, "markdown": to_markdown,
                 "text": to_text}
    return renderers[fmt](results)


def text_renderable(results: Sequence[CheckResult]) -> Any:
    """The rich renderable of the text format (for a terminal)."""
    return _text_renderable(results)
