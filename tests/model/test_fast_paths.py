"""The per-request fast paths give what the general solve gives, on random engine states.

Each case takes an engine midway through a run of request-level services (some hosts
contended, some not; caps, shares and virtualization overhead), changes one service guest's CPU
demand at random, and applies the change once through the fast path and once through the
general mechanism from the same state: the array solve of the guest's host
(:func:`vsim.model.solve.solve_hosts`), and the scalar one-host solve. Rates, their sample
integrals, the run totals and what the next solve starts from must agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.model import guests as gs
from vsim.model import services
from vsim.model.build import build_simulation
from vsim.model.host_share import reshare_host, update_guest_cpu
from vsim.model.solve import solve_hosts


def services_scenario(seed: int):
    """Three hosts: one whose guests fit (the fast path's case), two overcommitted."""
    api = {
        "kind": "service",
        "arrivals": {"process": "poisson", "rate": 2.0},
        "cpu": {"dist": "exponential", "mean": 400},
    }
    guests = [
        vm("fit", "api", count=2, vcpus=2, host="h-0", virtualization="paravirtual"),
        vm("big", "api", count=3, vcpus=2, host="h-1", cpu_shares=2048),
        vm("capped", "api", count=2, vcpus=2, host="h-1", cpu_limit=0.5),
        vm("bt", "api", count=3, vcpus=1, host="h-2", virtualization="binary_translation"),
        vm("one", "api", count=3, vcpus=1, host="h-2"),
    ]
    return scenario(
        [host(count=3, cores=4)],
        guests,
        {"api": api},
        duration=60,
        sample_interval=20,
        seed=seed,
        scheduler={"overcommit": {"cpu": 4}},
    )


def snapshot(sim) -> dict:
    """Everything a CPU change may write."""
    tables = (sim.guest_rates, sim.host_rates)
    arrays = [t.rows for t in tables] + [t.acc_rows for t in tables]
    last = sim.last
    arrays += [last.kept, last.host_request, last.short, last.n_short, sim.want_rows]
    arrays.append(sim.watch.seen)
    return {
        "arrays": [(a, a.copy()) for a in arrays],
        "totals": [(t.total, dict(t.total)) for t in tables],
    }


def restore(snap: dict) -> None:
    for a, saved in snap["arrays"]:
        a[...] = saved
    for total, saved in snap["totals"]:
        total.clear()
        total.update(saved)


def outcome(sim) -> dict:
    last = sim.last
    return {
        "guest_rates": sim.guest_rates.rows.copy(),
        "guest_acc": sim.guest_rates.acc_rows.copy(),
        "host_rates": sim.host_rates.rows.copy(),
        "host_acc": sim.host_rates.acc_rows.copy(),
        "kept_request_grant": last.kept[1:3].copy(),
        "host_request": last.host_request.copy(),
        "short": last.short.copy(),
        "n_short": last.n_short.copy(),
        "totals": [*sim.guest_rates.total.values(), *sim.host_rates.total.values()],
    }


def assert_same(a: dict, b: dict) -> None:
    for key in a:
        np.testing.assert_allclose(
            np.asarray(a[key], dtype=float), np.asarray(b[key], dtype=float), rtol=1e-12, atol=1e-9
        )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_single_guest_update_matches_the_general_solves_on_random_states(seed):
    sim = build_simulation(services_scenario(seed))
    rng = np.random.default_rng(seed)
    fast_cases = slow_cases = 0
    for stop in (7.3, 19.9, 33.1, 51.7):
        sim.env.run(until=stop)
        running = np.flatnonzero(sim.guests.state == gs.RUNNING)
        snap = snapshot(sim)
        for _ in range(40):
            g = int(rng.choice(running))
            h = np.array([sim.guests.host[g]])
            frac = float(rng.choice([0.0, 0.5, 1.0, rng.random()]))
            sim.want["cpu"][g] = frac
            applied = update_guest_cpu(sim, g)
            fast = outcome(sim)
            restore(snap)
            if not applied:  # nothing written when the path does not apply
                slow_cases += 1
                assert_same(fast, outcome(sim))
                continue
            fast_cases += 1
            for general in (solve_hosts, reshare_host):
                sim.want["cpu"][g] = frac
                general(sim, h if general is solve_hosts else int(h[0]))
                assert_same(fast, outcome(sim))
                restore(snap)
    assert fast_cases > 30 and slow_cases > 30  # both branches really ran


def test_a_station_replanning_once_gives_the_same_run(monkeypatch):
    """A station changing its own load re-plans after the re-solve only (the rate watch skips
    it meanwhile); re-planning on the watch's call as well gives the same run to the bit."""

    def run() -> vsim.Result:
        sc = services_scenario(4).model_copy(update={"duration": 120.0})
        return vsim.run(sc)

    once = run()
    monkeypatch.setattr(services.Station, "grant_changed", services.Station.rate_changed)
    twice = run()
    assert once.summary["requests_completed"] > 500
    pd.testing.assert_frame_equal(once.requests, twice.requests, check_exact=True)
    pd.testing.assert_frame_equal(once.hosts, twice.hosts, check_exact=True)
    for key, value in once.summary.items():
        if key != "wall_time_s":
            assert exact(value) == exact(twice.summary[key]), key


def exact(value) -> str:
    return repr(float(value)) if isinstance(value, float | np.floating) else repr(value)
