"""Tests of the multi-link max-min kernel (progressive filling) and the fabric topologies:
hand-computed allocations, the max-min bottleneck condition, agreement with the single-resource
water-filling kernel, and a plain-Python global-level progressive filling reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsim.core.flows import maxmin_flows, routes_to_csr
from vsim.core.sharing import maxmin_share
from vsim.core.topology import star_fabric, two_tier_fabric

INF = math.inf
RTOL = 1e-9


def flows(capacity, routes, weight=None, demand=None) -> np.ndarray:
    n = len(routes)
    ptr, links = routes_to_csr(routes)
    return maxmin_flows(
        np.asarray(capacity, dtype=np.float64),
        ptr,
        links,
        np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64),
        np.full(n, INF) if demand is None else np.asarray(demand, dtype=np.float64),
    )


def reference_progressive_filling(
    capacity: list[float], routes: list[list[int]], weight: list[float], demand: list[float]
) -> list[float]:
    """Textbook progressive filling, plain Python (Bertsekas & Gallager, Data Networks, 6.5.2):
    one global level t; unfrozen flow f runs at weight[f] * t. Raise t to the next event (a link
    saturating or a flow reaching its demand), freeze what that event freezes, repeat."""
    n = len(weight)
    rate = [0.0] * n
    frozen = [False] * n
    cap = [max(c, 0.0) for c in capacity]
    while not all(frozen):
        frozen_load = [0.0] * len(cap)
        wsum = [0.0] * len(cap)
        for f in range(n):
            for link in routes[f]:
                if frozen[f]:
                    frozen_load[link] += rate[f]
                else:
                    wsum[link] += weight[f]
        link_level = [
            (max(cap[k] - frozen_load[k], 0.0) / wsum[k]) if wsum[k] > 0 else INF
            for k in range(len(cap))
        ]
        level = min(
            [link_level[k] for k in range(len(cap))]
            + [demand[f] / weight[f] for f in range(n) if not frozen[f]]
        )
        if level == INF:
            for f in range(n):
                if not frozen[f]:
                    rate[f], frozen[f] = INF, True
            break
        tol = level * (1 + 1e-12) + 1e-300
        newly = []
        for f in range(n):
            if frozen[f]:
                continue
            if demand[f] / weight[f] <= tol or any(link_level[k] <= tol for k in routes[f]):
                newly.append(f)
        for f in newly:
            rate[f] = min(weight[f] * level, demand[f])
            frozen[f] = True
    return rate


# --------------------------------------------------------------------------- worked examples


def test_parking_lot_three_flows_two_links():
    # A crosses links 0 and 1, B only 0, C only 1, capacities 1: both links saturate at the same
    # level t = 1/2 (A + B = 1, A + C = 1), so everyone gets 0.5.
    np.testing.assert_allclose(flows([1.0, 1.0], [[0, 1], [0], [1]]), [0.5, 0.5, 0.5])


def test_parking_lot_n_links():
    # Classic parking lot: one long flow over 4 unit links plus one short flow per link.
    # Every link has 2 flows: all get 1/2.
    routes = [[0, 1, 2, 3], [0], [1], [2], [3]]
    np.testing.assert_allclose(flows([1.0] * 4, routes), [0.5] * 5)


def test_bottleneck_frees_capacity_on_the_other_link():
    # Link 0 (cap 1) holds A and B -> saturates at t = 1/2. Link 1 (cap 10) holds A and C:
    # A is frozen at 0.5, so C keeps growing until 0.5 + C = 10 -> C = 9.5.
    np.testing.assert_allclose(flows([1.0, 10.0], [[0, 1], [0], [1]]), [0.5, 0.5, 9.5])


def test_two_levels_in_a_chain():
    # Link 0 cap 1: A, B. Link 1 cap 3: B, C. Link 2 cap 4: C, D.
    # t=1/2: link 0 saturates, A = B = 0.5. Link 1: C = 3 - 0.5 = 2.5 at t = 2.5, while link 2
    # would saturate at t = 2 (C + D = 4): link 2 first, C = D = 2. Then nothing is left.
    # Check link 1: B + C = 2.5 <= 3, fine; C is bottlenecked at link 2.
    np.testing.assert_allclose(
        flows([1.0, 3.0, 4.0], [[0], [0, 1], [1, 2], [2]]), [0.5, 0.5, 2.0, 2.0]
    )


def test_weights():
    # Link 0 cap 1: A (w 2), B (w 1): t = 1/3, A = 2/3, B = 1/3.
    # Link 1 cap 3: A (frozen 2/3), C (w 1) -> C = 3 - 2/3 = 7/3.
    np.testing.assert_allclose(
        flows([1.0, 3.0], [[0, 1], [0], [1]], weight=[2, 1, 1]), [2 / 3, 1 / 3, 7 / 3]
    )


def test_demand_cap_redistributes():
    # A wants only 0.2: B and C take the rest of their links: 0.8 each.
    np.testing.assert_allclose(
        flows([1.0, 1.0], [[0, 1], [0], [1]], demand=[0.2, INF, INF]), [0.2, 0.8, 0.8]
    )


def test_zero_capacity_link_and_empty_route():
    # Link 0 is down: A and B get 0; C on link 1 alone gets all of it; D has no route: its demand;
    # E has no route and no demand cap: unlimited.
    r = flows([0.0, 2.0], [[0, 1], [0], [1], [], []], demand=[INF, INF, INF, 3.0, INF])
    np.testing.assert_allclose(r, [0.0, 0.0, 2.0, 3.0, INF])


def test_zero_demand_and_infinite_capacity():
    r = flows([INF, 1.0], [[0], [0, 1], [1], [0]], demand=[0.0, INF, INF, 7.0])
    np.testing.assert_allclose(r, [0.0, 0.5, 0.5, 7.0])


def test_empty_inputs():
    assert maxmin_flows(
        np.zeros(0), np.zeros(1, np.int64), np.zeros(0, np.int64), [], []
    ).shape == (0,)
    assert flows([1.0, 2.0], []).shape == (0,)
    ptr, links = routes_to_csr([[], []])
    np.testing.assert_array_equal(ptr, [0, 0, 0])
    assert links.shape == (0,)


def test_link_crossed_twice_counts_twice():
    # A crosses link 0 twice (hairpin): 2 * A + B = 1 with A = B -> 1/3.
    np.testing.assert_allclose(flows([1.0], [[0, 0], [0]]), [1 / 3, 1 / 3])


def test_bad_input_raises():
    with pytest.raises(ValueError):
        flows([1.0], [[1]])
    with pytest.raises(ValueError):
        flows([1.0], [[0]], weight=[0.0])
    with pytest.raises(ValueError):
        maxmin_flows(np.ones(1), np.array([0, 2]), np.array([0]), np.ones(1), np.ones(1))


# --------------------------------------------------------------------------- single link = sharing


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_one_link_per_flow_matches_maxmin_share(seed):
    rng = np.random.default_rng(seed)
    n_groups = int(rng.integers(1, 6))
    n = int(rng.integers(0, 25))
    capacity = rng.uniform(0, 10, n_groups)
    capacity[rng.random(n_groups) < 0.15] = 0.0
    group = rng.integers(0, n_groups, n)
    weight = rng.uniform(0.1, 4, n)
    demand = np.where(rng.random(n) < 0.4, INF, rng.uniform(0, 5, n))
    ptr = np.arange(n + 1, dtype=np.int64)
    got = maxmin_flows(capacity, ptr, group, weight, demand)
    np.testing.assert_allclose(
        got, maxmin_share(capacity, group, weight, demand), rtol=RTOL, atol=1e-12
    )


# --------------------------------------------------------------------------- properties


@st.composite
def instances(draw):
    n_links = draw(st.integers(1, 6))
    n = draw(st.integers(0, 10))
    cap = draw(
        st.lists(
            st.one_of(st.floats(0.0, 10.0), st.just(0.0), st.just(INF)),
            min_size=n_links,
            max_size=n_links,
        )
    )
    routes = draw(
        st.lists(
            st.lists(st.integers(0, n_links - 1), min_size=0, max_size=4, unique=True),
            min_size=n,
            max_size=n,
        )
    )
    weight = draw(st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n))
    demand = draw(st.lists(st.one_of(st.floats(0.0, 8.0), st.just(INF)), min_size=n, max_size=n))
    return cap, routes, weight, demand


def _check_maxmin(cap, routes, weight, demand, rate):
    cap = np.asarray(cap)
    n = len(routes)
    load = np.zeros(len(cap))
    for f in range(n):
        for k in routes[f]:
            load[k] += rate[f]
    assert (rate >= 0).all()
    assert (rate <= np.asarray(demand) * (1 + 1e-12) + 1e-12).all()
    finite = np.isfinite(cap)
    assert (load[finite] <= cap[finite] * (1 + 1e-9) + 1e-12).all()
    for f in range(n):
        if rate[f] >= demand[f] * (1 - 1e-9) or not np.isfinite(rate[f]):
            continue
        # Bottleneck condition: some link on the route is saturated and f has the largest
        # rate/weight among its flows there.
        ok = False
        for k in routes[f]:
            saturated = load[k] >= cap[k] * (1 - 1e-9) - 1e-12
            top = max(rate[g] / weight[g] for g in range(n) if k in routes[g])
            if saturated and rate[f] / weight[f] >= top * (1 - 1e-9) - 1e-12:
                ok = True
        assert ok, f"flow {f} below demand has no bottleneck link"


@settings(max_examples=150, deadline=None)
@given(instances())
def test_maxmin_properties(inst):
    cap, routes, weight, demand = inst
    rate = flows(cap, routes, weight, demand)
    _check_maxmin(cap, routes, weight, demand, rate)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_matches_reference_progressive_filling(inst):
    cap, routes, weight, demand = inst
    got = flows(cap, routes, weight, demand)
    want = reference_progressive_filling(cap, routes, weight, demand)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def test_matches_reference_on_larger_random_instances():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n_links = int(rng.integers(1, 30))
        n = int(rng.integers(1, 60))
        cap = list(rng.uniform(0.5, 10, n_links))
        routes = [
            list(rng.choice(n_links, size=int(rng.integers(0, min(5, n_links) + 1)), replace=False))
            for _ in range(n)
        ]
        weight = list(rng.uniform(0.2, 3, n))
        demand = list(np.where(rng.random(n) < 0.5, INF, rng.uniform(0, 4, n)))
        got = flows(cap, routes, weight, demand)
        want = reference_progressive_filling(cap, routes, weight, demand)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
        _check_maxmin(cap, routes, weight, demand, got)


def test_uncontended_flows_get_exactly_their_demand():
    # Every link carries at least what its flows ask (one exactly at capacity, one unlimited):
    # each flow gets its demand, bit for bit, as progressive filling would give it.
    rng = np.random.default_rng(11)
    n_links, n = 12, 40
    routes = [
        list(rng.choice(n_links, size=int(rng.integers(0, 4)), replace=False)) for _ in range(n)
    ]
    demand = list(rng.uniform(0.1, 3.0, n))
    asked = np.zeros(n_links)
    for r, d in zip(routes, demand, strict=True):
        asked[r] += d
    cap = list(asked * rng.uniform(1.0, 2.0, n_links))
    cap[0], cap[1] = asked[0], INF
    weight = list(rng.uniform(0.2, 3.0, n))
    got = flows(cap, routes, weight, demand)
    np.testing.assert_array_equal(got, demand)
    want = reference_progressive_filling(cap, routes, weight, demand)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    # One flow asking a little more than link 0 has left makes it shared again.
    first = next(k for k, r in enumerate(routes) if 0 in r)
    demand[first] += 1e-3
    got = flows(cap, routes, weight, demand)
    assert (got < np.array(demand)).any()
    want = reference_progressive_filling(cap, routes, weight, demand)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    _check_maxmin(cap, routes, weight, demand, got)


# --------------------------------------------------------------------------- topologies


def test_star_routes_and_latency():
    fab = star_fabric([10.0, 20.0, 30.0], link_latency=[1e-6, 2e-6, 3e-6])
    np.testing.assert_array_equal(fab.capacity, [10, 10, 20, 20, 30, 30])
    ptr, links = fab.routes([0, 2, 1], [1, 0, 1])
    np.testing.assert_array_equal(ptr, [0, 2, 4, 4])  # 1 -> 1 stays on the host
    np.testing.assert_array_equal(links, [0, 3, 4, 1])
    np.testing.assert_allclose(fab.route_latency(ptr, links), [3e-6, 4e-6, 0.0])
    ptr, links = fab.routes_outside([2, 0])
    np.testing.assert_array_equal(ptr, [0, 1, 2])
    np.testing.assert_array_equal(links, [4, 0])
    ptr, links = fab.routes_outside([1], inbound=True)
    np.testing.assert_array_equal(links, [3])


def test_two_tier_routes_capacity_and_latency():
    # 5 hosts, racks of 2: racks {0,1}, {2,3}, {4}; NIC 10 each, oversubscription 2:
    # ToR links carry 20/2 = 10 (racks 0, 1) and 10/2 = 5 (rack 2). Link ids: hosts 0..9,
    # rack r up = 10 + 2r, down = 11 + 2r.
    fab = two_tier_fabric(
        [10.0] * 5,
        hosts_per_rack=2,
        oversubscription=2.0,
        host_link_latency=1e-6,
        tor_link_latency=5e-6,
    )
    np.testing.assert_array_equal(fab.rack_of, [0, 0, 1, 1, 2])
    np.testing.assert_allclose(fab.capacity, [10] * 10 + [10, 10, 10, 10, 5, 5])
    ptr, links = fab.routes([0, 0, 4, 3], [1, 3, 0, 3])
    np.testing.assert_array_equal(ptr, [0, 2, 6, 10, 10])
    np.testing.assert_array_equal(links, [0, 3, 0, 10, 13, 7, 8, 14, 11, 1])
    np.testing.assert_allclose(fab.route_latency(ptr, links), [2e-6, 12e-6, 12e-6, 0.0])
    ptr, links = fab.routes_outside([3])
    np.testing.assert_array_equal(links, [6, 12])
    ptr, links = fab.routes_outside([3], inbound=True)
    np.testing.assert_array_equal(links, [13, 7])


def test_oversubscribed_uplink_shares_cross_rack_flows():
    # Racks of 2 hosts, NIC 10, oversubscription 4: ToR uplink 20/4 = 5. Hosts 0 and 1 both
    # send to rack 1 (hosts 2, 3): they share the 5 of rack 0's uplink -> 2.5 each; a flow
    # inside rack 1 (3 -> 2) uses host links only: 2's downlink carries 0->2 (2.5) so 3->2
    # gets 10 - 2.5 = 7.5.
    fab = two_tier_fabric([10.0] * 4, hosts_per_rack=2, oversubscription=4.0)
    ptr, links = fab.routes([0, 1, 3], [2, 3, 2])
    rate = maxmin_flows(fab.capacity, ptr, links, np.ones(3), np.full(3, INF))
    np.testing.assert_allclose(rate, [2.5, 2.5, 7.5])


def test_bad_topology_input():
    fab = star_fabric([1.0, 1.0])
    with pytest.raises(ValueError):
        fab.routes([0], [2])
    with pytest.raises(ValueError):
        two_tier_fabric([1.0], hosts_per_rack=0)
    with pytest.raises(ValueError):
        star_fabric([-1.0])


@pytest.mark.parametrize("tiers", [1, 2])
def test_pair_latency_is_the_route_sum_to_the_bit(tiers):
    # The scalar one-pair latency (a request's hop) against the sum over the links of the
    # general CSR routes, on random link latencies and every ordered pair of 7 hosts.
    rng = np.random.default_rng(5)
    n = 7
    if tiers == 1:
        fab = star_fabric(np.full(n, 10.0), link_latency=rng.uniform(1e-7, 1e-3, n))
    else:
        fab = two_tier_fabric(
            np.full(n, 10.0),
            3,
            host_link_latency=rng.uniform(1e-7, 1e-3, n),
            tor_link_latency=float(rng.uniform(1e-6, 1e-3)),
        )
        fab.latency[2 * n :] = rng.uniform(1e-6, 1e-3, fab.latency.shape[0] - 2 * n)
    for a in range(n):
        for b in range(n):
            want = float(fab.latency[fab.routes([a], [b])[1]].sum())
            assert fab.pair_latency(a, b) == want, (a, b)
