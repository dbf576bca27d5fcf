"""What each guest's virtualization technique costs, as per-guest factors the engine applies.

(The cost model is being written; until then every guest runs at native cost.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsim.scenario.schema import DEFAULT_BOOT_S, Scenario


@dataclass
class Overheads:
    """Per-guest factors, indexed like :class:`vsim.model.guests.GuestTable`."""

    cpu_in_guest: np.ndarray  # extra CPU work inside the guest's vCPUs per unit of useful work
    cpu_on_host: np.ndarray  # CPU the hypervisor/host spends outside the vCPUs per unit of work
    memory: np.ndarray  # bytes of host memory a guest costs beyond its own memory
    io_latency_s: np.ndarray  # latency added to each disk I/O
    net_latency_s: np.ndarray  # latency added to each network round trip
    boot_s: np.ndarray  # boot/start time when the scenario gives none


def guest_overheads(scenario: Scenario) -> Overheads:
    counts = [g.count for g in scenario.guests]
    zeros = np.zeros(sum(counts))
    boot = np.repeat(np.array([DEFAULT_BOOT_S[g.kind] for g in scenario.guests]), counts)
    return Overheads(zeros, zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), boot)
