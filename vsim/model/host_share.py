"""Re-solving one host's sharing in scalar arithmetic.

Most changes in a running datacenter stay on one host: a batch phase ends, a service's queue
grows or drains, an empty host switches on or off. The engine's array solve
(:meth:`Simulation._reshare`) handles any set of hosts, but for one host with about ten guests
its hundred-odd NumPy calls cost far more (hundreds of microseconds) than the arithmetic itself.
This module computes the same allocation for one host over plain Python floats.

It covers the common shape only: every guest on the host is top-level (no containers inside
VMs) and no migration leaves from or goes to the host (migrations elsewhere do not reach it).
The caller falls back to the array solve otherwise, and a test keeps both solves equal on mixed
scenarios.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vsim.core.sharing import maxmin_one
from vsim.model import guests as gs
from vsim.model.hosts import HOST_BOOTING, HOST_ON
from vsim.model.rates import CPU, DONE, HOST_SOLVED, IO, PAGE_BYTES, SATURATED, SHORT

if TYPE_CHECKING:
    from vsim.model.datacenter import Simulation

HOLDS = gs.HOLDS_HOST.tolist()
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


def static_rows(sim: Simulation) -> np.ndarray:
    """The guests' fixed sizes and overhead factors, one row per guest, in :data:`STATIC` order
    plus a last column that is 1 for batch jobs (read a host's rows with one indexing)."""
    g = sim.guests
    return np.column_stack([*(getattr(g, a) for a in STATIC), sim.job_of >= 0]).astype(np.float64)


def reshare_host(sim: Simulation, h: int) -> bool:
    """Re-solve CPU, disk and IOPS of host ``h`` and its guests; ``False`` if not applicable.

    The semantics are :meth:`Simulation._reshare`'s for one host: memory footprints and swap,
    weighted max-min CPU with caps and virtualization overhead, flat disk and IOPS sharing,
    host power, then new job completions and service rate notifications.
    """
    if sim.static_rows is None or sim.migrator.touches(h):
        return False
    g, hosts = sim.guests, sim.hosts
    gi = g.on_host(h)
    if sim.any_nested and (sim.has_children[gi].any() or (g.parent[gi] >= 0).any()):
        return False
    host_state = int(hosts.state[h])
    host_on = host_state == HOST_ON
    if not len(gi):
        # An empty host (switched on or off by consolidation): only its own power changes.
        powered = host_on or host_state == HOST_BOOTING
        watts = sim.power.watts_one(h, 0.0) if powered else 0.0
        sim._set_one(
            sim.host_rate, sim._acc_host, h, {**EMPTY, "power": watts, "on": float(host_on)}
        )
        sim._host_request[h] = 0.0
        sim._n_short[h] = 0
        return True
    idx = gi.tolist()
    state = g.state[gi].tolist()
    phase = sim.phase[gi].tolist()
    w_cpu, w_mem, w_disk, w_iops, _ = sim._want_rows.take(gi, axis=1).tolist()
    columns = sim.static_rows[gi].T.tolist()  # one list per STATIC attribute, then is_job
    memory, vcpus, vcpu_mips, shares, cap_cores, c_in, c_host, mem_over, is_job = columns
    mem_model = sim.scenario.memory
    core = float(hosts.core_mips[h])
    capacity = float(hosts.cpu_mips[h])

    # One pass per stage over the host's guests (a few, so plain loops beat arrays).
    # Memory, and what each running guest asks of the host's CPU, virtualization overhead
    # included.
    n = len(idx)
    holds = [False] * n
    own_mem = [0.0] * n
    cap = [0.0] * n
    demand = [0.0] * n
    vm_request = [0.0] * n
    t = []  # the running guests, who share the CPU
    host_mem = 0.0
    for k in range(n):
        s = state[k]
        if host_on and HOLDS[s]:
            holds[k] = True
            own_mem[k] = w_mem[k] * memory[k]
            host_mem += min(memory[k], own_mem[k]) + mem_over[k]
        cap_k = cap[k] = cap_cores[k] * min(vcpu_mips[k], core)
        if host_on and s == gs.RUNNING:
            t.append(k)
            if is_job[k]:
                demand[k] = cap_k if phase[k] == CPU else 0.0
            else:
                demand[k] = w_cpu[k] * vcpus[k] * vcpu_mips[k]
        k_in = 1.0 + c_in[k]
        vm_request[k] = min(cap_k / k_in, min(demand[k], cap_k)) * (k_in + c_host[k])
    # The share of memory swapped out when the host is overcommitted.
    excess = max(host_mem - float(hosts.memory[h]), 0.0)
    swapped = excess / host_mem if host_mem > 0 else 0.0

    # CPU: weighted max-min among the running guests, each capped by its vCPUs.
    grant = [0.0] * n
    solved = maxmin_one(capacity, [shares[k] for k in t], [vm_request[k] for k in t])
    for k, x in zip(t, solved, strict=True):
        grant[k] = x

    # Disk bandwidth and IOPS: flat sharing among everything on the host.
    disk = [0.0] * n
    iops = [0.0] * n
    swap_frac = [swapped if hd else 0.0 for hd in holds] if swapped else [0.0] * n
    io_job = any(is_job[k] and phase[k] == IO for k in t)
    if host_on and (swapped or io_job or any(w_disk) or any(w_iops)):
        disk_req = [0.0] * n
        iops_req = [0.0] * n
        for k in t:
            disk_req[k] = math.inf if is_job[k] and phase[k] == IO else w_disk[k]
            iops_req[k] = w_iops[k]
        if swapped:
            for k in range(n):
                swap_bps = swap_frac[k] * own_mem[k] * mem_model.swap_touch_rate
                disk_req[k] += swap_bps
                iops_req[k] += swap_bps / PAGE_BYTES
        if any(disk_req):
            disk = maxmin_one(float(hosts.disk_bw[h]), [1.0] * n, disk_req)
        if any(iops_req):
            iops = maxmin_one(float(hosts.disk_iops[h]), [1.0] * n, iops_req)

    useful = [0.0] * n
    alloc = [0.0] * n
    overhead = [0.0] * n
    short = [False] * n
    hypervisor = 0.0
    penalty = mem_model.swap_penalty
    for k in t:  # (the others get nothing)
        k_in = 1.0 + c_in[k]
        own = grant[k] / (k_in + c_host[k])
        useful[k] = u = own / (1.0 + penalty * swap_frac[k])
        alloc[k] = own * k_in
        hyp = own * c_host[k]
        overhead[k] = alloc[k] - own + hyp
        hypervisor += hyp
        short[k] = u < demand[k] * SHORT
    new = {
        "cpu_demand_mips": demand,
        "cpu_useful_mips": useful,
        "cpu_alloc_mips": alloc,
        "cpu_overhead_mips": overhead,
        "mem_bytes": own_mem,
        "disk_bps": disk,
    }
    sim._set_rows(
        sim._rate_rows, sim._acc_rows, HOST_SOLVED, gi, np.array([new[c] for c in HOST_SOLVED])
    )
    sim._short[gi] = short
    n_short = sum(short)
    sim._n_short[h] = n_short
    host_cpu = sum(grant)
    powered = host_on or host_state == HOST_BOOTING
    sim._set_one(
        sim.host_rate,
        sim._acc_host,
        h,
        {
            "cpu": host_cpu,
            "hypervisor": hypervisor,
            "mem": host_mem,
            "disk": max(sum(disk) / float(hosts.disk_bw[h]), sum(iops) / float(hosts.disk_iops[h])),
            "power": sim.power.watts_one(h, host_cpu / capacity) if powered else 0.0,
            "on": float(host_on),
            "on_busy": float(host_on and host_cpu > 0),
            "saturated": float(host_on and host_cpu >= capacity * SATURATED),
            "short": float(host_on and n_short > 0),  # (no migration arrives here)
        },
    )
    # Kept for the single-guest fast path of request-level services.
    sim._kept[:, gi] = [cap, vm_request, grant, swap_frac]
    sim._host_request[h] = sum(vm_request[k] for k in t)

    # Batch jobs whose progress rate changed get a new completion (the scalar form of
    # Simulation._reschedule_jobs). Only the first of them is scheduled: the others stay
    # marked for replanning, and the solve that its completion brings to this host (or any
    # earlier one) replans them. This spares an event per job and per change, which another
    # change on the host would make stale before it comes.
    job_rate, job_replan = sim.job_rate, sim.job_replan
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
            left = sim._replan_job(i, rate)
            if left is not None:
                due.append((left, i, rate))
    if due:
        first = min(left for left, _, _ in due)
        for left, i, rate in due:
            if left == first:  # (all that end first together)
                sim._schedule_job_end(i, rate, left)
            else:
                job_replan[i] = True
    if sim.stations:
        for k, i in enumerate(idx):
            if i in sim.stations and useful[k] != sim._station_useful_of[i]:
                sim._station_useful_of[i] = useful[k]
                sim.stations[i].rate_changed()
    return True
