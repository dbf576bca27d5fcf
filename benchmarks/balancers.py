"""The least-outstanding balancer's choice over 200 replicas: the plain loop it replaced
against the list scan it uses now, side by side in one run (same choices, checked)."""

from __future__ import annotations

import time

import numpy as np

from vsim.model.balancers import make_policy


class _Replica:
    def __init__(self, n_here: int):
        self.n_here = n_here


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


def main(replicas: int = 200, choices: int = 20_000) -> list[dict]:
    rng = np.random.default_rng(1)
    ready = [_Replica(int(n)) for n in rng.integers(0, 3, replicas)]
    rows = []
    picks = {}
    for name, policy in (
        ("loop", _loop_policy()),
        ("list_scan", make_policy("least_outstanding", None)),
    ):
        t0 = time.perf_counter()
        picks[name] = [policy(ready) for _ in range(choices)]
        us = (time.perf_counter() - t0) / choices * 1e6
        rows.append({"benchmark": f"least_outstanding_{name}_{replicas}", "us_per_choice": us})
        print(f"balancers: least_outstanding ({name}), {replicas} replicas: {us:.1f} us per choice")
    assert picks["loop"] == picks["list_scan"]
    return rows


if __name__ == "__main__":
    main()
