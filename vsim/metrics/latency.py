"""Closed-form latency for the analytic (fluid) service mode.

Instead of simulating every request, a service in ``mode: analytic`` contributes its mean CPU
demand to the fluid engine, and each sampling interval's latency is estimated from queueing
formulas for the arrival rate and the CPU capacity the guest could get in that interval:

- processor sharing (no worker limit), one vCPU: M/G/1-PS, E[T] = E[S] / (1 - rho), exact for
  any service distribution (Kleinrock, *Queueing Systems* vol. 2, 1976);
- processor sharing on c vCPUs: the M/M/c mean, E[S] + C(c, a) E[S] / (c - a) (an
  approximation for non-exponential work);
- one worker (FCFS): Pollaczek-Khinchine, E[T] = E[S] + lambda E[S^2] / (2 (1 - rho)).

Percentiles assume an exponential response time with that mean, which is exact for M/M/1-FCFS
and only an approximation otherwise; the intervals are combined as a mixture weighted by the
requests each one carries. What the fluid view cannot see: bursts inside an interval (MMPP), and
the correlation between consecutive intervals.
"""

from __future__ import annotations

import math

import numpy as np


def erlang_c(c: int, a: np.ndarray) -> np.ndarray:
    """Probability of waiting in M/M/c at offered load ``a`` (elementwise; 1 when a >= c)."""
    a = np.asarray(a, dtype=np.float64)
    terms = np.stack([a**k / math.factorial(k) for k in range(c)])
    top = a**c / math.factorial(c) / np.maximum(1 - a / c, 1e-300)
    return np.where(a < c, top / (terms.sum(axis=0) + top), 1.0)


def mean_response(
    lam: np.ndarray, es: float, es2: float, servers: int, fcfs_single: bool
) -> np.ndarray:
    """Mean response time for arrival rates ``lam`` and service moments E[S], E[S^2] (s, s^2);
    ``inf`` where the load reaches capacity."""
    lam = np.asarray(lam, dtype=np.float64)
    a = lam * es
    if fcfs_single:
        with np.errstate(divide="ignore"):
            w = es + np.where(a < 1, lam * es2 / (2 * (1 - a)), np.inf)
    elif servers == 1:
        with np.errstate(divide="ignore"):
            w = np.where(a < 1, es / (1 - a), np.inf)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(a < servers, es + erlang_c(servers, a) * es / (servers - a), np.inf)
    return w


def mixture_quantile(weights: np.ndarray, means: np.ndarray, q: float) -> float:
    """Quantile ``q`` of a mixture of exponentials (weights need not be normalised)."""
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    keep = w > 0
    w, m = w[keep] / w[keep].sum(), m[keep]
    if len(m) == 0:
        return math.nan
    if np.isinf(m).any() and w[np.isinf(m)].sum() >= 1 - q:
        return math.inf
    finite = np.isfinite(m)

    def cdf(x: float) -> float:
        return float((w[finite] * -np.expm1(-x / m[finite])).sum())

    lo, hi = 0.0, float(m[finite].max()) * 50
    for _ in range(200):  # bisection to machine precision on a monotone CDF
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < q else (lo, mid)
    return 0.5 * (lo + hi)
