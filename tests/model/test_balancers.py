"""The balancing policies against their definitions."""

from __future__ import annotations

from pathlib import Path

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


def test_the_count_index_chooses_as_the_definition_over_a_run():
    """The deployment's least_outstanding runs on its own counts (``LeastOutstanding``): over
    runs with an HPA, a rolling update, drains and a rack failure (requests failed in flight),
    every choice is the definition's over the replicas' ``n_here``, and every ready replica's
    count equals its ``n_here`` at each choice."""
    import vsim.model.build
    from vsim.model.balancers import LeastOutstanding
    from vsim.scenario import load_scenario, validate_scenario

    root = Path(__file__).parents[2] / "scenarios"
    checked = 0
    for name, duration in (("deployment", 1500), ("rack_spread", 700)):
        data = load_scenario(root / f"{name}.yaml").model_dump(mode="json")
        data["guests"] = [g for g in data["guests"] if not g["deployment"]]
        engine = vsim.model.build.build_simulation(
            validate_scenario({**data, "duration": duration})
        )
        front = next(c for c in engine.controllers if c.name == "deployments").deps[0].front
        index = front.pick
        assert isinstance(index, LeastOutstanding)

        def pick(ready, index=index):
            nonlocal checked
            expected = first_least_from(ready, (index.turn + 1) % len(ready))
            assert all(index.count.get(st.g, 0) == st.n_here for st in ready)
            checked += 1
            got = index(ready)
            assert got is expected
            return got

        front.pick = pick  # a test double around the index
        engine.run()
    assert checked > 10_000
