"""The ``failures:`` section of a scenario: what breaks, how it is noticed, how guests recover.

Sections (all optional)::

    failures:
      hosts:            # independent failures of each host (a renewal process per host)
        - host_types: [std]                       # default: every host type
          time_to_failure: {distribution: weibull, mtbf: 90d, shape: 0.8}
          repair: {distribution: lognormal, mttr: 4h, sigma: 1.0}
      domains:          # racks, PDUs: a failure takes all their hosts down together
        - {name: rack-a, hosts: [std-0, std-1], time_to_failure: {...}, repair: {...}}
      scheduled:        # failures at given times
        - {host: std-0, at: 2h, repair_after: 30m}
        - {domain: rack-a, at: 5h}              # never repaired when repair_after is absent
      trace: failures.csv                       # CSV with columns host, fail_time, repair_time
      guest_crashes: {web: 30d}                 # mean time between crashes of each guest
      ha:
        enabled: true
        heartbeat_interval: 1s
        missed_beats: 3
        priority: {db: 10, web: 1}              # higher restarts first; default 0
        admission_control: {host_failures: 1}   # or {percentage: 0.25}
      protection:       # per guest group; default mode restart
        db: {mode: replication, cpu_overhead: 0.3, net_bandwidth: 50MB/s}
        web: {mode: backup, interval: 6h, size: 20GiB, bandwidth: 100MB/s}

The meaning of each number, and the rules of the model, are in ``docs/failures.md``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Protocol

from pydantic import Field, ValidationInfo, field_validator, model_validator

from vsim.scenario.base import Strict, existing_path, few_names
from vsim.scenario.units import (
    Bytes,
    BytesPerSecond,
    Seconds,
)

# Remus checkpoints a protected VM as often as every 25 ms (forty times a second): Cully et al.,
# "Remus: High Availability via Asynchronous Virtual Machine Replication", NSDI 2008, abstract
# and section 2. The standby notices a failure when checkpoints stop arriving; we take four
# missed epochs (100 ms) to declare the primary dead, plus resuming the already-resident standby
# image, and round to 0.2 s. That rounding is our assumption, not a figure from the paper.
REMUS_EPOCH_S = 0.025
REMUS_FAILOVER_S = 0.2


class ExponentialTTF(Strict):
    """Exponential time to failure with mean ``mtbf`` (a constant failure rate)."""

    distribution: Literal["exponential"] = Field(
        description="exponential time to failure with mean mtbf"
    )
    mtbf: Seconds = Field(gt=0, description="mean time between failures")


class WeibullTTF(Strict):
    """Weibull time to failure with mean ``mtbf`` and ``shape`` k (k < 1: infant mortality,
    k > 1: wear-out); the scale is ``mtbf / Gamma(1 + 1/k)``."""

    distribution: Literal["weibull"] = Field(description="Weibull time to failure")
    mtbf: Seconds = Field(gt=0, description="mean time between failures, s")
    shape: float = Field(gt=0, description="Weibull shape k: < 1 infant mortality, > 1 wear-out")

    @property
    def scale(self) -> float:
        return self.mtbf / math.gamma(1.0 + 1.0 / self.shape)


class ExponentialRepair(Strict):
    distribution: Literal["exponential"] = Field(
        description="exponential repair time with mean mttr"
    )
    mttr: Seconds = Field(gt=0, description="mean time to repair")


class LognormalRepair(Strict):
    """Lognormal repair time with mean ``mttr``: ``mu = ln(mttr) - sigma^2 / 2``."""

    distribution: Literal["lognormal"] = Field(description="lognormal repair time with mean mttr")
    mttr: Seconds = Field(gt=0, description="mean repair time, s")
    sigma: float = Field(1.0, gt=0, description="standard deviation of the log of the repair time")

    @property
    def mu(self) -> float:
        return math.log(self.mttr) - self.sigma**2 / 2.0


class FixedRepair(Strict):
    """Every repair takes exactly ``mttr``."""

    distribution: Literal["fixed"] = Field(description="every repair takes mttr")
    mttr: Seconds = Field(ge=0, description="repair time, s")


TimeToFailure = Annotated[ExponentialTTF | WeibullTTF, Field(discriminator="distribution")]
RepairTime = Annotated[
    ExponentialRepair | LognormalRepair | FixedRepair, Field(discriminator="distribution")
]


class HostFailures(Strict):
    """Independent failure/repair cycles of every host of the listed types."""

    host_types: list[str] | None = Field(None, description="default: every host type")
    time_to_failure: TimeToFailure = Field(description="time between a host's failures")
    repair: RepairTime = Field(description="how long a failed host stays down")


class Domain(Strict):
    """A failure domain (rack, PDU, top-of-rack switch): its failure takes all its hosts down."""

    name: str = Field(description="domain name, for scheduled failures")
    hosts: list[str] = Field(min_length=1, description="names of the hosts the domain holds")
    time_to_failure: TimeToFailure | None = Field(
        None, description="time between the domain's failures; none: only scheduled ones"
    )
    repair: RepairTime | None = Field(None, description="how long the domain stays down")

    @model_validator(mode="after")
    def _both(self) -> Domain:
        if (self.time_to_failure is None) != (self.repair is None):
            raise ValueError("give both time_to_failure and repair, or neither (scheduled only)")
        return self


class ScheduledFailure(Strict):
    """One failure at a given time, of a host or of a whole domain."""

    host: str | None = Field(None, description="the host that fails (or give domain)")
    domain: str | None = Field(None, description="the domain that fails (or give host)")
    at: Seconds = Field(ge=0, description="time of the failure, s")
    repair_after: Seconds | None = Field(None, ge=0, description="absent: never repaired")

    @model_validator(mode="after")
    def _one_target(self) -> ScheduledFailure:
        if (self.host is None) == (self.domain is None):
            raise ValueError("name exactly one of host or domain")
        return self


class AdmissionControl(Strict):
    """Capacity held back for failover: enough for the ``host_failures`` largest hosts, or a
    ``percentage`` (a fraction in [0, 1)) of every host's CPU and memory."""

    host_failures: int | None = Field(
        None,
        ge=0,
        description="hold back enough capacity for this many of the largest hosts to fail",
    )
    percentage: float | None = Field(
        None, ge=0, lt=1, description="or hold back this fraction of every host's CPU and memory"
    )

    @model_validator(mode="after")
    def _one_policy(self) -> AdmissionControl:
        if (self.host_failures is None) == (self.percentage is None):
            raise ValueError("give exactly one of host_failures or percentage")
        return self


class HA(Strict):
    """Heartbeat detection and automatic restart of the guests of failed hosts."""

    enabled: bool = Field(True, description="restart the guests of failed hosts elsewhere")
    heartbeat_interval: Seconds = Field(1.0, gt=0, description="time between heartbeats, s")
    missed_beats: int = Field(
        3, ge=1, description="heartbeats missed before a host is declared failed"
    )
    priority: dict[str, int] = Field(
        {}, description="restart priority by guest group name; higher first, default 0"
    )
    admission_control: AdmissionControl | None = Field(
        None, description="capacity held back for failover; none: nothing held back"
    )


class RestartProtection(Strict):
    """Restart from shared storage: the disk survives, nothing is lost."""

    mode: Literal["restart"] = Field(description="restart from shared storage; nothing is lost")


class BackupProtection(Strict):
    """Periodic backups; a host failure restores the last completed one.

    Backups start at ``offset + k * interval`` for every running guest of the group. Each reads
    ``size`` bytes from the guest's disk and sends them over its NIC at ``bandwidth``, so it
    lasts ``size / bandwidth`` and adds that much disk and network demand meanwhile.
    """

    mode: Literal["backup"] = Field(
        description="periodic backups; a failure restores the last completed one"
    )
    interval: Seconds = Field(gt=0, description="time between backups, s")
    size: Bytes = Field(gt=0, description="bytes one backup reads and sends")
    bandwidth: BytesPerSecond = Field(gt=0, description="rate a backup is sent at, bytes/s")
    offset: Seconds = Field(0.0, ge=0, description="time of the first backup")


class ReplicationProtection(Strict):
    """Remus-style continuous checkpointing to a standby (Cully et al., NSDI 2008).

    ``cpu_overhead`` is the extra CPU per unit of useful work that checkpointing costs (pauses
    and dirty-page copies); Cully et al. show it grows with the checkpoint rate and how fast the
    workload dirties memory, so set it from a measurement of your workload (default 0.3 is an
    assumption). ``net_bandwidth`` is the checkpoint stream to the standby. ``failover_time``
    is from the failure to the standby running.
    """

    mode: Literal["replication"] = Field(
        description="continuous checkpointing to a standby (Remus)"
    )
    cpu_overhead: float = Field(
        0.3, ge=0, description="extra CPU per unit of useful work that checkpointing costs"
    )
    net_bandwidth: BytesPerSecond = Field(
        0.0, ge=0, description="checkpoint traffic to the standby, bytes/s"
    )
    failover_time: Seconds = Field(
        REMUS_FAILOVER_S, ge=0, description="time from detection to the standby running, s"
    )


Protection = Annotated[
    RestartProtection | BackupProtection | ReplicationProtection, Field(discriminator="mode")
]


def _failure_trace(value: str, info: ValidationInfo) -> str:
    return existing_path(value, info, "failure trace")


class Failures(Strict):
    """Failure models, detection, HA and protection of a scenario."""

    hosts: list[HostFailures] = Field(
        [], description="independent failure/repair cycles per host type"
    )
    domains: list[Domain] = Field([], description="failure domains (racks, PDUs, switches)")
    scheduled: list[ScheduledFailure] = Field([], description="failures at given times")
    trace: str | None = Field(None, description="CSV with columns host, fail_time, repair_time")
    guest_crashes: dict[str, Seconds] = Field(
        {}, description="mean time between crashes of each guest, by guest group"
    )
    ha: HA = Field(
        HA(enabled=False), description="heartbeat detection and restart of failed hosts' guests"
    )
    protection: dict[str, Protection] = Field(
        {},
        description="protection per guest group name: restart, replication or backup",
    )

    @field_validator("trace")
    @classmethod
    def _exists(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _failure_trace(v, info)

    @field_validator("guest_crashes")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for group, mtbf in v.items():
            if not mtbf > 0:
                raise ValueError(f"guest_crashes.{group}: the mean time must be > 0")
        return v

    def check(self, scenario: ScenarioNames) -> None:
        """Check every name this section uses against the rest of the scenario.

        Raises ``ValueError`` naming the field, the unknown name and some known ones. The
        scenario schema calls it, so ``vsim validate`` rejects what a run would.
        """
        hosts = set(scenario.host_names())
        types = set(scenario.host_type_names())
        groups = set(scenario.guest_group_names())
        for i, hf in enumerate(self.hosts):
            for t in hf.host_types or []:
                _need(t, types, f"hosts[{i}].host_types", "host type")
        domains = self._check_domains(hosts)
        for i, s in enumerate(self.scheduled):
            if s.host is not None:
                _need(s.host, hosts, f"scheduled[{i}].host", "host")
            else:
                _need(s.domain, domains, f"scheduled[{i}].domain", "domain")
        for where, names in (
            ("guest_crashes", self.guest_crashes),
            ("ha.priority", self.ha.priority),
            ("protection", self.protection),
        ):
            for g in names:
                _need(g, groups, where, "guest group")

    def _check_domains(self, hosts: set[str]) -> set[str]:
        """The domain names, after checking they are unique and name existing hosts."""
        names: set[str] = set()
        for i, d in enumerate(self.domains):
            if d.name in names:
                raise ValueError(
                    f"failures.domains[{i}].name: domain name {d.name!r} is used twice; "
                    "names must be unique"
                )
            names.add(d.name)
            for h in d.hosts:
                _need(h, hosts, f"domains[{i}].hosts", "host")
        return names


class ScenarioNames(Protocol):
    """The names a ``failures`` section may refer to; a ``Scenario`` provides them.

    A protocol rather than the scenario class, so that this section does not import the
    schema that contains it.
    """

    def host_names(self) -> list[str]: ...

    def host_type_names(self) -> list[str]: ...

    def guest_group_names(self) -> list[str]: ...


def _need(name: str, known: set[str], where: str, what: str) -> None:
    if name not in known:
        raise ValueError(
            f"failures.{where}: {what} {name!r} does not exist; known: {few_names(known)}"
        )
