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
    failed = sum(1 for r in results if not r.passed)
    return len(results), failed


def _headline(results: Sequence[CheckResult]) -> str:
    total, failed = _counts(results)
    if failed:
        return f"gdcert check: {failed} of {total} check{'s' if total != 1 else ''} failed"
    return f"gdcert check: all {total} check{'s' if total != 1 else ''} passed"


def _full_message(r: CheckResult) -> str:
    if r.suggestion is not None and not r.passed:
        return f"{r.message}. To pass '{r.requirement}': {r.suggestion.text}"
    return r.message


def _where(r: CheckResult) -> str:
    if r.source.file is None:
        return r.source.key
    line = f":{r.source.line}" if r.source.line is not None else ""
    return f"{r.source.key} in {r.source.file}{line}"


# --------------------------------------------------------------------------- JSON


def to_json(results: Sequence[CheckResult]) -> str:
    total, failed = _counts(results)
    doc = {"schema_version": SCHEMA_VERSION, "passed": failed == 0,
           "summary": {"total": total, "passed": total - failed, "failed": failed},
           "checks": [r.to_dict() for r in results]}
    return json.dumps(doc, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- GitHub


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(results: Sequence[CheckResult]) -> str:
    """GitHub Actions workflow commands: ``::error`` per failed check, ``::notice`` per pass,
    each pointing at the file and line where the step size is written."""
    lines = []
    for r in results:
        level = "notice" if r.passed else "error"
        props = []
        if r.source.file is not None:
            props.append(f"file={_escape_property(r.source.file)}")
            if r.source.line is not None:
                props.append(f"line={r.source.line}")
        verdict = "passed" if r.passed else "failed"
        title = f"gdcert check {r.name} ({r.requirement}) {verdict}"
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{level} {','.join(props)}::{_escape_data(_full_message(r))}")
    lines.append(_headline(results))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- JUnit


def to_junit(results: Sequence[CheckResult]) -> str:
    """JUnit XML: one ``<testcase>`` per check, a ``<failure message=...>`` when it fails."""
    import xml.etree.ElementTree as ET

    total, failed = _counts(results)
    seconds = f"{sum(r.seconds for r in results):.3f}"
    suites = ET.Element("testsuites", name="gdcert check", tests=str(total),
                        failures=str(failed), errors="0", time=seconds)
    suite = ET.SubElement(suites, "testsuite", name="gdcert check", tests=str(total),
                          failures=str(failed), errors="0", skipped="0", time=seconds)
    for r in results:
        case = ET.SubElement(suite, "testcase", name=r.name,
                             classname=f"gdcert.check.{r.requirement}",
                             time=f"{r.seconds:.3f}")
        if r.source.file is not None:
            case.set("file", r.source.file)
            if r.source.line is not None:
                case.set("line", str(r.source.line))
        body = [f"step size η = {r.step_size:.6g} from {_where(r)}",
                f"requirement: {r.requirement}; verdict: {r.status}; init: {r.init}",
                f"problem: {r.problem}"]
        if r.suggestion is not None:
            body.append(f"suggestion: {r.suggestion.text}")
        if r.passed:
            ET.SubElement(case, "system-out").text = r.message + "\n" + "\n".join(body)
        else:
            fail = ET.SubElement(case, "failure", message=_full_message(r),
                                 type=f"gdcert.{r.requirement}")
            fail.text = "\n".join([r.message, *body])
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


# --------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(results: Sequence[CheckResult]) -> str:
    """A table ready for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    total, failed = _counts(results)
    icon = "❌" if failed else "✅"
    out = [f"### {icon} {_headline(results)}", "",
           "| | check | requirement | η | from | verdict | largest passing η | message |",
           "|---|---|---|---:|---|---|---:|---|"]
    for r in results:
        sug = r.suggestion
        limit = (f"{sug.max_step:.4g} (`{sug.bound}`)" if sug is not None and sug.max_step
                 is not None and sug.bound is not None else "—")
        message = _full_message(r)
        out.append(f"| {'✅' if r.passed else '❌'} | {_md(r.name)} | {r.requirement} | "
                   f"{r.step_size:.4g} | `{_md(_where(r))}` | {r.status} | {limit} | "
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
        head.append("PASS " if r.passed else "FAIL ", style="bold green" if r.passed
                    else "bold red")
        head.append(r.name, style="bold")
        head.append(f"  [{r.requirement}]  η = {r.step_size:.4g}  verdict: {r.status}")
        head.append(f"  from {_where(r)}", style="dim")
        body = Text(r.message)
        if r.suggestion is not None and not r.passed:
            body.append(f"\n→ {r.suggestion.text}", style="bold")
        parts += [head, Padding(body, (0, 0, 0, 5))]
    _, failed = _counts(results)
    parts.append(Text(_headline(results), style="bold red" if failed else "bold green"))
    return Group(*parts)


def to_text(results: Sequence[CheckResult], *, width: int = 120) -> str:
    """Plain text (no colour), as written to ``--output``."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, no_color=True, force_terminal=False).print(
        _text_renderable(results))
    return buf.getvalue()


# --------------------------------------------------------------------------- dispatch


def render(results: Sequence[CheckResult], *, fmt: str) -> str:
    """The report in ``fmt`` (``text``, ``json``, ``github``, ``junit``, ``markdown``)."""
    renderers = {"json": to_json, "github": to_github, "junit": to_junit,
                 "markdown": to_markdown, "text": to_text}
    return renderers[fmt](results)


def text_renderable(results: Sequence[CheckResult]) -> Any:
    """The rich renderable of the text format (for a terminal)."""
    return _text_renderable(results)
