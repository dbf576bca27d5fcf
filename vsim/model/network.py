"""The scenario's network as a fabric of links (see vsim.core.topology)."""

from __future__ import annotations

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
