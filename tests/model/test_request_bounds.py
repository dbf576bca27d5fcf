"""Bounded request recording: exact counts, sketched percentiles within DDSketch's documented
relative-error bound, a uniform deterministic sample of rows, memory independent of the count."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import vsim
import vsim.model.requestlog as requestlog
from tests.helpers import host, scenario, vm
from vsim.model.requestlog import SKETCH_ACCURACY, RequestLog

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99, "p999": 0.999}


def busy_service(request_rows=None, seed=5) -> vsim.Scenario:
    """An M/M/1 queue at load 0.8 for an hour: about 29,000 requests, a long latency tail."""
    workloads = {
        "svc": {
            "kind": "service",
            "arrivals": {"process": "poisson", "rate": 8},
            "cpu": {"dist": "exponential", "mean": 100},
            "slo": 0.5,
        }
    }
    return scenario(
        [host(cores=1)],
        [vm("s", "svc")],
        workloads,
        name="busy",
        seed=seed,
        duration="1h",
        sample_interval="10m",
        output={"request_rows": request_rows},
    )


@pytest.fixture(scope="module")
def exact():
    """Every request recorded and every latency kept: the reference."""
    return vsim.run(busy_service())


def test_sketched_percentiles_are_within_the_documented_bound_of_the_exact_ones(exact, monkeypatch):
    monkeypatch.setattr(requestlog, "EXACT_LATENCIES", 1000)  # sketch all past the first 1000
    sketched = vsim.run(busy_service()).summary
    ref = exact.summary
    lat = exact.requests.loc[exact.requests["status"] == "completed", "latency_s"].to_numpy()
    assert len(lat) == ref["requests_completed"] > 20_000

    assert ref["requests_latency_rel_error"] == 0.0
    assert sketched["requests_latency_rel_error"] == SKETCH_ACCURACY
    for name in ("completed", "rejected", "timed_out", "failed", "recorded"):
        assert sketched[f"requests_{name}"] == ref[f"requests_{name}"]
    assert sketched["slo_violation_frac"] == ref["slo_violation_frac"]  # an exact count
    assert sketched["latency_s_mean"] == pytest.approx(ref["latency_s_mean"], rel=1e-12)
    for name, q in QUANTILES.items():
        # Exact summary = numpy's interpolated quantile of every latency.
        assert ref[f"latency_s_{name}"] == np.quantile(lat, q)
        # DDSketch: the returned value is within alpha (relative) of the rank-q latency.
        low = np.quantile(lat, q, method="lower") * (1 - SKETCH_ACCURACY)
        high = np.quantile(lat, q, method="higher") * (1 + SKETCH_ACCURACY)
        assert low <= sketched[f"latency_s_{name}"] <= high, name


def test_the_table_keeps_a_uniform_deterministic_sample_past_its_limit(exact):
    sampled = vsim.run(busy_service(request_rows=500))
    again = vsim.run(busy_service(request_rows=500))
    full = exact.requests
    table = sampled.requests

    assert len(table) == sampled.summary["requests_recorded"] == 500
    pd.testing.assert_frame_equal(table, again.requests)  # the named stream: deterministic
    for name in ("completed", "rejected", "timed_out", "failed"):
        assert sampled.summary[f"requests_{name}"] == exact.summary[f"requests_{name}"]
    for name in QUANTILES:  # percentiles still cover every request
        assert sampled.summary[f"latency_s_{name}"] == exact.summary[f"latency_s_{name}"]
    # Rows of the full table, in its order.
    pos = full.reset_index().set_index("id").loc[table["id"], "index"].to_numpy()
    assert (np.diff(pos) > 0).all()
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True), full.iloc[pos].reset_index(drop=True)
    )
    # Uniform over the run: a binomial share of the first half, 4.5 standard deviations.
    first_half = float(np.mean(pos < len(full) / 2))
    assert abs(first_half - 0.5) < 4.5 * np.sqrt(0.25 / 500)


def test_memory_is_independent_of_the_request_count():
    rng = np.random.default_rng(0)
    sizes = []
    for n in (10_000, 100_000):
        log = RequestLog(max_rows=100, rng=np.random.default_rng(1), exact_latencies=100)
        for i, x in enumerate(rng.exponential(0.1, n)):
            log.add_latency(float(x))
            log.add_row((i, "s", 0.0, 0.0, float(x), float(x), 1.0, "completed"))
        assert len(log.rows) == 100 and len(log.latencies.values) == 100
        sizes.append(len(pickle.dumps(log.latencies.sketch)))
    # The sketch's bins grow with the log of the latencies' range, not with their number.
    assert sizes[1] < 1.5 * sizes[0]


def test_each_offered_row_is_kept_with_the_same_probability():
    # 300 reservoirs of 50 rows out of 5,000 offers: every offer is kept with probability 1/100,
    # so each tenth of the offers holds 1,500 of the 15,000 kept rows (binomial, p = 0.1).
    counts = np.zeros(10)
    for seed in range(300):
        log = RequestLog(max_rows=50, rng=np.random.default_rng(seed))
        for i in range(5000):
            log.add_row((i,) + (0.0,) * 7)
        ids = log.frame()["id"].to_numpy()
        assert len(ids) == 50 and (np.diff(ids) > 0).all()
        counts += np.bincount(ids // 500, minlength=10)
    chi2 = float(np.sum((counts - 1500) ** 2 / 1500))
    assert chi2 < 27.9  # the 0.999 quantile of chi-squared with 9 degrees of freedom
