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
requests each one carries. The same distribution gives the share of requests slower than an
SLO: ``P(T > slo) = exp(-slo / E[T])`` per interval, for M/M/1 the closed form
``exp(-(mu - lambda) slo)``.

Saturation is defined, not left to rounding: an interval whose utilization reaches
:data:`SATURATED_RHO` of its servers has an infinite mean (every quantile of its requests is
``inf`` and each of them violates any SLO), and :func:`mixture_figures` reports the share of
requests in such intervals. Without the threshold a fluid grant equal to the demand leaves a
utilization of 1 minus a rounding error, and a mean of 1e14 s instead of ``inf``.

What the fluid view cannot see: bursts inside an interval (MMPP), and the correlation between
consecutive intervals.
"""

from __future__ import annotations

import math

import numpy as np

#: Utilization (per server) from which an analytic queue is saturated. Relative 1e-9 covers
#: the rounding of a demand that the engine granted in full, the slack the placement pool uses
#: for the same reason; a real queue that close to capacity has a mean above 1e9 service times.
SATURATED_RHO = 1.0 - 1e-9


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
            w = es + np.where(a < SATURATED_RHO, lam * es2 / (2 * (1 - a)), np.inf)
    elif servers == 1:
        with np.errstate(divide="ignore"):
            w = np.where(a < SATURATED_RHO, es / (1 - a), np.inf)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = a < servers * SATURATED_RHO
            w = np.where(ok, es + erlang_c(servers, a) * es / (servers - a), np.inf)
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


def exceed_probability(weights: np.ndarray, means: np.ndarray, x: float) -> float:
    """Share of a mixture of exponentials above ``x``: ``sum w exp(-x / m) / sum w``; a
    component of infinite mean (a saturated interval) lies above every ``x``."""
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    total = w.sum()
    if not total > 0:
        return math.nan
    with np.errstate(divide="ignore"):
        tail = np.where(np.isinf(m), 1.0, np.exp(-x / np.where(m > 0, m, np.inf)))
    return float((w * tail).sum() / total)


def mixture_cdf(weights: np.ndarray, means: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``P(T <= x)`` of the mixture at each of ``xs`` (saturated components never finish)."""
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    finite = np.isfinite(m) & (w > 0)
    total = w[w > 0].sum()
    xs = np.asarray(xs, dtype=np.float64)
    if not total > 0:
        return np.full(xs.shape, math.nan)
    done = -np.expm1(-xs[:, None] / m[finite][None, :])
    return (done * w[finite][None, :]).sum(axis=1) / total


def mixture_figures(
    weights: np.ndarray,
    means: np.ndarray,
    quantiles: tuple[tuple[str, float], ...],
    slo: float | None = None,
) -> dict[str, float]:
    """The latency figures of a mixture: ``requests`` (the weight), ``latency_s_mean``, one
    ``latency_s_<name>`` per quantile, ``slo_violation_frac`` (NaN without ``slo``) and
    ``saturated_frac``, the share of requests in saturated intervals."""
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(means, dtype=np.float64)
    total = float(w.sum())
    out = {"requests": total}
    if not total > 0:
        out["latency_s_mean"] = math.nan
        out.update({f"latency_s_{n}": math.nan for n, _ in quantiles})
        return {**out, "slo_violation_frac": math.nan, "saturated_frac": math.nan}
    loaded = w > 0
    out["latency_s_mean"] = float((w[loaded] * m[loaded]).sum() / total)
    for name, q in quantiles:
        out[f"latency_s_{name}"] = mixture_quantile(w, m, q)
    out["slo_violation_frac"] = math.nan if slo is None else exceed_probability(w, m, slo)
    out["saturated_frac"] = float(w[loaded & np.isinf(m)].sum() / total)
    return out
