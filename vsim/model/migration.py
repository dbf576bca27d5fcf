"""Live migration of guests between hosts, over the shared network fabric.

A migration is a flow from the source host to the destination across the fabric's links; it
shares them by max-min fairness with guest traffic and other migrations, so its rounds take as
long as contention makes them. The destination reserves the guest's placement and memory for
the whole migration; migration threads cost CPU on both ends; the guest runs degraded while it is
pre-copied, is paused during stop-and-copy (its downtime), and under post-copy runs on the
destination slowed by remote page faults until all its memory has arrived.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vsim.model import guests as gs

if TYPE_CHECKING:
    from vsim.model.engine import Engine
    from vsim.scenario.network import Migration

LIVE, STOP, PULL = "live", "stop_and_copy", "post_copy_pull"
_PHASE_CODE = {LIVE: 0, STOP: 1, PULL: 2}


@dataclass(eq=False)
class LiveMigration:
    guest: int
    src: int
    dst: int
    algorithm: str
    started: float
    dirty_rate: float  # bytes/s, or NaN: the guest dirties per unit of work (dirty_per_mi)
    wws: float
    memory: float
    dirty_per_mi: float = math.nan  # bytes per MI of useful work, or NaN: the constant rate
    round_work: float = 0.0  # MI of useful work the guest had run when this round began
    phase: str = LIVE
    remaining: float = 0.0  # bytes left in the current transfer
    round_bytes: list[float] = field(default_factory=list)
    round_started: float = 0.0
    sent: float = 0.0
    rate: float = 0.0
    version: int = 0
    paused_at: float = math.nan
    converged: bool = True
    switched: bool = False  # the guest already runs on the destination (post-copy)
    replan: bool = True  # a new transfer began: its end must be scheduled
    downtime: float = 0.0
    was_running: bool = True
    footprint: float = 0.0  # memory held on the end the guest is not running on
    via: int = -1  # a host the move is also recorded to (CloudSim's doubled move), else -1
    startup: float = 0.0  # each transfer waits this long before its bytes move (the protocol's)
    flowing_from: float = 0.0  # when the current transfer's bytes start to move


@dataclass(frozen=True, eq=False)
class MigrationArrays:
    """The running migrations as arrays, one entry each in start order: what one solve reads
    of them, gathered in a single pass."""

    guest: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    via: np.ndarray
    switched: np.ndarray
    phase: np.ndarray  # _PHASE_CODE of each (pre-copy, stop-and-copy, post-copy pull)
    footprint: np.ndarray

    @property
    def n(self) -> int:
        return len(self.guest)

    @functools.cached_property
    def incoming(self) -> tuple[np.ndarray, np.ndarray]:
        """(host, guest) of each move whose guest has not switched over yet: to its destination
        and, for a doubled move, to its intermediate host too (in start order)."""
        coming = ~self.switched
        to = np.stack([self.dst[coming], self.via[coming]], axis=1).reshape(-1)
        guest = np.repeat(self.guest[coming], 2)
        keep = to >= 0
        return to[keep], guest[keep]


class Migrator:
    """Starts migrations, carries them round by round, and records how each went.

    The engine's transfers (:class:`vsim.model.contract.Transfers`): the full solve reads the
    running migrations and gives them their rates. A migration that ends fires the engine's
    ``migration_finished`` signal; one whose guest goes down or stops is cancelled.
    """

    name = "migration"

    def __init__(self, sim: Engine):
        self.sim = sim
        self.cfg = sim.scenario.migration
        # Running migrations in start order (a dict for removal in constant time).
        self.active: dict[LiveMigration, None] = {}
        self._by_guest: dict[int, LiveMigration] = {}
        self._host_use: dict[int, int] = {}  # running migrations per source/destination host
        self.t = 0.0  # when the transfers' byte counts were last brought up to date
        # Whether the other end holds the guest's memory during a move (CloudSim's migrating-in
        # VMs ask for their current RAM, which is 0 for its PlanetLab VMs).
        self.reserve_memory = True
        self.dirty_rate_override: float | None = None  # set by use_settings
        self.rows: list[tuple] = []
        sc = sim.scenario
        dirty = np.zeros(sim.guests.n)
        per_mi = np.full(sim.guests.n, np.nan)  # NaN: the guest dirties at its constant rate
        wws = np.full(sim.guests.n, np.inf)
        for k, grp in enumerate(sc.guests):
            wl = sc.workloads.get(grp.workload or "")
            idx = sim.guests.group == k
            dirty[idx] = getattr(wl, "dirty_rate", 0.0) or 0.0
            p = getattr(wl, "dirty_per_mi", None)
            per_mi[idx] = np.nan if p is None else p
            w = getattr(wl, "wws", None)
            wws[idx] = np.inf if w is None else w
        self.dirty, self.dirty_per_mi, self.wws = dirty, per_mi, wws
        sim.use_transfers(self)

    def use_settings(self, cfg: Migration, *, dirty_rate: float, reserve_memory: bool) -> None:
        """Migrate by ``cfg`` from now on, every guest dirtying ``dirty_rate`` bytes/s, the
        destination holding the guest's memory during a move or not (a profile's rules)."""
        self.cfg = cfg
        self.dirty[:] = dirty_rate
        self.dirty_per_mi[:] = np.nan
        self.dirty_rate_override = dirty_rate
        self.reserve_memory = reserve_memory

    def settings(self) -> dict:
        """The migration settings in force (what the manifest records): the section's fields,
        whether the destination holds a moving guest's memory, and the dirty rate every guest
        was given instead of its workload's (None: each workload's own)."""
        return {
            **self.cfg.model_dump(mode="json"),
            "reserve_memory": self.reserve_memory,
            "dirty_rate_override": self.dirty_rate_override,
        }

    def summary(self) -> dict:
        """Migration counts and mean times of the run, read from the rows (the frame, with
        its string columns, is built once, for the results)."""
        start, end, downtime = (
            np.array([r[k] for r in self.rows], dtype=np.float64) for k in (4, 5, 8)
        )
        done = ~np.isnan(end)
        return {
            "migrations": int(done.sum()),
            "migrations_aborted": int((~done).sum()),
            "migration_time_s_mean": _mean(end[done] - start[done]),
            "downtime_s_mean": _mean(downtime[done]),
        }

    def migrating(self, g: int) -> bool:
        return g in self._by_guest

    def touches(self, h: int) -> bool:
        """Whether a running migration leaves from or goes to host ``h``."""
        return self._host_use.get(h, 0) > 0

    def arrays(self) -> MigrationArrays:
        """The running migrations as arrays (see :class:`MigrationArrays`)."""
        rows = [
            (m.guest, m.src, m.dst, m.via, m.switched, _PHASE_CODE[m.phase], m.footprint)
            for m in self.active
        ]
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        ints = [np.array(c, dtype=np.int64) for c in cols[:4]]
        return MigrationArrays(
            *ints,
            switched=np.array(cols[4], dtype=bool),
            phase=np.array(cols[5], dtype=np.int8),
            footprint=np.array(cols[6], dtype=np.float64),
        )

    def receiving(self, a: MigrationArrays) -> np.ndarray:
        """bool[H]: hosts a migration is coming to whose guest has not switched over yet."""
        mask = np.zeros(self.sim.hosts.n, dtype=bool)
        mask[a.incoming[0]] = True
        return mask

    def receives(self, h: int) -> bool:
        """Whether host ``h`` is among :meth:`receiving` (cheap when nothing migrates)."""
        return self.touches(h) and any(not m.switched and h in (m.dst, m.via) for m in self.active)

    def _added(self, m: LiveMigration) -> None:
        self.active[m] = None
        self._by_guest[m.guest] = m
        for h in (m.src, m.dst, m.via):
            if h >= 0:
                self._host_use[h] = self._host_use.get(h, 0) + 1

    def _removed(self, m: LiveMigration) -> None:
        del self.active[m]
        del self._by_guest[m.guest]
        for h in (m.src, m.dst, m.via):
            if h >= 0:
                self._host_use[h] -= 1

    # ------------------------------------------------------------------ starting
    def start(self, g: int, dst: int, via: int = -1) -> bool:
        """Begin moving guest ``g`` to host ``dst``; False (and an event) if it cannot.

        ``via``: a host CloudSim would also have moved the guest to in the same round, first
        (``profile: cloudsim``): it reserves CPU for the guest and counts as receiving it for
        the whole move, and the move is recorded as two migrations, source to ``via`` and
        ``via`` to ``dst``, ending together.
        """
        sim, gt = self.sim, self.sim.guests
        now = sim.env.now
        self.advance_to(now)
        name = gt.names[g]
        src = int(gt.host[g])
        why = None
        if gt.parent[g] >= 0:
            why = "containers inside a VM move with their VM"
        elif gt.state[g] not in (gs.RUNNING, gs.PAUSED) or src < 0:
            why = f"guest is {gs.STATE_NAMES[gt.state[g]]}"
        elif src == dst:
            why = "already there"
        elif self.migrating(g):
            why = "already migrating"
        elif not sim.has_room(dst, g):
            why = f"{sim.hosts.names[dst]} has no room"
        else:
            why = sim.isolation_refuses(dst, g)
        if why:
            sim.events.add(now, "migration_refused", name, why)
            return False
        sim.hold(dst, g)
        m = LiveMigration(
            g,
            src,
            dst,
            self.cfg.algorithm,
            now,
            # (Python floats: the transfer times derived from them become simulated time)
            float(self.dirty[g]),
            float(self.wws[g]),
            float(gt.memory[g]),
            round_started=now,
            footprint=float(gt.memory[g]) if self.reserve_memory else 0.0,
            via=via,
            startup=sim.transfer_startup(src, dst),
            dirty_per_mi=float(self.dirty_per_mi[g]),
            round_work=sim.useful_work(g),
        )
        sim.events.add(
            now,
            "migration_start",
            name,
            f"{sim.hosts.names[src]} -> {sim.hosts.names[dst]} ({m.algorithm})",
        )
        if m.algorithm == "precopy":
            self._begin(m, m.memory)
            m.round_bytes.append(m.memory)
        elif m.algorithm == "postcopy":
            self._pause(m)
            m.phase = STOP
            self._begin(m, self.cfg.device_state)
        else:  # cold: suspended for the whole copy
            self._pause(m)
            m.phase = STOP
            self._begin(m, m.memory + self.cfg.device_state)
        self._added(m)
        return True

    def _begin(self, m: LiveMigration, nbytes: float) -> None:
        """A new transfer of ``nbytes``: its bytes move once the protocol's startup is over."""
        m.remaining = nbytes
        m.flowing_from = self.sim.env.now + m.startup

    # ------------------------------------------------------------------ what the engine needs
    def advance_to(self, now: float) -> None:
        """Bring every transfer's bytes up to ``now`` at its current rate (a transfer still in
        its startup moves nothing until it is over)."""
        dt = now - self.t
        if dt > 0:
            for m in self.active:
                span = dt if m.flowing_from <= self.t else now - m.flowing_from
                if span > 0:
                    moved = m.rate * span
                    m.remaining -= moved
                    m.sent += moved
        self.t = now

    def paused_guests(self, a: MigrationArrays) -> np.ndarray:
        """Guests paused by their migration (stop-and-copy, or the whole of a cold one)."""
        g = a.guest[a.phase == _PHASE_CODE[STOP]]
        return g[self.sim.guests.state[g] == gs.PAUSED]

    def demand(self) -> float:
        return self.cfg.bandwidth_cap or math.inf

    @staticmethod
    def extra_memory(a: MigrationArrays) -> tuple[np.ndarray, np.ndarray]:
        """Hosts holding a migrating guest's memory besides its current host, and how much."""
        return np.where(a.switched, a.src, a.dst), a.footprint

    def cpu_consumers(self, a: MigrationArrays) -> tuple[np.ndarray, np.ndarray]:
        """Migration threads on both ends: (host, MIPS wanted)."""
        if self.cfg.cpu_cost_cores > 0:
            ends = np.stack([a.src, a.dst], axis=1).reshape(-1)
            mips = self.cfg.cpu_cost_cores * self.sim.hosts.core_mips[ends]
        else:  # (threads that cost nothing take nothing from anyone)
            ends, mips = np.zeros(0, dtype=np.int64), np.zeros(0)
        reserve = getattr(self.cfg, "dest_cpu_reserve", 0.0)
        if reserve > 0:
            # The destination (and a doubled move's intermediate host) also reserves a share of
            # the VM's requested MIPS (still on the source until the switch-over).
            to, guest = a.incoming
            gt = self.sim.guests
            want = self.sim.want["cpu"][guest] * gt.vcpus[guest] * gt.vcpu_mips[guest]
            ends = np.concatenate([ends, to])
            mips = np.concatenate([mips, reserve * want])
        return ends, mips

    def slowdown(self, a: MigrationArrays) -> tuple[np.ndarray, np.ndarray]:
        """Guests slowed by their migration and the share of useful work they lose."""
        slowed = a.phase != _PHASE_CODE[STOP]
        loss = np.where(
            a.phase[slowed] == _PHASE_CODE[LIVE], self.cfg.degradation, self.cfg.postcopy_slowdown
        )
        return a.guest[slowed], loss.astype(np.float64)

    def routes(self, a: MigrationArrays) -> tuple[np.ndarray, np.ndarray]:
        return self.sim.fabric.routes(a.src, a.dst)

    def set_rates(self, rates: np.ndarray) -> None:
        """New flow rates after a reshare: re-plan the end of each transfer whose rate changed."""
        env = self.sim.env
        self.advance_to(env.now)
        # Transfers that end together share one event (a round's migrations of one size do).
        ends: dict[float, list[tuple[LiveMigration, int]]] = {}
        for m, rate in zip(self.active, rates.tolist(), strict=True):
            if rate == m.rate and not m.replan:
                continue
            m.rate = rate
            m.replan = False
            m.version += 1
            if rate > 0:
                delay = max(m.remaining, 0.0) / rate
                wait = m.flowing_from - env.now  # (the rest of the transfer's startup)
                if wait > 0:
                    delay += wait
                ends.setdefault(delay, []).append((m, m.version))
        for delay, batch in ends.items():
            env.timeout(delay).callbacks.append(lambda _e, b=batch: self._transfers_done(b))

    def _transfers_done(self, batch: list[tuple[LiveMigration, int]]) -> None:
        for m, version in batch:
            self._transfer_done(m, version)

    # ------------------------------------------------------------------ progress
    def _transfer_done(self, m: LiveMigration, version: int) -> None:
        if version != m.version or m not in self.active:
            return
        sim = self.sim
        sim.settle()
        sim.count_event()
        m.remaining = 0.0
        m.replan = True
        if m.phase == LIVE:
            self._round_done(m)
        elif m.phase == STOP:
            if m.algorithm == "postcopy":
                self._switch(m)
                m.phase = PULL
                self._begin(m, m.memory)
            else:
                self._switch(m)
                self._finish(m)
        else:  # post-copy pull complete
            self._finish(m)
        sim.resolve.later()

    def _round_done(self, m: LiveMigration) -> None:
        """Pre-copy: send what was dirtied during this round, or stop and copy the rest."""
        cfg, now = self.cfg, self.sim.env.now
        remainder = min(self._dirtied(m, now), m.wws, m.memory)
        rate = m.rate
        stop = False
        if rate > 0 and remainder / rate <= cfg.max_downtime:
            stop = True
        elif cfg.min_shrink is not None and remainder >= (1.0 - cfg.min_shrink) * m.round_bytes[-1]:
            stop, m.converged = True, False
        elif len(m.round_bytes) >= cfg.max_rounds:
            stop, m.converged = True, remainder / rate <= cfg.max_downtime if rate > 0 else False
        if not stop:
            m.round_bytes.append(remainder)
            m.round_started = now
            m.round_work = self.sim.useful_work(m.guest)
            self._begin(m, remainder)
            return
        if not m.converged and cfg.on_no_convergence == "abort":
            self._abort(m, "did not converge")
            return
        if remainder + cfg.device_state <= 0:
            # Nothing left to copy: the guest switches over at once, with no downtime.
            m.paused_at = now
            self._switch(m)
            self._finish(m)
            return
        self._pause(m)
        m.phase = STOP
        self._begin(m, remainder + cfg.device_state)

    def _dirtied(self, m: LiveMigration, now: float) -> float:
        """Bytes the guest dirtied since its round began: its constant rate times the round's
        length, or its bytes per MI times the useful work it did meanwhile (which falls when
        it is throttled or slowed by the migration, and is nothing while it idles or pauses)."""
        if math.isnan(m.dirty_per_mi):
            return m.dirty_rate * (now - m.round_started)
        return m.dirty_per_mi * max(self.sim.useful_work(m.guest) - m.round_work, 0.0)

    def _pause(self, m: LiveMigration) -> None:
        m.paused_at = self.sim.env.now
        m.was_running = self.sim.suspend_for_move(m.guest)

    def _switch(self, m: LiveMigration) -> None:
        """The guest now runs on the destination; the source keeps its memory only under
        post-copy, until the last page is pulled."""
        sim = self.sim
        sim.unhold(m.src, m.guest)
        sim.move(m.guest, m.dst, resume=m.was_running)
        m.switched = True
        m.downtime = sim.env.now - m.paused_at

    def _finish(self, m: LiveMigration) -> None:
        sim = self.sim
        now = sim.env.now
        self._removed(m)
        rounds = len(m.round_bytes)
        sim.events.add(
            now,
            "migration_done",
            sim.guests.names[m.guest],
            f"{now - m.started:.6g} s, downtime {m.downtime:.6g} s",
        )
        legs = [(m.src, m.via), (m.via, m.dst)] if m.via >= 0 else [(m.src, m.dst)]
        for a, b in legs:
            self.rows.append(
                (
                    str(sim.guests.names[m.guest]),
                    str(sim.hosts.names[a]),
                    str(sim.hosts.names[b]),
                    m.algorithm,
                    m.started,
                    now,
                    rounds,
                    m.sent,
                    m.downtime,
                    m.converged,
                )
            )
        sim.signals.migration_finished.emit(m)

    def _abort(self, m: LiveMigration, why: str) -> None:
        sim = self.sim
        self._removed(m)
        sim.unhold(m.dst, m.guest)
        sim.events.add(sim.env.now, "migration_aborted", sim.guests.names[m.guest], why)
        self.rows.append(
            (
                str(sim.guests.names[m.guest]),
                str(sim.hosts.names[m.src]),
                str(sim.hosts.names[m.dst]),
                m.algorithm,
                m.started,
                math.nan,
                len(m.round_bytes),
                m.sent,
                0.0,
                False,
            )
        )

    def cancel_for(self, g: int) -> None:
        """The guest went down or stopped mid-migration: drop the migration and its reservation."""
        for m in [m for m in [self._by_guest.get(g)] if m is not None]:
            if not m.switched:
                self._abort(m, "guest went down")
            else:
                self._removed(m)

    def frame(self) -> pd.DataFrame:
        cols = [
            "guest",
            "src",
            "dst",
            "algorithm",
            "start_s",
            "end_s",
            "rounds",
            "bytes_sent",
            "downtime_s",
            "converged",
        ]
        return pd.DataFrame(self.rows, columns=cols)


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN (NaN when there is none), as pandas takes it."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else np.nan
