"""Synthetic demand generators (pure NumPy) producing :class:`UtilizationTrace` objects.

All generators build ``n`` series on the regular grid ``times = arange(n_samples) * interval_s``
with ``n_samples = ceil(duration_s / interval_s)``. Parameters documented as "scalar or per
series" accept a number (same for every series) or an array of length ``n``.

``memory`` (fraction of the guest's memory in use), ``disk`` and ``net`` (bytes/s) are optional
constants, broadcast to the cpu shape; ``None`` leaves the field unset.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from vsim.traces.base import UtilizationTrace

__all__ = ["constant", "diurnal", "random_walk"]


def _n_samples(duration_s: float, interval_s: float) -> int:
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be a positive number of seconds, got {interval_s!r}")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    ratio = duration_s / interval_s
    # 1.1 / 0.1 == 11.000000000000002: without this, float noise would add a spurious sample.
    nearest = round(ratio)
    if nearest >= 1 and math.isclose(ratio, nearest, rel_tol=1e-9):
        return nearest
    return math.ceil(ratio)


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer number of series, got {n!r}")
    return int(n)


def _per_series(value: ArrayLike, n: int, name: str) -> np.ndarray:
    """Scalar or length-``n`` array -> float64 column of shape (n, 1) for broadcasting."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have length n={n}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr[:, None]


def _names(n: int, prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}-{i}" for i in range(n))


def _make(
    prefix: str,
    times: np.ndarray,
    cpu: np.ndarray,
    memory: ArrayLike | None,
    disk: ArrayLike | None,
    net: ArrayLike | None,
) -> UtilizationTrace:
    n = cpu.shape[0]

    def extra(value: ArrayLike | None, name: str) -> np.ndarray | None:
        if value is None:
            return None
        return np.broadcast_to(_per_series(value, n, name), cpu.shape).copy()

    return UtilizationTrace(
        names=_names(n, prefix),
        times=times,
        cpu=cpu,
        memory=extra(memory, "memory"),
        disk=extra(disk, "disk"),
        net=extra(net, "net"),
    )


def _grid(duration_s: float, interval_s: float) -> np.ndarray:
    return np.arange(_n_samples(duration_s, interval_s), dtype=np.float64) * interval_s


def constant(
    n: int,
    *,
    cpu: ArrayLike,
    duration_s: float | None = None,
    interval_s: float | None = None,
    memory: ArrayLike | None = None,
    disk: ArrayLike | None = None,
    net: ArrayLike | None = None,
) -> UtilizationTrace:
    """Constant demand.

    Args:
        n: number of series (named ``const-0`` ...).
        cpu: fraction of the guest's CPU, scalar or per series.
        duration_s, interval_s: if both are given, the trace has the regular grid of
            ``ceil(duration_s / interval_s)`` samples (handy to line it up with other traces);
            if both are omitted, a single sample at ``times = [0.0]``, which holds for the whole
            run and costs the simulator no sample-boundary steps.
        memory, disk, net: optional constants (fraction; bytes/s; bytes/s), scalar or per series.
    """
    n = _check_n(n)
    if duration_s is not None and interval_s is not None:
        times = _grid(duration_s, interval_s)
    elif duration_s is None and interval_s is None:
        times = np.zeros(1)
    else:
        raise ValueError("give both duration_s and interval_s, or neither (single sample)")
    level = _per_series(cpu, n, "cpu")
    return _make("const", times, np.broadcast_to(level, (n, times.size)).copy(), memory, disk, net)


def diurnal(
    n: int,
    *,
    mean: ArrayLike,
    amplitude: ArrayLike,
    period_s: float,
    phase_s: ArrayLike = 0.0,
    duration_s: float,
    interval_s: float,
    memory: ArrayLike | None = None,
    disk: ArrayLike | None = None,
    net: ArrayLike | None = None,
) -> UtilizationTrace:
    """Sinusoidal (e.g. day/night) CPU demand.

    ``cpu(t) = clip(mean + amplitude * sin(2π (t + phase_s) / period_s), 0, 1)``.

    The curve is evaluated at the midpoint of each sample interval ``[t_k, t_k + interval_s)``
    (the last interval is cut at ``duration_s``). A sample stands for the demand over its whole
    interval, and for a slowly varying curve the midpoint value is the interval mean up to
    second order: for a sine, the exact interval mean is the midpoint value with the amplitude
    scaled by ``sinc(interval_s / period_s)`` (1 - 2e-5 for 5-minute samples of a daily cycle),
    whereas the left endpoint would lag the curve by half an interval. As a bonus, the midpoint
    rule averages a sine over whole periods (at least two samples each) exactly, so the trace
    mean equals ``mean`` when nothing is clipped.

    Args:
        n: number of series (named ``diurnal-0`` ...).
        mean, amplitude: CPU fraction, scalar or per series.
        period_s: period of the cycle in seconds (86400 for daily).
        phase_s: time shift in seconds, scalar or per series (spread it to de-synchronise guests).
        duration_s, interval_s: run length and sample spacing in seconds.
        memory, disk, net: optional constants (fraction; bytes/s; bytes/s), scalar or per series.
    """
    n = _check_n(n)
    if not (math.isfinite(period_s) and period_s > 0):
        raise ValueError(f"period_s must be a positive number of seconds, got {period_s!r}")
    times = _grid(duration_s, interval_s)
    ends = np.minimum(times + interval_s, duration_s)
    mid = 0.5 * (times + ends)
    m = _per_series(mean, n, "mean")
    a = _per_series(amplitude, n, "amplitude")
    ph = _per_series(phase_s, n, "phase_s")
    cpu = np.clip(m + a * np.sin(2.0 * np.pi * (mid + ph) / period_s), 0.0, 1.0)
    return _make("diurnal", times, cpu, memory, disk, net)


def random_walk(
    n: int,
    *,
    start: ArrayLike,
    sigma: ArrayLike,
    duration_s: float,
    interval_s: float,
    rng: np.random.Generator,
    low: float = 0.0,
    high: float = 1.0,
    memory: ArrayLike | None = None,
    disk: ArrayLike | None = None,
    net: ArrayLike | None = None,
) -> UtilizationTrace:
    """Reflected Gaussian random walk of CPU demand in ``[low, high]``.

    Sample 0 is ``start``; each later sample adds an independent ``N(0, sigma)`` step (sigma is
    per sample, not per second) and reflects off ``low`` and ``high`` (several times if a step is
    large). Reflection rather than clipping: clipping piles up probability at the bounds (a guest
    stuck at exactly 0 or 100 % for long stretches), reflection does not.

    Vectorized: one ``rng.normal`` call of shape ``(n, n_samples - 1)``, a cumulative sum, then
    the "fold" map of period ``2 (high - low)``. Folding the free walk gives the same law as
    reflecting step by step, because the fold only flips the sign of later steps and the steps
    are symmetric and independent. Same generator state, same trace, bit for bit.

    Args:
        n: number of series (named ``walk-0`` ...).
        start: initial CPU fraction, scalar or per series, within ``[low, high]``.
        sigma: standard deviation of one step, scalar or per series, non-negative.
        duration_s, interval_s: run length and sample spacing in seconds.
        rng: the generator to draw from (one stream per purpose, spawned from the scenario seed).
        low, high: bounds, ``low < high``.
        memory, disk, net: optional constants (fraction; bytes/s; bytes/s), scalar or per series.
    """
    n = _check_n(n)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got low={low!r}, high={high!r}")
    times = _grid(duration_s, interval_s)
    x0 = _per_series(start, n, "start")
    if np.any((x0 < low) | (x0 > high)):
        raise ValueError(f"start must lie within [low, high] = [{low}, {high}]")
    s = _per_series(sigma, n, "sigma")
    if np.any(s < 0):
        raise ValueError("sigma must be non-negative")

    steps = rng.normal(0.0, 1.0, size=(n, times.size - 1)) * s
    free = np.empty((n, times.size), dtype=np.float64)
    free[:, :1] = x0 - low
    np.cumsum(steps, axis=1, out=free[:, 1:])
    free[:, 1:] += x0 - low
    width = high - low
    folded = np.mod(free, 2.0 * width)
    cpu = low + np.where(folded > width, 2.0 * width - folded, folded)
    return _make("walk", times, cpu, memory, disk, net)
