"""The engine: SimPy owns time, the hosts' resources are shared as a fluid.

Between two events every rate is constant. When something changes (a guest starts, stops,
pauses, a trace steps to its next sample, a batch phase ends) the engine re-solves weighted
max-min sharing for CPU, disk bandwidth, disk IOPS and network (``vsim.core``). How far it
re-solves (every host, one host, or one guest without a solve) is decided in one place,
:class:`~vsim.model.resolve.Resolver`, reached as ``engine.resolve``.

The engine owns the state (guest and host tables, demands, rates, the placement pool) and
offers a contract to the subsystems that drive it, which it does not import
(:mod:`vsim.model.contract`): read-only views, commands, and signals fired after changes.
:func:`vsim.model.build.build_simulation` wires the subsystems to an engine.

Integration is lazy (:class:`~vsim.model.rates.RateTable`): at a sample boundary every rate is
integrated over the whole sample at its current value, and each rate change in between adds a
correction for the entries that changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import simpy

from vsim.core.placement import HostPool
from vsim.metrics import GUEST_COLUMNS, EventLog, SampleRecorder
from vsim.model import guests as gs
from vsim.model.contract import Controller, NoTransfers, Signals, Transfers
from vsim.model.driver_domain import DriverDomains
from vsim.model.host_share import STATIC, static_rows
from vsim.model.hosts import HOST_BOOTING, HOST_FAILED, HOST_OFF, HOST_ON, HostTable
from vsim.model.jobs import Jobs
from vsim.model.network import IDEAL, build_fabric, build_protocol
from vsim.model.placing import BuiltinPlacement, placement_of
from vsim.model.power import PowerTables
from vsim.model.rates import (
    GUEST_RATES,
    HOST_RATES,
    WANTS,
    LastSolve,
    RateTable,
    UsefulRateWatch,
)
from vsim.model.rejection import why_rejected
from vsim.model.resolve import Resolver
from vsim.model.slicing import switch_factor
from vsim.model.streams import RandomStreams
from vsim.model.tenancy import Tenancy
from vsim.model.workloads import build_demands
from vsim.scenario.schema import Scenario

SHARES_COLUMN = STATIC.index("shares")  # of the guests' static rows


class Engine:
    """One run of a scenario. Build it with :func:`~vsim.model.build.build_simulation`, call
    :meth:`run`, then read the recorder, the event log and the controllers' summaries."""

    def __init__(self, scenario: Scenario, streams: RandomStreams | None = None):
        self.scenario = scenario
        self.streams = streams or RandomStreams(scenario.seed)
        self.env = simpy.Environment()
        self.placement_rng = self.streams.generator("placement")
        self.hosts = HostTable.from_scenario(scenario)
        self.guests = g = gs.GuestTable.from_scenario(scenario)
        self.tenancy = Tenancy(scenario, g, self.hosts.n)
        oc = scenario.scheduler.overcommit
        self.pool = HostPool(
            self.hosts.placement_capacity(),
            overcommit={"cpu": oc.cpu, "memory": oc.memory, "disk": oc.disk, "net": oc.net},
        )
        # Each guest's request of the pool as a vector (changed only by resize): its moves,
        # stops and failures allocate and release it without converting a mapping each time.
        self._requests = self._request_vectors(np.arange(g.n))
        self.trace_demands, batch = build_demands(
            scenario, g.group, g.names, self.streams.generator("workloads")
        )
        # What each guest wants while running (WANTS): rows of one 2-D array, so that one
        # host's guests are read in every column by a single indexing.
        self.want_rows = np.zeros((len(WANTS), g.n))
        self.want = dict(zip(WANTS, self.want_rows, strict=True))
        self._added_demand: dict[str, np.ndarray] = {}  # what add_demand layered on traces
        self.jobs = Jobs(self, batch, g.n)
        for b in batch:
            self.want["memory"][b.guests] = b.memory
        # Current rates (named like the recorded columns) and their integrals. Guests: MIPS
        # the workload asks for, MIPS of useful work it gets (net of virtualization overhead
        # and swap stalls), MIPS its vCPUs run (overhead included), MIPS of overhead, memory in
        # use, disk and network bytes/s. Hosts: CPU MIPS in use, of which the hypervisor's,
        # memory in use, disk busy fraction, NIC bytes/s, watts.
        self.guest_rates = RateTable(GUEST_RATES, g.n)
        self.host_rates = RateTable(HOST_RATES, self.hosts.n)
        # Scalar access for the per-request contract (memoryviews of the same rows).
        self._useful = self.guest_rates.scalar["cpu_useful_mips"]
        self._want_cpu = memoryview(self.want["cpu"])
        self.power = PowerTables.from_scenario(scenario)
        self.placement = placement_of(scenario, self.hosts, self.power)
        self.t0 = 0.0  # start of the current sample
        self.events = EventLog()
        self.n_events = 0
        times = np.arange(1, int(np.ceil(scenario.duration / scenario.sample_interval)) + 1)
        self.sample_times = np.minimum(times * scenario.sample_interval, scenario.duration)
        self.recorder = SampleRecorder(
            self.sample_times,
            self.hosts.n,
            g.n,
            guests=scenario.output.guests,
            extra_host=("tenants",) if self.tenancy.listed else (),
        )
        self.fabric = build_fabric(scenario.network, self.hosts.net_bw)
        # Anti-affinity groups spread over racks (the fabric's) rather than kept off each host.
        self.spread = {k: self.fabric.rack_of for k in sorted(g.by_rack)}
        self.protocol = build_protocol(scenario.network)  # what flows get of the links
        # Xen driver domains, when a guest uses split drivers (None: no dom0 consumer at all)
        self.driver = DriverDomains.build(scenario, self.hosts, g)
        self.network_contention = True  # links limit flows (see set_network_unlimited)
        self.transfers: Transfers = NoTransfers()  # type: ignore[assignment]
        self.has_children = np.bincount(g.parent[g.parent >= 0], minlength=g.n) > 0
        self.any_nested = bool(self.has_children.any())
        self.last = LastSolve(g.n, self.hosts.n)
        self.watch = UsefulRateWatch(g.n)
        self.signals = Signals()
        self.controllers: list[Controller] = []
        self.static_rows: np.ndarray | None = None  # set by start()
        sch = scenario.scheduler
        # Useful share of a sliced host's capacity (vsim.model.slicing); None: the fluid one.
        self.slice_factor = switch_factor(sch.timeslice) if sch.cpu == "timeslice" else None
        self.resolve = Resolver(self)

    # ------------------------------------------------------------------ wiring
    def attach(self, controller: Controller) -> Controller:
        """Register a controller: its summary columns join the run's, in attachment order."""
        self.controllers.append(controller)
        return controller

    def use_transfers(self, transfers: Transfers) -> None:
        """The migrator whose running migrations the full solve reads and rates."""
        self.transfers = transfers

    def start(self) -> None:
        """Schedule the scenario's lifecycle and traces and solve the initial state."""
        self._schedule_lifecycle()
        self.step_traces(0.0)
        self.resolve.everything()
        self.env.process(self._trace_stepper())
        self.static_rows = static_rows(self)

    # ------------------------------------------------------------------ read-only views
    @property
    def now(self) -> float:
        return self.env.now

    @property
    def rate(self) -> dict[str, np.ndarray]:
        """Current guest rates, by recorded column name (read them; the solve writes them)."""
        return self.guest_rates.rate

    @property
    def host_rate(self) -> dict[str, np.ndarray]:
        return self.host_rates.rate

    @property
    def total(self) -> dict[str, float]:
        """Every rate integrated over the run so far, summed over guests or hosts."""
        return {**self.guest_rates.total, **self.host_rates.total}

    @property
    def cpu_request(self) -> np.ndarray:
        """Host MIPS each guest asked for at the last solve (overhead included); read-only."""
        return _read_only(self.last.cpu_request)

    def placement_capacity(self, resource: str) -> np.ndarray:
        """What the pool lets each host hold of ``resource`` now (a copy)."""
        return self.pool.capacity[resource].copy()

    def placement_used(self, resource: str) -> np.ndarray:
        """What the pool has allocated of ``resource`` on each host now (a copy)."""
        return self.pool.used[resource].copy()

    def sample_elapsed(self) -> float:
        """Time since the current sample started (the weight of a rate change's correction)."""
        return self.env.now - self.t0

    def request_of(self, i: int) -> tuple[float, ...]:
        """What guest ``i`` holds of its host in the pool, as the pool's request vector."""
        return self._requests[i]

    def is_running(self, g: int) -> bool:
        return self.guests.state[g] == gs.RUNNING

    def useful_mips(self, g: int) -> float:
        return self._useful[g]

    def cpu_wait_frac(self, g: int) -> float:
        """The share of the CPU guest ``g`` asks its host for that it does not get now: how much
        of their time its vCPUs wait for a core (0 when it asks for none)."""
        last = self.last
        request = last.cpu_request[g]
        return float(1.0 - last.cpu_grant[g] / request) if request > 0 else 0.0

    def useful_work(self, g: int) -> float:
        """MI of useful CPU work guest ``g`` has run up to now (its lazily integrated rate)."""
        return self.integral("cpu_useful_mips", g)

    def integral(self, column: str, g: int) -> float:
        """Guest ``g``'s rate ``column`` (a guest column of the results: ``cpu_alloc_mips``,
        ``mem_bytes``, ...) integrated from the start of the run up to now."""
        r = self.guest_rates
        return float(
            r.cum[column][g] + r.acc[column][g] + r.rate[column][g] * self.sample_elapsed()
        )

    def io_delay(self, g: int, ops: float, nbytes: float, net_bytes: float) -> float:
        """Time a request spends on disk and network I/O on its guest's host.

        Each operation pays the disk's service time at its full IOPS and the virtualization
        latency of the guest's I/O path; bytes move at the full disk and NIC bandwidth (I/O of
        single requests is not queued against other traffic).
        """
        gt, h = self.guests, self.hosts
        host = gt.host[g]
        t = ops * (1.0 / h.disk_iops[host] + gt.io_latency[g]) + nbytes / h.disk_bw[host]
        if net_bytes > 0:
            t += net_bytes / (h.net_bw[host] * self.protocol.goodput) + gt.net_latency[g]
        return t

    def hop_delay(self, src: int, dst: int, nbytes: float) -> float:
        """Moving a request from one tier's guest to the next: NIC transfer (of what the
        protocol delivers) and latencies (the route's times the protocol's latency factor)."""
        gt, h = self.guests, self.hosts
        a, b = gt.host[src], gt.host[dst]
        t = gt.net_latency[src] + gt.net_latency[dst]
        if a != b:
            p = self.protocol
            bw = min(h.net_bw[a], h.net_bw[b]) * p.goodput
            route = self.fabric.pair_latency(int(a), int(b))
            t += nbytes / bw + (route if p.latency_factor == 1.0 else p.latency_factor * route)
        return t

    def transfer_startup(self, src: int, dst: int) -> float:
        """Seconds a transfer from host ``src`` to ``dst`` waits before its bytes move: the
        protocol's latency factor times the route's one-way latency (0 under the ideal model)."""
        p = self.protocol
        if not p.startup or src == dst:
            return 0.0
        return p.latency_factor * self.fabric.pair_latency(src, dst)

    # ------------------------------------------------------------------ running
    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Simulate the whole duration, recording one sample per interval."""
        for k, t in enumerate(self.sample_times):
            self.env.run(until=t)
            self.transfers.advance_to(t)
            self._record(k, t)
            if progress is not None:
                progress(t)

    def _record(self, k: int, t_end: float) -> None:
        """Close the sample ending at ``t_end``: integrate, write its means, start the next."""
        span = t_end - self.t0
        ag = self.guest_rates.close_sample(span)
        acc = self.host_rates.close_sample(span)
        self.t0 = t_end
        h, g = self.hosts, self.guests
        self.recorder.record_hosts(
            k,
            h.state,
            cpu_util=acc["cpu"] / span / h.cpu_mips,
            hypervisor_util=acc["hypervisor"] / span / h.cpu_mips,
            mem_util=acc["mem"] / span / h.memory,
            disk_util=acc["disk"] / span,
            net_util=acc["net"] / span / h.net_bw,
            power_w=acc["power"] / span,
            **self._tenants_now(),
        )
        self.recorder.record_guests(k, g.host, g.state, **{c: ag[c] / span for c in GUEST_COLUMNS})
        self.host_rates.clear_sample()
        self.guest_rates.clear_sample()

    def _tenants_now(self) -> dict[str, np.ndarray]:
        """The distinct tenants on each host now, when the scenario has tenants."""
        if not self.tenancy.listed:
            return {}
        self.tenancy.sync(self.guests, self.transfers)
        return {"tenants": self.tenancy.per_host()}

    def count_event(self, n: int = 1) -> None:
        """Count ``n`` events processed now (``events`` in the summary)."""
        self.n_events += n

    def settle(self) -> None:
        """Bring running transfers' byte counts up to now (their rates integrate lazily):
        call it before a change that may alter their rates."""
        self.transfers.advance_to(self.env.now)

    def _event(self) -> None:
        """An event of the engine's own starts: settle, then count it."""
        self.settle()
        self.n_events += 1

    # ------------------------------------------------------------------ demands
    def step_traces(self, now: float) -> None:
        """Set every trace-driven guest's demand to its trace's sample at ``now`` (plus what
        :meth:`add_demand` layered on it)."""
        for d in self.trace_demands:
            k = d.trace.sample_index(now)
            for r, values in d.at(k).items():
                self.want[r][d.guests] = values
        for d in self.trace_demands:
            for r, extra in self._added_demand.items():
                self.want[r][d.guests] += extra[d.guests]
        self.signals.trace_stepped.emit(now)

    def add_demand(self, resource: str, i: int, amount: float) -> None:
        """Add ``amount`` to guest ``i``'s demand of ``resource`` (disk or net bytes/s, ...),
        kept on top of its trace's samples from now on; the caller re-solves."""
        layer = self._added_demand.setdefault(resource, np.zeros(self.guests.n))
        layer[i] += amount
        self.want[resource][i] += amount

    def set_demand(self, resource: str, i: int, value: float) -> None:
        """Set guest ``i``'s demand of ``resource`` (CPU as a fraction of its vCPUs, memory as a
        fraction of its size, bytes/s, IOPS); the caller re-solves."""
        self.want[resource][i] = value

    def resample_traces(self, transform: Callable) -> None:
        """Replace each trace-driven demand's trace by ``transform(demand)`` (None: keep it),
        then step every trace to now; the caller re-solves."""
        for d in self.trace_demands:
            new = transform(d)
            if new is not None:
                d.trace = new
        self.step_traces(self.env.now)

    def add_cpu_overhead(self, i: int, amount: float) -> None:
        """Guest ``i`` now spends ``amount`` more units of CPU inside its vCPUs per unit of
        useful work (a checkpointing replica, for example); the caller re-solves."""
        self.guests.cpu_in_guest[i] += amount
        self._refresh_static(i)

    def _refresh_static(self, i: int) -> None:
        """Guest ``i``'s row of the one-host solve's static table, after its sizes changed."""
        if self.static_rows is not None:
            self.static_rows[i] = static_rows(self, np.array([i]))[0]

    def _request_vectors(self, idx: np.ndarray, **sizes: float) -> list[tuple[float, ...]]:
        """Guests ``idx``'s requests of the pool, as vectors in the pool's resource order
        (``sizes``: ``vcpus``, ``memory`` to ask with instead of their own)."""
        req = self.guests.placement_request(idx, **sizes)
        return list(map(tuple, np.column_stack([req[r] for r in self.pool.resources]).tolist()))

    def resize(
        self,
        i: int,
        *,
        vcpus: float | None = None,
        memory: float | None = None,
        restart_s: float | None = None,
    ) -> bool:
        """Give guest ``i`` ``vcpus`` (a container's CPU limit, cores) and ``memory`` (bytes) from
        now on; None keeps a size. A guest holding a host keeps it: growth must fit in what the
        pool has free there, else nothing changes and False is returned (a ``resize_refused``
        event says why; a migrating guest is refused too). Its memory in use stays the same
        bytes, capped at the new limit. ``restart_s``: a running guest restarts in place with
        its new sizes, running again that many seconds later. The caller counts the event and
        re-solves."""
        g, now, name = self.guests, self.env.now, self.guests.names[i]
        old_v, old_m = float(g.vcpus[i]), float(g.memory[i])
        new_v = old_v if vcpus is None else float(vcpus)
        new_m = old_m if memory is None else float(memory)
        if not self._resize_room(i, new_v, new_m):
            return False
        g.vcpus[i], g.memory[i] = new_v, new_m
        limit = self.scenario.guests[int(g.group[i])].cpu_limit
        g.cap_cores[i] = min(new_v, limit or np.inf)
        self._requests[i] = self._request_vectors(np.array([i]))[0]
        self._refresh_static(i)
        # The same cores and bytes wanted, as fractions of the new sizes.
        self.want["cpu"][i] = min(self.want["cpu"][i] * old_v, new_v) / new_v
        self.want["memory"][i] = min(self.want["memory"][i] * old_m / new_m, 1.0)
        detail = f"vcpus {old_v:g} -> {new_v:g}, memory {old_m / 2**20:g} -> {new_m / 2**20:g} MiB"
        self.events.add(now, "resized", name, detail)
        if restart_s is not None and g.state[i] == gs.RUNNING:
            g.state[i] = gs.BOOTING
            self.events.add(now, "restarting", name, "to resize")
            self.env.timeout(restart_s).callbacks.append(self._booted(np.array([i])))
        return True

    def _resize_room(self, i: int, vcpus: float, memory: float) -> bool:
        """Move guest ``i``'s reservation on its host to the new sizes if they fit there."""
        g = self.guests
        h = int(g.host[i])
        if not gs.HOLDS_HOST[g.state[i]] or g.parent[i] >= 0 or h < 0:
            return True
        why = "migrating" if self.transfers.migrating(i) else None
        if why is None:
            old = self._requests[i]
            new = self._request_vectors(np.array([i]), vcpus=vcpus, memory=memory)[0]
            self.pool.release(h, old)
            if self.pool.fits(h, new):
                self.pool.allocate(h, new)
                return True
            self.pool.allocate(h, old)
            why = f"no room on {self.hosts.names[h]}"
        self.events.add(self.env.now, "resize_refused", g.names[i], why)
        return False

    def set_shares(self, i: int, shares: float) -> None:
        """Guest ``i`` now weighs ``shares`` under CPU contention; the caller re-solves."""
        if self.guests.shares[i] == shares:
            return
        self.guests.shares[i] = shares
        if self.static_rows is not None:  # (only its shares column changes)
            self.static_rows[i, SHARES_COLUMN] = self.guests.shares[i]

    def set_service_load(self, g: int, n_cpu: int) -> None:
        """A service guest now has ``n_cpu`` requests wanting CPU: it asks for that many vCPUs."""
        vcpus = self.guests.vcpus.item(g)
        frac = min(n_cpu, vcpus) / vcpus
        want = self._want_cpu
        if frac == want[g]:
            return
        want[g] = frac
        self.resolve.guest_cpu(g)

    # ------------------------------------------------------------------ power and network
    def set_power(self, power: PowerTables) -> None:
        """Hosts draw power by ``power``'s tables from now on (at the next solve)."""
        self.power = power

    def set_network_unlimited(self) -> None:
        """Model the network as CloudSim does: no contention (every link of the fabric carries
        any rate) and no protocol overhead (flows move at their nominal rates)."""
        self.fabric.capacity[:] = np.inf
        self.protocol = IDEAL
        self.network_contention = False

    def network_settings(self) -> dict:
        """The network in force (what the manifest records): the scenario's section, whether
        its links limit flows and the protocol layer in force (None: no window bound)."""
        p = self.protocol
        return {
            **self.scenario.network.model_dump(mode="json"),
            "contention": self.network_contention,
            "protocol": {
                "goodput": p.goodput,
                "window": None if p.window == np.inf else p.window,
                "latency_factor": p.latency_factor,
                "startup": p.startup,
            },
        }

    # ------------------------------------------------------------------ placement limits
    @contextmanager
    def placement_limits(self, limits: Mapping[str, float | np.ndarray]) -> Iterator[None]:
        """Let the pool admit up to ``limits[resource]`` per host (a value or one per host)
        inside the ``with`` block; the limits in force before come back exactly after it."""
        pool = self.pool
        saved = {r: pool.capacity[r].copy() for r in limits}
        for r, value in limits.items():
            pool.capacity[r][:] = value
        try:
            yield
        finally:
            for r, cap in saved.items():
                pool.capacity[r][:] = cap

    def hold_back_capacity(self, resource: str, fraction: float) -> None:
        """Keep ``fraction`` of every host's ``resource`` out of placement from now on (an
        admission-control reserve); :meth:`placement_limits` can open it."""
        self.pool.capacity[resource] *= 1.0 - fraction

    def has_room(self, h: int, g: int) -> bool:
        return self.pool.fits(h, self._requests[g])

    def hold(self, h: int, g: int) -> None:
        """Reserve guest ``g``'s placement request on host ``h`` (a migration's destination)."""
        self.pool.allocate(h, self._requests[g])

    def unhold(self, h: int, g: int) -> None:
        self.pool.release(h, self._requests[g])

    # ------------------------------------------------------------------ lifecycle
    def start_guests(self, idx: np.ndarray) -> None:
        """Create (or start again) guests: place them, then boot them; those without room are
        rejected. The caller counts the event and re-solves."""
        g = self.guests
        idx = idx[(g.state[idx] == gs.PENDING) | (g.state[idx] == gs.STOPPED)]
        rejected = self.place_and_boot(idx)
        g.state[rejected] = gs.REJECTED
        held = self._affinity_hosts() if len(rejected) else {}
        # The pool no longer changes here: guests that ask the same of it get the same reason,
        # found once (a fleet rejects thousands alike, and each reason reads every host).
        reasons: dict[tuple, str] = {}
        for i in rejected:
            key = self._rejection_key(int(i))
            if key not in reasons:
                reasons[key] = self.why_rejected(int(i), held)
            self.events.add(self.env.now, "rejected", g.names[i], reasons[key])

    def _rejection_key(self, i: int) -> tuple:
        """What :meth:`why_rejected` reads of guest ``i``: its request, anti-affinity group,
        VM, pinned host and tenant."""
        g = self.guests
        tenant = int(self.tenancy.of[i]) if self.tenancy.isolating else -1
        request = tuple(float(v) for v in self._requests[i])
        return (request, int(g.affinity[i]), int(g.parent[i]), int(g.pinned[i]), tenant)

    def why_rejected(self, i: int, held: dict[int, list[int]] | None = None) -> str:
        """The constraint that leaves guest ``i`` without a host now (:mod:`rejection`): the
        tenants' isolation when some enabled host has room for it but isolation rules every such
        host out; ``held``: the hosts holding each anti-affinity group, when the caller has
        them."""
        t = self.tenancy
        if t.isolating:
            request = dict(zip(self.pool.resources, self._requests[i], strict=True))
            if self.pool.feasible(request).any():
                t.sync(self.guests, self.transfers)
                return t.why(int(t.of[i]))
        g = self.guests
        held = self._affinity_hosts() if held is None else held
        group = int(g.affinity[i])
        parent = int(g.parent[i])
        return why_rejected(
            self.pool,
            dict(zip(self.pool.resources, self._requests[i], strict=True)),
            host_names=self.hosts.names,
            held=held.get(group, []) if group >= 0 and group not in self.spread else [],
            rule=g.affinity_names[group] if group >= 0 and group not in self.spread else None,
            pinned=int(g.pinned[i]),
            vm=str(g.names[parent]) if parent >= 0 else None,
            policy=self.placement.name,
        )

    def isolation_forbidden(self, i: int) -> np.ndarray | None:
        """bool[H]: hosts guest ``i`` may not go to under the tenants' isolation (None: no
        tenant is isolated)."""
        t = self.tenancy
        if not t.isolating:
            return None
        t.sync(self.guests, self.transfers)
        return t.forbidden(int(t.of[i]))

    def isolation_keys(self) -> np.ndarray | None:
        """float64[H, T]: which tenants each host holds (None: no tenant is isolated), for a
        controller that groups hosts by what it may place on them."""
        t = self.tenancy
        if not t.isolating:
            return None
        t.sync(self.guests, self.transfers)
        return (t.count > 0).astype(np.float64)

    def isolation_refuses(self, h: int, i: int) -> str | None:
        """Why guest ``i`` may not move to host ``h`` under the tenants' isolation (None: it
        may); a guest already counted there is allowed."""
        t = self.tenancy
        if not t.isolating:
            return None
        t.sync(self.guests, self.transfers)
        return t.reason(h, int(t.of[i]))

    def place_and_boot(self, idx: np.ndarray) -> np.ndarray:
        """Place guests with the scenario's policy and boot them; returns those that found no
        host (their state is left for the caller to decide)."""
        g, now = self.guests, self.env.now
        top = idx[g.parent[idx] < 0]
        hosts = np.full(len(top), -1, dtype=np.int64)
        pinned = g.pinned[top] >= 0
        tenancy = self.tenancy
        if tenancy.listed or not isinstance(self.placement, BuiltinPlacement):
            tenancy.sync(g, self.transfers)
        for j in np.flatnonzero(pinned):
            want = {r: float(v[j]) for r, v in g.placement_request(top).items()}
            pin, t = int(g.pinned[top[j]]), int(tenancy.of[top[j]])
            if self.pool.feasible(want, tenancy.forbidden(t))[pin]:
                hosts[j] = pin
                self.pool.allocate(pin, want)
                tenancy.add(pin, t)
        free = top[~pinned]
        if len(free):
            hosts[~pinned] = self.placement.place(
                self.pool,
                g.placement_request(free),
                (g.names[free], g.vcpu_mips[free]),
                order=self.scenario.scheduler.order,
                groups=g.affinity[free],
                rng=self.placement_rng,
                occupied=self._affinity_hosts(),
                now=now,
                spread=self.spread or None,
                tenants=tenancy.of[free],
                tenancy=tenancy,
            )
        g.place(top, hosts)
        # Containers inside a VM go wherever their VM is, if it holds a host.
        kids = idx[g.parent[idx] >= 0]
        vm = g.parent[kids]
        g.place(
            kids,
            np.where(gs.HOLDS_HOST[g.state[vm]] | np.isin(vm, top[hosts >= 0]), g.host[vm], -1),
        )
        ok = idx[g.host[idx] >= 0]
        g.state[ok] = gs.BOOTING
        for i in ok:
            self.events.add(now, "placed", g.names[i], self.hosts.names[g.host[i]])
        for boot in np.unique(g.boot_s[ok]):
            ev = self.env.timeout(boot)
            ev.callbacks.append(self._booted(ok[g.boot_s[ok] == boot]))
        if len(ok):
            self.signals.guests_placed.emit(ok)
        return idx[g.host[idx] < 0]

    def _booted(self, idx: np.ndarray) -> Callable[[simpy.Event], None]:
        def fire(_: simpy.Event) -> None:
            g = self.guests
            self._event()
            ready = idx[g.state[idx] == gs.BOOTING]
            g.state[ready] = gs.RUNNING
            for i in ready:
                self.events.add(self.env.now, "running", g.names[i])
                if self.jobs.of[i] >= 0:
                    self.jobs.start(int(i))
            self.resolve.everything()

        return fire

    def stop(self, idx: np.ndarray) -> None:
        """Stop guests (and the containers inside them); they release their hosts. The caller
        counts the event and re-solves."""
        g = self.guests
        idx = np.union1d(idx, np.flatnonzero(np.isin(g.parent, idx)))
        idx = idx[gs.HOLDS_HOST[g.state[idx]]]
        for i in idx:
            if g.parent[i] < 0:
                self.pool.release(int(g.host[i]), self.request_of(int(i)))
            self.events.add(self.env.now, "stopped", g.names[i])
        g.state[idx] = gs.STOPPED
        g.place(idx, -1)
        for i in idx:
            self.transfers.cancel_for(int(i))
        if len(idx):
            self.signals.guests_stopped.emit(idx)

    def stop_while_down(self, idx: np.ndarray, detail: str = "while down") -> None:
        """Guests that are down (no host) are stopped for good instead of restarted."""
        g = self.guests
        for i in idx[g.state[idx] == gs.DOWN]:
            g.state[i] = gs.STOPPED
            self.events.add(self.env.now, "stopped", g.names[i], detail)

    def pause(self, idx: np.ndarray) -> None:
        self._transition(idx, gs.RUNNING, gs.PAUSED, "paused")

    def resume(self, idx: np.ndarray) -> None:
        self._transition(idx, gs.PAUSED, gs.RUNNING, "resumed")

    def _transition(self, idx: np.ndarray, source: int, target: int, kind: str) -> None:
        g = self.guests
        for i in idx:
            if g.state[i] == source:
                g.state[i] = target
                self.events.add(self.env.now, kind, g.names[i])
            else:
                self.events.add(
                    self.env.now, f"{kind}_ignored", g.names[i], gs.STATE_NAMES[g.state[i]]
                )

    def delete(self, idx: np.ndarray) -> None:
        self.stop(idx)
        for i in idx:
            self.guests.state[i] = gs.DELETED
            self.events.add(self.env.now, "deleted", self.guests.names[i])

    # ------------------------------------------------------------------ migration support
    def suspend_for_move(self, g: int) -> bool:
        """Pause guest ``g`` for a stop-and-copy, silently; returns whether it was running."""
        was_running = bool(self.guests.state[g] == gs.RUNNING)
        if was_running:
            self.guests.state[g] = gs.PAUSED
        return was_running

    def move(self, g: int, dst: int, resume: bool) -> None:
        """Guest ``g`` (with the containers inside it) now runs on host ``dst``."""
        gt = self.guests
        gt.place(g, dst)
        if self.has_children[g]:
            kids = np.flatnonzero((gt.parent == g) & gs.HOLDS_HOST[gt.state])
            gt.place(kids, dst)
        if resume:
            gt.state[g] = gs.RUNNING

    def migrate(self, g: int, dst: int) -> bool:
        """Start moving guest ``g`` to host ``dst`` with the scenario's migration settings;
        False (with a ``migration_refused`` event) when it cannot start."""
        self._event()
        ok = self.transfers.start(g, dst)
        if ok:
            self.resolve.everything()
        return ok

    # ------------------------------------------------------------------ host power states
    def switch_off(self, h: int) -> bool:
        """Switch an empty host off (0 W, no capacity); False if anything still uses it."""
        there = self.guests.on_host(h)
        busy = gs.HOLDS_HOST[self.guests.state[there]].any() or self.transfers.touches(h)
        if busy or self.hosts.state[h] != HOST_ON:
            return False
        self._event()
        self._set_host_state(h, HOST_OFF, "host_off")
        self.resolve.host(h)  # an empty host: nothing but its own power changes
        return True

    def switch_on(self, h: int, boot_s: float = 0.0) -> None:
        """Switch an off host on; it draws idle power while booting and takes guests after
        (at once when ``boot_s`` is 0)."""
        if self.hosts.state[h] != HOST_OFF:
            return
        self._event()
        self._set_host_state(h, HOST_BOOTING, "host_booting")
        if boot_s > 0:
            self.resolve.host(h)  # still empty: only its power changes

        def up(_: simpy.Event | None) -> None:
            if self.hosts.state[h] != HOST_BOOTING:
                return
            self._event()
            self._set_host_state(h, HOST_ON, "host_on")
            self.resolve.host(h)

        if boot_s > 0:
            self.env.timeout(boot_s).callbacks.append(up)
        else:
            up(None)

    def _set_host_state(self, h: int, state: int, kind: str, detail: str = "") -> None:
        self.hosts.state[h] = state
        self.pool.enabled[h] = state == HOST_ON
        self.events.add(self.env.now, kind, self.hosts.names[h], detail)
        self.signals.host_state.emit(h, state)

    # ------------------------------------------------------------------ failures
    def fail_host(self, h: int, detail: str = "") -> np.ndarray:
        """Host ``h`` fails: it stops contributing capacity and power, and every guest on it goes
        down (returned). It stays failed until :meth:`repair_host`."""
        self._event()
        self._set_host_state(h, HOST_FAILED, "host_failed", detail)
        there = self.guests.on_host(h)
        victims = there[gs.HOLDS_HOST[self.guests.state[there]]]
        self._take_down(victims, "host failure")
        self.resolve.everything()
        return victims

    def repair_host(self, h: int) -> None:
        """Host ``h`` is back, empty."""
        self._event()
        self._set_host_state(h, HOST_ON, "host_repaired")
        self.resolve.everything()

    def crash_guest(self, i: int, detail: str = "") -> np.ndarray:
        """Guest ``i`` crashes (with the containers inside it); returns those that went down."""
        self._event()
        g = self.guests
        if not gs.HOLDS_HOST[g.state[i]]:
            return np.zeros(0, dtype=np.int64)
        victims = np.union1d([i], np.flatnonzero((g.parent == i) & gs.HOLDS_HOST[g.state]))
        self._take_down(victims, detail or "guest crash")
        self.resolve.everything()
        return victims

    def restart(
        self, idx: np.ndarray, *, boot_s: float | None = None, pin: int | None = None
    ) -> np.ndarray:
        """Place and boot guests that are down; returns those that found no host (still down).
        ``boot_s`` replaces their boot time for this start (a replica taking over: 0);
        ``pin`` places the top-level ones on that host only (a hypervisor's autostart)."""
        self._event()
        g = self.guests
        idx = np.asarray(idx, dtype=np.int64)
        top = idx[g.parent[idx] < 0]
        old_pin, old_boot = g.pinned[top].copy(), g.boot_s[idx].copy()
        if pin is not None:
            g.pinned[top] = pin
        if boot_s is not None:
            g.boot_s[idx] = boot_s
        try:
            down = idx[g.state[idx] == gs.DOWN]
            waiting = self.place_and_boot(down)
        finally:
            g.boot_s[idx], g.pinned[top] = old_boot, old_pin
        for i in waiting:
            self.events.add(self.env.now, "restart_failed", g.names[i], "no host has room")
        self.resolve.everything()
        return waiting

    def _take_down(self, victims: np.ndarray, why: str) -> None:
        g = self.guests
        for i in victims:
            if g.parent[i] < 0:
                self.pool.release(int(g.host[i]), self.request_of(int(i)))
            self.events.add(self.env.now, "guest_down", g.names[i], why)
        g.state[victims] = gs.DOWN
        g.place(victims, -1)
        for i in victims:
            self.transfers.cancel_for(int(i))
        if len(victims):
            self.signals.guests_down.emit(victims)

    def _affinity_hosts(self) -> dict[int, list[int]]:
        """Hosts already holding a member of each anti-affinity group."""
        g = self.guests
        holding = (g.affinity >= 0) & gs.HOLDS_HOST[g.state] & (g.host >= 0)
        out: dict[int, list[int]] = defaultdict(list)
        for label, h in zip(g.affinity[holding], g.host[holding], strict=True):
            out[int(label)].append(int(h))
        return out

    # ------------------------------------------------------------------ scheduled changes
    def _trace_stepper(self):
        """Step every trace-driven guest at each sample boundary of any trace, all at once."""
        bounds = [d.trace.times for d in self.trace_demands]
        if not bounds:
            return
        times = np.unique(np.concatenate(bounds))
        for t in times[(times > 0) & (times < self.scenario.duration)]:
            yield self.env.timeout(t - self.env.now)
            self._event()
            self.step_traces(t)
            self.resolve.everything()

    def _schedule_lifecycle(self) -> None:
        """Group the scenario's starts, stops and events by time; one SimPy event per instant."""
        actions: dict[float, list[tuple[str, np.ndarray]]] = defaultdict(list)
        g = self.guests
        # A deployment's replicas start when its controller asks (vsim.model.deployments), an
        # attack's VMs when the attack launches them (vsim.model.attacks).
        start = np.array(
            [
                np.inf if (s := self.scenario.guests[k]).deployment or s.attack else s.start
                for k in g.group
            ]
        )
        stop = np.array([self.scenario.guests[k].stop or np.inf for k in g.group])
        for t in np.unique(start):
            actions[float(t)].append(("start", np.flatnonzero(start == t)))
        for t in np.unique(stop[np.isfinite(stop)]):
            actions[float(t)].append(("stop", np.flatnonzero(stop == t)))
        index = {n: i for i, n in enumerate(g.names)}
        hosts = {n: i for i, n in enumerate(self.hosts.names)}
        for e in self.scenario.events:
            if e.action == "migrate":
                actions[e.at].append(("migrate", np.array([index[e.guest], hosts[e.to]])))
            else:
                actions[e.at].append((e.action, np.array([index[e.guest]])))
        for t in sorted(actions):
            if t < self.scenario.duration:
                ev = self.env.timeout(t)
                ev.callbacks.append(self._lifecycle(actions[t]))

    def _lifecycle(self, batch: list[tuple[str, np.ndarray]]) -> Callable[[simpy.Event], None]:
        handlers = {
            "start": self.start_guests,
            "stop": self.stop,
            "pause": self.pause,
            "resume": self.resume,
            "delete": self.delete,
            "migrate": lambda pair: self.transfers.start(int(pair[0]), int(pair[1])),
        }

        def fire(_: simpy.Event) -> None:
            self._event()
            for action, idx in batch:
                handlers[action](idx)
            self.resolve.everything()

        return fire


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view
