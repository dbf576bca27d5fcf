"""Where the runs of a sweep execute: in this process, in local processes, or on Dask.

Every backend offers the same small interface to :mod:`vsim.experiment.sweep`: ``submit`` a
task (a picklable function and its argument), ``wait`` until at least one submitted task is
finished, read its ``outcome`` and ``close`` (cancelling what is left after an interruption).
Results never depend on the backend: a run's outcome is a function of its resolved scenario.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Backend", "DaskBackend", "ProcessBackend", "SerialBackend", "WorkerLost"]


class WorkerLost(RuntimeError):
    """The process or machine running a task went away before it finished."""


class Backend:
    """Common interface; ``slots`` is how many tasks may usefully run at once."""

    name = "backend"
    slots = 1

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        raise NotImplementedError

    def wait(self, handles: Iterable[Any]) -> set[Any]:
        """Block until at least one handle is finished; return the finished ones."""
        raise NotImplementedError

    def outcome(self, handle: Any) -> Any:
        """The task's return value; raises :class:`WorkerLost` if its worker died."""
        raise NotImplementedError

    def close(self, *, interrupted: bool = False) -> None:
        pass

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.close(interrupted=exc_type is not None)


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value


class SerialBackend(Backend):
    """Runs each task in this process, at submission."""

    name = "serial"

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> _Done:
        return _Done(fn(arg))

    def wait(self, handles: Iterable[Any]) -> set[Any]:
        return set(handles)

    def outcome(self, handle: _Done) -> Any:
        return handle.value


def _mp_context() -> multiprocessing.context.BaseContext:
    # Not "fork": the parent has threads (progress bar, maybe Dask) and forking a threaded
    # process can deadlock. "forkserver" forks from a clean single-threaded server.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class ProcessBackend(Backend):
    """A pool of local worker processes (:class:`concurrent.futures.ProcessPoolExecutor`)."""

    name = "processes"

    def __init__(self, jobs: int) -> None:
        self.slots = max(1, int(jobs))
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.slots, mp_context=_mp_context())

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> cf.Future:
        try:
            return self._pool.submit(fn, arg)
        except cf.process.BrokenProcessPool:
            # A worker died (killed, out of memory): start a fresh pool and go on.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, arg)

    def wait(self, handles: Iterable[Any]) -> set[Any]:
        done, _ = cf.wait(list(handles), return_when=cf.FIRST_COMPLETED)
        return set(done)

    def outcome(self, handle: cf.Future) -> Any:
        try:
            return handle.result()
        except cf.process.BrokenProcessPool as exc:
            raise WorkerLost(f"worker process died: {exc}") from None

    def close(self, *, interrupted: bool = False) -> None:
        if not interrupted:
            self._pool.shutdown(wait=True)
            return
        # Stop now: drop queued tasks and end the workers still simulating (their runs were not
        # finished, so nothing is lost; the next sweep redoes them).
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)


class DaskBackend(Backend):
    """Tasks on a Dask distributed cluster.

    ``address`` is a scheduler address (``tcp://host:8786``), an existing
    ``distributed.Client`` (used as is and left open), or ``None`` for a
    ``LocalCluster`` of ``jobs`` single-threaded worker processes started and stopped here.
    Workers need vsim installed (the same version) and, for scenario files that name traces,
    the same paths.
    """

    name = "dask"

    def __init__(self, address: Any = None, jobs: int | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the installation
            raise ImportError(
                "the Dask executor needs dask.distributed: pip install 'vsim[dask]'"
            ) from None
        self._cluster = None
        self._own_client = True
        if isinstance(address, Client):
            self.client = address
            self._own_client = False
        elif address is None:
            workers = max(1, int(jobs or os.cpu_count() or 1))
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self._cluster)
        else:
            self.client = Client(address)
        threads = sum(self.client.nthreads().values())
        self.slots = max(1, threads)

    def submit(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        return self.client.submit(fn, arg, pure=False)

    def wait(self, handles: Iterable[Any]) -> set[Any]:
        from dask.distributed import wait

        done, _ = wait(list(handles), return_when="FIRST_COMPLETED")
        return set(done)

    def outcome(self, handle: Any) -> Any:
        from distributed.scheduler import KilledWorker

        try:
            return handle.result()
        except KilledWorker as exc:
            raise WorkerLost(f"Dask worker died: {exc}") from None

    def close(self, *, interrupted: bool = False) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_backend(
    executor: str, *, jobs: int | None, pending: int, dask_address: Any = None
) -> Backend:
    """The backend named ``executor`` (``auto``, ``serial``, ``processes`` or ``dask``).

    ``auto`` picks Dask when an address is given, else serial for a single job or a single
    pending run, else local processes.
    """
    if executor not in ("auto", "serial", "processes", "dask"):
        raise ValueError(f"unknown executor {executor!r}; choose auto, serial, processes or dask")
    n = int(jobs) if jobs else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if executor == "auto":
        if dask_address is not None:
            executor = "dask"
        elif n == 1 or pending <= 1:
            executor = "serial"
        else:
            executor = "processes"
    if executor == "serial":
        return SerialBackend()
    if executor == "processes":
        return ProcessBackend(min(n, max(1, pending)))
    return DaskBackend(dask_address, jobs=jobs)
