"""Xen split-driver I/O: the driver domain (dom0) as a consumer of the host, hand-computed.

The workload in these tests does 10 disk I/Os and 20 packets per MI of useful work, and nothing
else the virtualization layer sees. Under the ``paravirtual`` mode (700 cycles per exit) on the
``xen_split`` path (1 exit per I/O and per packet; Xen 2000 cycles per I/O and 8000 per packet;
dom0 10000 per I/O and 15000 per packet), per MI of useful work:

    alpha (vCPU) = (10 x 700 + 20 x 700) / 1e6            = 0.021
    beta  (Xen)  = (10 x 2000 + 20 x 8000) / 1e6          = 0.18
    delta (dom0) = (10 x 10000 + 20 x 15000) / 1e6        = 0.40

A job of W = 1000 MI on a 1000-MIPS vCPU therefore needs W (1 + alpha) = 1021 MI of vCPU time,
and the host W (1 + alpha + beta + delta) = 1601 MI in all.
"""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from tests.helpers import assert_passes, host, scenario, vm
from vsim.experiment import verify_cases as cases
from vsim.model.driver_domain import DriverDomains, share_with_dom0
from vsim.model.engine import Engine
from vsim.model.overhead import cost
from vsim.scenario import ScenarioError

PROFILE = {"io_ops": 10, "net_packets": 20}
ALPHA, BETA, DELTA = 0.021, 0.18, 0.40
W = 1000.0


def xen_scenario(cores=2, dom0=None, guests=1, hog=False, duration=100):
    dd = {"driver_domain": dom0} if dom0 else {}
    gs = [
        vm("g", "job", count=guests, host="h-0", virtualization="paravirtual", io_path="xen_split")
    ]
    if hog:  # a CPU-bound guest on the virtio path, not costed: it only wants CPU
        gs.append(vm("hog", "spin", host="h-0"))
    return scenario(
        [host(cores=cores, **dd)],
        gs,
        {
            "job": {"kind": "batch", "cpu_work": W, "profile": PROFILE},
            "spin": {"kind": "constant", "cpu": 1.0},
        },
        duration=duration,
        sample_interval=duration,
        # (the hog and the guest share one core's worth of placement room)
        scheduler={"overcommit": {"cpu": 2.0}} if hog else {},
    )


def job_times(res) -> list[float]:
    ev = res.events
    return ev[ev.kind == "job_done"].sort_values("subject").time_s.tolist()


def test_costs_are_rates_times_cycles():
    c = cost(PROFILE, "paravirtual", io_path="xen_split")
    assert c.cpu_in_guest == pytest.approx(ALPHA, rel=1e-12)
    assert c.cpu_on_host == pytest.approx(BETA, rel=1e-12)
    assert c.cpu_in_dom0 == pytest.approx(DELTA, rel=1e-12)
    assert c.in_dom0_by_event == pytest.approx({"io_ops": 0.1, "net_packets": 0.3})
    # every other path leaves dom0 idle
    for path in ("emulated", "paravirtual", "passthrough"):
        assert cost(PROFILE, "paravirtual", io_path=path).cpu_in_dom0 == 0.0


def test_dom0_work_is_conserved_and_off_the_guests_core():
    # Two cores: the guest's vCPU runs at full speed, dom0 and Xen's work fit on the other
    # core (0.98 x (0.18 + 0.40) x 1000 < 1000 MIPS), so the job takes W (1 + alpha) / 1000.
    res = vsim.run(xen_scenario(cores=2))
    assert job_times(res) == [pytest.approx(W * (1 + ALPHA) / 1000.0, rel=1e-12)]
    # Host CPU over the run (2000 MIPS x 100 s x mean utilization) is the per-operation cost
    # times the operations plus the useful work: W (1 + alpha + beta + delta) = 1601 MI; the
    # hypervisor's share of it (Xen and dom0) is W (beta + delta) = 580 MI.
    s = res.summary
    assert s.cpu_util_mean * 2000 * 100 == pytest.approx(W * (1 + ALPHA + BETA + DELTA), rel=1e-9)
    assert s.hypervisor_cpu_frac == pytest.approx((BETA + DELTA) / (1 + ALPHA + BETA + DELTA))
    # the guest's own vCPU time does not include dom0's work; its overhead does
    g = res.guests.iloc[0]
    assert g.cpu_alloc_mips * 100 == pytest.approx(W * (1 + ALPHA), rel=1e-9)
    assert g.cpu_overhead_mips * 100 == pytest.approx(W * (ALPHA + BETA + DELTA), rel=1e-9)


def test_dom0_contends_for_the_guests_core():
    # One core shared by the guest and dom0: every MI of useful work costs 1.601 MI of it.
    assert job_times(vsim.run(xen_scenario(cores=1))) == [pytest.approx(1.601, rel=1e-12)]
    # Two guests on two cores: together they need 2 x 1.601 x x = 2000 MIPS, x = 624.6 each.
    times = job_times(vsim.run(xen_scenario(cores=2, guests=2)))
    assert times == [pytest.approx(1.601, rel=1e-12)] * 2


def test_pinned_dom0_keeps_its_core_and_the_guests_lose_it():
    # dom0 pinned on one of two cores: the guest has one core for its vCPU work and Xen's,
    # 1.201 MI per MI of useful work; dom0's 0.4 fits on its own core.
    res = vsim.run(xen_scenario(cores=2, dom0={"vcpus": 1, "pinned": True}))
    assert job_times(res) == [pytest.approx(1.201, rel=1e-12)]
    # A CPU hog next to the guest does not take dom0's core: the guest gets half the free core.
    res = vsim.run(xen_scenario(cores=2, dom0={"vcpus": 1, "pinned": True}, hog=True))
    assert job_times(res) == [pytest.approx(W / (500.0 / 1.201), rel=1e-9)]


def test_a_dom0_at_its_cap_holds_the_guest_back():
    # dom0 limited to a quarter of a core (250 MIPS) serves at most 250 / 0.4 = 625 MI/s of
    # useful work, pinned or not; the guest's vCPU could do 1000 / 1.021 = 979.
    for pinned in (False, True):
        sc = xen_scenario(cores=2, dom0={"vcpus": 0.25, "pinned": pinned})
        assert job_times(vsim.run(sc)) == [pytest.approx(W / 625.0, rel=1e-12)]


def test_dom0_weight_limits_it_only_when_others_want_the_cpu():
    # One core, dom0 weight 256 against the guest's 1024: alone with its guest, dom0 still gets
    # all the guest's I/O needs (the scheduler is work-conserving): 1.601 s as with equal weights.
    sc = xen_scenario(cores=1, dom0={"cpu_shares": 256})
    assert job_times(vsim.run(sc)) == [pytest.approx(1.601, rel=1e-12)]


def test_dom0_weight_against_a_cpu_hog_by_progressive_filling():
    # One 1000-MIPS core: a hog (weight 1024, wants 1000), the Xen guest (1024, wants
    # 979.4 x 1.201 = 1176.3) and dom0 (256). At level L, dom0 gets 256 L, which serves
    # 256 L / 0.4 of useful work, i.e. 256 L x 1.201 / 0.4 = 768.64 L of the guest's CPU;
    # the hog 1024 L. The core fills at (1024 + 768.64 + 256) L = 1000.
    level = 1000.0 / (1024 + 256 * 1.201 / 0.4 + 256)
    dd = DriverDomains(
        delta=np.array([DELTA]),
        cap=np.array([1000.0]),
        pinned=np.array([False]),
        shares=np.array([256.0]),
    )
    k_tot = 1 + ALPHA + BETA
    grant = share_with_dom0(
        dd,
        np.array([1000.0]),
        slice(None),
        (np.array([0, 0]), np.array([1024.0, 1024.0]), np.array([1000 / 1.021 * k_tot, 1000.0])),
        (np.array([DELTA]), np.array([k_tot])),
    )
    assert grant == pytest.approx([256 * level * k_tot / DELTA, 1024 * level], rel=1e-12)
    # nothing idles: the guest's grant, dom0's work for it and the hog's fill the core
    assert grant[0] * (1 + DELTA / k_tot) + grant[1] == pytest.approx(1000.0, rel=1e-12)


def test_no_split_driver_guest_means_no_driver_domain():
    sc = scenario([host()], [vm("g", "job")], {"job": {"kind": "batch", "cpu_work": W}})
    assert Engine(sc).driver is None


def test_pinning_every_core_is_a_clear_error():
    with pytest.raises(ScenarioError, match="driver_domain.vcpus = 2.0 pinned"):
        xen_scenario(cores=2, dom0={"vcpus": 2, "pinned": True})


def test_one_host_solves_match_the_hand_computation_on_every_host():
    # Two one-core hosts, each with a Xen guest; the shorter job's end re-solves its host
    # alone (the engine's one-host solve), which must leave the other host's rate as it was.
    sc = scenario(
        [host(count=2, cores=1)],
        [
            vm("a", "short", host="h-0", virtualization="paravirtual", io_path="xen_split"),
            vm("b", "long", host="h-1", virtualization="paravirtual", io_path="xen_split"),
        ],
        {
            "short": {"kind": "batch", "cpu_work": W, "profile": PROFILE},
            "long": {"kind": "batch", "cpu_work": 3 * W, "profile": PROFILE},
        },
        duration=100,
        sample_interval=100,
    )
    res = vsim.run(sc)
    assert job_times(res) == [pytest.approx(1.601, rel=1e-12), pytest.approx(3 * 1.601, rel=1e-12)]


def test_containers_in_a_xen_vm_charge_dom0_at_the_vms_rate():
    # A container inside the Xen VM (one core): the VM's factors (its own workload's profile)
    # apply to the container's work, so its batch job of W MI takes W x 1.601 / 1000 s.
    sc = scenario(
        [host(cores=1)],
        [
            vm("v", "idle", host="h-0", virtualization="paravirtual", io_path="xen_split"),
            {
                "name": "c",
                "kind": "container",
                "memory": "512MiB",
                "in_vm": "v",
                "workload": "job",
                "boot_time": 0,
            },
        ],
        {
            "job": {"kind": "batch", "cpu_work": W, "profile": PROFILE},
            "idle": {"kind": "constant", "cpu": 0.0, "profile": PROFILE},  # the VM's factors
        },
        duration=100,
        sample_interval=100,
    )
    res = vsim.run(sc)
    assert job_times(res) == [pytest.approx(1.601, rel=1e-9)]


def test_vsim_verify_case_for_the_driver_domain_passes():
    case = cases.xen_dom0_sharing()
    assert_passes(case.check([case.measure(vsim.run(case.scenario(1)))]))


def test_per_packet_costs_agree_with_menon_et_al_2006():
    # Menon, Cox, Zwaenepoel (USENIX ATC 2006, abstract): after an 18 % improvement a guest
    # still receives 61 % less than native, so 0.39 / 1.18 of native before. With all work on
    # one CPU, vsim's receive rate relative to native is native cycles / (native + the path's
    # extra cycles per packet). The native 11,500 cycles per packet come from the recollected
    # Menon et al. (VEE 2005) figures the per-packet costs were derived from: this checks that
    # recollection against the verified 2006 figures, not the model against a measurement.
    from vsim.scenario.virtualization import IO_PATH_COSTS, MODE_COSTS

    xen = IO_PATH_COSTS["xen_split"]
    extra = (
        xen.exits_per_packet * MODE_COSTS["paravirtual"].exit
        + xen.host_cycles_per_packet
        + xen.dom0_cycles_per_packet
    )
    assert 11_500 / (11_500 + extra) == pytest.approx((1 - 0.61) / 1.18, abs=0.01)


def test_placement_does_not_offer_a_pinned_dom0s_cores():
    # 4 cores, dom0 pinned on 1: three 1-vCPU guests fit, a fourth is rejected for room.
    gs = [vm("g", "job", count=4, virtualization="paravirtual", io_path="xen_split")]
    wl = {"job": {"kind": "batch", "cpu_work": W, "profile": PROFILE}}
    pinned = scenario([host(cores=4, driver_domain={"vcpus": 1, "pinned": True})], gs, wl)
    assert vsim.run(pinned).summary.guests_rejected == 1
    assert vsim.run(scenario([host(cores=4)], gs, wl)).summary.guests_rejected == 0
