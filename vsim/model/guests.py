"""Guests (VMs and containers) as arrays, one entry per guest instance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from vsim.model.overhead import guest_overheads
from vsim.scenario.schema import Scenario

# Lifecycle: created (waiting for its start time) -> booting -> running <-> paused -> stopped
# -> deleted. A guest no host could take is rejected and never runs. A guest whose host failed
# (or that crashed) is down until something restarts it.
PENDING, BOOTING, RUNNING, PAUSED, STOPPED, DELETED, REJECTED, DOWN = range(8)
STATE_NAMES = np.array(
    ["pending", "booting", "running", "paused", "stopped", "deleted", "rejected", "down"]
)
# States in which a guest holds its host's memory and placement reservation.
HOLDS_HOST = np.array([False, True, True, True, False, False, False, False])

VM, CONTAINER = 0, 1
KIND_NAMES = np.array(["vm", "container"])


@dataclass
class GuestTable:
    """Static sizes and dynamic state of every guest."""

    names: np.ndarray  # object[G]
    group: np.ndarray  # int[G], index into scenario.guests
    kind: np.ndarray  # int8[G], VM or CONTAINER
    vcpus: np.ndarray  # cores the guest may use (VM vCPUs, container CPU limit)
    vcpu_mips: np.ndarray  # nominal speed of one vCPU
    cap_cores: np.ndarray  # min(vcpus, cpu_limit): the most cores it may run on at once
    memory: np.ndarray  # bytes (VM memory or container memory limit)
    shares: np.ndarray  # weight under contention
    disk_reserve: np.ndarray  # bytes/s reserved at placement
    net_reserve: np.ndarray
    boot_s: np.ndarray
    cpu_in_guest: np.ndarray  # virtualization: extra in-vCPU work per unit of useful work
    cpu_on_host: np.ndarray  # virtualization: hypervisor CPU per unit of useful work
    cpu_in_dom0: np.ndarray  # split-driver I/O: driver-domain CPU per unit of useful work
    mem_overhead: np.ndarray  # virtualization: host memory beyond the guest's own
    io_latency: np.ndarray  # virtualization: seconds added to each disk I/O
    net_latency: np.ndarray  # virtualization: seconds added to each network round trip
    parent: np.ndarray  # int[G]: VM index for a container inside a VM, else -1
    pinned: np.ndarray  # int[G]: host index the guest is pinned to, else -1
    affinity: np.ndarray  # int[G]: anti-affinity group id, else -1
    # dynamic
    host: np.ndarray  # int[G], -1 when not on a host; read-only, changed through place()
    state: np.ndarray  # int8[G]
    affinity_names: tuple[str, ...] = ()  # anti-affinity rule names, by group id
    by_rack: frozenset[int] = frozenset()  # anti-affinity groups spread over racks instead

    def __post_init__(self) -> None:
        self._host = np.array(self.host, dtype=np.int64)  # the one writable copy
        self.host = self._host.view()
        self.host.flags.writeable = False
        # Which guests each host holds, kept with every change of host, so that a one-host
        # solve finds its guests without scanning all of them.
        self._members: dict[int, set[int]] = defaultdict(set)
        for i, h in enumerate(self._host.tolist()):
            if h >= 0:
                self._members[h].add(i)
        self._on: dict[int, np.ndarray] = {}  # on_host results until the host's guests change

    def place(self, idx: int | np.ndarray | list[int], hosts: int | np.ndarray) -> None:
        """Put guest ``idx`` (or guests) on ``hosts`` (one host or one per guest; -1: on none)."""
        if isinstance(idx, (int, np.integer)):  # (most moves are of one guest)
            self._move(int(idx), int(hosts))
            return
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        if isinstance(hosts, np.ndarray):
            new = hosts.astype(np.int64, copy=False).reshape(-1).tolist()
        else:
            new = [int(hosts)] * len(idx)
        for i, h in zip(idx.tolist(), new, strict=True):
            self._move(i, h)

    def _move(self, i: int, h: int) -> None:
        old = int(self._host[i])
        if old == h:
            return
        if old >= 0:
            self._members[old].discard(i)
            self._on.pop(old, None)
        if h >= 0:
            self._members[h].add(i)
            self._on.pop(h, None)
        self._host[i] = h

    def on_host(self, h: int) -> np.ndarray:
        """The guests on host ``h``, in index order (``np.flatnonzero(host == h)``); read-only."""
        arr = self._on.get(h)
        if arr is None:
            arr = np.array(sorted(self._members.get(h, ())), dtype=np.int64)
            arr.flags.writeable = False
            self._on[h] = arr
        return arr

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> GuestTable:
        groups = scenario.guests
        counts = [g.count for g in groups]
        host_index = {name: i for i, name in enumerate(scenario.host_names())}
        labels = sorted({g.anti_affinity for g in groups if g.anti_affinity is not None})
        label_id = {label: i for i, label in enumerate(labels)}

        def rep(values: list[float], dtype: type = np.float64) -> np.ndarray:
            return np.repeat(np.array(values, dtype=dtype), counts)

        names = np.array([n for g in groups for n in g.instance_names()], dtype=object)
        index = {n: i for i, n in enumerate(names)}
        parent = np.array(
            [index[g.in_vm] if g.in_vm else -1 for g in groups for _ in range(g.count)],
            dtype=np.int64,
        )
        n = len(names)
        cost = guest_overheads(scenario)
        boot = rep([np.nan if g.boot_time is None else g.boot_time for g in groups])
        return cls(
            names=names,
            group=rep(list(range(len(groups))), np.int64),
            kind=rep([VM if g.kind == "vm" else CONTAINER for g in groups], np.int8),
            vcpus=rep([g.vcpus for g in groups]),
            vcpu_mips=rep([g.vcpu_mips for g in groups]),
            cap_cores=rep([min(g.vcpus, g.cpu_limit or np.inf) for g in groups]),
            memory=rep([g.memory for g in groups]),
            shares=rep([g.cpu_shares for g in groups]),
            disk_reserve=rep([g.disk_bandwidth for g in groups]),
            net_reserve=rep([g.net_bandwidth for g in groups]),
            boot_s=np.where(np.isnan(boot), cost.boot_s, boot),
            cpu_in_guest=cost.cpu_in_guest,
            cpu_on_host=cost.cpu_on_host,
            cpu_in_dom0=cost.cpu_in_dom0,
            mem_overhead=cost.memory,
            io_latency=cost.io_latency_s,
            net_latency=cost.net_latency_s,
            parent=parent,
            pinned=rep([host_index[g.host] if g.host else -1 for g in groups], np.int64),
            affinity=rep(
                [label_id[g.anti_affinity] if g.anti_affinity else -1 for g in groups], np.int64
            ),
            host=np.full(n, -1, dtype=np.int64),
            state=np.full(n, PENDING, dtype=np.int8),
            affinity_names=tuple(labels),
            by_rack=frozenset(
                label_id[g.anti_affinity] for g in groups if g.anti_affinity_by == "rack"
            ),
        )

    @property
    def n(self) -> int:
        return len(self.names)

    def placement_request(
        self, idx: np.ndarray, vcpus: float | None = None, memory: float | None = None
    ) -> dict[str, np.ndarray]:
        """What each guest asks of a host's packable capacity, one array per resource
        (``vcpus``, ``memory``: sizes to ask with instead of the guests' own)."""
        v = self.vcpus[idx] if vcpus is None else vcpus
        m = self.memory[idx] if memory is None else memory
        return {
            "cpu": v * self.vcpu_mips[idx],
            "memory": m + self.mem_overhead[idx],
            "disk": self.disk_reserve[idx],
            "net": self.net_reserve[idx],
        }
