"""PNG plots of verification runs (optional ``plot`` extra: matplotlib)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gdcert.errors import InputError


def _matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'gdcert[plot]'") from None
    return plt


def plot_runs(runs: Sequence[Any], path: str | os.PathLike[str], *, title: str = "") -> None:
    """Loss gap (log scale) with promised envelopes; sharpness against 2/η when tracked."""
    plt = _matplotlib()
    from gdcert.sim.engine import Schedule
    from gdcert.sim.promises import log_envelope
    from gdcert.sim.runner import etas_of

    with_sharp = any(r.records.get("sharpness") is not None for r in runs)
    fig, axes = plt.subplots(1, 2 if with_sharp else 1, figsize=(11 if with_sharp else 7, 4.5))
    ax = axes[0] if with_sharp else axes
    for r in runs:
        x = np.asarray(r.records["step_index"], dtype=float)
        gap = np.maximum(np.asarray(r.records["loss"]) - r.optimal_loss, 1e-300)
        line, = ax.semilogy(x, gap, label=f"η {r.step_label}, seed {r.seed}: {r.outcome}")
        if any(p.bound_id == "wu_wang_ma.thm4_3" for p in r.promises):
            sched = Schedule(**r.schedule)
            env = gap[0] * np.exp(log_envelope(x.astype(np.int64),
                                               etas_of(sched, max(r.iterations, 1))))
            ax.semilogy(x, env, ls="--", color=line.get_color(), alpha=0.7,
                        label="Wu et al. envelope (1 − η/2)^t R(0)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss − optimal loss")
    ax.set_title(title or "Verification runs")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    if with_sharp:
        ax2 = axes[1]
        for r in runs:
            s = r.records.get("sharpness")
            if s is None:
                continue
            x = np.asarray(r.records["step_index"], dtype=float)
            line, = ax2.plot(x, s, label=f"λ_max(∇²ℓ), η {r.step_label}")
            if r.step_size:
                ax2.axhline(2.0 / r.step_size, ls="--", color=line.get_color(), alpha=0.7,
                            label=f"2/η = {2.0 / r.step_size:.3g}")
        ax2.set_xlabel("iteration")
        ax2.set_ylabel("sharpness")
        ax2.set_title("Sharpness against 2/η (edge of stability)")
        ax2.grid(True, alpha=0.3)
        ax2.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)


def _save(fig: Any, path: Path) -> None:
    """Atomic PNG write: render to a temp file in the same directory, then replace."""
    if not path.parent.exists():
        raise InputError(f"--plot {path}: directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, format="png")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
