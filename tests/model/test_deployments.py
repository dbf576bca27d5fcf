"""Deployments: load balancing, the HPA and rolling updates against closed forms and hand
computations (queueing formulas: Harchol-Balter, "Performance Modeling and Design of Computer
Systems", 2013, ch. 14 (M/M/1) and 22 (M/G/1-PS); the HPA's rule: Kubernetes documentation,
"Horizontal Pod Autoscaling", algorithm details)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import vsim
from vsim.scenario import validate_scenario


def deployment_scenario(arrivals, duration, hosts=8, seed=1, warmup=0.0, **dep):
    dep.setdefault("replicas", 4)
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": duration,
            "seed": seed,
            "datacenter": {
                "host_types": [
                    {"name": "h", "count": hosts, "cores": 2, "core_mips": 1000, "memory": "16GiB"}
                ]
            },
            "workloads": {
                "web": {
                    "kind": "service",
                    "arrivals": arrivals,
                    "cpu": {"dist": "exponential", "mean": 100},
                    "slo": 1.0,
                    "record": 0.0,
                    "warmup": warmup,
                }
            },
            "deployments": [
                {
                    "name": "web",
                    "template": {"vcpus": 1, "memory": "1GiB", "workload": "web"},
                    **dep,
                }
            ],
        }
    )


def test_random_balancing_is_independent_mm1_queues():
    # 4 replicas of 1 vCPU at 1000 MIPS, 100 MI per request: E[S] = 0.1 s; 24 req/s split at
    # random: each replica is M/M/1-PS at rho = 0.6. Mean response S / (1 - rho) = 0.25 s and
    # mean number at a replica rho / (1 - rho) = 1.5 hold for PS as for FCFS (insensitivity).
    sc = deployment_scenario({"process": "poisson", "rate": 24}, 4000, balancer="random")
    res = vsim.run(sc)
    assert res.summary["latency_s_mean"] == pytest.approx(0.25, rel=0.06)
    reps = res.replicas
    assert len(reps) == 4
    assert reps["outstanding_mean"].to_numpy() == pytest.approx(1.5, rel=0.12)
    share = reps["requests_sent"] / reps["requests_sent"].sum()
    assert share.to_numpy() == pytest.approx(0.25, abs=0.02)


def test_least_outstanding_and_power_of_two_beat_random_at_p99():
    # Same arrivals (common random numbers) under each policy; rho = 0.8 per replica.
    p99 = {}
    for policy in ("random", "power_of_two", "least_outstanding"):
        sc = deployment_scenario({"process": "poisson", "rate": 32}, 2000, balancer=policy)
        p99[policy] = vsim.run(sc).summary["latency_s_p99"]
    # M/M/1 sojourn is exponential at rate mu - lambda = 2/s: p99 = ln(100) / 2 = 2.30 s for
    # FCFS; PS has a heavier tail, so random is at least about that.
    assert p99["random"] > 2.0
    assert p99["power_of_two"] < 0.8 * p99["random"]
    assert p99["least_outstanding"] < p99["power_of_two"]


def test_hpa_steady_replicas_follow_the_utilization_formula():
    # A load step from 20 to 45 req/s (rates held 1000 s each in an MMPP with slow switching
    # is not a step; a trace is): lambda E[S] / (u c) = 20 * 0.1 / 0.6 = 3.33 -> 4, then
    # 45 * 0.1 / 0.6 = 7.5 -> 8. With tolerance 0.1: at 8 replicas 7.5 / 8 = 0.94 stays.
    rng = np.random.default_rng(5)
    t1 = np.cumsum(rng.exponential(1 / 20, 30000))
    t1 = t1[t1 < 900]
    t2 = 900 + np.cumsum(rng.exponential(1 / 45, 60000))
    t2 = t2[t2 < 1800]
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "arrivals.txt"
    np.savetxt(path, np.concatenate([t1, t2]))
    auto = {
        "metric": "cpu",
        "target": 0.6,
        "min_replicas": 1,
        "max_replicas": 12,
        "sync_period": 15,
        "scale_down_window": 60,
    }
    sc = deployment_scenario(
        {"process": "trace", "path": str(path)},
        1800,
        hosts=14,
        replicas=1,
        autoscale=auto,
        readiness=5,
    )
    res = vsim.run(sc)
    tl = res.deployments.set_index("time_s")
    assert math.ceil(20 * 0.1 / 0.6) == 4 and math.ceil(45 * 0.1 / 0.6) == 8
    assert tl.loc[600:885, "ready"].median() == 4
    assert tl.loc[1500:1785, "ready"].median() == 8
    # Time to scale after the step at 900 s (a sync instant): the first sync with a full window
    # of the new load is at 915 s; the scale-up limit max(4 pods, 100 %) from 4 allows 8 at
    # once; stabilization up 0; start-up 0 + readiness 5 s: ready at 920 s. Allow the one sync
    # that straddles the step: 930 s + 5 s.
    reached = tl.index[(tl.index > 900) & (tl["ready"] >= 8)][0]
    assert reached <= 900 + 2 * 15 + 0 + 5 + 15  # + one record interval of the table


def rolling(n, surge, unavailable, boot, readiness, drain, seed=1, rate=20.0):
    return deployment_scenario(
        {"process": "poisson", "rate": rate},
        300,
        hosts=2 * n + surge + 2,
        seed=seed,
        warmup=boot + readiness + 1,  # (no replica is ready before the first start-up)
        replicas=n,
        readiness=readiness,
        drain=drain,
        template={"vcpus": 1, "memory": "1GiB", "workload": "web", "boot_time": boot},
        updates=[
            {
                "at": 100,
                "template": {"boot_time": boot},
                "max_surge": surge,
                "max_unavailable": unavailable,
            }
        ],
        record_every=1,
    )


def test_rolling_update_timeline_by_hand():
    # 4 replicas, surge 1, unavailable 0, start-up 10 s + readiness 5 s: one new replica at a
    # time, each ready 15 s after it was created; the old one drains then. Done at 100 + 4 x 15.
    res = vsim.run(rolling(4, 1, 0, 10, 5, 30))
    ev = res.events
    ready = ev[(ev.kind == "replica_ready") & ev.subject.str.startswith("web-v1")]
    assert ready.time_s.tolist() == [115.0, 130.0, 145.0, 160.0]
    assert ev[ev.kind == "update_done"].time_s.tolist() == [160.0]
    tl = res.deployments
    assert tl.loc[tl.time_s >= 15, "ready"].min() >= 4  # (after the first start-up)


def test_rolling_update_with_unavailable_moves_two_at_a_time():
    # surge 1, unavailable 1: at 100 s one old drains and two new start; at 115 s both are
    # ready, two old drain and two more start; at 130 s those are ready: done.
    res = vsim.run(rolling(4, 1, 1, 10, 5, 30))
    ev = res.events
    ready = ev[(ev.kind == "replica_ready") & ev.subject.str.startswith("web-v1")]
    assert ready.time_s.tolist() == [115.0, 115.0, 130.0, 130.0]
    tl = res.deployments
    assert tl.loc[tl.time_s >= 15, "ready"].min() >= 3


@settings(
    max_examples=8,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    n=st.integers(1, 5),
    surge=st.integers(0, 2),
    unavailable=st.integers(0, 2),
    boot=st.integers(0, 20),
    seed=st.integers(0, 100),
)
def test_rolling_updates_keep_the_ready_bound_and_lose_nothing(n, surge, unavailable, boot, seed):
    unavailable = min(unavailable, n - 1)  # (at least one replica serves throughout)
    if surge + unavailable == 0:
        surge = 1
    res = vsim.run(rolling(n, surge, unavailable, boot, 2, drain=60, seed=seed, rate=5.0))
    tl = res.deployments
    assert tl.loc[tl.time_s >= boot + 2, "ready"].min() >= n - unavailable
    # A drain of 60 s is far beyond any request's stay (mean 0.1 s at light load): nothing fails.
    assert res.summary["requests_failed"] == 0
    assert res.summary["requests_rejected"] == 0
    assert (res.events.kind == "update_done").sum() == 1


def test_blue_green_and_canary_run():
    bg = rolling(3, 1, 0, 10, 5, 30)
    data = bg.model_dump(mode="json")
    data["guests"] = [g for g in data["guests"] if not g["deployment"]]
    data["deployments"][0]["updates"][0]["strategy"] = "blue_green"
    res = vsim.run(validate_scenario(data))
    ev = res.events
    ready = ev[(ev.kind == "replica_ready") & ev.subject.str.startswith("web-v1")]
    assert ready.time_s.tolist() == [115.0] * 3  # all new replicas at once
    tl = res.deployments
    assert tl.loc[tl.time_s >= 15, "ready"].min() >= 3
    data["deployments"][0]["updates"][0].update(
        strategy="canary", canary_percent=25, canary_for=100
    )
    res = vsim.run(validate_scenario(data))
    reps = res.replicas.groupby("version")["requests_sent"].sum()
    assert reps[1] > 0 and (res.events.kind == "update_done").sum() == 1
