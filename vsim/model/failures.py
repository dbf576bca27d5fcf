"""Failures, detection, HA restarts and protection, as SimPy processes driving the engine.

A controller (:mod:`vsim.model.contract`): everything here acts through the engine's commands
(``fail_host``, ``repair_host``, ``crash_guest``, ``restart``, ``add_demand``,
``add_cpu_overhead``, ``hold_back_capacity``, ``placement_limits``); the rules are in
``docs/failures.md``. In short:

- **Failures.** Each host of a ``failures.hosts`` entry alternates up and down: time to failure
  drawn from its distribution, then repair time; a domain does the same and takes all its hosts
  down together; scheduled and trace failures happen at given times. A host is down while at
  least one cause holds it down and is repaired (empty) when the last cause clears.
- **Randomness.** Each host, domain and guest has its own generator, spawned from the scenario
  seed as the sub-stream ``(kind, index)`` of the ``failures`` stream, so failure times do not
  depend on what HA does and the other streams are unchanged.
- **Detection.** Heartbeats are due at ``k * I`` (``I`` = ``heartbeat_interval``). A beat is
  missed when the host is down at its due time. The failure is detected at the ``m``-th
  consecutive missed beat (``m`` = ``missed_beats``): at ``(ceil(t_f / I) + m - 1) * I``; if
  the host is repaired earlier, at its first beat after the repair (the host reports it came
  back empty). Guest crashes are detected the same way, from the guest's own heartbeats.
- **HA.** Detected guests wait for a restart; the controller restarts them by priority (higher
  first; containers follow their VM), each paying its boot time, and retries the ones that found
  no host whenever a host is repaired. Without HA, a host's guests restart on it when it is
  repaired (autostart) and crashed guests stay down.
- **Admission control** holds a fraction of every host's CPU and memory out of normal placement;
  restarts after failures may use it.
- **Protection.** ``restart``: nothing lost. ``backup``: periodic backup jobs add disk and
  network demand; a host failure restores the last completed backup. ``replication``: extra CPU
  and network all the time; a host failure fails over to the standby in ``failover_time``,
  without waiting for HA detection.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vsim.metrics.availability import availability_summary, guest_availability
from vsim.model import guests as gs
from vsim.scenario import ScenarioError
from vsim.scenario.failures import (
    BackupProtection,
    ExponentialRepair,
    ExponentialTTF,
    FixedRepair,
    LognormalRepair,
    ReplicationProtection,
    WeibullTTF,
)

if TYPE_CHECKING:
    from vsim.model.engine import Engine

_HOST, _DOMAIN, _GUEST = 0, 1, 2  # sub-streams of the failures stream, by kind


def draw_ttf(dist: ExponentialTTF | WeibullTTF, rng: np.random.Generator) -> float:
    if isinstance(dist, ExponentialTTF):
        return float(rng.exponential(dist.mtbf))
    return float(dist.scale * rng.weibull(dist.shape))


def draw_repair(
    dist: ExponentialRepair | LognormalRepair | FixedRepair, rng: np.random.Generator
) -> float:
    if isinstance(dist, ExponentialRepair):
        return float(rng.exponential(dist.mttr))
    if isinstance(dist, LognormalRepair):
        return float(rng.lognormal(dist.mu, dist.sigma))
    return float(dist.mttr)


def first_missed_beat(t_fail: float, interval: float) -> int:
    """Index k of the first heartbeat (due at ``k * interval``) at or after ``t_fail``."""
    k = math.ceil(t_fail / interval)
    if (k - 1) * interval >= t_fail:  # guard against rounding in t_fail / interval
        k -= 1
    return k


def detection_time(t_fail: float, interval: float, missed: int) -> float:
    """When ``missed`` consecutive beats have been missed after a failure at ``t_fail`` (the host
    staying down): ``(ceil(t_fail / interval) + missed - 1) * interval``."""
    return (first_missed_beat(t_fail, interval) + missed - 1) * interval


class FailureModel:
    """The processes and bookkeeping of one run's failures, HA and protection: a controller
    whose summary gives the run's availability columns."""

    name = "failures"

    def __init__(self, sim: Engine):
        self.sim = sim
        sc = sim.scenario
        self.spec = spec = sc.failures
        try:
            spec.check(sc)
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
        self.env = sim.env
        g, h = sim.guests, sim.hosts
        self.seed = sc.seed
        self.host_index = {str(n): i for i, n in enumerate(h.names)}
        self.causes = np.zeros(h.n, dtype=np.int64)  # failures currently holding each host down
        self.n_host_failures = 0
        group_names = [gr.name for gr in sc.guests]
        # Protection and priority go by the group of a guest's VM (containers follow their VM).
        vm_of = np.where(g.parent >= 0, g.parent, np.arange(g.n))
        self.vm_group = g.group[vm_of]
        self.mode = np.array(
            [
                spec.protection[group_names[k]] if group_names[k] in spec.protection else None
                for k in self.vm_group
            ],
            dtype=object,
        )
        self.priority = np.array(
            [spec.ha.priority.get(group_names[k], 0) for k in self.vm_group], dtype=np.int64
        )
        self.waiting: set[int] = set()  # detected, down, waiting for the HA controller
        self.autostart: dict[int, set[int]] = defaultdict(set)  # without HA: per host
        self.backup_token = np.zeros(g.n, dtype=np.int64)
        self.backing_up = np.zeros(g.n, dtype=bool)
        self._setup_replication()
        self._setup_reserve()
        self._start_processes()

    # ------------------------------------------------------------------ setup
    def _rng(self, kind: int, index: int) -> np.random.Generator:
        return self.sim.streams.generator("failures", kind, index)

    def summary(self) -> dict[str, float]:
        """Availability columns of the run summary."""
        sim = self.sim
        per_guest, outages = guest_availability(
            sim.events.frame(), float(sim.scenario.duration), self.backup_guests()
        )
        out = availability_summary(per_guest, outages)
        out["host_failures"] = self.n_host_failures
        out["reserve_capacity_frac"] = self.reserve_frac
        return out

    def backup_guests(self) -> set[str]:
        names = self.sim.guests.names
        return {
            str(names[i]) for i in range(len(names)) if isinstance(self.mode[i], BackupProtection)
        }

    def _setup_replication(self) -> None:
        g = self.sim.guests
        for i in range(g.n):
            m = self.mode[i]
            if isinstance(m, ReplicationProtection) and g.parent[i] < 0:
                # Checkpoint pauses and dirty-page copies: more CPU per unit of useful work.
                self.sim.add_cpu_overhead(i, m.cpu_overhead)
                self.sim.add_demand("net", i, m.net_bandwidth)

    def _setup_reserve(self) -> None:
        """Admission control: hold a fraction of every host's CPU and memory for failover."""
        ac = self.spec.ha.admission_control
        self.reserve = dict.fromkeys(("cpu", "memory"), 0.0)
        if ac is not None:
            for r in self.reserve:
                cap = self.sim.placement_capacity(r)
                if ac.percentage is not None:
                    frac = ac.percentage
                else:
                    n = min(ac.host_failures, len(cap))
                    frac = float(np.sort(cap)[len(cap) - n :].sum() / cap.sum()) if n else 0.0
                self.reserve[r] = frac
                self.sim.hold_back_capacity(r, frac)
        self.reserve_frac = max(self.reserve.values())

    def _restart(
        self, idx: np.ndarray, boot_s: float | None = None, pin: int | None = None
    ) -> np.ndarray:
        """``engine.restart`` with the failover reserve open."""
        sim = self.sim
        opened = {}
        for r, f in self.reserve.items():
            if f > 0:
                opened[r] = sim.placement_capacity(r) / (1.0 - f) if f < 1 else np.inf
        with sim.placement_limits(opened):
            return sim.restart(idx, boot_s=boot_s, pin=pin)

    def _start_processes(self) -> None:
        env, spec, sc = self.env, self.spec, self.sim.scenario
        names = self.sim.hosts.names
        types = self.sim.hosts.type_name
        for hf in spec.hosts:
            chosen = set(hf.host_types) if hf.host_types is not None else None
            for h in range(len(names)):
                if chosen is None or types[h] in chosen:
                    env.process(self._host_cycle(h, hf))
        domain_hosts = {d.name: [self.host_index[n] for n in d.hosts] for d in spec.domains}
        for k, d in enumerate(spec.domains):
            if d.time_to_failure is not None:
                env.process(self._domain_cycle(k, d, domain_hosts[d.name]))
        for s in spec.scheduled:
            if s.host is not None:
                hosts, label, detail = [self.host_index[s.host]], None, "scheduled"
            else:
                hosts, label, detail = domain_hosts[s.domain], s.domain, f"domain {s.domain}"
            env.process(self._outage(hosts, s.at, s.repair_after, detail, label))
        if spec.trace is not None:
            for host, at, repair_after in self._read_trace(spec.trace):
                env.process(self._outage([host], at, repair_after, "trace", None))
        g = self.sim.guests
        group_names = [gr.name for gr in sc.guests]
        for i in range(g.n):
            mtbf = spec.guest_crashes.get(group_names[g.group[i]])
            if mtbf is not None:
                env.process(self._crash_cycle(i, mtbf))
        for k, gr in enumerate(sc.guests):
            m = spec.protection.get(gr.name)
            if isinstance(m, BackupProtection):
                env.process(self._backups(np.flatnonzero(g.group == k), m))
        self._schedule_stops()

    def _read_trace(self, path: str) -> list[tuple[int, float, float | None]]:
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"failures.trace: cannot read {path}: {exc}") from None
        missing = {"host", "fail_time", "repair_time"} - set(frame.columns)
        if missing:
            raise ScenarioError(
                f"failures.trace: {path} lacks columns {sorted(missing)}; "
                "it needs host, fail_time, repair_time (seconds; repair_time empty: never)"
            )
        rows = []
        for k, (host, fail, repair) in enumerate(
            frame[["host", "fail_time", "repair_time"]].itertuples(index=False)
        ):
            where = f"failures.trace: {path} row {k + 2}"
            if str(host) not in self.host_index:
                raise ScenarioError(f"{where}: host {host!r} does not exist")
            if not (np.isfinite(fail) and fail >= 0):
                raise ScenarioError(f"{where}: fail_time must be a time >= 0, got {fail!r}")
            if pd.notna(repair) and repair < fail:
                raise ScenarioError(f"{where}: repair_time {repair} is before fail_time {fail}")
            rows.append(
                (
                    self.host_index[str(host)],
                    float(fail),
                    None if pd.isna(repair) else float(repair - fail),
                )
            )
        return rows

    def _schedule_stops(self) -> None:
        """Guests whose stop time comes while they are down are stopped then, not restarted."""
        sc, g = self.sim.scenario, self.sim.guests
        index = {str(n): i for i, n in enumerate(g.names)}
        stops: dict[float, list[int]] = defaultdict(list)
        for i in range(g.n):
            t = sc.guests[g.group[i]].stop
            if t is not None:
                stops[float(t)].append(i)
        for e in sc.events:
            if e.action == "stop":
                stops[float(e.at)].append(index[e.guest])
        for t, idx in stops.items():
            if t < sc.duration:
                self.env.process(self._stop_down(t, np.array(idx, dtype=np.int64)))

    def _stop_down(self, t: float, idx: np.ndarray):
        yield self.env.timeout(t)
        down = idx[self.sim.guests.state[idx] == gs.DOWN]
        self.waiting.difference_update(int(i) for i in down)
        self.sim.stop_while_down(down, "while down")

    # ------------------------------------------------------------------ failure processes
    def _host_cycle(self, h: int, hf):
        rng = self._rng(_HOST, h)
        while True:
            yield self.env.timeout(draw_ttf(hf.time_to_failure, rng))
            self._fail([h], "random failure")
            yield self.env.timeout(draw_repair(hf.repair, rng))
            self._clear([h])

    def _domain_cycle(self, k: int, d, hosts: list[int]):
        rng = self._rng(_DOMAIN, k)
        while True:
            yield self.env.timeout(draw_ttf(d.time_to_failure, rng))
            self.sim.events.add(self.env.now, "domain_failed", d.name)
            self._fail(hosts, f"domain {d.name}")
            yield self.env.timeout(draw_repair(d.repair, rng))
            self.sim.events.add(self.env.now, "domain_repaired", d.name)
            self._clear(hosts)

    def _outage(self, hosts: list[int], at: float, repair_after: float | None, detail, label):
        yield self.env.timeout(at)
        if label is not None:
            self.sim.events.add(self.env.now, "domain_failed", label)
        self._fail(hosts, detail)
        if repair_after is None:
            return
        yield self.env.timeout(repair_after)
        if label is not None:
            self.sim.events.add(self.env.now, "domain_repaired", label)
        self._clear(hosts)

    def _crash_cycle(self, i: int, mtbf: float):
        rng = self._rng(_GUEST, i)
        g = self.sim.guests
        while True:
            # Crash opportunities form a Poisson process; only a running guest crashes, so by
            # memorylessness a guest crashes at rate 1/mtbf while it runs.
            yield self.env.timeout(float(rng.exponential(mtbf)))
            if g.state[i] == gs.RUNNING:
                victims = self.sim.crash_guest(i, "guest crash")
                self._abort_backups(victims)
                if self.spec.ha.enabled:
                    self.env.process(self._detect(self.env.now, lambda: False, g.names[i], victims))

    # ------------------------------------------------------------------ failing and repairing
    def _fail(self, hosts: list[int], detail: str) -> None:
        now = self.env.now
        for h in hosts:
            self.causes[h] += 1
            if self.causes[h] > 1:
                continue  # already down for another reason
            self.n_host_failures += 1
            victims = self.sim.fail_host(h, detail)
            self._abort_backups(victims)
            fast = np.array(
                [i for i in victims if isinstance(self.mode[i], ReplicationProtection)],
                dtype=np.int64,
            )
            rest = np.setdiff1d(victims, fast)
            if len(fast):
                self.env.process(self._failover(fast, h))
            if len(rest) == 0:
                continue
            if self.spec.ha.enabled:
                self.env.process(
                    self._detect(
                        now, lambda h=h: self.causes[h] == 0, self.sim.hosts.names[h], rest
                    )
                )
            else:
                self.autostart[h].update(int(i) for i in rest)

    def _clear(self, hosts: list[int]) -> None:
        for h in hosts:
            self.causes[h] -= 1
            if self.causes[h] > 0:
                continue
            self.sim.repair_host(h)
            if self.spec.ha.enabled:
                self._ha_restart()
            else:
                self._autostart(h)

    def _autostart(self, h: int) -> None:
        """Without HA: the repaired host starts the guests it lost (hypervisor autostart)."""
        g = self.sim.guests
        idx = np.array(sorted(self.autostart.pop(h, ())), dtype=np.int64)
        idx = idx[g.state[idx] == gs.DOWN] if len(idx) else idx
        if len(idx) == 0:
            return
        self._restart(idx, pin=h)

    # ------------------------------------------------------------------ detection and HA
    def _detect(self, t_fail: float, back_up, subject: str, victims: np.ndarray):
        """Wait for the detection tick of a failure at ``t_fail`` (see :func:`first_missed_beat`),
        then hand the victims to the HA controller."""
        ha = self.spec.ha
        interval, k = ha.heartbeat_interval, first_missed_beat(t_fail, ha.heartbeat_interval)
        for j in range(ha.missed_beats):
            yield self.env.timeout(max((k + j) * interval - self.env.now, 0.0))
            if back_up():
                break  # a beat arrived from the repaired, empty host: the loss is known now
        delay = self.env.now - t_fail
        self.sim.events.add(self.env.now, "failure_detected", subject, f"{delay:.9g} s")
        self.waiting.update(int(i) for i in victims)
        self._ha_restart()

    def _ha_restart(self) -> None:
        """Restart every waiting guest that is down, by priority, higher first."""
        g = self.sim.guests
        idx = np.array(sorted(self.waiting), dtype=np.int64)
        if len(idx) == 0:
            return
        idx = idx[g.state[idx] == gs.DOWN]
        still: set[int] = set()
        for p in np.unique(self.priority[idx])[::-1]:
            tier = idx[self.priority[idx] == p]
            still.update(int(i) for i in self._restart(tier))
        self.waiting = still

    def _failover(self, idx: np.ndarray, h: int):
        """Replication: the standby takes over ``failover_time`` after the failure."""
        g = self.sim.guests
        delay = max(self.mode[i].failover_time for i in idx)
        yield self.env.timeout(delay)
        idx = idx[g.state[idx] == gs.DOWN]
        for i in idx:
            self.sim.events.add(self.env.now, "failover", g.names[i], "replica takes over")
        still = self._restart(idx, boot_s=0.0)
        if len(still):
            if self.spec.ha.enabled:
                self.waiting.update(int(i) for i in still)
            else:
                self.autostart[h].update(int(i) for i in still)

    # ------------------------------------------------------------------ backups
    def _backups(self, idx: np.ndarray, b: BackupProtection):
        g = self.sim.guests
        t = b.offset
        duration = b.size / b.bandwidth
        while True:
            yield self.env.timeout(t - self.env.now)
            go = idx[(g.state[idx] == gs.RUNNING) & ~self.backing_up[idx]]
            if len(go):
                self._change_backups(go, +b.bandwidth, "backup_started")
                for i in go:
                    ev = self.env.timeout(duration)
                    ev.callbacks.append(self._backup_done(int(i), int(self.backup_token[i]), b))
            t += b.interval

    def _backup_done(self, i: int, token: int, b: BackupProtection):
        def fire(_) -> None:
            if self.backup_token[i] != token or not self.backing_up[i]:
                return  # aborted by a failure meanwhile
            self._change_backups(np.array([i]), -b.bandwidth, "backup_done")

        return fire

    def _change_backups(self, idx: np.ndarray, bandwidth: float, kind: str) -> None:
        sim = self.sim
        sim.settle()
        for i in idx:
            sim.add_demand("disk", int(i), bandwidth)
            sim.add_demand("net", int(i), bandwidth)
            self.backing_up[i] = bandwidth > 0
            sim.events.add(self.env.now, kind, sim.guests.names[i])
        sim.count_event()
        sim.resolve.everything()

    def _abort_backups(self, victims: np.ndarray) -> None:
        victims = np.asarray(victims, dtype=np.int64)
        busy = victims[self.backing_up[victims]] if len(victims) else victims
        if len(busy) == 0:
            return
        for i in busy:
            b = self.mode[i]
            self.backup_token[i] += 1
            self.sim.add_demand("disk", int(i), -b.bandwidth)
            self.sim.add_demand("net", int(i), -b.bandwidth)
            self.backing_up[i] = False
            self.sim.events.add(self.env.now, "backup_aborted", self.sim.guests.names[i])
        self.sim.resolve.everything()
