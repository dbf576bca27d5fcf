"""Requests on a time-sliced host (scheduler.cpu: timeslice): their CPU phase runs round robin
in quanta on the guest's vCPUs, and each request counts the CPU ready time it sat through.

The round robin is checked against the independent one-CPU kernel (vsim.core.timeslice.
rr_queue) and a hand-computed two-vCPU schedule; whole runs against queueing theory: as the
quantum goes to 0 the mean response is processor sharing's E[S] / (1 - rho), as it grows past
every request it is FCFS's Pollaczek-Khinchine value (Kleinrock, Queueing Systems vol. 1, 1975,
and vol. 2, 1976), monotone in between, each inside the 95 % confidence interval over
replications. No parameter is fitted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.core.timeslice import rr_queue
from vsim.experiment.verify_cases import EXP, HYPEREXP, HYPEREXP_ES2, service_scenario
from vsim.model.slicedcpu import RoundRobinCpu
from vsim.scenario import validate_scenario


class _Req:
    def __init__(self, work: float):
        self.work, self.ready = work, 0.0


def _drive(cpu: RoundRobinCpu, arrivals, works, rate_per_vcpu: float, wait: float = 0.0):
    """Run requests through ``cpu`` as a station does; returns each one's response time."""
    reqs = [_Req(w) for w in works]
    end = [math.nan] * len(reqs)
    t, nxt = 0.0, 0

    def rerate(now):
        cpu.set_rate(rate_per_vcpu * min(len(cpu), cpu.vcpus), wait, now)

    while nxt < len(reqs) or len(cpu):
        due = t + cpu.next_end() if len(cpu) else math.inf
        if nxt < len(reqs) and arrivals[nxt] <= due:
            t = arrivals[nxt]
            cpu.add(reqs[nxt], t)
            nxt += 1
        else:
            t = due
            done = cpu.slice_end(t)
            if done is not None:
                end[reqs.index(done)] = t
        rerate(t)
    return [e - a for e, a in zip(end, arrivals, strict=True)], reqs


@pytest.mark.parametrize("q", [0.05, 0.3, 2.0, math.inf])
def test_one_vcpu_round_robin_is_the_kernels(q):
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1.25, 3000)).tolist()
    works = rng.exponential(1.0, 3000).tolist()
    got, _ = _drive(RoundRobinCpu(1, q * 1000.0), arrivals, [w * 1000 for w in works], 1000.0)
    np.testing.assert_allclose(got, rr_queue(arrivals, works, q), rtol=1e-9, atol=1e-9)


def test_two_vcpus_by_hand():
    # Three requests of 1 s at t = 0 on 2 vCPUs, quantum 0.5 s. [0, .5]: A, B. At .5 A goes
    # behind C (queue C, A), C starts; B goes behind A (queue A, B), A starts. At 1: C goes
    # behind B, B starts; A is done and C takes its vCPU. B and C end at 1.5.
    got, _ = _drive(RoundRobinCpu(2, 500.0), [0.0, 0.0, 0.0], [1000.0] * 3, 1000.0)
    assert got == pytest.approx([1.0, 1.5, 1.5], rel=1e-12)


def test_a_lone_request_keeps_its_vcpu_and_counts_its_waits():
    # A vCPU that waits half its time: 1000 MI at 500 MIPS take 2 s, of which 1 s is waiting;
    # nobody else waits, so the 0.1 s quanta cost no event.
    cpu = RoundRobinCpu(1, 100.0)
    got, reqs = _drive(cpu, [0.0], [1000.0], 500.0, wait=0.5)
    assert got == pytest.approx([2.0], rel=1e-12)
    assert reqs[0].ready == pytest.approx(1.0, rel=1e-12)


# ---------------------------------------------------------------- whole runs against theory

RHO, REPS, SPAN = 0.5, 6, 6000.0


def _sliced(cpu, q: float, seed: int):
    sc = service_scenario(RHO, cpu=cpu, seed=seed, duration=SPAN)
    data = sc.model_dump(mode="json", exclude_unset=True)
    data["scheduler"] = {"cpu": "timeslice", "timeslice": {"quantum": q, "switch_cost": 0}}
    return validate_scenario(data)


def _means(cpu, quanta) -> np.ndarray:
    """Mean response per replication (seeds 1..REPS) and quantum; the same seed draws the same
    arrivals and works whatever the quantum (common random numbers)."""
    return np.array(
        [
            [vsim.run(_sliced(cpu, q, seed)).summary["latency_s_mean"] for q in quanta]
            for seed in range(1, REPS + 1)
        ]
    )


def _inside(x: np.ndarray, reference: float) -> bool:
    """``reference`` inside the 95 % Student-t interval of the replications' mean."""
    half = 2.571 * x.std(ddof=1) / math.sqrt(len(x))  # t(0.975, 5 degrees of freedom)
    return abs(x.mean() - reference) <= half


def test_mm1_in_a_run_round_robin_limits_are_1_over_mu_minus_lambda():
    # Exponential service: PS and FCFS both give E[T] = 1 / (mu - lambda) = 2 s.
    res = _means(EXP, [0.05, 1000.0])
    assert _inside(res[:, 0], 1 / (1 - RHO)) and _inside(res[:, 1], 1 / (1 - RHO))


def test_mh1_in_a_run_moves_from_ps_to_fcfs_monotonically():
    # H2 service, E[S] = 1 s, E[S^2] = 6.5 s^2: PS E[S] / (1 - rho) = 2 s; FCFS (a quantum of
    # 1000 s is longer than any request) E[S] + lambda E[S^2] / (2 (1 - rho)) = 4.25 s.
    res = _means(HYPEREXP, [0.05, 0.5, 2.0, 1000.0])
    assert _inside(res[:, 0], 1 / (1 - RHO))
    assert _inside(res[:, -1], 1 + RHO * HYPEREXP_ES2 / (2 * (1 - RHO)))
    assert not _inside(res[:, 0], 4.25) and not _inside(res[:, -1], 2.0)  # the two differ
    assert (np.diff(res, axis=1) > 0).all(), res  # in every replication


def test_requests_on_an_overcommitted_host_count_the_ready_time_they_sit_through(tmp_path):
    # One core, two 1-vCPU VMs: a busy one and a service. While a request runs, both vCPUs
    # want the core and get half of it: 100 MI take 0.2 s, 0.1 s of it waiting.
    (tmp_path / "arrivals.txt").write_text("\n".join(str(10.0 * k + 1) for k in range(20)))
    workloads = {
        "busy": {"kind": "constant", "cpu": 1.0},
        "api": {
            "kind": "service",
            "arrivals": {"process": "trace", "path": str(tmp_path / "arrivals.txt")},
            "cpu": 100,
        },
    }
    sc = scenario(
        [host(cores=1)],
        [vm("hog", "busy"), vm("api", "api")],
        workloads,
        duration=300,
        scheduler={"overcommit": {"cpu": 4}, "cpu": "timeslice", "timeslice": {"switch_cost": 0}},
    )
    res = vsim.run(sc)
    assert res.summary["requests_completed"] == 20
    assert res.summary["latency_s_mean"] == pytest.approx(0.2, rel=1e-9)
    assert res.summary["request_cpu_ready_s_mean"] == pytest.approx(0.1, rel=1e-9)
    assert res.services["cpu_ready_s_mean"].tolist() == pytest.approx([0.1], rel=1e-9)
