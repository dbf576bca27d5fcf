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

    def place(self, pool: HostPool, requests, names, *, now, tenants=None, tenancy=None, **batch):
        """Hosts for a batch of requests (-1: no room), allocated in the pool; ``batch``: the
        options of ``HostPool.place_batch`` (order, groups, rng, occupied, spread);
        ``tenants``: the requests' tenants (int64[m]) and ``tenancy`` the run's, whose
        isolation rules hosts out."""
        return pool.place_batch(requests, self.name, **batch, **_isolation(tenants, tenancy))

    def __call__(self, request: dict[str, float], view: PlacementView, pool: HostPool, rng):
        """The same decision through the general interface (one guest, not allocated)."""
        exclude = ~view.feasible
        return pool.choose(request, self.name, rng=rng, exclude=exclude)


class UserPlacement:
    """A user's :class:`vsim.policies.PlacementPolicy`, asked guest by guest."""

    def __init__(self, spec: str, policy: Any, hosts: Any = None, power: Any = None):
        self.name, self.policy = spec, policy
        self.core_mips = None if hosts is None else hosts.core_mips
        self.host_names = None if hosts is None else hosts.names
        self.power = power
        self.options: dict[str, int] = {}  # scheduler settings some policies read

    def place(self, pool: HostPool, requests, names, *, now, tenants=None, tenancy=None, **batch):
        """The pool's batch placement, asking this policy for each guest's host (``names``:
        the guests' names and vCPU speeds; the rest as for :class:`BuiltinPlacement`; the
        policy sees anti-affinity, a spread and isolation as hosts excluded)."""
        of, rng = tenants, batch.get("rng")

        def choose(i: int, req: list[float], exclude: np.ndarray | None) -> int:
            request = dict(zip(pool.resources, req, strict=True))
            feasible = pool.feasible(request, exclude)
            facts = (now, float(names[1][i]), rng, _tenant_facts(tenancy, of, i))
            return self._ask(pool, request, feasible, names[0][i], facts)

        isolation = {} if tenancy is None else {"tenants": of, "isolation": tenancy}
        return pool.place_batch(requests, choose, **batch, **isolation)

    def _ask(self, pool: HostPool, request, feasible, name: str, facts) -> int:
        now, vcpu_mips, rng, tenant = facts
        view = PlacementView(
            *_pool_state(pool),
            feasible,
            self.host_names,
            now,
            vcpu_mips,
            self.core_mips,
            self.power,
            rng=rng,
            **tenant,
            **self.options,
        )
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


def _isolation(tenants=None, tenancy=None) -> dict:
    """place_batch's isolation arguments: none when no tenant is isolated (the fast path)."""
    if tenancy is None or not tenancy.isolating:
        return {}
    return {"tenants": tenants, "isolation": tenancy}


def _tenant_facts(tenancy, of, i: int) -> dict:
    """What a placement view shows of the guest's tenant and the hosts' tenants."""
    if tenancy is None:
        return {}
    t = int(of[i])
    return {
        "tenant": t,
        "tenant_guests": tenancy.count[:, t].copy(),
        "tenant_hosts_ever": tenancy.ever[:, t].copy(),
        "tenants_on": tenancy.distinct.copy(),
    }


def _pool_state(pool: HostPool) -> tuple[dict, dict, dict]:
    """Copies of the pool's capacity and allocations, and what is free, per resource."""
    cap = {r: pool.capacity[r].copy() for r in pool.resources}
    used = {r: pool.used[r].copy() for r in pool.resources}
    return cap, used, {r: cap[r] - used[r] for r in pool.resources}


def placement_for(spec: str, base_dir: str | None, hosts: Any = None, power: Any = None):
    """The placement a scenario's ``scheduler.policy`` names (``hosts``, ``power``: the
    hardware a policy may weigh)."""
    policy = resolve("placement", spec, base_dir)
    if policy is None:
        return BuiltinPlacement(spec)
    return UserPlacement(spec, policy, hosts, power)


def placement_of(scenario: Any, hosts: Any = None, power: Any = None):
    """The placement of ``scenario``'s scheduler, with the settings its policies read."""
    sched = scenario.scheduler
    placement = placement_for(sched.policy, scenario.base_dir, hosts, power)
    if isinstance(placement, UserPlacement):
        placement.options = {"tenant_cap": sched.tenant_cap, "tenant_spread": sched.tenant_spread}
    return placement


__all__ = ["BuiltinPlacement", "UserPlacement", "placement_for", "placement_of", "PolicyError"]
