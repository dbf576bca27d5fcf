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


def _with(sc, **service):
    """The scenario with fields of its service workload changed (and more services, by name)."""
    data = sc.model_dump(by_alias=True, exclude_unset=True)
    data["workloads"]["svc"].update(service)
    return validate_scenario(data)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_slo_share_is_the_mm1_closed_form_and_close_to_simulation(rho):
    # M/M/1 with mu = 1/s: P(T > slo) = exp(-(mu - lambda) slo).
    slo = 2.0
    sc = _with(scenario("analytic", {"process": "poisson", "rate": rho}), slo=slo)
    res = vsim.run(sc)
    expected = math.exp(-(1.0 - rho) * slo)
    assert res.summary["slo_violation_frac"] == pytest.approx(expected, rel=1e-9)
    (row,) = res.services.to_dict("records")
    assert row["service"] == "svc" and row["mode"] == "analytic"
    assert row["slo_s"] == slo and row["slo_violation_frac"] == pytest.approx(expected, rel=1e-9)
    assert row["saturated_frac"] == 0.0
    sim = vsim.run(_with(scenario("requests", {"process": "poisson", "rate": rho}), slo=slo))
    assert float(sim.summary["slo_violation_frac"]) == pytest.approx(expected, abs=0.03)
    (srow,) = sim.services.to_dict("records")
    assert srow["mode"] == "requests"
    assert srow["slo_violation_frac"] == pytest.approx(sim.summary["slo_violation_frac"])


def test_saturation_is_inf_with_its_share_never_a_huge_number():
    # rho = 1 - 1e-12 is capacity up to rounding: saturated. rho = 1 - 1e-6 is a real queue.
    assert math.isinf(mean_response(np.array([1 - 1e-12]), 1.0, 2.0, 1, True)[0])
    assert math.isinf(mean_response(np.array([2 - 1e-12]), 1.0, 2.0, 2, False)[0])
    assert mean_response(np.array([1 - 1e-6]), 1.0, 2.0, 1, False)[0] == pytest.approx(1e6)
    res = vsim.run(_with(scenario("analytic", {"process": "poisson", "rate": 1.0}), slo=2.0))
    s = res.summary
    assert math.isinf(s["latency_s_p99"]) and math.isinf(s["latency_s_mean"])
    assert s["latency_saturated_frac"] == 1.0 and s["slo_violation_frac"] == 1.0
    assert (res.analytic["latency_s_mean"] == math.inf).all()
    # Offered 1.5/s to a server of 1/s: it completes 1/s, as a simulated server would.
    over = vsim.run(scenario("analytic", {"process": "poisson", "rate": 1.5}))
    assert over.summary["throughput_rps"] == pytest.approx(1.0, rel=1e-9)
    assert over.summary["analytic_requests"] == pytest.approx(1.5 * 60000, rel=1e-9)


def test_latency_columns_are_not_duplicated_and_per_service_rows_differ():
    base = scenario("analytic", {"process": "poisson", "rate": 0.5}, duration=6000)
    data = base.model_dump(by_alias=True, exclude_unset=True)
    data["workloads"]["slow"] = {
        **data["workloads"]["svc"],
        "arrivals": {"process": "poisson", "rate": 0.2},
    }
    data["datacenter"]["host_types"][0]["count"] = 2
    data["guests"].append({**data["guests"][0], "name": "t", "workload": "slow"})
    res = vsim.run(validate_scenario(data))
    assert not [c for c in res.summary.index if c.startswith("analytic_latency")]
    assert "analytic_throughput_rps" not in res.summary.index
    rows = res.services.set_index("service")
    # Each its own M/M/1 on its own host: mean 1 / (1 - rho).
    assert rows.loc["svc", "latency_s_mean"] == pytest.approx(2.0, rel=1e-9)
    assert rows.loc["slow", "latency_s_mean"] == pytest.approx(1.25, rel=1e-9)
    # The run's figures pool both: requests-weighted mean of the two means.
    assert res.summary["latency_s_mean"] == pytest.approx((0.5 * 2.0 + 0.2 * 1.25) / 0.7)


def test_analytic_runs_draw_the_latency_figures_with_the_slo(tmp_path):
    from vsim.plot.result import result_figures

    res = vsim.run(_with(scenario("analytic", {"process": "poisson", "rate": 0.5}), slo=2.0))
    figures = result_figures(res)
    assert {"latency_cdf", "latency_over_time"} <= set(figures)
    ax = figures["latency_cdf"].axes[0]
    curve = ax.get_lines()[0]
    xs, ys = curve.get_xdata(), curve.get_ydata()
    # The CDF is 1 - exp(-x / 2) (M/M/1 at rho 0.5), and the SLO line stands at 2 s.
    np.testing.assert_allclose(ys, -np.expm1(-xs / 2.0), rtol=1e-9, atol=1e-12)
    assert any("SLO 2 s" in t.get_text() for t in ax.get_legend().get_texts())
