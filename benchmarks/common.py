"""Shared plumbing for benchmarks: where the real traces are, timing, and the results table."""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Real traces live beside the repository (never copied into it); VSIM_DATA points elsewhere.
DATA = Path(os.environ.get("VSIM_DATA", REPO.parent / "shared" / "data"))


def planetlab_day(day: str = "20110303") -> Path | None:
    path = DATA / "planetlab" / day
    return path if path.is_dir() else None


def timed(fn: Callable[[], Any], *, memory: bool = False) -> tuple[float, float | None, Any]:
    """Wall seconds, peak traced Python/NumPy memory in MB (when asked), and fn's result."""
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    peak = None
    if memory:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return wall, peak, out


def repeated(fn: Callable[[], Any], n: int) -> tuple[list[float], Any]:
    """Wall seconds of ``n`` runs of ``fn`` (a deterministic run: the same result each time)
    and the last result. The development machine's speed varies by up to 2x within minutes,
    so a figure for a target is the median of several runs, reported with their range."""
    walls, out = [], None
    for _ in range(max(n, 1)):
        out = None  # (the last result is freed first: the peak memory is one run's)
        gc.collect()
        wall, _, out = timed(fn)
        walls.append(wall)
    return walls, out


def median(walls: list[float]) -> float:
    return float(statistics.median(walls))


def spread(walls: list[float]) -> str:
    """``"median 1.23 s over 5 runs (1.10-1.50 s)"``, or ``"1.23 s"`` for one run."""
    if len(walls) == 1:
        return f"{walls[0]:.2f} s"
    return (
        f"median {median(walls):.2f} s over {len(walls)} runs ({min(walls):.2f}-{max(walls):.2f} s)"
    )


def checkout(rev: str, where: Path) -> Path:
    """A detached worktree of revision ``rev`` (a commit, a branch) at ``where``, to run the
    same measurement on two revisions side by side; :func:`prune_worktrees` forgets it."""
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(where), rev], check=True
    )
    return where


def prune_worktrees() -> None:
    subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], check=False)
