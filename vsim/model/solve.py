"""The array solve: weighted max-min sharing of every resource, over any set of hosts.

Each stage is a function over the engine's state (read through :class:`~vsim.model.contract.
EngineState`) and the :class:`Scope` of the solve; :func:`solve_hosts` runs them in order and
writes the new rates. Which solve runs when is decided in one place, :mod:`vsim.model.resolve`.

A full solve (``hosts=None``) covers every resource of every host, running migrations and the
network included. A subset solve covers only CPU, disk and IOPS of the guests on the given hosts:
its caller knows that nothing else changed (no placement, memory or network, and no migration to
or from them), so the network's rates stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vsim.core.flows import maxmin_flows
from vsim.core.sharing import maxmin_one, maxmin_share
from vsim.core.topology import route_latency
from vsim.model import guests as gs
from vsim.model.driver_domain import share_with_dom0
from vsim.model.hosts import HOST_BOOTING, HOST_ON
from vsim.model.overhead import cpu_factors, cpu_requests
from vsim.model.rates import CPU, GUEST_RATES, HOST_RATES, IO, NET, PAGE_BYTES, SATURATED, SHORT
from vsim.model.slicing import host_capacities, lost_mips

if TYPE_CHECKING:
    from vsim.model.contract import EngineState


@dataclass
class Scope:
    """The guests and hosts one solve covers, and what it reads of them.

    Gathers read through ``gsel``/``hsel``: views for a full solve (``slice(None)``), copies of
    the entries otherwise. ``host`` is each guest's host as an index into the scope's hosts.
    """

    full: bool
    gi: np.ndarray
    hi: np.ndarray
    gsel: Any
    hsel: Any
    host: np.ndarray
    state: np.ndarray
    host_on: np.ndarray
    holds: np.ndarray
    running: np.ndarray
    top: np.ndarray
    lpar: np.ndarray | None  # each guest's parent as a local index (nested scenarios only)
    is_job: np.ndarray | None  # (scenarios with batch jobs only)
    phase: np.ndarray | None

    @property
    def n(self) -> int:
        return len(self.gi)

    @property
    def nh(self) -> int:
        return len(self.hi)


def scope(e: EngineState, hosts: np.ndarray | None) -> Scope:
    """The scope of a solve of ``hosts`` (None: every host)."""
    g, h = e.guests, e.hosts
    full = hosts is None
    if full:
        gi, hi = np.arange(g.n), np.arange(h.n)
    else:
        hi = np.asarray(hosts, dtype=np.int64)
        gi = np.flatnonzero(np.isin(g.host, hi)) if len(hi) > 1 else g.on_host(int(hi[0]))
    gsel, hsel = (slice(None), slice(None)) if full else (gi, hi)
    ghost = g.host[gsel]
    placed = ghost >= 0
    host = np.where(placed, np.searchsorted(hi, ghost) if not full else ghost, 0)
    state = g.state[gsel]
    host_on = placed & (h.state[hsel][host] == HOST_ON)
    # Without nested guests or batch jobs (fixed at setup), the terms for them are skipped.
    top = g.parent[gsel] < 0
    lpar = None
    if e.any_nested:
        lpar = np.where(top, 0, np.searchsorted(gi, np.maximum(g.parent[gsel], 0)))
    is_job = phase = None
    if e.jobs.any:
        is_job = e.jobs.of[gsel] >= 0
        phase = e.jobs.phase[gsel]
    return Scope(
        full,
        gi,
        hi,
        gsel,
        hsel,
        host,
        state,
        host_on,
        gs.HOLDS_HOST[state] & host_on,
        (state == gs.RUNNING) & host_on,
        top,
        lpar,
        is_job,
        phase,
    )


def memory(e: EngineState, s: Scope, mig: Any) -> dict[str, np.ndarray]:
    """Memory in use (allocated, not shared), per guest and host, and the swapped share of
    each guest when its host is overcommitted. A VM's footprint includes its containers'."""
    g = e.guests
    gsel, holds, top, host, n, nh = s.gsel, s.holds, s.top, s.host, s.n, s.nh
    memory = g.memory[gsel]
    own_mem = np.where(holds, e.want["memory"][gsel] * memory, 0.0)
    if s.lpar is not None:
        inner = ~top & holds
        child_mem = np.bincount(s.lpar[inner], own_mem[inner], minlength=n)
        footprint = np.where(top & holds, np.minimum(memory, own_mem + child_mem), 0.0)
        footprint += np.where(top & holds, g.mem_overhead[gsel], 0.0)
        host_mem = np.bincount(host[top], footprint[top], minlength=nh)
    else:
        footprint = np.where(holds, np.minimum(memory, own_mem) + g.mem_overhead[gsel], 0.0)
        host_mem = np.bincount(host, footprint, minlength=nh)
    if mig is not None:
        m_hosts, m_mem = e.transfers.extra_memory(mig)
        host_mem += np.bincount(m_hosts, m_mem, minlength=nh)
    excess = np.maximum(host_mem - e.hosts.memory[s.hsel], 0.0)
    swapped = np.divide(excess, host_mem, out=np.zeros(nh), where=host_mem > 0)
    swap_frac = np.where(holds, swapped[host], 0.0)
    swap_bps = swap_frac * own_mem * e.scenario.memory.swap_touch_rate
    return {"own": own_mem, "host": host_mem, "swap_frac": swap_frac, "swap_bps": swap_bps}


def cpu_wanted(e: EngineState, s: Scope) -> dict[str, np.ndarray]:
    """What each guest asks of its host's CPU: its demand, its cap (vCPUs at the host's core
    speed), and its request of host MIPS with virtualization overhead; containers in a VM ask
    through their VM."""
    g = e.guests
    gsel, running, top, lpar = s.gsel, s.running, s.top, s.lpar
    vcpu_mips = g.vcpu_mips[gsel]
    cap = g.cap_cores[gsel] * np.minimum(vcpu_mips, e.hosts.core_mips[s.hsel][s.host])
    k_in, k_tot = cpu_factors(g.cpu_in_guest[gsel], g.cpu_on_host[gsel])
    wanted = e.want["cpu"][gsel] * g.vcpus[gsel] * vcpu_mips
    if s.is_job is not None:
        job_cpu = s.is_job & (s.phase == CPU)
        wanted = np.where(job_cpu, cap, wanted)
        wanted = np.where(s.is_job & ~job_cpu, 0.0, wanted)
    demand = np.where(running, wanted, 0.0)
    request = np.minimum(demand, cap)
    running_child = None
    if lpar is not None:
        running_child = ~top & running & (s.state[lpar] == gs.RUNNING)
        request = np.where(top | running_child, request, 0.0)
        child_req = np.bincount(lpar[~top], request[~top], minlength=s.n)
        vm_request = np.where(top, cpu_requests(cap, k_in, k_tot, request + child_req), 0.0)
        t_idx = np.flatnonzero(top & running)
    else:
        vm_request = cpu_requests(cap, k_in, k_tot, request)
        t_idx = running.nonzero()[0]  # (no flatnonzero wrapper: the solve is hot)
    return {
        "cap": cap,
        "k_in": k_in,
        "k_tot": k_tot,
        "demand": demand,
        "request": request,
        "vm_request": vm_request,
        "t_idx": t_idx,
        "running_child": running_child,
    }


def cpu_shares(e: EngineState, s: Scope, w: dict, mig: Any) -> tuple[np.ndarray, ...]:
    """Weighted max-min of each host's CPU among its running top-level guests (and the threads
    of migrations, which contend on both ends like any consumer): (grant per guest, migration
    thread hosts, their grants)."""
    shares = e.guests.shares[s.gsel]
    t_idx, vm_request = w["t_idx"], w["vm_request"]
    cpu_cap = e.hosts.cpu_mips[s.hsel]
    mig_host, mig_cpu = (
        e.transfers.cpu_consumers(mig) if mig is not None else (np.zeros(0, np.int64), np.zeros(0))
    )
    # scheduler.cpu: timeslice with a switch cost. A driver domain's vCPUs and work are
    # not counted in whether a host is sliced; it shares the sliced capacity.
    if e.slice_factor is not None:
        cpu_cap, w["sliced"] = host_capacities(
            e.slice_factor,
            cpu_cap,
            e.hosts.cores[s.hsel],
            np.concatenate([s.host[t_idx], mig_host]),
            np.concatenate([e.guests.vcpus[s.gsel][t_idx], np.zeros(len(mig_host))]),
            np.concatenate([vm_request[t_idx], mig_cpu]),
            s.nh,
        )
    if e.driver is not None:
        solved = share_with_dom0(
            e.driver,
            cpu_cap,
            s.hsel,
            (
                np.concatenate([s.host[t_idx], mig_host]),
                np.concatenate([shares[t_idx], np.full(len(mig_host), 1024.0)]),
                np.concatenate([vm_request[t_idx], mig_cpu]),
            ),
            (e.driver.delta[s.gsel][t_idx], w["k_tot"][t_idx]),
        )
    elif s.nh == 1 and not len(mig_host):
        solved = np.array(
            maxmin_one(float(cpu_cap[0]), shares[t_idx].tolist(), vm_request[t_idx].tolist())
        )
    else:
        solved = maxmin_share(
            cpu_cap,
            np.concatenate([s.host[t_idx], mig_host]),
            np.concatenate([shares[t_idx], np.full(len(mig_host), 1024.0)]),
            np.concatenate([vm_request[t_idx], mig_cpu]),
        )
    grant = np.zeros(s.n)
    if len(t_idx):
        grant[t_idx] = solved[: len(t_idx)]
    return grant, mig_host, solved[len(t_idx) :]


def split_in_vms(e: EngineState, s: Scope, w: dict, own: np.ndarray) -> np.ndarray:
    """Inside each VM with running containers: the VM's own work and its containers share the
    VM's useful grant ``own`` by their shares, each capped at its own request."""
    running_child, lpar, request = w["running_child"], s.lpar, w["request"]
    parents = np.unique(lpar[running_child])
    if len(parents):
        kids = np.flatnonzero(running_child)
        who = np.concatenate([parents, kids])
        grp = np.searchsorted(parents, np.concatenate([parents, lpar[kids]]))
        own[who] = maxmin_share(
            own[parents],
            grp,
            e.guests.shares[s.gsel][who],
            np.concatenate([request[parents], request[kids]]),
        )
    return np.where(s.top | running_child, own, 0.0)


def host_cpu_grants(e: EngineState, s: Scope, w: dict, mem: dict, mig: Any) -> dict:
    """CPU each guest gets and what it does with it: useful work (net of swap stalls and of
    what its migration takes), vCPU time and the hypervisor's on its behalf, whether it is
    short of its demand."""
    g, gsel, n = e.guests, s.gsel, s.n
    grant, mig_host, mig_grant = cpu_shares(e, s, w, mig)
    own = grant / w["k_tot"]  # useful work of the guest and the containers inside it
    if s.lpar is not None:
        own = split_in_vms(e, s, w, own)
    useful = own / (1.0 + e.scenario.memory.swap_penalty * mem["swap_frac"])
    loss_mips = np.zeros(n)
    paused_want = np.zeros(n)
    if mig is not None:
        slowed, loss = e.transfers.slowdown(mig)
        loss_mips[slowed] = useful[slowed] * loss
        useful[slowed] *= 1.0 - loss
        # A guest paused for its stop-and-copy still wants the CPU it cannot have.
        p = e.transfers.paused_guests(mig)
        paused_want[p] = np.minimum(e.want["cpu"][p], 1.0) * g.vcpus[p] * g.vcpu_mips[p]
    short = s.running & (useful + loss_mips < w["demand"] * SHORT)
    # CPU time the guest's vCPUs spend, overhead included, and the hypervisor's for it (a
    # container's are its VM's).
    vm_of = np.where(s.top, np.arange(n), s.lpar) if s.lpar is not None else slice(None)
    in_guest = own * w["k_in"][vm_of]
    hypervisor = own * g.cpu_on_host[gsel][vm_of]
    # the driver domain's work for the guest (split-driver I/O; a container's is its VM's)
    dom0 = own * g.cpu_in_dom0[gsel][vm_of] if e.driver is not None else None
    return {
        "grant": grant,
        "mig_host": mig_host,
        "mig_grant": mig_grant,
        "own": own,
        "useful": useful,
        "loss": loss_mips,
        "paused_want": paused_want,
        "short": short,
        "in_guest": in_guest,
        "hypervisor": hypervisor,
        "dom0": dom0,
        **({"sliced": w["sliced"]} if "sliced" in w else {}),
    }


def disk(e: EngineState, s: Scope, swap_bps: np.ndarray) -> tuple[np.ndarray, ...]:
    """Disk bandwidth and IOPS: flat sharing among everything on the host, swap included.
    Returns (bytes/s, IOPS, running-and-on guests, whether any I/O was asked for)."""
    h, n = e.hosts, s.n
    disk_req = e.want["disk"][s.gsel]
    if s.is_job is not None:
        disk_req = np.where(s.is_job & (s.phase == IO), np.inf, disk_req)
    disk_req = np.where(s.running, disk_req, 0.0) + swap_bps
    iops_req = np.where(s.running, e.want["iops"][s.gsel], 0.0) + swap_bps / PAGE_BYTES
    on = s.host_on.nonzero()[0]
    bps, iops = np.zeros(n), np.zeros(n)
    io = bool(disk_req.any() or iops_req.any())  # (CPU-only traces: nothing to share)
    if io and s.nh == 1:
        ones = [1.0] * len(on)
        bps[on] = maxmin_one(float(h.disk_bw[s.hi[0]]), ones, disk_req[on].tolist())
        iops[on] = maxmin_one(float(h.disk_iops[s.hi[0]]), ones, iops_req[on].tolist())
    elif io:
        weights = np.ones(len(on))
        bps[on] = maxmin_share(h.disk_bw[s.hsel], s.host[on], weights, disk_req[on])
        iops[on] = maxmin_share(h.disk_iops[s.hsel], s.host[on], weights, iops_req[on])
    return bps, iops, on, io


def network(e: EngineState, s: Scope, mig: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Guest traffic leaves through its host's links to the core; migrations go host to host;
    every flow gets a max-min fair rate over the links it crosses (a full solve only), of what
    the protocol delivers (:func:`protocol_bounds`); rates are of payload. Returns (bytes/s
    per guest, NIC bytes/s per host, the migrations' rates)."""
    net_req = e.want["net"]
    if s.is_job is not None:
        net_req = np.where(s.is_job & (s.phase == NET), np.inf, net_req)
    net_req = np.where(s.running, net_req, 0.0)
    talk = (s.host_on & (net_req > 0)).nonzero()[0]
    fabric = e.fabric
    if len(talk):
        ptr, links = fabric.routes_outside(s.host[talk])
    else:
        ptr, links = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    n_mig = mig.n if mig is not None else 0
    if n_mig:
        m_ptr, m_links = e.transfers.routes(mig)
        ptr = np.concatenate([ptr, ptr[-1] + m_ptr[1:]])
        links = np.concatenate([links, m_links])
        mig_demand = np.full(n_mig, e.transfers.demand())
    else:
        mig_demand = np.zeros(0)
    demand = np.concatenate([net_req[talk], mig_demand])
    capacity = fabric.capacity
    if not e.protocol.ideal:
        capacity, demand = protocol_bounds(e.protocol, fabric, ptr, links, demand)
    flow_rate = maxmin_flows(capacity, ptr, links, np.ones(len(talk) + n_mig), demand)
    net = np.zeros(s.n)
    net[talk] = flow_rate[: len(talk)]
    load = np.bincount(links, np.repeat(flow_rate, np.diff(ptr)), minlength=len(fabric.capacity))
    nic = np.maximum(load[fabric.host_uplink(s.hi)], load[fabric.host_downlink(s.hi)])
    return net, nic, flow_rate[len(talk) :]


def protocol_bounds(
    protocol: Any, fabric: Any, ptr: np.ndarray, links: np.ndarray, demand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What flows may take under a transport protocol: each link's payload capacity (its
    bandwidth times the protocol's goodput), and each flow's demand bounded by its window over
    its round-trip time (twice its route's one-way latency; a flow on no link is not bound)."""
    capacity = fabric.capacity * protocol.goodput
    if protocol.window < np.inf and len(demand):
        rtt = 2.0 * route_latency(fabric.latency, ptr, links)
        bound = np.divide(protocol.window, rtt, out=np.full(len(rtt), np.inf), where=rtt > 0)
        demand = np.minimum(demand, bound)
    return capacity, demand


def host_rates(e: EngineState, s: Scope, mem: dict, c: dict, io: tuple, mig: Any) -> dict:
    """Each host's rates from its guests' (and migrations'): CPU, hypervisor, memory, disk
    busy fraction, power, and the on / busy / saturated / short indicators."""
    h, hsel, host, nh = e.hosts, s.hsel, s.host, s.nh
    bps, iops, on, any_io = io
    top, grant = s.top, c["grant"]
    top_grant = (host[top], grant[top]) if s.lpar is not None else (host, grant)
    host_cpu = np.bincount(*top_grant, minlength=nh)
    host_cpu += np.bincount(c["mig_host"], c["mig_grant"], minlength=nh)
    host_hyp = np.bincount(host, c["hypervisor"], minlength=nh)
    host_hyp += np.bincount(c["mig_host"], c["mig_grant"], minlength=nh)
    if c["dom0"] is not None:  # dom0's work is host CPU in use, outside the guests' grants
        host_dom0 = np.bincount(host, c["dom0"], minlength=nh)
        host_cpu += host_dom0
        host_hyp += host_dom0
    if "sliced" in c:  # cores' time lost to switches (dom0's too) is in use
        host_cpu += np.where(c["sliced"], lost_mips(e.slice_factor, host_cpu), 0.0)
    n_short = np.bincount(host, c["short"], minlength=nh)
    hstate = h.state[hsel]
    receiving = e.transfers.receiving(mig)[hsel] if mig is not None else np.zeros(nh, bool)
    powered = (hstate == HOST_ON) | (hstate == HOST_BOOTING)
    is_on = hstate == HOST_ON
    cpu_cap = h.cpu_mips[hsel]
    return {
        "cpu": host_cpu,
        "hypervisor": host_hyp,
        "mem": mem["host"],
        # A disk is as busy as the tighter of its two limits.
        "disk": np.maximum(
            np.bincount(host[on], bps[on], minlength=nh) / h.disk_bw[hsel],
            np.bincount(host[on], iops[on], minlength=nh) / h.disk_iops[hsel],
        )
        if any_io
        else np.zeros(nh),
        "power": np.where(powered, e.power.at(s.hi, host_cpu / cpu_cap), 0.0),
        "on": is_on.astype(np.float64),
        "on_busy": (is_on & (host_cpu > 0)).astype(np.float64),
        "saturated": (is_on & (host_cpu >= cpu_cap * SATURATED)).astype(np.float64),
        "short": (is_on & ((n_short > 0) | receiving)).astype(np.float64),
        "n_short": n_short,
    }


def solve_hosts(e: EngineState, hosts: np.ndarray | None = None) -> None:
    """Re-solve the fluid allocation of ``hosts`` (None: all, with migrations and the
    network) and apply it: new rates, what the fast paths keep, new batch-job completions,
    migration rates and notifications of watched guests."""
    s = scope(e, hosts)
    mig = e.transfers.arrays() if s.full and e.transfers.active else None
    mem = memory(e, s, mig)
    w = cpu_wanted(e, s)
    c = host_cpu_grants(e, s, w, mem, mig)
    io = disk(e, s, mem["swap_bps"])
    hr = host_rates(e, s, mem, c, io, mig)
    if s.full:
        net, hr["net"], mig_rates = network(e, s, mig)
        sel_g, sel_h = slice(None), slice(None)
    else:
        net = e.rate["net_bps"][s.gsel]  # the network is solved across hosts: its rates stay
        hr["net"] = e.host_rate["net"][s.hsel]
        sel_g, sel_h = s.gi, s.hi
    new_guest = {
        "cpu_demand_mips": w["demand"],
        "cpu_useful_mips": c["useful"],
        "cpu_alloc_mips": c["in_guest"],
        "cpu_overhead_mips": c["in_guest"]
        - c["own"]
        + (c["hypervisor"] if c["dom0"] is None else c["hypervisor"] + c["dom0"]),
        "mem_bytes": mem["own"],
        "disk_bps": io[0],
        "cpu_migration_loss_mips": c["loss"],
        "cpu_paused_want_mips": c["paused_want"],
        "net_bps": net,
    }
    since = e.sample_elapsed()
    e.guest_rates.set_rows(sel_g, np.stack([new_guest[k] for k in GUEST_RATES]), since)
    e.host_rates.set_rows(sel_h, np.stack([hr[k] for k in HOST_RATES]), since)
    keep(e, s, w, c, mem, hr["n_short"])
    if s.is_job is not None:
        phase = s.phase
        useful, bps = c["useful"], io[0]
        e.jobs.reschedule(s.gi, np.where(phase == CPU, useful, np.where(phase == IO, bps, net)))
    if mig is not None:
        e.transfers.set_rates(mig_rates)
    if e.watch:
        e.watch.changed(None if s.full else s.gi, e.rate["cpu_useful_mips"])


def keep(e: EngineState, s: Scope, w: dict, c: dict, mem: dict, n_short: np.ndarray) -> None:
    """Keep what the one-host and single-guest paths start from."""
    last, gsel, t_idx = e.last, s.gsel, w["t_idx"]
    last.short[gsel] = c["short"]
    last.n_short[s.hsel] = n_short
    last.cpu_cap[gsel] = w["cap"]
    last.cpu_request[gsel] = w["vm_request"]
    last.cpu_grant[gsel] = c["grant"]
    last.swap_frac[gsel] = mem["swap_frac"]
    last.host_request[s.hsel] = np.bincount(s.host[t_idx], w["vm_request"][t_idx], minlength=s.nh)
