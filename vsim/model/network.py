"""The scenario's network: a fabric of links (see vsim.core.topology) and what the transport
protocol delivers of them (:class:`Protocol`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vsim.core.topology import Fabric, star_fabric, two_tier_fabric
from vsim.scenario.network import Network


def build_fabric(net: Network, nic_bandwidth: np.ndarray) -> Fabric:
    if net.topology == "star":
        return star_fabric(nic_bandwidth, link_latency=net.host_link_latency)
    return two_tier_fabric(
        nic_bandwidth,
        hosts_per_rack=net.hosts_per_rack,
        oversubscription=net.oversubscription,
        host_link_latency=net.host_link_latency,
        tor_link_latency=net.tor_link_latency,
    )


def tcp_goodput_factor(mtu: float, ip_tcp_header: float, frame_overhead: float) -> float:
    """Share of an Ethernet link's bit rate a bulk TCP stream delivers as payload.

    Each full-sized segment carries ``mtu - ip_tcp_header`` payload bytes in a frame that takes
    ``mtu + frame_overhead`` bytes of wire time (Ethernet header, FCS, preamble and the
    inter-frame gap). 1500-byte MTU, IPv4 + TCP with timestamps (52 bytes) and 38 bytes of
    framing give 1448 / 1538 = 0.9415: the 941 Mb/s that iperf measures on Gigabit Ethernet.
    """
    return (mtu - ip_tcp_header) / (mtu + frame_overhead)


@dataclass(frozen=True)
class Protocol:
    """What flows get of the fabric's links.

    ``goodput``: share of a link's bandwidth delivered as payload; ``window``: bytes a flow may
    have in flight, so a flow moves at most ``window / RTT`` with the RTT twice its route's
    latency (inf: no bound); ``latency_factor``: a transfer's start waits this many times its
    route's one-way latency (SimGrid's model of slow start), and a request's hop pays it;
    ``startup``: whether migration transfers pay that wait (the ideal model starts them at
    once, as vsim always did).
    """

    goodput: float = 1.0
    window: float = math.inf
    latency_factor: float = 1.0
    startup: bool = False

    @property
    def ideal(self) -> bool:
        return self.goodput == 1.0 and self.window == math.inf and not self.startup


IDEAL = Protocol()


def build_protocol(net: Network) -> Protocol:
    """The protocol layer of ``net`` (``model: ideal``: links deliver their nominal rate)."""
    if net.model == "ideal":
        return IDEAL
    factor = net.bandwidth_factor
    if factor is None:
        factor = tcp_goodput_factor(net.mtu, net.ip_tcp_header, net.frame_overhead)
    return Protocol(
        goodput=factor,
        window=net.tcp_window if net.tcp_window is not None else math.inf,
        latency_factor=net.latency_factor,
        startup=True,
    )
