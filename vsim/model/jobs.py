"""Batch jobs: fixed work in phases (CPU, then disk, then network), progressing at the rate the
solve gives their guest, possibly repeated.

A phase's end is scheduled from the work left and the current rate; a completion carries the
version of its job's rate, and a stale one (the rate changed since) is ignored when it fires
(SimPy cannot cancel a timeout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import simpy

from vsim.model import guests as gs
from vsim.model.rates import CPU, DONE
from vsim.model.workloads import BatchDemand


class JobEngine(Protocol):
    """What batch jobs use of the engine (typed here so that this module need not import it)."""

    env: simpy.Environment
    guests: Any
    events: Any
    resolve: Any

    @property
    def now(self) -> float: ...

    def settle(self) -> None: ...

    def count_event(self, n: int = 1) -> None: ...

    def stop(self, idx: np.ndarray) -> None: ...

    def set_shares(self, i: int, shares: float) -> None: ...


class Jobs:
    """The batch-job state of every guest (index -1 in :attr:`of`: not a batch job)."""

    def __init__(self, engine: JobEngine, demands: Sequence[BatchDemand], n: int):
        self.engine = engine
        self.demands = list(demands)
        self.any = bool(self.demands)
        self.of = np.full(n, -1, dtype=np.int64)  # each guest's job, or -1
        for j, b in enumerate(self.demands):
            self.of[b.guests] = j
        # Per job: whether its executions run as one phase (see enter_phase), its repeats.
        self.one_phase = [b.only_phase >= 0 for b in self.demands]
        self.phase = np.full(n, CPU, dtype=np.int8)
        self.remaining = np.zeros(n)  # work left in the phase, as of ``t``
        self.t = np.zeros(n)  # when ``remaining`` was last brought up to date
        self.rate = np.zeros(n)
        self.version = np.zeros(n, dtype=np.int64)
        self.started = np.full(n, np.nan)
        self.finished = np.full(n, np.nan)
        self.round = np.zeros(n, dtype=np.int64)  # execution under way, of the job's repeats
        self.replan = np.zeros(n, dtype=bool)  # its end must be rescheduled
        # Executions that ended, those run back to back as one phase included (they end
        # together in one event, which ``events`` counts once).
        self.executions = 0

    # ------------------------------------------------------------------ rates
    def reschedule(self, gi: np.ndarray, phase_rate: np.ndarray) -> None:
        """New progress rates for the jobs among guests ``gi``: bring the work left up to now
        at the old rate, and schedule the end of each phase whose rate changed."""
        state = self.engine.guests.state[gi]
        job_running = (self.of[gi] >= 0) & (state == gs.RUNNING) & (self.phase[gi] < DONE)
        rate = np.where(job_running, phase_rate, 0.0)
        old = self.rate[gi]
        changed = (rate != old) | self.replan[gi]
        if not changed.any():
            return
        idx = gi[changed]
        now = self.engine.env.now
        self.remaining[idx] -= old[changed] * (now - self.t[idx])
        self.t[idx] = now
        self.replan[idx] = False
        self.rate[idx] = rate[changed]
        self.version[idx] += 1
        for i, r in zip(idx.tolist(), rate[changed].tolist(), strict=True):
            if r > 0:
                self.schedule_end(i, r)

    def replan_one(self, i: int, rate: float) -> float | None:
        """:meth:`reschedule` for one job, in scalar arithmetic (the one-host solve), without
        scheduling its end: returns the time left until it (None at rate 0)."""
        now = self.engine.env.now
        remaining = float(self.remaining[i]) - float(self.rate[i]) * (now - self.t[i])
        self.remaining[i] = remaining
        self.t[i] = now
        self.replan[i] = False
        self.rate[i] = rate
        self.version[i] += 1
        return max(remaining, 0.0) / rate if rate > 0 else None

    def schedule_end(self, i: int, rate: float, delay: float | None = None) -> None:
        """The end of job ``i``'s phase at ``rate`` (``delay`` from now, if known)."""
        if delay is None:
            # (a Python float: simulated time stays one, which SimPy's heap compares faster)
            delay = max(float(self.remaining[i]), 0.0) / rate
        done = self.engine.env.timeout(delay, (i, int(self.version[i])))
        done.callbacks.append(self._phase_done)

    # ------------------------------------------------------------------ progress
    def start(self, i: int) -> None:
        """Guest ``i`` runs for the first time: its job starts."""
        if np.isnan(self.started[i]):
            self.started[i] = self.engine.env.now
            self.enter_phase(i, CPU)

    def _phase_done(self, event: simpy.Event) -> None:
        i, version = event.value
        if self.version[i] != version:
            return  # rates changed since this completion was computed
        e = self.engine
        j = self.of[i]
        merged = 0
        if self.one_phase[j]:
            # Its remaining executions all ended in this phase.
            last = self.demands[j].repeat - 1
            merged = last - int(self.round[i])
            self.round[i] = last
            self.executions += merged
        e.settle()
        e.count_event()  # one event, however many executions it ended (see executions)
        before = int(self.phase[i])
        self.enter_phase(i, before + 1)
        e.resolve.job_phase_changed(i, before, int(self.phase[i]))

    def enter_phase(self, i: int, phase: int) -> None:
        """Move job ``i`` to ``phase``, skipping phases with no work."""
        b = self.demands[self.of[i]]
        work = b.work
        while phase < DONE and work[phase] <= 0:
            phase += 1
        if phase == DONE and self.round[i] + 1 < b.repeat:
            self.executions += 1
            self.round[i] += 1  # the next of its repeated executions starts at once
            self.enter_phase(i, CPU)
            return
        self.phase[i] = phase
        self.remaining[i] = work[phase] if phase < DONE else 0.0
        if phase < DONE and b.execution_shares:
            # This execution's own weight (the caller re-solves, as for any new phase).
            weights = b.execution_shares
            self.engine.set_shares(i, weights[int(self.round[i]) % len(weights)])
        if phase < DONE and self.one_phase[self.of[i]]:
            # A job with work in one phase only runs its remaining executions back to back in
            # that phase at the same rate, so they are one phase of all their work: the
            # same ends, without an event (and a reschedule) between two executions.
            self.remaining[i] *= b.repeat - self.round[i]
        self.t[i] = self.engine.env.now
        self.replan[i] = True  # new work: its end must be scheduled even at an equal rate
        if phase == DONE:
            self._done(i, b)

    def _done(self, i: int, b: BatchDemand) -> None:
        e = self.engine
        now = e.now
        self.executions += 1
        self.finished[i] = now
        e.events.add(now, "job_done", e.guests.names[i], f"{now - self.started[i]:.6g} s")
        if b.stop_when_done:
            e.stop(np.array([i]))
