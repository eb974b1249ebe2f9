"""Inputs of the API: problems from files, initialisations and weights, checked."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gdcert import inits as _inits
from gdcert.errors import InputError
from gdcert.problem import Loss, Problem
from gdcert.validate import (
    check_dimension,
    check_int,
    check_memory,
    check_network_size,
    label,
    shown_path,
)

InitArg = str | os.PathLike[str] | _inits.Init


def load_problem(target: str | os.PathLike[str] | None = None, *, data: str | None = None,
                 depth: int, widths: Sequence[int] | None = None, loss: Loss = "sum",
                 samples_as_rows: bool = False, network_copies: int = 8) -> Problem:
    """Read a target matrix file (``TARGET``) or a dataset ``.npz`` (``data``) into a Problem.

    ``network_copies``: how many copies of all L layer matrices the caller will hold, for
    the memory check (8 for a simulation); 0 for work that never builds the layers (the
    closed-form bounds at the default inits need the target's size, not the network's)."""
    from gdcert import io
    from gdcert.problem import check_depth, check_widths

    if (target is None) == (data is None):
        raise InputError("give exactly one of TARGET or --data")
    depth = check_depth(depth)
    if widths is not None:
        widths = [check_dimension(check_int(w, name=label("widths")), what=label("widths"))
                  for w in widths]
    if data is not None:
        x, y = io.load_data(data, samples_as_rows=samples_as_rows)
        where = f"{label('data')} {shown_path(data)}"
        _check_magnitude(x, f"{where}, array 'X'")
        _check_magnitude(y, f"{where}, array 'Y'")
        ws = check_widths(widths, depth, x.shape[0], y.shape[0])
        d_x, m, d_y = x.shape[0], x.shape[1], y.shape[0]
        check_memory(8.0 * (3 * (d_x + d_y) * m + 6 * d_x * d_x + 6 * d_x * d_y),
                     what=f"{where}: {d_x}×{m} inputs and {d_y}×{m} outputs")
        _check_network(ws, where, network_copies)
        return Problem.from_data(x, y, depth=depth, widths=ws, loss=loss, source=str(data))
    assert target is not None
    phi = io.load_matrix(target)
    where = f"TARGET {shown_path(str(target))}"
    _check_magnitude(phi, where)
    ws = check_widths(widths, depth, phi.shape[1], phi.shape[0])
    check_memory(8.0 * 6 * phi.shape[0] * phi.shape[1],
                 what=f"{where}: the spectra of a {phi.shape[0]}×{phi.shape[1]} target")
    _check_network(ws, where, network_copies)
    return Problem.from_target(phi, depth=depth, widths=ws, source=str(target))


def _check_network(widths: Sequence[int], where: str, copies: int) -> None:
    if copies > 0:
        check_network_size(widths, what=where, copies=copies)
    else:
        for w in widths:
            check_dimension(int(w), what=where)


#: Largest entry magnitude accepted in a target or dataset. Gradients at initialisation
#: grow like ‖Φ‖^4 (squared norms of products), so beyond ~1e75 they overflow float64.
MAX_MAGNITUDE = 1e75


_TARGET_HINT = " (for a target Φ/c every step-size bound scales by c^(2(L−1)/L))"


def _check_magnitude(a: np.ndarray, where: str, *, hint: str = _TARGET_HINT) -> None:
    """Refuse entries so large that the bounds' squared norms overflow float64."""
    biggest = float(np.max(np.abs(a))) if a.size else 0.0
    if biggest > MAX_MAGNITUDE:
        raise InputError(
            f"{where}: entries up to {biggest:.3g} exceed {MAX_MAGNITUDE:.0e}, beyond which "
            f"squared norms and gradients overflow float64; rescale it{hint}")


#: Largest ‖W_L⋯W_1‖ bound (product of the layers' Frobenius norms) accepted in weights.
MAX_PRODUCT_MAGNITUDE = 1e60


def check_weight_magnitudes(weights: Sequence[np.ndarray], where: str) -> None:
    """Refuse weights whose entries or end-to-end product would overflow float64 in the
    loss and gradients (each entry ≤ 1e75, ∏_j ‖W_j‖_F ≤ 1e60, computed in log space)."""
    log_product = 0.0
    for j, w in enumerate(weights, start=1):
        if not np.all(np.isfinite(w)):
            raise InputError(f"{where}: W{j} has non-finite entries; expected finite numbers")
        _check_magnitude(w, f"{where}, W{j}", hint="")
        norm = float(np.linalg.norm(w))
        log_product += np.log10(norm) if norm > 0 else -np.inf
    if log_product > np.log10(MAX_PRODUCT_MAGNITUDE):
        raise InputError(
            f"{where}: the layers' norms multiply to about 1e{log_product:.0f}, above "
            f"{MAX_PRODUCT_MAGNITUDE:.0e}: the network's output, loss and gradients would "
            "overflow float64; rescale the weights")


def widths_from_weights(file: str | os.PathLike[str], *, what: str | None = None
                        ) -> tuple[int, ...]:
    """Layer widths (d_0, …, d_L) of an ``.npz`` of W1..WL (to default ``widths``)."""
    from gdcert import io

    ws = io.load_weights(file, what=what or label("init"))
    return (ws[0].shape[1], *(w.shape[0] for w in ws))


def resolve_inits(problem: Problem, inits: Sequence[InitArg] | None, *, seed: int = 0,
                  init_rank: int | None = None, init_scale: float = 1.0) -> list[_inits.Init]:
    """Turn init names / weight files into :class:`~gdcert.inits.Init` objects.

    ``None`` means every built-in initialisation defined for the problem's widths.
    """
    names: Sequence[InitArg] = (_inits.available(problem.widths) if inits is None else inits)
    out: list[_inits.Init] = []
    for item in names:
        if isinstance(item, _inits.Init):
            init = item
        elif str(item) in _inits.BUILTIN:
            init = _inits.make(str(item), problem.widths, rank=init_rank, scale=init_scale,
                               seed=seed)
        elif str(item).lower().endswith(".npz"):
            from gdcert import io

            where = f"{label('init')} {shown_path(str(item))}"
            check_weight_magnitudes(io.load_weights(str(item), what=label("init")), where)
            init = _inits.from_file(str(item), what=label("init"))
        else:
            raise InputError(f"{label('init')}: unknown initialisation {str(item)[:80]!r}; "
                             f"expected one of {', '.join(_inits.BUILTIN)} or an .npz file "
                             "of weights W1..WL")
        if init.widths != problem.widths:
            raise InputError(f"{label('init')} {init.name}: layer widths {init.widths} do not "
                             f"match the problem's widths {problem.widths}")
        out.append(init)
    return out


def check_weights(problem: Problem, weights: Sequence[np.ndarray], *, what: str | None = None
                  ) -> list[np.ndarray]:
    """Weights [W_1..W_L] must chain and match the problem's input/output dimensions."""
    what = what or label("weights")
    ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    if not ws:
        raise InputError(f"{what}: no layers given")
    check_weight_magnitudes(ws, what)
    for j in range(1, len(ws)):
        if ws[j].shape[1] != ws[j - 1].shape[0]:
            raise InputError(f"{what}: W{j + 1} has {ws[j].shape[1]} columns but W{j} has "
                             f"{ws[j - 1].shape[0]} rows: layers do not chain")
    if ws[0].shape[1] != problem.d_in or ws[-1].shape[0] != problem.d_out:
        raise InputError(f"{what}: the product W_L⋯W_1 is {ws[-1].shape[0]}×{ws[0].shape[1]} "
                         f"but the target is {problem.d_out}×{problem.d_in}")
    if len(ws) != problem.depth:
        raise InputError(f"{what}: {len(ws)} layers given but {label('depth')} is "
                         f"{problem.depth}")
    return ws
