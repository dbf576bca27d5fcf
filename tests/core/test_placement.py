"""Tests of the vectorized placement kernel: worked examples per policy, and decision-for-decision
agreement with a plain-Python reference (loops over hosts, Python floats, same formulas)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsim.core.placement import POLICIES, HostPool

# --------------------------------------------------------------------------- reference


class RefPool:
    """Plain-Python placement: lists of floats, one loop over hosts per decision."""

    def __init__(self, capacity: dict[str, list[float]], overcommit: dict[str, float] | None):
        overcommit = overcommit or {}
        self.resources = list(capacity)
        self.cap = {r: [float(c) * float(overcommit.get(r, 1.0)) for c in capacity[r]]
                    for r in self.resources}  # fmt: skip
        self.n = len(next(iter(capacity.values())))
        self.used = {r: [0.0] * self.n for r in self.resources}
        self.enabled = [True] * self.n
        self.cursor = 0

    @staticmethod
    def _inv(c: float) -> float:
        """1 / c, or 0 where that is not finite (no capacity, or unlimited capacity)."""
        if c == 0.0 or c != c:
            return 0.0
        v = 1.0 / c
        return v if math.isfinite(v) else 0.0

    def fits(self, h: int, req: list[float]) -> bool:
        for r, q in zip(self.resources, req, strict=True):
            c = self.cap[r][h]
            if not q <= (c + 1e-9 * c) - self.used[r][h]:
                return False
        return True

    def score(self, h: int, req: list[float], policy: str) -> float:
        """The module's formulas, host by host; sums run left to right in resource order."""
        a = b = dot = None
        utils = []
        for r, q in zip(self.resources, req, strict=True):
            c, u = self.cap[r][h], self.used[r][h]
            inv = self._inv(c)
            g = (c - u) * inv if inv != 0.0 else 0.0  # normalized free capacity
            a = g if a is None else a + g
            b = q * inv if b is None else b + q * inv
            t = (q * inv) * g
            dot = t if dot is None else dot + t
            utils.append((u + q) * inv)  # post-placement utilization
        if policy in ("best_fit", "worst_fit"):
            return a - b
        if policy == "dot_product":
            return dot
        mean = utils[0]
        for t in utils[1:]:
            mean = mean + t
        mean = mean / len(utils)
        var = None
        for t in utils:
            d = t - mean
            var = d * d if var is None else var + d * d
        return var / len(utils)

    def choose(self, req: list[float], policy: str, rng, excluded: set[int]) -> int:
        feas = [
            h for h in range(self.n) if self.enabled[h] and h not in excluded and self.fits(h, req)
        ]
        if not feas:
            return -1
        if policy == "first_fit":
            return feas[0]
        if policy == "random":
            return feas[int(rng.integers(len(feas)))]
        if policy == "round_robin":
            after = [h for h in feas if h >= self.cursor]
            chosen = after[0] if after else feas[0]
            self.cursor = (chosen + 1) % self.n
            return chosen
        best, best_score = -1, None
        maximize = policy in ("worst_fit", "dot_product")
        for h in feas:
            s = self.score(h, req, policy)
            # strict comparison: the lowest index wins ties
            if best_score is None or (s > best_score if maximize else s < best_score):
                best, best_score = h, s
        return best

    def place_batch(self, requests, policy, order="given", groups=None, rng=None) -> list[int]:
        m = len(next(iter(requests.values())))
        reqs = [[float(requests[r][i]) if r in requests else 0.0 for r in self.resources]
                for i in range(m)]  # fmt: skip
        if order == "largest_first":
            key = []
            for q in reqs:
                k = 0.0
                for r, x in zip(self.resources, q, strict=True):
                    cmax = max(self.cap[r])
                    if cmax != 0.0:
                        k = k + x / cmax
                key.append(k)
            seq = sorted(range(m), key=lambda i: -key[i])
        else:
            seq = list(range(m))
        out = [-1] * m
        members: dict[int, set[int]] = {}
        for i in seq:
            g = -1 if groups is None else int(groups[i])
            excluded = members.get(g, set()) if g >= 0 else set()
            h = self.choose(reqs[i], policy, rng, excluded)
            if h < 0:
                continue
            for r, q in zip(self.resources, reqs[i], strict=True):
                self.used[r][h] += q
            out[i] = h
            if g >= 0:
                members.setdefault(g, set()).add(h)
        return out


# --------------------------------------------------------------------------- worked examples


def two_host_pool() -> HostPool:
    # host 0: small and half full of memory; host 1: big and empty; host 2: disabled later
    pool = HostPool({"cpu": np.array([10.0, 20.0, 40.0]), "memory": np.array([8.0, 16.0, 64.0])})
    pool.allocate(0, {"memory": 4.0})
    pool.enabled[2] = False
    return pool


def test_first_fit_takes_lowest_feasible_host():
    pool = two_host_pool()
    assert pool.choose({"cpu": 5.0, "memory": 2.0}, "first_fit") == 0
    # memory 5 does not fit host 0 (4 free) -> host 1; disabled host 2 is never used
    assert pool.choose({"cpu": 5.0, "memory": 5.0}, "first_fit") == 1


def test_best_and_worst_fit():
    pool = two_host_pool()
    req = {"cpu": 5.0, "memory": 2.0}
    # host 0 leftover: (10-5)/10 + (4-2)/8 = 0.75; host 1: (20-5)/20 + (16-2)/16 = 1.625
    assert pool.choose(req, "best_fit") == 0
    assert pool.choose(req, "worst_fit") == 1


def test_dot_product():
    pool = HostPool({"cpu": np.array([10.0, 10.0]), "memory": np.array([10.0, 10.0])})
    pool.allocate(0, {"cpu": 4.0})  # host 0 free (6, 10)
    pool.allocate(1, {"memory": 8.0})  # host 1 free (10, 2)
    # cpu-heavy request: host 0: 0.6*0.6 + 0.1*1.0 = 0.46; host 1: 0.6*1.0 + 0.1*0.2 = 0.62
    assert pool.choose({"cpu": 6.0, "memory": 1.0}, "dot_product") == 1
    # memory-heavy: host 0: 0.1*0.6 + 0.2*1.0 = 0.26; host 1: 0.1*1.0 + 0.2*0.2 = 0.14
    assert pool.choose({"cpu": 1.0, "memory": 2.0}, "dot_product") == 0


def test_balanced():
    pool = HostPool({"cpu": np.array([10.0, 10.0]), "memory": np.array([10.0, 10.0])})
    pool.allocate(0, {"cpu": 5.0})  # after the request: u = (0.7, 0.2), variance 0.0625
    pool.allocate(1, {"memory": 5.0})  # after the request: u = (0.2, 0.7), variance 0.0625
    # a tie -> lowest index
    assert pool.choose({"cpu": 2.0, "memory": 2.0}, "balanced") == 0
    # memory-heavy: host 0 -> (0.5, 0.4) var 0.0025; host 1 -> (0.0, 0.9) var 0.2025
    assert pool.choose({"memory": 4.0}, "balanced") == 0
    # cpu-heavy: host 1 -> (0.4, 0.5) wins over host 0 -> (0.9, 0.0)
    assert pool.choose({"cpu": 4.0}, "balanced") == 1


def test_random_is_uniform_over_feasible_and_seeded():
    pool = two_host_pool()
    req = {"cpu": 5.0, "memory": 5.0}  # only host 1 fits
    assert pool.choose(req, "random", rng=np.random.default_rng(0)) == 1
    small = {"cpu": 1.0}
    picks = [pool.choose(small, "random", rng=np.random.default_rng(s)) for s in range(40)]
    assert set(picks) == {0, 1}
    again = [pool.choose(small, "random", rng=np.random.default_rng(s)) for s in range(40)]
    assert picks == again
    with pytest.raises(ValueError, match="rng"):
        pool.choose(small, "random")


def test_round_robin_cursor_wraps():
    pool = HostPool({"cpu": np.array([4.0, 4.0, 4.0, 4.0])})
    pool.enabled[2] = False
    out = pool.place_batch({"cpu": np.ones(5)}, "round_robin")
    # 0, 1, skip disabled 2, 3, wrap to 0, 1
    assert out.tolist() == [0, 1, 3, 0, 1]
    assert pool.rr_cursor == 2
    # the cursor skips hosts that do not fit and wraps past the end
    pool.allocate(3, {"cpu": 3.5})
    pool.rr_cursor = 3
    assert pool.choose({"cpu": 1.0}, "round_robin") == 0
    assert pool.rr_cursor == 1


def test_rejection_returns_minus_one_and_records_nothing():
    pool = HostPool({"cpu": np.array([4.0, 8.0]), "memory": np.array([4.0, 4.0])}, {"cpu": 2.0})
    before = {r: pool.used[r].copy() for r in pool.resources}
    for policy in POLICIES:
        pool.rr_cursor = 1
        out = pool.place_batch(
            {"cpu": np.array([17.0, 1.0]), "memory": np.array([1.0, 5.0])},
            policy,
            rng=np.random.default_rng(1),
        )
        assert out.tolist() == [-1, -1]
        assert pool.rr_cursor == 1
        for r in pool.resources:
            np.testing.assert_array_equal(pool.used[r], before[r])
    assert pool.choose({"cpu": 100.0}, "best_fit") == -1


def test_overcommit_scales_capacity_and_exact_fit_is_accepted():
    pool = HostPool({"cpu": np.array([1.0]), "memory": np.array([1.0])}, {"cpu": 1.5})
    np.testing.assert_array_equal(pool.capacity["cpu"], [1.5])
    out = pool.place_batch({"cpu": np.full(15, 0.1)}, "first_fit")
    # 15 * 0.1 accumulates to 1.5000000000000002: the relative epsilon lets the last one in
    assert out.tolist() == [0] * 15
    assert pool.choose({"cpu": 0.01}, "first_fit") == -1


def test_anti_affinity_groups():
    pool = HostPool({"cpu": np.array([10.0, 10.0, 10.0])})
    out = pool.place_batch(
        {"cpu": np.ones(5)}, "first_fit", groups=np.array([7, 7, -1, 7, 7], dtype=np.int64)
    )
    # three members of group 7 spread over the three hosts; the fourth has nowhere to go
    assert out.tolist() == [0, 1, 0, 2, -1]


def test_largest_first_order_and_results_in_request_order():
    pool = HostPool({"cpu": np.array([10.0, 6.0]), "memory": np.array([10.0, 10.0])})
    reqs = {"cpu": np.array([2.0, 8.0, 5.0]), "memory": np.array([1.0, 1.0, 5.0])}
    # keys: 2/10 + 1/10 = 0.3, 8/10 + 0.1 = 0.9, 5/10 + 5/10 = 1.0 -> order 2, 1, 0
    out = pool.place_batch(reqs, "first_fit", order="largest_first")
    # request 2 -> host 0 (cpu 5 left); request 1 (cpu 8) fits nowhere; request 0 -> host 0
    assert out.tolist() == [0, -1, 0]
    np.testing.assert_allclose(pool.used["cpu"], [7.0, 0.0])
    given_pool = HostPool({"cpu": np.array([10.0, 6.0]), "memory": np.array([10.0, 10.0])})
    assert given_pool.place_batch(reqs, "first_fit").tolist() == [0, 0, 1]


def test_zero_capacity_resource_counts_as_zero_term():
    # host 0 has no disk at all; a request without disk can still go there
    pool = HostPool({"cpu": np.array([10.0, 10.0]), "disk": np.array([0.0, 100.0])})
    for policy in ("best_fit", "worst_fit", "dot_product", "balanced"):
        assert pool.choose({"cpu": 1.0}, policy) in (0, 1)
    # best fit: host 0 leftover 0.9 + 0, host 1 leftover 0.9 + 1.0
    assert pool.choose({"cpu": 1.0}, "best_fit") == 0
    assert pool.choose({"cpu": 1.0, "disk": 1.0}, "best_fit") == 1


def test_release_and_exclude():
    pool = HostPool({"cpu": np.array([2.0, 2.0])})
    pool.allocate(0, {"cpu": 2.0})
    assert pool.choose({"cpu": 1.0}, "first_fit") == 1
    assert pool.choose({"cpu": 1.0}, "first_fit", exclude=np.array([False, True])) == -1
    assert pool.choose({"cpu": 1.0}, "first_fit", exclude=np.array([1])) == -1
    pool.release(0, {"cpu": 2.0})
    assert pool.used["cpu"][0] == 0.0
    assert pool.feasible({"cpu": 1.5}).tolist() == [True, True]


def test_request_vector_stands_for_its_mapping():
    # Resource order cpu, memory, disk; the mapping leaves disk out (0).
    caps = {"cpu": np.array([4.0, 4.0]), "memory": np.array([8.0, 8.0]), "disk": np.ones(2)}
    by_map, by_vec = HostPool(caps), HostPool(caps)
    req = {"memory": 3.0, "cpu": 1.5}
    vec = by_vec.vector(req)
    assert vec == (1.5, 3.0, 0.0)
    for pool, r in ((by_map, req), (by_vec, vec)):
        pool.allocate(0, r)
        pool.allocate(0, r)
        assert not pool.fits(0, r)  # 9 GB of memory would not fit in 8
        assert pool.fits(1, r)
        pool.release(0, r)
    for r in caps:
        np.testing.assert_array_equal(by_vec.used[r], by_map.used[r])
    assert by_vec.used["memory"].tolist() == [3.0, 0.0]
    assert by_vec.choose(req, "best_fit") == by_map.choose(req, "best_fit") == 0
    with pytest.raises(ValueError, match="one amount per resource"):
        by_vec.fits(0, (1.0, 2.0))


def test_bad_inputs():
    pool = HostPool({"cpu": np.array([1.0])})
    with pytest.raises(ValueError, match="first_fit"):
        pool.choose({"cpu": 1.0}, "tightest")
    with pytest.raises(ValueError, match="round_robin"):
        pool.place_batch({"cpu": np.ones(0)}, "nope")
    with pytest.raises(ValueError, match="order"):
        pool.place_batch({"cpu": np.ones(1)}, "first_fit", order="smallest_first")
    with pytest.raises(ValueError, match="gpu"):
        pool.choose({"gpu": 1.0}, "first_fit")
    with pytest.raises(ValueError):
        HostPool({"cpu": np.ones(2), "memory": np.ones(3)})
    with pytest.raises(ValueError):
        HostPool({"cpu": np.ones(2)}, {"mem": 2.0})


# --------------------------------------------------------------------------- agreement

RESOURCE_NAMES = ("cpu", "memory", "disk", "net")
# Few distinct values, so that ties and exact fits happen often.
CAP_VALUES = st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 0.7])
REQ_VALUES = st.sampled_from([0.0, 0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 0.3])


@st.composite
def placement_cases(draw):
    n_res = draw(st.integers(1, 4))
    resources = RESOURCE_NAMES[:n_res]
    n_hosts = draw(st.integers(1, 6))
    m = draw(st.integers(0, 12))
    capacity = {
        r: draw(st.lists(CAP_VALUES, min_size=n_hosts, max_size=n_hosts)) for r in resources
    }
    overcommit = {
        r: draw(st.sampled_from([1.0, 1.5, 2.0])) for r in resources if draw(st.booleans())
    }
    # a request may leave out resources (they count as 0)
    req_res = [r for r in resources if draw(st.booleans())] or [resources[0]]
    requests = {r: draw(st.lists(REQ_VALUES, min_size=m, max_size=m)) for r in req_res}
    groups = draw(st.none() | st.lists(st.integers(-1, 2), min_size=m, max_size=m))
    disabled = draw(st.lists(st.integers(0, n_hosts - 1), max_size=2))
    return capacity, overcommit, requests, groups, disabled


def run_both(case, policy, order, seed):
    capacity, overcommit, requests, groups, disabled = case
    pool = HostPool({r: np.array(v, dtype=np.float64) for r, v in capacity.items()}, overcommit)
    ref = RefPool(capacity, overcommit)
    for h in disabled:
        pool.enabled[h] = False
        ref.enabled[h] = False
    grp = None if groups is None else np.array(groups, dtype=np.int64)
    got = pool.place_batch(
        {r: np.array(v, dtype=np.float64) for r, v in requests.items()},
        policy,
        order=order,
        groups=grp,
        rng=np.random.default_rng(seed),
    )
    want = ref.place_batch(requests, policy, order, groups, np.random.default_rng(seed))
    return pool, ref, got, want


@settings(max_examples=150, deadline=None)
@given(placement_cases(), st.sampled_from(["given", "largest_first"]), st.integers(0, 2**32))
def test_place_batch_agrees_with_reference(case, order, seed):
    for policy in POLICIES:
        pool, ref, got, want = run_both(case, policy, order, seed)
        assert got.dtype == np.int64
        assert got.tolist() == want, policy
        for r in pool.resources:
            assert pool.used[r].tolist() == ref.used[r], policy
        assert pool.rr_cursor == ref.cursor


def test_seeded_larger_instances_agree_with_reference():
    # Wider than the hypothesis cases: continuous values, all four resources, many hosts.
    rng = np.random.default_rng(2024)
    for _ in range(6):
        n_hosts, m = int(rng.integers(20, 60)), int(rng.integers(30, 80))
        capacity = {r: rng.choice([8.0, 16.0, 32.0], n_hosts).tolist() for r in RESOURCE_NAMES}
        requests = {r: rng.uniform(0.0, 8.0, m).round(2).tolist() for r in RESOURCE_NAMES}
        groups = rng.integers(-1, 4, m).tolist()
        case = (capacity, {"cpu": 1.5}, requests, groups, [0, 5])
        for order in ("given", "largest_first"):
            for policy in POLICIES:
                _, _, got, want = run_both(case, policy, order, 99)
                assert got.tolist() == want, (policy, order)


# --------------------------------------------------------------------------- caches and pruning
#
# The pool caches per-host terms and scores only hosts that can still win. Decisions must not
# depend on that: the reference recomputes everything from scratch for every decision, and the
# two agree exactly (same IEEE operations in the same order, so no tolerance and no near-tie
# flakiness: ties, exact or after rounding, go to the lowest index on both sides).


def run_sequence(capacity, requests, policy, seed, mutate=None):
    """Place ``requests`` one by one with choose + allocate on both implementations, with an
    optional ``mutate(step, pool, ref)`` hook that changes state from outside between steps."""
    pool = HostPool({r: np.array(v, dtype=np.float64) for r, v in capacity.items()})
    ref = RefPool(capacity, None)
    rng_a, rng_b = np.random.default_rng(seed), np.random.default_rng(seed)
    got, want = [], []
    m = len(next(iter(requests.values())))
    for i in range(m):
        if mutate is not None:
            mutate(i, pool, ref)
        req = {r: float(v[i]) for r, v in requests.items()}
        h = pool.choose(req, policy, rng=rng_a)
        w = ref.choose([req.get(r, 0.0) for r in ref.resources], policy, rng_b, set())
        got.append(h)
        want.append(w)
        if h >= 0:
            pool.allocate(h, req)
        if w >= 0:
            for r in ref.resources:
                ref.used[r][w] += req.get(r, 0.0)
    return got, want


@pytest.mark.parametrize("policy", POLICIES)
def test_many_hosts_agree_with_reference(policy):
    # Enough hosts that best/worst fit take their pruned path, heterogeneous capacities, and
    # requests of changing sizes so the pruning threshold hint is often wrong.
    rng = np.random.default_rng(7)
    n, m = 3000, 40
    capacity = {r: rng.uniform(50, 100, n).round(1).tolist() for r in RESOURCE_NAMES}
    requests = {r: rng.choice([1.0, 5.0, 20.0, 45.0], m).tolist() for r in RESOURCE_NAMES}

    def prefill(i, pool, ref):
        if i == 0:
            for r in RESOURCE_NAMES:
                used = (np.array(capacity[r]) * rng.uniform(0, 0.95, n)).round(1)
                pool.used[r][:] = used  # in-place write through the tracked dict
                ref.used[r] = used.tolist()

    got, want = run_sequence(capacity, requests, policy, 3, prefill)
    assert got == want


@pytest.mark.parametrize("policy", ["best_fit", "worst_fit"])
def test_placements_and_departures_agree_with_reference(policy):
    # The pool under change, as benchmarks.placement_churn drives it: each request its own
    # size, and departures releasing earlier placements between decisions, on enough hosts
    # that the pruned path decides (its caches and hint must follow every release).
    rng = np.random.default_rng(11)
    n = 3000
    capacity = {r: rng.uniform(50, 100, n).tolist() for r in RESOURCE_NAMES}
    pool = HostPool({r: np.array(v) for r, v in capacity.items()})
    ref = RefPool(capacity, None)
    for r in RESOURCE_NAMES:
        used = np.array(capacity[r]) * rng.uniform(0, 0.9, n)
        pool.used[r][:] = used
        ref.used[r] = used.tolist()
    placed: list[tuple[int, list[float]]] = []
    decisions = 0
    for _ in range(150):
        if placed and rng.random() < 0.4:
            h, req = placed.pop(int(rng.integers(len(placed))))
            pool.release(h, tuple(req))
            for r, q in zip(RESOURCE_NAMES, req, strict=True):
                ref.used[r][h] = max(ref.used[r][h] - q, 0.0)
            continue
        req = rng.uniform(1.0, 20.0, len(RESOURCE_NAMES)).tolist()
        h = pool.choose(dict(zip(RESOURCE_NAMES, req, strict=True)), policy)
        assert h == ref.choose(req, policy, None, set())
        decisions += 1
        if h >= 0:
            pool.allocate(h, tuple(req))
            for r, q in zip(RESOURCE_NAMES, req, strict=True):
                ref.used[r][h] += q
            placed.append((h, req))
    assert decisions > 60 and len(placed) > 20


@pytest.mark.parametrize("policy", ["best_fit", "worst_fit", "dot_product", "balanced"])
def test_identical_hosts_tie_to_lowest_index(policy):
    # Every host alike: the pruning band holds every host, scores tie exactly.
    capacity = {r: [16.0] * 2000 for r in RESOURCE_NAMES}
    requests = {"cpu": [1.0, 2.0, 1.0, 3.0], "memory": [2.0, 0.0, 2.0, 1.0]}
    got, want = run_sequence(capacity, requests, policy, 0)
    assert got == want
    assert got[0] == 0


def test_outside_changes_to_capacity_used_and_enabled_are_seen():
    capacity = {"cpu": [10.0] * 50 + [20.0] * 50, "memory": [10.0] * 100}
    requests = {"cpu": [3.0] * 30, "memory": [2.0] * 30}

    def mutate(i, pool, ref):
        if i == 5:  # as failures.py does: scale capacity in place
            cap = pool.capacity["cpu"]
            cap *= 0.5
            ref.cap["cpu"] = [c * 0.5 for c in ref.cap["cpu"]]
        if i == 10:  # as consolidation.py does: lift a check, later restore it
            pool.capacity["memory"][:] = np.inf
            ref.cap["memory"] = [np.inf] * 100
        if i == 15:
            pool.capacity["memory"][:] = 10.0
            ref.cap["memory"] = [10.0] * 100
        if i == 8:
            pool.enabled[:60] = False
            ref.enabled[:60] = [False] * 60
        if i == 12:
            pool.used["cpu"][70] = 19.0  # a single-host write
            ref.used["cpu"][70] = 19.0
        if i == 20:
            pool.enabled[:] = True
            ref.enabled = [True] * 100

    for policy in POLICIES:
        got, want = run_sequence(capacity, requests, policy, 1, mutate)
        assert got == want, policy


def test_kept_reference_needs_invalidate():
    pool = HostPool({"cpu": np.array([4.0, 8.0])})
    cap = pool.capacity["cpu"]
    assert pool.choose({"cpu": 1.0}, "best_fit") == 0
    cap[0] = 0.5  # written through a reference kept across a call: not noticed by itself
    pool.invalidate()
    assert pool.choose({"cpu": 1.0}, "best_fit") == 1
    assert pool.feasible({"cpu": 1.0}).tolist() == [False, True]
    pool.capacity["cpu"] = np.array([8.0, 8.0])  # replacing the array is noticed too
    assert pool.feasible({"cpu": 6.0}).tolist() == [True, True]
    with pytest.raises(TypeError):
        del pool.capacity["cpu"]


def test_pruning_keeps_hosts_whose_large_request_term_wins():
    # Hosts 0..99; score = A - B with A = sum free/cap, B = sum req/cap; request (1, 1).
    # best fit: host 10 (cap 100, A 0.3, score 0.28) has the least A, but small host 20
    # (cap 2, A 1.1, B 1.0, score 0.1) wins: the pruned search must look up to A <= 0.28 + B_hi.
    cap = np.full(100, 100.0)
    cap[[20, 30, 40]] = 2.0
    pool = HostPool({"cpu": cap, "memory": cap})
    used = np.zeros(100)
    used[10], used[20] = 85.0, 0.9  # host 10 free 15 of 100, host 20 free 1.1 of 2
    used[30] = used[40] = 2.0  # full
    for r in ("cpu", "memory"):
        pool.used[r][:] = used
    req = {"cpu": 1.0, "memory": 1.0}
    assert pool.choose(req, "best_fit") == 20
    # worst fit: the host of largest A (41, cap 2, empty, A 2.0) is disabled; host 42
    # (cap 2, A 1.5, score 0.5) is next in A, but host 43 (cap 100, A 1.0, score 0.98) wins.
    cap = np.full(100, 100.0)
    cap[[41, 42]] = 2.0
    pool = HostPool({"cpu": cap, "memory": cap})
    used = np.full(100, 80.0)  # fillers: A 0.4, score 0.38
    used[41], used[42], used[43] = 0.0, 0.5, 50.0
    for r in ("cpu", "memory"):
        pool.used[r][:] = used
    pool.enabled[41] = False
    assert pool.choose(req, "worst_fit") == 43


def test_fits_agrees_with_the_feasibility_mask():
    rng = np.random.default_rng(4)
    pool = HostPool({"cpu": rng.uniform(1, 10, 50), "memory": rng.uniform(1, 10, 50)})
    for h in range(0, 50, 3):
        pool.allocate(h, {"cpu": 1.0, "memory": 2.0})
    pool.enabled[7] = False
    req = {"cpu": 2.5, "memory": 3.0}
    mask = pool.feasible(req)
    assert [pool.fits(h, req) for h in range(50)] == mask.tolist()


@pytest.mark.parametrize("policy", POLICIES)
def test_runs_of_one_size_agree_with_reference(policy):
    # A fleet's batch: runs of guests of one size, placed on the host that took the previous
    # one while it has room (place_batch's shortcut under first and best fit) and refused
    # without a search after the same request was refused (every policy), against the
    # reference's full search for each guest; hosts of several sizes, some disabled.
    rng = np.random.default_rng(11)
    n = 400
    capacity = {r: rng.choice([8.0, 12.0, 16.0], n).tolist() for r in ("cpu", "memory")}
    sizes = [(2.0, 4.0), (1.0, 2.0), (4.0, 1.5), (2.0, 4.0)]
    runs = [s for s in sizes for _ in range(int(rng.integers(500, 900)))]
    requests = {"cpu": [c for c, _ in runs], "memory": [m for _, m in runs]}
    disabled = rng.choice(n, 20, replace=False).tolist()
    case = (capacity, {"cpu": 1.5}, requests, None, disabled)
    pool, ref, got, want = run_both(case, policy, "given", 0)
    assert got.tolist() == want
    assert (got >= 0).sum() > 500 and (got < 0).sum() > 0  # hosts filled up, some rejected
    for r in pool.resources:
        assert pool.used[r].tolist() == ref.used[r]
