"""Tenants, their isolation levels, and co-residency attackers (the ``tenants`` and ``attacks``
sections).

A guest group names its ``tenant``; a tenant's ``isolation`` says whom its guests may share a
host with: ``shared`` (anyone), ``exclusive`` (only itself: dedicated hosts) or a number ``m``
(at most ``m`` other tenants on any host it is on). Guests that name no tenant belong to one
implicit shared tenant.

An attack is a tenant that launches VMs to land beside its victims (Ristenpart et al., CCS
2009; Varadarajan et al., USENIX Security 2015): in ``burst``\\ es of ``k`` VMs at given times,
or in ``repeated`` rounds that launch ``k``, keep those co-resident with a victim and stop the
rest, every ``interval``, until ``budget`` launches are spent or every victim is covered.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from vsim.scenario.base import Strict
from vsim.scenario.units import Bytes, Seconds


class Tenant(Strict):
    """A tenant and whom its guests may share a host with."""

    name: str = Field(description="the name guest groups give as their tenant")
    isolation: Literal["shared", "exclusive"] | int = Field(
        "shared",
        description="shared: anyone may share its hosts; exclusive: dedicated hosts; a number "
        "m >= 0: at most m other tenants on any host it is on",
    )

    @model_validator(mode="after")
    def _level(self) -> Tenant:
        if isinstance(self.isolation, int) and self.isolation < 0:
            raise ValueError(
                f"tenant {self.name!r}: isolation {self.isolation} is negative; give shared, "
                "exclusive or a number of other tenants >= 0"
            )
        return self

    @property
    def max_others(self) -> float:
        """The most other tenants a host it is on may hold (inf: shared, 0: exclusive)."""
        if self.isolation == "shared":
            return float("inf")
        if self.isolation == "exclusive":
            return 0.0
        return float(self.isolation)


class AttackVm(Strict):
    """The size of each VM the attacker launches."""

    vcpus: float = Field(1.0, gt=0, description="vCPUs of each attacker VM")
    vcpu_mips: float = Field(1000.0, gt=0, description="speed of one vCPU")
    memory: Bytes = Field(2**30, gt=0, description="memory of each attacker VM")
    boot_time: Seconds | None = Field(None, ge=0, description="default: a VM's boot time")


class Victims(Strict):
    """Whom the attacker is after: every guest of a tenant, or named guests."""

    tenant: str | None = Field(None, description="every guest of this tenant is a victim")
    guests: list[str] = Field([], description="these guests (instance names) are the victims")

    @model_validator(mode="after")
    def _one(self) -> Victims:
        if (self.tenant is None) == (not self.guests):
            raise ValueError("victims: give either tenant or guests (one of the two)")
        return self


class Attack(Strict):
    """An attacker tenant and its launch strategy."""

    name: str = Field(description="names the attack's VMs (name-0, name-1...) and its columns")
    tenant: str = Field(description="the attacker's tenant (listed in tenants, or shared)")
    victims: Victims = Field(description="whom the attacker is after: a tenant or named guests")
    strategy: Literal["burst", "repeated"] = Field(
        description="burst: k VMs at each time of 'at', all kept; repeated: a round every "
        "interval launches k, keeps those co-resident with a victim, stops the rest"
    )
    k: int = Field(ge=1, description="VMs launched together (a burst or a round)")
    at: list[Seconds] = Field([0.0], description="burst: the launch times")
    start: Seconds = Field(0.0, ge=0, description="repeated: time of the first round")
    interval: Seconds = Field(3600.0, gt=0, description="repeated: time between rounds")
    budget: int = Field(100, ge=1, description="repeated: most VMs launched in all")
    probe: Seconds = Field(
        60.0,
        ge=0,
        description="repeated: how long a launched VM runs before the attacker knows whether "
        "it is co-resident (boot plus the co-residency test); the rest are stopped then",
    )
    level: Literal["host", "rack"] = Field(
        "host",
        description="co-residency on one host (cache and memory-bus channels) or one rack "
        "(network channels; racks of the network's two_tier fabric)",
    )
    vm: AttackVm = Field(AttackVm(), description="the size of each VM the attacker launches")

    @model_validator(mode="after")
    def _times(self) -> Attack:
        if self.strategy == "burst" and not self.at:
            raise ValueError(f"attack {self.name!r}: a burst needs at least one time in 'at'")
        if any(t < 0 for t in self.at):
            raise ValueError(f"attack {self.name!r}: burst times must be >= 0")
        return self

    @property
    def launches(self) -> int:
        """The most VMs this attack can launch (the attack's guest group count)."""
        return self.k * len(self.at) if self.strategy == "burst" else self.budget

    def guest_group(self) -> dict:
        """The attack's VMs as a guest group (started by the attack, not at start)."""
        group = {
            "name": self.name,
            "count": self.launches,
            "vcpus": self.vm.vcpus,
            "vcpu_mips": self.vm.vcpu_mips,
            "memory": self.vm.memory,
            "tenant": self.tenant,
            "attack": self.name,
        }
        if self.vm.boot_time is not None:
            group["boot_time"] = self.vm.boot_time
        return group
