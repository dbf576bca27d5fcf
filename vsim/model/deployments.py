"""Deployments as a controller: replicas, their readiness and drain, the HPA, and updates.

Each deployment keeps, per replica guest, a status (free, pending: no host had room,
starting, ready, draining). Only ready replicas get requests from the deployment's
:class:`~vsim.model.balancers.Front`. A replica taken out of service drains for the
deployment's ``drain`` time and is then stopped (requests still in it fail).

``reconcile`` moves the replicas toward what is wanted, as a Kubernetes ReplicaSet and
Deployment controller do: ``desired`` replicas of the current version; during a rolling update
at most ``desired + max_surge`` live replicas and at least ``desired - max_unavailable`` ready
ones; blue-green brings up all new replicas before it drains the old; a canary runs a share of
the new version first. It runs after every change (a replica ready or stopped, an HPA decision,
an update) in the same instant.
"""

from __future__ import annotations

import bisect
import math
import operator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vsim.model import guests as gs
from vsim.model.autoscale import Autoscaling, Recorder, deployment_summary, replica_rows
from vsim.model.balancers import Front
from vsim.model.cluster_autoscale import ClusterScaler
from vsim.model.vertical import Vertical
from vsim.scenario.deployments import Deployment, group_name

if TYPE_CHECKING:
    from vsim.model.engine import Engine
    from vsim.model.services import Services

FREE, PENDING, STARTING, READY, DRAINING = range(5)
_START = operator.itemgetter(0)  # a span's start
LIVE = (PENDING, STARTING, READY)


class Replicas:
    """The replicas of one deployment and the decisions about them."""

    def __init__(self, owner: Deployments, k: int, spec: Deployment):
        e = owner.engine
        self.owner, self.e, self.spec, self.k = owner, e, spec, k
        names = e.scenario.guest_group_names()
        self.slots = [
            np.flatnonzero(e.guests.group == names.index(group_name(spec.name, v))).tolist()
            for v in range(len(spec.updates) + 1)
        ]
        self.version = {g: v for v, gl in enumerate(self.slots) for g in gl}
        self.status = dict.fromkeys(self.version, FREE)
        self.epoch = dict.fromkeys(self.version, 0)
        self.up_since: dict[int, float] = {}
        self.seconds: dict[int, float] = dict.fromkeys(self.version, 0.0)
        # vCPU-seconds and byte-seconds of memory up, and when last counted (sizes may change)
        self.sized = {g: [0.0, 0.0, 0.0] for g in self.version}
        self.vertical = None  # the Vertical autoscaler, if any (set by Deployments)
        self.desired, self.target = spec.replicas, 0
        self.update = None  # the Update running, if any
        self.promote_at = math.inf  # a canary's end
        self.phases: dict[str, list[list[float]]] = {"scaling": [], "update": []}
        self.phase_spans = [(n, self.phases[n]) for n in ("update", "scaling")]  # (same lists)
        self.ready: list = []
        self.ready_new: list = []
        self.ready_old: list = []
        st = owner.services.stations
        rngs = [e.streams.generator("deployments", k, j) for j in (0, 1)]
        self.front = Front(e, spec.name, st[self.slots[0][0]], rngs, self.choose, spec.balancer)
        self.front.phase_of = self.phase_of
        owner.services.fronts.append(self.front)
        self.front.start_arrivals(self.front.spec.arrivals, self.front.log.next_id)

    # ---------------------------------------------------------------- traffic
    def choose(self) -> list:
        """Replicas that may take the next request (a canary's share goes to the new ones)."""
        if self.update is not None and self.update.strategy == "canary" and self.ready_new:
            if self.front.pick_version() < self.update.canary_percent / 100:
                return self.ready_new
            return self.ready_old or self.ready_new
        return self.ready

    def _rebuild(self) -> None:
        st = self.owner.services.stations
        self.ready = [st[g] for g in sorted(self.status) if self.status[g] == READY]
        self.ready_new = [s for s in self.ready if self.version[s.g] == self.target]
        self.ready_old = [s for s in self.ready if self.version[s.g] != self.target]

    def phase_of(self, t: float) -> str | None:
        """Whether time ``t`` fell in an update or a scaling episode (update wins). Called at
        every request's end: a binary search on the spans' starts, no list built."""
        for name, spans in self.phase_spans:
            if spans and t >= spans[0][0]:
                i = bisect.bisect_right(spans, t, key=_START) - 1
                if t < spans[i][1]:
                    return name
        return None

    # ---------------------------------------------------------------- replica lifecycle
    def count(self, status: int, version: int | None = None) -> int:
        return sum(
            1
            for g, s in self.status.items()
            if s == status and (version is None or self.version[g] == version)
        )

    def by_status(self) -> dict[str, int]:
        """How many replicas are in each status now."""
        names = ("pending", "starting", "ready", "draining")
        return {
            n: self.count(s)
            for n, s in zip(names, (PENDING, STARTING, READY, DRAINING), strict=True)
        }

    def pending(self) -> list[int]:
        """Replica guests waiting for a host, in index order."""
        return [g for g, s in self.status.items() if s == PENDING]

    def live(self, new: bool) -> list[int]:
        return [
            g
            for g, s in self.status.items()
            if s in LIVE and (self.version[g] == self.target) == new
        ]

    def _set(self, g: int, status: int) -> None:
        now, old = self.e.now, self.status[g]
        if old in (STARTING, READY, DRAINING):
            self.bill(g)
        if old in (STARTING, READY, DRAINING) and status not in (READY, DRAINING):
            self.seconds[g] += now - self.up_since.pop(g, now)
        if status == STARTING:
            self.up_since[g] = now
            self.sized[g][2] = now
        self.status[g] = status

    def bill(self, g: int) -> None:
        """Count replica ``g``'s sizes up to now (call while it is up, before a resize)."""
        acc, e = self.sized[g], self.e
        dt = e.now - acc[2]
        acc[0] += float(e.guests.vcpus[g]) * dt
        acc[1] += float(e.guests.memory[g]) * dt
        acc[2] = e.now

    def size_seconds(self, g: int) -> tuple[float, float]:
        """vCPU-seconds and memory byte-seconds replica ``g`` was up, to now."""
        if g in self.up_since:
            self.bill(g)
        return self.sized[g][0], self.sized[g][1]

    def create(self, n: int) -> None:
        """Ask for ``n`` more replicas of the current version (pending until placed)."""
        free = [g for g in self.slots[self.target] if self.status[g] == FREE][:n]
        for g in free:
            self.status[g] = PENDING
        self.place_pending()

    def place_pending(self) -> None:
        e = self.e
        pending = np.array(self.pending(), dtype=np.int64)
        if not len(pending):
            return
        if self.vertical is not None:
            self.vertical.admit(pending.tolist())
        waiting = set(e.place_and_boot(pending).tolist())
        for g in pending.tolist():
            if g not in waiting:
                self._starting(g)

    def _starting(self, g: int) -> None:
        """Replica ``g`` is starting: ready after its start-up and the readiness delay."""
        self._set(g, STARTING)
        self.epoch[g] += 1
        ev = self.e.env.timeout(float(self.e.guests.boot_s[g]) + self.spec.readiness)
        ev.callbacks.append(lambda _e, ep=self.epoch[g]: self.owner.fire(self._ready, g, ep))

    def restart(self, g: int) -> None:
        """Replica ``g`` restarts where it runs (the engine restarts its guest): its requests
        fail, and it serves again once started and ready."""
        self.owner.services.stations[g].fail_all()
        self._starting(g)
        self._rebuild()

    def _ready(self, g: int, epoch: int) -> None:
        if self.epoch[g] != epoch or self.status[g] != STARTING:
            return
        if self.e.guests.state[g] != gs.RUNNING:
            return
        self._set(g, READY)
        self.e.events.add(self.e.now, "replica_ready", self.e.guests.names[g], self.spec.name)
        if self.vertical is not None:
            self.vertical.mark(g)
        self._rebuild()

    def remove(self, g: int) -> None:
        """Take a replica out: forget it if pending, stop it if starting, drain it if ready."""
        s = self.status[g]
        if s == PENDING:
            self.status[g] = FREE
        elif s == STARTING:
            self._stop(g)
        elif s == READY:
            self._set(g, DRAINING)
            self._rebuild()
            self.e.events.add(self.e.now, "replica_draining", self.e.guests.names[g])
            self.epoch[g] += 1
            ev = self.e.env.timeout(self.spec.drain)
            ev.callbacks.append(lambda _e, ep=self.epoch[g]: self.owner.fire(self._drained, g, ep))

    def _drained(self, g: int, epoch: int) -> None:
        if self.epoch[g] == epoch and self.status[g] == DRAINING:
            self._stop(g)

    def _stop(self, g: int) -> None:
        self._set(g, FREE)
        self.epoch[g] += 1
        self.e.stop(np.array([g], dtype=np.int64))

    def lost(self, g: int) -> None:
        """The guest went down or was stopped by someone else: its slot is free again."""
        if self.status[g] != FREE:
            self._set(g, FREE)
            self.epoch[g] += 1
            self.e.stop_while_down(np.array([g], dtype=np.int64), "replica lost")
            self._rebuild()

    # ---------------------------------------------------------------- reconcile
    def reconcile(self) -> None:
        """Move the replicas toward what is wanted (see the module's docstring)."""
        self.place_pending()
        for _ in range(4 * (len(self.status) + 1)):
            if not self._step():
                break
        self._rebuild()

    def _step(self) -> bool:
        """One move toward the goal; False when there is nothing to do."""
        new, old, u, n = self.live(True), self.live(False), self.update, self.desired
        if u is not None and not old and self.count(READY, self.target) >= min(n, len(new)):
            self.update = None
            self.phases["update"][-1][1] = self.e.now
            self.e.events.add(self.e.now, "update_done", self.spec.name, f"v{self.target}")
        if self.update is None or not old:
            return self._scale(new, n)
        if u.strategy == "canary" and self.e.now < self.promote_at:
            return self._canary(new, old, n)
        if u.strategy == "blue_green":
            if len(new) < n:
                self.create(n - len(new))
                return len(self.live(True)) > len(new)
            if self.count(READY, self.target) >= n:
                for g in old:
                    self.remove(g)
                return True
            return False
        return self._roll(new, old, n, u.max_surge, u.max_unavailable)

    def _scale(self, new: list[int], n: int) -> bool:
        if len(new) < n:
            self.create(n - len(new))
        if len(new) > n:
            order = {PENDING: 0, STARTING: 1, READY: 2}
            extra = sorted(new, key=lambda g: (order[self.status[g]], -g))[: len(new) - n]
            for g in extra:
                self.remove(g)
            return False
        return False

    def _canary(self, new: list[int], old: list[int], n: int) -> bool:
        want = math.ceil(n * self.update.canary_percent / 100)
        if len(new) < want:
            self.create(want - len(new))
        if self.count(READY, self.target) >= want and not math.isfinite(self.promote_at):
            self.promote_at = self.e.now + self.update.canary_for
            ev = self.e.env.timeout(self.update.canary_for)
            ev.callbacks.append(lambda _e: self.owner.fire(lambda: None))
        if len(old) != n:
            return self._scale_old(old, n)
        return False

    def _scale_old(self, old: list[int], n: int) -> bool:
        if len(old) > n:
            for g in sorted(old, key=lambda g: self.status[g])[: len(old) - n]:
                self.remove(g)
        return False

    def _roll(self, new: list[int], old: list[int], n: int, surge: int, unavailable: int) -> bool:
        moved = False
        for g in old:
            if self.status[g] != READY:  # replicas serving nothing go first
                self.remove(g)
                moved = True
        old = [g for g in old if self.status[g] == READY]
        add = min(n - len(new), n + surge - len(new) - len(old))
        if add > 0:
            before = len(new)
            self.create(add)
            moved |= len(self.live(True)) > before
        ready = self.count(READY)
        kill = min(len(old), ready - (n - unavailable))
        for g in old[: max(kill, 0)]:
            self.remove(g)
            moved = True
        return moved

    def start_update(self, i: int) -> None:
        u = self.spec.updates[i]
        self.update, self.target, self.promote_at = u, i + 1, math.inf
        self.phases["update"].append([self.e.now, math.inf])
        self.e.events.add(self.e.now, "update_started", self.spec.name, f"v{i + 1} {u.strategy}")
        self._rebuild()


class Deployments:
    """The controller of every deployment of a scenario."""

    name = "deployments"

    def __init__(self, engine: Engine, services: Services):
        self.engine, self.services = engine, services
        self.deps = [Replicas(self, k, d) for k, d in enumerate(engine.scenario.deployments)]
        self.timeline: list[dict] = []
        self.by_guest = {g: d for d in self.deps for g in d.status}
        engine.signals.guests_down.connect(self._lost)
        engine.signals.guests_stopped.connect(self._lost)
        self.replace_at = -1.0  # when a decision to replace lost replicas was last scheduled
        self._at_now(lambda: None)
        for d in self.deps:
            for i, u in enumerate(d.spec.updates):
                self._at(u.at, lambda d=d, i=i: d.start_update(i))
        self.autoscalers = [Autoscaling(self, d) for d in self.deps if d.spec.autoscale]
        for d in self.deps:
            if d.spec.vertical is not None:
                d.vertical = Vertical(self, d)
        self.cluster: ClusterScaler | None = None
        self.recorders = [Recorder(self, d) for d in self.deps]
        ca = engine.scenario.cluster_autoscaler
        if ca is not None:
            self.cluster = ClusterScaler(self, ca)

    def _at(self, t: float, fn) -> None:
        if t < self.engine.scenario.duration:
            ev = self.engine.env.timeout(t)
            ev.callbacks.append(lambda _e: self.fire(fn))

    def fire(self, fn, *args) -> None:
        """One event of this controller: do ``fn``, reconcile every deployment, re-solve."""
        self.engine.count_event()
        fn(*args)
        for d in self.deps:
            d.reconcile()
        self.engine.resolve.everything()

    def _lost(self, idx: np.ndarray) -> None:
        """Replicas went down or were stopped by someone else (a host failure, say): their
        slots are free, and a decision later in this instant replaces them, as a ReplicaSet
        does (once per instant however many go)."""
        lost = False
        for g in idx.tolist():
            d = self.by_guest.get(g)
            if d is not None and d.status[g] != FREE:
                d.lost(g)
                lost = True
        if lost and self.replace_at != self.engine.now:
            self.replace_at = self.engine.now
            self._at_now(lambda: None)

    def _at_now(self, fn) -> None:
        ev = self.engine.env.timeout(0)
        ev.callbacks.append(lambda _e: self.fire(fn))

    def frame(self) -> pd.DataFrame:
        """The deployments table: one row per deployment and record time."""
        return pd.DataFrame(self.timeline)

    def replicas_frame(self) -> pd.DataFrame:
        """One row per replica that ever ran: its version, requests sent and served, time up."""
        return pd.DataFrame(replica_rows(self))

    def summary(self) -> dict:
        out = deployment_summary(self) if self.deps else {}
        return out | (self.cluster.summary() if self.cluster is not None else {})
