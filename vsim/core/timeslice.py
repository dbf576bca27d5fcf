"""Time-slice CPU scheduling of one host, slice by slice: the discrete form of the fluid share.

The fluid engine shares a host's CPU by weighted max-min (:mod:`vsim.core.sharing`), the limit
of infinitely short slices. This module hands the CPU out in quanta instead, so that what the fluid
model hides becomes visible: **CPU ready time** (a runnable vCPU waiting for a core; VMware's
%RDY, KVM's steal time), the CPU lost to **context switches** and **cache refill**, and the drift of
request latency from processor sharing towards first-come-first-served as slices grow.

Two exact event-driven kernels:

* :func:`schedule_host` -- ``m`` cores shared by vCPUs (the schedulable entities: a VM with 4
  vCPUs brings 4). Policies: ``round_robin`` (one FIFO run queue, a vCPU runs at most one quantum,
  then goes to the back if still runnable) and ``credit`` (weight-proportional in the manner of
  Xen's credit scheduler and Linux CFS: the runnable vCPU with the least weighted run time goes
  next, so long-run CPU fractions are the weighted max-min shares, each vCPU capped at one core
  and at its ``cap``). A cap is enforced per accounting period as a budget of ``cap x period``,
  like CFS bandwidth control (``cpu.max``) and Xen's ``cap``: a vCPU that spends it is throttled
  until the next period (VMware counts that time as "max limited", part of ready).
  With a ``skew_limit``, the vCPUs of one VM are co-scheduled in ESX's relaxed manner: a
  vCPU that runs too far ahead of its slowest sibling is co-stopped until it catches up.
* :func:`rr_queue` -- one CPU serving requests round robin with quantum ``q``: processor
  sharing as ``q -> 0``, FCFS as ``q -> infinity``.

Costs of a switch (a core moving to a different vCPU, or the CPU to a different request):
``switch_cost`` seconds of core time in which nobody runs, then ``cache_refill`` seconds of the
incoming vCPU's slice spent refilling caches (it runs, but does no useful work). With ``n > m``
always-runnable vCPUs every slice pays both, so useful capacity falls by ``q / (q + s)`` when
the refill is zero.

Demand model: a vCPU of utilization ``u = 1`` is always runnable; one of ``u < 1`` receives
``u x period`` seconds of work at the start of every ``period`` (phases staggered evenly over
the vCPUs so that they do not wake in lockstep), and blocks when it has done it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["VCpu", "HostSchedule", "schedule_host", "rr_queue", "POLICIES"]

POLICIES = ("round_robin", "credit")


@dataclass
class VCpu:
    """One schedulable vCPU: its weight (``cpu_shares``), cap (a fraction of one core; ``inf``: no
    cap) and utilization (``1``: always runnable)."""

    weight: float = 1.0
    cap: float = math.inf
    util: float = 1.0
    vm: int = -1  # sibling group (the vCPUs of one VM) for co-scheduling; -1: none
    # What the kernel measures (seconds of simulated time).
    run: float = 0.0  # on a core, refill included
    useful: float = 0.0  # on a core doing the guest's work
    ready: float = 0.0  # runnable and waiting (throttled time included)
    throttled: float = 0.0  # waiting because the cap's budget is spent
    costop: float = 0.0  # waiting because it ran too far ahead of a sibling (in ready too)
    skew_max: float = 0.0  # the largest skew over its siblings seen at an event, s
    switches: int = 0  # times switched in onto a core it did not hold
    # from waking (work arrived while blocked) to blocking again, s: a burst's response time
    bursts: list[float] = field(default_factory=list)
    # Scheduler state.
    woke: float = 0.0
    backlog: float = 0.0
    vruntime: float = 0.0
    budget: float = math.inf
    since: float = 0.0  # when it last started waiting
    state: str = "blocked"  # blocked | waiting | running | throttled | costopped

    @property
    def runnable(self) -> float:
        """Time runnable (running or waiting)."""
        return self.run + self.ready

    def progress(self, t: float) -> float:
        """Time up to ``t`` in which it was not kept waiting (running or blocked): its progress
        in the sense of relaxed co-scheduling."""
        waiting = self.state in ("waiting", "throttled", "costopped")
        return t - self.ready - (t - self.since if waiting else 0.0)

    @property
    def ready_frac(self) -> float:
        """The fraction of its runnable time this vCPU waited: its CPU ready time."""
        return self.ready / self.runnable if self.runnable > 0 else 0.0


@dataclass
class HostSchedule:
    """The outcome of :func:`schedule_host`: the vCPUs with their measures, the slices run, the
    core time lost to switches, and (when asked) every slice as ``(core, vcpu, start, end)``."""

    vcpus: list[VCpu]
    duration: float
    cores: int
    slices: int = 0
    switch_time: float = 0.0
    log: list[tuple[int, int, float, float]] = field(default_factory=list)

    def cpu_fraction(self, i: int) -> float:
        """Cores' worth of CPU vCPU ``i`` got over the run (refill included)."""
        return self.vcpus[i].run / self.duration

    def useful_capacity(self) -> float:
        """Useful core-seconds per core-second: 1 minus what switches and refills took."""
        return sum(v.useful for v in self.vcpus) / (self.cores * self.duration)


class _Host:
    """The event loop of :func:`schedule_host`."""

    def __init__(
        self, vcpus, cores, quantum, switch_cost, cache_refill, policy, period, cap_period, skew
    ):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        if quantum <= 0 or cores < 1:
            raise ValueError("quantum must be > 0 and cores >= 1")
        self.v, self.m, self.q = vcpus, cores, quantum
        self.s, self.r, self.policy = switch_cost, cache_refill, policy
        self.period, self.cap_period = period, cap_period
        self.events: list[tuple[float, int, int, int]] = []  # (time, seq, kind, who)
        self.seq = 0
        self.queue: deque[int] = deque()  # round robin's run queue
        self.core_of: list[int] = [-1] * cores  # vCPU on each core (-1: idle)
        self.last_on: list[int] = [-1] * cores  # the vCPU whose state each core's cache holds
        self.slice_start = [0.0] * cores
        self.slice_refill = [0.0] * cores  # refill seconds at the start of the current slice
        self.epoch = [0] * cores
        # Relaxed co-scheduling: the sibling groups of more than one vCPU, the skew limit.
        self.skew = skew
        groups: dict[int, list[int]] = {}
        for i, v in enumerate(vcpus):
            if v.vm >= 0:
                groups.setdefault(v.vm, []).append(i)
        self.groups = [g for g in groups.values() if len(g) > 1]
        self.skew_epoch = [0] * len(vcpus)
        self.co_due: list[tuple[float, int] | None] = [None] * len(vcpus)

    def push(self, t: float, kind: int, who: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, who))


WAKE, SLICE_END, REFILL, COSTOP, COSTART = 0, 1, 2, 3, 4  # event kinds
_CORES = 1 << 20  # a slice end carries epoch x _CORES + core


def schedule_host(
    vcpus: list[VCpu],
    cores: int,
    duration: float,
    quantum: float,
    switch_cost: float = 0.0,
    cache_refill: float = 0.0,
    policy: str = "round_robin",
    period: float = 0.1,
    cap_period: float = 0.1,
    record: bool = False,
    rng: np.random.Generator | None = None,
    skew_limit: float = math.inf,
) -> HostSchedule:
    """Run ``vcpus`` on ``cores`` for ``duration`` seconds in slices of at most ``quantum``.

    Exact and event-driven: one event per slice, per burst of work and per cap period.
    ``period`` is the burst period of vCPUs with ``util < 1``; ``cap_period`` the accounting
    period of caps. Measures accumulate on the :class:`VCpu` objects; ``record`` keeps every
    slice in the result's ``log``. With ``rng``, each burst of a vCPU comes at a uniformly random
    moment of its period (bursts then collide as independent users' do) instead of at fixed,
    evenly staggered phases; a burst starts early enough to end within its period on a core of
    its own.

    ``skew_limit`` turns on relaxed co-scheduling of the vCPUs that share a ``vm``, as ESX
    does: a vCPU's progress is the time it was not kept waiting (running or blocked), its skew
    the lead of its progress over its slowest sibling's. A running vCPU whose skew reaches the
    limit is co-stopped: it leaves its core and waits, unqueued, until every sibling behind
    it has caught up (skew 0), then queues again. Co-stop time counts in ``costop`` and in
    ``ready``.
    """
    k = _Host(
        vcpus, cores, quantum, switch_cost, cache_refill, policy, period, cap_period, skew_limit
    )
    k.record = record
    out = HostSchedule(vcpus, duration, cores)
    n = len(vcpus)
    for i, v in enumerate(vcpus):
        v.budget = v.cap * cap_period
        if v.util >= 1.0:
            v.backlog = math.inf
            _make_runnable(k, i, 0.0)
        elif v.util > 0:
            k.push(period * (rng.random() * (1 - v.util) if rng is not None else i / n), WAKE, i)
    if any(v.cap < math.inf for v in vcpus):
        k.push(cap_period, REFILL, -1)
    _dispatch(k, 0.0, out)
    _plan_skew(k, 0.0)
    while k.events and k.events[0][0] < duration:
        t, _, kind, who = heapq.heappop(k.events)
        if kind == WAKE:
            v = vcpus[who]
            v.backlog += v.util * period
            if rng is None:
                k.push(t + period, WAKE, who)
            else:  # a random moment of the next period that leaves room for the burst
                start = math.floor(t / period + 1e-9) + 1 + rng.random() * (1 - v.util)
                k.push(period * start, WAKE, who)
            if v.state == "blocked":
                _make_runnable(k, who, t)
        elif kind == SLICE_END:
            epoch, core = divmod(who, _CORES)
            if epoch == k.epoch[core] and k.core_of[core] >= 0:
                _end_slice(k, core, t, out)
        elif kind == REFILL:
            _refill_budgets(k, t, out)
            k.push(t + cap_period, REFILL, -1)
        else:
            _co_event(k, kind, who, t, out)
        _dispatch(k, t, out)
        _plan_skew(k, t)
    _close(k, duration, out)
    return out


def _make_runnable(k: _Host, i: int, t: float) -> None:
    v = k.v[i]
    v.state, v.since, v.woke = "waiting", t, t
    if k.policy == "credit":  # no hoarded credit from sleeping (CFS's min_vruntime placement)
        active = [u.vruntime for u in k.v if u.state in ("waiting", "running") and u is not v]
        if active:
            v.vruntime = max(v.vruntime, min(active))
    k.queue.append(i)


def _pick(k: _Host) -> int:
    """The next waiting vCPU to run (-1: none)."""
    if not k.queue:
        return -1
    if k.policy == "round_robin":
        return k.queue.popleft()
    best = min(k.queue, key=lambda i: (k.v[i].vruntime, i))
    k.queue.remove(best)
    return best


def _dispatch(k: _Host, t: float, out: HostSchedule) -> None:
    """Fill idle cores from the run queue."""
    for core in range(k.m):
        if k.core_of[core] < 0:
            i = _pick(k)
            if i < 0:
                return
            _start_slice(k, core, i, t, out)


def _start_slice(k: _Host, core: int, i: int, t: float, out: HostSchedule) -> None:
    v = k.v[i]
    v.ready += t - v.since
    switch = k.last_on[core] != i
    cost = k.s if switch else 0.0
    refill = k.r if switch else 0.0
    if switch:
        v.switches += 1
        out.switch_time += cost
        v.ready += cost  # the switch is spent before the vCPU runs
    length = min(k.q, refill + v.backlog, v.budget)
    v.state = "running"
    k.core_of[core], k.last_on[core] = i, i
    k.slice_start[core] = t + cost
    k.slice_refill[core] = min(refill, length)
    k.epoch[core] += 1
    out.slices += 1
    k.push(t + cost + length, SLICE_END, k.epoch[core] * _CORES + core)


def _account(k: _Host, core: int, t: float, out: HostSchedule) -> int:
    """Charge the running slice on ``core`` up to ``t``; returns the vCPU."""
    i = k.core_of[core]
    v = k.v[i]
    ran = max(t - k.slice_start[core], 0.0)
    refill = min(ran, k.slice_refill[core])
    v.run += ran
    v.useful += ran - refill
    if v.backlog < math.inf:
        v.backlog -= ran - refill
    v.budget -= ran
    v.vruntime += ran / v.weight
    return i


def _end_slice(k: _Host, core: int, t: float, out: HostSchedule) -> None:
    i = _account(k, core, t, out)
    v = k.v[i]
    if k.record:
        out.log.append((core, i, k.slice_start[core], t))
    k.core_of[core] = -1
    if v.backlog <= 1e-15:
        v.backlog = 0.0
        v.state = "blocked"
        v.bursts.append(t - v.woke)
    elif v.budget <= 1e-15:
        v.state, v.since = "throttled", t
    else:
        v.state, v.since = "waiting", t
        if not k.queue:  # nobody waits: it keeps the core, with no switch
            _start_slice(k, core, i, t, out)
            return
        k.queue.append(i)


def _refill_budgets(k: _Host, t: float, out: HostSchedule) -> None:
    """A new cap period: running slices are charged to the old one, budgets start afresh."""
    for core in range(k.m):
        if k.core_of[core] >= 0 and t > k.slice_start[core]:
            ran = t - k.slice_start[core]
            _account(k, core, t, out)
            k.slice_start[core] = t
            k.slice_refill[core] = max(k.slice_refill[core] - ran, 0.0)
    for i, v in enumerate(k.v):
        v.budget = v.cap * k.cap_period
        if v.state == "throttled":
            v.throttled += t - v.since
            v.ready += t - v.since
            v.state, v.since = "waiting", t
            k.queue.append(i)


def _plan_skew(k: _Host, t: float) -> None:
    """Time the next co-stop of each running vCPU and co-start of each co-stopped one, from
    the progress slopes now (1 running or blocked, 0 waiting); an event since makes them moot."""
    for group in k.groups:
        p = {i: k.v[i].progress(t) for i in group}
        low = min(p.values())
        moving = {i: k.v[i].state in ("running", "blocked") for i in group}
        for i in group:
            v = k.v[i]
            v.skew_max = max(v.skew_max, p[i] - low)
            if k.skew == math.inf:
                continue  # (skew measured, never limited)
            due = None
            if v.state == "running":
                still = [p[j] for j in group if not moving[j]]
                if still:
                    due = (t + max(k.skew - (p[i] - min(still)), 0.0), COSTOP)
            elif v.state == "costopped":
                behind = [j for j in group if p[j] < p[i]]
                if all(moving[j] for j in behind):
                    due = (t + max((p[i] - p[j] for j in behind), default=0.0), COSTART)
            _set_co(k, i, due)


def _set_co(k: _Host, i: int, due: tuple[float, int] | None) -> None:
    """Make ``due`` (time, kind) vCPU ``i``'s one pending co-scheduling event (None: none)."""
    if due == k.co_due[i]:
        return
    k.skew_epoch[i] += 1  # the pending one, if any, is moot
    k.co_due[i] = due
    if due is not None:
        k.push(due[0], due[1], k.skew_epoch[i] * _CORES + i)


def _co_event(k: _Host, kind: int, who: int, t: float, out: HostSchedule) -> None:
    """A co-stop or co-start timed by :func:`_plan_skew`, if still current."""
    epoch, i = divmod(who, _CORES)
    v = k.v[i]
    if epoch != k.skew_epoch[i]:
        return
    k.co_due[i] = None
    if kind == COSTOP and v.state == "running":
        core = k.core_of.index(i)
        _account(k, core, t, out)
        if k.record:
            out.log.append((core, i, k.slice_start[core], t))
        k.core_of[core] = -1
        k.epoch[core] += 1  # its slice end is moot
        v.state, v.since = "costopped", t
    elif kind == COSTART and v.state == "costopped":
        v.costop += t - v.since
        v.ready += t - v.since
        v.state, v.since = "waiting", t
        k.queue.append(i)


def _close(k: _Host, t: float, out: HostSchedule) -> None:
    """Charge what is running or waiting at the end of the run."""
    for group in k.groups:  # (skew is linear between events: its peaks are at events or here)
        low = min(k.v[i].progress(t) for i in group)
        for i in group:
            k.v[i].skew_max = max(k.v[i].skew_max, k.v[i].progress(t) - low)
    for core in range(k.m):
        if k.core_of[core] >= 0:
            i = _account(k, core, t, out)
            if k.record:
                out.log.append((core, i, k.slice_start[core], t))
    for v in k.v:
        if v.state in ("waiting", "throttled", "costopped"):
            v.ready += t - v.since
            if v.state == "throttled":
                v.throttled += t - v.since
            if v.state == "costopped":
                v.costop += t - v.since


def rr_queue(
    arrivals: list[float], works: list[float], quantum: float, switch_cost: float = 0.0
) -> list[float]:
    """Response times of requests served round robin by one CPU with quantum ``quantum``.

    A request runs at most one quantum, then goes to the back of the queue, behind the requests
    that arrived during its slice. Moving the CPU to a different request costs ``switch_cost``
    seconds. ``quantum = inf`` is FCFS; ``quantum -> 0`` is processor sharing. Full rounds in
    which no request arrives or finishes are taken in one step (the same schedule, fewer
    iterations), so short quanta stay cheap.
    """
    n = len(arrivals)
    resp = [0.0] * n
    left = list(works)
    queue: deque[int] = deque()
    t, nxt, last = 0.0, 0, -1
    while nxt < n or queue:
        if not queue:
            t = max(t, arrivals[nxt])
        while nxt < n and arrivals[nxt] <= t:
            queue.append(nxt)
            nxt += 1
        t = _skip_rounds(
            queue, left, quantum, switch_cost, t, arrivals[nxt] if nxt < n else math.inf
        )
        i = queue.popleft()
        if last >= 0 and i != last:
            t += switch_cost
        last = i
        run = min(quantum, left[i])
        t += run
        left[i] -= run
        while nxt < n and arrivals[nxt] <= t:
            queue.append(nxt)
            nxt += 1
        if left[i] <= 0:
            resp[i] = t - arrivals[i]
        else:
            queue.append(i)
    return resp


def _skip_rounds(queue, left, q: float, s: float, t: float, next_arrival: float) -> float:
    """Advance whole rounds of ``len(queue) >= 2`` slices in which nothing arrives or ends;
    returns the new time."""
    k = len(queue)
    if k < 2 or math.isinf(q):
        return t
    r_min = min(left[i] for i in queue)
    rounds = math.ceil(r_min / q) - 1
    if next_arrival < math.inf:
        rounds = min(rounds, math.floor((next_arrival - t) / (k * (q + s))) - 1)
    if rounds < 1:
        return t
    for i in queue:
        left[i] -= rounds * q
    return t + rounds * k * (q + s)
