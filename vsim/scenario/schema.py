"""The scenario file, as a pydantic schema.

A scenario describes a datacenter (host types and counts), the guests to run on it (VMs and
containers, each driven by a named workload), the placement policy, lifecycle events, the
simulated duration, the sampling interval and the seed. Fields accept readable units
(``5m``, ``4GiB``, ``1Gbps``) and are stored in seconds, bytes and bytes per second.
Unknown fields are errors: a typo must never be silently ignored.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from vsim.scenario.base import Strict, existing_path, few_names, policy_name
from vsim.scenario.catalogue import SPECPOWER_TABLES
from vsim.scenario.consolidation import Consolidation
from vsim.scenario.demand import Demand as _Demand
from vsim.scenario.demand import Profile

# The demand fields of utilization workloads (shared with the real-trace kinds).
from vsim.scenario.deployments import ClusterAutoscaler, Deployment
from vsim.scenario.dirty import DirtyPages
from vsim.scenario.failures import Failures
from vsim.scenario.limits import check_memory
from vsim.scenario.network import Migration, Network
from vsim.scenario.service import ServiceWorkload
from vsim.scenario.tenants import Attack, Tenant
from vsim.scenario.tracekinds import (
    AlibabaTasksWorkload,
    BitbrainsWorkload,
    LoadShapeWorkload,
    OpenbWorkload,
    OpenDCWorkload,
    SwfWorkload,
    planetlab_day_folders,
    planetlab_days,
)
from vsim.scenario.units import Bytes, BytesPerSecond, Seconds, parse_rate, warn_bare_size
from vsim.scenario.virtualization import CONTAINER_NETWORKS, IO_PATHS, MODES

PLACEMENT_POLICIES = (
    "first_fit",
    "best_fit",
    "worst_fit",
    "dot_product",
    "balanced",
    "random",
    "round_robin",
)

# Default boot times. A VM boots a whole guest OS: tens of seconds (a stock Ubuntu cloud image
# under KVM takes on the order of 10-40 s to reach user space); a container only starts a
# process tree in existing namespaces: well under a second (Felter et al., "An Updated
# Performance Comparison of Virtual Machines and Linux Containers", IBM Research RC25482, 2014).
DEFAULT_BOOT_S = {"vm": 30.0, "container": 0.5}


class LinearPower(Strict):
    """Power rising linearly with CPU utilization from idle to peak.

    Default idle is 60 % of peak: servers of the warehouse-scale study by Fan, Weber & Barroso,
    "Power Provisioning for a Warehouse-sized Computer" (ISCA 2007), idle at about 60 % of peak.
    """

    model: Literal["linear"] = Field(description="power rising linearly with CPU utilization")
    idle_w: float = Field(150.0, ge=0, description="power at 0 % CPU, W")
    peak_w: float = Field(250.0, ge=0, description="power at 100 % CPU, W")

    @model_validator(mode="after")
    def _ordered(self) -> LinearPower:
        if self.peak_w < self.idle_w:
            raise ValueError(f"peak_w ({self.peak_w}) is below idle_w ({self.idle_w})")
        return self

    def table(self) -> tuple[float, ...]:
        return tuple(self.idle_w + (self.peak_w - self.idle_w) * k / 10 for k in range(11))


class SpecPower(Strict):
    """SPECpower_ssj2008-style table: watts at 0 %, 10 %, ..., 100 % CPU, interpolated linearly.

    ``table`` is either the name of a built-in table (``hp_ml110_g4``, ``hp_ml110_g5``) or 11
    numbers.
    """

    model: Literal["specpower"] = Field(description="SPECpower-style table of watts, interpolated")
    table_: str | list[float] = Field(
        alias="table", description="a built-in table name, or 11 watts for 0 %, 10 % ... 100 % CPU"
    )

    @field_validator("table_")
    @classmethod
    def _known(cls, v: str | list[float]) -> str | list[float]:
        if isinstance(v, str) and v not in SPECPOWER_TABLES:
            raise ValueError(f"unknown power table {v!r}; built in: {', '.join(SPECPOWER_TABLES)}")
        if isinstance(v, list) and (len(v) != 11 or min(v) < 0):
            raise ValueError("a power table needs 11 non-negative watts, for 0 %, 10 % ... 100 %")
        return v

    def table(self) -> tuple[float, ...]:
        v = self.table_
        return SPECPOWER_TABLES[v] if isinstance(v, str) else tuple(v)


PowerModel = Annotated[LinearPower | SpecPower, Field(discriminator="model")]


class DriverDomain(Strict):
    """The driver domain (Xen's dom0) of a host: where split-driver I/O is done.

    It is one more consumer of the host's CPU: its demand is the back-end work of the host's
    ``xen_split`` guests, and it contends with them by weighted max-min, or runs alone on
    cores of its own when ``pinned``. See docs/virtualization.md.
    """

    vcpus: float = Field(1.0, gt=0, description="dom0's vCPUs: the most cores its work may use")
    pinned: bool = Field(
        False,
        description="dom0's vCPUs are pinned to cores of their own, which guests do not use",
    )
    cpu_shares: float = Field(1024.0, gt=0, description="dom0's weight under contention")


class HostType(Strict):
    """A kind of physical host, and how many of them the datacenter has."""

    name: str = Field(description="host type name; hosts are name-0, name-1 ...")
    count: int = Field(description="hosts of this type, at least 1 (leave a type out for none)")
    cores: int = Field(gt=0, description="physical cores")
    core_mips: float = Field(1000.0, gt=0, description="speed of one core, MIPS")
    memory: Bytes = Field(gt=0, description="physical memory, bytes")
    disk_bandwidth: BytesPerSecond = Field(
        parse_rate("500MB/s"), gt=0, description="disk bandwidth, bytes/s"
    )
    disk_iops: float = Field(10000.0, gt=0, description="disk operations per second")
    nic_bandwidth: BytesPerSecond = Field(
        parse_rate("10Gbps"), gt=0, description="network interface bandwidth, bytes/s"
    )
    power: PowerModel = Field(
        LinearPower(model="linear"),
        description="power model: linear between idle and peak, or a SPECpower table",
    )
    price: float = Field(0.0, ge=0, description="purchase price of one host, for cost figures")
    driver_domain: DriverDomain = Field(
        default_factory=DriverDomain,
        description="Xen driver domain (dom0) serving the host's xen_split guests; "
        "idle without them",
    )

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_unit(cls, v: Any, info: ValidationInfo) -> Any:
        return warn_bare_size(v, f"host type {info.data.get('name')!r}")

    @model_validator(mode="after")
    def _dom0_fits(self) -> HostType:
        d = self.driver_domain
        if d.pinned and d.vcpus >= self.cores:
            raise ValueError(
                f"driver_domain.vcpus = {d.vcpus} pinned on a host of {self.cores} cores "
                "leaves no core for guests; pin fewer vCPUs than the host has cores"
            )
        return self

    @field_validator("count")
    @classmethod
    def _some_hosts(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"a host type needs at least 1 host, got {v}; leave the type out")
        return v


class Datacenter(Strict):
    host_types: list[HostType] = Field(
        min_length=1, description="the kinds of hosts and how many of each"
    )
    pue: float = Field(1.0, ge=1.0, description="power usage effectiveness: facility / IT power")

    @field_validator("host_types")
    @classmethod
    def _unique_names(cls, v: list[HostType]) -> list[HostType]:
        _check_unique([h.name for h in v], "host type")
        return v


class ConstantWorkload(_Demand):
    kind: Literal["constant"] = Field(description="constant demand")
    cpu: float = Field(ge=0, le=1, description="fraction of the guest's vCPUs")


class DiurnalWorkload(_Demand):
    kind: Literal["diurnal"] = Field(description="a sine around mean, one cycle per period")
    mean: float = Field(ge=0, le=1, description="mean CPU, fraction of the vCPUs")
    amplitude: float = Field(
        ge=0, le=1, description="CPU swing either side of the mean, fraction of the vCPUs"
    )
    period: Seconds = Field(86400.0, gt=0, description="length of one cycle, s")
    phase: Seconds = Field(0.0, description="shift of the cycle, s")
    phase_spread: Seconds = Field(
        0.0, ge=0, description="guests get phases drawn uniformly in [phase, phase+spread)"
    )


class RandomWalkWorkload(_Demand):
    kind: Literal["random_walk"] = Field(description="a bounded Gaussian random walk")
    start: float = Field(ge=0, le=1, description="CPU at time 0, fraction of the vCPUs")
    sigma: float = Field(ge=0, description="standard deviation of one step")
    low: float = Field(0.0, ge=0, le=1, description="lowest CPU, fraction")
    high: float = Field(1.0, ge=0, le=1, description="highest CPU, fraction")


class PlanetLabWorkload(_Demand):
    kind: Literal["planetlab"] = Field(description="PlanetLab CPU traces (one file per VM)")
    path: str | None = Field(None, description="folder with one CPU-percent file per VM")
    days: list[str] | str | None = Field(
        None, description="day folders (or their parent) mixed: an equal share of guests each"
    )
    interval: Seconds = Field(300.0, gt=0, description="time between the trace's samples, s")

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else existing_path(v, info)

    @field_validator("days")
    @classmethod
    def _days_exist(cls, v: list[str] | str | None, info: ValidationInfo) -> list[str] | None:
        return None if v is None else planetlab_day_folders(v, info)

    @model_validator(mode="after")
    def _path_or_days(self) -> PlanetLabWorkload:
        if (self.path is None) == (self.days is None):
            raise ValueError("give either path (one day folder) or days (several), not both")
        return self

    @property
    def trace_for(self):
        """Mixed days are read by :func:`vsim.scenario.tracekinds.planetlab_days`; one folder
        the model reads itself (``None``)."""
        return None if self.days is None else partial(planetlab_days, self)


class CsvWorkload(_Demand):
    kind: Literal["csv"] = Field(description="per-guest series from a CSV file")
    path: str = Field(description="CSV with columns time, guest, cpu[, memory, disk, net]")
    cpu_unit: Literal["fraction", "percent"] = Field(
        "fraction", description="CPU column as a fraction or a percentage"
    )

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        return existing_path(v, info)


class BatchWorkload(DirtyPages):
    """A job with a fixed amount of work: CPU first, then disk I/O, then network transfer."""

    kind: Literal["batch"] = Field(
        description="a job with fixed work: CPU, then disk I/O, then network"
    )
    profile: Profile = Field(
        None, description="a virtualization cost profile for this workload; none: the guest's"
    )
    cpu_work: float = Field(ge=0, description="million instructions (MI)")
    io_bytes: Bytes = Field(0.0, ge=0, description="bytes of disk I/O after the CPU work")
    net_bytes: Bytes = Field(0.0, ge=0, description="bytes sent after the disk I/O")
    memory: float = Field(1.0, ge=0, le=1, description="fraction of the guest's memory in use")
    on_finish: Literal["idle", "stop"] = Field(
        "stop", description="after the last repetition: stay idle, or stop the guest"
    )
    repeat: int = Field(1, ge=1, description="executions run one after another")
    execution_shares: list[Annotated[float, Field(gt=0)]] | None = Field(
        None,
        min_length=1,
        description="CPU shares of each execution in turn (cycling when shorter than repeat): "
        "its own weight under contention while it runs, as SimGrid's execute(flops, priority); "
        "none: the guest's cpu_shares throughout",
    )


Workload = Annotated[
    ConstantWorkload
    | DiurnalWorkload
    | RandomWalkWorkload
    | PlanetLabWorkload
    | CsvWorkload
    | BatchWorkload
    | ServiceWorkload
    | BitbrainsWorkload
    | OpenDCWorkload
    | AlibabaTasksWorkload
    | OpenbWorkload
    | SwfWorkload
    | LoadShapeWorkload,
    Field(discriminator="kind"),
]


class Guest(Strict):
    """A group of identical guests: ``count`` VMs or containers named ``name-0``, ``name-1``...

    (or just ``name`` when ``count`` is 1).
    """

    name: str = Field(
        description="group name; guests are name-0, name-1 ... (name alone when count is 1)"
    )
    kind: Literal["vm", "container"] = Field("vm", description="vm or container")
    count: int = Field(1, ge=0, description="how many identical guests")
    vcpus: float = Field(1.0, gt=0, description="vCPUs of a VM; a container's CPU limit in cores")
    vcpu_mips: float = Field(1000.0, gt=0, description="speed of one vCPU, MIPS")
    memory: Bytes = Field(gt=0, description="VM memory, or a container's memory limit")
    cpu_shares: float = Field(1024.0, gt=0, description="weight under contention (CFS shares)")
    cpu_limit: float | None = Field(None, gt=0, description="cap in cores (CFS quota, Xen cap)")
    disk_bandwidth: BytesPerSecond = Field(0.0, ge=0, description="reserved at placement")
    net_bandwidth: BytesPerSecond = Field(0.0, ge=0, description="reserved at placement")
    workload: str | None = Field(None, description="name of a workload; none: idle")
    host: str | None = Field(None, description="pin to this host (name like 'std-3')")
    in_vm: str | None = Field(None, description="containers only: run inside this VM guest")
    boot_time: Seconds | None = Field(
        None,
        ge=0,
        description="time from placement to running, s; default by kind (VM 30 s, container 0.5 s)",
    )
    start: Seconds = Field(0.0, ge=0, description="time the guests are created, s")
    stop: Seconds | None = Field(
        None, ge=0, description="time the guests stop, s; none: they run to the end"
    )
    anti_affinity: str | None = Field(
        None, description="guests sharing this label get distinct hosts"
    )
    anti_affinity_by: Literal["host", "rack"] = Field(
        "host",
        description="host: guests sharing the anti_affinity label never share a host "
        "(required); rack: preferred spread over the racks of a two_tier network: each goes "
        "to a rack holding the fewest of them among racks with room, there to a host holding "
        "the fewest (the spread never leaves a guest without a host)",
    )
    virtualization: Literal[MODES] | None = Field(  # type: ignore[valid-type]
        None,
        description="default: hardware_assisted_nested_paging for VMs, container for containers",
    )
    io_path: Literal[IO_PATHS] = Field(
        "paravirtual", description="how the guest's I/O reaches the device (virtualization cost)"
    )  # type: ignore[valid-type]
    network: Literal[CONTAINER_NETWORKS] = Field(  # type: ignore[valid-type]
        "bridge", description="container networking: host namespace or bridge with NAT"
    )
    deployment: str | None = Field(
        None,
        description="set for the replicas of a deployment: they start when it asks, not at start",
    )
    tenant: str | None = Field(
        None, description="the tenant the guests belong to (see tenants; none: shared)"
    )
    attack: str | None = Field(
        None, description="set for an attack's VMs: they start when the attack launches them"
    )

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_unit(cls, v: Any, info: ValidationInfo) -> Any:
        return warn_bare_size(v, f"guest group {info.data.get('name')!r}")

    @model_validator(mode="after")
    def _container_fields(self) -> Guest:
        if self.in_vm is not None and self.kind != "container":
            raise ValueError("only a container can run in_vm")
        if self.in_vm is not None and self.host is not None:
            raise ValueError("give either host or in_vm, not both")
        if self.stop is not None and self.stop < self.start:
            raise ValueError(f"stop ({self.stop} s) is before start ({self.start} s)")
        return self

    @property
    def mode(self) -> str:
        """Virtualization technique, with the default for the guest's kind."""
        if self.virtualization is not None:
            return self.virtualization
        return "container" if self.kind == "container" else "hardware_assisted_nested_paging"

    @property
    def boot_s(self) -> float:
        return DEFAULT_BOOT_S[self.kind] if self.boot_time is None else self.boot_time

    def instance_names(self) -> list[str]:
        return [self.name] if self.count == 1 else [f"{self.name}-{i}" for i in range(self.count)]


class Overcommit(Strict):
    """How far the scheduler may promise more than a host has, per resource (1 = no overcommit)."""

    cpu: float = Field(1.0, gt=0, description="CPU the scheduler may promise, times the host's")
    memory: float = Field(
        1.0, gt=0, description="memory the scheduler may promise, times the host's"
    )
    disk: float = Field(
        1.0, gt=0, description="disk bandwidth the scheduler may promise, times the host's"
    )
    net: float = Field(
        1.0, gt=0, description="network bandwidth the scheduler may promise, times the host's"
    )


class TimeSlice(Strict):
    """How a time-sliced host hands out its cores (``scheduler.cpu: timeslice``); see
    docs/timeslice.md."""

    quantum: Seconds = Field(0.01, gt=0, description="longest slice a vCPU runs before the next, s")
    switch_cost: Seconds = Field(
        5e-6, ge=0, description="core time lost per context switch to a different vCPU, s"
    )
    cache_refill: Seconds = Field(
        0.0, ge=0, description="work lost refilling caches at the start of a switched-in slice, s"
    )
    policy: Literal["round_robin", "credit"] = Field(
        "round_robin",
        description="round_robin (FIFO, one quantum each) or credit (weight-proportional by "
        "cpu_shares, capped by cpu_limit, as Xen credit and Linux CFS)",
    )
    burst_period: Seconds = Field(
        0.1,
        gt=0,
        description="a vCPU at utilization u gets u x burst_period of work each period, s",
    )
    cap_period: Seconds = Field(0.1, gt=0, description="accounting period of cpu_limit caps, s")
    window: Seconds = Field(
        1.0, gt=0, description="slices simulated per overcommitted host and sample, s"
    )
    skew_limit: Seconds | None = Field(
        None,
        gt=0,
        description="relaxed co-scheduling of a VM's vCPUs (as ESX): a vCPU whose progress "
        "leads its slowest sibling's by this much is co-stopped until they catch up, s; "
        "none: siblings scheduled independently",
    )

    @model_validator(mode="after")
    def _refill_within_quantum(self) -> TimeSlice:
        if self.cache_refill >= self.quantum:
            raise ValueError(
                f"cache_refill ({self.cache_refill} s) must be shorter than the quantum "
                f"({self.quantum} s): a slice would do no useful work"
            )
        return self


class Scheduler(Strict):
    """Initial placement: a built-in policy (:data:`PLACEMENT_POLICIES`), a policy registered
    with :func:`vsim.policies.register`, or an import path ``module:attribute``."""

    policy: str = Field(
        "first_fit",
        description="a built-in placement policy, a registered one, or an import path",
    )
    order: Literal["given", "largest_first"] = Field(
        "given", description="place guests in the file's order, or largest first"
    )
    overcommit: Overcommit = Field(
        Overcommit(), description="how far each resource may be overcommitted"
    )
    tenant_cap: int = Field(
        2, ge=1, description="policy tenant_cap: the most distinct tenants on one host"
    )
    tenant_spread: int = Field(
        2,
        ge=1,
        description="policy random_spread: the most hosts a tenant spreads over while one of "
        "them has room",
    )
    cpu: Literal["fluid", "timeslice"] = Field(
        "fluid",
        description="fluid (weighted max-min, the limit of infinitely short slices) or "
        "timeslice (slices on overcommitted hosts: CPU ready time, switch costs)",
    )
    timeslice: TimeSlice = Field(TimeSlice(), description="settings of scheduler.cpu: timeslice")

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str, info: ValidationInfo) -> str:
        return policy_name("placement", v, PLACEMENT_POLICIES, info)


class PeriodicControllerSpec(Strict):
    """A user's controller (:class:`vsim.policies.PeriodicController`), built with
    ``options`` and called every ``interval``."""

    policy: str = Field(
        description="a registered controller name or an import path module:attribute"
    )
    interval: Seconds = Field(gt=0, description="time between calls, s")
    options: dict[str, Any] = Field(
        {}, description="keyword arguments the controller is built with"
    )

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str, info: ValidationInfo) -> str:
        return policy_name("controller", v, (), info)


class MemoryModel(Strict):
    """What memory overcommit costs once guests use more than a host's physical memory.

    The host swaps the excess out; a guest touches a fraction of its swapped-out pages per
    second (``swap_touch_rate``), each touch reading the page back from the host's disk, and
    its CPU progress is divided by ``1 + swap_penalty * swapped_fraction`` while it stalls.
    """

    swap_touch_rate: float = Field(0.01, ge=0, description="fraction of swapped memory read per s")
    swap_penalty: float = Field(
        10.0, ge=0, description="CPU progress is divided by 1 + this x the swapped-out fraction"
    )


class Cost(Strict):
    """Money: hosts bought and written off over ``amortization``, energy bought per kWh."""

    amortization: Seconds = Field(3 * 365 * 86400.0, gt=0, description="host write-off period")
    energy_price_kwh: float = Field(0.0, ge=0, description="price of one kWh at the facility")


class Output(Strict):
    """What a run keeps. Per-guest samples cost (samples x guests x 7) floats; large fleets may
    keep only the hosts' and the summary."""

    guests: bool = Field(True, description="record per-guest samples (guests.parquet)")
    request_rows: int | None = Field(
        200_000,
        ge=0,
        description="rows the requests table keeps at most; past that a uniform sample of this "
        "many (counts and latency percentiles still cover every request); none keeps all",
    )


class LifecycleEvent(Strict):
    at: Seconds = Field(ge=0, description="time of the action, s")
    action: Literal["pause", "resume", "stop", "start", "delete", "migrate"] = Field(
        description="what happens to the guest"
    )
    guest: str = Field(description="the guest's name")
    to: str | None = Field(None, description="destination host of a migrate action")

    @model_validator(mode="after")
    def _migrate_needs_destination(self) -> LifecycleEvent:
        if (self.action == "migrate") != (self.to is not None):
            raise ValueError("'to' (a host name) goes with action migrate, and only with it")
        return self


class Scenario(Strict):
    """A whole simulation: what runs where, for how long, sampled how often, with which seed."""

    name: str = Field(
        "scenario", description="scenario name; the default results folder is named after it"
    )
    description: str = Field("", description="free text, kept in the results")
    seed: int = Field(0, ge=0, description="seed every random stream is spawned from")
    duration: Seconds = Field(gt=0, description="simulated time, s")
    sample_interval: Seconds = Field(300.0, gt=0, description="time between recorded samples, s")
    datacenter: Datacenter = Field(description="the hosts")
    scheduler: Scheduler = Field(Scheduler(), description="initial placement policy and overcommit")
    memory: MemoryModel = Field(MemoryModel(), description="what memory overcommit costs")
    cost: Cost | None = Field(None, description="prices for cost figures; none: no cost figures")
    output: Output = Field(Output(), description="what a run records and writes")
    network: Network = Field(Network(), description="how hosts' NICs connect")
    migration: Migration = Field(Migration(), description="how guests move between hosts")
    workloads: dict[str, Workload] = Field({}, description="named workloads guests refer to")
    guests: list[Guest] = Field([], description="groups of VMs and containers")
    events: list[LifecycleEvent] = Field([], description="lifecycle events at given times")
    failures: Failures | None = Field(
        None, description="failure models, HA and protection; none: nothing fails"
    )
    consolidation: Consolidation | None = Field(
        None, description="dynamic VM consolidation; none: no consolidation"
    )
    controllers: list[PeriodicControllerSpec] = Field(
        [], description="user controllers called periodically"
    )
    deployments: list[Deployment] = Field(
        [], description="replicated services: balancing, autoscaling, rolling updates"
    )
    tenants: list[Tenant] = Field(
        [], description="tenants and their isolation levels (guests name them in 'tenant')"
    )
    attacks: list[Attack] = Field(
        [], description="co-residency attackers: launch strategy, victims, detection level"
    )
    cluster_autoscaler: ClusterAutoscaler | None = Field(
        None, description="hosts of one type added for pending replicas and removed when idle"
    )
    # The scenario file's folder: where user policy modules beside it are imported from.
    _base_dir: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _remember_folder(self, info: ValidationInfo) -> Scenario:
        base = (info.context or {}).get("base_dir")
        if base is not None:
            self._base_dir = str(base)
        return self

    @property
    def base_dir(self) -> str | None:
        """The folder of the scenario's file (None for a scenario built in Python)."""
        return self._base_dir

    @model_validator(mode="before")
    @classmethod
    def _from_traces(cls, data: object, info: ValidationInfo) -> object:
        # Guests, host types and failures that a real trace defines become the plain entries
        # below before anything else is checked (vsim.scenario.fromtrace).
        from vsim.scenario.fromtrace import expand_traces

        return expand_traces(data, info.context)

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Scenario:
        # Sizes first: everything below builds lists of names, as long as the counts.
        check_memory(self, (info.context or {}).get("memory_limit"))
        if self.sample_interval > self.duration:
            warnings.warn(
                f"sample_interval ({self.sample_interval:g} s) is longer than duration "
                f"({self.duration:g} s): the run records one sample, at its end; "
                "shorten sample_interval for a time series",
                stacklevel=2,
            )
        self._expand_deployments()
        self._expand_attacks()
        self._check_cluster_autoscaler()
        _check_unique(self.guest_group_names(), "guest group", "guests")
        _check_unique(self.guest_names(), "guest")
        self._check_guests()
        self._check_tenants()
        self._check_tier_links()
        self._check_events()
        if self.failures is not None:
            self.failures.check(self)
        return self

    def _expand_deployments(self) -> None:
        """Each deployment's guest groups join ``guests`` (once: a dumped scenario has them)."""
        have = {g.deployment for g in self.guests if g.deployment}
        _check_unique([d.name for d in self.deployments], "deployment")
        for i, d in enumerate(self.deployments):
            wl = self.workloads.get(d.template.workload)
            if not isinstance(wl, ServiceWorkload) or wl.mode != "requests" or wl.next:
                raise ValueError(
                    f"deployments[{i}] ({d.name}).template.workload: {d.template.workload!r} "
                    "must be a service workload with mode requests and no next tier"
                )
            if wl.arrivals is None or wl.arrivals.process == "closed":
                raise ValueError(
                    f"deployments[{i}] ({d.name}).template.workload: {d.template.workload!r} "
                    "needs open-loop arrivals (poisson, mmpp, diurnal or trace)"
                )
            if d.spread == "rack" and self.network.topology != "two_tier":
                raise ValueError(
                    f"deployments[{i}] ({d.name}).spread: rack needs racks, and the network "
                    "is a star: set network.topology to two_tier (with hosts_per_rack)"
                )
            self._check_vertical(d, f"deployments[{i}] ({d.name}).vertical")
            if d.name not in have:
                self.guests.extend(Guest.model_validate(e) for e in d.guest_groups())

    def _check_vertical(self, d: Deployment, where: str) -> None:
        """A vertical autoscaler's upper bounds fit some host."""
        v = d.vertical
        if v is None:
            return
        types = self.datacenter.host_types
        oc = self.scheduler.overcommit
        cores = max(h.cores * h.core_mips for h in types) * oc.cpu / d.template.vcpu_mips
        memory = max(h.memory for h in types) * oc.memory
        for field, value, most in (
            ("max_vcpus", v.max_vcpus, cores),
            ("max_memory", v.max_memory, memory),
        ):
            if value is not None and value > most:
                raise ValueError(
                    f"{where}.{field}: {value:g} is more than any host offers ({most:g})"
                )

    def _expand_attacks(self) -> None:
        """Each attack's VMs join ``guests`` as one group (once: a dumped scenario has them)."""
        _check_unique([a.name for a in self.attacks], "attack", "attacks")
        have = {g.attack for g in self.guests if g.attack}
        for a in self.attacks:
            if a.name not in have:
                self.guests.append(Guest.model_validate(a.guest_group()))

    def _check_tenants(self) -> None:
        """Tenants are named once; guests, attackers and victims name listed tenants (an
        attacker's tenant may be unlisted: it is shared) and existing guests."""
        _check_unique([t.name for t in self.tenants], "tenant", "tenants")
        listed = {t.name for t in self.tenants}
        attackers = {a.tenant for a in self.attacks}
        for i, g in enumerate(self.guests):
            if g.tenant is not None and g.tenant not in listed | attackers:
                raise ValueError(
                    f"guests[{i}] ({g.name}).tenant: {g.tenant!r} is not listed in tenants; "
                    f"tenants are {few_names(listed)}"
                )
        guests = set(self.guest_names())
        for i, a in enumerate(self.attacks):
            v = a.victims
            if v.tenant is not None and v.tenant not in {g.tenant for g in self.guests}:
                raise ValueError(
                    f"attacks[{i}] ({a.name}).victims.tenant: no guest belongs to tenant "
                    f"{v.tenant!r}; tenants are {few_names(listed)}"
                )
            if v.tenant == a.tenant:
                raise ValueError(f"attacks[{i}] ({a.name}).victims.tenant: the attacker itself")
            for name in v.guests:
                if name not in guests:
                    raise ValueError(
                        f"attacks[{i}] ({a.name}).victims.guests: guest {name!r} does not "
                        f"exist; guests are {few_names(guests)}"
                    )

    def _check_cluster_autoscaler(self) -> None:
        ca = self.cluster_autoscaler
        if ca is None:
            return
        types = {h.name: h for h in self.datacenter.host_types}
        if ca.host_type not in types:
            raise ValueError(
                f"cluster_autoscaler.host_type: {ca.host_type!r} is not a host type; "
                f"allowed: {', '.join(types)}"
            )
        count = types[ca.host_type].count
        for field, n in (("min_hosts", ca.min_hosts), ("initial", ca.start_on())):
            if n > count:
                raise ValueError(
                    f"cluster_autoscaler.{field}: {n} exceeds the {count} hosts of "
                    f"{ca.host_type!r} (its count is the most the autoscaler may run)"
                )
        if ca.start_on() < ca.min_hosts:
            raise ValueError(
                f"cluster_autoscaler.initial: {ca.start_on()} is below min_hosts {ca.min_hosts}"
            )
        if not self.deployments:
            raise ValueError("cluster_autoscaler: it scales for deployments, and there are none")

    def _check_guests(self) -> None:
        """Each guest group's workload, pinned host and VM exist, and some host can hold it."""
        hosts = set(self.host_names())
        vms = {n for g in self.guests if g.kind == "vm" for n in g.instance_names()}
        for i, g in enumerate(self.guests):
            where = f"guests[{i}] ({g.name})"
            if g.workload is not None and g.workload not in self.workloads:
                raise ValueError(
                    f"{where}: workload {g.workload!r} is not defined; "
                    f"defined: {sorted(self.workloads) or 'none'}"
                )
            if g.host is not None and g.host not in hosts:
                raise ValueError(
                    f"{where}: host {g.host!r} does not exist; hosts are {few_names(hosts)}"
                )
            if g.in_vm is not None and g.in_vm not in vms:
                raise ValueError(
                    f"{where}: in_vm {g.in_vm!r} is not a VM; VMs are {few_names(vms)}"
                )
            if g.in_vm is None:
                self._check_fits(g, where)
        self._check_rack_spread()

    def _check_rack_spread(self) -> None:
        """Guests spread by rack have a label, racks to spread over, and one rule per label."""
        by: dict[str, str] = {}
        for i, g in enumerate(self.guests):
            if (
                g.anti_affinity is not None
                and by.setdefault(g.anti_affinity, g.anti_affinity_by) != g.anti_affinity_by
            ):
                raise ValueError(
                    f"guests[{i}] ({g.name}).anti_affinity_by: label {g.anti_affinity!r} is "
                    f"spread by {by[g.anti_affinity]} in another group; one rule per label"
                )
            if g.anti_affinity_by != "rack":
                continue
            if g.anti_affinity is None:
                raise ValueError(
                    f"guests[{i}] ({g.name}).anti_affinity_by: rack spreads the guests of an "
                    "anti_affinity label, and this group has none"
                )
            if self.network.topology != "two_tier":
                raise ValueError(
                    f"guests[{i}] ({g.name}).anti_affinity_by: rack needs racks, and the "
                    "network is a star: set network.topology to two_tier"
                )

    def _check_fits(self, g: Guest, where: str) -> None:
        biggest_cpu = max(h.cores * h.core_mips for h in self.datacenter.host_types)
        biggest_mem = max(h.memory for h in self.datacenter.host_types)
        oc = self.scheduler.overcommit
        if g.vcpus * g.vcpu_mips > biggest_cpu * oc.cpu:
            raise ValueError(
                f"{where}: needs {g.vcpus:g} vCPUs x {g.vcpu_mips:g} MIPS, more than any "
                f"host offers (largest: {biggest_cpu:g} MIPS x overcommit {oc.cpu:g})"
            )
        if g.memory > biggest_mem * oc.memory:
            raise ValueError(
                f"{where}: needs {g.memory / 2**30:g} GiB of memory, more than any host "
                f"offers (largest: {biggest_mem / 2**30:g} GiB x overcommit {oc.memory:g})"
            )

    def _check_tier_links(self) -> None:
        """A service's ``next`` tier is a guest group."""
        groups = set(self.guest_group_names())
        for name, wl in self.workloads.items():
            nxt = getattr(wl, "next", None)
            if nxt is not None and nxt not in groups:
                raise ValueError(
                    f"workloads.{name}.next: {nxt!r} is not a guest group; "
                    f"groups are {few_names(groups)}"
                )

    def _check_events(self) -> None:
        """A lifecycle event names an existing guest, and a migration an existing host."""
        hosts = set(self.host_names())
        guests = set(self.guest_names())
        for i, e in enumerate(self.events):
            if e.at > self.duration:
                warnings.warn(
                    f"events[{i}].at: {e.at:g} s is after the end of the run "
                    f"({self.duration:g} s); this {e.action} never happens",
                    stacklevel=2,
                )
            if e.guest not in guests:
                raise ValueError(
                    f"events[{i}].guest: guest {e.guest!r} does not exist; "
                    f"guests are {few_names(guests)}"
                )
            if e.to is not None and e.to not in hosts:
                raise ValueError(
                    f"events[{i}].to: host {e.to!r} does not exist; hosts are {few_names(hosts)}"
                )

    def host_names(self) -> list[str]:
        """Host names in index order: ``<type>-<i>`` numbered within each type."""
        return [f"{h.name}-{i}" for h in self.datacenter.host_types for i in range(h.count)]

    def host_type_names(self) -> list[str]:
        """Names of the host types, in the order given."""
        return [h.name for h in self.datacenter.host_types]

    def guest_group_names(self) -> list[str]:
        """Names of the guest groups, in the order given."""
        return [g.name for g in self.guests]

    def guest_names(self) -> list[str]:
        """Names of every guest instance, group by group (see :meth:`Guest.instance_names`)."""
        return [n for g in self.guests for n in g.instance_names()]


def _check_unique(names: list[str], what: str, field: str | None = None) -> None:
    """Each name once; with ``field``, the message names the second entry (``guests[3].name``)."""
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            where = f"{field}[{i}].name: " if field else ""
            raise ValueError(f"{where}{what} name {n!r} is used twice; names must be unique")
        seen.add(n)
