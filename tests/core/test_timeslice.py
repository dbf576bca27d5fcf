"""Tests of the time-slice kernels (vsim.core.timeslice) against closed forms and hand-computed
schedules: ready time 1 - m/n of n equal vCPUs on m cores, the capacity factor q/(q+s) of a
switch cost, credit shares equal to the fluid mode's weighted max-min, and round robin of an
M/G/1 queue between its limits, processor sharing (q -> 0) and FCFS (q -> infinity)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vsim.core.sharing import maxmin_one
from vsim.core.timeslice import VCpu, rr_queue, schedule_host


@pytest.mark.parametrize(("n", "m"), [(3, 1), (3, 2), (5, 2), (8, 3)])
def test_ready_time_of_equal_busy_vcpus_is_one_minus_m_over_n(n, m):
    q = 0.01
    res = schedule_host([VCpu() for _ in range(n)], m, duration=20 * n * q, quantum=q)
    for i, v in enumerate(res.vcpus):
        assert v.ready_frac == pytest.approx(1 - m / n, rel=1e-12, abs=1e-12)
        assert res.cpu_fraction(i) == pytest.approx(m / n, rel=1e-12)
        assert v.runnable == pytest.approx(res.duration, rel=1e-12)


@pytest.mark.parametrize(("q", "s"), [(0.01, 0.001), (0.005, 0.0005), (0.1, 0.02)])
def test_switch_cost_scales_capacity_by_q_over_q_plus_s(q, s):
    n, m = 4, 2
    res = schedule_host([VCpu() for _ in range(n)], m, 50 * n * (q + s), q, switch_cost=s)
    assert res.useful_capacity() == pytest.approx(q / (q + s), rel=1e-12)
    assert res.switch_time == pytest.approx(res.slices * s, rel=1e-12)


def test_cache_refill_is_run_time_without_progress():
    q, s, r = 0.01, 0.001, 0.002
    res = schedule_host([VCpu() for _ in range(3)], 1, 30 * 3 * (q + s), q, s, r)
    # each slice: s lost to the switch, r of the slice refilling, q - r useful
    assert res.useful_capacity() == pytest.approx((q - r) / (q + s), rel=1e-12)
    v = res.vcpus[0]
    assert v.run - v.useful == pytest.approx(30 * r, rel=1e-12)


def test_round_robin_schedule_by_hand():
    # 3 vCPUs, 2 cores, q = 1: cores take 0,1; then 2 and 0 (queue order 2, 0, 1), then 1, 2.
    res = schedule_host([VCpu() for _ in range(3)], 2, 3.0, 1.0, record=True)
    assert res.log == [
        (0, 0, 0.0, 1.0),
        (1, 1, 0.0, 1.0),
        (0, 2, 1.0, 2.0),
        (1, 0, 1.0, 2.0),
        (0, 1, 2.0, 3.0),
        (1, 2, 2.0, 3.0),
    ]
    assert [v.ready for v in res.vcpus] == [1.0, 1.0, 1.0]


def test_credit_schedule_by_hand():
    # weights 2 and 1 on one core, q = 1: weighted run times decide, ties go to the lower index;
    # vCPU 0 keeps the core without a switch when it is still the least charged.
    res = schedule_host([VCpu(weight=2), VCpu(weight=1)], 1, 6.0, 1.0, policy="credit", record=True)
    assert [(i, a, b) for _, i, a, b in res.log] == [
        (0, 0.0, 1.0),
        (1, 1.0, 2.0),
        (0, 2.0, 3.0),
        (0, 3.0, 4.0),
        (1, 4.0, 5.0),
        (0, 5.0, 6.0),
    ]
    assert res.vcpus[0].switches == 3 and res.vcpus[1].switches == 2
    assert res.cpu_fraction(0) == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    ("cores", "weights", "caps"),
    [
        (1, [1, 2, 3], [math.inf] * 3),
        (2, [1, 1, 4], [math.inf] * 3),
        (2, [1, 2, 2, 3, 8], [math.inf, math.inf, 0.2, math.inf, math.inf]),
        (3, [4, 1, 1, 1, 1, 2], [0.5, math.inf, math.inf, 0.3, math.inf, math.inf]),
    ],
)
def test_credit_shares_equal_the_fluid_weighted_maxmin(cores, weights, caps):
    q, duration = 0.001, 20.0
    vcpus = [VCpu(weight=w, cap=c) for w, c in zip(weights, caps, strict=True)]
    res = schedule_host(vcpus, cores, duration, q, policy="credit")
    fluid = maxmin_one(float(cores), weights, [min(1.0, c) for c in caps])
    got = [res.cpu_fraction(i) for i in range(len(vcpus))]
    # slices are discrete: a vCPU is at most a few quanta (and one cap period) off its share
    assert got == pytest.approx(fluid, abs=0.1 / duration + 3 * q / duration)
    assert sum(got) == pytest.approx(min(cores, sum(fluid)), rel=1e-9)


def test_no_ready_time_where_everything_fits():
    # runnable vCPUs never outnumber the cores: the slices and the fluid share agree exactly
    res = schedule_host([VCpu(util=0.5), VCpu(util=0.25), VCpu()], 3, 10.0, 0.01)
    assert [v.ready for v in res.vcpus] == [0.0, 0.0, 0.0]
    assert [res.cpu_fraction(i) for i in range(3)] == pytest.approx([0.5, 0.25, 1.0], rel=1e-12)
    # each burst of u x period runs straight through: 0.05 s and 0.025 s
    assert res.vcpus[0].bursts == pytest.approx([0.05] * 100, rel=1e-9)
    assert res.vcpus[1].bursts == pytest.approx([0.025] * 100, rel=1e-9)


def test_bursty_vcpus_on_an_overcommitted_core_share_it_and_wait():
    res = schedule_host([VCpu(util=0.3) for _ in range(4)], 1, 20.0, 0.01)
    got = [res.cpu_fraction(i) for i in range(4)]
    assert got == pytest.approx([0.25] * 4, abs=0.002)
    assert all(0.7 < v.ready_frac < 0.8 for v in res.vcpus)


def test_bad_policy_is_refused():
    with pytest.raises(ValueError, match="round_robin"):
        schedule_host([VCpu()], 1, 1.0, 0.01, policy="lottery")


# ---------------------------------------------------------------- round robin of requests

LAM = 0.5  # arrivals per second; service mean 1 s, so rho = 0.5
REPS, N = 8, 4000


def _replications(service, quanta):
    """Mean response per replication and quantum, common random numbers across quanta."""
    out = np.zeros((REPS, len(quanta)))
    for r in range(REPS):
        rng = np.random.default_rng(1000 + r)
        arr = np.cumsum(rng.exponential(1 / LAM, N)).tolist()
        work = service(rng).tolist()
        for j, q in enumerate(quanta):
            out[r, j] = np.mean(rr_queue(arr, work, q))
    return out


def _ci(x):
    """Mean and 95% half-width over replications (Student t, 7 degrees of freedom)."""
    return x.mean(), 2.365 * x.std(ddof=1) / math.sqrt(len(x))


def test_mm1_round_robin_tends_to_ps_and_fcfs_both_1_over_mu_minus_lambda():
    # Exponential service: PS and FCFS have the same mean response 1/(mu - lambda) = 2 s.
    res = _replications(lambda rng: rng.exponential(1.0, N), [0.01, math.inf])
    for j in range(2):
        mean, half = _ci(res[:, j])
        assert abs(mean - 1 / (1 - LAM)) <= half + 0.01


def test_mh1_round_robin_moves_from_ps_to_fcfs_monotonically():
    # Hyperexponential service (0.9 of mean 0.5 s, 0.1 of mean 5.5 s): E[S] = 1, E[S^2] = 6.5.
    # PS (any service law): E[T] = E[S]/(1 - rho) = 2 s. FCFS (Pollaczek-Khinchine):
    # E[T] = E[S] + lambda E[S^2] / (2 (1 - rho)) = 4.25 s.
    def service(rng):
        return rng.exponential(1.0, N) * np.where(rng.random(N) < 0.9, 0.5, 5.5)

    quanta = [0.01, 0.3, 1.0, 3.0, 10.0, math.inf]
    res = _replications(service, quanta)
    ps, fcfs = _ci(res[:, 0]), _ci(res[:, -1])
    assert abs(ps[0] - 2.0) <= ps[1] + 0.01
    assert abs(fcfs[0] - 4.25) <= fcfs[1]
    means = res.mean(axis=0)
    assert all(np.diff(means) > 0), means


def test_random_burst_phases_are_reproducible_and_uncontended_bursts_run_straight():
    def run(seed, n):
        vcpus = [VCpu(util=0.4) for _ in range(n)]
        return schedule_host(vcpus, 2, 5.0, 0.01, rng=np.random.default_rng(seed))

    a, b = run(3, 6), run(3, 6)
    assert [v.bursts for v in a.vcpus] == [v.bursts for v in b.vcpus]
    assert [v.ready for v in a.vcpus] == [v.ready for v in b.vcpus]
    alone = run(3, 2)  # a core each: every burst is its 0.04 s of work
    assert np.concatenate([v.bursts for v in alone.vcpus]) == pytest.approx(0.04, rel=1e-9)
    assert sum(v.ready for v in alone.vcpus) == 0.0
    assert sum(v.ready for v in a.vcpus) > 0  # 6 bursty vCPUs on 2 cores collide


# ---------------------------------------------------------------- relaxed co-scheduling


def test_costop_schedule_by_hand():
    # VM a has vCPUs a0, a1, VM b one vCPU; 2 cores, round robin, q = 1, skew limit 0.5.
    # [0, 1]: a0, a1 run. At 1, a0 goes behind b and takes core 1 at once (b has core 0),
    # a1 waits: a0's progress runs ahead of a1's, and at 1.5 its skew is 0.5: co-stopped, it
    # leaves core 1 to a1, which catches up by 2. Without the limit a0 runs [1, 2] and its skew
    # reaches q = 1.
    def run(limit):
        vcpus = [VCpu(vm=0), VCpu(vm=0), VCpu(vm=1)]
        return schedule_host(vcpus, 2, 2.0, 1.0, record=True, skew_limit=limit)

    free = run(math.inf)
    assert [v.skew_max for v in free.vcpus] == [1.0, 0.0, 0.0]
    assert [v.costop for v in free.vcpus] == [0.0, 0.0, 0.0]
    res = run(0.5)
    assert sorted(res.log, key=lambda s: (s[2], s[0])) == [
        (0, 0, 0.0, 1.0),
        (1, 1, 0.0, 1.0),
        (0, 2, 1.0, 2.0),
        (1, 0, 1.0, 1.5),
        (1, 1, 1.5, 2.0),
    ]
    a0, a1, b = res.vcpus
    assert (a0.run, a0.costop, a0.ready) == (1.5, 0.5, 0.5)  # co-stop is part of its ready
    assert (a1.run, a1.costop, a1.ready) == (1.5, 0.0, 0.5)
    assert (b.run, b.ready) == (1.0, 1.0)
    assert a0.skew_max == 0.5


@pytest.mark.parametrize("limit", [0.003, 0.006])
def test_skew_never_passes_the_limit_and_costop_is_ready_time(limit):
    # Two 2-vCPU VMs and a 1-vCPU VM on 2 cores, busy, 10 ms slices for 20 s.
    def run(lim):
        vcpus = [VCpu(vm=0), VCpu(vm=0), VCpu(vm=1), VCpu(vm=1), VCpu(vm=2)]
        return schedule_host(vcpus, 2, 20.0, 0.01, skew_limit=lim)

    free, co = run(math.inf), run(limit)
    assert max(v.skew_max for v in free.vcpus) > limit  # siblings drift apart unchecked
    assert max(v.skew_max for v in co.vcpus) <= limit + 1e-9
    assert sum(v.costop for v in co.vcpus) > 0
    for v in co.vcpus:  # busy vCPUs: always running or waiting, co-stop inside the wait
        assert v.run + v.ready == pytest.approx(20.0, rel=1e-12)
        assert v.costop <= v.ready
