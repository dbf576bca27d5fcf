"""Datacenter network fabrics as link arrays, and vectorized routes for :mod:`vsim.core.flows`.

Two shapes, both with full-duplex links modelled as two directed links (one per direction, each
with the full bandwidth, as a switched Ethernet port is):

``star``
    every host has an uplink (host -> core switch) and a downlink (core -> host) with its NIC
    bandwidth; host ``a`` to host ``b`` crosses ``[up(a), down(b)]``.
``two_tier``
    racks of ``hosts_per_rack`` consecutive hosts (the last rack may be partial) under a
    top-of-rack (ToR) switch; hosts connect to their ToR as in the star, and each ToR has an
    uplink and a downlink to the core whose capacity is the sum of its hosts' NIC bandwidth
    divided by the *oversubscription* ratio (the usual definition, e.g. Al-Fares et al., "A
    scalable, commodity data center network architecture", SIGCOMM 2008: the ratio of the
    worst-case aggregate host bandwidth to the bisection bandwidth). Inside a rack:
    ``[up(a), down(b)]``; across racks: ``[up(a), tor_up(rack(a)), tor_down(rack(b)), down(b)]``.

Link ids: host ``h`` has uplink ``2h`` and downlink ``2h + 1``; in a two-tier fabric rack ``r``
has ToR uplink ``2H + 2r`` and ToR downlink ``2H + 2r + 1``.

North-south traffic ("outside", e.g. clients on the Internet) enters and leaves at the core:
outbound ``[up(a)]`` in a star, ``[up(a), tor_up(rack(a))]`` in two tiers; inbound the mirror.
Traffic from a host to itself crosses no link (empty route).

Latency: each link has a one-way propagation/switching latency; a route's latency is the sum
over its links (store-and-forward per hop, no queueing: queueing shows up as reduced rate in
the fluid model instead).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Fabric", "star_fabric", "two_tier_fabric", "route_latency"]


def route_latency(
    latency: np.ndarray, route_ptr: np.ndarray, route_links: np.ndarray
) -> np.ndarray:
    """Sum of link latencies along each CSR route (``0`` for an empty route)."""
    route_ptr = np.asarray(route_ptr, dtype=np.int64)
    n = route_ptr.shape[0] - 1
    links = np.asarray(route_links, dtype=np.int64)[: route_ptr[-1]]
    flow_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(route_ptr))
    return np.bincount(flow_of, weights=np.asarray(latency, dtype=np.float64)[links], minlength=n)


def _compress(cand: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR from a padded (N, K) candidate-link matrix and a mask of the links actually used."""
    ptr = np.zeros(cand.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=ptr[1:])
    return ptr, cand[mask]  # boolean indexing is row-major: route order is preserved


@dataclass(frozen=True, eq=False)
class Fabric:
    """A network fabric: per-link capacity and latency, and how hosts are wired to it.

    Attributes
    ----------
    capacity:
        float64[L], bandwidth of each directed link (bytes/s).
    latency:
        float64[L], one-way latency of each link (s).
    rack_of:
        int64[H], rack of each host (all 0 in a star).
    tiers:
        1 for a star, 2 for a two-tier fabric.
    """

    capacity: np.ndarray
    latency: np.ndarray
    rack_of: np.ndarray
    tiers: int

    @property
    def n_hosts(self) -> int:
        return int(self.rack_of.shape[0])

    @property
    def n_links(self) -> int:
        return int(self.capacity.shape[0])

    def host_uplink(self, host: ArrayLike) -> np.ndarray:
        return 2 * np.asarray(host, dtype=np.int64)

    def host_downlink(self, host: ArrayLike) -> np.ndarray:
        return 2 * np.asarray(host, dtype=np.int64) + 1

    def tor_uplink(self, rack: ArrayLike) -> np.ndarray:
        return 2 * self.n_hosts + 2 * np.asarray(rack, dtype=np.int64)

    def tor_downlink(self, rack: ArrayLike) -> np.ndarray:
        return 2 * self.n_hosts + 2 * np.asarray(rack, dtype=np.int64) + 1

    def _hosts(self, host: ArrayLike) -> np.ndarray:
        h = np.atleast_1d(np.asarray(host, dtype=np.int64))
        if h.ndim != 1 or (h.shape[0] and (h.min() < 0 or h.max() >= self.n_hosts)):
            raise ValueError(f"host ids must be a 1-D array in 0..{self.n_hosts - 1}")
        return h

    def routes(self, src: ArrayLike, dst: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """CSR routes (``route_ptr``, ``route_links``) of flows from ``src[i]`` to ``dst[i]``."""
        a, b = self._hosts(src), self._hosts(dst)
        if a.shape != b.shape:
            raise ValueError("src and dst must have the same length")
        local = a != b
        if self.tiers == 1:
            # Star: a flow crosses its source's uplink and its destination's downlink (the hot
            # path of migrations; the same routes as below in fewer array operations).
            ptr = np.zeros(a.shape[0] + 1, dtype=np.int64)
            np.cumsum(2 * local, out=ptr[1:])
            up, down = self.host_uplink(a[local]), self.host_downlink(b[local])
            return ptr, np.stack([up, down], axis=1).reshape(-1)
        ra, rb = self.rack_of[a], self.rack_of[b]
        cand = np.stack(
            [
                self.host_uplink(a),
                self.tor_uplink(ra),
                self.tor_downlink(rb),
                self.host_downlink(b),
            ],
            axis=1,
        )
        cross = local & (ra != rb)
        mask = np.stack([local, cross, cross, local], axis=1)
        return _compress(cand, mask)

    def routes_outside(
        self, host: ArrayLike, inbound: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """CSR routes between hosts and the core (north-south traffic).

        Outbound (default) host -> core: ``[up(h)]`` (star) or ``[up(h), tor_up(rack(h))]``;
        inbound core -> host: ``[down(h)]`` or ``[tor_down(rack(h)), down(h)]``.
        """
        h = self._hosts(host)
        r = self.rack_of[h]
        if inbound:
            cand = np.stack([self.tor_downlink(r), self.host_downlink(h)], axis=1)
            mask = np.ones(cand.shape, dtype=bool)
            mask[:, 0] = self.tiers == 2
        else:
            cand = np.stack([self.host_uplink(h), self.tor_uplink(r)], axis=1)
            mask = np.ones(cand.shape, dtype=bool)
            mask[:, 1] = self.tiers == 2
        return _compress(cand, mask)

    def pair_latency(self, a: int, b: int) -> float:
        """One-way latency (s) of the route from host ``a`` to host ``b`` (0 when ``a == b``):
        the sum of :meth:`routes`' links for one flow, in scalar arithmetic (a request's hop
        between tiers asks for one pair at a time). Added in route order, as NumPy sums so few
        links, so the figure is the same to the last bit (a test checks it)."""
        if a == b:
            return 0.0
        lat = self.latency
        up, down = float(lat[2 * a]), float(lat[2 * b + 1])
        if self.tiers == 1 or self.rack_of[a] == self.rack_of[b]:
            return up + down
        base = 2 * self.n_hosts
        tor_up = float(lat[base + 2 * int(self.rack_of[a])])
        tor_down = float(lat[base + 2 * int(self.rack_of[b]) + 1])
        return ((up + tor_up) + tor_down) + down

    def route_latency(self, route_ptr: np.ndarray, route_links: np.ndarray) -> np.ndarray:
        """Sum of link latencies along each route (s)."""
        return route_latency(self.latency, route_ptr, route_links)


def _per_host(value: ArrayLike, n: int, name: str) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if (arr < 0).any() or np.isnan(arr).any():
        raise ValueError(f"{name} must be >= 0")
    return arr


def star_fabric(nic_bandwidth: ArrayLike, link_latency: ArrayLike = 0.0) -> Fabric:
    """Star: every host linked to one core switch by an uplink and a downlink.

    ``nic_bandwidth`` is float64[H] (bytes/s each way); ``link_latency`` (s) is a scalar or
    float64[H], applied to both directions of the host's link.
    """
    bw = np.atleast_1d(np.asarray(nic_bandwidth, dtype=np.float64))
    n = bw.shape[0]
    bw = _per_host(bw, n, "nic_bandwidth")
    lat = _per_host(link_latency, n, "link_latency")
    return Fabric(
        capacity=np.repeat(bw, 2),
        latency=np.repeat(lat, 2),
        rack_of=np.zeros(n, dtype=np.int64),
        tiers=1,
    )


def two_tier_fabric(
    nic_bandwidth: ArrayLike,
    hosts_per_rack: int,
    oversubscription: float = 1.0,
    host_link_latency: ArrayLike = 0.0,
    tor_link_latency: float = 0.0,
) -> Fabric:
    """Two tiers: racks of ``hosts_per_rack`` consecutive hosts under ToR switches.

    The ToR uplink and downlink of a rack each carry
    ``sum(nic_bandwidth of the rack's hosts) / oversubscription`` bytes/s.
    """
    if hosts_per_rack < 1:
        raise ValueError("hosts_per_rack must be >= 1")
    if not oversubscription > 0:
        raise ValueError("oversubscription must be > 0")
    bw = np.atleast_1d(np.asarray(nic_bandwidth, dtype=np.float64))
    n = bw.shape[0]
    bw = _per_host(bw, n, "nic_bandwidth")
    lat = _per_host(host_link_latency, n, "host_link_latency")
    rack_of = np.arange(n, dtype=np.int64) // hosts_per_rack
    n_racks = -(-n // hosts_per_rack)
    tor_bw = np.bincount(rack_of, weights=bw, minlength=n_racks) / oversubscription
    return Fabric(
        capacity=np.concatenate([np.repeat(bw, 2), np.repeat(tor_bw, 2)]),
        latency=np.concatenate([np.repeat(lat, 2), np.full(2 * n_racks, float(tor_link_latency))]),
        rack_of=rack_of,
        tiers=2,
    )
