"""Where the runs of a sweep execute: in this process, in local processes, or on Dask.

Every backend offers the same small interface to :mod:`vsim.experiment.sweep`: ``submit`` a
task (a picklable function and its argument), ``wait`` until at least one submitted task is
finished, read its ``outcome`` and ``close`` (cancelling what is left after an interruption).
Results never depend on the backend: a run's outcome is a function of its resolved scenario.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = [
    "Backend",
    "DaskBackend",
    "ProcessBackend",
    "SerialBackend",
    "UnguardedMainError",
    "WorkerLost",
    "check_main_guard",
    "make_backend",
    "resolve_executor",
    "starts_processes",
]


class WorkerLost(RuntimeError):
    """The process or machine running a task went away before it finished."""


class UnguardedMainError(RuntimeError):
    """A script starts worker processes from its top level, outside
    ``if __name__ == "__main__":``; every worker would run the script again."""


def _is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either side of the ``==``)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    consts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and consts == ["__main__"]


def _guarded_lines(source: str) -> set[int]:
    """Line numbers of a module's source that lie under a ``__main__`` guard."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if _is_main_guard(node):
            for stmt in node.body:
                lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _main_module_frame() -> FrameType | None:
    """The frame running the main script's top-level code, when it is on the call stack."""
    main = sys.modules.get("__main__")
    frame = sys._getframe(1)
    while frame is not None:
        if (
            frame.f_globals is getattr(main, "__dict__", None)
            and frame.f_code.co_name == "<module>"
        ):
            return frame
        frame = frame.f_back
    return None


def check_main_guard() -> None:
    """Raise :class:`UnguardedMainError` when worker processes would run the main script again.

    Worker processes ("forkserver" or "spawn") start by importing the main script as
    ``__mp_main__``; a sweep started at its top level, outside ``if __name__ == "__main__":``,
    would start again in every worker, and every run would fail. Notebooks, the interactive
    prompt and ``vsim sweep`` are not affected.
    """
    frame = _main_module_frame()
    path = frame.f_code.co_filename if frame is not None else None
    if path is None or not Path(path).is_file():
        return  # no script is re-imported (notebook, prompt, python -c)
    try:
        guarded = _guarded_lines(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return  # cannot tell: let multiprocessing speak
    if frame.f_lineno in guarded:
        return
    raise UnguardedMainError(
        f"{path}, line {frame.f_lineno}: the sweep starts worker processes, and each of them "
        "imports this script first, so they would start the sweep again. Put the code that "
        'runs the sweep under  if __name__ == "__main__":  or pass jobs=1 (or '
        'executor="serial") to run in this process.'
    )


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


#: Seconds between a worker's checks that the sweep that started it is still alive.
WATCH_INTERVAL_S = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (a reused pid): treat as gone
        return False
    return True


def _watch_parent(sweep_pid: int, parent_pid: int) -> None:
    """Exit at once (no clean-up: the run was not finished) when the sweep process is gone or
    this worker was handed to another parent."""
    while True:
        time.sleep(WATCH_INTERVAL_S)
        if os.getppid() != parent_pid or not _alive(sweep_pid):
            os._exit(1)


def exit_with_parent(sweep_pid: int) -> None:
    """Make this worker process end when the sweep process ``sweep_pid`` dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL when the worker's own parent (the pool's fork server, or
    the sweep itself) exits (``prctl(PR_SET_PDEATHSIG)``). On every system a daemon thread also
    checks every :data:`WATCH_INTERVAL_S` seconds that the sweep is alive and that the worker
    was not re-parented, because a fork server can outlive its client for a moment.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog alone
            pass
    parent = os.getppid()
    if not _alive(sweep_pid):  # the sweep died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(sweep_pid, parent), daemon=True).start()


class ProcessBackend(Backend):
    """A pool of local worker processes (:class:`concurrent.futures.ProcessPoolExecutor`);
    each worker exits when the sweep process dies (:func:`exit_with_parent`)."""

    name = "processes"

    def __init__(self, jobs: int) -> None:
        check_main_guard()
        self.slots = max(1, int(jobs))
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=_mp_context(),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )

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
            check_main_guard()  # a LocalCluster's worker processes import the script too
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


def resolve_executor(
    executor: str, *, jobs: int | None, pending: int, dask_address: Any = None
) -> tuple[str, int]:
    """The backend ``executor`` stands for and the number of jobs: ``auto`` picks Dask when an
    address is given, else serial for a single job or a single pending run, else local
    processes."""
    if executor not in ("auto", "serial", "processes", "dask"):
        raise ValueError(f"unknown executor {executor!r}; choose auto, serial, processes or dask")
    n = int(jobs) if jobs is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    if executor == "auto":
        if dask_address is not None:
            executor = "dask"
        elif n == 1 or pending <= 1:
            executor = "serial"
        else:
            executor = "processes"
    return executor, n


def starts_processes(executor: str, dask_address: Any = None) -> bool:
    """Whether the resolved ``executor`` starts worker processes on this machine."""
    return executor == "processes" or (executor == "dask" and dask_address is None)


def make_backend(
    executor: str, *, jobs: int | None, pending: int, dask_address: Any = None
) -> Backend:
    """The backend named ``executor`` (``auto``, ``serial``, ``processes`` or ``dask``); see
    :func:`resolve_executor`."""
    executor, n = resolve_executor(executor, jobs=jobs, pending=pending, dask_address=dask_address)
    if executor == "serial":
        return SerialBackend()
    if executor == "processes":
        return ProcessBackend(min(n, max(1, pending)))
    return DaskBackend(dask_address, jobs=jobs)
