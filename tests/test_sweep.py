"""``gdcert sweep`` / :func:`gdcert.api.sweep.run_sweep`.

Sweep files fail with one line naming file:line and key; ranges expand as documented; a
sweep's table has the documented columns, one row per run; a re-run reuses every finished
cell and a changed sweep file re-runs only the cells it changes; a Ctrl-C and a killed
worker in the middle of a sweep leave parts from which the resumed sweep's table equals
an uninterrupted run's; Dask (a LocalCluster in this process) gives the same table;
Parquet, the JSON summary and the pictures are written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gdcert.api.sweep import fit_power_law, run_sweep, sweep_size
from gdcert.cli import cli
from gdcert.config import sweep as sweep_config
from gdcert.errors import InputError
from gdcert.io.sweep_parts import load_parts, parts_dir
from gdcert.report.sweep_out import to_csv
from gdcert.results.sweep import COLUMNS

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"
MINUS_I = SAMPLES / "minus_identity_4x4.npy"


def write(tmp: Path, text: str, name: str = "sweep.yaml") -> Path:
    p = tmp / name
    p.write_text(text.replace("MINUS_I", str(MINUS_I)))
    return p


SMALL = """\
problem: {target: MINUS_I}
depth: [2, 3]
init: [zas, near_identity]
step_size: {times: [0.5, 1.1], bound: nar_sastry.cor1}
seeds: 2
iterations: 2000
"""


# --------------------------------------------------------------------------- the file


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("problem: {target: MINUS_I}\ndepth: [2, 3]\nstep_size: 0.1\nseeds: 2\nitrations: 5\n",
     5, "'itrations': unknown key"),
    ("problem: {target: MINUS_I}\ndepth: [2, -3]\nstep_size: 0.1\n", 2, "'depth.1'"),
    ("problem: {target: MINUS_I}\ndepth: 2\nstep_size:\n  times: [0.5]\n  bound: nar\n",
     5, "'step_size.bound'"),
    ("problem: {target: MINUS_I}\ndepth: 2\ninit: [zas, foo]\nstep_size: 0.1\n", 3,
     "unknown init 'foo'"),
    ("problem: {target: nothere.npy}\ndepth: 2\nstep_size: 0.1\n", 1, "file not found"),
    ("problem: {target: MINUS_I}\ndepth: {from: 2, to: 8}\nstep_size: 0.1\n", 2,
     "'num'"),
    ("problem: {target: MINUS_I}\ndepth: 2\nstep_size: [0.1, 1e-3, -2]\n", 3,
     "'step_size.2'"),
    ("problem: {target: MINUS_I}\ndepth: 2\nstep_size: 0.1\noutput: {table: r.xlsx}\n", 4,
     "'output.table'"),
])
def test_bad_sweep_files_name_file_line_and_key(tmp_path: Path, text: str, line: int,
                                                needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        sweep_config.load(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}:"), msg
    assert needle in msg, msg


def test_ranges_and_size(tmp_path: Path) -> None:
    spec = sweep_config.load(write(tmp_path, """\
problem: {target: MINUS_I}
depth: {from: 2, to: 64, num: 8, log: true}
init: [zas, gaussian]
step_size: {from: 1.0e-3, to: 1.0e-1, num: 3, log: true}
seeds: [0, 5]
"""))
    assert spec.depths == (2, 3, 5, 9, 14, 24, 39, 64)  # round(2·32^(i/7))
    assert [s.eta for s in spec.steps] == pytest.approx([1e-3, 1e-2, 1e-1])
    # zas ignores the seed (one run per step), gaussian has two seeds
    assert sweep_size(spec) == (8 * 3 * (1 + 2), 8 * 2)


def test_cli_large_sweep_needs_yes(tmp_path: Path) -> None:
    path = write(tmp_path, """\
problem: {target: MINUS_I}
depth: {from: 2, to: 1000, num: 1000}
init: gaussian
step_size: {from: 1.0e-3, to: 1.0e-1, num: 100}
seeds: 11
""")
    res = CliRunner().invoke(cli, ["sweep", str(path)], catch_exceptions=False)
    assert res.exit_code == 2, res.output
    assert "999" in res.stderr and "1,098,900 runs" in res.stderr  # its size, first
    assert "--yes" in res.stderr.splitlines()[-1]


def test_power_law_fit_recovers_exponent() -> None:
    depths = [2, 4, 8, 16]
    gamma, coef, r2 = fit_power_law(depths, [3.0 * d ** 1.5 for d in depths])
    assert gamma == pytest.approx(1.5) and coef == pytest.approx(3.0) and r2 == pytest.approx(1)


# --------------------------------------------------------------------------- running


def test_sweep_rows_resume_and_invalidation(tmp_path: Path) -> None:
    spec = sweep_config.load(write(tmp_path, SMALL))
    parts: list[Any] = []
    res = run_sweep(spec, on_group=lambda p, cur: parts.append(p))
    # zas: 2 depths × 2 steps × 1 seed; near_identity: 2 × 2 × 2 seeds
    assert len(res.rows) == res.total_cells == 12 and res.reused == 0
    assert len(parts) == 4 and not res.interrupted
    assert all(list(r) == list(COLUMNS) for r in res.rows)
    zas = [r for r in res.rows if r["init"] == "zas"]
    assert {r["step_label"]: r["outcome"] for r in zas if r["depth"] == 2} == {
        "0.5×nar_sastry.cor1": "converged_global", "1.1×nar_sastry.cor1": "oscillating"}
    cor1 = {g.depth: g.bound("nar_sastry.cor1") for g in res.groups if g.init == "zas"}
    for r in zas:  # step sizes are the bound's multiples, per depth
        assert r["step_size"] == pytest.approx(r["step_times"] * cor1[r["depth"]])
    # a re-run with the parts runs nothing and gives the same rows
    again = run_sweep(spec, previous=parts,
                      on_group=lambda p, cur: pytest.fail("nothing should run"))
    assert again.rows == res.rows and again.reused == 12
    # changing one step multiple re-runs exactly those cells (6 of 12)
    spec2 = sweep_config.load(write(tmp_path, SMALL.replace("1.1]", "1.2]"), "b.yaml"))
    new: list[Any] = []
    third = run_sweep(spec2, previous=parts, on_group=lambda p, cur: new.append(p))
    assert third.reused == 6 and sum(len(p["rows"]) for p in new) == 6
    assert {r["step_label"] for p in new for r in p["rows"]} == {"1.2×nar_sastry.cor1"}


def test_not_applicable_bound_and_edge(tmp_path: Path) -> None:
    spec = sweep_config.load(write(tmp_path, """\
problem: {target: MINUS_I}
depth: 3
init: [zas, identity]
step_size:
  - {times: 0.5, bound: wu_wang_ma.thm4_3}
  - {times: 0.5, bound: edge}
iterations: 2000
edge: {rtol: 0.1}
"""))
    res = run_sweep(spec)
    by = {(r["init"], r["step_ref"]): r for r in res.rows}
    # Wu et al.'s bound is for ZAS only: identity cells are marked, not run
    assert by[("identity", "wu_wang_ma.thm4_3")]["outcome"] == "not_applicable"
    assert "zas" in by[("identity", "wu_wang_ma.thm4_3")]["note"]
    wu = by[("zas", "wu_wang_ma.thm4_3")]
    assert wu["promises_checked"] >= 1 and wu["promises_held"] is True
    zas_edge = next(g.edge for g in res.groups if g.init == "zas")
    assert zas_edge is not None and by[("zas", "edge")]["step_size"] == pytest.approx(
        0.5 * zas_edge)
    assert by[("zas", "edge")]["outcome"] == "converged_global"


def test_csv_parquet_summary_and_plots(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    pytest.importorskip("matplotlib")
    import pyarrow.parquet as pq

    path = write(tmp_path, SMALL + "output: {table: r.parquet, plot: p.svg}\n")
    res = CliRunner().invoke(cli, ["sweep", str(path), "--plot", str(tmp_path / "q.png")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column_names == list(COLUMNS) and table.num_rows == 12
    summary = json.loads((tmp_path / "r.summary.json").read_text())
    assert summary["finished_cells"] == 12 and len(summary["groups"]) == 4
    assert {f["init"] for f in summary["fits"]} >= {"zas"}
    for name in ("q-phase.png", "q-iterations.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
    csv_path = tmp_path / "r.csv"
    res = CliRunner().invoke(cli, ["sweep", str(path), "--table", str(csv_path)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p-phase.svg").read_text().lstrip().startswith("<?xml")
    assert csv_path.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert len(csv_path.read_text().splitlines()) == 13


def test_dask_local_cluster_gives_the_same_table(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    spec = sweep_config.load(write(tmp_path, SMALL))
    inline = run_sweep(spec)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = run_sweep(spec, scheduler=client)
    assert to_csv(res) == to_csv(inline)


# --------------------------------------------------------------------------- interruptions

SLOW = """\
problem: {target: MINUS_I}
depth: [2, 3, 4, 5, 6, 7]
init: zas
step_size: {times: [0.5, 1.1], bound: nar_sastry.cor1}
iterations: 100000
output: {table: TABLE}
"""


def _start(tmp: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gdcert", "sweep", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for_parts(parts: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 60
                    ) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if parts.is_dir() and len(list(parts.glob("*.json"))) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("no part appeared")


def _workers(pid: int) -> list[int]:
    """Spawned pool workers of ``pid`` (not the resource tracker)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmd and b"resource_tracker" not in cmd:
            out.append(int(d.name))
    return out


@pytest.fixture(scope="module")
def slow_baseline(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("baseline")
    return to_csv(run_sweep(sweep_config.load(write(tmp, SLOW.replace("TABLE", "t.csv")))))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, sends signals")
def test_ctrl_c_then_resume_equals_uninterrupted(tmp_path: Path, slow_baseline: str) -> None:
    table = tmp_path / "t.csv"
    path = write(tmp_path, SLOW.replace("TABLE", str(table)))
    proc = _start(tmp_path, str(path))
    _wait_for_parts(parts_dir(table), 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    n_parts = len(load_parts(parts_dir(table)))
    assert 1 <= n_parts < 6, n_parts
    assert "interrupted" in err.decode()
    resumed = _start(tmp_path, str(path))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert f"{n_parts} finished part(s)" in err.decode()
    assert table.read_text() == slow_baseline


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, sends signals")
def test_killed_worker_is_retried_and_table_equals_uninterrupted(
        tmp_path: Path, slow_baseline: str) -> None:
    table = tmp_path / "t.csv"
    path = write(tmp_path, SLOW.replace("TABLE", str(table)))
    proc = _start(tmp_path, str(path), "--workers", "2")
    _wait_for_parts(parts_dir(table), 1, proc)
    victims = _workers(proc.pid)
    assert victims, "no worker process found"
    os.kill(victims[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "a worker process died; restarting the pool" in err.decode()
    assert table.read_text() == slow_baseline


# --------------------------------------------------------------------------- samples

SWEEPS = SAMPLES / "sweeps"


@pytest.mark.parametrize("name", ["wu_fig2", "wu_fig3", "nguegnang_fig1"])
def test_sample_sweeps_parse(name: str) -> None:
    spec = sweep_config.load(SWEEPS / f"{name}.yaml")
    runs, _ = sweep_size(spec)
    assert 10 <= runs <= 100  # small enough for a few minutes on 2 cores


@pytest.mark.slow
def test_wu_fig2_sample_iterations_grow_polynomially() -> None:
    """Wu et al. Fig. 2 (reduced to −I, L = 2, 8, 32): ZAS iterations grow like L^γ, γ < 3."""
    from dataclasses import replace

    spec = sweep_config.load(SWEEPS / "wu_fig2.yaml")
    spec = replace(spec, problems=spec.problems[:1], depths=(2, 8, 32))
    res = run_sweep(spec)
    assert all(r["converged"] for r in res.rows)
    (fit,) = res.fits
    assert list(fit.iterations) == sorted(fit.iterations) and fit.iterations[0] < \
        fit.iterations[-1]
    assert 0.1 < fit.exponent < 1.0 and fit.r2 > 0.9  # measured 0.33 on 2..64 (docs/sweeps.md)


def test_scheduler_errors_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = sweep_config.load(write(tmp_path, SMALL))
    with pytest.raises(InputError, match="expected tcp://HOST:PORT or local:N"):
        run_sweep(spec, scheduler="bogus")
    with pytest.raises(InputError, match="local:N with N >= 1"):
        run_sweep(spec, scheduler="local:0")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if gdcert[dask] is missing
    with pytest.raises(InputError, match=r"pip install 'gdcert\[dask\]'"):
        run_sweep(spec, scheduler="local:2")


def test_memory_cap_splits_large_batches(tmp_path: Path) -> None:
    from dataclasses import replace

    from gdcert.api.sweep import TASK_MEMORY_CAP, _chunks, plan

    task = plan(sweep_config.load(write(tmp_path, SMALL)))[0]
    assert _chunks(task, 40) == 40  # small runs: one kernel call
    # 64 layers of 200×200: ~2.6e6 parameters, ~120 MiB of weights per run
    big = replace(task, depth=64, widths=(200,) * 65, iterations=10**6)
    per_call = _chunks(big, 40)
    assert 1 <= per_call < 40
    assert per_call * 8 * 6 * 64 * 200 * 200 <= TASK_MEMORY_CAP


def test_sharpness_final_lower_estimate_is_noted(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A sharpness value the tracker could not converge (its product budget ran out) is
    flagged in the row's note; converged ones leave the note empty."""
    import gdcert.sim.engine as engine

    text = ("problem: {target: MINUS_I}\ndepth: 3\ninit: near_identity\nstep_size: 0.05\n"
            "iterations: 200\ntrack: {sharpness: true}\n")
    spec = sweep_config.load(write(tmp_path, text))
    rows = run_sweep(spec).rows
    assert rows[0]["sharpness_final"] is not None and rows[0]["note"] == ""
    monkeypatch.setattr(engine, "SHARPNESS_ITERS", 1)
    rows = run_sweep(sweep_config.load(write(tmp_path, text, "b.yaml"))).rows
    assert rows[0]["sharpness_final"] is not None
    assert "lower estimate" in rows[0]["note"]
