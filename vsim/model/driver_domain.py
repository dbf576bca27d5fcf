"""Xen driver domains (dom0): split-driver I/O done by a consumer of the host's CPU.

A guest on the ``xen_split`` I/O path costs, per unit of its useful work ``x``, ``k_in x`` on
its vCPUs, ``beta x`` in Xen itself (grant-table and page-remapping hypercalls, charged like
any hypervisor work) and ``delta x`` in its host's driver domain (``cpu_in_dom0``, the back
ends and the real device drivers; :mod:`vsim.model.overhead`). The driver domain is one more
consumer on the host:

- it asks for ``R = min(sum_i delta_i x0_i, vcpus x core_mips)`` over the host's guests' wanted
  rates ``x0``, and contends with them by weighted max-min (weight ``cpu_shares``), or, when
  ``pinned``, runs alone on ``vcpus`` cores that are taken out of the guests' capacity;
- a guest's I/O waits for dom0: when dom0 cannot do all its guests ask (its cap, or its
  fair share while others want the CPU), it divides what it gets among its guests by max-min
  of their back-end work, and a guest it serves less runs slower, leaving its CPU to the
  others; one progressive filling of the host finds that allocation
  (:func:`_dom0_holds_back`). When dom0 keeps up, the usual case, one max-min solves it
  exactly (:func:`_dom0_keeps_up`).

Work is conserved: guest ``i``'s vCPU time, Xen's work and dom0's work for it are
``k_in x_i``, ``beta x_i`` and ``delta x_i``, so the host's CPU in use is
``sum_i (k_in + beta + delta) x_i`` (what the per-operation costs times the operations give).
Dom0's work is reported in the host's ``hypervisor`` rate and in each guest's
``cpu_overhead_mips``; the guest's own vCPU time (``cpu_alloc_mips``) does not include it.

Scenarios without a ``xen_split`` guest never build a :class:`DriverDomains` and solve exactly
as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsim.core.sharing import maxmin_share

BISECTIONS = 64  # halvings of the level when a dom0 cannot keep up (see _dom0_holds_back)


@dataclass(frozen=True)
class DriverDomains:
    """Every host's driver domain, and what each guest costs it."""

    delta: np.ndarray  # float[G]: dom0 MI per MI of the guest's useful work
    cap: np.ndarray  # float[H]: dom0's most MIPS (its vCPUs at the host's core speed)
    pinned: np.ndarray  # bool[H]: dom0 runs on cores of its own
    shares: np.ndarray  # float[H]: dom0's weight under contention

    @classmethod
    def build(cls, scenario, hosts, guests) -> DriverDomains | None:
        """The driver domains of a scenario, or None when no guest uses split drivers."""
        if not (guests.cpu_in_dom0 > 0).any():
            return None
        types = scenario.datacenter.host_types
        counts = [t.count for t in types]

        def per_host(values: list) -> np.ndarray:
            return np.repeat(np.array(values), counts)

        vcpus = per_host([float(t.driver_domain.vcpus) for t in types])
        return cls(
            delta=guests.cpu_in_dom0,
            cap=np.minimum(vcpus, hosts.cores) * hosts.core_mips,
            pinned=per_host([t.driver_domain.pinned for t in types]).astype(bool),
            shares=per_host([float(t.driver_domain.cpu_shares) for t in types]),
        )

    def guest_capacity(self, cpu_mips: np.ndarray, hsel) -> np.ndarray:
        """Each host's CPU left to guests (less dom0's cores where it is pinned)."""
        return np.where(self.pinned[hsel], cpu_mips - self.cap[hsel], cpu_mips)


def share_with_dom0(
    dd: DriverDomains,
    capacity: np.ndarray,
    hsel,
    consumers: tuple[np.ndarray, np.ndarray, np.ndarray],
    guests: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """CPU of the hosts in scope shared among guests, other consumers and driver domains.

    ``consumers`` = (host, weight, request) of every CPU consumer, the running guests first;
    ``guests`` = (their delta, k_tot). Returns the consumers' grants; a guest's grant is what
    it uses, ``k_tot x``, and dom0 works ``delta x`` for it. Each host is solved as dom0 keeping
    up (:func:`_dom0_keeps_up`) unless that asks more of dom0 than its cap or its fair share,
    and then with dom0 holding guests back (:func:`_dom0_holds_back`).
    """
    host = consumers[0]
    delta, k_tot = guests
    per_unit = np.ones(len(host))  # host CPU per unit of a consumer's own grant, dom0's included
    per_unit[: len(delta)] += delta / k_tot
    free = dd.guest_capacity(capacity, hsel)
    grant, ok = _dom0_keeps_up(dd, free, hsel, consumers, per_unit)
    if ok.all():
        return grant
    held = _dom0_holds_back(dd, free, hsel, consumers, guests)
    return np.where(ok[host], grant, held)


def _dom0_keeps_up(dd, free, hsel, consumers, per_unit) -> tuple[np.ndarray, np.ndarray]:
    """Grants when every dom0 does all its guests ask (and whether it can, per host).

    Unpinned, dom0's work for a guest comes off the top of the host: a guest granted ``a`` of
    CPU takes ``a * per_unit`` of the host, and weighted max-min of the guests' own grants
    with those costs is a max-min of ``a * per_unit`` with weights ``w * per_unit``. Dom0 can
    do it when its work fits its cap and, on a contended host, its fair share at the guests'
    level (``w0`` times the grant per unit of weight of a guest the host cannot satisfy).
    Pinned, the guests share the cores left to them and dom0's work fits its own cores or not.
    """
    host, weight, request = consumers
    nh = len(free)
    pinned = dd.pinned[hsel][host]
    cost = np.where(pinned, 1.0, per_unit)
    taken = maxmin_share(free, host, weight * cost, request * cost)
    grant = taken / cost
    work = np.bincount(host, grant * (per_unit - 1.0), minlength=nh)
    short = grant < request * (1.0 - 1e-12)
    level = np.full(nh, np.inf)
    np.minimum.at(level, host[short & ~pinned], (grant / weight)[short & ~pinned])
    ok = (work <= dd.cap[hsel] * (1.0 + 1e-12)) & (work <= dd.shares[hsel] * level)
    return grant, ok


def _dom0_holds_back(dd, free, hsel, consumers, guests) -> np.ndarray:
    """Grants when a dom0 cannot keep up, by progressive filling of one level ``L`` per host
    (CPU per unit of weight) shared by every consumer, dom0 included.

    At level ``L`` a consumer gets ``min(request, w L)``; dom0 gets ``min(cap, w0 L, D)`` (only
    ``min(cap, D)`` when pinned, on its own cores), ``D`` being the back-end work of its
    guests at those grants, and divides it among them by max-min of that work; a guest it
    serves less runs slower and takes only the CPU its served work needs. The host's total
    use grows with ``L``; the level that fills the host is found by bisection
    (:data:`BISECTIONS` halvings, to the last bits of a double), from below, so that no host
    is ever over-allocated.
    """
    host, weight, request = consumers
    delta, k_tot = guests
    n, nh = len(delta), len(free)
    pinned = dd.pinned[hsel]

    def at(level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.minimum(request, weight * level[host])
        back = delta * a[:n] / k_tot
        dom0 = np.minimum(dd.cap[hsel], np.bincount(host[:n], back, minlength=nh))
        dom0 = np.where(pinned, dom0, np.minimum(dom0, dd.shares[hsel] * level))
        served = maxmin_share(dom0, host[:n], np.ones(n), back)
        slow = served < back
        a[:n] = np.where(slow, np.divide(served * k_tot, delta, where=delta > 0, out=a[:n]), a[:n])
        return a, np.bincount(host, a, minlength=nh) + np.where(pinned, 0.0, dom0)

    lo = np.zeros(nh)
    hi = np.zeros(nh)
    np.maximum.at(hi, host, request / weight)
    hi = np.maximum(hi, np.where(pinned, 0.0, dd.cap[hsel] / dd.shares[hsel]))
    fits = at(hi)[1] <= free
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        under = at(mid)[1] <= free
        lo = np.where(under, mid, lo)
        hi = np.where(under, hi, mid)
    return at(np.where(fits, hi, lo))[0]
