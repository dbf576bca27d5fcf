"""The scalar one-host solve gives what the engine's array solve gives.

The array solve is the reference: it is validated against closed forms elsewhere (processor
sharing, swap, virtualization factors). Here the same scenarios run with one-host changes solved
either way, and every recorded number must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vsim.model.resolve as resolve
from tests.helpers import host, scenario, vm
from vsim.experiment.run import collect
from vsim.model.build import build_simulation

#: A time-sliced host that loses a sixth of its capacity to switches where it is sliced.
SLICED = {
    "cpu": "timeslice",
    "timeslice": {"quantum": "10ms", "switch_cost": "1ms", "cache_refill": "1ms"},
}


def mixed(seed: int, **scheduler):
    """Two small hosts under every kind of one-host change the engine solves locally: batch
    jobs moving through CPU, disk and network phases and repeating, a request-level service
    whose queue grows and drains, weighted shares and caps, virtualization overhead, disk
    streams, batch executions each with its own weight, and memory overcommitted into swap."""
    workloads = {
        "phases": {"kind": "batch", "cpu_work": 3000, "io_bytes": "200MB", "net_bytes": "50MB"},
        "repeat": {"kind": "batch", "cpu_work": 700, "repeat": 6},
        "weighed": {"kind": "batch", "cpu_work": 500, "repeat": 5, "execution_shares": [300, 2500]},
        "mixed_repeat": {"kind": "batch", "cpu_work": 400, "io_bytes": "20MB", "repeat": 3},
        "stream": {"kind": "constant", "cpu": 0.6, "memory": 0.9, "disk": "30MB/s"},
        "api": {
            "kind": "service",
            "arrivals": {"process": "poisson", "rate": 3.0},
            "cpu": {"dist": "exponential", "mean": 300},
            "workers": 2,
        },
    }
    guests = [
        vm("job", "phases", count=2, virtualization="binary_translation"),
        vm("rep", "repeat", count=2, cpu_shares=2048),
        vm("prio", "weighed", count=2, memory="256MiB"),
        vm("mix", "mixed_repeat", count=2, vcpus=2, cpu_limit=0.5),
        vm("hog", "stream", count=2, memory="3GiB", virtualization="paravirtual"),
        vm("api", "api", count=2, vcpus=2),
    ]
    return scenario(
        [host(count=2, cores=2, memory="4GiB", disk_bandwidth="100MB/s", disk_iops=5000)],
        guests,
        workloads,
        duration=120,
        sample_interval=10,
        seed=seed,
        scheduler={"policy": "round_robin", "overcommit": {"cpu": 4, "memory": 2}, **scheduler},
    )


def run(sc, scalar: bool, calls: list[int]):
    sim = build_simulation(sc)
    sim.resolve.scalar_host_solve = scalar
    sim.run()
    calls.append(sim.n_events)
    return collect(sim, wall_time_s=0.0)


@pytest.mark.parametrize("seed,scheduler", [(1, {}), (2, {}), (3, {}), (1, SLICED), (2, SLICED)])
def test_scalar_one_host_solve_matches_the_array_solve(seed, scheduler, monkeypatch):
    used = []
    real = resolve.reshare_host

    def counting(sim, h):
        done = real(sim, h)
        used.append(done)
        return done

    monkeypatch.setattr(resolve, "reshare_host", counting)
    sc = mixed(seed, **scheduler)
    events: list[int] = []
    fast = run(sc, True, events)
    assert sum(used) > 100  # the scalar path really ran, many times
    reference = run(sc, False, events)
    assert events[0] == events[1]
    for frame in ("hosts", "guests"):
        a, b = getattr(fast, frame), getattr(reference, frame)
        num = a.select_dtypes("number").columns
        pd.testing.assert_frame_equal(a[num], b[num], rtol=1e-9, atol=1e-6)
    ev_a, ev_b = fast.events, reference.events
    assert list(ev_a.kind) == list(ev_b.kind)
    np.testing.assert_allclose(ev_a.time_s, ev_b.time_s, rtol=1e-9)
    assert len(fast.requests) == len(reference.requests)
    np.testing.assert_allclose(fast.requests.latency_s, reference.requests.latency_s, rtol=1e-9)
    for key, value in reference.summary.items():
        if isinstance(value, float) and key != "wall_time_s":
            assert fast.summary[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key
