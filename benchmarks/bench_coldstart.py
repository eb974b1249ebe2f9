"""Cold and warm start of the commands that run the compiled GD core.

Run:  python benchmarks/bench_coldstart.py [--tree DIR] [--commands NAME ...] [--warm N]

For each command, a fresh empty ``NUMBA_CACHE_DIR`` is made; the command runs once in a new
process with that empty cache (cold: numba compiles what the command needs and writes it to
the cache), then ``--warm`` more times with the filled cache (warm). Wall time and CPU time
(user + system of the child process) are printed for every run, with the number of files
the run added to the cache: a warm run that adds files found a kernel missing from the
cache, i.e. the cold run did not cache every kernel the command uses.

``--tree DIR`` runs the gdcert found in ``DIR`` (put first on ``PYTHONPATH``), e.g. an
exported older commit, to compare before and after. The machine's load average is printed:
on a shared machine compare CPU times rather than wall times.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_inputs"

#: name -> gdcert arguments (small problems: the run itself takes well under a second warm)
COMMANDS: dict[str, list[str]] = {
    "bound --verify": ["bound", str(SAMPLES / "spd_4x4.npy"), "--depth", "3", "--verify",
                       "--iterations", "5000", "--json"],
    "edge": ["edge", str(SAMPLES / "spd_4x4.npy"), "-L", "3", "--init", "identity",
             "--iterations", "5000", "--json"],
    "check --require verified": ["check", str(SAMPLES / "spd_4x4.npy"), "--depth", "3",
                                 "--lr", "0.1", "--init", "identity", "--require", "verified"],
    "simulate": ["simulate", str(SAMPLES / "simulate_identity.yaml"), "--json",
                 "--no-records"],
}


def _count_files(directory: Path) -> int:
    return sum(1 for p in directory.rglob("*") if p.is_file())


def run_once(args: list[str], cache: Path, tree: Path | None) -> tuple[float, float, int, int]:
    """``(wall s, cpu s, exit code, files added to the cache)`` of one ``gdcert`` process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])
    before = _count_files(cache)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd outside the repository, so that ``--tree`` (PYTHONPATH) decides which gdcert runs
    proc = subprocess.run([sys.executable, "-m", "gdcert", *args], env=env,
                          cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if proc.returncode not in (0, 1):
        print(f"    stderr: {proc.stderr.strip()[-400:]}", flush=True)
    return wall, cpu, proc.returncode, _count_files(cache) - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=None,
                        help="run the gdcert package found in this directory")
    parser.add_argument("--commands", nargs="*", default=list(COMMANDS),
                        help=f"subset of: {', '.join(COMMANDS)}")
    parser.add_argument("--warm", type=int, default=2, help="warm runs per command")
    opts = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} cores; tree {opts.tree or ROOT}", flush=True)
    rows = []
    for name in opts.commands:
        with tempfile.TemporaryDirectory(prefix="gdcert-cold-") as tmp:
            cache = Path(tmp)
            cold = run_once(COMMANDS[name], cache, opts.tree)
            print(f"  {name}: cold wall {cold[0]:.1f} s, cpu {cold[1]:.1f} s, exit {cold[2]}, "
                  f"+{cold[3]} cache files", flush=True)
            warm = [run_once(COMMANDS[name], cache, opts.tree) for _ in range(opts.warm)]
            for w in warm:
                print(f"  {name}: warm wall {w[0]:.2f} s, cpu {w[1]:.2f} s, exit {w[2]}, "
                      f"+{w[3]} cache files", flush=True)
        best_wall = min(w[0] for w in warm) if warm else float("nan")
        best_cpu = min(w[1] for w in warm) if warm else float("nan")
        added = max((w[3] for w in warm), default=0)
        rows.append((name, cold[0], cold[1], best_wall, best_cpu, added))
    load = os.getloadavg()
    print()
    print("| command | cold wall | cold CPU | warm wall (best) | warm CPU (best) "
          "| files a warm run added |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, cw, cc, ww, wc, added in rows:
        print(f"| `gdcert {name}` | {cw:.1f} s | {cc:.1f} s | {ww:.2f} s | {wc:.2f} s "
              f"| {added} |")
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
