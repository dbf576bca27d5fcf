"""The datacenter network and live migration, as scenario sections."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from vsim.scenario.base import Strict
from vsim.scenario.units import (
    Bytes,
    BytesPerSecond,
    Seconds,
    parse_bytes,
)


class Network(Strict):
    """How hosts' NICs connect: one core switch (``star``) or racks of hosts under top-of-rack
    switches whose uplinks are oversubscribed (``two_tier``). Every flow that crosses several
    links gets a max-min fair share over all of them, of what the transport protocol delivers
    (``model``)."""

    topology: Literal["star", "two_tier"] = Field(
        "star", description="star: one core switch; two_tier: racks under top-of-rack switches"
    )
    hosts_per_rack: int = Field(
        40, gt=0, description="hosts under one top-of-rack switch (two_tier)"
    )
    oversubscription: float = Field(1.0, ge=1.0, description="rack NIC bandwidth / ToR uplink")
    host_link_latency: Seconds = Field(5e-6, ge=0, description="one-way, host to its switch")
    tor_link_latency: Seconds = Field(5e-6, ge=0, description="one-way, ToR to the core")
    # What a transport protocol delivers of the links (docs/network.md). ``ideal``: flows move
    # at the links' nominal rates and start at once (vsim before the protocol layer).
    model: Literal["ideal", "tcp"] = Field(
        "tcp",
        description="ideal: flows at the links' rates; tcp: goodput, window and latency bounds",
    )
    # Ethernet's standard MTU (IEEE 802.3); jumbo frames are 9000.
    mtu: int = Field(1500, ge=576, le=65535, description="bytes of IP packet per frame")
    # IPv4 (20, RFC 791) + TCP (20, RFC 9293) + the timestamp option (12 with padding,
    # RFC 7323), which Linux sends by default (net.ipv4.tcp_timestamps = 1).
    ip_tcp_header: int = Field(52, ge=40, description="bytes of IP and TCP header per packet")
    # Ethernet framing per frame on the wire: 14 header + 4 FCS + 8 preamble and start delimiter
    # + 12 inter-frame gap (IEEE 802.3).
    frame_overhead: int = Field(38, ge=0, description="bytes of wire time per frame beyond MTU")
    # None: the closed form from the three sizes above (0.9415 for the defaults). SimGrid's
    # LV08 model uses an empirical 0.97 (Velho et al., "On the validity of flow-level TCP
    # network models for grid and cloud simulations", ACM TOMACS 23(4), 2013; SimGrid's
    # network/bandwidth-factor).
    bandwidth_factor: float | None = Field(None, gt=0, le=1, description="payload share")
    # Bytes in flight per flow: Linux's default largest send buffer (net.ipv4.tcp_wmem,
    # 4 MiB), which is also SimGrid's default TCP window (network/TCP-gamma = 4194304).
    # None: no window bound.
    tcp_window: Bytes | None = Field(
        parse_bytes("4MiB"), gt=0, description="TCP window, bytes; none: no window bound"
    )
    # A transfer starts after this many times its route's one-way latency: 1 is the first
    # byte's propagation; SimGrid's LV08 uses 13.01 to stand for slow start
    # (network/latency-factor).
    latency_factor: float = Field(
        1.0, ge=0, description="multiplies every link latency (sensitivity studies)"
    )

    @field_validator("ip_tcp_header")
    @classmethod
    def _header_fits_the_mtu(cls, v: int, info: ValidationInfo) -> int:
        mtu = info.data.get("mtu")
        if mtu is not None and v >= mtu:
            raise ValueError(f"ip_tcp_header ({v}) must be smaller than mtu ({mtu})")
        return v


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

    algorithm: Literal["precopy", "postcopy", "cold"] = Field(
        "precopy", description="precopy, postcopy or cold (stop, copy, start)"
    )
    # QEMU's default maximum downtime (migrate-set-parameters downtime-limit) is 300 ms.
    max_downtime: Seconds = Field(
        0.3, gt=0, description="pre-copy stops iterating once the rest fits in this pause, s"
    )
    max_rounds: int = Field(30, ge=1, description="most pre-copy rounds")
    min_shrink: float | None = Field(
        0.0, ge=0, lt=1, description="a round must shrink the remainder by this share, or stop"
    )
    on_no_convergence: Literal["stop_and_copy", "abort"] = Field(
        "stop_and_copy", description="when pre-copy does not converge: stop and copy, or abort"
    )
    bandwidth_cap: BytesPerSecond | None = Field(None, gt=0, description="per migration")
    device_state: Bytes = Field(
        parse_bytes("1MiB"), ge=0, description="device state sent during the pause, bytes"
    )
    # CPU the migration threads burn on each end, in cores.
    cpu_cost_cores: float = Field(
        0.1, ge=0, description="CPU the migration threads use on each end, cores"
    )
    # Performance loss of a guest while it is pre-copied: about 10 % in the measurements of
    # Voorsluys et al., "Cost of Virtual Machine Live Migration in Clouds", CloudCom 2009, the
    # figure Beloglazov & Buyya (CCPE 2012) use for their PDM metric.
    degradation: float = Field(
        0.1, ge=0, lt=1, description="fraction of a live-migrating VM's CPU lost while it migrates"
    )
    postcopy_slowdown: float = Field(
        0.3,
        ge=0,
        lt=1,
        description="fraction of CPU a post-copy VM loses while its pages are fetched",
    )
    # CPU the destination reserves for an incoming VM while it migrates, as a fraction of the
    # VM's requested MIPS (CloudSim 4.0 reserves 10 %; 0 = only the migration threads above).
    dest_cpu_reserve: float = Field(
        0.0,
        ge=0,
        le=1,
        description="fraction of the VM's requested MIPS reserved on the destination",
    )
