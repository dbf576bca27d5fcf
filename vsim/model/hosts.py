"""Physical hosts as arrays: one entry per host, one array per attribute."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vsim.scenario.schema import Scenario

HOST_ON, HOST_OFF, HOST_FAILED, HOST_BOOTING = 0, 1, 2, 3
HOST_STATE_NAMES = np.array(["on", "off", "failed", "booting"])


@dataclass
class HostTable:
    """Capacities of every host in the datacenter, in index order of ``Scenario.host_names``."""

    names: np.ndarray  # str[H]
    type_name: np.ndarray  # str[H]
    cores: np.ndarray  # float64[H]
    core_mips: np.ndarray  # float64[H]
    memory: np.ndarray  # bytes
    disk_bw: np.ndarray  # bytes/s
    disk_iops: np.ndarray  # operations/s
    net_bw: np.ndarray  # bytes/s
    state: np.ndarray  # int8[H], HOST_ON...
    # MIPS of cores a pinned Xen driver domain keeps for itself (0 elsewhere): not for guests
    dom0_pinned: np.ndarray | None = None
    # CPU capacity of each host: cores x per-core speed (hardware does not change in a run).
    cpu_mips: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cpu_mips = self.cores * self.core_mips

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> HostTable:
        types = scenario.datacenter.host_types
        counts = [t.count for t in types]

        def per_host(attr: str) -> np.ndarray:
            return np.repeat(np.array([float(getattr(t, attr)) for t in types]), counts)

        n = sum(counts)
        return cls(
            names=np.array(scenario.host_names(), dtype=object),
            type_name=np.repeat(np.array([t.name for t in types], dtype=object), counts),
            cores=per_host("cores"),
            core_mips=per_host("core_mips"),
            memory=per_host("memory"),
            disk_bw=per_host("disk_bandwidth"),
            disk_iops=per_host("disk_iops"),
            net_bw=per_host("nic_bandwidth"),
            state=np.zeros(n, dtype=np.int8),
            dom0_pinned=np.repeat(
                np.array(
                    [
                        min(t.driver_domain.vcpus, t.cores) * t.core_mips
                        if t.driver_domain.pinned
                        else 0.0
                        for t in types
                    ]
                ),
                counts,
            ),
        )

    @property
    def n(self) -> int:
        return len(self.names)

    def placement_capacity(self) -> dict[str, np.ndarray]:
        """What the scheduler packs against, one array per resource (before overcommit); a
        pinned driver domain's cores are not offered to guests."""
        pinned = self.dom0_pinned
        return {
            "cpu": self.cpu_mips if pinned is None or not pinned.any() else self.cpu_mips - pinned,
            "memory": self.memory,
            "disk": self.disk_bw,
            "net": self.net_bw,
        }
