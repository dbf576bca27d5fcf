"""The analytic (fluid) service mode: where it agrees with request-level simulation, where not."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vsim
from vsim.metrics.latency import erlang_c, mean_response, mixture_quantile
from vsim.scenario import validate_scenario

COLS = ["latency_s_mean", "latency_s_p99", "throughput_rps"]


def scenario(mode, arrivals, workers=1, duration=60000, seed=3):
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": 600,
            "seed": seed,
            "datacenter": {
                "host_types": [
                    {"name": "h", "count": 1, "cores": 1, "core_mips": 1000, "memory": "4GiB"}
                ]
            },
            "workloads": {
                "svc": {
                    "kind": "service",
                    "mode": mode,
                    "arrivals": arrivals,
                    "cpu": {"dist": "exponential", "mean": 1000},
                    "workers": workers,
                }
            },
            "guests": [
                {
                    "name": "s",
                    "vcpus": 1,
                    "vcpu_mips": 1000,
                    "memory": "1GiB",
                    "workload": "svc",
                    "boot_time": 0,
                }
            ],
        }
    )


def test_erlang_c_and_mixture_quantile_by_hand():
    # M/M/2 at offered load 1: C = (1/2 / (1 - 1/2)) / (1 + 1 + 1) = 1/3.
    assert erlang_c(2, np.array([1.0]))[0] == pytest.approx(1 / 3, rel=1e-12)
    # One exponential of mean 2: the 99th percentile is -2 ln(0.01).
    assert mixture_quantile(np.array([1.0]), np.array([2.0]), 0.99) == pytest.approx(
        -2 * math.log(0.01), rel=1e-9
    )
    # M/M/1 at rho 0.8: 1 / (1 - 0.8) = 5 s, both PS and FCFS.
    assert mean_response(np.array([0.8]), 1.0, 2.0, 1, True)[0] == pytest.approx(5.0)
    assert mean_response(np.array([0.8]), 1.0, 2.0, 1, False)[0] == pytest.approx(5.0)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_analytic_matches_theory_and_simulation_for_poisson_arrivals(rho):
    arrivals = {"process": "poisson", "rate": rho}
    fluid = vsim.run(scenario("analytic", arrivals)).summary
    # M/M/1-FCFS: response is exponential with mean 1 / (1 - rho); p99 = -ln(0.01) / (1 - rho).
    assert fluid["latency_s_mean"] == pytest.approx(1 / (1 - rho), rel=1e-9)
    assert fluid["latency_s_p99"] == pytest.approx(-math.log(0.01) / (1 - rho), rel=1e-6)
    sim = vsim.run(scenario("requests", arrivals)).summary
    for col in COLS:
        assert float(sim[col]) == pytest.approx(float(fluid[col]), rel=0.12)


def test_analytic_misses_bursts_that_requests_see():
    # MMPP: 0.2/s for ~100 s, then 1.6/s (overload) for ~50 s; the mean rate is 2/3 per s.
    # Within an interval the fluid view only sees the mean, so it reports a tail that is far
    # too short: the queue that builds during each burst is invisible to it.
    arrivals = {"process": "mmpp", "rates": [0.2, 1.6], "switch": [0.01, 0.02]}
    fluid = vsim.run(scenario("analytic", arrivals)).summary
    sim = vsim.run(scenario("requests", arrivals)).summary
    assert float(fluid["throughput_rps"]) == pytest.approx(2 / 3, rel=1e-9)
    assert float(sim["throughput_rps"]) == pytest.approx(2 / 3, rel=0.1)
    assert float(fluid["latency_s_p99"]) < 0.25 * float(sim["latency_s_p99"])


def test_analytic_mode_rejects_closed_loop_users():
    with pytest.raises(vsim.ScenarioError, match="mode analytic needs open-loop arrivals"):
        scenario("analytic", {"process": "closed", "users": 3})
