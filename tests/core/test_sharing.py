"""Tests of the weighted max-min water-filling kernel against hand-computed allocations,
invariants, and a plain-Python per-group reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsim.core.sharing import maxmin_share, maxmin_share_single

INF = math.inf
RTOL = 1e-9


def share(capacity, group, weight, demand) -> np.ndarray:
    return maxmin_share(
        np.asarray(capacity, dtype=np.float64),
        np.asarray(group, dtype=np.int64),
        np.asarray(weight, dtype=np.float64),
        np.asarray(demand, dtype=np.float64),
    )


def reference_waterfill(capacity: float, weight: list[float], demand: list[float]) -> list[float]:
    """One resource, plain Python: visit consumers by increasing demand/weight; each either
    fits under the current fair level (keeps its demand) or, with everyone after it, gets
    weight * level."""
    n = len(weight)
    alloc = [0.0] * n
    order = sorted(range(n), key=lambda i: demand[i] / weight[i])
    remaining = max(capacity, 0.0)
    wsum = sum(weight)
    for pos, i in enumerate(order):
        level = remaining / wsum if wsum > 0 else 0.0
        if demand[i] <= weight[i] * level:
            alloc[i] = demand[i]
            remaining -= demand[i]
            wsum -= weight[i]
        else:
            for j in order[pos:]:
                alloc[j] = min(weight[j] * level, demand[j])
            break
    return alloc


# --------------------------------------------------------------------------- worked examples


def test_weights_split_greedy_consumers_proportionally():
    # 2 cores, weights 1:1:2, all greedy: 2 * 1/4, 2 * 1/4, 2 * 2/4.
    np.testing.assert_allclose(share([2.0], [0, 0, 0], [1, 1, 2], [INF] * 3), [0.5, 0.5, 1.0])


def test_capped_consumer_surplus_goes_to_the_others():
    # The weight-2 consumer is capped at 0.4 (< its fair 1.0); the other two split 1.6.
    np.testing.assert_allclose(share([2.0], [0, 0, 0], [1, 1, 2], [INF, INF, 0.4]), [0.8, 0.8, 0.4])


def test_three_single_core_consumers_on_two_cores():
    np.testing.assert_allclose(share([2.0], [0, 0, 0], [1, 1, 1], [1, 1, 1]), [2 / 3] * 3)


def test_everyone_satisfied_leaves_capacity_idle():
    np.testing.assert_allclose(share([4.0], [0, 0], [1, 3], [1.0, 0.5]), [1.0, 0.5])


def test_cascading_saturation():
    # Capacity 10, equal weights: 1 fits under 10/4 = 2.5; then 9/3 = 3, so 2.8 fits; then
    # 6.2/2 = 3.1 each for the two greedy ones.
    np.testing.assert_allclose(
        share([10.0], [0] * 4, [1] * 4, [1, 2.8, INF, INF]), [1, 2.8, 3.1, 3.1]
    )


def test_groups_are_solved_independently():
    capacity = [2.0, 3.0, 1.0]
    group = [0, 1, 0, 1, 0, 2]
    weight = [1, 1, 1, 2, 2, 1]
    demand = [INF, 0.5, INF, INF, 0.4, INF]
    # group 0: weights 1,1,2 with the weight-2 one capped at 0.4 -> 0.8, 0.8, 0.4
    # group 1: 0.5 fits, the greedy one takes the rest, 2.5
    # group 2: one greedy consumer takes the whole capacity
    np.testing.assert_allclose(
        share(capacity, group, weight, demand), [0.8, 0.5, 0.8, 2.5, 0.4, 1.0]
    )


def test_resources_that_fit_give_exact_demands_beside_a_saturated_one():
    # Group 0's demands sum exactly to its capacity (0.1 + 0.2 + 0.7 = 1.0 in floats too):
    # each keeps its demand, bit for bit. Group 1 is over-asked (3 > 2): equal halves.
    capacity = [1.0, 2.0]
    got = share(capacity, [0, 1, 0, 0, 1], [1, 1, 1, 1, 1], [0.1, 1.5, 0.2, 0.7, 1.5])
    np.testing.assert_array_equal(got, [0.1, 1.0, 0.2, 0.7, 1.0])


def test_groups_without_consumers_are_fine():
    np.testing.assert_allclose(share([5.0, 2.0, 7.0], [1, 1], [1, 1], [INF, INF]), [1.0, 1.0])


def test_zero_capacity_gives_nothing():
    np.testing.assert_array_equal(share([0.0], [0, 0], [1, 2], [INF, 1.0]), [0.0, 0.0])


def test_zero_demand_gets_zero_and_frees_capacity():
    np.testing.assert_allclose(share([3.0], [0, 0, 0], [1, 1, 1], [0.0, INF, INF]), [0, 1.5, 1.5])


def test_empty_input():
    out = share([1.0, 2.0], [], [], [])
    assert out.shape == (0,) and out.dtype == np.float64
    assert share([], [], [], []).shape == (0,)


def test_infinite_capacity_gives_every_demand():
    out = share([INF], [0, 0], [1, 1], [2.0, INF])
    assert out[0] == 2.0 and out[1] == INF


def test_single_wrapper():
    np.testing.assert_allclose(
        maxmin_share_single(2.0, [1, 1, 2], [INF, INF, 0.4]), [0.8, 0.8, 0.4]
    )


def test_bad_group_index_is_rejected():
    with pytest.raises(ValueError):
        share([1.0], [1], [1.0], [1.0])
    with pytest.raises(ValueError):
        share([1.0], [0, 0], [1.0], [1.0, 1.0])


def test_deterministic():
    rng = np.random.default_rng(7)
    n, g = 500, 40
    args = (
        rng.uniform(0, 10, g),
        rng.integers(0, g, n),
        rng.uniform(0.1, 4, n),
        np.where(rng.random(n) < 0.3, INF, rng.uniform(0, 2, n)),
    )
    a = maxmin_share(*args)
    b = maxmin_share(*args)
    assert a.tobytes() == b.tobytes()


# --------------------------------------------------------------------------- properties


@st.composite
def instances(draw):
    n_groups = draw(st.integers(1, 5))
    n = draw(st.integers(0, 25))
    capacity = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(0.0, 100.0)), min_size=n_groups, max_size=n_groups
        )
    )
    group = draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n))
    weight = draw(st.lists(st.floats(0.01, 10.0), min_size=n, max_size=n))
    demand = draw(
        st.lists(
            st.one_of(st.just(0.0), st.just(INF), st.floats(0.0, 50.0)), min_size=n, max_size=n
        )
    )
    return (
        np.array(capacity, dtype=np.float64),
        np.array(group, dtype=np.int64),
        np.array(weight, dtype=np.float64),
        np.array(demand, dtype=np.float64),
    )


@settings(max_examples=150, deadline=None)
@given(instances())
def test_invariants(inst):
    capacity, group, weight, demand = inst
    alloc = maxmin_share(capacity, group, weight, demand)
    assert alloc.shape == demand.shape
    assert np.all(alloc >= 0.0)
    assert np.all(alloc <= demand)
    for g, cap in enumerate(capacity):
        members = group == g
        if not members.any():
            continue
        a, w, d = alloc[members], weight[members], demand[members]
        total = a.sum()
        tol = RTOL * max(cap, 1.0)
        assert total <= cap + tol
        unsat = a < d
        if unsat.any():
            # work-conserving
            assert total >= cap - tol
            # one level among the unsatisfied, at least the level of every satisfied one
            lv = a[unsat] / w[unsat]
            level = lv.max()
            np.testing.assert_allclose(lv, level, rtol=RTOL, atol=1e-12)
            if (~unsat).any():
                assert np.all(a[~unsat] / w[~unsat] <= level * (1 + RTOL) + 1e-12)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_matches_plain_python_reference(inst):
    capacity, group, weight, demand = inst
    alloc = maxmin_share(capacity, group, weight, demand)
    for g, cap in enumerate(capacity):
        members = np.flatnonzero(group == g)
        ref = reference_waterfill(
            float(cap), [float(weight[i]) for i in members], [float(demand[i]) for i in members]
        )
        np.testing.assert_allclose(alloc[members], ref, rtol=1e-9, atol=1e-9)


@given(
    capacity=st.floats(0, 100),
    consumers=st.lists(
        st.tuples(
            st.floats(0.1, 10),
            st.one_of(st.floats(0, 50), st.just(float("inf"))),
        ),
        min_size=1,
        max_size=12,
    ),
)
@settings(max_examples=200, deadline=None)
def test_maxmin_one_agrees_with_the_vectorized_solver(capacity, consumers):
    from vsim.core.sharing import maxmin_one

    w = [c[0] for c in consumers]
    d = [c[1] for c in consumers]
    expect = maxmin_share(
        np.array([capacity]), np.zeros(len(w), dtype=np.int64), np.array(w), np.array(d)
    )
    np.testing.assert_allclose(maxmin_one(capacity, w, d), expect, rtol=1e-9, atol=1e-9)
