"""The simulated datacenter: SimPy owns time, resources are shared as a fluid.

Between two events every rate is constant. When something changes (a guest starts, stops,
pauses, a trace steps to its next sample, a batch phase ends) the engine first integrates the
elapsed interval at the old rates, then re-solves weighted max-min sharing for CPU, disk
bandwidth, disk IOPS and NIC bandwidth of every host at once (``vsim.core.sharing``), then
reschedules the completions whose rate changed. A completion remembers the version of its
guest's rate; a stale one is ignored when it fires (SimPy cannot cancel a timeout).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
import simpy

from vsim.core.flows import maxmin_flows
from vsim.core.placement import HostPool
from vsim.core.sharing import maxmin_share
from vsim.metrics import GUEST_COLUMNS, EventLog, SampleRecorder
from vsim.model import guests as gs
from vsim.model.consolidation import start_consolidation
from vsim.model.failures import start_failures
from vsim.model.hosts import HOST_BOOTING, HOST_FAILED, HOST_OFF, HOST_ON, HostTable
from vsim.model.migration import Migrator
from vsim.model.network import build_fabric
from vsim.model.power import PowerTables
from vsim.model.services import RequestLog, build_stations
from vsim.model.workloads import build_demands
from vsim.scenario.schema import Scenario

PAGE_BYTES = 4096  # swap-in reads one page per I/O operation
CPU, IO, NET, DONE = 0, 1, 2, 3  # phases of a batch job
GUEST_RATES = GUEST_COLUMNS
HOST_RATES = ("cpu", "hypervisor", "mem", "disk", "net", "power")


class Simulation:
    """One run of a scenario. Build it, call :meth:`run`, then read the recorder and event log."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.env = simpy.Environment()
        placement_seq, workload_seq, service_seq = np.random.SeedSequence(scenario.seed).spawn(3)
        self.placement_rng = np.random.default_rng(placement_seq)
        self.hosts = HostTable.from_scenario(scenario)
        self.guests = GuestTable_from(scenario)
        oc = scenario.scheduler.overcommit
        self.pool = HostPool(
            self.hosts.placement_capacity(),
            overcommit={"cpu": oc.cpu, "memory": oc.memory, "disk": oc.disk, "net": oc.net},
        )
        self.trace_demands, self.batch_demands = build_demands(
            scenario, self.guests.group, self.guests.names, np.random.default_rng(workload_seq)
        )
        n = self.guests.n
        # What each guest wants while running: CPU as a fraction of its vCPUs, memory as a
        # fraction of its size, disk and network in bytes/s, IOPS in operations/s.
        self.want = {r: np.zeros(n) for r in ("cpu", "memory", "disk", "iops", "net")}
        # Batch jobs.
        self.job_of = np.full(n, -1, dtype=np.int64)
        for j, b in enumerate(self.batch_demands):
            self.job_of[b.guests] = j
            self.want["memory"][b.guests] = b.memory
        self.phase = np.full(n, CPU, dtype=np.int8)
        self.remaining = np.zeros(n)
        self.job_rate = np.zeros(n)
        self.version = np.zeros(n, dtype=np.int64)
        self.job_started = np.full(n, np.nan)
        self.job_round = np.zeros(n, dtype=np.int64)
        self.job_replan = np.zeros(n, dtype=bool)
        self.job_finished = np.full(n, np.nan)
        # Current rates of every guest and host, constant until the next change; named like the
        # recorded columns. Guests: MIPS the workload asks for, MIPS of useful work it gets (net
        # of virtualization overhead and swap stalls), MIPS its vCPUs run (overhead included),
        # MIPS of overhead (in its vCPUs plus the hypervisor's on its behalf), memory in use,
        # disk and network bytes/s. Hosts: CPU MIPS in use, of which the hypervisor's, memory
        # in use, disk busy fraction, NIC bytes/s, watts.
        self.rate = {c: np.zeros(n) for c in GUEST_RATES}
        self.host_rate = {c: np.zeros(self.hosts.n) for c in HOST_RATES}
        self.power = PowerTables.from_scenario(scenario)
        # Integrals since the last sample, and totals (summed over guests or hosts) over the run.
        self.last_t = 0.0
        self._acc_guest = {c: np.zeros(n) for c in GUEST_RATES}
        self._acc_host = {c: np.zeros(self.hosts.n) for c in HOST_RATES}
        self.total = dict.fromkeys((*GUEST_RATES, *HOST_RATES), 0.0)
        self.events = EventLog()
        self.n_events = 0
        times = np.arange(1, int(np.ceil(scenario.duration / scenario.sample_interval)) + 1)
        self.sample_times = np.minimum(times * scenario.sample_interval, scenario.duration)
        self.recorder = SampleRecorder(self.sample_times, self.hosts.n, n)
        self.fabric = build_fabric(scenario.network, self.hosts.net_bw)
        self.migrator = Migrator(self)
        self.has_children = (
            np.bincount(self.guests.parent[self.guests.parent >= 0], minlength=n) > 0
        )
        self.requests = RequestLog()
        self.stations = build_stations(self, service_seq)
        self._station_idx = np.array(sorted(self.stations), dtype=np.int64)
        self._station_useful = np.zeros(len(self._station_idx))
        self._schedule_lifecycle()
        self._step_traces_to(0)
        self._reshare()
        self.env.process(self._trace_stepper())
        if scenario.failures is not None:
            start_failures(self)
        if scenario.consolidation is not None:
            self.consolidation = start_consolidation(self)

    # ------------------------------------------------------------------ running
    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Simulate the whole duration, recording one sample per interval."""
        for k, t in enumerate(self.sample_times):
            self.env.run(until=t)
            self._advance(t)
            self._record(k, t - (self.sample_times[k - 1] if k else 0.0))
            if progress is not None:
                progress(t)

    def _record(self, k: int, span: float) -> None:
        h, g = self.hosts, self.guests
        acc = self._acc_host
        self.recorder.record_hosts(
            k,
            h.state,
            cpu_util=acc["cpu"] / span / h.cpu_mips,
            hypervisor_util=acc["hypervisor"] / span / h.cpu_mips,
            mem_util=acc["mem"] / span / h.memory,
            disk_util=acc["disk"] / span,
            net_util=acc["net"] / span / h.net_bw,
            power_w=acc["power"] / span,
        )
        ag = self._acc_guest
        self.recorder.record_guests(k, g.host, g.state, **{c: ag[c] / span for c in GUEST_RATES})
        for arr in (*acc.values(), *ag.values()):
            arr.fill(0.0)

    def _advance(self, now: float) -> None:
        """Integrate every rate over [last change, now] and progress running batch jobs."""
        dt = now - self.last_t
        if dt <= 0:
            return
        for rates, acc in ((self.rate, self._acc_guest), (self.host_rate, self._acc_host)):
            for c, rate in rates.items():
                acc[c] += rate * dt
                self.total[c] += float(rate.sum()) * dt
        self.remaining -= self.job_rate * dt
        self.migrator.advance(dt)
        self.last_t = now

    # ------------------------------------------------------------------ sharing
    def _reshare(self) -> None:
        """Re-solve the fluid allocation of every resource of every host for the current state."""
        g, h = self.guests, self.hosts
        placed = g.host >= 0
        host = np.where(placed, g.host, 0)
        host_on = placed & (h.state[host] == HOST_ON)
        holds = gs.HOLDS_HOST[g.state] & host_on
        running = (g.state == gs.RUNNING) & host_on
        top = g.parent < 0
        is_job = self.job_of >= 0

        # Memory: allocated, not shared. A VM's footprint includes the containers inside it.
        own_mem = np.where(holds, self.want["memory"] * g.memory, 0.0)
        inner = ~top & holds
        child_mem = np.bincount(g.parent[inner], own_mem[inner], minlength=g.n)
        footprint = np.where(top & holds, np.minimum(g.memory, own_mem + child_mem), 0.0)
        footprint += np.where(top & holds, g.mem_overhead, 0.0)
        host_mem = np.bincount(host[top], footprint[top], minlength=h.n)
        m_hosts, m_mem = self.migrator.extra_memory()
        host_mem += np.bincount(m_hosts, m_mem, minlength=h.n)
        excess = np.maximum(host_mem - h.memory, 0.0)
        swapped = np.divide(excess, host_mem, out=np.zeros(h.n), where=host_mem > 0)
        swap_frac = np.where(holds, swapped[host], 0.0)
        swap_bps = swap_frac * own_mem * self.scenario.memory.swap_touch_rate

        # CPU: weighted max-min with caps; containers in a VM share what their VM gets.
        # Virtualization inflates a top-level guest's work: each unit of useful work costs
        # k_in units inside its vCPUs (capped by them) and k_tot units of host CPU in all.
        cap = g.cap_cores * np.minimum(g.vcpu_mips, h.core_mips[host])
        k_in = 1.0 + g.cpu_in_guest
        k_tot = k_in + g.cpu_on_host
        job_cpu = is_job & (self.phase == CPU)
        wanted = np.where(job_cpu, cap, self.want["cpu"] * g.vcpus * g.vcpu_mips)
        wanted = np.where(is_job & ~job_cpu, 0.0, wanted)
        demand = np.where(running, wanted, 0.0)
        request = np.minimum(demand, cap)
        running_child = ~top & running & (g.state[np.maximum(g.parent, 0)] == gs.RUNNING)
        request = np.where(top | running_child, request, 0.0)
        child_req = np.bincount(g.parent[~top], request[~top], minlength=g.n)
        vm_request = np.where(top, np.minimum(cap / k_in, request + child_req) * k_tot, 0.0)
        grant = np.zeros(g.n)
        t_idx = np.flatnonzero(top & running)
        # Migration threads contend for CPU on both ends like any other consumer.
        mig_host, mig_cpu = self.migrator.cpu_consumers()
        solved = maxmin_share(
            h.cpu_mips,
            np.concatenate([host[t_idx], mig_host]),
            np.concatenate([g.shares[t_idx], np.full(len(mig_host), 1024.0)]),
            np.concatenate([vm_request[t_idx], mig_cpu]),
        )
        grant[t_idx] = solved[: len(t_idx)]
        mig_grant = solved[len(t_idx) :]
        own = grant / k_tot  # useful work of the guest and the containers inside it
        parents = np.unique(g.parent[running_child])
        if len(parents):
            # Inside each VM with containers: the VM's own work and its containers share the
            # VM's grant by their shares, each capped at its own request.
            kids = np.flatnonzero(running_child)
            who = np.concatenate([parents, kids])
            grp = np.searchsorted(parents, np.concatenate([parents, g.parent[kids]]))
            split = maxmin_share(
                own[parents],
                grp,
                g.shares[who],
                np.concatenate([request[parents], request[kids]]),
            )
            own[who] = split
        own = np.where(top | running_child, own, 0.0)
        useful = own / (1.0 + self.scenario.memory.swap_penalty * swap_frac)
        slowed, loss = self.migrator.slowdown()
        useful[slowed] *= 1.0 - loss
        vm_of = np.where(top, np.arange(g.n), np.maximum(g.parent, 0))
        in_guest = own * k_in[vm_of]  # CPU time the guest's vCPUs spend, overhead included
        hypervisor = own * g.cpu_on_host[vm_of]

        # Disk bandwidth and IOPS, NIC bandwidth: flat sharing among everything on the host.
        greedy = np.inf
        disk_req = np.where(is_job & (self.phase == IO), greedy, self.want["disk"])
        disk_req = np.where(running, disk_req, 0.0) + swap_bps
        iops_req = np.where(running, self.want["iops"], 0.0) + swap_bps / PAGE_BYTES
        net_req = np.where(is_job & (self.phase == NET), greedy, self.want["net"])
        net_req = np.where(running, net_req, 0.0)
        on = np.flatnonzero(host_on)
        disk = np.zeros(g.n)
        iops = np.zeros(g.n)
        weights = np.ones(len(on))
        disk[on] = maxmin_share(h.disk_bw, host[on], weights, disk_req[on])
        iops[on] = maxmin_share(h.disk_iops, host[on], weights, iops_req[on])
        # Network: guest traffic leaves through its host's links to the core; migrations go
        # host to host. Every flow gets a max-min fair rate over all the links it crosses.
        talk = np.flatnonzero(host_on & (net_req > 0))
        ptr, links = self.fabric.routes_outside(host[talk])
        n_mig = len(self.migrator.active)
        if n_mig:
            m_ptr, m_links = self.migrator.routes()
            ptr = np.concatenate([ptr, ptr[-1] + m_ptr[1:]])
            links = np.concatenate([links, m_links])
        flow_rate = maxmin_flows(
            self.fabric.capacity,
            ptr,
            links,
            np.ones(len(talk) + n_mig),
            np.concatenate([net_req[talk], np.full(n_mig, self.migrator.demand())]),
        )
        net = np.zeros(g.n)
        net[talk] = flow_rate[: len(talk)]
        load = np.bincount(
            links, np.repeat(flow_rate, np.diff(ptr)), minlength=len(self.fabric.capacity)
        )
        all_hosts = np.arange(h.n)
        nic_load = np.maximum(
            load[self.fabric.host_uplink(all_hosts)], load[self.fabric.host_downlink(all_hosts)]
        )

        r = self.rate
        r["cpu_demand_mips"] = demand
        r["cpu_useful_mips"] = useful
        r["cpu_alloc_mips"] = in_guest
        r["cpu_overhead_mips"] = in_guest - own + hypervisor
        r["mem_bytes"] = own_mem
        r["disk_bps"] = disk
        r["net_bps"] = net
        hr = self.host_rate
        hr["cpu"] = np.bincount(host[top], grant[top], minlength=h.n)
        hr["cpu"] += np.bincount(mig_host, mig_grant, minlength=h.n)
        hr["hypervisor"] = np.bincount(host, hypervisor, minlength=h.n)
        hr["hypervisor"] += np.bincount(mig_host, mig_grant, minlength=h.n)
        hr["mem"] = host_mem
        # A disk is as busy as the tighter of its two limits.
        hr["disk"] = np.maximum(
            np.bincount(host[on], disk[on], minlength=h.n) / h.disk_bw,
            np.bincount(host[on], iops[on], minlength=h.n) / h.disk_iops,
        )
        hr["net"] = nic_load
        powered = (h.state == HOST_ON) | (h.state == HOST_BOOTING)
        hr["power"] = self.power.watts(hr["cpu"] / h.cpu_mips, powered)
        # Kept for the single-guest fast path of request-level services.
        self._cpu_cap, self._cpu_request, self._cpu_grant = cap, vm_request, grant
        self._swap_frac = swap_frac
        self._host_request = np.bincount(host[t_idx], vm_request[t_idx], minlength=h.n)
        self._reschedule_jobs(np.select([self.phase == CPU, self.phase == IO], [useful, disk], net))
        if n_mig:
            self.migrator.set_rates(flow_rate[len(talk) :])
        if self.stations:
            changed = self._station_idx[useful[self._station_idx] != self._station_useful]
            self._station_useful = useful[self._station_idx]
            for i in changed:
                self.stations[i].rate_changed()

    # ------------------------------------------------------------------ request-level services
    def is_running(self, g: int) -> bool:
        return self.guests.state[g] == gs.RUNNING

    def useful_mips(self, g: int) -> float:
        return float(self.rate["cpu_useful_mips"][g])

    def set_service_load(self, g: int, n_cpu: int) -> None:
        """A service guest now has ``n_cpu`` requests wanting CPU: it asks for that many vCPUs."""
        vcpus = self.guests.vcpus[g]
        frac = min(n_cpu, vcpus) / vcpus
        if frac == self.want["cpu"][g]:
            return
        self.want["cpu"][g] = frac
        if not self._fast_cpu_update(g):
            self._advance(self.env.now)
            self._reshare()

    def _fast_cpu_update(self, g: int) -> bool:
        """Apply one guest's new CPU demand without re-solving, when nothing else can change.

        That holds when its host is uncontended before and after (every guest there gets its
        whole request), the guest has no containers inside and no memory swapped. Rates change
        only for this guest and its host; the accumulators are corrected so that the next
        integration over [last_t, later] counts the old rate up to now and the new one after.
        """
        gt = self.guests
        if gt.state[g] != gs.RUNNING or self.has_children[g] or self._swap_frac[g] > 0:
            return False
        h = gt.host[g]
        capacity = self.hosts.cpu_mips[h] * (1 + 1e-12)  # equal sum: still all granted
        old_req = self._cpu_request[g]
        cap = self._cpu_cap[g]
        k_in = 1.0 + gt.cpu_in_guest[g]
        k_tot = k_in + gt.cpu_on_host[g]
        demand = self.want["cpu"][g] * gt.vcpus[g] * gt.vcpu_mips[g]
        request = min(cap / k_in, demand) * k_tot
        host_req = self._host_request[h] - old_req + request
        if self._host_request[h] > capacity or host_req > capacity:
            return False
        self._cpu_request[g] = request
        self._host_request[h] = host_req
        own = request / k_tot
        dt = self.env.now - self.last_t
        old_grant = self._cpu_grant[g]
        self._cpu_grant[g] = request
        self._set_rate(
            self.rate,
            self._acc_guest,
            g,
            dt,
            {
                "cpu_demand_mips": demand,
                "cpu_useful_mips": own,
                "cpu_alloc_mips": own * k_in,
                "cpu_overhead_mips": own * (k_in - 1.0 + gt.cpu_on_host[g]),
            },
        )
        hr = self.host_rate
        cpu = hr["cpu"][h] - old_grant + request
        self._set_rate(
            hr,
            self._acc_host,
            h,
            dt,
            {
                "cpu": cpu,
                "hypervisor": hr["hypervisor"][h]
                + (request - old_grant) * gt.cpu_on_host[g] / k_tot,
                "power": self.power.watts_one(h, cpu / self.hosts.cpu_mips[h]),
            },
        )
        return True

    def _set_rate(self, rates: dict, acc: dict, i: int, dt: float, new: dict) -> None:
        for c, value in new.items():
            old = rates[c][i]
            if old != value:
                acc[c][i] += (old - value) * dt
                self.total[c] += (old - value) * dt
                rates[c][i] = value

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
            t += net_bytes / h.net_bw[host] + gt.net_latency[g]
        return t

    def hop_delay(self, src: int, dst: int, nbytes: float) -> float:
        """Moving a request from one tier's guest to the next: NIC transfer and latencies."""
        gt, h = self.guests, self.hosts
        a, b = gt.host[src], gt.host[dst]
        t = gt.net_latency[src] + gt.net_latency[dst]
        if a != b:
            ptr, links = self.fabric.routes(np.array([a]), np.array([b]))
            t += nbytes / min(h.net_bw[a], h.net_bw[b]) + float(self.fabric.latency[links].sum())
        return t

    def _reschedule_jobs(self, phase_rate: np.ndarray) -> None:
        job_running = (self.job_of >= 0) & (self.guests.state == gs.RUNNING) & (self.phase < DONE)
        rate = np.where(job_running, phase_rate, 0.0)
        changed = np.flatnonzero((rate != self.job_rate) | self.job_replan)
        self.job_replan[:] = False
        self.job_rate = rate
        self.version[changed] += 1
        for i in changed:
            if rate[i] > 0:
                done = self.env.timeout(max(self.remaining[i], 0.0) / rate[i])
                done.callbacks.append(self._job_phase_done(int(i), int(self.version[i])))

    # ------------------------------------------------------------------ events
    def _job_phase_done(self, i: int, version: int) -> Callable[[simpy.Event], None]:
        def fire(_: simpy.Event) -> None:
            if self.version[i] != version:
                return  # rates changed since this completion was computed
            self._advance(self.env.now)
            self.n_events += 1
            self._enter_phase(i, self.phase[i] + 1)
            self._reshare()

        return fire

    def _enter_phase(self, i: int, phase: int) -> None:
        """Move job ``i`` to ``phase``, skipping phases with no work."""
        b = self.batch_demands[self.job_of[i]]
        work = (b.cpu_work, b.io_bytes, b.net_bytes)
        while phase < DONE and work[phase] <= 0:
            phase += 1
        if phase == DONE and self.job_round[i] + 1 < b.repeat:
            self.job_round[i] += 1  # the next of its repeated executions starts at once
            self._enter_phase(i, CPU)
            return
        self.phase[i] = phase
        self.remaining[i] = work[phase] if phase < DONE else 0.0
        self.job_replan[i] = True  # new work: its end must be scheduled even at an equal rate
        if phase == DONE:
            now = self.env.now
            self.job_finished[i] = now
            self.events.add(
                now, "job_done", self.guests.names[i], f"{now - self.job_started[i]:.6g} s"
            )
            if b.stop_when_done:
                self._stop(np.array([i]))

    def _step_traces_to(self, now: float) -> None:
        for d in self.trace_demands:
            k = d.trace.sample_index(now)
            for r, values in d.at(k).items():
                self.want[r][d.guests] = values

    def _trace_stepper(self):
        """Step every trace-driven guest at each sample boundary of any trace, all at once."""
        bounds = [d.trace.times for d in self.trace_demands]
        if not bounds:
            return
        times = np.unique(np.concatenate(bounds))
        for t in times[(times > 0) & (times < self.scenario.duration)]:
            yield self.env.timeout(t - self.env.now)
            self._advance(t)
            self.n_events += 1
            self._step_traces_to(t)
            self._reshare()

    def _schedule_lifecycle(self) -> None:
        """Group the scenario's starts, stops and events by time; one SimPy event per instant."""
        actions: dict[float, list[tuple[str, np.ndarray]]] = defaultdict(list)
        g = self.guests
        start = np.array([self.scenario.guests[k].start for k in g.group])
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
                ev.callbacks.append(self._apply(actions[t]))

    def _apply(self, batch: list[tuple[str, np.ndarray]]) -> Callable[[simpy.Event], None]:
        handlers = {
            "start": self._start,
            "stop": self._stop,
            "pause": self._pause,
            "resume": self._resume,
            "delete": self._delete,
            "migrate": lambda pair: self.migrator.start(int(pair[0]), int(pair[1])),
        }

        def fire(_: simpy.Event) -> None:
            self._advance(self.env.now)
            self.n_events += 1
            for action, idx in batch:
                handlers[action](idx)
            self._reshare()

        return fire

    def _start(self, idx: np.ndarray) -> None:
        """Create (or start again) guests: place them, then boot them."""
        g = self.guests
        idx = idx[(g.state[idx] == gs.PENDING) | (g.state[idx] == gs.STOPPED)]
        for i in self.place_and_boot(idx):
            g.state[i] = gs.REJECTED
            self.events.add(self.env.now, "rejected", g.names[i], "no host has room")

    def place_and_boot(self, idx: np.ndarray) -> np.ndarray:
        """Place guests with the scenario's policy and boot them; returns those that found no
        host (their state is left for the caller to decide)."""
        g, now = self.guests, self.env.now
        top = idx[g.parent[idx] < 0]
        hosts = np.full(len(top), -1, dtype=np.int64)
        pinned = g.pinned[top] >= 0
        for j in np.flatnonzero(pinned):
            want = {r: float(v[j]) for r, v in g.placement_request(top).items()}
            if self.pool.feasible(want)[g.pinned[top[j]]]:
                hosts[j] = g.pinned[top[j]]
                self.pool.allocate(int(hosts[j]), want)
        free = top[~pinned]
        if len(free):
            hosts[~pinned] = self.pool.place_batch(
                g.placement_request(free),
                self.scenario.scheduler.policy,
                order=self.scenario.scheduler.order,
                groups=g.affinity[free],
                rng=self.placement_rng,
                occupied=self._affinity_hosts(),
            )
        g.host[top] = hosts
        # Containers inside a VM go wherever their VM is, if it holds a host.
        kids = idx[g.parent[idx] >= 0]
        vm = g.parent[kids]
        g.host[kids] = np.where(
            gs.HOLDS_HOST[g.state[vm]] | np.isin(vm, top[hosts >= 0]), g.host[vm], -1
        )
        ok = idx[g.host[idx] >= 0]
        g.state[ok] = gs.BOOTING
        for i in ok:
            self.events.add(now, "placed", g.names[i], self.hosts.names[g.host[i]])
        for boot in np.unique(g.boot_s[ok]):
            ev = self.env.timeout(boot)
            ev.callbacks.append(self._booted(ok[g.boot_s[ok] == boot]))
        return idx[g.host[idx] < 0]

    # ------------------------------------------------------------------ migration (public API)
    def migrate(self, g: int, dst: int) -> bool:
        """Start moving guest ``g`` to host ``dst`` with the scenario's migration settings;
        False (with a ``migration_refused`` event) when it cannot start."""
        self._advance(self.env.now)
        self.n_events += 1
        ok = self.migrator.start(g, dst)
        if ok:
            self._reshare()
        return ok

    # ------------------------------------------------------------------ host power states
    def switch_off(self, h: int) -> bool:
        """Switch an empty host off (0 W, no capacity); False if anything still uses it."""
        busy = np.any(gs.HOLDS_HOST[self.guests.state] & (self.guests.host == h))
        busy = busy or any(h in (m.src, m.dst) for m in self.migrator.active)
        if busy or self.hosts.state[h] != HOST_ON:
            return False
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_OFF
        self.pool.enabled[h] = False
        self.events.add(self.env.now, "host_off", self.hosts.names[h])
        self._reshare()
        return True

    def switch_on(self, h: int, boot_s: float = 0.0) -> None:
        """Switch an off host on; it draws idle power while booting and takes guests after."""
        if self.hosts.state[h] != HOST_OFF:
            return
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_BOOTING
        self.events.add(self.env.now, "host_booting", self.hosts.names[h])
        self._reshare()

        def up(_: simpy.Event) -> None:
            if self.hosts.state[h] != HOST_BOOTING:
                return
            self._advance(self.env.now)
            self.n_events += 1
            self.hosts.state[h] = HOST_ON
            self.pool.enabled[h] = True
            self.events.add(self.env.now, "host_on", self.hosts.names[h])
            self._reshare()

        self.env.timeout(boot_s).callbacks.append(up)

    # ------------------------------------------------------------------ failures (public API)
    def fail_host(self, h: int, detail: str = "") -> np.ndarray:
        """Host ``h`` fails: it stops contributing capacity and power, and every guest on it goes
        down (returned). It stays failed until :meth:`repair_host`."""
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_FAILED
        self.pool.enabled[h] = False
        self.events.add(self.env.now, "host_failed", self.hosts.names[h], detail)
        victims = np.flatnonzero((self.guests.host == h) & gs.HOLDS_HOST[self.guests.state])
        self._take_down(victims, "host failure")
        self._reshare()
        return victims

    def repair_host(self, h: int) -> None:
        """Host ``h`` is back, empty."""
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_ON
        self.pool.enabled[h] = True
        self.events.add(self.env.now, "host_repaired", self.hosts.names[h])
        self._reshare()

    def crash_guest(self, i: int, detail: str = "") -> np.ndarray:
        """Guest ``i`` crashes (with the containers inside it); returns those that went down."""
        self._advance(self.env.now)
        self.n_events += 1
        g = self.guests
        if not gs.HOLDS_HOST[g.state[i]]:
            return np.zeros(0, dtype=np.int64)
        victims = np.union1d([i], np.flatnonzero((g.parent == i) & gs.HOLDS_HOST[g.state]))
        self._take_down(victims, detail or "guest crash")
        self._reshare()
        return victims

    def restart(self, idx: np.ndarray) -> np.ndarray:
        """Place and boot guests that are down; returns those that found no host (still down)."""
        self._advance(self.env.now)
        self.n_events += 1
        g = self.guests
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[g.state[idx] == gs.DOWN]
        waiting = self.place_and_boot(idx)
        for i in waiting:
            self.events.add(self.env.now, "restart_failed", g.names[i], "no host has room")
        self._reshare()
        return waiting

    def _take_down(self, victims: np.ndarray, why: str) -> None:
        g = self.guests
        for i in victims:
            if g.parent[i] < 0:
                self.pool.release(int(g.host[i]), self.request_of(int(i)))
            self.events.add(self.env.now, "guest_down", g.names[i], why)
            if i in self.stations:
                self.stations[i].fail_all()
        g.state[victims] = gs.DOWN
        g.host[victims] = -1
        for i in victims:
            self.migrator.cancel_for(int(i))

    def request_of(self, i: int) -> dict[str, float]:
        return {r: float(v[0]) for r, v in self.guests.placement_request(np.array([i])).items()}

    def _affinity_hosts(self) -> dict[int, list[int]]:
        """Hosts already holding a member of each anti-affinity group."""
        g = self.guests
        holding = (g.affinity >= 0) & gs.HOLDS_HOST[g.state] & (g.host >= 0)
        out: dict[int, list[int]] = defaultdict(list)
        for label, h in zip(g.affinity[holding], g.host[holding], strict=True):
            out[int(label)].append(int(h))
        return out

    def _booted(self, idx: np.ndarray) -> Callable[[simpy.Event], None]:
        def fire(_: simpy.Event) -> None:
            g = self.guests
            self._advance(self.env.now)
            self.n_events += 1
            ready = idx[g.state[idx] == gs.BOOTING]
            g.state[ready] = gs.RUNNING
            for i in ready:
                self.events.add(self.env.now, "running", g.names[i])
                if self.job_of[i] >= 0 and np.isnan(self.job_started[i]):
                    self.job_started[i] = self.env.now
                    self._enter_phase(int(i), CPU)
            self._reshare()

        return fire

    def _stop(self, idx: np.ndarray) -> None:
        g = self.guests
        # Stopping a VM stops the containers inside it.
        idx = np.union1d(idx, np.flatnonzero(np.isin(g.parent, idx)))
        idx = idx[gs.HOLDS_HOST[g.state[idx]]]
        for i in idx:
            if g.parent[i] < 0:
                self.pool.release(int(g.host[i]), self.request_of(int(i)))
            self.events.add(self.env.now, "stopped", g.names[i])
        g.state[idx] = gs.STOPPED
        g.host[idx] = -1
        for i in idx:
            self.migrator.cancel_for(int(i))
        for i in idx:
            if i in self.stations:
                self.stations[i].fail_all()

    def _pause(self, idx: np.ndarray) -> None:
        self._transition(idx, gs.RUNNING, gs.PAUSED, "paused")

    def _resume(self, idx: np.ndarray) -> None:
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

    def _delete(self, idx: np.ndarray) -> None:
        self._stop(idx)
        for i in idx:
            self.guests.state[i] = gs.DELETED
            self.events.add(self.env.now, "deleted", self.guests.names[i])


def GuestTable_from(scenario: Scenario) -> gs.GuestTable:  # noqa: N802
    return gs.GuestTable.from_scenario(scenario)
