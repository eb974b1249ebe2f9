"""Results of the CI gate: one :class:`CheckResult` per check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gdcert.results.core import jsonable
from gdcert.spec import DEFAULT_CHECK_INIT, Requirement, StepSource


@dataclass(frozen=True)
class Suggestion:
    """The largest step size that would pass the requirement, and the bound that sets it."""

    max_step: float | None
    bound: str | None
    init: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"max_step": jsonable(self.max_step), "bound": self.bound, "init": self.init,
                "text": self.text}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: pass/fail, the verdict behind it and what to do."""

    name: str
    passed: bool
    requirement: Requirement
    step_size: float
    source: StepSource
    #: the verdict (certified / impossible / uncertified), or ``unknown`` (no bound decides
    #: a ``necessary`` check) or ``error`` (the check could not be evaluated).
    status: str
    message: str
    suggestion: Suggestion | None = None
    passed_by: str | None = None  # 'bound', 'simulation' or None
    init: str = DEFAULT_CHECK_INIT
    problem: str = ""
    checks_file: str | None = None
    seconds: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """``pass``, ``fail``, ``unknown`` (nothing decides it) or ``error`` (not evaluated)."""
        if self.status in ("error", "unknown"):
            return self.status
        return "pass" if self.passed else "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "outcome": self.outcome,
            "requirement": self.requirement,
            "step_size": jsonable(self.step_size),
            "source": self.source.to_dict(),
            "status": self.status,
            "passed_by": self.passed_by,
            "message": self.message,
            "suggestion": self.suggestion.to_dict() if self.suggestion else None,
            "init": self.init,
            "problem": self.problem,
            "checks_file": self.checks_file,
            "seconds": round(self.seconds, 3),
            "details": jsonable(dict(self.details)),
        }


def error_result(name: str, message: str, *, source: StepSource, requirement: Requirement =
                 "necessary", problem: str = "", checks_file: str | None = None,
                 init: str = DEFAULT_CHECK_INIT) -> CheckResult:
    """The result of a check that could not be evaluated (bad input): status ``error``."""
    return CheckResult(name=name, passed=False, requirement=requirement, step_size=math.nan,
                       source=source, status="error", message=message, init=init,
                       problem=problem, checks_file=checks_file)
