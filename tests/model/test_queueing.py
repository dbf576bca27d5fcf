"""Request-level services against queueing theory.

Each case runs independent replications (seeds 1..R), builds a 95 % Student-t confidence
interval of the mean response time, and requires the analytic value to lie within it widened by
a stated tolerance (TOL, relative). One 1000-MIPS core serves requests of mean 1000 MI, so the
mean service time is 1 s and the utilization equals the arrival rate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import vsim
from vsim.scenario import validate_scenario

REPLICATIONS = 4
TOL = 0.03  # relative, on top of the confidence interval
UTILIZATIONS = (0.5, 0.8, 0.9)


def service_scenario(rho, *, cpu, workers=None, cores=1, seed=1, duration=None, rate=None, **extra):
    # Run long enough for about 30k requests at full utilization of every core.
    duration = duration or 30000 / cores
    warmup = 200.0 / (1 - rho)  # several relaxation times of the queue
    workload = {
        "kind": "service",
        "arrivals": {"process": "poisson", "rate": rate or rho * cores},
        "cpu": cpu,
        "workers": workers,
        "warmup": warmup,
        **extra,
    }
    return validate_scenario(
        {
            "duration": duration + warmup,
            "sample_interval": duration + warmup,
            "seed": seed,
            "datacenter": {
                "host_types": [
                    {"name": "h", "count": 1, "cores": cores, "core_mips": 1000, "memory": "4GiB"}
                ]
            },
            "workloads": {"svc": workload},
            "guests": [
                {
                    "name": "s",
                    "vcpus": cores,
                    "vcpu_mips": 1000,
                    "memory": "1GiB",
                    "workload": "svc",
                    "boot_time": 0,
                }
            ],
        }
    )


def replicate(build, column="latency_s_mean"):
    runs = [vsim.run(build(seed)) for seed in range(1, REPLICATIONS + 1)]
    values = np.array([float(r.summary[column]) for r in runs])
    return values, runs


def assert_within_ci(values, expected, tol=TOL):
    mean = values.mean()
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    assert abs(mean - expected) <= half + tol * expected, (
        f"simulated {mean:.4f} +/- {half:.4f}, analytic {expected:.4f}"
    )


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


EXP = {"dist": "exponential", "mean": 1000}


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mm1_processor_sharing_mean_response(rho):
    values, _ = replicate(lambda s: service_scenario(rho, cpu=EXP, seed=s))
    assert_within_ci(values, 1 / (1 - rho))  # E[T] = E[S] / (1 - rho)


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mm1_fcfs_single_worker(rho):
    values, _ = replicate(lambda s: service_scenario(rho, cpu=EXP, workers=1, seed=s))
    assert_within_ci(values, 1 / (1 - rho))


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mmc_fcfs_erlang_c(rho):
    c = 4
    values, _ = replicate(lambda s: service_scenario(rho, cpu=EXP, workers=c, cores=c, seed=s))
    a = rho * c
    assert_within_ci(values, 1 + erlang_c(c, a) / (c - a))  # E[S] + C(c,a) E[S] / (c - a)


def pollaczek_khinchine(rho, es, es2):
    return es + rho / es * es2 / (2 * (1 - rho))  # E[S] + lambda E[S^2] / (2 (1 - rho))


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_md1_pollaczek_khinchine(rho):
    values, _ = replicate(lambda s: service_scenario(rho, cpu=1000, workers=1, seed=s))
    assert_within_ci(values, pollaczek_khinchine(rho, 1.0, 1.0))


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mg1_hyperexponential_pollaczek_khinchine(rho):
    # Mean 1 s: 0.9 x 0.5 s + 0.1 x 5.5 s; E[S^2] = 2 (0.9 x 0.25 + 0.1 x 30.25) = 6.5.
    cpu = {"dist": "hyperexponential", "means": [500, 5500], "probs": [0.9, 0.1]}
    values, _ = replicate(lambda s: service_scenario(rho, cpu=cpu, workers=1, seed=s))
    assert_within_ci(values, pollaczek_khinchine(rho, 1.0, 6.5), tol=0.05)


def test_processor_sharing_response_is_proportional_to_job_size():
    # M/G/1-PS: E[T | S = x] = x / (1 - rho), whatever the service distribution.
    rho = 0.8
    cpu = {"dist": "empirical", "values": [500, 1500]}
    _, runs = replicate(lambda s: service_scenario(rho, cpu=cpu, seed=s))
    for size in (500, 1500):
        per_run = np.array([r.requests.latency_s[(r.requests.cpu_mi == size)].mean() for r in runs])
        assert_within_ci(per_run, size / 1000 / (1 - rho))


def test_littles_law_holds_on_every_station():
    sc = service_scenario(0.7, cpu=EXP, workers=2, duration=5000)
    from vsim.model.build import build_simulation, controller

    sim = build_simulation(sc)
    sim.run()
    services = controller(sim, "services")
    (station,) = services.stations.values()
    now = sc.duration
    mean_n, throughput = station.little(now)
    # W over every request that left, measured at this station (arrival to departure).
    rows = services.requests.frame()
    assert len(rows) > 3000
    # Little: L = lambda W, up to the requests still inside at the end (at most a few dozen).
    w = (rows.end_s - rows.arrival_s).mean()
    assert mean_n == pytest.approx(throughput * w, rel=0.02)


def test_queue_capacity_rejects_and_timeouts_are_counted():
    # Heavy overload: one worker, room for 5 waiting, impatient after 2 s; nothing is lost.
    sc = service_scenario(0.5, cpu=EXP, workers=1, duration=2000, rate=3.0, queue=5, timeout=2)
    res = vsim.run(sc)
    s = res.summary
    assert s["requests_rejected"] > 0 and s["requests_timed_out"] > 0
    counted = s["requests_completed"] + s["requests_rejected"] + s["requests_timed_out"]
    assert counted == len(res.requests)
