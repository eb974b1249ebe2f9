"""Where a cold start's compile time goes: CPU per numba function and compiler pass.

Run:  python benchmarks/profile_compile.py [--relu] [--top N]

With an empty ``NUMBA_CACHE_DIR`` (a fresh temporary directory unless one is set), runs
``engine.warm_up()`` (or the ReLU engine's with ``--relu``) under numba's event API
(``numba:compile`` and ``numba:run_pass`` listeners) and prints the exclusive CPU time
(``time.process_time``, callees' compiles subtracted) per function and per (function,
pass). numba's own overloads (``np.dot``, ``eigvalsh``, …) are summed as ``numba:*``.
On a shared machine single runs vary by ±20 %: compare alternating runs of two trees
(``PYTHONPATH=tree``), not one run against an old figure.
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import time
from typing import Any

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="gdcert-profile-"))

import numba.core.event as ev  # noqa: E402


def _name(data: dict[str, Any]) -> str:
    func = data["dispatcher"].py_func
    if func.__module__.startswith("gdcert"):
        return str(func.__name__)
    return "numba:" + func.__qualname__.split(".")[0]


class _Profile(ev.Listener):  # type: ignore[misc]
    """Exclusive CPU per (function, pass): nested compiles are charged to themselves."""

    def __init__(self) -> None:
        self.stack: list[list[Any]] = []
        self.by_pass: dict[tuple[str, str], float] = collections.defaultdict(float)

    def on_start(self, event: Any) -> None:
        if event.kind == "numba:compile":
            key = ("compile", _name(event.data))
        else:
            key = ("pass", event.data["name"].split(" [")[0])
        self.stack.append([key, time.process_time(), 0.0])

    def on_end(self, event: Any) -> None:
        key, t0, child = self.stack.pop()
        dt = time.process_time() - t0
        if self.stack:
            self.stack[-1][2] += dt
        if key[0] == "pass":
            fn = next(k[1] for k, *_ in reversed(self.stack) if k[0] == "compile")
            self.by_pass[(fn, key[1])] += dt - child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relu", action="store_true", help="the ReLU kernel instead")
    parser.add_argument("--top", type=int, default=20, help="rows per table")
    opts = parser.parse_args()
    prof = _Profile()
    for kind in ("numba:compile", "numba:run_pass"):
        ev.register(kind, prof)
    from gdcert.sim import engine, relu_engine

    t0 = time.process_time()
    (relu_engine.warm_up if opts.relu else engine.warm_up)()
    total = time.process_time() - t0
    print(f"warm_up with an empty cache: {total:.1f} s CPU; "
          f"load average {os.getloadavg()[0]:.2f}")
    per_fn: dict[str, float] = collections.defaultdict(float)
    for (fn, _), sec in prof.by_pass.items():
        per_fn["numba:*" if fn.startswith("numba:") else fn] += sec
    print("exclusive CPU per function:")
    for fn, sec in sorted(per_fn.items(), key=lambda x: -x[1])[: opts.top]:
        print(f"  {fn:28s} {sec:6.2f} s")
    print("exclusive CPU per (function, pass):")
    for (fn, name), sec in sorted(prof.by_pass.items(), key=lambda x: -x[1])[: opts.top]:
        print(f"  {fn:28s} {name:32s} {sec:6.2f} s")


if __name__ == "__main__":
    main()
