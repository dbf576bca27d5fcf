"""End-to-end checks of the fluid engine against allocations and schedules computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vsim
from tests.helpers import assert_passes, host, scenario, vm
from vsim.experiment import verify_cases as cases

FULL = {"full": {"kind": "constant", "cpu": 1.0}}


def guest_mean(res: vsim.Result, column: str) -> pd.Series:
    return res.guests.groupby("guest", observed=True)[column].mean()


def test_three_full_vms_on_two_cores_get_two_thirds_each():
    # 3 single-vCPU VMs each wanting a whole 1000-MIPS core on one 2-core host: equal weights,
    # so each gets 2000/3 MIPS and a third of the demand goes unmet (vsim verify's case).
    case = cases.three_vms_on_two_cores()
    res = vsim.run(case.scenario(1))
    assert_passes(case.check([case.measure(res)]))
    np.testing.assert_allclose(guest_mean(res, "cpu_demand_mips"), 1000, rtol=1e-12)
    assert res.summary["cpu_util_mean"] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("cap", [None, 0.4])
def test_shares_and_a_cap_split_the_cpu_by_weighted_max_min(cap):
    # Weights 1:1:2 on 2 cores, each could use 2 cores: 0.5, 0.5, 1.0 cores. Cap c at 0.4
    # cores (CFS quota): the others split the rest, 0.8 cores each.
    case = cases.cpu_shares(cap)
    expected = [500, 500, 1000] if cap is None else [800, 800, 400]
    assert [q.reference for q in case.quantities] == expected
    assert_passes(case.evaluate())  # each within 1e-12


def test_batch_jobs_follow_processor_sharing():
    # Two jobs of 1000 and 3000 MI on one 1000-MIPS core: both run at 500 MIPS until the small one
    # ends at t=2 s, then the big one has 2000 MI left at 1000 MIPS and ends at t=4 s.
    assert_passes(cases.batch_processor_sharing().evaluate())


def test_batch_io_phase_shares_the_disk():
    # After 1 s of CPU (1000 MI at 1000 MIPS) each job writes 1 GB; two jobs on one 100 MB/s disk
    # share it equally: 1 + 2e9/1e8 = 21 s for both.
    case = cases.disk_sharing()
    res = vsim.run(case.scenario(1))
    np.testing.assert_allclose(res.events.query("kind == 'job_done'").time_s, [21.0, 21.0])
    assert_passes(case.check([case.measure(res)]))  # each end within 1e-12


def test_containers_inside_a_vm_share_what_the_vm_gets():
    # A 2-vCPU VM holds two containers that each want 2 cores, shares 1:3: the VM's 2000 MIPS
    # split 500 / 1500.
    guests = [
        vm("box", None, vcpus=2),
        {
            "name": "c1",
            "kind": "container",
            "vcpus": 2,
            "memory": "256MiB",
            "cpu_shares": 1024,
            "workload": "full",
            "in_vm": "box",
            "boot_time": 0,
        },
        {
            "name": "c3",
            "kind": "container",
            "vcpus": 2,
            "memory": "256MiB",
            "cpu_shares": 3072,
            "workload": "full",
            "in_vm": "box",
            "boot_time": 0,
        },
    ]
    res = vsim.run(scenario([host(cores=4)], guests, FULL))
    alloc = guest_mean(res, "cpu_alloc_mips")
    np.testing.assert_allclose(alloc[["c1", "c3"]], [500, 1500], rtol=1e-12)
    assert res.hosts.cpu_util.mean() == pytest.approx(0.5, rel=1e-12)


def test_memory_overcommit_costs_swap_io_and_slowdown():
    # Two VMs using all of their 8 GiB on an 8 GiB host: half of each is swapped out. With the
    # default penalty 10 a guest progresses at 1/(1 + 10 * 0.5) = 1/6 of its grant, and each
    # reads 0.01/s of its 4 GiB swapped memory back: 42.9 MB/s, i.e. 10486 page-ins/s, more than
    # the disk's 10,000 IOPS, so the disk is saturated on IOPS.
    sc = scenario(
        [host(cores=2, memory="8GiB", disk_iops=10000)],
        [vm("v", "full", count=2, memory="8GiB")],
        FULL,
        scheduler={"overcommit": {"memory": 2}},
    )
    res = vsim.run(sc)
    assert res.summary["unmet_cpu_frac"] == pytest.approx(1 - 1 / 6, rel=1e-12)
    assert res.summary["mem_util_mean"] == pytest.approx(2.0, rel=1e-12)
    assert res.summary["disk_util_mean"] == pytest.approx(1.0, rel=1e-12)


def test_boot_pause_and_stop_are_integrated_exactly_within_a_sample():
    # One full-core VM: boots for 30 s, runs, paused 100..160 s, stopped at 250 s.
    # It runs for (100-30) + (250-160) = 160 s of the 300 s sample: mean 1000*160/300 MIPS.
    g = vm("v", "full", boot_time=30, stop=250)
    events = [
        {"at": 100, "action": "pause", "guest": "v"},
        {"at": 160, "action": "resume", "guest": "v"},
    ]
    res = vsim.run(scenario([host(cores=1)], [g], FULL, events=events))
    assert res.guests.cpu_alloc_mips.iloc[0] == pytest.approx(1000 * 160 / 300, rel=1e-12)
    kinds = res.events.set_index("kind").time_s
    assert kinds["running"] == 30 and kinds["paused"] == 100 and kinds["stopped"] == 250


def test_default_boot_times_vm_slower_than_container():
    guests = [
        {"name": "v", "kind": "vm", "memory": "1GiB"},
        {"name": "c", "kind": "container", "memory": "1GiB"},
    ]
    ev = vsim.run(scenario([host(cores=2)], guests)).events
    up = ev[ev.kind == "running"].set_index("subject").time_s
    assert up["c"] < 1.0 < 10.0 < up["v"]


def test_trace_demand_is_stepped_at_sample_boundaries(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("time,guest,cpu\n0,a,0.1\n0,b,0.4\n100,a,0.7\n200,b,0.9\n")
    wl = {"tr": {"kind": "csv", "path": str(csv)}}
    sc = scenario(
        [host(cores=2)], [vm("a", "tr"), vm("b", "tr")], wl, duration=300, sample_interval=100
    )
    g = vsim.run(sc).guests.pivot(index="time_s", columns="guest", values="cpu_demand_mips")
    np.testing.assert_allclose(g["a"], [100, 700, 700], rtol=1e-12)
    np.testing.assert_allclose(g["b"], [400, 400, 900], rtol=1e-12)


def test_guests_that_fit_nowhere_are_rejected_and_counted():
    sc = scenario([host(cores=2, memory="4GiB")], [vm("v", None, count=3, memory="2GiB")])
    res = vsim.run(sc)
    assert res.summary["guests_rejected"] == 1
    assert (res.events.kind == "rejected").sum() == 1


def test_anti_affinity_spreads_replicas():
    sc = scenario([host(count=3, cores=8)], [vm("r", None, count=3, anti_affinity="svc")])
    placed = vsim.run(sc).events.query("kind == 'placed'").detail
    assert sorted(placed) == ["h-0", "h-1", "h-2"]


def test_same_seed_same_results_bit_for_bit():
    res = [vsim.run("scenarios/quickstart.yaml") for _ in range(2)]
    for name in ("hosts", "guests", "events"):
        pd.testing.assert_frame_equal(
            getattr(res[0], name), getattr(res[1], name), check_exact=True
        )
    a, b = (r.summary.drop("wall_time_s") for r in res)
    pd.testing.assert_series_equal(a, b, check_exact=True)


def test_anti_affinity_holds_across_guests_started_later():
    # The third replica starts an hour later; it must still avoid the two hosts holding the others.
    guests = [
        vm("r", None, count=2, anti_affinity="svc"),
        vm("late", None, start=3600, anti_affinity="svc"),
    ]
    sc = scenario(
        [host(count=3, cores=8)], guests, duration=7200, scheduler={"policy": "first_fit"}
    )
    placed = vsim.run(sc).events.query("kind == 'placed'").set_index("subject").detail
    assert placed["late"] == "h-2"


def test_energy_integrates_the_power_table_exactly():
    # ML110 G4 table: 0.5 cores busy of 2 = 25 % -> 92.6 + 0.5 * (96.0 - 92.6) = 94.3 W for the
    # first hour; the VM stops at 1 h and the host idles at 86 W for the second hour.
    # Energy = (94.3 + 86) W x 3600 s = 0.18030 kWh.
    power = {"model": "specpower", "table": "hp_ml110_g4"}
    sc = scenario(
        [host(cores=2, power=power)],
        [vm("v", "half", stop=3600)],
        {"half": {"kind": "constant", "cpu": 0.5}},
        duration=7200,
        sample_interval=3600,
    )
    res = vsim.run(sc)
    assert res.summary["energy_kwh"] == pytest.approx((94.3 + 86.0) * 3600 / 3.6e6, rel=1e-12)
    np.testing.assert_allclose(res.hosts.power_w, [94.3, 86.0], rtol=1e-12)


def run_on_one_core(workloads: dict, guests: list, events: list | None = None) -> vsim.Result:
    """``guests`` sharing one 1000-MIPS core (overcommitted, so they all fit) for 20 s."""
    sc = scenario(
        [host(cores=1)],
        guests,
        workloads,
        duration=20,
        sample_interval=20,
        scheduler={"overcommit": {"cpu": 3}},
        events=events or [],
    )
    return vsim.run(sc)


def job_ends(res) -> pd.Series:
    return res.events.query("kind == 'job_done'").set_index("subject").time_s


def test_repeated_executions_run_back_to_back_under_sharing():
    # Two actors on one 1000-MIPS core, each repeating a 1000-MI execution 3 times: they share
    # the core equally throughout, so each execution takes 2 s and both finish at t = 6 s.
    wl = {"rep": {"kind": "batch", "cpu_work": 1000, "repeat": 3}}
    done = job_ends(run_on_one_core(wl, [vm("a", "rep"), vm("b", "rep")]))
    np.testing.assert_allclose(done, [6.0, 6.0], rtol=1e-12)


def test_a_repeated_execution_restarting_leaves_its_neighbours_rates_alone():
    # One 1000-MIPS core: A repeats 1000 MI twice, B runs 3000 MI once. Both run at 500 MIPS
    # until A ends at 4 s (two executions); B then has 1000 MI left at full speed: 5 s.
    wl = {
        "a": {"kind": "batch", "cpu_work": 1000, "repeat": 2},
        "b": {"kind": "batch", "cpu_work": 3000},
    }
    done = job_ends(run_on_one_core(wl, [vm("A", "a"), vm("B", "b")]))
    assert done["A"] == pytest.approx(4.0, abs=1e-12)
    assert done["B"] == pytest.approx(5.0, abs=1e-12)


def test_a_repeated_execution_slowed_midway_ends_at_the_work_conserving_time():
    # One 1000-MIPS core: A repeats 1000 MI three times, B runs 1500 MI once. Both get 500 MIPS
    # until B ends at 3 s, A being 1.5 executions in; A's last 1500 MI then run at 1000 MIPS
    # and end at 4.5 s. The executions run back to back as one phase, so one event ends them
    # all: ``events`` counts that event once, ``job_executions`` counts each execution.
    def run(repeat):
        wl = {
            "a": {"kind": "batch", "cpu_work": 1000, "repeat": repeat},
            "b": {"kind": "batch", "cpu_work": 1500},
        }
        return run_on_one_core(wl, [vm("A", "a"), vm("B", "b")])

    res = run(3)
    done = job_ends(res)
    assert done["B"] == pytest.approx(3.0, abs=1e-12)
    assert done["A"] == pytest.approx(4.5, abs=1e-12)
    once = run(1).summary
    assert res.summary["events"] == once["events"]
    assert (res.summary["job_executions"], once["job_executions"]) == (4, 2)


def test_each_execution_weighs_its_own_shares():
    # One 1000-MIPS core, A and B each repeat 1500 MI twice. A's executions weigh 3 then 1,
    # B's 3 throughout. 0-3 s: equal weights, 500 MIPS each; A's first execution ends at 3 s.
    # Then A weighs 1 against 3: B gets 750 MIPS, its 1500 MI left end at 5 s, A having done
    # 500 of its second; A's last 1000 MI at full speed end at 6 s. Merging A's executions
    # (or keeping weight 3) would end both at 6 s.
    wl = {
        "a": {"kind": "batch", "cpu_work": 1500, "repeat": 2, "execution_shares": [3, 1]},
        "b": {"kind": "batch", "cpu_work": 1500, "repeat": 2, "execution_shares": [3]},
    }
    res = run_on_one_core(wl, [vm("A", "a"), vm("B", "b")])
    done = job_ends(res)
    assert done["B"] == pytest.approx(5.0, abs=1e-12)
    assert done["A"] == pytest.approx(6.0, abs=1e-12)
    # A's two executions end in two events; B's run back to back as one phase.
    assert res.summary["job_executions"] == 4


def test_processor_sharing_around_a_pause_follows_the_hand_schedule():
    # One 1000-MIPS core, jobs of 1000, 2000 and 4000 MI. 0-1 s: a third each (333.3 MI done
    # each). A is paused 1-2 s: B and C get 500 MIPS (833.3 MI done). From 2 s a third each
    # again: A's 666.7 MI left end at 4 s, when B and C have done 1500 MI. B's last 500 MI at
    # 500 MIPS end at 5 s; C then has 2000 MI left at full speed: 7 s. (The end first planned
    # for A, at 3 s, is replaced by the pause; the others' ends are planned as each comes.)
    wl = {
        "a": {"kind": "batch", "cpu_work": 1000},
        "b": {"kind": "batch", "cpu_work": 2000},
        "c": {"kind": "batch", "cpu_work": 4000},
    }
    events = [
        {"at": 1, "action": "pause", "guest": "A"},
        {"at": 2, "action": "resume", "guest": "A"},
    ]
    done = job_ends(run_on_one_core(wl, [vm("A", "a"), vm("B", "b"), vm("C", "c")], events))
    np.testing.assert_allclose(done[["A", "B", "C"]], [4.0, 5.0, 7.0], rtol=1e-12)


def test_a_job_whose_rate_stays_gets_its_end_after_the_first_one_ends():
    # Two 1000-MIPS cores, three single-vCPU jobs of 1000, 2000 and 3000 MI: 666.7 MIPS each
    # until A ends at 1.5 s (1000 MI done each); then B and C run at a full core each, B's
    # 1000 MI left end at 2.5 s, and C, whose rate does not change then, ends at 3.5 s.
    # (Finished jobs stay idle, so each end is solved on its host alone.)
    wl = {
        k: {"kind": "batch", "cpu_work": w, "on_finish": "idle"}
        for k, w in (("a", 1000), ("b", 2000), ("c", 3000))
    }
    sc = scenario(
        [host(cores=2)],
        [vm("A", "a"), vm("B", "b"), vm("C", "c")],
        wl,
        duration=10,
        sample_interval=10,
        scheduler={"overcommit": {"cpu": 2}},
    )
    done = job_ends(vsim.run(sc))
    np.testing.assert_allclose(done[["A", "B", "C"]], [1.5, 2.5, 3.5], rtol=1e-12)
