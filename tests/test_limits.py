"""Resource limits and bounded messages at the API level (gdcert.validate)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import numpy.lib.format as npformat
import pytest

from gdcert.errors import InputError
from gdcert.validate import (
    brief,
    check_iterations,
    check_memory,
    check_seeds,
    limits,
    parse_size,
    resource_limits,
)
from tests.badinput.generate import BILLION_LAUGHS


def test_brief_is_bounded_and_fast_on_shared_nesting() -> None:
    value: list[object] = ["lol"] * 9
    for _ in range(40):
        value = [value] * 9
    started = time.perf_counter()
    text = brief(value)
    assert time.perf_counter() - started < 0.1 and len(text) <= 80
    assert len(brief("x" * 10_000)) <= 80 and brief(10**5000)  # no ValueError on huge ints


def test_billion_laughs_through_lr_from_fails_fast(tmp_path: Path) -> None:
    from gdcert.config.checks import resolve_lr_from

    (tmp_path / "laughs.yaml").write_text(BILLION_LAUGHS)
    started = time.perf_counter()
    with pytest.raises(InputError, match="positive finite number") as exc:
        resolve_lr_from(tmp_path / "laughs.yaml", "optimizer.lr")
    assert time.perf_counter() - started < 2.0 and len(str(exc.value)) < 400


def test_limits_from_environment_and_context(monkeypatch: pytest.MonkeyPatch) -> None:
    assert limits().max_memory == 4 * 1024**3
    monkeypatch.setenv("GDCERT_MAX_MEMORY", "512M")
    assert limits().max_memory == 512 * 1024**2
    with resource_limits(max_memory=parse_size("8G"), max_iterations=10):
        assert limits().max_memory == 8 * 1024**3
        with pytest.raises(InputError, match="iterations is above the cap of 10"):
            check_iterations(11, name="iterations")
    with pytest.raises(InputError, match="memory limit of 512.0 MB.*--max-memory"):
        check_memory(1e12, what="TARGET x.npy")
    with pytest.raises(InputError, match="seeds is above the cap"):
        check_seeds(10**8, name="seeds")
    with pytest.raises(InputError, match="at most 9223372036854775807"):
        check_iterations(2**70, name="iterations")
    with pytest.raises(InputError, match="--max-memory"):
        parse_size("lots")


def test_load_problem_refuses_declared_sizes_before_allocating(tmp_path: Path) -> None:
    import gdcert

    path = tmp_path / "huge.npy"
    with path.open("wb") as fh:
        npformat.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                             "shape": (100_000, 100_000)})
    with pytest.raises(InputError, match=r"huge\.npy: a 100000×100000 array needs about"):
        gdcert.load_problem(path, depth=2)
    np.save(tmp_path / "spd.npy", np.eye(4))
    with pytest.raises(InputError, match="widths 4×20000×20000×4 needs about"):
        gdcert.load_problem(tmp_path / "spd.npy", depth=3, widths=[4, 20000, 20000, 4])
    with resource_limits(max_memory=1000):
        with pytest.raises(InputError, match="memory limit"):
            gdcert.load_problem(tmp_path / "spd.npy", depth=3)


def test_magnitude_cap_on_targets(tmp_path: Path) -> None:
    import gdcert

    np.save(tmp_path / "big.npy", np.eye(3) * 1e154)
    with pytest.raises(InputError, match=r"big\.npy: entries up to 1e\+154 exceed 1e\+75"):
        gdcert.load_problem(tmp_path / "big.npy", depth=2)
    np.save(tmp_path / "ok.npy", np.diag([1.0, 0.5, 0.25]) * 1e75)
    report = gdcert.certify(gdcert.load_problem(tmp_path / "ok.npy", depth=10), lr=1e-200)
    assert all(np.isfinite(b.log10_max_step) for b in report.bounds if b.applies)


def test_zero_target_of_any_size_has_a_clean_path(tmp_path: Path) -> None:
    """A zero target is valid input: every bound that depends on ρ(Φ) is infinite, with a
    note saying so (it used to crash ARPACK at 400×400)."""
    import json as _json

    import numpy as _np
    from click.testing import CliRunner as _Runner

    from gdcert.cli import cli as _cli

    for n in (2, 400):
        path = tmp_path / f"zero{n}.npy"
        _np.save(path, _np.zeros((n, n)))
        r = _Runner().invoke(_cli, ["bound", str(path), "--depth", "2", "--json"],
                             catch_exceptions=False)
        assert r.exit_code == 0, r.output
        doc = _json.loads(r.stdout)
        assert any("target is zero" in note for note in doc["notes"])
        cor1 = next(b for b in doc["bounds"] if b["id"] == "nar_sastry.cor1")
        assert cor1["max_step"] == "inf"


def test_bound_checks_the_network_only_where_it_builds_the_layers(tmp_path: Path) -> None:
    """``gdcert bound`` at the default inits needs the target's memory, not L layers': a
    deep network whose weights would exceed --max-memory is bounded; --verify, which
    simulates it, is refused with the one-line memory message (exit 2)."""
    from click.testing import CliRunner

    from gdcert.cli import cli

    np.save(tmp_path / "t.npy", np.diag(np.linspace(0.5, 1.5, 60)))
    # 8 copies × 200 layers × 60² × 8 B ≈ 46 MB of weights; the target is 29 KB
    args = ["--max-memory", "20M", "bound", str(tmp_path / "t.npy"), "--depth", "200",
            "--json", "--init", "identity"]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    refused = CliRunner().invoke(cli, args + ["--verify", "--iterations", "5"])
    assert refused.exit_code == 2 and "--max-memory" in refused.output
