"""Statistics of a sweep's replications: intervals that respect a metric's range and saturation.

A run's metric is one of three things: a finite number; ``+inf`` when the run *saturated*
(a queue that never drains has an infinite latency, which is a result, not missing data); or
NaN when it is undefined (no request completed). The aggregate of a configuration counts the
first two and reports, for every metric:

- the mean over the runs with a number, with the Student-t interval of the mean, cut to the
  range the metric can take (a fraction stays in [0, 1], a latency, an energy or a count stays
  at or above 0). Cutting keeps the coverage: the true mean lies in the range, so the cut
  interval holds it whenever the uncut one does. One saturated run makes the mean ``inf`` and
  leaves it without an interval;
- the median with its distribution-free order-statistic interval: ``[x_(j), x_(k)]`` holds the
  median with a probability given by the binomial distribution, whatever the distribution of
  the runs. Saturated runs sort last, so a partly saturated configuration keeps a median with a
  meaning, and the interval never leaves the range of the data. With too few runs for the
  confidence asked (five or fewer at 95 %) the bounds are NaN;
- the counts of finite and saturated runs; :func:`proportion_interval` gives the
  Clopper-Pearson interval of the share of runs that saturate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = [
    "INTERVALS",
    "STATS",
    "mean_interval",
    "metric_range",
    "metric_stats",
    "proportion_interval",
    "quantile_interval",
    "saturation_table",
]

#: Statistics in the aggregate table, as suffixes of each metric name.
STATS = (
    "mean",
    "std",
    "ci95",
    "ci95_low",
    "ci95_high",
    "median",
    "median_low",
    "median_high",
    "finite",
    "saturated",
)

#: What each interval of the aggregate table is, for tables, figures and reports.
INTERVALS = {
    "ci95": "Student-t 95 % interval of the mean over runs with a finite value, cut to the "
    "metric's range (NaN when a run saturated or fewer than two runs)",
    "median": "distribution-free 95 % order-statistic interval of the median over all runs, "
    "saturated ones sorting last (NaN with five runs or fewer)",
}

#: Metrics that are shares of something: they lie in [0, 1].
_FRACTIONS = frozenset({"availability", "cpu_util_mean", "slatah", "pdm", "slav"})
#: Name endings of metrics that are never negative: durations, energy, power, rates, sizes.
_NON_NEGATIVE_UNITS = ("_s", "_kwh", "_w", "_rps", "_bps", "_bytes", "_mips")
#: Counts and other quantities that are never negative, by name or by name prefix.
_NON_NEGATIVE_NAMES = frozenset(
    {"hosts", "guests", "events", "migrations", "jobs", "outages", "esv", "vms_deleted"}
)
_NON_NEGATIVE_PREFIXES = (
    "guests_",
    "hosts_",
    "jobs_",
    "migrations_",
    "requests_",
    "restarts_",
    "backup",
    "consolidation_",
    "cost_",
    "analytic_requests",
)


def metric_range(name: str) -> tuple[float, float]:
    """The values a summary metric can take, from its name: ``(0, 1)`` for fractions,
    ``(0, inf)`` for durations, energies, costs and counts, ``(-inf, inf)`` otherwise."""
    if name in _FRACTIONS or name.endswith("_frac"):
        return 0.0, 1.0
    stem = name
    for stat in ("_mean", "_max", "_min", "_p50", "_p95", "_p99", "_p999"):
        stem = stem.removesuffix(stat)
    if (
        stem.endswith(_NON_NEGATIVE_UNITS)
        or "_util" in name
        or name in _NON_NEGATIVE_NAMES
        or name.startswith(_NON_NEGATIVE_PREFIXES)
    ):
        return 0.0, math.inf
    return -math.inf, math.inf


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t quantile: ``t`` with ``P(|T| <= t) = confidence``."""
    from scipy import stats as sps  # (here: a run that never aggregates need not load SciPy)

    return float(sps.t.ppf(0.5 + confidence / 2.0, dof))


def mean_interval(
    values: np.ndarray,
    confidence: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> tuple[float, float, float, float, float]:
    """``(mean, std, half, low, high)`` of finite ``values``: the sample mean, the sample
    standard deviation (ddof 1), the Student-t half-width ``t(n-1) * std / sqrt(n)`` and the
    interval ``mean -/+ half`` cut to ``bounds``. NaN where fewer than two values."""
    n = values.size
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan, math.nan
    std = float(values.std(ddof=1))
    half = t_quantile(confidence, n - 1) * std / math.sqrt(n)
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return mean, std, half, low, high


@lru_cache(maxsize=1024)
def _order_ranks(n: int, q: float, confidence: float) -> tuple[int, int] | None:
    """1-based ranks ``(j, k)`` of the equal-tailed order-statistic interval of the
    ``q``-quantile from ``n`` values, or ``None`` when ``n`` is too small for ``confidence``.

    With ``B ~ Binomial(n, q)`` the number of values below the quantile,
    ``P(x_(j) <= quantile < x_(k)) = P(j <= B < k)``; ``j`` is the largest rank with
    ``P(B < j) <= alpha/2`` and ``k`` the smallest with ``P(B >= k) <= alpha/2``.
    """
    from scipy import stats as sps

    alpha = 1.0 - confidence
    ranks = np.arange(0, n + 1)
    below = sps.binom.cdf(ranks - 1, n, q)  # P(B < r) for r = 0..n
    above = sps.binom.sf(ranks - 1, n, q)  # P(B >= r)
    lows = ranks[(ranks >= 1) & (below <= alpha / 2)]
    highs = ranks[(ranks <= n) & (above <= alpha / 2)]
    if lows.size == 0 or highs.size == 0:
        return None
    return int(lows.max()), int(highs.min())


def quantile_interval(
    values: np.ndarray, q: float = 0.5, confidence: float = 0.95
) -> tuple[float, float, float]:
    """``(estimate, low, high)``: the sample ``q``-quantile of ``values`` (``+inf`` allowed;
    NaN left out by the caller) and its distribution-free order-statistic interval, NaN
    bounds when there are too few values for ``confidence``."""
    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    ordered = np.sort(values)
    # np.quantile would give NaN between a finite value and inf; the midpoint rule does not.
    estimate = _sample_quantile(ordered, q)
    ranks = _order_ranks(n, float(q), float(confidence))
    if ranks is None:
        return estimate, math.nan, math.nan
    j, k = ranks
    return estimate, float(ordered[j - 1]), float(ordered[k - 1])


def _sample_quantile(ordered: np.ndarray, q: float) -> float:
    """Linear-interpolation quantile (numpy's default) that keeps ``inf`` at the top."""
    pos = q * (ordered.size - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    a, b = float(ordered[lo]), float(ordered[hi])
    if lo == hi or a == b:
        return a
    if math.isinf(b):
        return math.inf
    return a + (b - a) * (pos - lo)


def proportion_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact binomial) interval of a share ``k`` of ``n``; NaN when ``n = 0``."""
    if n == 0:
        return math.nan, math.nan
    from scipy import stats as sps

    ci = sps.binomtest(int(k), int(n)).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def metric_stats(values: np.ndarray, name: str, confidence: float = 0.95) -> dict[str, float]:
    """The :data:`STATS` of one metric over one configuration's successful runs."""
    values = np.asarray(values, dtype=float)
    defined = values[~np.isnan(values)]
    finite = defined[np.isfinite(defined)]
    saturated = int(np.sum(defined == math.inf))
    out = dict(_zip_stats(*mean_interval(finite, confidence, metric_range(name))))
    if finite.size != defined.size:  # a saturated (or -inf) run: the mean is not finite
        out.update(mean=float(defined.mean()), std=math.nan, ci95=math.nan)
        out.update(ci95_low=math.nan, ci95_high=math.nan)
    median, low, high = quantile_interval(defined, 0.5, confidence)
    out.update(median=median, median_low=low, median_high=high)
    out.update(finite=int(finite.size), saturated=saturated)
    return out


def _zip_stats(*values: float) -> zip:
    return zip(("mean", "std", "ci95", "ci95_low", "ci95_high"), values, strict=True)


def saturation_table(
    aggregate: pd.DataFrame, params: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """For each metric that saturated in some run, one row per configuration: the parameters,
    ``metric``, ``runs`` (with a value), ``saturated``, ``share`` and its Clopper-Pearson
    interval ``share_low``/``share_high`` (the chance that a run of this configuration
    saturates: 0 of 10 still allows up to 31 %)."""
    frames = []
    for column in aggregate.columns:
        if not column.endswith("_saturated") or not (aggregate[column] > 0).any():
            continue
        metric = column.removesuffix("_saturated")
        k = aggregate[column].astype(int)
        n = k + aggregate[f"{metric}_finite"].astype(int)
        bounds = [proportion_interval(ki, ni, confidence) for ki, ni in zip(k, n, strict=True)]
        frame = aggregate[["config", *params]].copy()
        frame["metric"], frame["runs"], frame["saturated"] = metric, n, k
        frame["share"] = np.where(n > 0, k / n.where(n > 0, 1), math.nan)
        frame["share_low"] = [b[0] for b in bounds]
        frame["share_high"] = [b[1] for b in bounds]
        frames.append(frame)
    columns = ["config", *params, "metric", "runs", "saturated", "share", "share_low"]
    if not frames:
        return pd.DataFrame(columns=[*columns, "share_high"])
    return pd.concat(frames, ignore_index=True)
