"""Request-level services: arrivals, workers and queues, processor-sharing CPU, I/O, tiers.

Each guest running a service workload is a :class:`Station`. Its requests in their CPU phase
share what the host grants the guest (the engine's weighted max-min) equally: processor sharing,
one request at most one vCPU, because the guest asks the host for ``min(busy, vcpus)`` vCPUs.
Progress is tracked with a virtual clock: every request in service attains service at the same
rate, so a request that starts at virtual time V with work w ends when the clock reaches V + w,
and only the earliest of those ends needs a SimPy event. That keeps each request O(log n).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from vsim.model.requestlog import RequestLog
from vsim.model.slicedcpu import RoundRobinCpu
from vsim.scenario.service import Arrivals, Distribution, ServiceWorkload

if TYPE_CHECKING:
    from vsim.model.engine import Engine


class Sampler:
    """Draws from a distribution, one NumPy call per block of draws."""

    # Blocks start small and double: a station that serves few requests draws few numbers, one
    # that serves millions pays the NumPy call once per 4096 draws.
    FIRST_BLOCK, MAX_BLOCK = 32, 4096

    def __init__(self, dist: Distribution, rng: np.random.Generator):
        self.dist, self.rng = dist, rng
        self._buf: list[float] = []
        self._block = self.FIRST_BLOCK
        self.constant = dist.mean if dist.dist == "deterministic" else None

    def __call__(self) -> float:
        if self.constant is not None:
            return self.constant
        if not self._buf:
            self._buf = draw(self.dist, self.rng, self._block).tolist()[::-1]
            self._block = min(2 * self._block, self.MAX_BLOCK)
        return self._buf.pop()


def draw(d: Distribution, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` independent draws of ``d``."""
    if d.dist == "exponential":
        return rng.exponential(d.mean, n)
    if d.dist == "deterministic":
        return np.full(n, float(d.mean))
    if d.dist == "lognormal":
        s2 = math.log1p(d.cv**2)  # type: ignore[operator]
        return rng.lognormal(math.log(d.mean) - s2 / 2, math.sqrt(s2), n)  # type: ignore[arg-type]
    if d.dist == "hyperexponential":
        k = rng.choice(len(d.means), size=n, p=d.probs)  # type: ignore[arg-type]
        return rng.exponential(1.0, n) * np.asarray(d.means)[k]
    values = np.asarray(d.values, dtype=np.float64)
    return values[rng.integers(len(values), size=n)]


class Request:
    __slots__ = ("id", "arrival", "user", "start", "work", "waiting", "origin", "server", "ready")

    def __init__(self, rid: int, arrival: float, origin: Station, user: int = -1):
        self.id, self.arrival, self.origin, self.user = rid, arrival, origin, user
        self.start = math.nan
        self.work = 0.0
        self.ready = math.nan  # s its vCPUs waited for a core while it held them (timeslice)
        self.waiting = False
        self.server = -1  # the replica a load balancer sent it to (-1: none)


class Station:
    """One guest serving requests."""

    def __init__(
        self,
        sim: Engine,
        guest: int,
        spec: ServiceWorkload,
        rng: np.random.Generator,
        log: RequestLog,
        next_tier: Callable[[], Station | None] | None,
    ):
        self.sim, self.env, self.g, self.spec, self.log = sim, sim.env, guest, spec, log
        self.name = str(sim.guests.names[guest])
        self.next_tier = next_tier
        self.rng = rng
        self.cpu = Sampler(spec.cpu, rng)
        self.disk_ops = Sampler(spec.disk_ops, rng)
        self.disk_bytes = Sampler(spec.disk_bytes, rng)
        self.net_bytes = Sampler(spec.net_bytes, rng)
        self.workers = spec.workers if spec.workers is not None else math.inf
        self.queue_cap = spec.queue if spec.queue is not None else math.inf
        self.queue: deque[Request] = deque()
        self.waiting = 0  # requests in the queue that have not timed out
        self.busy = 0  # requests holding a worker (CPU or I/O phase)
        self.in_cpu: list[tuple[float, int, Request]] = []  # (finish tag, id, request) heap
        self.vclock = 0.0  # attained service of every request in the CPU phase, MI
        self.vtime = 0.0  # when vclock was last brought up to date
        self.rate = 0.0  # MIPS each request in the CPU phase gets
        self.version = 0
        self.own_change = False  # in _cpu_changed, while the engine re-solves
        self.epoch = 0  # bumped when the guest stops: I/O in flight from before is lost
        # Little's law: time-integral of the number of requests at this station.
        self.n_here = 0
        self.area = 0.0
        self.area_t = 0.0
        self.arrived = 0
        self.departed = 0
        self.record = spec.record
        self.warmup = spec.warmup
        self.slo = spec.slo
        self.service = str(sim.scenario.guests[int(sim.guests.group[guest])].workload)

    # -------------------------------------------------------------- arrivals
    def start_arrivals(self, arrivals: Arrivals, ids: Callable[[], int]) -> None:
        """Schedule this guest's open-loop arrivals or its closed-loop users."""
        self._ids = ids
        p = arrivals.process
        if p == "closed":
            self.think = Sampler(arrivals.think, self.rng)
            self.retry_after = arrivals.retry_after
            for u in range(arrivals.users or 0):
                self._after(self.think(), self._user_submits, u)
            return
        if p == "trace":
            times = np.loadtxt(arrivals.path, dtype=np.float64, ndmin=1)
            self._trace = iter(np.sort(times).tolist())
            self._next_from_trace()
            return
        if p == "poisson":
            gap = Sampler(Distribution(dist="exponential", mean=1 / arrivals.rate), self.rng)
            self._gap = lambda: gap()
        elif p == "diurnal":
            peak = arrivals.mean * (1 + arrivals.amplitude)  # type: ignore[operator]
            expo = Sampler(Distribution(dist="exponential", mean=1 / peak), self.rng)
            mean, amp, period = arrivals.mean, arrivals.amplitude, arrivals.period

            def thinned() -> float:
                # Lewis-Shedler thinning: candidates at the peak rate, kept with rate(t)/peak.
                t = self.env.now
                while True:
                    t += expo()
                    rate = mean * (1 + amp * math.sin(2 * math.pi * t / period))  # type: ignore[operator]
                    if self.rng.random() * peak <= rate:
                        return t - self.env.now

            self._gap = thinned
        else:  # mmpp
            rates, switch = arrivals.rates or [], arrivals.switch or []
            self._state, self._switch_at = 0, self.rng.exponential(1 / switch[0])

            def modulated() -> float:
                # Memoryless both ways: draw the next arrival in the current state; if the
                # state switches first, move to the switch and draw again in the new state.
                t = self.env.now
                while True:
                    r = rates[self._state]
                    cand = t + (self.rng.exponential(1 / r) if r > 0 else math.inf)
                    if cand <= self._switch_at:
                        return cand - self.env.now
                    t = self._switch_at
                    self._state = (self._state + 1) % len(rates)
                    self._switch_at = t + self.rng.exponential(1 / switch[self._state])

            self._gap = modulated
        self._after(self._gap(), self._open_arrival)

    def _after(self, delay: float, fn: Callable, *args: object) -> None:
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda _e: self._fire(fn, args))

    def _fire(self, fn: Callable, args: tuple) -> None:
        self.sim.count_event()
        fn(*args)

    def _open_arrival(self) -> None:
        self.arrive(Request(self._ids(), self.env.now, self))
        self._after(self._gap(), self._open_arrival)

    def _next_from_trace(self) -> None:
        t = next(self._trace, None)
        if t is None:
            return
        self._after(max(t - self.env.now, 0.0), self._trace_arrival)

    def _trace_arrival(self) -> None:
        self.arrive(Request(self._ids(), self.env.now, self))
        self._next_from_trace()

    def _user_submits(self, user: int) -> None:
        self.arrive(Request(self._ids(), self.env.now, self, user))

    # -------------------------------------------------------------- flow of a request
    def _count(self, delta: int) -> None:
        now = self.env.now
        self.area += self.n_here * (now - self.area_t)
        self.area_t = now
        self.n_here += delta

    def arrive(self, req: Request) -> None:
        if not self.sim.is_running(self.g):
            self._end(req, "rejected")
            return
        self.arrived += 1
        self._count(+1)
        if self.busy < self.workers:
            self._serve(req)
        elif self.waiting < self.queue_cap:
            req.waiting = True
            self.queue.append(req)
            self.waiting += 1
            if self.spec.timeout is not None:
                self._after(self.spec.timeout, self._give_up, req)
        else:
            self._leave()
            self._end(req, "rejected")

    def _give_up(self, req: Request) -> None:
        if req.waiting:
            req.waiting = False  # left in the deque; skipped when it reaches the front
            self.waiting -= 1
            self._leave()
            self._end(req, "timed_out")

    def _serve(self, req: Request) -> None:
        self.busy += 1
        req.start = self.env.now
        req.work = self.cpu()
        if req.work > 0:
            self._sync()
            heapq.heappush(self.in_cpu, (self.vclock + req.work, req.id, req))
            self._cpu_changed()
        else:
            self._io(req)

    def _sync(self) -> None:
        now = self.env.now
        self.vclock += self.rate * (now - self.vtime)
        self.vtime = now

    def _cpu_changed(self) -> None:
        """The number of requests in the CPU phase changed: tell the host, then re-plan.

        The re-solve this may bring tells every watched guest whose grant moved, this one
        included; this one re-plans once, after the solve (:meth:`grant_changed` skips it
        meanwhile), which leaves no stale completion behind and orders the live ones as
        before."""
        self.own_change = True
        self.sim.set_service_load(self.g, len(self.in_cpu))
        self.own_change = False
        self.rate_changed()

    def grant_changed(self) -> None:
        """The engine changed this guest's useful CPU rate (its rate watch calls this)."""
        if not self.own_change:
            self.rate_changed()

    def rate_changed(self) -> None:
        """Re-plan the next CPU completion after the guest's grant or load changed."""
        now = self.env.now
        self.vclock += self.rate * (now - self.vtime)  # (_sync, inlined: the hot path)
        self.vtime = now
        n = len(self.in_cpu)
        self.rate = rate = self.sim.useful_mips(self.g) / n if n else 0.0
        self.version += 1
        if n and rate > 0:
            dt = max(self.in_cpu[0][0] - self.vclock, 0.0) / rate
            version = self.version
            self.env.timeout(dt).callbacks.append(lambda _e: self._cpu_done(version))

    def _cpu_done(self, version: int) -> None:
        if version != self.version:
            return
        self.sim.count_event()
        self._sync()
        _, _, req = heapq.heappop(self.in_cpu)
        self._cpu_changed()
        self._io(req)

    def _io(self, req: Request) -> None:
        # The last tier sends the response to the client; earlier tiers send it on (the hop).
        ops, nbytes = self.disk_ops(), self.disk_bytes()
        net = self.net_bytes() if self.next_tier is None else 0.0
        if ops == 0 and nbytes == 0 and net == 0:
            self._done(req)
            return
        self._after(self.sim.io_delay(self.g, ops, nbytes, net), self._io_done, req, self.epoch)

    def _io_done(self, req: Request, epoch: int) -> None:
        if epoch != self.epoch:
            self._leave()
            self._end(req, "failed")
        else:
            self._done(req)

    def _done(self, req: Request) -> None:
        self.busy -= 1
        self._leave()
        while self.queue and self.busy < self.workers:
            nxt = self.queue.popleft()
            if nxt.waiting:
                nxt.waiting = False
                self.waiting -= 1
                self._serve(nxt)
        if self.next_tier is None:
            self._end(req, "completed")
            return
        nxt_station = self.next_tier()
        if nxt_station is None:  # no guest of the next tier is running
            self._end(req, "failed")
        else:
            delay = self.sim.hop_delay(self.g, nxt_station.g, self.net_bytes())
            self.log.in_transit += 1
            self._after(delay, self._hop_arrives, nxt_station, req)

    def _hop_arrives(self, nxt_station: Station, req: Request) -> None:
        self.log.in_transit -= 1
        nxt_station.arrive(req)

    def _leave(self) -> None:
        self.departed += 1
        self._count(-1)

    def _end(self, req: Request, status: str) -> None:
        """Final outcome of a request, recorded at its first tier."""
        origin = req.origin
        log = self.log
        now = self.env.now
        counted = req.arrival >= origin.warmup
        origin.ended(req, status, now)
        if counted:
            if status == "completed":
                log.completed += 1
                log.add_latency(now - req.arrival)
                log.count(origin.service, now - req.arrival, origin.slo, req.ready)
            else:
                setattr(log, status, getattr(log, status) + 1)
                log.count(origin.service, None, origin.slo)
        if req.user >= 0:  # a closed-loop user thinks, then sends its next request
            wait = origin.think()
            if status != "completed":  # and backs off after a failure, never spinning
                wait = max(wait, origin.retry_after)
            origin._after(wait, origin._user_submits, req.user)
        if counted and (origin.record >= 1 or origin.rng.random() < origin.record):
            end = now if status == "completed" else math.nan
            log.add_row(
                (
                    req.id,
                    origin.name,
                    req.arrival,
                    req.start,
                    end,
                    end - req.arrival,
                    req.work,
                    status,
                )
            )

    def ended(self, req: Request, status: str, now: float) -> None:
        """A request that arrived here ended (a load balancer in front overrides this)."""

    def _drop_cpu(self) -> list[Request]:
        """Drop the requests in their CPU phase; returns them."""
        lost = [r for _, _, r in self.in_cpu]
        self.in_cpu.clear()
        return lost

    def fail_all(self) -> None:
        """The guest stopped: every request here is lost."""
        lost = [r for r in self.queue if r.waiting] + self._drop_cpu()
        for r in self.queue:
            r.waiting = False
        self.queue.clear()
        self.waiting = 0
        self.busy = 0
        self.version += 1
        self.epoch += 1
        self.rate = 0.0
        for r in lost:
            self._leave()
            self._end(r, "failed")

    def little(self, now: float) -> tuple[float, float]:
        """Time-average number of requests here and departures per second, up to ``now``."""
        area = self.area + self.n_here * (now - self.area_t)
        return area / now, self.departed / now


class SlicedStation(Station):
    """A station on a time-sliced host (``scheduler.cpu: timeslice``): its requests' CPU phase
    runs round robin in quanta on the guest's vCPUs (:mod:`vsim.model.slicedcpu`) instead of
    processor sharing, and each request counts the CPU ready time it sat through."""

    def __init__(self, sim: Engine, guest: int, *args: Any):
        super().__init__(sim, guest, *args)
        g, quantum = sim.guests, sim.scenario.scheduler.timeslice.quantum
        self.rr = RoundRobinCpu(int(g.vcpus[guest]), quantum * float(g.vcpu_mips[guest]))

    def _serve(self, req: Request) -> None:
        self.busy += 1
        req.start = self.env.now
        req.work = self.cpu()
        if math.isnan(req.ready):
            req.ready = 0.0
        if req.work > 0:
            self.rr.add(req, self.env.now)
            self._cpu_changed()
        else:
            self._io(req)

    def _cpu_changed(self) -> None:
        self.sim.set_service_load(self.g, len(self.rr))
        self.rate_changed()

    def rate_changed(self) -> None:
        """Re-plan the next slice end after the guest's grant or load changed."""
        sim = self.sim
        self.rr.set_rate(sim.useful_mips(self.g), sim.cpu_wait_frac(self.g), self.env.now)
        self.version += 1
        dt = self.rr.next_end()
        if dt < math.inf:
            version = self.version
            self.env.timeout(dt).callbacks.append(lambda _e: self._cpu_done(version))

    def _cpu_done(self, version: int) -> None:
        if version != self.version:
            return
        self.sim.count_event()
        req = self.rr.slice_end(self.env.now)
        if req is None:  # a slice ended, the request went to the back of the run queue
            self.rate_changed()
            return
        self._cpu_changed()
        self._io(req)

    def _drop_cpu(self) -> list[Request]:
        return self.rr.clear()


class Services:
    """The request-level services of a run, as a controller: a :class:`Station` per guest
    running a service workload, wired tier to tier.

    It uses the engine's contract only: it sets each station's memory demand and CPU load,
    reads its useful rate (and is told when it changes, through the engine's rate watch), and
    fails the requests of a guest that goes down or stops (the engine's signals).
    """

    name = "services"

    def __init__(self, engine: Engine):
        self.engine = engine
        rows = engine.scenario.output.request_rows
        self.requests = RequestLog(rows, engine.streams.generator("request_rows"))
        self.stations = build_stations(engine, self.requests)
        self.fronts: list[Station] = []  # load balancers (vsim.model.balancers)
        slos = _slos(self.stations.values())
        self.requests.slo = min(slos) if slos else None
        for g, st in self.stations.items():
            engine.watch.add(g, st.grant_changed)
        if self.stations:
            engine.signals.guests_down.connect(self._lost)
            engine.signals.guests_stopped.connect(self._lost)

    def _lost(self, idx: np.ndarray) -> None:
        for i in idx:
            st = self.stations.get(int(i))
            if st is not None:
                st.fail_all()

    def summary(self) -> dict:
        """Request counts, throughput, latency percentiles and SLO violations."""
        stations = [*self.stations.values(), *self.fronts]
        return request_summary(self.requests, stations, self.engine.scenario)


def request_summary(log: RequestLog, stations, scenario) -> dict:
    """Headline request metrics: counts, throughput, latency percentiles, SLO violations."""
    stations = list(stations)
    slos = _slos(stations)
    warm = max((st.warmup for st in stations), default=0.0)
    span = scenario.duration - warm
    out = {
        "requests_completed": log.completed,
        "requests_rejected": log.rejected,
        "requests_timed_out": log.timed_out,
        "requests_failed": log.failed,
        # Every request, warmup included: created, and still queued, served or between two
        # tiers when the run ends (read from the stations, not derived from the counts).
        "requests_created": log.created,
        "requests_in_flight": sum(st.n_here for st in stations) + log.in_transit,
        "throughput_rps": log.completed / span if span > 0 else np.nan,
    }
    figures = log.latency_figures(LATENCY_QUANTILES)
    over_slo = figures.pop("over_slo")
    out.update(figures)
    if log.ready:  # time slices: the CPU ready time a completed request sat through
        out["request_cpu_ready_s_mean"] = log.ready_mean()
    # Requests that did not complete count as violations of the target.
    total = log.completed + log.rejected + log.timed_out + log.failed
    out["slo_violation_frac"] = (
        (over_slo + total - log.completed) / total if slos and total else np.nan
    )
    out.update(log.kept())
    return out


def _slos(stations) -> list[float]:
    """Latency targets of the services that take arrivals (the SLO share uses the tightest)."""
    return [st.slo for st in stations if st.slo is not None and st.spec.arrivals]


#: The latency percentiles every summary reports, by column suffix.
LATENCY_QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))


def build_stations(sim: Engine, log: RequestLog) -> dict[int, Station]:
    """A station for every guest running a service workload, wired tier to tier.

    Each station draws from its own stream keyed by its guest index, so adding a guest never
    changes what the others draw.
    """
    sc, gt = sim.scenario, sim.guests
    specs = {
        n: w
        for n, w in sc.workloads.items()
        if isinstance(w, ServiceWorkload) and w.mode == "requests"
    }
    members = {
        grp.name: np.flatnonzero(gt.group == k).tolist()
        for k, grp in enumerate(sc.guests)
        if grp.workload in specs
    }
    stations: dict[int, Station] = {}
    next_of: dict[str, Callable[[], Station | None]] = {}

    def round_robin(group: str) -> Callable[[], Station | None]:
        ring = members.get(group, [])
        pos = [0]

        def pick() -> Station | None:
            for _ in range(len(ring)):
                g = ring[pos[0] % len(ring)]
                pos[0] += 1
                if sim.is_running(g):
                    return stations[g]
            return None

        return pick

    ids = log.next_id
    kind = SlicedStation if sc.scheduler.cpu == "timeslice" else Station
    for grp in sc.guests:
        spec = specs.get(grp.workload or "")
        if spec is None:
            continue
        if spec.next is not None and spec.next not in next_of:
            next_of[spec.next] = round_robin(spec.next)
        for g in members[grp.name]:
            rng = sim.streams.generator("services", g)
            stations[g] = kind(sim, g, spec, rng, log, next_of.get(spec.next or ""))
            sim.set_demand("memory", g, spec.memory)
    for st in stations.values():
        # A deployment's replicas get their requests from its load balancer.
        if st.spec.arrivals is not None and not sc.guests[gt.group[st.g]].deployment:
            st.start_arrivals(st.spec.arrivals, ids)
    return stations
