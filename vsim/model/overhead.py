"""What each guest's virtualization technique costs, as per-guest factors the engine applies.

For a guest running in ``mode`` with I/O path ``path`` (VMs) or network ``net`` (containers)
and a workload whose operation profile has rates ``r[e]`` per MI of native work
(``vsim.scenario.virtualization``), with costs in cycles and 1 MI = 1e6 cycles:

- ``cpu_in_guest``  alpha = ( sum_e r[e] * mode[e]
                             + r[io_ops] * path.exits_per_io * mode.exit
                             + r[net_packets] * path.exits_per_packet * mode.exit ) / 1e6
                           + r[kernel_fraction] * mode.kernel_code
  over e in syscalls, page_faults, pt_updates, tlb_misses, interrupts, privileged;
- ``cpu_on_host``   beta  = ( r[io_ops] * path.host_cycles_per_io
                             + r[net_packets] * path.host_cycles_per_packet ) / 1e6
  (for containers, only the bridge's NAT per packet);
- ``cpu_in_dom0``   delta = ( r[io_ops] * path.dom0_cycles_per_io
                             + r[net_packets] * path.dom0_cycles_per_packet ) / 1e6
  (split-driver paths only: work the host's driver domain does for the guest, a consumer of
  its own on the host, see :mod:`vsim.model.driver_domain`);
- ``memory``        = mode.memory_fixed + vcpus * mode.memory_per_vcpu
                      + mode.memory_fraction * guest memory   (VM modes only);
- ``io_latency_s``  = path.io_latency_s + path.exits_per_io * mode.exit / hz;
- ``net_latency_s`` = path.rtt_latency_s + 2 * path.exits_per_packet * mode.exit / hz,
  with hz = vcpu_mips * 1e6 cycles per second (CPI = 1);
- ``boot_s``        = mode.boot_s.

A guest is *costed* when its workload names an operation profile or the guest names its
``virtualization`` mode; otherwise its demand is taken as measured (utilization traces are
recorded inside VMs, so their overhead is already in them) and it runs at native cost, with
the default boot time of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsim.scenario.schema import DEFAULT_BOOT_S, Guest, Scenario
from vsim.scenario.virtualization import (
    CONTAINER_NETWORK_COSTS,
    CYCLES_PER_MI,
    IO_PATH_COSTS,
    VM_MODES,
    OperationProfile,
    mode_costs,
    resolve_profile,
)

# Events whose cost per event is read straight from the mode's table.
DIRECT_EVENTS = ("syscalls", "page_faults", "pt_updates", "tlb_misses", "interrupts", "privileged")


@dataclass
class Overheads:
    """Per-guest factors, indexed like :class:`vsim.model.guests.GuestTable`."""

    cpu_in_guest: np.ndarray  # extra CPU work inside the guest's vCPUs per unit of useful work
    cpu_on_host: np.ndarray  # CPU the hypervisor/host spends outside the vCPUs per unit of work
    cpu_in_dom0: np.ndarray  # CPU the driver domain spends for the guest per unit of work
    memory: np.ndarray  # bytes of host memory a guest costs beyond its own memory
    io_latency_s: np.ndarray  # latency added to each disk I/O
    net_latency_s: np.ndarray  # latency added to each network round trip
    boot_s: np.ndarray  # boot/start time when the scenario gives none


@dataclass(frozen=True)
class GuestCost:
    """The overhead of one guest configuration, with alpha split by cause."""

    cpu_in_guest: float
    cpu_on_host: float
    cpu_in_dom0: float
    memory: float
    io_latency_s: float
    net_latency_s: float
    boot_s: float
    in_guest_by_event: dict[str, float]  # contributions to cpu_in_guest, summing to it
    on_host_by_event: dict[str, float]  # contributions to cpu_on_host, summing to it
    in_dom0_by_event: dict[str, float]  # contributions to cpu_in_dom0, summing to it


def cost(
    profile: OperationProfile | str | dict[str, float] | None,
    mode: str,
    *,
    io_path: str = "paravirtual",
    network: str = "bridge",
    vcpus: float = 1.0,
    vcpu_mips: float = 1000.0,
    memory: float = 0.0,
) -> GuestCost:
    """Overhead of a guest in ``mode`` running a workload with ``profile`` (see module doc)."""
    p = profile if isinstance(profile, OperationProfile) else resolve_profile(profile)
    m = mode_costs(mode)
    is_vm = mode in VM_MODES
    if is_vm:
        path = IO_PATH_COSTS[io_path]
    elif mode == "container":
        path = CONTAINER_NETWORK_COSTS[network]
    else:
        path = CONTAINER_NETWORK_COSTS["host"]  # native: nothing in the way
    rates = p.model_dump()
    guest = {e: rates[e] * getattr(m, e) / CYCLES_PER_MI for e in DIRECT_EVENTS}
    guest["io_ops"] = rates["io_ops"] * path.exits_per_io * m.exit / CYCLES_PER_MI
    guest["net_packets"] = rates["net_packets"] * path.exits_per_packet * m.exit / CYCLES_PER_MI
    guest["kernel_code"] = rates["kernel_fraction"] * m.kernel_code
    host = {
        "io_ops": rates["io_ops"] * path.host_cycles_per_io / CYCLES_PER_MI,
        "net_packets": rates["net_packets"] * path.host_cycles_per_packet / CYCLES_PER_MI,
    }
    dom0 = {
        "io_ops": rates["io_ops"] * path.dom0_cycles_per_io / CYCLES_PER_MI,
        "net_packets": rates["net_packets"] * path.dom0_cycles_per_packet / CYCLES_PER_MI,
    }
    hz = vcpu_mips * CYCLES_PER_MI
    mem = m.memory_fixed + vcpus * m.memory_per_vcpu + m.memory_fraction * memory if is_vm else 0.0
    return GuestCost(
        cpu_in_guest=sum(guest.values()),
        cpu_on_host=sum(host.values()),
        cpu_in_dom0=sum(dom0.values()),
        memory=mem,
        io_latency_s=path.io_latency_s + path.exits_per_io * m.exit / hz,
        net_latency_s=path.rtt_latency_s + 2 * path.exits_per_packet * m.exit / hz,
        boot_s=m.boot_s,
        in_guest_by_event=guest,
        on_host_by_event=host,
        in_dom0_by_event=dom0,
    )


def guest_cost(scenario: Scenario, guest: Guest) -> GuestCost | None:
    """The cost of one guest group, or None when it is not costed (see module doc)."""
    workload = scenario.workloads.get(guest.workload) if guest.workload else None
    profile = getattr(workload, "profile", None)
    if profile is None and guest.virtualization is None:
        return None
    return cost(
        profile,
        guest.mode,
        io_path=guest.io_path,
        network=guest.network,
        vcpus=guest.vcpus,
        vcpu_mips=guest.vcpu_mips,
        memory=guest.memory,
    )


def guest_overheads(scenario: Scenario) -> Overheads:
    counts = [g.count for g in scenario.guests]
    rows = []
    for g in scenario.guests:
        c = guest_cost(scenario, g)
        if c is None:
            rows.append((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, DEFAULT_BOOT_S[g.kind]))
        else:
            rows.append(
                (
                    c.cpu_in_guest,
                    c.cpu_on_host,
                    c.cpu_in_dom0,
                    c.memory,
                    c.io_latency_s,
                    c.net_latency_s,
                    c.boot_s,
                )
            )
    width = len(Overheads.__dataclass_fields__)
    cols = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    rep = [np.repeat(cols[:, k], counts) for k in range(width)]
    return Overheads(*rep)


# The virtualization CPU formula, in one place. Each unit of a guest's useful work costs k_in
# units inside its vCPUs (which cap it) and k_tot units of host CPU in all; a guest wanting
# ``wanted`` MIPS of useful work under a cap of ``cap`` MIPS of vCPU time asks its host for
# min(cap / k_in, wanted) x k_tot. The scalar and vector forms do the same operations in the
# same order, so that the one-host and single-guest paths give the array solve's numbers.
def cpu_factors(cpu_in_guest, cpu_on_host):
    """(k_in, k_tot) of guests with these overhead factors (scalars or arrays)."""
    k_in = 1.0 + cpu_in_guest
    return k_in, k_in + cpu_on_host


def cpu_request(cap: float, k_in: float, k_tot: float, wanted: float) -> float:
    """Host MIPS one guest asks for (scalar form of :func:`cpu_requests`)."""
    return min(cap / k_in, wanted) * k_tot


def cpu_requests(cap: np.ndarray, k_in: np.ndarray, k_tot: np.ndarray, wanted: np.ndarray):
    """Host MIPS each guest asks for, overhead included, capped by its vCPUs."""
    return np.minimum(cap / k_in, wanted) * k_tot
