"""Why a guest was rejected: the constraint that left it without a host, in words.

A guest is rejected when no host could take it at its start. :func:`why_rejected` names the
constraint from the pool as the placement left it, in this order:

1. a container whose VM holds no host;
2. a guest pinned to a host: that host is off, or lacks room for the named resources;
3. no host switched on;
4. an anti-affinity rule: every host that is on holds a member already, or some host has room
   but every such host holds one;
5. no room: the resources no host it may use has enough of (each with the request and the
   most free on one host), or, when each alone is found somewhere, the resources that no one
   host has together;
6. otherwise the placement policy chose no host although one had room (a user's policy).

Usage only grows while a batch is placed, so a host with room in the end had room when the
guest was tried: rule 4 then names the rule that excluded it, never a guess.

The text reads ``<constraint>: <details>``; the part before the colon names the constraint
alone, so a console can count guests by it (:func:`constraint_of`).
"""

from __future__ import annotations

import numpy as np

from vsim.core.placement import HostPool

__all__ = ["KINDS", "constraint_of", "kind_of", "why_rejected"]

#: How each placement resource is written: divisor and unit.
_UNITS = {
    "cpu": (1.0, "MIPS"),
    "memory": (2.0**30, "GiB"),
    "disk": (1e6, "MB/s"),
    "net": (1e6, "MB/s"),
}


def _amount(resource: str, value: float) -> str:
    scale, unit = _UNITS.get(resource, (1.0, ""))
    return f"{value / scale:.4g} {unit}".rstrip()


def _lacking(pool: HostPool, request: dict[str, float], hosts: np.ndarray) -> dict[str, int]:
    """For each resource the request asks for, how many of ``hosts`` lack room for it."""
    out = {}
    for r in pool.resources:
        if request.get(r, 0.0) > 0.0:
            out[r] = int(np.sum(hosts & ~pool.feasible({r: request[r]})))
    return out


def _shortfall(pool: HostPool, request: dict[str, float], r: str, hosts: np.ndarray) -> str:
    free = pool.capacity[r][hosts] - pool.used[r][hosts]
    most = float(free.max()) if free.size else 0.0
    return f"{r} asks {_amount(r, request[r])}, at most {_amount(r, max(most, 0.0))} free"


def _no_room(pool: HostPool, request: dict[str, float], hosts: np.ndarray) -> str:
    """The resources that left the hosts in ``hosts`` (a mask) without room."""
    n = int(hosts.sum())
    lacking = _lacking(pool, request, hosts)
    everywhere = [r for r, k in lacking.items() if k == n]
    if everywhere:
        parts = "; ".join(_shortfall(pool, request, r, hosts) for r in everywhere)
        return f"no room for {' and '.join(everywhere)}: {parts} on any of the {n} hosts it may use"
    short = [r for r, k in lacking.items() if k]
    counts = ", ".join(f"{lacking[r]} lack {r}" for r in short)
    return f"no room for {' and '.join(short)} together: of the {n} hosts it may use, {counts}"


def _pinned(pool: HostPool, request: dict[str, float], h: int, name: str) -> str:
    if not pool.enabled[h]:
        return f"pinned host {name!r} is off: the guest may run nowhere else"
    one = np.zeros(pool.n_hosts, dtype=bool)
    one[h] = True
    short = [r for r, k in _lacking(pool, request, one).items() if k]
    parts = "; ".join(_shortfall(pool, request, r, one) for r in short)
    return f"pinned host {name!r} has no room for {' and '.join(short)}: {parts}"


def why_rejected(
    pool: HostPool,
    request: dict[str, float],
    *,
    host_names: np.ndarray,
    held: list[int] = (),  # type: ignore[assignment]
    rule: str | None = None,
    pinned: int = -1,
    vm: str | None = None,
    policy: str = "",
) -> str:
    """The constraint that left a guest without a host (see the module's order).

    Args:
        pool: the placement pool after the batch the guest was part of.
        request: what the guest asks of a host, by resource.
        host_names: the hosts' names, by index.
        held: hosts holding a member of the guest's anti-affinity group.
        rule: the name of that group (``anti_affinity``), if any.
        pinned: the host the guest is pinned to, else -1.
        vm: the name of the VM a container runs in, if any.
        policy: the placement policy's name.
    """
    if vm is not None:
        return f"its VM {vm!r} holds no host: a container runs only inside its VM"
    if pinned >= 0:
        return _pinned(pool, request, pinned, str(host_names[pinned]))
    on = pool.enabled.copy()
    if not on.any():
        return f"no host is on: all {pool.n_hosts} are off or failed"
    excluded = np.zeros(pool.n_hosts, dtype=bool)
    excluded[list(held)] = True
    room = pool.feasible(request)
    may = on & ~excluded
    if rule is not None and not may.any():
        return f"anti-affinity rule {rule!r}: all {int(on.sum())} hosts on hold a member already"
    if rule is not None and room.any() and not (room & may).any():
        return (
            f"anti-affinity rule {rule!r}: the {int(room.sum())} hosts with room each hold a "
            f"member already ({int((excluded & on).sum())} of the {int(on.sum())} hosts on do)"
        )
    if not (room & may).any():
        text = _no_room(pool, request, may)
        if rule is not None and (excluded & on).any():
            text += f"; anti-affinity rule {rule!r} excludes {int((excluded & on).sum())} more"
        return text
    return f"placement policy {policy!r} chose no host although {int(room.sum())} had room"


#: Kinds of constraint, for counts: the summary's ``guests_rejected_by_<kind>`` columns.
KINDS = ("anti_affinity", "room", "pinned", "policy", "isolation")


def kind_of(detail: str) -> str:
    """The kind (:data:`KINDS`) of the constraint a rejection's detail names."""
    if detail.startswith("anti-affinity rule"):
        return "anti_affinity"
    if detail.startswith(("pinned host", "its VM")):
        return "pinned"
    if detail.startswith("placement policy"):
        return "policy"
    if detail.startswith("isolation"):  # the tenants' isolation (vsim.model.tenancy)
        return "isolation"
    return "room"


def constraint_of(detail: str) -> str:
    """The constraint a rejection's detail names (the text before its first colon)."""
    return detail.split(":", 1)[0]
