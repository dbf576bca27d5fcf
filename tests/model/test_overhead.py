"""The virtualization cost model: hand-computed factors, the papers' orderings, closed-form runs."""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.model.overhead import cost, guest_overheads
from vsim.scenario import ScenarioError
from vsim.scenario.virtualization import (
    IO_PATH_COSTS,
    MODE_COSTS,
    MODES,
    PRESETS,
    RATE_KEYS,
    VM_MODES,
)


def rel(profile, mode, **kw) -> float:
    """Relative performance on a dedicated core: 1 / (1 + alpha + beta)."""
    c = cost(profile, mode, **kw)
    return 1.0 / (1.0 + c.cpu_in_guest + c.cpu_on_host)


def test_alpha_and_beta_are_rate_times_cost_summed_as_documented():
    # Hand-computed for binary translation with virtio: 10 syscalls x 2100, 2 faults x 2800,
    # 5 PTE writes x 1300, 100 TLB misses x 0, 1 interrupt x 1500, 3 privileged x 300,
    # 4 I/Os x 1 exit x 1000 cycles, per 1e6 cycles; plus 0.2 x 0.10 of kernel code.
    # Host side: 4 I/Os x 18000 cycles of the virtio backend.
    profile = {
        "syscalls": 10,
        "page_faults": 2,
        "pt_updates": 5,
        "tlb_misses": 100,
        "io_ops": 4,
        "interrupts": 1,
        "privileged": 3,
        "kernel_fraction": 0.2,
    }
    c = cost(profile, "binary_translation", io_path="paravirtual")
    alpha = (10 * 2100 + 2 * 2800 + 5 * 1300 + 1 * 1500 + 3 * 300 + 4 * 1000) / 1e6 + 0.2 * 0.10
    assert c.cpu_in_guest == pytest.approx(alpha, rel=1e-12)
    assert c.cpu_on_host == pytest.approx(4 * 18000 / 1e6, rel=1e-12)
    assert sum(c.in_guest_by_event.values()) == pytest.approx(c.cpu_in_guest, rel=1e-12)


def test_native_costs_nothing_and_containers_cost_only_their_nat():
    for name in PRESETS:
        n = cost(name, "native")
        assert (n.cpu_in_guest, n.cpu_on_host, n.memory, n.net_latency_s) == (0, 0, 0, 0)
        c = cost(name, "container", network="host")
        assert (c.cpu_in_guest, c.cpu_on_host, c.memory) == (0, 0, 0)
    nat = cost({"net_packets": 100}, "container", network="bridge")
    assert nat.cpu_in_guest == 0 and nat.cpu_on_host > 0 and nat.net_latency_s > 0


def test_compute_bound_work_is_within_a_few_percent_of_native_in_every_mode():
    # A&A (SPECint; not verified) and Felter (Linpack, authors' logs): compute-bound work runs
    # near native.
    for mode in MODES:
        assert rel("cpu_bound", mode) > 0.97, mode


def test_containers_are_near_native_on_cpu_and_memory():
    for name in ("cpu_bound", "memory_bound"):
        assert rel(name, "container") == pytest.approx(1.0, abs=1e-3)
        assert rel(name, "container") >= rel(name, "hardware_assisted_nested_paging")


def test_binary_translation_beats_early_vtx_on_fork_and_syscall_heavy_work():
    # A&A: forkwait and compile jobs run faster on the software VMM than on first-gen VT-x.
    assert rel("syscall_heavy", "binary_translation") > rel("syscall_heavy", "hardware_assisted")
    forkwait = {"pt_updates": 3500, "page_faults": 175, "privileged": 70, "kernel_fraction": 0.9}
    assert rel(forkwait, "binary_translation") > 2 * rel(forkwait, "hardware_assisted")


def test_vtx_beats_binary_translation_on_bare_system_calls():
    # A&A nanobenchmark "syscall": VT-x runs system calls natively, BT pays ~10x.
    assert rel({"syscalls": 4000}, "hardware_assisted") == 1.0
    assert rel({"syscalls": 4000}, "binary_translation") < 0.2


def test_nested_paging_beats_shadow_paging_on_page_table_heavy_work():
    for profile in ("syscall_heavy", {"page_faults": 500}, {"pt_updates": 1000}):
        np_rel = rel(profile, "hardware_assisted_nested_paging")
        for shadow in ("trap_and_emulate", "binary_translation", "hardware_assisted"):
            assert np_rel > rel(profile, shadow), (profile, shadow)
    # ... but pays for its two-dimensional page walks on TLB-miss heavy work.
    assert rel({"tlb_misses": 1000}, "hardware_assisted_nested_paging") < rel(
        {"tlb_misses": 1000}, "hardware_assisted"
    )


def test_trap_and_emulate_is_the_slowest_on_kernel_heavy_work():
    t = rel("syscall_heavy", "trap_and_emulate")
    assert all(t < rel("syscall_heavy", m) for m in MODES if m != "trap_and_emulate")


def test_emulated_io_costs_more_than_virtio_more_than_passthrough():
    for mode in VM_MODES:
        r = [
            rel("disk_database", mode, io_path=p)
            for p in ("emulated", "paravirtual", "passthrough")
        ]
        assert r[0] < r[1] < r[2], mode
        lat = [cost("disk_database", mode, io_path=p).io_latency_s for p in IO_PATH_COSTS]
        assert lat[0] > lat[1] > lat[2] > 0
    assert rel("disk_database", "container") > rel(
        "disk_database", "hardware_assisted_nested_paging"
    )


def test_memory_and_boot_overheads_by_mode():
    for mode in VM_MODES:
        c = cost("default", mode, vcpus=2, memory=2**30)
        m = MODE_COSTS[mode]
        expected = m.memory_fixed + 2 * m.memory_per_vcpu + m.memory_fraction * 2**30
        assert c.memory == pytest.approx(expected, rel=1e-12) and c.memory > 0
        assert c.boot_s >= 10
    assert cost("default", "container").memory == 0
    assert cost("default", "container").boot_s < 1


def test_unknown_presets_and_rates_are_clear_errors():
    def bad(profile):
        return scenario(
            [host()], [vm("v", "w")], {"w": {"kind": "batch", "cpu_work": 1, "profile": profile}}
        )

    with pytest.raises(ScenarioError, match="unknown operation profile 'linpak'.*cpu_bound"):
        bad("linpak")
    with pytest.raises(ScenarioError, match="unknown rate.*'sycalls'.*allowed: syscalls"):
        bad({"sycalls": 3})
    with pytest.raises(ScenarioError, match="kernel_fraction"):
        bad({"kernel_fraction": 2})
    assert set(RATE_KEYS) >= {"syscalls", "page_faults", "io_ops", "net_packets"}


def test_guests_are_costed_only_when_they_say_what_they_run_or_how():
    wl = {
        "plain": {"kind": "constant", "cpu": 1.0},
        "kv": {**{"kind": "constant", "cpu": 1.0}, "profile": "network_kv"},
    }
    sc = scenario(
        [host(cores=8)],
        [
            vm("a", "plain"),  # neither: demand taken as measured
            vm("b", "kv"),  # profile: costed in the default mode
            vm("c", "plain", virtualization="binary_translation"),  # mode: default profile
            {"name": "d", "kind": "container", "memory": "1GiB", "workload": "kv", "count": 2},
        ],
        wl,
    )
    o = guest_overheads(sc)
    assert len(o.cpu_in_guest) == 5
    assert o.cpu_in_guest[0] == 0 and o.memory[0] == 0 and o.boot_s[0] == 30
    b = cost("network_kv", "hardware_assisted_nested_paging", memory=2**30)
    assert o.cpu_in_guest[1] == pytest.approx(b.cpu_in_guest)
    assert o.memory[1] == pytest.approx(b.memory)
    assert o.cpu_in_guest[2] == pytest.approx(cost("default", "binary_translation").cpu_in_guest)
    np.testing.assert_array_equal(o.cpu_in_guest[3:], 0)
    assert (o.cpu_on_host[3:] > 0).all() and (o.boot_s[3:] == 0.5).all()


@pytest.mark.parametrize("mode", ["binary_translation", "hardware_assisted", "paravirtual"])
def test_batch_runtime_alone_on_its_host_is_work_times_one_plus_alpha_over_capacity(mode):
    # 2 vCPUs of 1000 MIPS on a 4-core host (room for the hypervisor's share): a 6000 MI job
    # takes 6000 * (1 + alpha) / 2000 s, exactly; beta burns spare host cores.
    wl = {"job": {"kind": "batch", "cpu_work": 6000, "profile": "disk_database"}}
    sc = scenario(
        [host(cores=4)],
        [vm("j", "job", vcpus=2, virtualization=mode)],
        wl,
        duration=1000,
        sample_interval=1000,
    )
    c = cost("disk_database", mode, vcpus=2, memory=2**30)
    assert 2 * (1 + c.cpu_in_guest + c.cpu_on_host) / (1 + c.cpu_in_guest) < 4  # fits
    res = vsim.run(sc)
    done = res.events[res.events.kind == "job_done"].time_s.iloc[0]
    assert done == pytest.approx(6000 * (1 + c.cpu_in_guest) / 2000, rel=1e-12)
    # Host CPU used over the job = work x (1 + alpha + beta), all in the one sample.
    used = res.hosts.cpu_util.iloc[0] * 4000 * 1000
    assert used == pytest.approx(6000 * (1 + c.cpu_in_guest + c.cpu_on_host), rel=1e-9)
