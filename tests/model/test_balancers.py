"""The balancing policies against their definitions."""

from __future__ import annotations

import numpy as np

from vsim.model.balancers import make_policy


class Replica:
    def __init__(self, n_here: int):
        self.n_here = n_here


def first_least_from(ready, start):
    """The definition: scanning from ``start`` round the list, the first of the fewest."""
    order = [ready[(start + k) % len(ready)] for k in range(len(ready))]
    return min(order, key=lambda r: r.n_here)  # min keeps the first of equals


def test_least_outstanding_takes_the_first_of_the_fewest_from_a_turning_start():
    rng = np.random.default_rng(3)
    policy = make_policy("least_outstanding", None)
    for turn in range(1, 5001):
        ready = [Replica(int(n)) for n in rng.integers(0, 4, rng.integers(1, 13))]
        assert policy(ready) is first_least_from(ready, turn)
