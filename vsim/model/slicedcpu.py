"""The CPU phase of a service's requests on a time-sliced host: round robin in quanta.

Under ``scheduler.cpu: timeslice`` a guest's requests do not share its vCPUs as a fluid
(processor sharing): each vCPU runs one request at a time for at most one quantum, then
hands the vCPU to the request at the head of the guest's run queue and joins its back, behind
the requests that arrived during the slice (:func:`vsim.core.timeslice.rr_queue` on one CPU).
A request whose slice ends with nobody waiting keeps its vCPU. As the quantum goes to 0 this is
processor sharing; as it grows past every request's work it is first-come-first-served.

A quantum is ``quantum x vcpu_mips`` MI of work: what a vCPU does in one quantum on a core of
its own at its nominal speed. Every request on a vCPU progresses at the same rate, the guest's
useful CPU divided by the requests on its vCPUs (the host's share, as in the fluid mode), so
one virtual clock (work attained per running request) orders the slice ends, and only the
earliest needs an event. Where the host cannot give the guest all it asks for, a vCPU spends
part of each slice waiting for a core; the share it waits is ``1 - grant / request`` of the
guest's CPU, and each request adds up the wait it sat through on a vCPU (its CPU ready time,
the latency the host's contention adds to it).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any


class _OnVcpu:
    """A request holding a vCPU: since virtual time ``v0`` with ``left0`` MI left then, and the
    ready clock ``ready0`` at that moment."""

    __slots__ = ("req", "v0", "left0", "ready0")

    def __init__(self, req: Any, v0: float, left0: float, ready0: float):
        self.req, self.v0, self.left0, self.ready0 = req, v0, left0, ready0


class RoundRobinCpu:
    """Round robin of requests over ``vcpus`` vCPUs with slices of ``slice_work`` MI.

    Requests carry ``work`` (MI) and accumulate ``ready`` (s). The owner tells it the time at
    every change (:meth:`add`, :meth:`set_rate`) and calls :meth:`slice_end` when
    :meth:`next_end` comes due.
    """

    def __init__(self, vcpus: int, slice_work: float):
        self.vcpus, self.q = vcpus, slice_work
        self.on: list[_OnVcpu] = []
        self.queue: deque[tuple[Any, float]] = deque()  # (request, MI left)
        self.v = 0.0  # work attained by each request on a vCPU, MI
        self.t = 0.0  # when v was last brought up to date
        self.rate = 0.0  # MIPS of each request on a vCPU
        self.wait = 0.0  # share of a vCPU's time spent waiting for a core
        self.ready = 0.0  # integral of wait over time, s

    def __len__(self) -> int:
        return len(self.on) + len(self.queue)

    def _sync(self, now: float) -> None:
        dt = now - self.t
        self.v += self.rate * dt
        self.ready += self.wait * dt
        self.t = now

    def _run_of(self, e: _OnVcpu) -> float:
        """Work ``e`` will have done on its vCPU when its current slice ends (``e.left0``: it
        completes; so when nobody waits)."""
        if not self.queue or math.isinf(self.q):
            return e.left0
        # Slices it has begun (a clock a rounding error past a slice's end is still in it).
        done = max(math.floor((self.v - e.v0) / self.q - 1e-9), 0) + 1
        return min(e.left0, done * self.q)

    def add(self, req: Any, now: float) -> None:
        """A request enters its CPU phase with ``req.work`` MI."""
        self._sync(now)
        if len(self.on) < self.vcpus:
            self.on.append(_OnVcpu(req, self.v, req.work, self.ready))
        else:
            self.queue.append((req, req.work))

    def set_rate(self, useful_mips: float, wait: float, now: float) -> None:
        """The guest now does ``useful_mips`` of useful work and its vCPUs wait ``wait`` of
        their time."""
        self._sync(now)
        self.rate = useful_mips / len(self.on) if self.on else 0.0
        self.wait = wait

    def next_end(self) -> float:
        """Seconds from the last update to the next slice end (inf: none)."""
        if not self.on or self.rate <= 0:
            return math.inf
        return max(min(e.v0 + self._run_of(e) for e in self.on) - self.v, 0.0) / self.rate

    def slice_end(self, now: float) -> Any:
        """End the earliest slice; returns the request if it has done its work, else None."""
        self._sync(now)
        e = min(self.on, key=lambda e: e.v0 + self._run_of(e))
        run = self._run_of(e)
        self.v = max(self.v, e.v0 + run)  # (the event was timed to it; rounding aside)
        self.on.remove(e)
        e.req.ready += self.ready - e.ready0
        done = run == e.left0
        if not done:
            self.queue.append((e.req, e.left0 - run))
        if self.queue:
            req, work = self.queue.popleft()
            self.on.append(_OnVcpu(req, self.v, work, self.ready))
        elif not self.on:
            self.v = 0.0  # nothing on the vCPUs: restart the clock (keeps its precision)
        return e.req if done else None

    def clear(self) -> list:
        """Drop every request (the guest stopped); returns them."""
        lost = [e.req for e in self.on] + [r for r, _ in self.queue]
        self.on.clear()
        self.queue.clear()
        self.rate, self.v = 0.0, 0.0
        return lost
