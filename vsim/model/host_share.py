"""Re-solving one host, or one guest's CPU, in scalar arithmetic: the fast paths.

Most changes in a running datacenter stay on one host: a batch phase ends, a service's queue
grows or drains, an empty host switches on or off. The array solve (:mod:`vsim.model.solve`)
handles any set of hosts, but for one host with about ten guests its hundred-odd NumPy calls
cost far more (hundreds of microseconds) than the arithmetic itself. :func:`reshare_host`
computes the same allocation for one host over plain Python floats; :func:`update_guest_cpu`
applies one service guest's new CPU demand without a solve where nothing else can change.

They cover the common shape only: every guest on the host is top-level (no containers inside
VMs) and no migration leaves from or goes to the host (migrations elsewhere do not reach it).
The resolver (:mod:`vsim.model.resolve`) falls back to the array solve otherwise, and tests keep
both solves equal on mixed scenarios.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vsim.core.sharing import maxmin_one
from vsim.model import guests as gs
from vsim.model.hosts import HOST_BOOTING, HOST_ON
from vsim.model.overhead import cpu_factors, cpu_request
from vsim.model.rates import CPU, DONE, HOST_SOLVED, IO, PAGE_BYTES, SATURATED, SHORT, WANTS
from vsim.model.slicing import lost_mips, sliced

if TYPE_CHECKING:
    from vsim.model.contract import EngineState

HOLDS = gs.HOLDS_HOST.tolist()
WANT_CPU = WANTS.index("cpu")  # row of the engine's want rows
# Host rates of a host without guests, but for its power and whether it is on.
EMPTY = dict.fromkeys(("cpu", "hypervisor", "mem", "disk", "on_busy", "saturated", "short"), 0.0)


STATIC = (
    "memory",
    "vcpus",
    "vcpu_mips",
    "shares",
    "cap_cores",
    "cpu_in_guest",
    "cpu_on_host",
    "mem_overhead",
)


# Columns of a guest's static row (see static_rows).
VCPUS, VCPU_MIPS, ON_HOST = (STATIC.index(a) for a in ("vcpus", "vcpu_mips", "cpu_on_host"))
K_IN, K_TOT = len(STATIC), len(STATIC) + 1


def static_rows(sim: EngineState, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
    """The guests' fixed sizes and overhead factors, one row per guest ``idx``, in
    :data:`STATIC` order, then their CPU factors ``k_in`` and ``k_tot`` (as
    :func:`~vsim.model.overhead.cpu_factors` gives them) and a last column that is 1 for batch
    jobs (read a host's rows with one indexing)."""
    g = sim.guests
    k_in, k_tot = cpu_factors(g.cpu_in_guest[idx], g.cpu_on_host[idx])
    columns = [*(getattr(g, a)[idx] for a in STATIC), k_in, k_tot, sim.jobs.of[idx] >= 0]
    return np.column_stack(columns).astype(np.float64)


def reshare_host(sim: EngineState, h: int) -> bool:
    """Re-solve CPU, disk and IOPS of host ``h`` and its guests; ``False`` if not applicable.

    The semantics are :func:`vsim.model.solve.solve_hosts`'s for one host: memory footprints
    and swap, weighted max-min CPU with caps and virtualization overhead, flat disk and IOPS
    sharing, host power, then new job completions and service rate notifications.
    """
    if sim.static_rows is None or sim.driver is not None or sim.transfers.touches(h):
        return False  # (a driver domain couples the host's guests: the array solve does it)
    g = sim.guests
    gi = g.on_host(h)
    if sim.any_nested and (sim.has_children[gi].any() or (g.parent[gi] >= 0).any()):
        return False
    if not len(gi):
        _empty_host(sim, h)
        return True
    v = _OneHost(sim, h, gi)
    _memory_and_requests(v)
    grant = [0.0] * v.n
    capacity = v.capacity if sim.slice_factor is None else _sliced_capacity(sim, v)
    # CPU: weighted max-min among the running guests, each capped by its vCPUs.
    solved = maxmin_one(capacity, [v.shares[k] for k in v.t], [v.vm_request[k] for k in v.t])
    for k, x in zip(v.t, solved, strict=True):
        grant[k] = x
    disk, iops = _disk(sim, v)
    cpu = _cpu_use(sim, v, grant)
    _write(sim, v, grant, disk, iops, cpu)
    _replan_jobs(sim, v.idx, v.is_job, v.state, v.phase, cpu["useful"], disk)
    if sim.watch:
        sim.watch.changed_list(v.idx, cpu["useful"])
    return True


def _sliced_capacity(sim: EngineState, v: _OneHost) -> float:
    """The host's capacity for the solve under time slices (:mod:`vsim.model.slicing`); sets
    ``v.sliced`` where the host is sliced."""
    f = sim.slice_factor
    asking = [k for k in v.t if v.vm_request[k] > 0]
    n_vcpus = sum(v.vcpus[k] for k in asking)
    request = sum(v.vm_request[k] for k in asking)
    if not sliced(f, v.capacity, float(sim.hosts.cores[v.h]), n_vcpus, request):
        return v.capacity
    v.sliced = True
    return v.capacity * f


def _empty_host(sim: EngineState, h: int) -> None:
    """An empty host (switched on or off by consolidation): only its own power changes."""
    host_state = int(sim.hosts.state[h])
    host_on = host_state == HOST_ON
    powered = host_on or host_state == HOST_BOOTING
    watts = sim.power.watts_one(h, 0.0) if powered else 0.0
    new = {**EMPTY, "power": watts, "on": float(host_on)}
    sim.host_rates.set_one(h, new, sim.sample_elapsed())
    sim.last.host_request[h] = 0.0
    sim.last.n_short[h] = 0


class _OneHost:
    """What the scalar solve reads of one host and its guests, as plain Python lists (one
    pass per stage over a few guests: plain loops beat arrays there)."""

    def __init__(self, sim: EngineState, h: int, gi: np.ndarray):
        hosts = sim.hosts
        self.h, self.gi, self.idx, self.n = h, gi, gi.tolist(), len(gi)
        self.host_state = int(hosts.state[h])
        self.host_on = self.host_state == HOST_ON
        self.state = sim.guests.state[gi].tolist()
        self.phase = sim.jobs.phase[gi].tolist()
        self.w_cpu, self.w_mem, self.w_disk, self.w_iops, _ = sim.want_rows.take(
            gi, axis=1
        ).tolist()
        columns = sim.static_rows[gi].T.tolist()  # one list per STATIC attribute, then is_job
        (
            self.memory,
            self.vcpus,
            self.vcpu_mips,
            self.shares,
            self.cap_cores,
            self.c_in,
            self.c_host,
            self.mem_over,
            self.k_in,
            self.k_tot,
            self.is_job,
        ) = columns
        self.core = float(hosts.core_mips[h])
        self.capacity = float(hosts.cpu_mips[h])
        self.mem_limit = float(hosts.memory[h])
        self.sliced = False  # time slices cost it capacity (vsim.model.slicing)


def _memory_and_requests(v: _OneHost) -> None:
    """Memory in use and swapped, and what each running guest asks of the host's CPU,
    virtualization overhead included (sets them on ``v``)."""
    n = v.n
    v.holds = holds = [False] * n
    v.own_mem = own_mem = [0.0] * n
    v.cap = cap = [0.0] * n
    v.demand = demand = [0.0] * n
    v.vm_request = vm_request = [0.0] * n
    v.t = t = []  # the running guests, who share the CPU
    host_mem = 0.0
    memory, host_on, k_in, k_tot = v.memory, v.host_on, v.k_in, v.k_tot
    # (Locals, not attributes, inside the loop: this is the hot path of one-host changes.)
    state, w_mem, mem_over, cap_cores, vcpu_mips = (
        v.state,
        v.w_mem,
        v.mem_over,
        v.cap_cores,
        v.vcpu_mips,
    )
    is_job, phase, w_cpu, vcpus, core, running = (
        v.is_job,
        v.phase,
        v.w_cpu,
        v.vcpus,
        v.core,
        gs.RUNNING,
    )
    for k in range(n):
        s = state[k]
        if host_on and HOLDS[s]:
            holds[k] = True
            own_mem[k] = w_mem[k] * memory[k]
            host_mem += min(memory[k], own_mem[k]) + mem_over[k]
        cap_k = cap[k] = cap_cores[k] * min(vcpu_mips[k], core)
        if host_on and s == running:
            t.append(k)
            if is_job[k]:
                d = demand[k] = cap_k if phase[k] == CPU else 0.0
            else:
                d = demand[k] = w_cpu[k] * vcpus[k] * vcpu_mips[k]
            vm_request[k] = cpu_request(cap_k, k_in[k], k_tot[k], min(d, cap_k))
        # (a guest that does not run asks for nothing: its request stays 0.0, what the
        # formula gives for a demand of 0)
    v.host_mem = host_mem
    # The share of memory swapped out when the host is overcommitted.
    excess = max(host_mem - v.mem_limit, 0.0)
    swapped = excess / host_mem if host_mem > 0 else 0.0
    v.swapped = swapped
    v.swap_frac = [swapped if hd else 0.0 for hd in holds] if swapped else [0.0] * n


def _disk(sim: EngineState, v: _OneHost) -> tuple[list[float], list[float]]:
    """Disk bandwidth and IOPS: flat sharing among everything on the host, swap included."""
    n, t, is_job, phase = v.n, v.t, v.is_job, v.phase
    disk = [0.0] * n
    iops = [0.0] * n
    io_job = any(is_job[k] and phase[k] == IO for k in t)
    if not (v.host_on and (v.swapped or io_job or any(v.w_disk) or any(v.w_iops))):
        return disk, iops
    disk_req = [0.0] * n
    iops_req = [0.0] * n
    for k in t:
        disk_req[k] = math.inf if is_job[k] and phase[k] == IO else v.w_disk[k]
        iops_req[k] = v.w_iops[k]
    if v.swapped:
        touch = sim.scenario.memory.swap_touch_rate
        for k in range(n):
            swap_bps = v.swap_frac[k] * v.own_mem[k] * touch
            disk_req[k] += swap_bps
            iops_req[k] += swap_bps / PAGE_BYTES
    hosts = sim.hosts
    if any(disk_req):
        disk = maxmin_one(float(hosts.disk_bw[v.h]), [1.0] * n, disk_req)
    if any(iops_req):
        iops = maxmin_one(float(hosts.disk_iops[v.h]), [1.0] * n, iops_req)
    return disk, iops


def _cpu_use(sim: EngineState, v: _OneHost, grant: list[float]) -> dict:
    """What each running guest does with its grant: useful work (net of swap stalls), vCPU
    time, overhead, the hypervisor's share, and whether it is short of its demand."""
    n = v.n
    useful = [0.0] * n
    alloc = [0.0] * n
    overhead = [0.0] * n
    short = [False] * n
    hypervisor = 0.0
    penalty = sim.scenario.memory.swap_penalty
    for k in v.t:  # (the others get nothing)
        own = grant[k] / v.k_tot[k]
        useful[k] = u = own / (1.0 + penalty * v.swap_frac[k])
        alloc[k] = own * v.k_in[k]
        hyp = own * v.c_host[k]
        overhead[k] = alloc[k] - own + hyp
        hypervisor += hyp
        short[k] = u < v.demand[k] * SHORT
    return {
        "useful": useful,
        "alloc": alloc,
        "overhead": overhead,
        "short": short,
        "hypervisor": hypervisor,
    }


def _write(sim: EngineState, v: _OneHost, grant, disk, iops, cpu: dict) -> None:
    """The new guest and host rates, and what the single-guest fast path starts from."""
    h, gi, host_on = v.h, v.gi, v.host_on
    new = {
        "cpu_demand_mips": v.demand,
        "cpu_useful_mips": cpu["useful"],
        "cpu_alloc_mips": cpu["alloc"],
        "cpu_overhead_mips": cpu["overhead"],
        "mem_bytes": v.own_mem,
        "disk_bps": disk,
    }
    since = sim.sample_elapsed()
    # One conversion for the guests' new rates, what the fast paths keep, and who is short.
    block = np.array(
        [*(new[c] for c in HOST_SOLVED), v.cap, v.vm_request, grant, v.swap_frac, cpu["short"]]
    )
    solved = len(HOST_SOLVED)
    sim.guest_rates.set_rows(gi, block[:solved], since)
    sim.last.short[gi] = block[-1]
    n_short = sum(cpu["short"])
    sim.last.n_short[h] = n_short
    host_cpu = sum(grant)
    if v.sliced:  # a sliced host's cores are busy with the switches too
        host_cpu += lost_mips(sim.slice_factor, host_cpu)
    capacity, hosts = v.capacity, sim.hosts
    powered = host_on or v.host_state == HOST_BOOTING
    sim.host_rates.set_one(
        h,
        {
            "cpu": host_cpu,
            "hypervisor": cpu["hypervisor"],
            "mem": v.host_mem,
            "disk": max(sum(disk) / float(hosts.disk_bw[h]), sum(iops) / float(hosts.disk_iops[h])),
            "power": sim.power.watts_one(h, host_cpu / capacity) if powered else 0.0,
            "on": float(host_on),
            "on_busy": float(host_on and host_cpu > 0),
            "saturated": float(host_on and host_cpu >= capacity * SATURATED),
            "short": float(host_on and n_short > 0),  # (no migration arrives here)
        },
        since,
    )
    sim.last.kept[:, gi] = block[solved:-1]
    sim.last.host_request[h] = sum(v.vm_request[k] for k in v.t)


def _replan_jobs(sim: EngineState, idx, is_job, state, phase, useful, disk) -> None:
    """Batch jobs whose progress rate changed get a new completion (the scalar form of
    :meth:`vsim.model.jobs.Jobs.reschedule`). Only the first of them is scheduled: the others stay
    marked for replanning, and the solve that its completion brings to this host (or any
    earlier one) replans them. This spares an event per job and per change, which another
    change on the host would make stale before it comes."""
    jobs = sim.jobs
    job_rate, job_replan = jobs.rate, jobs.replan
    due: list[tuple[float, int, float]] = []  # (time left, job, rate)
    for k, i in enumerate(idx):
        if not is_job[k]:
            continue
        p = phase[k]
        if state[k] != gs.RUNNING or p >= DONE:
            rate = 0.0
        else:
            rate = useful[k] if p == CPU else disk[k] if p == IO else float(sim.rate["net_bps"][i])
        if rate != job_rate[i] or job_replan[i]:
            left = jobs.replan_one(i, rate)
            if left is not None:
                due.append((left, i, rate))
    if due:
        first = min(left for left, _, _ in due)
        for left, i, rate in due:
            if left == first:  # (all that end first together)
                jobs.schedule_end(i, rate, left)
            else:
                job_replan[i] = True


def update_guest_cpu(sim: EngineState, g: int) -> bool:
    """Apply one guest's new CPU demand without re-solving, when nothing else can change;
    ``False`` if not applicable.

    That holds when its host is uncontended before and after (every guest there gets its
    whole request), the guest has no containers inside, no memory swapped and no migration.
    Rates change only for this guest and its host. The arithmetic is the scalar form of the
    one-host solve's (:func:`~vsim.model.overhead.cpu_request` on the guest's static row),
    over Python floats read once: the same IEEE operations, so the same bits.
    """
    gt, last = sim.guests, sim.last
    if sim.driver is not None:
        return False
    if sim.static_rows is None or gt.state[g] != gs.RUNNING or sim.has_children[g]:
        return False
    cap, old_req, old_grant, swap = last.kept[:, g].tolist()
    if swap > 0 or sim.transfers.migrating(g):
        return False  # its migration slows it: the full solve accounts for that
    h = int(gt.host[g])
    capacity = sim.hosts.cpu_mips.item(h) * (1 + 1e-12)  # equal sum: still all granted
    if sim.slice_factor is not None:  # within the sliced capacity no host is sliced
        capacity *= sim.slice_factor
    before = last.host_request_v[h]
    if before > capacity:
        return False
    row = sim.static_rows[g].tolist()
    k_in, k_tot, on_host = row[K_IN], row[K_TOT], row[ON_HOST]
    demand = sim.want_rows.item(WANT_CPU, g) * row[VCPUS] * row[VCPU_MIPS]
    request = cpu_request(cap, k_in, k_tot, demand)
    host_req = before - old_req + request
    if host_req > capacity:
        return False
    last.request_v[g] = request
    last.host_request_v[h] = host_req
    own = request / k_tot
    last.grant_v[g] = request
    since = sim.sample_elapsed()
    sim.guest_rates.set_one(
        g,
        {
            "cpu_demand_mips": demand,
            "cpu_useful_mips": own,
            "cpu_alloc_mips": own * k_in,
            "cpu_overhead_mips": own * (k_in - 1.0 + on_host),
        },
        since,
    )
    short = own < demand * SHORT
    was_short = bool(last.short[g])
    if short != was_short:
        last.n_short[h] += int(short) - int(was_short)
        last.short[g] = short
    _one_grant_changed(sim, h, old_grant, request, (on_host, k_tot), since)
    return True


def _one_grant_changed(
    sim: EngineState, h: int, old: float, new: float, factors: tuple, since: float
) -> None:
    """Host ``h``'s rates after one guest's grant went from ``old`` to ``new`` MIPS; the
    hypervisor's part of each granted MIPS is ``cpu_on_host / k_tot`` (``factors``)."""
    hr = sim.host_rates.scalar
    on_host, k_tot = factors
    cpu = hr["cpu"][h] - old + new
    capacity = sim.hosts.cpu_mips.item(h)
    sim.host_rates.set_one(
        h,
        {
            "cpu": cpu,
            "on_busy": float(cpu > 0),
            "saturated": float(cpu >= capacity * SATURATED),
            "short": float(sim.last.n_short[h] > 0 or sim.transfers.receives(h)),
            "hypervisor": hr["hypervisor"][h] + (new - old) * on_host / k_tot,
            "power": sim.power.watts_one(h, cpu / capacity),
        },
        since,
    )
