"""scheduler.cpu: timeslice in whole runs: CPU ready time in the guests table and the summary,
exact where a closed form exists (n busy vCPUs on m cores wait 1 - m/n of their runnable time),
zero where every vCPU has a core, and the fluid results left as they were."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vsim
from tests.helpers import host, scenario, vm

BUSY = {"busy": {"kind": "constant", "cpu": 1.0}, "half": {"kind": "constant", "cpu": 0.5}}


def _run(guests, cores=2, cpu="timeslice", **timeslice):
    ts = {"quantum": 0.01, "switch_cost": 0.0, "window": 0.3, **timeslice}
    sc = scenario(
        [host(cores=cores)],
        guests,
        BUSY,
        duration=900,
        scheduler={"overcommit": {"cpu": 4.0}, "cpu": cpu, "timeslice": ts},
    )
    return vsim.run(sc)


def test_ready_time_of_three_busy_vcpus_on_two_cores_is_one_third():
    res = _run([vm(f"v{i}", "busy") for i in range(3)])
    ready = res.guests["cpu_ready_frac"].to_numpy()
    assert len(ready) == 9  # 3 samples x 3 guests
    assert ready == pytest.approx(np.full(9, 1 - 2 / 3), rel=1e-9)
    assert res.summary["cpu_ready_mean_frac"] == pytest.approx(1 / 3, rel=1e-9)
    assert res.summary["timeslice_slices"] > 0


def test_multi_vcpu_vms_count_every_vcpu():
    # 2 VMs of 2 busy vCPUs and one of 1 on 2 cores: 5 vCPUs, each waits 1 - 2/5.
    guests = [vm("a", "busy", vcpus=2), vm("b", "busy", vcpus=2), vm("c", "busy")]
    res = _run(guests, window=0.5)
    assert res.guests["cpu_ready_frac"].to_numpy() == pytest.approx(np.full(9, 0.6), rel=1e-9)


def test_no_ready_time_where_every_vcpu_has_a_core():
    res = _run([vm("a", "busy"), vm("b", "half")])
    assert (res.guests["cpu_ready_frac"] == 0.0).all()
    assert res.summary["timeslice_slices"] == 0


def test_credit_policy_with_shares_gives_the_heavy_guest_less_ready_time():
    guests = [vm("a", "busy", cpu_shares=4096), vm("b", "busy"), vm("c", "busy")]
    res = _run(guests, policy="credit", quantum=0.001)
    last = res.guests[res.guests.time_s == 900].set_index("guest")["cpu_ready_frac"]
    # fluid shares of 2 cores by weights 4:1:1, each vCPU at most one core: 1, 0.5, 0.5
    assert last["a"] == pytest.approx(0.0, abs=0.01)
    assert last["b"] == pytest.approx(0.5, abs=0.01)


def test_timeslice_without_switch_costs_leaves_the_fluid_results_unchanged():
    # With switch_cost = cache_refill = 0 a slice costs nothing: the fluid rates, bit for bit.
    guests = [vm(f"v{i}", "busy") for i in range(3)]
    fluid, sliced = _run(guests, cpu="fluid"), _run(guests)
    assert "cpu_ready_frac" not in fluid.guests
    pd.testing.assert_frame_equal(fluid.hosts, sliced.hosts)
    pd.testing.assert_frame_equal(fluid.guests, sliced.guests.drop(columns="cpu_ready_frac"))


def test_unknown_cpu_scheduler_is_refused():
    with pytest.raises(Exception, match="timeslice"):
        _run([vm("a", "busy")], cpu="lottery")


def test_a_container_in_a_vm_reports_its_vms_ready_time():
    guests = [
        vm("a", "busy"),
        vm("b", "busy"),
        vm("c", "busy"),
        {
            "name": "box",
            "kind": "container",
            "vcpus": 1,
            "memory": "256MiB",
            "workload": "half",
            "in_vm": "a",
        },
    ]
    res = _run(guests)
    last = res.guests[res.guests.time_s == 900].set_index("guest")["cpu_ready_frac"]
    assert last["box"] == last["a"]
    assert last["a"] == pytest.approx(1 / 3, rel=1e-9)  # still 3 vCPUs on 2 cores


def _useful(res) -> np.ndarray:
    return res.guests["cpu_useful_mips"].to_numpy()


@pytest.mark.parametrize("q,s,r", [(0.01, 0.001, 0.0), (0.01, 0.002, 0.003), (0.001, 5e-5, 1e-4)])
def test_switch_loss_is_charged_to_busy_vcpus_on_an_overcommitted_host(q, s, r):
    # 3 busy vCPUs on 2 cores of 1000 MIPS: every slice switches, so the host delivers
    # 2000 (q - r) / (q + s) MIPS of useful work, a third to each (round robin, equal shares);
    # its cores are busy all the time (switches included) and the unmet demand grows to match.
    res = _run([vm(f"v{i}", "busy") for i in range(3)], switch_cost=s, cache_refill=r, quantum=q)
    useful = 2000 * (q - r) / (q + s) / 3
    assert _useful(res) == pytest.approx(np.full(9, useful), rel=1e-12)
    assert res.hosts["cpu_util"].to_numpy() == pytest.approx(np.ones(3), rel=1e-12)
    assert res.summary["unmet_cpu_frac"] == pytest.approx(1 - useful / 1000, rel=1e-12)


def test_no_switch_loss_where_every_vcpu_has_a_core_or_the_demand_fits():
    ts = {"switch_cost": 0.001, "cache_refill": 0.001}
    # Two busy vCPUs on two cores: nobody is switched out, the fluid answer.
    fits = _run([vm("a", "busy"), vm("b", "busy")], **ts)
    assert _useful(fits) == pytest.approx(np.full(6, 1000.0), rel=1e-12)
    # Four vCPUs at half a core on 2 cores ask 2000 MIPS, more than the 2000 x 9/11 a sliced
    # host delivers: sliced, each gets a quarter of it. Three at half ask 1500 <= 1636: fluid.
    four = _run([vm(f"v{i}", "half") for i in range(4)], **ts)
    assert _useful(four) == pytest.approx(np.full(12, 2000 * 9 / 11 / 4), rel=1e-12)
    three = _run([vm(f"v{i}", "half") for i in range(3)], **ts)
    assert _useful(three) == pytest.approx(np.full(9, 500.0), rel=1e-12)
    assert three.hosts["cpu_util"].to_numpy() == pytest.approx(np.full(3, 0.75), rel=1e-12)


def test_shares_split_the_sliced_capacity_by_weighted_maxmin():
    # Weights 4:1:1 over 2 x 1000 x 10/11 useful MIPS (q = 10 ms, s = 1 ms), each vCPU at most
    # one core: a gets its whole 1000, b and c split the remaining 2000 x 10/11 - 1000.
    guests = [vm("a", "busy", cpu_shares=4096), vm("b", "busy"), vm("c", "busy")]
    res = _run(guests, switch_cost=0.001, policy="credit")
    last = res.guests[res.guests.time_s == 900].set_index("guest")["cpu_useful_mips"]
    rest = (2000 * 10 / 11 - 1000) / 2
    assert list(last) == pytest.approx([1000.0, rest, rest], rel=1e-12)


def test_costop_in_a_run_is_the_hand_computed_schedule():
    # The schedule of tests/core/test_timeslice.py::test_costop_schedule_by_hand as a run's
    # window: VM a (2 vCPUs) and b on 2 cores, q = 1 s, skew limit 0.5 s, 2 s per sample.
    # a0 is co-stopped 0.5 s and waits 0.5 s in all, a1 waits 0.5 s, b 1 s; a's vCPUs were
    # runnable 4 s: ready 1/4, co-stop 1/8; b: ready 1/2, no co-stop.
    guests = [vm("a", "busy", vcpus=2), vm("b", "busy")]
    res = _run(guests, quantum=1.0, window=2.0, skew_limit=0.5)
    last = res.guests[res.guests.time_s == 900].set_index("guest")
    assert list(last["cpu_ready_frac"]) == pytest.approx([0.25, 0.5], rel=1e-12)
    assert list(last["cpu_costop_frac"]) == pytest.approx([0.125, 0.0], rel=1e-12, abs=1e-12)
    assert res.summary["cpu_costop_mean_frac"] == pytest.approx(0.0625, rel=1e-12)
    free = _run(guests, quantum=1.0, window=2.0)
    assert "cpu_costop_frac" not in free.guests
    # Without the limit: a0 runs 2 s, a1 1 s, b 1 s: a waits 1/4 of 4 s, b half of 2 s.
    assert list(free.guests[free.guests.time_s == 900]["cpu_ready_frac"]) == pytest.approx(
        [0.25, 0.5], rel=1e-12
    )
