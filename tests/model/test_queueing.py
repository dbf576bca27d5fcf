"""Request-level services against queueing theory.

Each case runs independent replications (seeds 1..R), builds a 95 % Student-t confidence
interval of the mean response time, and requires the analytic value to lie within it widened by
a stated tolerance (TOL, relative). One 1000-MIPS core serves requests of mean 1000 MI, so the
mean service time is 1 s and the utilization equals the arrival rate. The cases, their
scenarios and their closed forms are those of ``vsim verify`` (``vsim.experiment.verify_cases``).
"""

from __future__ import annotations

import pytest

import vsim
from tests.helpers import assert_passes
from vsim.experiment import verify_cases as cases
from vsim.experiment.verify_cases import EXP, UTILIZATIONS, service_scenario


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mm1_processor_sharing_mean_response(rho):
    assert_passes(cases.mm1_ps(rho).evaluate())  # E[T] = E[S] / (1 - rho)


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mm1_fcfs_single_worker(rho):
    assert_passes(cases.mm1_fcfs(rho).evaluate())


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mmc_fcfs_erlang_c(rho):
    assert_passes(cases.mmc_erlang_c(rho, c=4).evaluate())  # E[S] + C(c,a) E[S] / (c - a)


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_md1_pollaczek_khinchine(rho):
    assert_passes(cases.md1(rho).evaluate())


@pytest.mark.parametrize("rho", UTILIZATIONS)
def test_mg1_hyperexponential_pollaczek_khinchine(rho):
    assert_passes(cases.mg1_hyperexponential(rho).evaluate())  # 5 % on top of the interval


def test_processor_sharing_response_is_proportional_to_job_size():
    # M/G/1-PS: E[T | S = x] = x / (1 - rho), whatever the service distribution.
    assert_passes(cases.ps_insensitivity(0.8).evaluate())


def test_the_references_are_the_textbook_values():
    # Erlang C by hand: C(2, 1) = (1/2 / (1/2)) / (1 + 1 + 1) = 1/3; M/D/1 at rho = 0.5:
    # 1 + 0.5 x 1 / (2 x 0.5) = 1.5 s.
    assert cases.erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    assert cases.pollaczek_khinchine(0.5, 1.0, 1.0) == pytest.approx(1.5, rel=1e-12)
    (q,) = cases.mmc_erlang_c(0.5, c=4).quantities
    assert q.reference == pytest.approx(1 + cases.erlang_c(4, 2.0) / 2, rel=1e-12)


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
