"""PNG plots of two-layer ReLU verification runs (``gdcert simulate`` with ``model: relu2``).

One panel per run: the target ``f`` and the estimate ``f̂`` at the stopping point, or, for a
period-2 orbit, the two alternating estimates ``f̂_odd`` and ``f̂_even`` — as in Nar &
Sastry's Figure 2. Scalar inputs are drawn over ``x``; otherwise over the sample index.
Only the first output is drawn when ``m > 1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gdcert.report.plot import _matplotlib, png_bytes

#: Panels per row.
PER_ROW = 3


def _first_output(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[0] if a.ndim == 2 else a


def plot_relu_runs(sim: Any, *, title: str = "") -> bytes:
    """Draw ``f`` with ``f̂`` (or ``f̂_odd``/``f̂_even``) for every run of ``sim``."""
    plt = _matplotlib()
    runs = list(sim.runs)
    x_all = np.asarray(sim.problem["x"], dtype=float)
    scalar = x_all.shape[0] == 1
    xs = x_all[0] if scalar else np.arange(x_all.shape[1], dtype=float)
    targets = sim.problem["targets"]
    cols = min(PER_ROW, len(runs))
    rows = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    for ax in axes.ravel()[len(runs):]:
        ax.set_visible(False)
    for ax, r in zip(axes.ravel(), runs, strict=False):
        key = "file" if "file" in targets else str(r.seed)
        ax.plot(xs, _first_output(targets[key]), color="seagreen", lw=1.5, label="f(x)")
        d = r.details
        if "f_hat_odd" in d:
            ax.plot(xs, _first_output(d["f_hat_odd"]), "-.", color="maroon", lw=2.0,
                    label="f̂_odd(x)")
            ax.plot(xs, _first_output(d["f_hat_even"]), "--", color="darkorange", lw=1.5,
                    label="f̂_even(x)")
            note = f"max|f̂_odd − f̂_even| = {d['max_abs_f_hat_diff']:.3g}"
        elif "f_hat" in d:
            ax.plot(xs, _first_output(d["f_hat"]), "--", color="maroon", lw=1.5,
                    label="f̂(x)")
            note = f"loss {r.final_loss:.3g}"
        else:
            note = "no estimate (diverged)"
        seed = "" if r.seed < 0 else f", seed {r.seed}"
        ax.set_title(f"η = {r.step_label}{seed}: {r.outcome}\n{note}", fontsize=9)
        ax.set_xlabel("x" if scalar else "sample")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return png_bytes(fig)
