"""Shared plumbing for benchmarks: where the real traces are, timing, and the results table."""

from __future__ import annotations

import os
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


def median_of(n: int, fn: Callable[[], Any]) -> float:
    walls = sorted(timed(fn)[0] for _ in range(n))
    return walls[len(walls) // 2]
