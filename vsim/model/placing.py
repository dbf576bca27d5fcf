"""Initial placement through the plug-in interface of :mod:`vsim.policies`.

The built-in policies place a batch in one call to the pool's vectorized ``place_batch`` (the
fast path); :class:`BuiltinPlacement` also answers one guest at a time through the general
interface (:meth:`BuiltinPlacement.__call__`), which a test compares with the fast path. A
user's policy is asked guest by guest (:class:`UserPlacement`), in the scenario's order, with
anti-affinity applied to the hosts it may choose, and its answers are checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsim.core.placement import HostPool
from vsim.policies import PlacementView, PolicyError, as_host, call, resolve


class BuiltinPlacement:
    """A built-in policy of :class:`vsim.core.placement.HostPool`."""

    def __init__(self, name: str):
        self.name = name

    def place(self, pool: HostPool, requests, names, *, order, groups, rng, occupied, now):
        """Hosts for a batch of requests (-1: no room), allocated in the pool."""
        return pool.place_batch(
            requests, self.name, order=order, groups=groups, rng=rng, occupied=occupied
        )

    def __call__(self, request: dict[str, float], view: PlacementView, pool: HostPool, rng):
        """The same decision through the general interface (one guest, not allocated)."""
        exclude = ~view.feasible
        return pool.choose(request, self.name, rng=rng, exclude=exclude)


class UserPlacement:
    """A user's :class:`vsim.policies.PlacementPolicy`, asked guest by guest."""

    def __init__(self, spec: str, policy: Any):
        self.name, self.policy = spec, policy

    def place(self, pool: HostPool, requests, names, *, order, groups, rng, occupied, now):
        """The pool's batch placement, asking this policy for each guest's host."""

        def choose(i: int, req: list[float], exclude: np.ndarray | None) -> int:
            request = dict(zip(pool.resources, req, strict=True))
            return self._ask(pool, request, pool.feasible(request, exclude), names[i], now)

        return pool.place_batch(
            requests, choose, order=order, groups=groups, rng=rng, occupied=occupied
        )

    def _ask(self, pool: HostPool, request, feasible, name: str, now: float) -> int:
        view = _view(pool, feasible, now)
        decision = f"placing guest {name!r} at t={now:g} s"
        answer = call(self.name, decision, self.policy, request, view)
        h = as_host(self.name, decision, answer, pool.n_hosts)
        if h >= 0 and not feasible[h]:
            free = {r: float(view.free[r][h]) for r in pool.resources}
            raise PolicyError(
                f"policy {self.name!r} chose host {h} while {decision}, which cannot take it "
                f"(disabled, full or excluded by anti-affinity): asks {request}, free {free}"
            )
        return h


def _view(pool: HostPool, feasible: np.ndarray, now: float) -> PlacementView:
    cap = {r: pool.capacity[r].copy() for r in pool.resources}
    used = {r: pool.used[r].copy() for r in pool.resources}
    free = {r: cap[r] - used[r] for r in pool.resources}
    return PlacementView(cap, used, free, feasible, np.arange(pool.n_hosts), now)


def placement_for(spec: str, base_dir: str | None):
    """The placement a scenario's ``scheduler.policy`` names."""
    policy = resolve("placement", spec, base_dir)
    return BuiltinPlacement(spec) if policy is None else UserPlacement(spec, policy)


__all__ = ["BuiltinPlacement", "UserPlacement", "placement_for", "PolicyError"]
