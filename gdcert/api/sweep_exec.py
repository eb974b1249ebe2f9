"""Where sweep tasks run: in this process, in local worker processes, or on Dask.

Each task is :func:`gdcert.api.sweep.run_group` applied to a picklable
:class:`~gdcert.api.sweep.GroupTask`; ``done(part)`` is called in this process as each
finishes (in completion order). Numba's cache is filled once here before any worker
starts (:func:`gdcert.sim.engine.warm_up`), so workers only load compiled kernels.

A worker that dies (killed, out of memory) loses only its task in flight: local pools are
restarted and the unfinished tasks resubmitted (at most ``retries`` restarts); on Dask the
scheduler reschedules and ``retries=`` re-runs a failed task. Ctrl-C stops the workers
and returns ``True`` (interrupted); every part handed to ``done`` before is kept.
"""

from __future__ import annotations

import os
import signal
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from gdcert.errors import GdcertError, GdcertWarning, InputError

Done = Callable[[Any], None]


def execute(tasks: Sequence[Any], done: Done, *, workers: int = 1, scheduler: Any = None,
            retries: int = 2) -> bool:
    """Run ``tasks``; ``True`` when interrupted by Ctrl-C."""
    if not tasks:
        return False
    from gdcert.sim.engine import warm_up

    if scheduler is not None:
        client, cluster, owned = _client(scheduler)  # a bad address or no dask fails first
        warm_up()
        return _dask(tasks, done, client, cluster, owned, retries)
    warm_up()  # compile or load every kernel once, before any worker exists
    if workers == 1:
        return _inline(tasks, done)
    return _processes(tasks, done, workers, retries)


def _inline(tasks: Sequence[Any], done: Done) -> bool:
    from gdcert.api.sweep import run_group

    try:
        for t in tasks:
            done(run_group(t))
    except KeyboardInterrupt:
        return True
    return False


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group: workers ignore it, the parent stops them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def _terminate(pool: Any) -> None:
    """Stop a ProcessPoolExecutor's workers now (shutdown alone waits for running tasks)."""
    procs = list(getattr(pool, "_processes", {}).values() or [])
    for p in procs:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _processes(tasks: Sequence[Any], done: Done, workers: int, retries: int) -> bool:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from gdcert.api.sweep import run_group

    pending = {t.key: t for t in tasks}
    ctx = multiprocessing.get_context("spawn")  # never fork a process with numba threads
    restarts = 0
    while pending:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx,
                                   initializer=_worker_init)
        futures = {pool.submit(run_group, t): k for k, t in pending.items()}
        broken = False
        try:
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for f in finished:
                    try:
                        part = f.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    done(part)
                    pending.pop(futures[f], None)
                if broken:
                    break
        except KeyboardInterrupt:
            _terminate(pool)
            return True
        except BaseException:
            _terminate(pool)
            raise
        if broken:
            _terminate(pool)
            restarts += 1
            warnings.warn(f"sweep: a worker process died; restarting the pool for "
                          f"{len(pending)} unfinished task(s) (restart {restarts} of at most "
                          f"{retries})", GdcertWarning, stacklevel=2)
            if restarts > retries:
                raise GdcertError(f"sweep: a worker process died {restarts} times; "
                                  f"{len(pending)} task(s) unfinished (finished ones are kept)")
            continue
        pool.shutdown(wait=True)
    return False


def _check_address(text: str) -> int:
    """``N`` of ``local:N`` (0 for an address); one-line error for anything else."""
    if text.startswith("local:"):
        try:
            n = int(text.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--scheduler: expected local:N with N >= 1, got {text!r}")
        return n
    if not text.startswith(("tcp://", "tls://", "ws://", "inproc://")):
        raise InputError(f"--scheduler: expected tcp://HOST:PORT or local:N, got {text!r}")
    return 0


def _client(scheduler: Any) -> tuple[Any, Any, bool]:
    """``(client, cluster or None, opened here)`` for ``local:N``, an address, or a Client."""
    n = _check_address(scheduler) if isinstance(scheduler, str) else 0
    try:
        import distributed
    except ImportError:
        raise InputError("--scheduler needs dask.distributed: pip install 'gdcert[dask]'"
                         ) from None
    if isinstance(scheduler, distributed.Client):
        return scheduler, None, False
    if not isinstance(scheduler, str):
        raise InputError(f"scheduler: expected 'local:N', an address or a distributed.Client, "
                         f"got {type(scheduler).__name__}")
    if n:
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        return distributed.Client(cluster), cluster, True
    try:
        client = distributed.Client(scheduler, timeout="20s")
    except OSError as exc:
        raise InputError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    return client, None, True


def _dask(tasks: Sequence[Any], done: Done, client: Any, cluster: Any, owned: bool,
          retries: int) -> bool:
    """Run on Dask; close the client (and cluster) afterwards when ``owned``."""
    import distributed

    from gdcert.api.sweep import run_group
    from gdcert.sim.engine import warm_up

    futures = []
    try:
        client.run(warm_up)  # each worker loads (or, on another machine, compiles) kernels
        futures = [client.submit(run_group, t, key=f"gdcert-sweep-{t.key}-{len(t.cells)}",
                                 retries=retries, pure=False) for t in tasks]
        for fut in distributed.as_completed(futures):
            done(fut.result())
    except KeyboardInterrupt:
        client.cancel(futures)
        return True
    finally:
        if owned:
            client.close()
            if cluster is not None:
                cluster.close()
    return False
