"""The simulated datacenter: SimPy owns time, resources are shared as a fluid.

Between two events every rate is constant. When something changes (a guest starts, stops,
pauses, a trace steps to its next sample, a batch phase ends) the engine re-solves weighted
max-min sharing for CPU, disk bandwidth, disk IOPS and network (``vsim.core``) — for every host
at once, or only for the host concerned when the change cannot reach further — and reschedules
the completions whose rate changed. A completion remembers the version of its guest's rate; a
stale one is ignored when it fires (SimPy cannot cancel a timeout).

Integration is lazy: at a sample boundary every rate is integrated over the whole sample at its
current value, and each rate change in between adds a correction ``(old - new) x (now - sample
start)`` for the entries that changed. The integral is exact and a change costs only what
changed, never a pass over every guest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
import simpy

from vsim.core.flows import maxmin_flows
from vsim.core.placement import HostPool
from vsim.core.sharing import maxmin_one, maxmin_share
from vsim.metrics import GUEST_COLUMNS, EventLog, SampleRecorder
from vsim.model import guests as gs
from vsim.model.consolidation import start_consolidation
from vsim.model.failures import start_failures
from vsim.model.host_share import reshare_host, static_rows
from vsim.model.hosts import HOST_BOOTING, HOST_FAILED, HOST_OFF, HOST_ON, HostTable
from vsim.model.migration import Migrator
from vsim.model.network import build_fabric
from vsim.model.power import PowerTables
from vsim.model.rates import (
    CPU,
    DONE,
    GUEST_RATES,
    HOST_RATES,
    IO,
    NET,
    PAGE_BYTES,
    SATURATED,
    SHORT,
    WANTS,
)
from vsim.model.services import RequestLog, build_stations
from vsim.model.workloads import build_demands
from vsim.scenario.schema import Scenario


class Simulation:
    """One run of a scenario. Build it, call :meth:`run`, then read the recorder and event log."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.env = simpy.Environment()
        placement_seq, workload_seq, service_seq = np.random.SeedSequence(scenario.seed).spawn(3)
        self.placement_rng = np.random.default_rng(placement_seq)
        self.hosts = HostTable.from_scenario(scenario)
        self.guests = gs.GuestTable.from_scenario(scenario)
        oc = scenario.scheduler.overcommit
        self.pool = HostPool(
            self.hosts.placement_capacity(),
            overcommit={"cpu": oc.cpu, "memory": oc.memory, "disk": oc.disk, "net": oc.net},
        )
        # Each guest's request of the pool as a vector (guest sizes are fixed): its moves,
        # stops and failures allocate and release it without converting a mapping each time.
        req = self.guests.placement_request(np.arange(self.guests.n))
        self._requests = list(
            map(tuple, np.column_stack([req[r] for r in self.pool.resources]).tolist())
        )
        self.trace_demands, self.batch_demands = build_demands(
            scenario, self.guests.group, self.guests.names, np.random.default_rng(workload_seq)
        )
        n = self.guests.n
        # What each guest wants while running (WANTS): rows of one 2-D array, so that one
        # host's guests are read in every column by a single indexing.
        self._want_rows = np.zeros((len(WANTS), n))
        self.want = dict(zip(WANTS, self._want_rows, strict=True))
        # Batch jobs.
        self.job_of = np.full(n, -1, dtype=np.int64)
        for j, b in enumerate(self.batch_demands):
            self.job_of[b.guests] = j
            self.want["memory"][b.guests] = b.memory
        # Per job: whether its executions run as one phase (see _enter_phase), its repeats.
        self._one_phase = [b.only_phase >= 0 for b in self.batch_demands]
        self._repeats = [b.repeat for b in self.batch_demands]
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
        # Guest rates and sample integrals are rows of one 2-D array each, so that one host's
        # guests are updated in all columns by a single indexing (the one-host path).
        self._rate_rows = np.zeros((len(GUEST_RATES), n))
        self._acc_rows = np.zeros((len(GUEST_RATES), n))
        self.rate = dict(zip(GUEST_RATES, self._rate_rows, strict=True))
        self._host_rows = np.zeros((len(HOST_RATES), self.hosts.n))
        self._acc_host_rows = np.zeros((len(HOST_RATES), self.hosts.n))
        self.host_rate = dict(zip(HOST_RATES, self._host_rows, strict=True))
        self.power = PowerTables.from_scenario(scenario)
        # Integrals over the current sample (started at t0), per guest and host over the whole
        # run (cum_*), and summed over guests or hosts over the whole run (total).
        self.t0 = 0.0
        self._acc_guest = dict(zip(GUEST_RATES, self._acc_rows, strict=True))
        self._acc_host = dict(zip(HOST_RATES, self._acc_host_rows, strict=True))
        self.cum_guest = {c: np.zeros(n) for c in GUEST_RATES}
        self.cum_host = {c: np.zeros(self.hosts.n) for c in HOST_RATES}
        self.total = dict.fromkeys((*GUEST_RATES, *HOST_RATES), 0.0)
        self.job_t = np.zeros(n)  # when ``remaining`` was last brought up to date
        self.events = EventLog()
        self.n_events = 0
        times = np.arange(1, int(np.ceil(scenario.duration / scenario.sample_interval)) + 1)
        self.sample_times = np.minimum(times * scenario.sample_interval, scenario.duration)
        self.recorder = SampleRecorder(
            self.sample_times, self.hosts.n, n, guests=scenario.output.guests
        )
        self.fabric = build_fabric(scenario.network, self.hosts.net_bw)
        self.migrator = Migrator(self)
        self.has_children = (
            np.bincount(self.guests.parent[self.guests.parent >= 0], minlength=n) > 0
        )
        self.requests = RequestLog()
        self.stations = build_stations(self, service_seq)
        self._station_idx = np.array(sorted(self.stations), dtype=np.int64)
        self._station_useful_of = np.zeros(n)
        # What the last solve found, kept for the single-guest fast path of services: rows of
        # one array (CPU cap, request, grant, swapped share), written by a one-host solve in
        # one indexing.
        self._kept = np.zeros((4, n))
        self._cpu_cap, self._cpu_request, self._cpu_grant, self._swap_frac = self._kept
        self._host_request = np.zeros(self.hosts.n)
        self._short = np.zeros(n, dtype=bool)  # guests getting less CPU than they ask
        self._n_short = np.zeros(self.hosts.n, dtype=np.int64)  # such guests per host
        self._reshare_pending = False
        # One host's change is solved in scalar arithmetic (the same allocation, faster);
        # tests turn this off to compare it with the array solve.
        self.scalar_host_solve = True
        self.any_nested = bool(self.has_children.any())
        self.static_rows: np.ndarray | None = None  # set once setup is done
        self._schedule_lifecycle()
        self._step_traces_to(0)
        self._reshare()
        self.env.process(self._trace_stepper())
        if scenario.failures is not None:
            start_failures(self)
        if scenario.consolidation is not None:
            self.consolidation = start_consolidation(self)
        self.static_rows = static_rows(self)  # after setup: replication adds guest overhead

    # ------------------------------------------------------------------ running
    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Simulate the whole duration, recording one sample per interval."""
        for k, t in enumerate(self.sample_times):
            self.env.run(until=t)
            self._advance(t)
            self._record(k, t)
            if progress is not None:
                progress(t)

    def _record(self, k: int, t_end: float) -> None:
        """Close the sample ending at ``t_end``: integrate, write its means, start the next."""
        span = t_end - self.t0
        for rates, accs, cums in (
            (self.rate, self._acc_guest, self.cum_guest),
            (self.host_rate, self._acc_host, self.cum_host),
        ):
            for c, rate in rates.items():
                accs[c] += rate * span
                self.total[c] += float(rate.sum()) * span
                cums[c] += accs[c]
        self.t0 = t_end
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
        self.recorder.record_guests(k, g.host, g.state, **{c: ag[c] / span for c in GUEST_COLUMNS})
        for arr in (*acc.values(), *ag.values()):
            arr.fill(0.0)

    def _advance(self, now: float) -> None:
        """Bring the byte counts of running migrations up to ``now`` (rates integrate lazily)."""
        self.migrator.advance_to(now)

    def _set_one(self, rates: dict, acc: dict, i: int, new: dict) -> None:
        """:meth:`_set_rows` for a single entry, in scalar arithmetic (the per-request path)."""
        w = self.env.now - self.t0
        for c, value in new.items():
            arr = rates[c]
            old = arr[i]
            if old != value:
                if w > 0:
                    d = (old - value) * w
                    acc[c][i] += d
                    self.total[c] += d
                arr[i] = value

    def _set_rows(
        self,
        rows: np.ndarray,
        acc_rows: np.ndarray,
        names: tuple,
        idx: slice | np.ndarray,
        values: np.ndarray,
    ) -> None:
        """Set the first ``len(values)`` rate rows (named ``names``) of the entries ``idx``
        (indices, or ``slice(None)`` for all) to ``values`` from now on, correcting the sample
        integrals so that the integration at the sample's end counts each old rate up to now.
        ``rows`` and ``acc_rows`` hold the rates and their integrals, one row per name."""
        k = len(values)
        rows, acc_rows = rows[:k], acc_rows[:k]
        w = self.env.now - self.t0
        if w > 0:
            if isinstance(idx, slice):
                d = rows[:, idx] - values
                acc_rows[:, idx] += d * w
            else:
                # (take and one assignment: a fancy-indexed += reads and writes through idx)
                d = rows.take(idx, axis=1) - values
                acc = acc_rows.take(idx, axis=1)
                acc += d * w
                acc_rows[:, idx] = acc
            moved = (np.add.reduce(d, axis=1) * w).tolist()
            for c, m in zip(names[:k], moved, strict=True):
                self.total[c] += m
        rows[:, idx] = values

    # ------------------------------------------------------------------ sharing
    def _reshare(self, hosts: np.ndarray | None = None) -> None:
        """Re-solve the fluid allocation for the current state: of every resource of every host,
        or, given ``hosts``, only CPU, disk and IOPS of the guests on them (the caller knows
        nothing else changed: no placement, memory or network, and no migration to or from
        them)."""
        if hosts is not None and len(hosts) == 1 and self.scalar_host_solve:
            if reshare_host(self, int(hosts[0])):
                return
        g, h = self.guests, self.hosts
        full = hosts is None
        if full:
            self._reshare_pending = False  # this solve covers any change awaiting one
            gi = np.arange(g.n)
            hi = np.arange(h.n)
        else:
            hi = np.asarray(hosts, dtype=np.int64)
            gi = np.flatnonzero(np.isin(g.host, hi)) if len(hi) > 1 else g.on_host(int(hi[0]))
        n, nh = len(gi), len(hi)
        # Gathers read through these: views for a full solve, copies of the entries otherwise.
        gsel, hsel = (slice(None), slice(None)) if full else (gi, hi)
        ghost = g.host[gsel]
        placed = ghost >= 0
        host = np.where(placed, np.searchsorted(hi, ghost) if not full else ghost, 0)  # local
        state = g.state[gsel]
        host_on = placed & (h.state[hsel][host] == HOST_ON)
        holds = gs.HOLDS_HOST[state] & host_on
        running = (state == gs.RUNNING) & host_on
        # Without nested guests or batch jobs (fixed at setup), the terms for them are skipped:
        # every guest is top-level, and every CPU want is the trace's.
        nested, jobs = self.any_nested, bool(self.batch_demands)
        parent = g.parent[gsel]
        top = parent < 0
        if nested:
            lpar = np.where(top, 0, np.searchsorted(gi, np.maximum(parent, 0)))  # local parent
        if jobs:
            is_job = self.job_of[gsel] >= 0
            phase = self.phase[gsel]
        want = {r: a[gsel] for r, a in self.want.items()}
        memory, vcpus, vcpu_mips = g.memory[gsel], g.vcpus[gsel], g.vcpu_mips[gsel]
        shares = g.shares[gsel]

        # Memory: allocated, not shared. A VM's footprint includes the containers inside it.
        own_mem = np.where(holds, want["memory"] * memory, 0.0)
        if nested:
            inner = ~top & holds
            child_mem = np.bincount(lpar[inner], own_mem[inner], minlength=n)
            footprint = np.where(top & holds, np.minimum(memory, own_mem + child_mem), 0.0)
            footprint += np.where(top & holds, g.mem_overhead[gsel], 0.0)
            host_mem = np.bincount(host[top], footprint[top], minlength=nh)
        else:
            footprint = np.where(holds, np.minimum(memory, own_mem) + g.mem_overhead[gsel], 0.0)
            host_mem = np.bincount(host, footprint, minlength=nh)
        # What the solve reads of running migrations (a host-local solve has none to read).
        mig = self.migrator.arrays() if full and self.migrator.active else None
        if mig is not None:
            m_hosts, m_mem = self.migrator.extra_memory(mig)
            host_mem += np.bincount(m_hosts, m_mem, minlength=nh)
        excess = np.maximum(host_mem - h.memory[hsel], 0.0)
        swapped = np.divide(excess, host_mem, out=np.zeros(nh), where=host_mem > 0)
        swap_frac = np.where(holds, swapped[host], 0.0)
        swap_bps = swap_frac * own_mem * self.scenario.memory.swap_touch_rate

        # CPU: weighted max-min with caps; containers in a VM share what their VM gets.
        # Virtualization inflates a top-level guest's work: each unit of useful work costs
        # k_in units inside its vCPUs (capped by them) and k_tot units of host CPU in all.
        cpu_cap = h.cpu_mips[hsel]
        cap = g.cap_cores[gsel] * np.minimum(vcpu_mips, h.core_mips[hsel][host])
        k_in = 1.0 + g.cpu_in_guest[gsel]
        k_tot = k_in + g.cpu_on_host[gsel]
        wanted = want["cpu"] * vcpus * vcpu_mips
        if jobs:
            job_cpu = is_job & (phase == CPU)
            wanted = np.where(job_cpu, cap, wanted)
            wanted = np.where(is_job & ~job_cpu, 0.0, wanted)
        demand = np.where(running, wanted, 0.0)
        request = np.minimum(demand, cap)
        if nested:
            running_child = ~top & running & (state[lpar] == gs.RUNNING)
            request = np.where(top | running_child, request, 0.0)
            child_req = np.bincount(lpar[~top], request[~top], minlength=n)
            vm_request = np.where(top, np.minimum(cap / k_in, request + child_req) * k_tot, 0.0)
            t_idx = np.flatnonzero(top & running)
        else:
            vm_request = np.minimum(cap / k_in, request) * k_tot
            t_idx = running.nonzero()[0]  # (no flatnonzero wrapper: the solve is hot)
        grant = np.zeros(n)
        # Migration threads contend for CPU on both ends like any other consumer.
        mig_host, mig_cpu = (
            self.migrator.cpu_consumers(mig)
            if mig is not None
            else (np.zeros(0, np.int64), np.zeros(0))
        )
        if nh == 1 and not len(mig_host):
            solved = np.array(
                maxmin_one(float(cpu_cap[0]), shares[t_idx].tolist(), vm_request[t_idx].tolist())
            )
        else:
            solved = maxmin_share(
                cpu_cap,
                np.concatenate([host[t_idx], mig_host]),
                np.concatenate([shares[t_idx], np.full(len(mig_host), 1024.0)]),
                np.concatenate([vm_request[t_idx], mig_cpu]),
            )
        if len(t_idx):
            grant[t_idx] = solved[: len(t_idx)]
        mig_grant = solved[len(t_idx) :]
        own = grant / k_tot  # useful work of the guest and the containers inside it
        parents = np.unique(lpar[running_child]) if nested else ()
        if len(parents):
            # Inside each VM with containers: the VM's own work and its containers share the
            # VM's grant by their shares, each capped at its own request.
            kids = np.flatnonzero(running_child)
            who = np.concatenate([parents, kids])
            grp = np.searchsorted(parents, np.concatenate([parents, lpar[kids]]))
            split = maxmin_share(
                own[parents],
                grp,
                shares[who],
                np.concatenate([request[parents], request[kids]]),
            )
            own[who] = split
        if nested:
            own = np.where(top | running_child, own, 0.0)
        useful = own / (1.0 + self.scenario.memory.swap_penalty * swap_frac)
        loss_mips = np.zeros(n)
        paused_want = np.zeros(n)
        if mig is not None:
            slowed, loss = self.migrator.slowdown(mig)
            loss_mips[slowed] = useful[slowed] * loss
            useful[slowed] *= 1.0 - loss
            # A guest paused for its stop-and-copy still wants the CPU it cannot have.
            p = self.migrator.paused_guests(mig)
            paused_want[p] = np.minimum(want["cpu"][p], 1.0) * vcpus[p] * vcpu_mips[p]
        short = running & (useful + loss_mips < demand * SHORT)
        n_short = np.bincount(host, short, minlength=nh)
        self._short[gsel] = short
        self._n_short[hsel] = n_short
        # CPU time the guest's vCPUs spend, overhead included, and the hypervisor's for it (a
        # container's are its VM's).
        if nested:
            vm_of = np.where(top, np.arange(n), lpar)
            in_guest = own * k_in[vm_of]
            hypervisor = own * g.cpu_on_host[gsel][vm_of]
        else:
            in_guest = own * k_in
            hypervisor = own * g.cpu_on_host[gsel]

        # Disk bandwidth and IOPS: flat sharing among everything on the host.
        disk_req = want["disk"]
        if jobs:
            disk_req = np.where(is_job & (phase == IO), np.inf, disk_req)
        disk_req = np.where(running, disk_req, 0.0) + swap_bps
        iops_req = np.where(running, want["iops"], 0.0) + swap_bps / PAGE_BYTES
        on = host_on.nonzero()[0]
        disk = np.zeros(n)
        iops = np.zeros(n)
        io = bool(disk_req.any() or iops_req.any())  # (CPU-only traces: nothing to share)
        if io and nh == 1:
            ones = [1.0] * len(on)
            disk[on] = maxmin_one(float(h.disk_bw[hi[0]]), ones, disk_req[on].tolist())
            iops[on] = maxmin_one(float(h.disk_iops[hi[0]]), ones, iops_req[on].tolist())
        elif io:
            weights = np.ones(len(on))
            disk[on] = maxmin_share(h.disk_bw[hsel], host[on], weights, disk_req[on])
            iops[on] = maxmin_share(h.disk_iops[hsel], host[on], weights, iops_req[on])

        top_grant = (host[top], grant[top]) if nested else (host, grant)
        host_cpu = np.bincount(*top_grant, minlength=nh)
        host_cpu += np.bincount(mig_host, mig_grant, minlength=nh)
        host_hyp = np.bincount(host, hypervisor, minlength=nh)
        host_hyp += np.bincount(mig_host, mig_grant, minlength=nh)
        hstate = h.state[hsel]
        receiving = self.migrator.receiving(mig)[hsel] if mig is not None else np.zeros(nh, bool)
        powered = (hstate == HOST_ON) | (hstate == HOST_BOOTING)
        is_on = hstate == HOST_ON
        new_guest = {
            "cpu_demand_mips": demand,
            "cpu_useful_mips": useful,
            "cpu_alloc_mips": in_guest,
            "cpu_overhead_mips": in_guest - own + hypervisor,
            "mem_bytes": own_mem,
            "disk_bps": disk,
            "cpu_migration_loss_mips": loss_mips,
            "cpu_paused_want_mips": paused_want,
        }
        new_host = {
            "cpu": host_cpu,
            "hypervisor": host_hyp,
            "mem": host_mem,
            # A disk is as busy as the tighter of its two limits.
            "disk": np.maximum(
                np.bincount(host[on], disk[on], minlength=nh) / h.disk_bw[hsel],
                np.bincount(host[on], iops[on], minlength=nh) / h.disk_iops[hsel],
            )
            if io
            else np.zeros(nh),
            "power": np.where(powered, self.power.at(hi, host_cpu / cpu_cap), 0.0),
            "on": is_on.astype(np.float64),
            "on_busy": (is_on & (host_cpu > 0)).astype(np.float64),
            "saturated": (is_on & (host_cpu >= cpu_cap * SATURATED)).astype(np.float64),
            "short": (is_on & ((n_short > 0) | receiving)).astype(np.float64),
        }

        if full:
            # Network: guest traffic leaves through its host's links to the core; migrations
            # go host to host. Every flow gets a max-min fair rate over the links it crosses.
            net_req = want["net"]
            if jobs:
                net_req = np.where(is_job & (phase == NET), np.inf, net_req)
            net_req = np.where(running, net_req, 0.0)
            talk = (host_on & (net_req > 0)).nonzero()[0]
            if len(talk):
                ptr, links = self.fabric.routes_outside(host[talk])
            else:
                ptr, links = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
            n_mig = mig.n if mig is not None else 0
            if n_mig:
                m_ptr, m_links = self.migrator.routes(mig)
                ptr = np.concatenate([ptr, ptr[-1] + m_ptr[1:]])
                links = np.concatenate([links, m_links])
            flow_rate = maxmin_flows(
                self.fabric.capacity,
                ptr,
                links,
                np.ones(len(talk) + n_mig),
                np.concatenate([net_req[talk], np.full(n_mig, self.migrator.demand())]),
            )
            net = np.zeros(n)
            net[talk] = flow_rate[: len(talk)]
            load = np.bincount(
                links, np.repeat(flow_rate, np.diff(ptr)), minlength=len(self.fabric.capacity)
            )
            new_host["net"] = np.maximum(
                load[self.fabric.host_uplink(hi)], load[self.fabric.host_downlink(hi)]
            )
            sel_g, sel_h = slice(None), slice(None)
        else:
            # The network is solved across hosts: its rates stay.
            net = self.rate["net_bps"][gsel]
            new_host["net"] = self.host_rate["net"][hsel]
            sel_g, sel_h = gi, hi
        new_guest["net_bps"] = net
        self._set_rows(
            self._rate_rows,
            self._acc_rows,
            GUEST_RATES,
            sel_g,
            np.stack([new_guest[c] for c in GUEST_RATES]),
        )
        self._set_rows(
            self._host_rows,
            self._acc_host_rows,
            HOST_RATES,
            sel_h,
            np.stack([new_host[c] for c in HOST_RATES]),
        )
        # Kept for the single-guest fast path of request-level services.
        self._cpu_cap[gsel] = cap
        self._cpu_request[gsel] = vm_request
        self._cpu_grant[gsel] = grant
        self._swap_frac[gsel] = swap_frac
        self._host_request[hsel] = np.bincount(host[t_idx], vm_request[t_idx], minlength=nh)
        if jobs:
            phase_rate = np.where(phase == CPU, useful, np.where(phase == IO, disk, net))
            self._reschedule_jobs(gi, phase_rate)
        if mig is not None:
            self.migrator.set_rates(flow_rate[len(talk) :])
        if self.stations:
            st = self._station_idx if full else gi[np.isin(gi, self._station_idx)]
            now_useful = self.rate["cpu_useful_mips"][st]
            changed = st[now_useful != self._station_useful_of[st]]
            self._station_useful_of[st] = now_useful
            for i in changed:
                self.stations[int(i)].rate_changed()

    def request_reshare(self) -> None:
        """Re-solve once at the end of this instant, however many changes it brings (many
        migrations started in one consolidation round end together), unless a full solve
        comes first in the same instant. No time passes before the solve, so the integrals
        stay exact."""
        if self._reshare_pending:
            return
        self._reshare_pending = True

        def solve(_: simpy.Event) -> None:
            if self._reshare_pending:
                self._reshare()

        self.env.timeout(0).callbacks.append(solve)

    def _reshare_after_job(self, i: int, before: int) -> None:
        """After a batch phase of guest ``i`` ends, re-solve only its host when the change stays
        there: CPU or disk, no network phase on either side, the guest still placed, no
        migration to or from that host."""
        h = int(self.guests.host[i])
        local = (
            h >= 0
            and self.guests.state[i] == gs.RUNNING
            and not self.migrator.touches(h)
            and NET not in (before, self.phase[i])
        )
        self._reshare(np.array([h]) if local else None)

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
            # A CPU-only change: its host alone needs solving, unless a migration touches it.
            h = self.guests.host[g]
            self._reshare(None if h < 0 or self.migrator.touches(h) else np.array([h]))

    def _fast_cpu_update(self, g: int) -> bool:
        """Apply one guest's new CPU demand without re-solving, when nothing else can change.

        That holds when its host is uncontended before and after (every guest there gets its
        whole request), the guest has no containers inside and no memory swapped. Rates change
        only for this guest and its host; the accumulators are corrected so that the next
        sample's integral counts the old rate up to now and the new one after.
        """
        gt = self.guests
        if gt.state[g] != gs.RUNNING or self.has_children[g] or self._swap_frac[g] > 0:
            return False
        if self.migrator.migrating(g):
            return False  # its migration slows it: the full solve accounts for that
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
        old_grant = self._cpu_grant[g]
        self._cpu_grant[g] = request
        self._set_one(
            self.rate,
            self._acc_guest,
            g,
            {
                "cpu_demand_mips": demand,
                "cpu_useful_mips": own,
                "cpu_alloc_mips": own * k_in,
                "cpu_overhead_mips": own * (k_in - 1.0 + gt.cpu_on_host[g]),
            },
        )
        short = own < demand * SHORT
        self._n_short[h] += int(short) - int(self._short[g])
        self._short[g] = short
        hr = self.host_rate
        cpu = hr["cpu"][h] - old_grant + request
        capacity = self.hosts.cpu_mips[h]
        self._set_one(
            hr,
            self._acc_host,
            h,
            {
                "cpu": cpu,
                "on_busy": float(cpu > 0),
                "saturated": float(cpu >= capacity * SATURATED),
                "short": float(self._n_short[h] > 0 or self.migrator.receives(h)),
                "hypervisor": hr["hypervisor"][h]
                + (request - old_grant) * gt.cpu_on_host[g] / k_tot,
                "power": self.power.watts_one(h, cpu / capacity),
            },
        )
        return True

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

    def _reschedule_jobs(self, gi: np.ndarray, phase_rate: np.ndarray) -> None:
        """New progress rates for the batch jobs among guests ``gi``: bring the work left up
        to now at the old rate, and schedule the end of each phase whose rate changed (the
        solve calls it only when the scenario has batch jobs)."""
        job_running = (
            (self.job_of[gi] >= 0) & (self.guests.state[gi] == gs.RUNNING) & (self.phase[gi] < DONE)
        )
        rate = np.where(job_running, phase_rate, 0.0)
        old = self.job_rate[gi]
        changed = (rate != old) | self.job_replan[gi]
        if not changed.any():
            return
        idx = gi[changed]
        now = self.env.now
        self.remaining[idx] -= old[changed] * (now - self.job_t[idx])
        self.job_t[idx] = now
        self.job_replan[idx] = False
        self.job_rate[idx] = rate[changed]
        self.version[idx] += 1
        for i, r in zip(idx.tolist(), rate[changed].tolist(), strict=True):
            if r > 0:
                self._schedule_job_end(i, r)

    def _replan_job(self, i: int, rate: float) -> float | None:
        """:meth:`_reschedule_jobs` for one job whose rate changed (or must be replanned), in
        scalar arithmetic (the one-host solve), without scheduling its end: returns the time
        left until it (None at rate 0), for :meth:`_schedule_job_end`."""
        now = self.env.now
        remaining = float(self.remaining[i]) - float(self.job_rate[i]) * (now - self.job_t[i])
        self.remaining[i] = remaining
        self.job_t[i] = now
        self.job_replan[i] = False
        self.job_rate[i] = rate
        self.version[i] += 1
        return max(remaining, 0.0) / rate if rate > 0 else None

    def _schedule_job_end(self, i: int, rate: float, delay: float | None = None) -> None:
        """The end of job ``i``'s phase at ``rate`` (``delay`` from now, if known); the event
        carries the job and the version of its rate, so that a later change makes it stale."""
        if delay is None:
            # (a Python float: simulated time stays one, which SimPy's heap compares faster)
            delay = max(float(self.remaining[i]), 0.0) / rate
        done = self.env.timeout(delay, (i, int(self.version[i])))
        done.callbacks.append(self._job_phase_done)

    # ------------------------------------------------------------------ events
    def _job_phase_done(self, event: simpy.Event) -> None:
        i, version = event.value
        if self.version[i] != version:
            return  # rates changed since this completion was computed
        self._advance(self.env.now)
        self.n_events += 1
        j = self.job_of[i]
        if self._one_phase[j]:
            # Its remaining executions all ended in this phase (one event each).
            last = self._repeats[j] - 1
            self.n_events += last - int(self.job_round[i])
            self.job_round[i] = last
        before = self.phase[i]
        self._enter_phase(i, before + 1)
        self._reshare_after_job(i, before)

    def _enter_phase(self, i: int, phase: int) -> None:
        """Move job ``i`` to ``phase``, skipping phases with no work."""
        b = self.batch_demands[self.job_of[i]]
        work = b.work
        while phase < DONE and work[phase] <= 0:
            phase += 1
        if phase == DONE and self.job_round[i] + 1 < b.repeat:
            self.job_round[i] += 1  # the next of its repeated executions starts at once
            self._enter_phase(i, CPU)
            return
        self.phase[i] = phase
        self.remaining[i] = work[phase] if phase < DONE else 0.0
        if phase < DONE and self._one_phase[self.job_of[i]]:
            # A job with work in one phase only runs its remaining executions back to back in
            # that phase at the same rate, so they are one phase of all their work: the
            # same ends, without an event (and a reschedule) between two executions.
            self.remaining[i] *= b.repeat - self.job_round[i]
        self.job_t[i] = self.env.now
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
                ev.callbacks.append(self._lifecycle(actions[t]))

    def _lifecycle(self, batch: list[tuple[str, np.ndarray]]) -> Callable[[simpy.Event], None]:
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
        there = self.guests.on_host(h)
        busy = gs.HOLDS_HOST[self.guests.state[there]].any() or self.migrator.touches(h)
        if busy or self.hosts.state[h] != HOST_ON:
            return False
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_OFF
        self.pool.enabled[h] = False
        self.events.add(self.env.now, "host_off", self.hosts.names[h])
        self._reshare(np.array([h]))  # an empty host: nothing but its own power changes
        return True

    def switch_on(self, h: int, boot_s: float = 0.0) -> None:
        """Switch an off host on; it draws idle power while booting and takes guests after
        (at once when ``boot_s`` is 0)."""
        if self.hosts.state[h] != HOST_OFF:
            return
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_BOOTING
        self.events.add(self.env.now, "host_booting", self.hosts.names[h])
        if boot_s > 0:
            self._reshare(np.array([h]))  # still empty: only its power changes

        def up(_: simpy.Event | None) -> None:
            if self.hosts.state[h] != HOST_BOOTING:
                return
            self._advance(self.env.now)
            self.n_events += 1
            self.hosts.state[h] = HOST_ON
            self.pool.enabled[h] = True
            self.events.add(self.env.now, "host_on", self.hosts.names[h])
            self._reshare(np.array([h]))

        if boot_s > 0:
            self.env.timeout(boot_s).callbacks.append(up)
        else:
            up(None)

    # ------------------------------------------------------------------ failures (public API)
    def fail_host(self, h: int, detail: str = "") -> np.ndarray:
        """Host ``h`` fails: it stops contributing capacity and power, and every guest on it goes
        down (returned). It stays failed until :meth:`repair_host`."""
        self._advance(self.env.now)
        self.n_events += 1
        self.hosts.state[h] = HOST_FAILED
        self.pool.enabled[h] = False
        self.events.add(self.env.now, "host_failed", self.hosts.names[h], detail)
        there = self.guests.on_host(h)
        victims = there[gs.HOLDS_HOST[self.guests.state[there]]]
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
        g.place(victims, -1)
        for i in victims:
            self.migrator.cancel_for(int(i))

    def request_of(self, i: int) -> tuple[float, ...]:
        """What guest ``i`` holds of its host in the pool, as the pool's request vector."""
        return self._requests[i]

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
        g.place(idx, -1)
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
