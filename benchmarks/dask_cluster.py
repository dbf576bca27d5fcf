"""A real Dask cluster on this machine: one ``dask scheduler`` and ``dask worker`` processes
talking over TCP on localhost, started as the commands a user would type (not a
``LocalCluster`` object inside this process).

Used by the distributed-sweep test and benchmark. Every process is stopped when the ``with``
block ends, whatever happened in it; should this process itself be killed, the scheduler ends
after :data:`IDLE_TIMEOUT` without work and the workers :data:`DEATH_TIMEOUT` after losing it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Inactivity after which an orphaned scheduler stops by itself (``--idle-timeout``).
IDLE_TIMEOUT = "120s"
#: Seconds a worker waits for a lost scheduler before it stops (``--death-timeout``).
DEATH_TIMEOUT = "30"
#: Seconds to wait for the scheduler to listen and every worker to join it.
START_TIMEOUT_S = 60.0
#: Seconds between SIGTERM and SIGKILL when stopping a process.
STOP_GRACE_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    """This process's environment, with the vsim it imports first on the workers' path."""
    import vsim

    root = str(Path(vsim.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _start(args: list[str], log: Path) -> subprocess.Popen:
    """``python -m dask ARGS`` in a session of its own (so stopping it reaches its children)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_env(),
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the process's session, then SIGKILL if it is still there after the grace."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited ({proc.returncode}):\n{log.read_text()}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"dask scheduler not listening on port {port}:\n{log.read_text()}")


def _wait_workers(address: str, n: int, deadline: float) -> None:
    from dask.distributed import Client

    with Client(address, timeout=max(1.0, deadline - time.monotonic())) as client:
        client.wait_for_workers(n, timeout=max(1.0, deadline - time.monotonic()))


@contextlib.contextmanager
def dask_cluster(workers: int = 2, threads: int = 1) -> Iterator[str]:
    """Start ``dask scheduler`` on a free port of 127.0.0.1 and ``workers`` ``dask worker``
    processes of ``threads`` threads each; yield the scheduler's address (``tcp://...``) once
    every worker has joined, and stop them all on leaving, even after an error."""
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="vsim-dask-") as tmp:
        logs = Path(tmp)
        try:
            port = free_port()
            address = f"tcp://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_S
            scheduler = ["scheduler", "--host", "127.0.0.1", "--port", str(port)]
            scheduler += ["--no-dashboard", "--idle-timeout", IDLE_TIMEOUT]
            procs.append(_start(scheduler, logs / "scheduler.log"))
            _wait_listening(port, procs[0], logs / "scheduler.log", deadline)
            for k in range(workers):
                worker = ["worker", address, "--nthreads", str(threads), "--no-nanny"]
                worker += ["--no-dashboard", "--name", f"w{k}", "--memory-limit", "0"]
                worker += ["--death-timeout", DEATH_TIMEOUT, "--local-directory", tmp]
                procs.append(_start(worker, logs / f"worker{k}.log"))
            _wait_workers(address, workers, deadline)
            yield address
        finally:
            for proc in reversed(procs):
                _stop(proc)


def imported(module: str) -> bool:
    """Whether ``module`` is imported in this process (run on workers with ``Client.run`` to
    see which of them ran vsim's tasks)."""
    return module in sys.modules
