"""Service workloads: closed loops, tiers, arrival processes, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from vsim.scenario import validate_scenario


def one_host(workloads, guests, duration, cores=1, **extra):
    return validate_scenario(
        {
            "duration": duration,
            "sample_interval": duration,
            "seed": extra.pop("seed", 1),
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": extra.pop("hosts", 1),
                        "cores": cores,
                        "core_mips": 1000,
                        "memory": "16GiB",
                        "nic_bandwidth": "1Gbps",
                    }
                ]
            },
            "workloads": workloads,
            "guests": guests,
            **extra,
        }
    )


def guest(name, workload, **kw):
    return {"name": name, "vcpus": 1, "memory": "1GiB", "workload": workload, "boot_time": 0, **kw}


def mva(n_users, service, think):
    """Exact mean-value analysis of one queue with n users and think time (Reiser & Lavenberg)."""
    q = 0.0
    for n in range(1, n_users + 1):
        r = service * (1 + q)
        x = n / (r + think)
        q = x * r
    return r, x


def test_closed_loop_users_match_mean_value_analysis():
    # 5 users, exponential think time 4 s, exponential work of 1 s on one core. Exponential
    # service on one server: the product-form solution holds (BCMP), so MVA is exact.
    wl = {
        "svc": {
            "kind": "service",
            "arrivals": {
                "process": "closed",
                "users": 5,
                "think": {"dist": "exponential", "mean": 4},
            },
            "cpu": {"dist": "exponential", "mean": 1000},
            "warmup": 500,
        }
    }
    r_expect, x_expect = mva(5, 1.0, 4.0)
    runs = [vsim.run(one_host(wl, [guest("s", "svc")], 40500, seed=s)).summary for s in (1, 2, 3)]
    r = np.mean([float(s["latency_s_mean"]) for s in runs])
    x = np.mean([float(s["throughput_rps"]) for s in runs])
    assert r == pytest.approx(r_expect, rel=0.05)
    assert x == pytest.approx(x_expect, rel=0.03)
    # Interactive response time law on every run: X = N / (R + Z), up to the end effects.
    for s in runs:
        assert float(s["throughput_rps"]) == pytest.approx(
            5 / (float(s["latency_s_mean"]) + 4.0), rel=0.03
        )


def test_two_tiers_add_their_stages_and_the_hop(tmp_path):
    # Requests 100 s apart (no queueing): front 100 MI (0.1 s), hop of 1 MB across two hosts at
    # 1 Gbps of TCP goodput (1448 payload bytes per 1538 on the wire: 8.4973 ms) plus the two
    # host links' latency (2 x 5 us), back 200 MI (0.2 s), then the 1 MB response to the
    # client (8.4973 ms): 0.31700 s each.
    arrivals = tmp_path / "arrivals.txt"
    arrivals.write_text("\n".join(str(10 + 100 * k) for k in range(5)))
    wl = {
        "front": {
            "kind": "service",
            "arrivals": {"process": "trace", "path": str(arrivals)},
            "cpu": 100,
            "net_bytes": 1e6,
            "next": "b",
        },
        "back": {"kind": "service", "cpu": 200, "net_bytes": 1e6},
    }
    guests = [guest("f", "front", host="h-0"), guest("b", "back", host="h-1")]
    res = vsim.run(one_host(wl, guests, 600, hosts=2))
    lat = res.requests.latency_s.to_numpy()
    assert len(lat) == 5
    hop = 1e6 / (125e6 * 1448 / 1538)
    np.testing.assert_allclose(lat, 0.1 + hop + 2 * 5e-6 + 0.2 + hop, rtol=1e-9)


def test_requests_fail_when_their_guest_stops():
    # A closed loop keeps one request in service at all times; stopping the guest loses it.
    wl = {
        "svc": {
            "kind": "service",
            "arrivals": {"process": "closed", "users": 1},
            "cpu": {"dist": "deterministic", "mean": 10000},
        }
    }
    res = vsim.run(one_host(wl, [guest("s", "svc", stop=25)], 60))
    s = res.summary
    assert s["requests_completed"] == 2  # at 10 s and 20 s
    assert s["requests_failed"] == 1  # the one started at 20 s
    assert s["requests_rejected"] > 0  # the user keeps trying a stopped guest


def test_mmpp_long_run_rate_is_the_stationary_mix():
    # Cyclic two-state MMPP: stationary probabilities proportional to 1/switch, so the mean
    # rate is (1 x 1/0.5 + 5 x 1/0.25) / (1/0.5 + 1/0.25) = 22/6 per second.
    wl = {
        "svc": {
            "kind": "service",
            "arrivals": {"process": "mmpp", "rates": [1, 5], "switch": [0.5, 0.25]},
            "cpu": 1,
        }
    }
    res = vsim.run(one_host(wl, [guest("s", "svc")], 20000))
    assert float(res.summary["throughput_rps"]) == pytest.approx(22 / 6, rel=0.03)


def test_same_seed_same_requests():
    wl = {
        "svc": {
            "kind": "service",
            "arrivals": {"process": "poisson", "rate": 0.7},
            "cpu": {"dist": "lognormal", "mean": 1000, "cv": 2},
        }
    }
    a, b = (vsim.run(one_host(wl, [guest("s", "svc")], 2000)).requests for _ in range(2))
    assert a.equals(b)
