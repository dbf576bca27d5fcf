"""The least-outstanding balancer's choice over 200 replicas, side by side in one run (same
choices, checked): the plain loop it first used, the list scan of ``n_here`` it used next, and
the count index it uses now (``LeastOutstanding``: the balancer's own counts in buckets).

Requests come and go as in a run: each choice sends one request to the chosen replica, and a
request in flight, drawn at random, ends after each choice once 400 are in flight (about two
per replica), so the counts move as they do under load."""

from __future__ import annotations

import time

import numpy as np

from vsim.model.balancers import LeastOutstanding, make_policy


class _Replica:
    def __init__(self, g: int):
        self.g, self.n_here = g, 0


def _loop_policy():
    turn = [0]

    def least_outstanding(ready):
        n = len(ready)
        turn[0] += 1
        best, low = None, None
        for k in range(n):
            st = ready[(turn[0] + k) % n]
            if low is None or st.n_here < low:
                best, low = st, st.n_here
        return best

    return least_outstanding


def _drive(policy, ready, choices: int, seed: int, counted: bool) -> tuple[list[int], float]:
    """Choices under a moving load; the chosen replicas and the seconds spent choosing (and,
    for the index, keeping its counts)."""
    rng = np.random.default_rng(seed)
    ends = rng.random(choices).tolist()
    for st in ready:
        st.n_here = 0
    flying: list[int] = []
    picks, spent = [], 0.0
    for k in range(choices):
        t0 = time.perf_counter()
        st = policy(ready)
        spent += time.perf_counter() - t0
        picks.append(st.g)
        st.n_here += 1
        flying.append(st.g)
        g = flying.pop(int(ends[k] * len(flying))) if len(flying) > 400 else -1
        if g >= 0:
            ready[g].n_here -= 1
        if counted:  # the index's upkeep is part of its cost per request
            t0 = time.perf_counter()
            policy.sent(st.g)
            if g >= 0:
                policy.ended(g)
            spent += time.perf_counter() - t0
    return picks, spent


def main(replicas: int = 200, choices: int = 20_000) -> list[dict]:
    ready = [_Replica(g) for g in range(replicas)]
    rows = []
    picks = {}
    for name, make, counted in (
        ("loop", _loop_policy, False),
        ("list_scan", lambda: make_policy("least_outstanding", None), False),
        ("count_index", LeastOutstanding, True),
    ):
        picks[name], spent = _drive(make(), ready, choices, 1, counted)
        us = spent / choices * 1e6
        rows.append({"benchmark": f"least_outstanding_{name}_{replicas}", "us_per_choice": us})
        print(f"balancers: least_outstanding ({name}), {replicas} replicas: {us:.1f} us per choice")
    assert picks["loop"] == picks["list_scan"] == picks["count_index"]
    return rows


if __name__ == "__main__":
    main()
