"""Weighted max-min fair rates for flows that cross several links, solved for all links at once.

This is the network counterpart of :func:`vsim.core.sharing.maxmin_share`: a flow (guest
traffic, a migration's bytes) uses every link on its route at the same rate, so links are
coupled and cannot be solved one at a time. The allocation is the one defined by *progressive
filling* (Bertsekas & Gallager, *Data Networks*, 2nd ed., 1992, section 6.5.2, "max-min
fairness"; with weights and demands as in the weighted variant used by SimGrid's fluid network
model, Casanova et al., "Versatile, scalable and accurate simulation of distributed applications
and platforms", JPDC 74(10), 2014):

* all unfrozen flows grow together, flow ``f`` at rate ``weight[f] * t`` for a common level
  ``t`` rising from 0;
* a link *saturates* when the rates of the flows crossing it sum to its capacity; every flow on
  it freezes at its current rate;
* a flow also freezes when it reaches its ``demand`` (a cap such as a migration bandwidth
  limit is folded in by the caller as ``min(demand, cap)``);
* repeat until every flow is frozen.

Routes are given in CSR form: flow ``f`` crosses ``route_links[route_ptr[f]:route_ptr[f + 1]]``.
A link listed twice on one route is crossed twice (it carries the flow's rate twice). A flow
with an empty route (e.g. traffic between two guests on one host) is limited only by its
demand; with an infinite demand its rate is ``inf``.

Guarantees of the result ``rate`` (up to float rounding):

* ``0 <= rate <= demand`` and, per link, ``sum of rates of its flows <= capacity``;
* *bottleneck condition* (which characterises the weighted max-min allocation): every flow
  below its demand crosses a saturated link on which its ``rate / weight`` is the largest among
  the link's flows.

Algorithm
---------
Rather than raising one global level (one iteration per distinct saturation level over the
whole datacenter, which for thousands of independent host pairs is thousands of iterations),
each iteration freezes every flow whose fate is already decided *locally*:

* ``t_l = (capacity_l - load of frozen flows on l) / (weight of unfrozen flows on l)`` is the
  level at which link ``l`` would saturate if nothing else froze first; freezing other flows
  only ever raises it (a flow frozen at level ``t <= t_l`` leaves
  ``(W t_l - w t) / (W - w) >= t_l``);
* a flow's *limit* is ``min(demand / weight, min over its links of t_l)``;
* link ``l`` is a bottleneck now if ``t_l`` is no larger than the limit of every unfrozen flow
  crossing it: no link sharing a flow with ``l`` can saturate earlier, so its flows freeze at
  exactly ``weight * t_l`` in progressive filling too; a flow whose limit is its own demand
  level freezes at its demand for the same reason.

The global minimum always qualifies, so every iteration freezes at least one flow: at most
``F`` iterations, usually as many as the longest chain of dependent saturation levels. Each
iteration is a handful of ``np.bincount`` and ``np.minimum.reduceat`` calls over the
``(flow, link)`` incidence entries, i.e. ``O(E)`` work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["maxmin_flows", "routes_to_csr"]


def routes_to_csr(routes: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Convert a list of routes (each a list of link ids) to CSR arrays.

    Returns
    -------
    (route_ptr, route_links)
        ``int64[F + 1]`` offsets and ``int64[E]`` link ids; flow ``f`` uses
        ``route_links[route_ptr[f]:route_ptr[f + 1]]``.
    """
    lengths = np.fromiter((len(r) for r in routes), dtype=np.int64, count=len(routes))
    route_ptr = np.zeros(len(routes) + 1, dtype=np.int64)
    np.cumsum(lengths, out=route_ptr[1:])
    if route_ptr[-1] == 0:
        return route_ptr, np.zeros(0, dtype=np.int64)
    route_links = np.fromiter(
        (link for r in routes for link in r), dtype=np.int64, count=int(route_ptr[-1])
    )
    return route_ptr, route_links


def _segment_min(values: np.ndarray, ptr: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
    """Minimum of ``values[ptr[i]:ptr[i+1]]`` per segment; ``inf`` for empty segments.

    ``np.minimum.reduceat`` mishandles empty segments, so it only sees the start offsets of the
    non-empty ones (consecutive non-empty segments then tile the array exactly).
    """
    out = np.full(ptr.shape[0] - 1, np.inf)
    if values.shape[0]:
        out[nonempty] = np.minimum.reduceat(values, ptr[:-1][nonempty])
    return out


def maxmin_flows(
    capacity: np.ndarray,
    route_ptr: np.ndarray,
    route_links: np.ndarray,
    weight: np.ndarray,
    demand: np.ndarray,
) -> np.ndarray:
    """Weighted max-min fair rates of ``F`` flows over ``L`` links (progressive filling).

    Parameters
    ----------
    capacity:
        float64[L], capacity of each link (``>= 0``; ``inf`` allowed; negative is treated as 0).
    route_ptr, route_links:
        CSR routes: int64[F + 1] offsets (``route_ptr[0] == 0``, non-decreasing) and int64[E]
        link ids in ``0..L-1``; see :func:`routes_to_csr`.
    weight:
        float64[F], strictly positive weights.
    demand:
        float64[F], ``>= 0``, the most each flow will take; ``np.inf`` for greedy flows.

    Returns
    -------
    numpy.ndarray
        float64[F] rate of each flow; see the module docstring for the guarantees. A flow on
        only infinite-capacity links (or on no link) with infinite demand gets ``inf``.
        Deterministic: same input, same bits.

    The progressive-filling loop stays in one piece (with the invariant of each step beside
    it), which is what makes this function longer than most.
    """
    capacity, route_ptr, route_links, weight, demand = _checked(
        capacity, route_ptr, route_links, weight, demand
    )
    n_flows = weight.shape[0]
    rate = np.zeros(n_flows, dtype=np.float64)
    if n_flows == 0:
        return rate
    lengths = np.diff(route_ptr)
    n_links = capacity.shape[0]
    links = route_links[: route_ptr[-1]]
    # Incidence entries e = (flow_of[e], links[e]), ordered by flow (CSR order) ...
    flow_of = np.repeat(np.arange(n_flows, dtype=np.int64), lengths)
    cap = np.maximum(capacity, 0.0)
    if (np.bincount(links, weights=demand[flow_of], minlength=n_links) <= cap).all():
        # No link is asked for more than it carries: every flow gets its demand (what the
        # filling below ends with, without its rounds).
        return demand.copy()
    flow_nonempty = lengths > 0
    # ... and the same entries ordered by link, for per-link minima over their flows.
    flow_by_link, link_ptr, link_nonempty = _by_link(links, flow_of, n_links)
    demand_level = demand / weight
    frozen_load = np.zeros(n_links, dtype=np.float64)
    active = np.ones(n_flows, dtype=bool)

    # Every iteration freezes at least one flow (the global minimum qualifies), so F + 1 bounds
    # the loop; a leftover flow after the loop can only have an infinite limit.
    for _ in range(n_flows + 1):
        act_w = np.where(active, weight, 0.0)
        wsum = np.bincount(links, weights=act_w[flow_of], minlength=n_links)
        remaining = np.maximum(cap - frozen_load, 0.0)
        # inf for links without unfrozen flows: they constrain nobody.
        link_level = np.full(n_links, np.inf)
        np.divide(remaining, wsum, out=link_level, where=wsum > 0.0)
        flow_limit = np.minimum(
            demand_level, _segment_min(link_level[links], route_ptr, flow_nonempty)
        )
        # Smallest limit among the unfrozen flows of each link.
        lim_act = np.where(active, flow_limit, np.inf)
        link_min_limit = _segment_min(lim_act[flow_by_link], link_ptr, link_nonempty)
        bottleneck = (wsum > 0.0) & np.isfinite(link_level) & (link_level <= link_min_limit)
        freeze = active & np.isfinite(flow_limit) & (demand_level <= flow_limit)
        if bottleneck.any():
            on_bottleneck = np.bincount(flow_of, weights=bottleneck[links], minlength=n_flows)
            freeze |= active & (on_bottleneck > 0)
        if not freeze.any():
            break
        # A flow on a bottleneck link has limit == that link's level; one whose limit is its
        # demand level gets its demand exactly (weight * (demand / weight) may round, even to 0
        # for a subnormal demand); the clip keeps rate <= demand against rounding.
        at_demand = demand_level <= flow_limit
        rate[freeze] = np.where(
            at_demand[freeze],
            demand[freeze],
            np.minimum(weight[freeze] * flow_limit[freeze], demand[freeze]),
        )
        active &= ~freeze
        frozen_load += np.bincount(
            links, weights=np.where(freeze, rate, 0.0)[flow_of], minlength=n_links
        )
        if not active.any():
            break

    # Unconstrained flows (infinite demand, only infinite-capacity links or none).
    rate[active] = np.inf
    return rate


def _checked(capacity, route_ptr, route_links, weight, demand) -> tuple[np.ndarray, ...]:
    """The inputs of :func:`maxmin_flows` as arrays, after checking shapes and values."""
    capacity = np.asarray(capacity, dtype=np.float64)
    route_ptr = np.asarray(route_ptr, dtype=np.int64)
    route_links = np.asarray(route_links, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    demand = np.asarray(demand, dtype=np.float64)
    n_flows = weight.shape[0]
    if (
        capacity.ndim != 1
        or weight.ndim != 1
        or demand.shape != (n_flows,)
        or route_ptr.shape != (n_flows + 1,)
        or route_links.ndim != 1
    ):
        raise ValueError(
            "capacity, weight, demand and route_links must be 1-D with len(demand) == "
            "len(weight) == len(route_ptr) - 1; got shapes "
            f"{capacity.shape}, {weight.shape}, {demand.shape}, {route_ptr.shape}, "
            f"{route_links.shape}"
        )
    if n_flows == 0:
        return capacity, route_ptr, route_links, weight, demand
    lengths = np.diff(route_ptr)
    if route_ptr[0] != 0 or (lengths < 0).any() or route_ptr[-1] > route_links.shape[0]:
        raise ValueError("route_ptr must start at 0, be non-decreasing and fit route_links")
    n_links = capacity.shape[0]
    links = route_links[: route_ptr[-1]]
    if links.shape[0] and (links.min() < 0 or links.max() >= n_links):
        raise ValueError(f"link ids must lie in 0..{n_links - 1}")
    if (weight <= 0).any() or np.isnan(demand).any() or (demand < 0).any():
        raise ValueError("weights must be > 0 and demands >= 0 (inf allowed)")
    return capacity, route_ptr, route_links, weight, demand


def _by_link(links: np.ndarray, flow_of: np.ndarray, n_links: int) -> tuple[np.ndarray, ...]:
    """The incidence entries ordered by link: (flow of each, CSR offsets per link, which
    links carry a flow)."""
    by_link = np.argsort(links, kind="stable")
    link_len = np.bincount(links, minlength=n_links)
    link_ptr = np.zeros(n_links + 1, dtype=np.int64)
    np.cumsum(link_len, out=link_ptr[1:])
    return flow_of[by_link], link_ptr, link_len > 0
