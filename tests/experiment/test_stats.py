"""Sweep statistics against closed forms and scipy reference values: ranges, order-statistic
intervals, Clopper-Pearson, saturated runs in the aggregate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vsim.experiment.stats import (
    mean_interval,
    metric_range,
    metric_stats,
    proportion_interval,
    quantile_interval,
    saturation_table,
)
from vsim.experiment.sweep import aggregate_runs

INF = math.inf


def coverage(n: int, j: int, k: int, q: float = 0.5) -> float:
    """P(x_(j) <= quantile < x_(k)) = P(j <= B < k), B ~ Binomial(n, q), summed by hand."""
    return sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(j, k))


def test_metric_ranges_follow_the_name():
    for name in ("unmet_cpu_frac", "slo_violation_frac", "availability", "cpu_util_mean", "pdm"):
        assert metric_range(name) == (0.0, 1.0)
    for name in (
        "latency_s_p99",
        "latency_s_mean",
        "energy_kwh",
        "power_w_mean",
        "throughput_rps",
        "guests_rejected",
        "requests_completed",
        "migrations",
        "cost_total",
        "mem_util_mean",
        "data_loss_s_max",
    ):
        assert metric_range(name) == (0.0, INF), name
    assert metric_range("m") == (-INF, INF)


def test_a_fraction_band_never_goes_below_zero():
    values = np.array([0.0, 0.0, 0.0, 0.02])
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert low < 0  # the uncut Student-t interval would
    mean, std, half, cut_low, cut_high = mean_interval(values, 0.95, metric_range("x_frac"))
    assert mean == pytest.approx(0.005) and std == pytest.approx(0.01)
    assert half == pytest.approx(high - mean)
    assert cut_low == 0.0 and cut_high == pytest.approx(high)
    # ...and a fraction band never above one.
    values = 1.0 - values
    _, _, _, cut_low, cut_high = mean_interval(values, 0.95, (0.0, 1.0))
    assert cut_high == 1.0 and cut_low == pytest.approx(1.0 - high)


def test_median_interval_is_the_order_statistic_interval():
    rng = np.random.default_rng(1)
    values = rng.permutation(np.arange(1.0, 11.0))
    # n = 10: P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024, so ranks 2 and 9.
    median, low, high = quantile_interval(values, 0.5, 0.95)
    assert (median, low, high) == (5.5, 2.0, 9.0)
    assert coverage(10, 2, 9) == pytest.approx(1 - 22 / 1024)
    assert coverage(10, 3, 8) < 0.95 <= coverage(10, 2, 9)
    # n = 6 is the fewest runs with a 95 % interval of the median: [min, max], 1 - 2/64.
    assert quantile_interval(np.arange(6.0), 0.5, 0.95)[1:] == (0.0, 5.0)
    assert coverage(6, 1, 6) == pytest.approx(1 - 2 / 64) and coverage(5, 1, 5) < 0.95
    estimate, low, high = quantile_interval(np.arange(5.0), 0.5, 0.95)
    assert estimate == 2.0 and math.isnan(low) and math.isnan(high)


def test_a_high_quantile_interval_matches_the_binomial():
    values = np.arange(1.0, 101.0)
    estimate, low, high = quantile_interval(values, 0.9, 0.95)
    assert estimate == pytest.approx(np.quantile(values, 0.9))
    j, k = int(low), int(high)  # value i is the i-th order statistic
    assert stats.binom.cdf(j - 1, 100, 0.9) <= 0.025 < stats.binom.cdf(j, 100, 0.9)
    assert stats.binom.sf(k - 1, 100, 0.9) <= 0.025 < stats.binom.sf(k - 2, 100, 0.9)
    assert coverage(100, j, k, 0.9) >= 0.95


def test_clopper_pearson_matches_its_closed_forms():
    # k = 0 and k = n have closed forms; in between, the beta quantiles.
    assert proportion_interval(0, 10) == pytest.approx((0.0, 1 - 0.025 ** (1 / 10)))
    assert proportion_interval(10, 10) == pytest.approx((0.025 ** (1 / 10), 1.0))
    low, high = proportion_interval(3, 10)
    assert low == pytest.approx(stats.beta.ppf(0.025, 3, 8))
    assert high == pytest.approx(stats.beta.ppf(0.975, 4, 7))
    assert all(math.isnan(v) for v in proportion_interval(0, 0))


def test_saturated_runs_are_counted_and_keep_a_finite_median():
    values = np.array([0.1, 0.2, 0.3, INF, INF, 0.15, 0.12, np.nan])
    s = metric_stats(values, "latency_s_p99")
    assert (s["finite"], s["saturated"]) == (5, 2)
    assert s["mean"] == INF and math.isnan(s["std"]) and math.isnan(s["ci95_low"])
    # Sorted: 0.1 0.12 0.15 0.2 0.3 inf inf; n = 7 gives ranks 1 and 7 (1 - 2/128).
    assert s["median"] == 0.2
    assert (s["median_low"], s["median_high"]) == (0.1, INF)


def test_the_median_of_a_mostly_saturated_configuration_is_inf():
    s = metric_stats(np.array([0.1, INF, INF]), "latency_s_p99")
    assert s["median"] == INF and (s["finite"], s["saturated"]) == (1, 2)
    s = metric_stats(np.array([0.1, 0.3, INF, INF]), "latency_s_p99")
    assert s["median"] == INF  # the midpoint of 0.3 and inf
    s = metric_stats(np.array([0.1, 0.3]), "latency_s_p99")
    assert s["median"] == pytest.approx(0.2) and s["saturated"] == 0


def test_aggregate_reports_saturation_instead_of_dropping_it():
    p99 = [0.12, 0.14, INF, 0.13, INF, 0.2, 0.3, 0.25, 0.22, 0.21]
    runs = pd.DataFrame(
        {
            "run_id": [f"c{c}-r{r}" for c in range(2) for r in range(5)],
            "config": [0] * 5 + [1] * 5,
            "x": [1] * 5 + [2] * 5,
            "replication": list(range(5)) * 2,
            "seed": list(range(10)),
            "status": ["ok"] * 10,
            "error": [None] * 10,
            "latency_s_p99": p99,
            "unmet_cpu_frac": [0.0, 0.0, 0.0, 0.0, 0.05, *[0.0] * 5],
        }
    )
    agg = aggregate_runs(runs, ["x"]).set_index("config")
    assert list(agg["latency_s_p99_finite"]) == [3, 5]
    assert list(agg["latency_s_p99_saturated"]) == [2, 0]
    assert agg.loc[0, "latency_s_p99_mean"] == INF
    assert agg.loc[0, "latency_s_p99_median"] == 0.14  # 0.12 0.13 0.14 inf inf
    assert agg.loc[1, "latency_s_p99_median"] == 0.22
    assert agg.loc[1, "latency_s_p99_mean"] == pytest.approx(np.mean(p99[5:]))
    low = stats.t.interval(0.95, 4, loc=0.01, scale=stats.sem(runs["unmet_cpu_frac"][:5]))[0]
    assert low < 0 and agg.loc[0, "unmet_cpu_frac_ci95_low"] == 0.0
    assert agg.loc[1, "unmet_cpu_frac_ci95_low"] == 0.0 == agg.loc[1, "unmet_cpu_frac_ci95_high"]


def test_saturation_table_gives_the_clopper_pearson_share_per_configuration():
    aggregate = pd.DataFrame(
        {
            "config": [0, 1],
            "x": [1, 2],
            "runs": [5, 10],
            "latency_s_p99_finite": [3, 10],
            "latency_s_p99_saturated": [2, 0],
            "energy_kwh_finite": [5, 10],
            "energy_kwh_saturated": [0, 0],
        }
    )
    table = saturation_table(aggregate, ["x"])
    assert list(table["metric"]) == ["latency_s_p99"] * 2  # energy never saturated
    assert list(table["x"]) == [1, 2] and list(table["saturated"]) == [2, 0]
    assert list(table["share"]) == [0.4, 0.0]
    assert table["share_low"].iloc[0] == pytest.approx(stats.beta.ppf(0.025, 2, 4))
    assert table["share_high"].iloc[0] == pytest.approx(stats.beta.ppf(0.975, 3, 3))
    # None of ten saturated: the share may still be up to 1 - 0.025^(1/10), about 31 %.
    assert table["share_high"].iloc[1] == pytest.approx(1 - 0.025**0.1)
    assert saturation_table(aggregate.drop(index=0), ["x"]).empty
