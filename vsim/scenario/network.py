"""The datacenter network and live migration, as scenario sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from vsim.scenario.base import Strict
from vsim.scenario.units import parse_bytes, parse_duration, parse_rate

Seconds = Annotated[float, BeforeValidator(parse_duration)]
Bytes = Annotated[float, BeforeValidator(parse_bytes)]
BytesPerSecond = Annotated[float, BeforeValidator(parse_rate)]


class Network(Strict):
    """How hosts' NICs connect: one core switch (``star``) or racks of hosts under top-of-rack
    switches whose uplinks are oversubscribed (``two_tier``). Every flow that crosses several
    links gets a max-min fair share over all of them."""

    topology: Literal["star", "two_tier"] = "star"
    hosts_per_rack: int = Field(40, gt=0)
    oversubscription: float = Field(1.0, ge=1.0, description="rack NIC bandwidth / ToR uplink")
    host_link_latency: Seconds = Field(5e-6, ge=0, description="one-way, host to its switch")
    tor_link_latency: Seconds = Field(5e-6, ge=0, description="one-way, ToR to the core")


class Migration(Strict):
    """How guests move between hosts.

    ``precopy`` (Clark et al., "Live Migration of Virtual Machines", NSDI 2005): round 0 sends all
    memory, each later round the pages dirtied during the previous one, until the remainder fits
    ``max_downtime``, ``max_rounds`` is reached, or a round stops shrinking the remainder by
    ``min_shrink``; then the guest pauses while the remainder and its device state are copied.
    ``postcopy``: the guest pauses only to move its device state, then runs on the destination
    slowed by remote page faults (``postcopy_slowdown``) until all memory has arrived. ``cold``:
    the guest is suspended for the whole copy.
    """

    algorithm: Literal["precopy", "postcopy", "cold"] = "precopy"
    # QEMU's default maximum downtime (migrate-set-parameters downtime-limit) is 300 ms.
    max_downtime: Seconds = Field(0.3, gt=0)
    max_rounds: int = Field(30, ge=1)
    min_shrink: float | None = Field(
        0.0, ge=0, lt=1, description="a round must shrink the remainder by this share, or stop"
    )
    on_no_convergence: Literal["stop_and_copy", "abort"] = "stop_and_copy"
    bandwidth_cap: BytesPerSecond | None = Field(None, gt=0, description="per migration")
    device_state: Bytes = Field(parse_bytes("1MiB"), ge=0)
    # CPU the migration threads burn on each end, in cores.
    cpu_cost_cores: float = Field(0.1, ge=0)
    # Performance loss of a guest while it is pre-copied: about 10 % in the measurements of
    # Voorsluys et al., "Cost of Virtual Machine Live Migration in Clouds", CloudCom 2009, the
    # figure Beloglazov & Buyya (CCPE 2012) use for their PDM metric.
    degradation: float = Field(0.1, ge=0, lt=1)
    postcopy_slowdown: float = Field(0.3, ge=0, lt=1)
    # CPU the destination reserves for an incoming VM while it migrates, as a fraction of the
    # VM's requested MIPS (CloudSim 4.0 reserves 10 %; 0 = only the migration threads above).
    dest_cpu_reserve: float = Field(0.0, ge=0, le=1)
