"""PNG plots of verification runs (optional ``plot`` extra: matplotlib)."""

from __future__ import annotations

import io
from collections.abc import Sequence
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


def plot_runs(runs: Sequence[Any], *, title: str = "") -> bytes:
    """PNG: loss gap (log scale) with promised envelopes; sharpness against 2/η when tracked.

    Wu et al.'s envelope is drawn from the run's ``records["log_envelope"]`` (computed by
    the API where the promise was checked).
    """
    plt = _matplotlib()

    with_sharp = any(r.records.get("sharpness") is not None for r in runs)
    fig, axes = plt.subplots(1, 2 if with_sharp else 1, figsize=(11 if with_sharp else 7, 4.5))
    ax = axes[0] if with_sharp else axes
    for r in runs:
        x = np.asarray(r.records["step_index"], dtype=float)
        gap = np.maximum(np.asarray(r.records["loss"]) - r.optimal_loss, 1e-300)
        line, = ax.semilogy(x, gap, label=f"η {r.step_label}, seed {r.seed}: {r.outcome}")
        if r.records.get("log_envelope") is not None:
            env = gap[0] * np.exp(np.asarray(r.records["log_envelope"], dtype=float))
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
    return png_bytes(fig)


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (the CLI writes them atomically); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=120, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()
