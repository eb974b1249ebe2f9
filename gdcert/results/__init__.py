"""Every frozen result type: what the API returns and every renderer formats.

All objects have ``to_dict()`` producing JSON-ready data (see :mod:`gdcert.results.core`
for the encoding of non-finite floats).
"""

from gdcert.results.checks import CheckResult, Suggestion
from gdcert.results.core import (
    SCHEMA_VERSION,
    Assumption,
    Bound,
    Kind,
    Report,
    Status,
    Verdict,
    jsonable,
)
from gdcert.results.edge import Edge
from gdcert.results.runs import Run, Simulation

__all__ = [
    "SCHEMA_VERSION",
    "Assumption",
    "Bound",
    "CheckResult",
    "Edge",
    "Kind",
    "Report",
    "Run",
    "Simulation",
    "Status",
    "Suggestion",
    "Verdict",
    "jsonable",
]
