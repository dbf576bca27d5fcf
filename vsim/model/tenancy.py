"""Who shares a host with whom: tenants, their isolation levels, and the hosts they may use.

Tenant 0 is the implicit shared tenant of guests that name none; tenants ``1..`` are the
scenario's ``tenants`` in order, then attacker tenants that are not listed (shared). Each
tenant ``t`` has a limit ``m_t`` on the other tenants of any host it is on (inf: shared, 0:
exclusive).

Rule. Host ``h`` holds ``D_h`` distinct tenants; ``L_h`` is the smallest limit among them (inf
when empty). A guest of tenant ``t`` may go to ``h`` if ``t`` is already there (nothing
changes), or else if ``D_h <= m_t`` (``t`` would have ``D_h`` others) and ``D_h <= L_h`` (every
tenant there would have one more other, ``D_h``). So an exclusive tenant only goes to empty
hosts or its own, and nobody joins it; this is checked for every placement and migration.

Counts are taken from the guest table (guests holding a host, and running migrations at their
destination) at the start of each placement batch, then kept as the batch places guests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsim.model import guests as gs
from vsim.scenario.schema import Scenario


def tenant_names(scenario: Scenario) -> list[str]:
    """Tenant names by id: '' (guests without a tenant), the listed ones, unlisted attackers."""
    names = ["", *(t.name for t in scenario.tenants)]
    for a in scenario.attacks:
        if a.tenant not in names:
            names.append(a.tenant)
    return names


class Tenancy:
    """Tenants' isolation and how many guests of each tenant every host holds."""

    def __init__(self, scenario: Scenario, guests: gs.GuestTable, n_hosts: int):
        self.names = tenant_names(scenario)
        index = {n: i for i, n in enumerate(self.names)}
        levels = {t.name: t.max_others for t in scenario.tenants}
        self.limit = np.array([levels.get(n, np.inf) for n in self.names])
        self.of = np.array(
            [index[scenario.guests[k].tenant or ""] for k in guests.group], dtype=np.int64
        )
        #: whether any tenant is isolated (otherwise every host is allowed to everyone)
        self.isolating = bool(np.isfinite(self.limit).any())
        #: whether the scenario speaks of tenants at all (then hosts record their count)
        self.listed = bool(scenario.tenants or scenario.attacks)
        n_t = len(self.names)
        self.count = np.zeros((n_hosts, n_t), dtype=np.int64)
        self.distinct = np.zeros(n_hosts, dtype=np.int64)
        self.floor = np.full(n_hosts, np.inf)
        #: hosts that have ever held a guest of each tenant (bool[H, T])
        self.ever = np.zeros((n_hosts, n_t), dtype=bool)

    # ------------------------------------------------------------------ counting
    def sync(self, guests: gs.GuestTable, transfers: Any = ()) -> None:
        """Count each tenant's guests per host from the guest table and running migrations."""
        n_h, n_t = self.count.shape
        held = gs.HOLDS_HOST[guests.state] & (guests.host >= 0)
        cells = guests.host[held] * n_t + self.of[held]
        dst = [(m.dst, self.of[m.guest]) for m in getattr(transfers, "active", ())]
        if dst:
            cells = np.concatenate([cells, [h * n_t + t for h, t in dst]])
        self.count = np.bincount(cells, minlength=n_h * n_t).reshape(n_h, n_t)
        present = self.count > 0
        self.ever |= present
        self.distinct = present.sum(axis=1)
        self.floor = np.where(present, self.limit, np.inf).min(axis=1, initial=np.inf)

    def add(self, h: int, t: int) -> None:
        """One more guest of tenant ``t`` on host ``h`` (placed within a batch)."""
        self.count[h, t] += 1
        if self.count[h, t] == 1:
            self.distinct[h] += 1
            self.floor[h] = min(self.floor[h], self.limit[t])
            self.ever[h, t] = True

    # ------------------------------------------------------------------ the rule
    def forbidden(self, t: int) -> np.ndarray | None:
        """bool[H]: hosts a new guest of tenant ``t`` may not go to (None: none forbidden)."""
        if not self.isolating:
            return None
        d = self.distinct
        return (self.count[:, t] == 0) & ((d > self.limit[t]) | (d > self.floor))

    def reason(self, h: int, t: int) -> str | None:
        """Why tenant ``t`` may not go to host ``h`` (None: it may)."""
        mask = self.forbidden(t)
        if mask is None or not mask[h]:
            return None
        return self.why(t)

    def why(self, t: int) -> str:
        """The isolation rule that keeps tenant ``t`` off a host, in words."""
        level = self.limit[t]
        if level == 0:
            return f"isolation: tenant {self.names[t]!r} is exclusive and no host is free of others"
        if np.isfinite(level):
            return (
                f"isolation: tenant {self.names[t]!r} allows {level:g} other tenants per host "
                "and no host with room qualifies"
            )
        return f"isolation: hosts with room hold tenants that exclude {self.label(t)}"

    def label(self, t: int) -> str:
        return f"tenant {self.names[t]!r}" if self.names[t] else "guests without a tenant"

    def per_host(self) -> np.ndarray:
        """int64[H]: distinct tenants on each host now."""
        return self.distinct.copy()
