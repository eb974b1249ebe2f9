"""The Python API: the only layer that orchestrates.

files → spec → problem + inits → bounds (once) → step sizes → simulation → classified
runs → results. Each function returns a frozen result object (:mod:`gdcert.results`);
renderers (:mod:`gdcert.report`) format them and the CLI writes them.

* :func:`certify` — every bound that applies, per initialisation, and a verdict on ``lr``;
* :func:`simulate` — verification GD, each run classified and its promises checked;
* :func:`find_edge` (``gdcert.edge``) — the empirical edge and every bound's ratio to it;
* :func:`evaluate` (``gdcert.check``) — one CI-gate check; :func:`evaluate_all` — several;
* :func:`certify_relu`, :func:`simulate_relu` — two-layer ReLU networks (Theorem 4);
* :func:`load_problem` — a target matrix or dataset from files.
"""

from gdcert.api.certification import certify as certify
from gdcert.api.checks import check as check
from gdcert.api.checks import evaluate as evaluate
from gdcert.api.checks import evaluate_all as evaluate_all
from gdcert.api.edge import find_edge as find_edge
from gdcert.api.inputs import check_weights as check_weights
from gdcert.api.inputs import load_problem as load_problem
from gdcert.api.inputs import resolve_inits as resolve_inits
from gdcert.api.relu import certify_relu as certify_relu
from gdcert.api.relu import simulate_relu as simulate_relu
from gdcert.api.simulation import simulate as simulate
from gdcert.api.verdict import make_verdict as make_verdict
from gdcert.api.verify import verify_report as verify_report

__all__ = [
    "certify",
    "certify_relu",
    "check",
    "check_weights",
    "evaluate",
    "evaluate_all",
    "find_edge",
    "load_problem",
    "make_verdict",
    "resolve_inits",
    "simulate",
    "simulate_relu",
    "verify_report",
]
