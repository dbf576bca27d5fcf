"""The cluster autoscaler: hosts of one type added for pending replicas, removed when idle.

It follows the Kubernetes Cluster Autoscaler's two loops in simplified form (see
``docs/deployments.md``): every ``scan_interval`` it (1) counts deployment replicas that no
host could take and switches on enough off hosts of its type for them, less the hosts already
provisioning, and (2) switches off hosts of its type that no guest has held since a scan at
least ``idle_time`` earlier. Hosts are switched through the engine's ``switch_on`` (which
boots them for ``provisioning_delay``) and ``switch_off``; when a host comes up the
deployments reconcile at once, so pending replicas are placed without waiting for the next
scan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsim.model import guests as gs
from vsim.model.hosts import HOST_BOOTING, HOST_OFF, HOST_ON

RESOURCES = ("cpu", "memory", "disk", "net")


class ClusterScaler:
    """The cluster autoscaler of a run, owned by the deployments controller."""

    def __init__(self, owner: Any, cfg: Any):
        self.owner, self.cfg = owner, cfg
        e, sc = owner.engine, owner.engine.scenario
        first = 0
        for h in sc.datacenter.host_types:
            if h.name == cfg.host_type:
                break
            first += h.count
        count = next(h.count for h in sc.datacenter.host_types if h.name == cfg.host_type)
        self.hosts = list(range(first, first + count))
        self.mine = set(self.hosts)
        self.empty_since: dict[int, float] = {}
        self.added = self.removed = 0
        self.on_max = cfg.start_on()
        self.on_since: dict[int, float] = {}
        self.host_seconds = 0.0
        for h in self.hosts[cfg.start_on() :]:
            e.switch_off(h)
        for h in self.hosts[: cfg.start_on()]:
            self.on_since[h] = 0.0
        e.signals.host_state.connect(self._host_state)
        e.env.process(self._loop())

    # ---------------------------------------------------------------- loops
    def _loop(self):
        e, dt = self.owner.engine, self.cfg.scan_interval
        env, k = e.env, 1
        while k * dt < e.scenario.duration:
            yield env.timeout(k * dt - env.now)
            self.owner.fire(self.scan)
            k += 1

    def _host_state(self, h: int, state: int) -> None:
        if h not in self.mine:
            return
        if h not in self.on_since and state in (HOST_BOOTING, HOST_ON):
            self.on_since[h] = self.owner.engine.now
        elif h in self.on_since and state not in (HOST_BOOTING, HOST_ON):
            self.host_seconds += self.owner.engine.now - self.on_since.pop(h)
        if state == HOST_ON:
            # Place pending replicas now, after the engine's own handling of this instant.
            ev = self.owner.engine.env.timeout(0)
            ev.callbacks.append(lambda _e: self.owner.fire(lambda: None))

    def scan(self) -> None:
        """One pass of both loops."""
        self._scale_up()
        self._scale_down()
        self.on_max = max(self.on_max, len(self.on_since))

    # ---------------------------------------------------------------- scale up
    def _scale_up(self) -> None:
        e = self.owner.engine
        pending = [(d, g) for d in self.owner.deps for g in d.pending()]
        if not pending:
            return
        state = e.hosts.state
        # Hosts coming up, and empty hosts already up (a host that came up this instant
        # takes its replicas once this scan is done), count against the need.
        coming = sum(
            1
            for h in self.hosts
            if state[h] == HOST_BOOTING or (state[h] == HOST_ON and not self._holds(h))
        )
        off = [h for h in self.hosts if state[h] == HOST_OFF]
        need = self.hosts_needed(pending) - coming
        add = off[: max(need, 0)]
        for h in add:
            e.switch_on(h, self.cfg.provisioning_delay)
        if add:
            self.added += len(add)
            e.events.add(
                e.now,
                "cluster_scale_up",
                self.cfg.host_type,
                f"+{len(add)} hosts for {len(pending)} pending replicas",
            )

    def hosts_needed(self, pending: list[tuple[Any, int]]) -> int:
        """Empty hosts of the type the pending replicas would fill, packed first-fit in
        decreasing CPU order (one replica of a deployment per host under ``spread: host``);
        replicas too big for an empty host of the type are left out."""
        e = self.owner.engine
        idx = np.array([g for _, g in pending], dtype=np.int64)
        req = e.guests.placement_request(idx)
        cap = {r: float(e.placement_capacity(r)[self.hosts[0]]) for r in RESOURCES}
        bins: list[tuple[dict[str, float], set[str]]] = []
        order = sorted(range(len(idx)), key=lambda j: (-float(req["cpu"][j]), int(idx[j])))
        for j in order:
            want = {r: float(req[r][j]) for r in RESOURCES}
            if any(want[r] > cap[r] for r in RESOURCES):
                continue
            d = pending[j][0]
            spread = d.spec.name if d.spec.spread == "host" else None
            for used, names in bins:
                fits = all(used[r] + want[r] <= cap[r] + 1e-9 for r in RESOURCES)
                if fits and (spread is None or spread not in names):
                    break
            else:
                used, names = dict.fromkeys(RESOURCES, 0.0), set()
                bins.append((used, names))
            for r in RESOURCES:
                used[r] += want[r]
            names.add(spread)
        return len(bins)

    # ---------------------------------------------------------------- scale down
    def _scale_down(self) -> None:
        e, cfg = self.owner.engine, self.cfg
        now = e.now
        on = [h for h in self.hosts if e.hosts.state[h] == HOST_ON]
        removed = []
        for h in on:
            if self._holds(h):
                self.empty_since.pop(h, None)
                continue
            since = self.empty_since.setdefault(h, now)
            if now - since >= cfg.idle_time and len(on) - len(removed) > cfg.min_hosts:
                if e.switch_off(h):
                    removed.append(h)
                    del self.empty_since[h]
        if removed:
            self.removed += len(removed)
            e.events.add(now, "cluster_scale_down", cfg.host_type, f"-{len(removed)} idle hosts")

    def _holds(self, h: int) -> bool:
        """Whether any guest holds host ``h``."""
        g = self.owner.engine.guests
        return bool(gs.HOLDS_HOST[g.state[g.on_host(h)]].any())

    def summary(self) -> dict:
        now = self.owner.engine.now
        seconds = self.host_seconds + sum(now - t for t in self.on_since.values())
        return {
            "cluster_hosts_added": self.added,
            "cluster_hosts_removed": self.removed,
            "cluster_hosts_max": self.on_max,
            "cluster_host_seconds": seconds,
            "cluster_host_cost": seconds / 3600 * self.cfg.host_hour_price,
        }
