"""Drive the a posteriori certificate: simulate GD in chunks, then prove the tail.

:func:`certify_step` runs GD at ``η`` on the compiled core (``engine.run_batch``, continued
from ``final_weights`` chunk by chunk) and, after each chunk, tries the tail theorem of
:mod:`gdcert.bounds.aposteriori` at the reached iterate. On success the prefix (the ``k``
simulated steps) is checked:

* ``"proved"`` — the exact ``k``-th iterate is enclosed with ball arithmetic (python-flint's
  ``arb_mat``, optional extra ``rigorous``), precision raised until the enclosure is small
  enough; the tail is proved on a ball around the enclosure's midpoint;
* ``"proved_from_step_k"`` — the prefix is re-run in double-double arithmetic (≈ 106-bit
  significand, the compiled :mod:`gdcert.sim.ddkernel`; on a thread beside the float64
  simulation when a core is free) and the largest deviation from the float64 iterates (at
  chunk ends) is reported; the tail is proved for every start within
  ``ε = 2 × deviation`` (at least a few ulps) of the float64 iterate, or, when that fails
  and two double-double runs in different summation orders agree to within 1 % of that
  deviation, within ``2 × their spread`` (plus the centre's rounding) of the
  double-double iterate.

A run is never certified unless the tail theorem holds, and the tail theorem implies
convergence to a *global* minimiser; the stopping rules (diverged, orbit, non-global
critical point, budget) only save time.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from gdcert.bounds.aposteriori import Certificate, NotCertified, certify_iterate, gamma
from gdcert.linalg import blas_threads
from gdcert.problem import Problem

__all__ = ["certify_step", "certify_steps", "prefix_doubledouble", "prefix_arb",
           "PrefixEnclosure"]

Rigorous = Literal["auto", "never", "always"]

#: Chunks without a 0.1 % improvement of the best loss gap before a run counts as stalled.
PATIENCE = 40
#: ‖θ_{k+2} − θ_k‖ / ‖θ_{k+1} − θ_k‖ below this (with a stalled loss) is a period-2 orbit.
ORBIT_RATIO = 1e-3
#: Loss above this multiple of the initial loss (or not finite) counts as diverged.
DIV_FACTOR = 1e6
#: After a failed tail attempt the next one waits until the loss gap has fallen to at most
#: this fraction of its value then (more when the attempt missed by far: :meth:`_Run.failed`)
ATTEMPT_DROP = 0.5
#: … but at most this many chunks: an attempt costs about as much as a chunk on small
#: problems, so attempting after every chunk doubled the cost of a certificate.
ATTEMPT_SKIP = 6
#: The double-double worker checks for a stop about this often (seconds).
SHADOW_PIECE_SECONDS = 0.005
#: … and runs at most this many chunks ahead of the last float64 checkpoint (where it is
#: the faster of the two, e.g. d = 8, it would otherwise run to the budget, keeping an
#: iterate per chunk).
SHADOW_LEAD = 4
#: Estimated double-double step cost (seconds) per layer and per multiply–add of a
#: ``d_max × d_max`` product, and per layer: sizes the worker's first piece (measured
#: 1–3 ns per d³ at d = 4–16, ≈ 0.2 µs per layer at d = 2). The estimate only has to be
#: right within a few-fold: later pieces are sized from measured times.
SHADOW_STEP_COST = (1.5e-9, 5e-8)


# ----------------------------------------------------------------------------- prefix


def _effective_data(problem: Problem) -> tuple[np.ndarray | None, np.ndarray | None,
                                                 np.ndarray]:
    """``(x, y, c)``: the stored data (``None`` in target form) and ``C`` (Φ in target form)."""
    if problem.x is None:
        return None, None, problem.phi
    assert problem.y is not None
    return problem.x, problem.y, problem.y @ problem.x.T


def _dd_state(problem: Problem, init_weights: Sequence[np.ndarray], eta: float, *,
              reverse: bool = False) -> Any:
    """A double-double GD run (:class:`gdcert.sim.ddkernel.DDState`) of ``problem`` at η."""
    from gdcert.sim.ddkernel import DDState

    x, y, c = _effective_data(problem)
    ws = [np.asarray(w, dtype=np.float64) for w in init_weights]
    if x is None:
        return DDState(ws, eta, target=c, reverse=reverse)
    return DDState(ws, eta, x=x, y=y, reverse=reverse)


def _dd_distance(a: Sequence[np.ndarray], b: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """``‖a − b‖_F`` over all layers, ``a`` float64 and ``b`` double-double ``(hi, lo)`` pairs
    (``(a − hi) − lo`` per entry: exact when ``a`` and ``hi`` are close)."""
    return math.sqrt(sum(float(np.sum(((u - h) - lo) ** 2))
                         for u, (h, lo) in zip(a, b, strict=True)))


def _dd_spread(a: Sequence[tuple[np.ndarray, np.ndarray]],
               b: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """``‖a − b‖_F`` of two double-double iterates."""
    return math.sqrt(sum(float(np.sum(((ah - bh) + (al - bl)) ** 2))
                         for (ah, al), (bh, bl) in zip(a, b, strict=True)))


def prefix_doubledouble(problem: Problem, init_weights: Sequence[np.ndarray], eta: float,
                        checkpoints: Sequence[tuple[int, Sequence[np.ndarray]]]) -> float:
    """Largest ``‖Ŵᵏ − W_ddᵏ‖_F`` over ``checkpoints`` (``(k, float64 iterate)`` pairs).

    Re-runs the prefix in double-double arithmetic (≈ 106-bit significand, compiled; see
    :mod:`gdcert.sim.ddkernel`) from the same float64 init and step size. This is a
    cross-check, not a proof: the double-double run has rounding errors of its own (about
    2⁵¹ times smaller per operation, amplified along the run like the float64 ones).
    """
    return _dd_deviation(_dd_state(problem, init_weights, eta), checkpoints)


def _dd_deviation(state: Any, checkpoints: Sequence[tuple[int, Sequence[np.ndarray]]]) -> float:
    """Advance ``state`` through the checkpoints (in step order); the largest deviation."""
    return max((_dd_distance(w, state.advance(k))
                for k, w in sorted(checkpoints, key=lambda c: c[0])), default=0.0)


class _Shadow:
    """The double-double re-run of one run's prefix, on its own worker thread, running
    ahead of the float64 simulation.

    The worker advances along the chunk grid (``0, chunk, 2·chunk, …`` up to the budget)
    without waiting for the float64 run (the kernel releases the GIL, so both use a core),
    in pieces of about :data:`SHADOW_PIECE_SECONDS` so that :meth:`stop` is honoured
    promptly, and at most :data:`SHADOW_LEAD` chunks ahead of it. A grid iterate is kept
    until the float64 checkpoint of the same step arrives (or the other way round); then
    their distance is recorded and the pair dropped, so memory stays at a few iterates.
    :meth:`result` waits for the worker to reach the final step. A checkpoint off the grid
    (a run that ended between chunk ends) cannot be matched: :meth:`result` then returns
    ``None`` and the caller re-runs serially.
    """

    def __init__(self, problem: Problem, run: _Run, pool: Any, *, chunk: int,
                 last: int) -> None:
        import threading

        self.state = _dd_state(problem, run.init, run.eta)
        self.cond = threading.Condition()
        self.chunk, self.last = chunk, last
        self.dd: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.f64: dict[int, Sequence[np.ndarray]] = {}
        self.dev = 0.0
        self.latest: tuple[int, list[tuple[np.ndarray, np.ndarray]]] | None = None
        self.reached = -1
        self.posted = 0
        self.stopped = False
        self.done = False
        self.error: BaseException | None = None
        self.future = pool.submit(self._work)

    def _match(self, k: int) -> None:
        """Both iterates of step ``k`` are in: record their distance (lock held)."""
        layers = self.dd.pop(k)
        self.dev = max(self.dev, _dd_distance(self.f64.pop(k), layers))
        if self.latest is None or k > self.latest[0]:
            self.latest = (k, layers)

    def _first_piece(self) -> int:
        """Steps in about :data:`SHADOW_PIECE_SECONDS`, from the estimated cost of a step.
        (A small first piece had the worker back for the GIL within microseconds, then wait
        for the main thread's first tail attempt — ≈ 2 ms, a quarter of a d = 4
        certificate.)"""
        per_d3, per_layer = SHADOW_STEP_COST
        depth, d = len(self.state.widths) - 1, int(max(self.state.widths))
        cost = depth * (per_d3 * d**3 + per_layer)
        return max(1, int(SHADOW_PIECE_SECONDS / cost))

    def _work(self) -> None:
        try:
            piece, target = self._first_piece(), 0
            while True:
                while self.state.k < target:
                    if self.stopped:
                        return
                    t0 = time.perf_counter()
                    step = min(piece, target - self.state.k)
                    self.state.advance(self.state.k + step)
                    spent = time.perf_counter() - t0
                    piece = max(1, min(4 * piece, int(step * SHADOW_PIECE_SECONDS
                                                      / max(spent, 1e-9))))
                with self.cond:
                    self.dd[target] = self.state.layers()
                    self.reached = target
                    if target in self.f64:
                        self._match(target)
                    self.cond.notify_all()
                if target >= self.last or self.stopped:
                    return
                target = min(target + self.chunk, self.last)
                with self.cond:
                    while not (self.stopped
                               or target <= self.posted + SHADOW_LEAD * self.chunk):
                        self.cond.wait()
        except BaseException as exc:  # re-raised by result()
            self.error = exc
        finally:
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def post(self, k: int, weights: Sequence[np.ndarray]) -> None:
        with self.cond:
            self.f64[k] = weights
            self.posted = max(self.posted, k)
            if k in self.dd:
                self._match(k)
            self.cond.notify_all()

    def result(self, k: int) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]] | None:
        """The largest deviation over the posted checkpoints and the double-double iterate
        at step ``k`` (the last posted one), once the worker has got there; ``None`` if a
        checkpoint lies off the grid."""
        with self.cond:
            self.cond.wait_for(lambda: self.reached >= k or self.done)
            if self.error is not None:
                raise self.error
            if self.f64 or self.latest is None or self.latest[0] != k:
                return None
            return self.dev, self.latest[1]

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()


@dataclass(frozen=True)
class PrefixEnclosure:
    """A rigorous enclosure of the exact ``k``-th GD iterate (ball arithmetic).

    ``centre`` (float64 layers) and ``radius`` with ``‖W_exactᵏ − centre‖_F ≤ radius``;
    ``precision`` bits used; ``seconds`` spent; ``ok`` false when the enclosure blew up or
    the time budget ran out (then ``radius`` is ``inf``).
    """

    centre: tuple[np.ndarray, ...]
    radius: float
    precision: int
    seconds: float
    ok: bool
    attempts: tuple[tuple[int, float], ...] = field(default_factory=tuple)


def _arb_run(problem: Problem, init_weights: Sequence[np.ndarray], eta: float, k: int,
             prec: int, deadline: float, blowup: float) -> tuple[list[Any] | None, float]:
    """``k`` exact GD steps in arb ball arithmetic at ``prec`` bits; ``(layers, max radius)``.

    Returns ``(None, s)`` when a radius exceeds ``blowup`` at step ``s`` (``s = -1``: the
    deadline passed).
    """
    from flint import arb, arb_mat, ctx

    old = ctx.prec
    ctx.prec = prec
    try:
        x, y, c64 = _effective_data(problem)
        if x is None:
            sigma = None
            c = arb_mat(c64.tolist())
        else:
            assert y is not None
            xa, ya = arb_mat(x.tolist()), arb_mat(y.tolist())
            sigma, c = xa * xa.transpose(), ya * xa.transpose()
        ws = [arb_mat(np.asarray(w, dtype=np.float64).tolist()) for w in init_weights]
        e = arb(float(eta))
        depth = len(ws)
        d0, dl = ws[0].ncols(), ws[-1].nrows()
        for step in range(k):
            pre = [arb_mat(np.eye(d0).tolist())]
            for j in range(depth - 1):
                pre.append(ws[j] * pre[j])
            suf = [arb_mat(np.eye(dl).tolist())] * depth
            for j in range(depth - 2, -1, -1):
                suf[j] = suf[j + 1] * ws[j + 1]
            prod = suf[0] * ws[0]
            g = prod - c if sigma is None else prod * sigma - c
            ws = [ws[j] - e * (suf[j].transpose() * g * pre[j].transpose())
                  for j in range(depth)]
            if step % 64 == 63:
                if time.perf_counter() > deadline:
                    return None, -1.0
                rad = max(float(v.rad()) for v in ws[-1].entries())
                if not rad <= blowup:
                    return None, float(step + 1)
        rad = max(float(v.rad()) for w in ws for v in w.entries()) if ws else 0.0
        return ws, rad
    finally:
        ctx.prec = old


def prefix_arb(problem: Problem, init_weights: Sequence[np.ndarray], eta: float, k: int, *,
               target_radius: float, time_budget: float = 30.0,
               max_precision: int = 1 << 16) -> PrefixEnclosure:
    """Enclose the exact ``k``-th iterate of GD at ``eta`` from ``init_weights`` (python-flint).

    Runs the ``k`` steps in ``arb_mat`` ball arithmetic (every rounding and the wrapping
    effect are enclosed), starting at 128 bits and raising the precision from the measured
    growth of the radii (the wrapping effect makes them grow geometrically with the step
    count, so the bits needed grow linearly in ``k``: from a run that blew up at step
    ``s``, ``p ← rate·k + log₂(1/target) + 32`` with ``rate = (p + log₂ threshold)/s``) until
    the Frobenius enclosure radius ``‖(|mid − centre| + rad)‖_F ≤ target_radius``, the
    precision exceeds ``max_precision`` or ``time_budget`` seconds pass. ``centre`` is the
    midpoint rounded to float64 (its rounding is added to the radius); when that rounding
    alone exceeds ``target_radius`` no precision can help and the search stops at once.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_budget
    prec = 128
    attempts: list[tuple[int, float]] = []
    threshold = 1e3 * max(target_radius, 1e-300)
    while prec <= max_precision and time.perf_counter() < deadline:
        ws, at = _arb_run(problem, init_weights, eta, k, prec, deadline, blowup=threshold)
        if ws is None:
            attempts.append((prec, math.inf))
            if at < 0:
                break
            rate = (prec + math.log2(threshold)) / max(at, 1.0)
            prec = max(2 * prec, int(rate * k - math.log2(max(target_radius, 1e-300))) + 32)
            continue
        centre = []
        total = 0.0
        floor = 0.0  # the float64 centre's own rounding: no precision removes it
        for w in ws:
            mids = np.array([[float(w[i, j].mid()) for j in range(w.ncols())]
                             for i in range(w.nrows())])
            # |exact − float(mid)| ≤ |mid − float(mid)| + rad ≤ u|mid| + rad (rounded up)
            rads = np.array([[math.nextafter(float(w[i, j].rad()), math.inf)
                              for j in range(w.ncols())] for i in range(w.nrows())])
            bound = rads + np.abs(mids) * 2.0**-53
            with np.errstate(over="ignore"):  # a blown-up enclosure: radius inf, handled
                floor += float(np.sum((np.abs(mids) * 2.0**-53) ** 2))
                # the float sum of squares is within γ_{n+2} (relative) of the exact one
                part = float(np.sum(bound * bound)) * (1.0 + gamma(bound.size + 2))
            total = math.nextafter(total + math.nextafter(part, math.inf), math.inf)
            centre.append(mids)
        radius = math.nextafter(math.sqrt(total) * (1 + 4 * 2.0**-53), math.inf)
        attempts.append((prec, radius))
        if radius <= target_radius:
            return PrefixEnclosure(tuple(centre), radius, prec, time.perf_counter() - t0,
                                   True, tuple(attempts))
        if math.sqrt(floor) >= target_radius:  # rounding the centre alone is too much
            break
        if not math.isfinite(radius):  # blew up in the last steps (checked every 64)
            rate = (prec + math.log2(threshold)) / max(k, 1)
            prec = max(2 * prec, int(rate * k - math.log2(max(target_radius, 1e-300))) + 32)
            continue
        grow = math.log2(radius / max(target_radius, 1e-300)) if radius > 0 else 1.0
        prec = max(prec + int(math.ceil(grow)) + 32, prec + 64)
    return PrefixEnclosure(tuple(np.asarray(w, dtype=np.float64) for w in init_weights),
                           math.inf, prec, time.perf_counter() - t0, False, tuple(attempts))


def _flint_available() -> bool:
    try:
        import flint  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- driver


@dataclass
class _Run:
    """Mutable per-run state of the chunked simulation."""

    weights: list[np.ndarray]
    eta: float
    name: str
    init: list[np.ndarray]
    k: int = 0
    loss0: float = math.nan
    best_gap: float = math.inf
    stalled: int = 0
    checkpoints: list[tuple[int, list[np.ndarray]]] = field(default_factory=list)
    result: Certificate | NotCertified | None = None
    shadow: _Shadow | None = None
    wait_gap: float = math.inf
    skipped: int = 0
    max_skip: int = ATTEMPT_SKIP
    blind: int = 0

    def failed(self, gap: float, res: NotCertified) -> None:
        """After a failed attempt at loss gap ``gap``: when to try again.

        The tail needs ``travel(r) ≤ r`` and the travel bound scales like ``√F₀``; with
        ``travel/r = ρ`` at best now, success needs the gap to fall about ``ρ²``-fold. The
        next attempt waits for a fall of ``ρ²/4`` (at least :data:`ATTEMPT_DROP`), but
        never more than :data:`ATTEMPT_SKIP` chunks. When no radius gave a finite travel
        bound (no PL constant on any ball yet, or ``ηβ ≥ 2``), the gap predicts nothing:
        the ``n``-th such miss in a row waits ``2ⁿ`` chunks (at most :data:`ATTEMPT_SKIP`)
        — an early phase of 14 such misses, one per chunk, was a fifth of a certificate's
        time at d = 4."""
        rho = float(res.extras.get("travel_over_r", math.inf))
        if math.isfinite(rho):
            self.blind = 0
            self.max_skip = ATTEMPT_SKIP
            self.wait_gap = min(ATTEMPT_DROP, 4.0 / rho**2) * gap
        else:
            self.blind += 1
            self.max_skip = min(ATTEMPT_SKIP, 2**self.blind)
            self.wait_gap = 0.0

    def due(self, gap: float, *, last: bool) -> bool:
        """Try the tail now? (See :meth:`failed`; also at the budget's last chunk. The rule
        depends on the trajectory only, so ``k`` is reproducible.)"""
        if last or gap <= self.wait_gap or self.skipped + 1 >= self.max_skip:
            self.skipped = 0
            return True
        self.skipped += 1
        return False

    def checkpoint(self) -> None:
        """Record the current float64 iterate (and hand it to the double-double shadow)."""
        ws = [w.copy() for w in self.weights]
        self.checkpoints.append((self.k, ws))
        if self.shadow is not None:
            self.shadow.post(self.k, ws)

    def prefix(self, problem: Problem) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        """The largest float64 − double-double deviation over the checkpoints, and the
        double-double iterate at step ``k``."""
        if self.shadow is not None:
            got = self.shadow.result(self.k)
            self.shadow.stop()
            if got is not None:
                return got
        state = _dd_state(problem, self.init, self.eta)
        return _dd_deviation(state, self.checkpoints), state.layers()


def _prefix_level(problem: Problem, run: _Run, tail: Certificate, *, rigorous: Rigorous,
                  rigorous_budget: float, tolerance: float | None) -> Certificate | NotCertified:
    """Upgrade a tail certificate at the float64 iterate to a statement about exact GD."""
    scale = math.sqrt(sum(float(np.sum(w * w)) for w in run.weights))
    slack = max(tail.r - float(tail.extras.get("travel", tail.r)), 0.0)
    dev, dd_k = run.prefix(problem)
    extras: dict[str, Any] = {"prefix_deviation_dd": dev}
    if rigorous != "never" and _flint_available() and run.k > 0:
        enc = prefix_arb(problem, run.init, run.eta, run.k, target_radius=0.1 * slack,
                         time_budget=rigorous_budget)
        extras.update({"arb_precision": enc.precision, "arb_seconds": enc.seconds,
                       "arb_radius": enc.radius,
                       "arb_attempts": [list(a) for a in enc.attempts]})
        if enc.ok:
            res = certify_iterate(problem, list(enc.centre), run.eta, epsilon=enc.radius,
                                  tolerance=tolerance, init=run.name, k=run.k, level="proved",
                                  prefix_deviation=dev)
            if isinstance(res, Certificate):
                return _with_extras(res, extras)
    elif rigorous == "always" and not _flint_available():
        raise ImportError("the 'proved' level needs python-flint: pip install 'gdcert[rigorous]'")
    if run.k == 0:
        return _with_extras(certify_iterate(problem, run.weights, run.eta, epsilon=0.0,
                                            tolerance=tolerance, init=run.name, k=0,
                                            level="proved", prefix_deviation=0.0), extras)
    # ε: twice the measured float64-vs-double-double deviation, at least 4 ulps of ‖W‖
    eps = max(2.0 * dev, 4 * 2.0**-52 * scale)
    res = certify_iterate(problem, run.weights, run.eta, epsilon=eps, tolerance=tolerance,
                          init=run.name, k=run.k, level="proved_from_step_k",
                          prefix_deviation=dev, radius_hint=tail.r)
    if isinstance(res, Certificate):
        return _with_extras(res, {**extras, "centre": "float64"})
    # The float64 prefix went astray (a saddle escape or catapult amplifies rounding).
    # Re-centre on the double-double iterate; ε from the spread of two double-double runs
    # that differ only in the order of summation, plus the rounding of the centre.
    other = _dd_state(problem, run.init, run.eta, reverse=True).advance(run.k)
    spread = _dd_spread(dd_k, other)
    centre = [h for h, _ in dd_k]
    rounding = math.sqrt(sum(float(np.sum(lo * lo)) for _, lo in dd_k))
    eps_dd = max(2.0 * spread, 4 * 2.0**-52 * scale) + 2.0 * rounding
    extras.update({"dd_spread": spread})
    if spread <= 1e-2 * dev:  # the double-double runs resolve the trajectory
        res = certify_iterate(problem, centre, run.eta, epsilon=eps_dd, tolerance=tolerance,
                              init=run.name, k=run.k, level="proved_from_step_k",
                              prefix_deviation=dev)
        if isinstance(res, Certificate):
            return _with_extras(res, {**extras, "centre": "double-double"})
    return NotCertified(eta=run.eta, init=run.name, reason="prefix_deviation",
                        detail=f"the tail holds at the float64 iterate but not within "
                               f"ε = {eps:.3g} of it (prefix deviation {dev:.3g}), nor "
                               f"around the double-double iterate (spread {spread:.3g})",
                        k=run.k, loss_gap=res.loss_gap, extras=extras)


def _with_extras(res: Certificate | NotCertified,
                 extras: dict[str, Any]) -> Certificate | NotCertified:
    from dataclasses import replace

    return replace(res, extras={**res.extras, **extras})


def _grad_small(traj: Any, scale: float) -> bool:
    g = traj.grad_norm
    return bool(len(g)) and float(g[-1]) <= 1e-8 * max(float(np.max(g)), scale, 1e-300)


def _shadow_pool(n_runs: int) -> Any:
    """A pool with a thread per run for the double-double re-runs when cores are left over
    (fewer runs than usable cores), else ``None``: then each prefix is re-run once its tail
    is proved."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    if n_runs >= cores:
        return None
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=n_runs, thread_name_prefix="gdcert-dd")


def _advance(st: _Run, tr: Any, f_star: float) -> bool:
    """Take a chunk's trajectory into the run's state; True if it diverged (then judged)."""
    if math.isnan(st.loss0):
        st.loss0 = float(tr.loss[0])
    st.k += tr.iterations
    st.weights = [np.array(w) for w in tr.final_weights]
    if (tr.stop == "diverged" or not math.isfinite(tr.final_loss)
            or tr.final_loss > DIV_FACTOR * max(st.loss0, 1e-300)):
        st.result = NotCertified(eta=st.eta, init=st.name, reason="diverged",
                                 detail=f"the loss reached {tr.final_loss:.3g}",
                                 k=st.k, loss_gap=tr.final_loss - f_star)
        return True
    st.checkpoint()
    return False


def _judge(st: _Run, tr: Any, *, scale: float, patience: int, max_iter: int,
           gap: float) -> None:
    """After a chunk without a certificate: track progress; stop an orbit, a non-global
    critical point, a stall or the budget."""
    if gap < 0.999 * st.best_gap:
        st.best_gap, st.stalled = gap, 0
    else:
        st.stalled += 1
    if st.stalled >= patience:
        if tr.step_norm_two < ORBIT_RATIO * tr.step_norm_last:
            reason, what = "orbit", "a period-2 orbit (loss not decreasing)"
        elif _grad_small(tr, scale):
            reason, what = "non_global", "a critical point above the optimal loss"
        else:
            reason, what = "stalled", "no progress of the loss"
        st.result = NotCertified(eta=st.eta, init=st.name, reason=reason,
                                 detail=f"{what} after {st.k} steps (loss gap {gap:.3g})",
                                 k=st.k, loss_gap=gap)
    elif st.k >= max_iter:
        st.result = NotCertified(eta=st.eta, init=st.name, reason="budget",
                                 detail=f"no certificate within {max_iter} steps",
                                 k=st.k, loss_gap=gap)


def certify_steps(problem: Problem,
                  runs: Sequence[tuple[Sequence[np.ndarray], float]], *,
                  names: Sequence[str] | None = None, max_iter: int = 100_000,
                  chunk: int = 1000, tolerance: float | None = None,
                  rigorous: Rigorous = "auto", rigorous_budget: float = 30.0,
                  patience: int = PATIENCE) -> list[Certificate | NotCertified]:
    """:func:`certify_step` for several ``(init weights, η)`` pairs, one ``run_batch`` per chunk.

    Each run stops at its first certificate, or with a :class:`NotCertified` whose reason is
    ``diverged`` (non-finite, or loss above ``10⁶ ×`` the initial loss), ``orbit`` (no 0.1 %
    progress of the loss gap for ``patience`` chunks, last two-step displacement ≪ one-step
    one), ``non_global`` (no progress and a vanishing gradient above the optimum),
    ``stalled`` (no progress otherwise) or ``budget`` (``max_iter`` steps).
    """
    from gdcert.api.simulation import gd_problem
    from gdcert.sim.engine import Schedule, run_batch

    if chunk < 1 or max_iter < 0:
        raise ValueError(f"need chunk >= 1 and max_iter >= 0, got chunk={chunk}, "
                         f"max_iter={max_iter}")
    names = list(names) if names is not None else ["init"] * len(runs)
    if len(names) != len(runs):
        raise ValueError(f"need one name per run: {len(runs)} runs, {len(names)} names")
    gdp = gd_problem(problem)
    f_star = problem.optimal_loss
    zero = np.zeros((problem.d_out, problem.d_in))
    scale = math.sqrt(max(2 * problem.loss_of_product(zero), 1e-300))
    states = [_Run(weights=[np.array(w, dtype=np.float64) for w in ws], eta=float(eta),
                   name=nm, init=[np.array(w, dtype=np.float64) for w in ws])
              for (ws, eta), nm in zip(runs, names, strict=True)]

    def attempt(st: _Run, gap: float) -> bool:
        res = certify_iterate(problem, st.weights, st.eta, tolerance=tolerance, init=st.name,
                              k=st.k)
        if isinstance(res, NotCertified):  # the gap the tail computed, where it got that far
            st.failed(res.loss_gap if math.isfinite(res.loss_gap) else gap, res)
        if isinstance(res, NotCertified) and res.reason in ("bottleneck", "singular_sigma"):
            st.result = res
            return True
        if isinstance(res, Certificate):
            st.result = _prefix_level(problem, st, res, rigorous=rigorous,
                                      rigorous_budget=rigorous_budget, tolerance=tolerance)
            return True
        return False

    pool = _shadow_pool(len(states))
    # With double-double workers on the other cores, BLAS calls of the tail attempts stay
    # on this thread: OpenBLAS's spinning helper threads slowed the workers by up to 40 %.
    cleanup = contextlib.ExitStack()
    if pool is not None:
        cleanup.enter_context(blas_threads(1))
    try:
        for st in states:
            if pool is not None:
                st.shadow = _Shadow(problem, st, pool, chunk=chunk, last=max_iter)
            st.checkpoint()
            attempt(st, math.inf)
        while True:
            active = [st for st in states if st.result is None]
            if not active:
                break
            steps = min(chunk, max_iter - min(st.k for st in active))
            if steps <= 0:
                for st in active:
                    st.result = NotCertified(eta=st.eta, init=st.name, reason="budget",
                                             detail=f"no certificate within {max_iter} steps",
                                             k=st.k, loss_gap=st.best_gap)
                break
            trajs = run_batch(gdp, [st.weights for st in active],
                              [Schedule.constant(st.eta) for st in active], max_iter=steps,
                              loss_target=f_star, record_every=steps, div_factor=DIV_FACTOR)
            for st, tr in zip(active, trajs, strict=True):
                if _advance(st, tr, f_star):
                    continue
                gap = tr.final_loss - f_star
                if st.due(gap, last=st.k >= max_iter) and attempt(st, gap):
                    continue
                _judge(st, tr, scale=scale, patience=patience, max_iter=max_iter, gap=gap)
    finally:
        for st in states:
            if st.shadow is not None:
                st.shadow.stop()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        cleanup.close()
    return [st.result for st in states if st.result is not None]


def certify_step(problem: Problem, init_weights: Sequence[np.ndarray], eta: float, *,
                 max_iter: int = 100_000, chunk: int = 1000, init_name: str = "init",
                 tolerance: float | None = None, rigorous: Rigorous = "auto",
                 rigorous_budget: float = 30.0,
                 patience: int = PATIENCE) -> Certificate | NotCertified:
    """Simulate GD at ``eta`` from ``init_weights`` and certify convergence a posteriori.

    After every ``chunk`` steps (up to ``max_iter``) the tail theorem is tried at the
    reached iterate; the first success is upgraded to ``"proved"`` (arb enclosure of the
    prefix, when python-flint is installed and ``rigorous`` is not ``"never"``, within
    ``rigorous_budget`` seconds) or ``"proved_from_step_k"`` (double-double cross-check).
    See :func:`certify_steps` for the outcomes that stop the search without a certificate.
    """
    return certify_steps(problem, [(init_weights, eta)], names=[init_name], max_iter=max_iter,
                         chunk=chunk, tolerance=tolerance, rigorous=rigorous,
                         rigorous_budget=rigorous_budget, patience=patience)[0]


# --------------------------------------------------------------------------- surfaces

#: The id of the computer-assisted bound (BOUNDS.md "Beyond the papers"; CERTIFICATE.md).
PL_BALL = "aposteriori.pl_ball"
_PAPER = "gdcert (a posteriori, CERTIFICATE.md)"
_THEOREM = "tail theorem: local PL + smoothness on a ball, after k simulated steps"
LEVEL_WORDS = {
    "proved": "proved (the prefix enclosed rigorously in ball arithmetic)",
    "proved_from_step_k": "proved from step k (the tail is proved; the prefix is a "
                          "float64 run cross-checked at higher precision)",
    "tail_only": "proved from the given weights (tail only)",
}


def as_bound(result: Certificate | NotCertified, *, init: str | None,
             point: str | None = None) -> Any:
    """A certificate (or its absence) as a :class:`~gdcert.results.Bound` row
    ``aposteriori.pl_ball``: applies — with ``max_step`` = η — only when certified."""
    from gdcert.results import Assumption, Bound

    common = dict(id=PL_BALL, paper=_PAPER, theorem=_THEOREM, kind="sufficient", init=init,
                  point=point)
    if isinstance(result, Certificate):
        guarantee = (f"computer-assisted: GD at η = {result.eta:.4g} converges to a global "
                     f"minimum — {LEVEL_WORDS.get(result.level, result.level)}; after step "
                     f"{result.k}, f − f* ≤ q^t F₀ with q = {result.q:.6g}")
        return Bound(applies=True, log10_max_step=math.log10(result.eta), guarantee=guarantee,
                     assumptions=(Assumption("a certificate was found at η", True,
                                             result.eta),),
                     extras={"certificate": result.to_dict()}, **common)  # type: ignore
    return Bound(applies=False, log10_max_step=math.nan, guarantee="",
                 reason=f"no certificate at η = {result.eta:.4g}: {result.detail}",
                 assumptions=(Assumption("a certificate was found at η", False, result.eta,
                                         failed=result.detail),),
                 extras={"certificate": result.to_dict()}, **common)  # type: ignore


def not_needed(eta: float, init: str, by: Any) -> Any:
    """The row when a closed-form sufficient bound already certifies η for ``init``."""
    from gdcert.results import Bound

    return Bound(id=PL_BALL, paper=_PAPER, theorem=_THEOREM, kind="sufficient", init=init,
                 applies=False, log10_max_step=math.nan, guarantee="",
                 reason=f"not attempted: η = {eta:.4g} is already certified by {by.id} "
                        f"(max {by.max_step:.4g})")


#: Work allowed for one a posteriori attempt inside ``certify``/``gdcert bound`` (about
#: L·(d³ + 64) per step, d the largest width): caps the simulated steps on deep or wide
#: networks so that the report stays interactive; ``aposteriori_iterations`` caps the rest.
WORK_BUDGET = 1e9
#: Above this depth the tail theorem's constants (O(L²) products of layer norms per
#: radius tried) are too costly for an interactive report: the row says so.
MAX_DEPTH = 1000


def step_budget(problem: Problem, max_iter: int) -> int:
    """``max_iter``, capped so that one attempt costs at most :data:`WORK_BUDGET`."""
    per_step = problem.depth * (max(problem.widths) ** 3 + 64)
    return max(1, min(int(max_iter), int(WORK_BUDGET // per_step)))


def pl_ball_bounds(problem: Problem, inits: Sequence[Any], eta: float,
                   bounds: Sequence[Any], *, max_iter: int = 100_000,
                   rigorous: Rigorous = "auto", rigorous_budget: float = 10.0) -> list[Any]:
    """``aposteriori.pl_ball`` for every init at η: simulate and prove where no closed-form
    bound for a global minimum already certifies η (those rows say so); all attempts run in
    one batched simulation of at most :func:`step_budget` steps."""
    from gdcert.api.verdict import NON_GLOBAL
    from gdcert.results import Bound

    rows: dict[int, Any] = {}
    todo: list[tuple[int, Any]] = []
    if problem.depth > MAX_DEPTH:
        return [Bound(id=PL_BALL, paper=_PAPER, theorem=_THEOREM, kind="sufficient",
                      init=i.name, applies=False, log10_max_step=math.nan, guarantee="",
                      reason=f"not attempted: depth L = {problem.depth} > {MAX_DEPTH} (the "
                             "certificate's constants cost O(L²) per radius tried)")
                for i in inits]
    for n, init in enumerate(inits):
        by = [b for b in bounds if b.kind == "sufficient" and b.applies and b.init == init.name
              and b.id not in NON_GLOBAL and b.admits(eta)]
        if by:
            rows[n] = not_needed(eta, init.name, by[0])
        else:
            todo.append((n, init))
    if todo:
        results = certify_steps(problem, [(i.weights(), eta) for _, i in todo],
                                names=[i.name for _, i in todo],
                                max_iter=step_budget(problem, max_iter),
                                rigorous=rigorous, rigorous_budget=rigorous_budget)
        for (n, init), res in zip(todo, results, strict=True):
            rows[n] = as_bound(res, init=init.name)
    return [rows[n] for n in range(len(inits))]


def certified_edge(problem: Problem, init_weights: Sequence[np.ndarray], edge: float, *,
                   init_name: str, fractions: Sequence[float] = (0.99, 0.97, 0.95, 0.9, 0.8,
                                                                 0.65, 0.5),
                   max_iter: int = 100_000,
                   rigorous: Rigorous = "never") -> tuple[float | None, Any]:
    """The largest certified η among ``fractions × edge`` (all tried in one batched run);
    ``(η or None, its Certificate or the best NotCertified)``."""
    results = certify_steps(problem, [(init_weights, f * edge) for f in fractions],
                            names=[init_name] * len(fractions), max_iter=max_iter,
                            rigorous=rigorous)
    for res in results:  # fractions are in decreasing order
        if isinstance(res, Certificate):
            return res.eta, res
    return None, results[-1]


def certified_edge_all(problem: Problem, weights: Sequence[Sequence[np.ndarray]], edge: float,
                       *, init_name: str) -> tuple[float | None, dict[str, Any]]:
    """:func:`certified_edge` for every seed's initial weights: the least certified η over
    the seeds (``None`` if one seed has none), and the deciding certificate (or refusal)."""
    least: float | None = math.inf
    doc: dict[str, Any] = {}
    for w in weights:
        eta, res = certified_edge(problem, w, edge, init_name=init_name,
                                  max_iter=step_budget(problem, 100_000))
        if eta is None:
            return None, res.to_dict()
        if least is not None and eta < least:
            least, doc = eta, res.to_dict()
    return (None if least is None or math.isinf(least) else least), doc
