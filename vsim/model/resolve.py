"""How far to re-solve after a change: the one place that decides it.

Every change in the engine ends with a request to this module, which picks the cheapest solve
that gives the same allocation as solving everything:

1. **Everything** (:meth:`Resolver.everything`): the array solve of every host, with running
   migrations and the network. Anything that can reach beyond one host calls it: placements,
   starts and stops, boots, failures and repairs, trace steps, migrations, backups.
2. **Later in this instant** (:meth:`Resolver.later`): one full solve at the end of the
   current instant however many changes it brings (migrations ending together). No time
   passes before it, so the integrals stay exact; a full solve in between makes it moot.
3. **One host** (:meth:`Resolver.host`): a change whose effect stays on host ``h`` (a batch
   phase of CPU or disk ended, a service's load changed, an empty host switched on or off),
   solved only there when no migration leaves from or goes to ``h``; in scalar arithmetic
   (:func:`~vsim.model.host_share.reshare_host`) when the host holds no nested guests, else
   the array solve of that host alone.
4. **One guest, no solve** (:meth:`Resolver.guest_cpu`): a service guest's CPU demand changed
   on an uncontended host (:func:`~vsim.model.host_share.update_guest_cpu`); else rule 3.

A batch phase's end is local (rule 3) when the guest is still placed and running, no migration
touches its host, and neither phase is a network phase (the network is solved across hosts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from vsim.model import guests as gs
from vsim.model.host_share import reshare_host, update_guest_cpu
from vsim.model.rates import NET
from vsim.model.solve import solve_hosts

if TYPE_CHECKING:
    import simpy

    from vsim.model.contract import EngineState


class Resolver:
    """The re-solve decision of one engine (``engine.resolve``)."""

    def __init__(self, engine: EngineState):
        self.engine = engine
        self.pending = False  # a full solve is due at the end of this instant
        # One host's change is solved in scalar arithmetic (the same allocation, faster);
        # tests turn this off to compare it with the array solve.
        self.scalar_host_solve = True
        self.n_full = self.n_hosts = self.n_scalar = self.n_guest = 0  # solves of each kind

    def everything(self) -> None:
        """Solve every resource of every host now (this covers any change awaiting a solve)."""
        self.pending = False
        self.n_full += 1
        solve_hosts(self.engine)

    def later(self) -> None:
        """Solve everything once at the end of this instant, unless a full solve comes first."""
        if self.pending:
            return
        self.pending = True
        self.engine.env.timeout(0).callbacks.append(self._due)

    def _due(self, _: simpy.Event) -> None:
        if self.pending:
            self.everything()

    def host(self, h: int) -> None:
        """Solve CPU, disk and IOPS of host ``h``'s guests only: the caller knows the change
        stays there (no placement, memory or network change, no migration to or from it)."""
        if self.scalar_host_solve and reshare_host(self.engine, h):
            self.n_scalar += 1
            return
        self.n_hosts += 1
        solve_hosts(self.engine, np.array([h]))

    def host_or_everything(self, h: int) -> None:
        """:meth:`host` when a change on host ``h`` stays there, else :meth:`everything`."""
        if h < 0 or self.engine.transfers.touches(h):
            self.everything()
        else:
            self.host(h)

    def job_phase_changed(self, i: int, before: int, after: int) -> None:
        """Guest ``i``'s batch job moved from phase ``before`` to ``after``."""
        e = self.engine
        h = int(e.guests.host[i])
        local = (
            h >= 0
            and e.guests.state[i] == gs.RUNNING
            and not e.transfers.touches(h)
            and NET not in (before, after)
        )
        if local:
            self.host(h)
        else:
            self.everything()

    def guest_cpu(self, g: int) -> None:
        """Guest ``g``'s CPU demand changed (and nothing else)."""
        if update_guest_cpu(self.engine, g):
            self.n_guest += 1
            return
        self.host_or_everything(int(self.engine.guests.host[g]))
