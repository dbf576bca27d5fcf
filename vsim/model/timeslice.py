"""CPU ready time of a run under ``scheduler.cpu: timeslice``: slices where a host is overcommitted.

For every sample and every host whose active vCPUs (those of running guests with CPU demand)
outnumber its cores, the host's vCPUs are scheduled slice by slice for ``timeslice.window``
seconds (:func:`vsim.core.timeslice.schedule_host`) at that sample's demands: each vCPU of a
guest at utilization ``u`` of its vCPUs, with weight ``cpu_shares / vcpus`` and cap
``cpu_limit / vcpus`` cores. Where every active vCPU has a core of its own nobody waits, and the
fluid solve is the answer: ready time 0, no switches. A container inside a VM runs on its VM's
vCPUs and reports its VM's ready time.

What it gives per guest and sample is ``cpu_ready_frac``, the fraction of its vCPUs' runnable
time spent waiting for a core (VMware's ready time, KVM's steal time), and per host the share
of core time lost to switches and cache refills. Hosts with the same vCPU mix in another sample
(utilizations equal to 1e-3) reuse the schedule already simulated.

The schedules are measured beside the run; what slices cost the guests' rates (the switch
and refill loss of a sliced host) is charged in the solve itself, :mod:`vsim.model.slicing`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vsim.core.timeslice import VCpu, schedule_host
from vsim.model import guests as gs

if TYPE_CHECKING:
    from vsim.model.engine import Engine

#: Utilizations are rounded to this before schedules are reused across samples.
UTIL_STEP = 1e-3


class ReadyTimes:
    """The slice measurements of a finished run: ``ready[k, g]`` (NaN where guest ``g`` had no
    runnable vCPU in sample ``k``), ``lost[k, h]`` and the slices simulated."""

    def __init__(self, sim: Engine):
        rec, g = sim.recorder, sim.guests
        self.cfg = sim.scenario.scheduler.timeslice
        n_k = len(rec.times)
        self.ready = np.full((n_k, g.n), np.nan)
        self.costop = np.full((n_k, g.n), np.nan)  # (with a skew limit)
        self.lost = np.zeros((n_k, sim.hosts.n))
        self.slices = 0
        self.runs = 0
        self._memo: dict[tuple, tuple[list[float], list[float], float, int]] = {}
        if rec.guest_state.shape[1] == 0:
            return  # per-guest samples were not kept
        util = rec.guest["cpu_demand_mips"] / (g.vcpus * g.vcpu_mips)
        for k in range(n_k):
            self._sample(sim, k, np.minimum(util[k], 1.0))

    def _sample(self, sim: Engine, k: int, util: np.ndarray) -> None:
        rec, g = sim.recorder, sim.guests
        host = rec.guest_host[k]
        top = g.parent < 0  # a container inside a VM runs on its VM's vCPUs
        active = (rec.guest_state[k] == gs.RUNNING) & (host >= 0) & (util > 0) & top
        self.ready[k, active] = 0.0
        self.costop[k, active] = 0.0
        vcpus = np.where(active, g.vcpus, 0)
        per_host = np.bincount(host[active], weights=vcpus[active], minlength=sim.hosts.n)
        for h in np.flatnonzero(per_host > sim.hosts.cores):
            idx = np.flatnonzero(active & (host == h))
            self.ready[k, idx], self.costop[k, idx], self.lost[k, h] = self._host(
                sim, int(h), idx, util[idx]
            )
        nested = np.flatnonzero(~top & (rec.guest_state[k] == gs.RUNNING))
        self.ready[k, nested] = self.ready[k, g.parent[nested]]
        self.costop[k, nested] = self.costop[k, g.parent[nested]]

    def _host(self, sim: Engine, h: int, idx: np.ndarray, util: np.ndarray):
        g, cfg = sim.guests, self.cfg
        guests = [
            (
                int(g.vcpus[i]),
                round(float(u) / UTIL_STEP) * UTIL_STEP,
                float(g.shares[i]),
                float(g.cap_cores[i]),
            )
            for i, u in zip(idx, util, strict=True)
        ]
        key = (int(sim.hosts.cores[h]), tuple(guests))
        if key not in self._memo:
            self._memo[key] = _simulate(key[0], guests, cfg)
            self.runs += 1
        ready, costop, lost, slices = self._memo[key]
        self.slices += slices
        return ready, costop, lost

    def summary(self) -> dict:
        """Ready time over all guest-samples with runnable vCPUs: mean, p95 and max."""
        r = self.ready[np.isfinite(self.ready)]
        extra = {}
        if self.cfg.skew_limit is not None:
            c = self.costop[np.isfinite(self.costop)]
            extra["cpu_costop_mean_frac"] = float(c.mean()) if len(c) else 0.0
        return {
            "cpu_ready_mean_frac": float(r.mean()) if len(r) else 0.0,
            "cpu_ready_p95_frac": float(np.quantile(r, 0.95)) if len(r) else 0.0,
            "cpu_ready_max_frac": float(r.max()) if len(r) else 0.0,
            "cpu_switch_lost_frac": float(self.lost.mean()) if self.lost.size else 0.0,
            "timeslice_slices": self.slices,
            **extra,
        }


def _simulate(cores: int, guests: list[tuple], cfg) -> tuple[list, list, float, int]:
    """Schedule one host's vCPUs: each guest's ready and co-stop fractions (of its vCPUs'
    runnable time), core time lost, slices run."""
    vcpus, owner = [], []
    for j, (n, u, shares, cap_cores) in enumerate(guests):
        cap = cap_cores / n if cap_cores < n else math.inf
        for _ in range(n):
            vcpus.append(VCpu(weight=shares / n, cap=cap, util=u, vm=j))
            owner.append(j)
    res = schedule_host(
        vcpus,
        cores,
        cfg.window,
        cfg.quantum,
        cfg.switch_cost,
        cfg.cache_refill,
        cfg.policy,
        cfg.burst_period,
        cfg.cap_period,
        skew_limit=math.inf if cfg.skew_limit is None else cfg.skew_limit,
    )
    ready, costop, runnable = ([0.0] * len(guests) for _ in range(3))
    for j, v in zip(owner, vcpus, strict=True):
        ready[j] += v.ready
        costop[j] += v.costop
        runnable[j] += v.runnable
    fracs = [r / t if t > 0 else 0.0 for r, t in zip(ready, runnable, strict=True)]
    costops = [c / t if t > 0 else 0.0 for c, t in zip(costop, runnable, strict=True)]
    return fracs, costops, 1.0 - res.useful_capacity() - _idle(res), res.slices


def _idle(res) -> float:
    """Core time nobody wanted (not a loss)."""
    busy = sum(v.run for v in res.vcpus) + res.switch_time
    return max(1.0 - busy / (res.cores * res.duration), 0.0)
