"""Dynamic VM consolidation: a SimPy process that moves VMs every ``interval``.

Beloglazov & Buyya, CCPE 24(13):1397-1420, 2012 (below: "the paper"), Section 5 and
Algorithms 1-2. Each round:

1. **Observe.** Each host's CPU utilization is recorded into its history: CPU MIPS in use on
   the host (all consumers: the guests' grants with their virtualization overhead, migration
   threads) divided by its capacity, at the instant of the round, right after the trace step of
   that instant. Each VM's requested MIPS is recorded into the VM's history. Under
   ``profile: cloudsim`` a host's history is instead the sum of its current VMs' histories (the
   history it would have had with its present VMs), as CloudSim computes it.
2. **Overloaded hosts** (paper, Section 5.1): the detector (THR, IQR, MAD, LR, LRR, with a static
   fallback threshold until ``min_history`` samples) runs over all hosts at once
   (``vsim.core.detectors.overloaded``). The host load the controller reasons with is the sum of
   the MIPS its VMs request (their demand, not capped by the host), so a saturated host's excess
   is visible.
3. **VM selection** (Section 5.3): from every overloaded host at once, one VM per round of the
   selection policy (MMT, MC, RS, MU), removing its load and its history from the host's, until
   the detector no longer flags the host.
4. **Placement** (Section 5.4, Algorithm 1, PABFD): the selected VMs in decreasing order of
   requested MIPS, each on the host whose power grows least, among hosts that are on, not
   overloaded, have the memory (``pool``) and a core fast enough for one vCPU's demand, and
   would not be overloaded with the VM (THR: load after <= threshold; IQR/MAD: load after <=
   the host's threshold from its history, under ``profile: cloudsim`` from the history it
   would have with the VM, an empty host untested, as CloudSim does; LR/LRR: ``s x`` (host
   prediction + the VM's own prediction) < 1, the regression being linear in the data; the
   fallback threshold while the history is short). If no host that is on fits, an off host is
   switched on (``host_boot_time``) and the migration starts once it is up.
   Under ``profile: cloudsim`` the power increase is measured from each host's power when the
   round began (from its table even at 0 %: idle power): VMs placed earlier in the round count
   only on the "after" side, as CloudSim evaluates a host's power at the utilization of its last
   update. That profile also reads traces 0.1 s after each sample and deletes VMs whose request
   is then 0, as CloudSim does (``docs/consolidation.md`` lists its rules and their sources).
5. **Underloaded hosts** (Section 5.2): the least-utilized remaining host (on, not overloaded,
   not a destination this round, no VM already migrating) is evacuated if all its VMs fit
   elsewhere under the same rules (all or none); it is switched off when its last VM has left.
   Repeated for every such host, in increasing utilization, skipping those that cannot be
   evacuated (a vectorized necessary test rules most of them out without trying). Under
   ``profile: cloudsim`` this round's destinations may be evacuated too, as in CloudSim, the
   VMs just placed there moving on (recorded as two migrations).

Migrations of a round start together (one reshare). Hosts left without guests are switched off
when ``switch_off_idle``. The controller also integrates what the paper's metrics need
(``vsim.metrics.consolidation``): time each host is active and at 100 % CPU (SLATAH) and CPU
each VM requested and lost to migration (PDM), exactly between events.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from vsim.core.detectors import loess_predict, overloaded, select_vms, upper_threshold
from vsim.metrics.consolidation import consolidation_summary
from vsim.model import guests as gs
from vsim.model.hosts import HOST_OFF, HOST_ON
from vsim.policies import (
    HostLoads,
    PolicyError,
    TargetView,
    VmCandidates,
    as_host,
    call,
    resolve,
)

if TYPE_CHECKING:
    from vsim.model.engine import Engine
    from vsim.model.migration import Migrator

_EPS = 1e-9
CLOUDSIM_DT = 0.1  # CloudSim's updates come this long after each sample time


class Consolidator:
    """State of the consolidation controller of one simulation.

    A controller (:mod:`vsim.model.contract`): it observes the engine's rates, starts
    migrations through ``migrator`` with the CPU (and, under the cloudsim profile, memory)
    placement limits lifted, switches hosts on and off, and switches an evacuated host off
    when the ``migration_finished`` signal says the last move left it.
    """

    name = "consolidation"
    # MC selection reuses a host's R^2 from one selection to the next within a round while
    # its VMs' histories are unchanged (False: regress every time; the same choices, tested).
    mc_cache = True

    def __init__(self, sim: Engine, migrator: Migrator):
        self.sim = sim
        self.migrator = migrator
        # User policies (vsim.policies) for the plug-in points; None where a built-in runs.
        base = sim.scenario.base_dir
        self.user_detector = resolve("detector", sim.scenario.consolidation.detector, base)
        self.user_selection = resolve("selection", sim.scenario.consolidation.selection, base)
        self.user_target = resolve("target", sim.scenario.consolidation.placement, base)
        cfg = sim.scenario.consolidation
        self.cfg = cfg
        self.cloudsim = cfg.profile == "cloudsim"
        self.param = cfg.threshold_param
        h, g = sim.hosts, sim.guests
        w = cfg.history_length
        self.host_hist = np.zeros((h.n, w))
        self.host_n = np.zeros(h.n, dtype=np.int64)
        self.vm_hist = np.zeros((g.n, w))  # requested MIPS
        self.vm_n = np.zeros(g.n, dtype=np.int64)
        self.rng = sim.streams.generator("consolidation")
        # Metric integrals (exact between events) and per-round records.
        self.tick_times: list[float] = []
        self.tick_util: list[np.ndarray] = []
        self.rounds = 0
        self.switch_offs = 0
        self.switch_ons = 0
        self._evacuating: set[int] = set()
        # CloudSim's IQR and MAD policies wait for 12 samples (its LR for 10).
        cs_wait = self.cloudsim and cfg.detector in ("iqr", "mad")
        unset = "min_history" not in cfg.model_fields_set
        self.min_history = 12 if cs_wait and unset else cfg.min_history
        self.removed = 0  # VMs deleted as CloudSim deletes "completed" ones (cloudsim profile)
        self._traced = np.zeros(g.n, dtype=bool)
        self.power = sim.power  # for placement: the real tables even under NPA
        # Constant per-host arrays the placement reads (the hosts' hardware does not change).
        self._cap = h.cpu_mips.astype(np.float64)
        self._capfit = self._cap * (1 + _EPS)
        self._corefit = h.core_mips * (1 + _EPS)
        self._speeds = np.unique(self._corefit)
        # Hosts whose cores are fast enough for each core class, and for none (see _cls).
        self._fast = np.array([self._corefit >= v for v in self._speeds] + [np.zeros(h.n, bool)])
        self._memcap = sim.placement_capacity("memory") * (1 + _EPS)
        self._fbcap = min(cfg.fallback_threshold, 1.0) * self._capfit
        self._all = np.arange(h.n)
        self._lr = cfg.detector in ("lr", "lrr")
        # CloudSim's IQR and MAD test a target with the VM on it: the threshold from the
        # history the host would have with the VM (see _admits).
        self._retest = self.cloudsim and cfg.detector in ("iqr", "mad")
        self._retest &= self.user_detector is None
        # CloudSim's LR and LRR likewise: the history length and the test are the host's with
        # the VM on it (the prediction, linear in the data, is the host's plus the VM's).
        self._lr_after = self.cloudsim and self._lr and self.user_detector is None
        # Placement moves carry the hosts' history lengths along (both tests read them) and,
        # for the IQR/MAD retest alone, the histories themselves (LR's test reads the
        # prediction, which moves carry anyway).
        self._track = self._retest or self._lr_after
        # Hosts of one hardware kind (power table, capacity, cores, memory) share an id.
        kinds = np.column_stack([self.power.tables, self._cap, self._corefit, self._memcap])
        self._kind = np.unique(kinds, axis=0, return_inverse=True)[1].reshape(-1)
        if not cfg.power_aware:
            # The paper's NPA: "all hosts run at 100% CPU utilization and consume maximum power
            # all the time" (Section 7.3) -- every host that is on draws its peak power.
            sim.set_power(sim.power.at_peak())
        if self.cloudsim:
            self._migrate_like_cloudsim()
        self._left: list[int] = []  # evacuated hosts a migration just left, to switch off
        sim.signals.migration_finished.connect(self._migration_finished)
        sim.env.process(self._loop())

    def _migrate_like_cloudsim(self) -> None:
        """CloudSim's migrations: pre-copy at half the host's bandwidth, no device state or
        thread cost, 10 % degradation and destination reserve, no dirty pages, no memory held
        at the destination; traces read as CloudSim reads them; no network contention."""
        sim = self.sim
        net = float(sim.hosts.net_bw.min())
        self.migrator.use_settings(
            self.migrator.cfg.model_copy(
                update={
                    "algorithm": "precopy",
                    "bandwidth_cap": net / 2.0,
                    "device_state": 0.0,
                    "cpu_cost_cores": 0.0,
                    "degradation": 0.1,
                    "dest_cpu_reserve": 0.1,
                }
            ),
            dirty_rate=0.0,
            reserve_memory=False,  # a migrating-in VM asks for its RAM in use: 0
        )
        self._sample_like_cloudsim()
        # CloudSim models no network contention: every migration moves at half its host's
        # bandwidth however many run at once, so the fabric's links are not limiting.
        sim.set_network_unlimited()

    def _migration_finished(self, m) -> None:
        """Hosts an evacuating migration left are switched off once the moves ending at this
        instant are done."""
        for left in (m.src, m.via):
            if left in self._evacuating:
                if not self._left:
                    self.sim.env.timeout(0).callbacks.append(self._switch_off_left)
                self._left.append(left)

    def summary(self) -> dict:
        return consolidation_summary(self)

    def _sample_like_cloudsim(self) -> None:
        """CloudSim reads each trace at its updates, 0.1 s after the sample times (its cloudlets
        start at 0.1 s; ``UtilizationModelPlanetLabInMemory`` interpolates linearly between
        samples), and holds that request until the next update. Each sample becomes the value
        0.1 s into its interval; it is exactly 0 only where this sample and the next are."""

        def read_like_cloudsim(d):
            if d.service is not None:
                return None
            t = d.trace
            step = np.diff(t.times, append=np.inf)
            nxt = np.concatenate([t.cpu[:, 1:], t.cpu[:, -1:]], axis=1)
            self._traced[d.guests] = True
            return dataclasses.replace(t, cpu=t.cpu + (nxt - t.cpu) * (CLOUDSIM_DT / step))

        self.sim.resample_traces(read_like_cloudsim)
        self.sim.resolve.everything()

    def _remove_completed(self) -> None:
        """CloudSim's power datacenter deletes, at every update, each VM not migrating whose
        requested MIPS is exactly 0 (its "completed" VMs: ``HostDynamicWorkload.getCompletedVms``),
        for good. On PlanetLab day 20110303 that is about half of the VMs by the end of the day,
        which is most of the gap between DVFS with and without it."""
        sim = self.sim
        vms = self._vms()
        done = vms[self._traced[vms] & (sim.want["cpu"][vms] == 0.0)]
        done = np.setdiff1d(done, [m.guest for m in self.migrator.active])
        if not len(done):
            return
        sim.settle()
        sim.count_event()
        # A VM that asks for no CPU and sends nothing frees nothing the round reads (CPU in use,
        # the other VMs' requests, network), so its solve can wait for the round's own.
        quiet = not sim.rate["net_bps"][done].any()
        sim.stop(done)
        self.removed += len(done)
        if quiet:
            sim.resolve.later()
        else:
            sim.resolve.everything()

    # ------------------------------------------------------------------ the loop
    def _loop(self):
        env, cfg = self.sim.env, self.cfg
        # After the guests started at time 0 (their start, then their boot of 0 s, each one
        # more event at this instant).
        yield env.timeout(0)
        yield env.timeout(0)
        self._observe(record_history=False)
        if cfg.switch_off_idle:
            self._switch_off_empty()
        k = 1
        while k * cfg.interval < self.sim.scenario.duration:
            yield env.timeout(k * cfg.interval - env.now)
            yield env.timeout(0)  # after the trace step of this instant
            self._round()
            k += 1

    def _vms(self) -> np.ndarray:
        g, h = self.sim.guests, self.sim.hosts
        on_host = g.host >= 0
        ok = (g.parent < 0) & (g.state == gs.RUNNING) & on_host
        ok[on_host] &= h.state[g.host[on_host]] == HOST_ON
        return np.flatnonzero(ok)

    def _observe(self, record_history: bool = True) -> np.ndarray:
        """Record the current utilization of every host (and the VMs' requests); returns it."""
        sim = self.sim
        sim.settle()
        h = sim.hosts
        util = sim.host_rate["cpu"] / h.cpu_mips
        self.tick_times.append(float(sim.env.now))
        self.tick_util.append(util.copy())
        if record_history:
            on = h.state == HOST_ON
            self.host_hist[:, :-1] = self.host_hist[:, 1:]
            self.host_hist[:, -1] = util
            self.host_n = np.where(on, np.minimum(self.host_n + 1, self.host_hist.shape[1]), 0)
            vms = self._vms()
            self.vm_hist[:, :-1] = self.vm_hist[:, 1:]
            self.vm_hist[:, -1] = 0.0
            self.vm_hist[vms, -1] = sim.cpu_request[vms]
            n = np.zeros_like(self.vm_n)
            n[vms] = np.minimum(self.vm_n[vms] + 1, self.vm_hist.shape[1])
            self.vm_n = n
        return util

    def _switch_off_empty(self) -> None:
        sim = self.sim
        g, h = sim.guests, sim.hosts
        busy = np.zeros(h.n, dtype=bool)
        holds = gs.HOLDS_HOST[g.state] & (g.host >= 0)
        busy[g.host[holds]] = True
        for m in self.migrator.active:
            busy[[m.src, m.dst]] = True
        for i in np.flatnonzero((h.state == HOST_ON) & ~busy):
            if sim.switch_off(int(i)):
                self.switch_offs += 1

    def _switch_off_left(self, _event=None) -> None:
        """After the migrations ending at this instant: switch off the evacuated hosts they
        left, once empty (several moves may leave one host)."""
        left, self._left = self._left, []
        for h in dict.fromkeys(left):
            self._maybe_off(h)

    def _maybe_off(self, host: int) -> None:
        """Switch an evacuated host off once nothing is on it or moving to or from it."""
        sim = self.sim
        if self.migrator.touches(host) or not sim.switch_off(host):
            return  # (switch_off refuses while a guest still holds the host)
        self._evacuating.discard(host)
        self.switch_offs += 1

    # ------------------------------------------------------------------ one round
    def _round(self) -> None:
        """One consolidation round: observe, find overloaded hosts and the VMs to move off
        them, place those (PABFD), evacuate underloaded hosts, start the migrations."""
        cfg = self.cfg
        self.rounds += 1
        if self.cloudsim:
            self._remove_completed()
        self._observe()
        if cfg.detector == "none":
            if cfg.switch_off_idle:
                self._switch_off_empty()
            return
        r = self._round_inputs()
        over, chosen = self._overloaded(r)
        self._prepare_placement(r)
        moves: list[tuple[int, int]] = []  # (guest, destination)
        dest = np.zeros(self.sim.hosts.n, dtype=bool)
        to_boot: set[int] = set()
        if chosen:
            self._place_from_overloaded(r, np.concatenate(chosen), over, moves, dest, to_boot)
        # --- underloaded hosts: evacuate the least utilized, one after another
        if cfg.underload:
            moves.extend(self._underload(r["vms"], r["vm_host"], r["migrating"], over, dest))
        self._start(_last_moves(moves), to_boot)
        if cfg.switch_off_idle:
            self._switch_off_empty()

    def _round_inputs(self) -> dict:
        """What a round reads: the VMs, their hosts and requests and histories, the hosts'
        load and history (under the cloudsim profile, the sum of their VMs')."""
        sim = self.sim
        h, g = sim.hosts, sim.guests
        vms = self._vms()
        migrating = np.zeros(g.n, dtype=bool)
        for m in self.migrator.active:
            migrating[m.guest] = True
        vm_host = g.host[vms]
        req = sim.cpu_request[vms]  # host MIPS each VM asks for (demand, incl. overhead)
        vhist = self.vm_hist[vms]
        vn = self.vm_n[vms]
        if self.cloudsim:
            hist = np.zeros_like(self.host_hist)
            np.add.at(hist, vm_host, vhist)
            hist /= self._cap[:, None]
            hn = np.zeros(h.n, dtype=np.int64)
            np.maximum.at(hn, vm_host, vn)
        else:
            hist = self.host_hist.copy()
            hn = self.host_n.copy()
        return {
            "vms": vms,
            "migrating": migrating,
            "vm_host": vm_host,
            "req": req,
            "vhist": vhist,
            "vn": vn,
            "load": np.bincount(vm_host, req, minlength=h.n),
            "n_vms": np.bincount(vm_host, minlength=h.n),
            "hist": hist,
            "hn": hn,
            "horizon": self._horizon(vms, vm_host),
        }

    def _admission(self, r: dict) -> None:
        """Each host's admission limit (the utilization a destination may reach) and, for LR
        and LRR, the predicted utilization of hosts and VMs (sets them in ``r``)."""
        cfg, n = self.cfg, self.sim.hosts.n
        method, hist, hn = cfg.detector, r["hist"], r["hn"]
        r["enough"] = enough = hn >= self.min_history
        if method == "thr" or self.user_detector is not None:
            r["limit"] = np.full(n, self.param)
        elif method in ("iqr", "mad"):
            t_u = upper_threshold(
                method, hist, hn, self.param, quantile_method=self._quantile_method()
            )
            r["limit"] = np.where(enough, t_u, cfg.fallback_threshold)
        else:
            r["limit"] = np.full(n, cfg.fallback_threshold)
        r["pred"] = np.zeros(n)
        r["vm_pred"] = np.zeros(len(r["vms"]))
        r["raw"] = None  # (LR, LRR: the detector's own prediction, computed once)
        if self._lr:
            r["raw"] = self._predict(hist, hn, r["horizon"])
            r["pred"] = np.nan_to_num(r["raw"], nan=0.0)
            vm_horizon = r["horizon"][r["vm_host"]]
            r["vm_pred"] = np.nan_to_num(self._predict(r["vhist"], r["vn"], vm_horizon), nan=0.0)

    def _overloaded(self, r: dict) -> tuple[np.ndarray, list[np.ndarray]]:
        """The overloaded hosts, and the VMs (positions in ``r["vms"]``) selected off them
        until they are no longer overloaded; updates the hosts' load, history and
        prediction in ``r`` as if those VMs had left."""
        self._admission(r)
        vms, vm_host, req, vhist = r["vms"], r["vm_host"], r["req"], r["vhist"]
        load, hist, hn, horizon, pred = r["load"], r["hist"], r["hn"], r["horizon"], r["pred"]
        cap, n_vms = self._cap, r["n_vms"]
        on = self.sim.hosts.state == HOST_ON
        every = np.arange(len(hn))
        over = on & (n_vms > 0) & self._detect(hist, hn, load / cap, horizon, r["raw"], every)
        eligible = ~r["migrating"][vms]
        chosen: list[np.ndarray] = []
        still = over.copy()
        # MC: a host's VMs and their histories stay the same from one selection to the next
        # (a selected VM is still on its host, only no longer eligible), so each host's R^2
        # are computed once per round and reused while they are.
        r2_cache: dict | None = {} if self.mc_cache else None
        for _ in range(int(n_vms.max(initial=0))):
            if not still.any():
                break
            pick = self._select(vms, vm_host, req, vhist, r["vn"], still, eligible, r2_cache)
            rows = np.flatnonzero(still & (pick >= 0))
            still[still & (pick < 0)] = False
            if not len(rows):
                break
            pos = np.searchsorted(vms, pick[rows])
            eligible[pos] = False
            chosen.append(pos)
            load[rows] -= req[pos]
            hist[rows] -= vhist[pos] / cap[rows, None]
            if self._lr:
                pred[rows] -= r["vm_pred"][pos] / cap[rows]
            still[rows] = self._detect(
                hist[rows], hn[rows], load[rows] / cap[rows], horizon[rows], hosts=rows
            )
        return over, chosen

    def _prepare_placement(self, r: dict) -> None:
        """Round state the placement reads and updates (per host, float64[H]; per VM
        position)."""
        sim, g, vms = self.sim, self.sim.guests, r["vms"]
        load, req, enough = r["load"], r["req"], r["enough"]
        self._load = load
        self._pred = r["pred"]
        self._mem_used = sim.placement_used("memory")
        self._enough = enough
        # The most CPU a destination may hold: its admission limit (LR/LRR: capacity, or the
        # fallback threshold while its history is short; IQR/MAD under the cloudsim profile:
        # capacity, the threshold being tested per VM by _admits).
        self._hist, self._hn = r["hist"], r["hn"]
        self._vhist, self._vn = r["vhist"], r["vn"]
        if self._track:
            self._lim = self._capfit
        elif self._lr:
            self._lim = np.where(enough, self._capfit, self._fbcap)
        else:
            self._lim = np.minimum(r["limit"], 1.0) * self._capfit
        self._req = req
        self._round_vms = vms
        self._vm_pred = r["vm_pred"]
        self._mem_req = g.memory[vms] + g.mem_overhead[vms]
        # Each VM's core class: index of the slowest core speed that fits one of its vCPUs
        # (len(speeds): none does), and per class the hosts with such cores.
        self._cls = np.searchsorted(self._speeds, req / np.maximum(g.vcpus[vms], 1.0), "left")
        # Power each host draws before this round's moves, the base of PABFD's increase: 0 W
        # for a host that is off. CloudSim never switches a host off and takes its power at 0 %
        # from the table (idle power), so an empty host costs only what the VM adds above idle.
        self._pw = self._power(self._all, load)
        if not self.cloudsim:
            self._pw[sim.hosts.state == HOST_OFF] = 0.0
        self._load_last = load.copy()  # before this round's moves
        self._arrived_at = np.full(len(vms), -1)  # destination of each VM moved so far

    def _place_from_overloaded(self, r, pos, over, moves, dest, to_boot) -> None:
        """PABFD for the VMs at positions ``pos``, largest request first, switching hosts
        on if needed; appends to ``moves``, marks ``dest`` and ``to_boot``."""
        h, vms, vm_host, req = self.sim.hosts, r["vms"], r["vm_host"], r["req"]
        pos = pos[np.lexsort((vms[pos], -req[pos]))]
        cand = (h.state == HOST_ON) & ~over  # no VM goes to an overloaded host
        if self.cloudsim:
            cand |= h.state == HOST_OFF
        # (Most candidates are empty hosts, alike within each kind of hardware.)
        # A user's target policy sees every candidate, not one per group of lookalikes.
        keys = self._state_keys() if self.user_target is None else None
        group = _Lookalikes if keys is not None else _EveryHost
        cand = group(np.flatnonzero(cand), keys)
        if not self.cloudsim:
            off = group(np.flatnonzero((h.state == HOST_OFF) & ~over), keys)
        for p in pos.tolist():
            hh = self._best_host(p, cand.hosts)
            booted = hh < 0 and not self.cloudsim
            if booted:
                hh = self._best_host(p, off.hosts)
            if hh < 0:
                continue
            self._commit(p, int(vm_host[p]), hh)  # (an overloaded source is no candidate)
            cand.changed(hh)
            moves.append((int(vms[p]), hh))
            self._arrived_at[p] = hh
            dest[hh] = True
            if h.state[hh] == HOST_OFF:
                to_boot.add(hh)
            if booted:
                off.changed(hh, leaves=True)
                cand.add(hh)  # others may follow it there this round

    def _underload(self, vms, vm_host, migrating, over, dest) -> list[tuple[int, int]]:
        """Evacuate underloaded hosts in increasing utilization; each only if all its VMs fit.

        A source's load changes only if it receives VMs, and then it is no longer a source, so
        the order is fixed once. A VM that fits on no target alone never will later in the
        round (targets only lose headroom), so a vectorized necessary test (each VM of the
        host fits on the roomiest target of its core class) skips hopeless hosts without
        trying them."""
        h = self.sim.hosts
        req = self._req
        sources, targets, src_order, round_host = self._underload_order(
            vms, vm_host, migrating, over, dest
        )
        by_host = np.lexsort((vms, -req, round_host))  # VMs grouped by host, largest first
        first = np.searchsorted(round_host[by_host], np.arange(h.n + 1))
        moves: list[tuple[int, int]] = []
        i = 0
        # What each host's VMs need together (fixed for the round: hosts that receive VMs are
        # no longer sources).
        self._src_n = np.bincount(round_host, minlength=h.n)
        self._alone_key = None  # the one-VM test of _evacuable, for this round's VMs
        self._src_req = np.bincount(round_host, req, minlength=h.n)
        self._src_mem = np.full(h.n, np.inf)
        np.minimum.at(self._src_mem, round_host, self._mem_req)
        ok_host = self._evacuable(round_host, targets)
        fresh = True  # ok_host reflects the targets as they are now
        while i < len(src_order):
            rest = src_order[i:]
            nxt = (ok_host[rest] & sources[rest]).nonzero()[0]  # (no flatnonzero wrapper)
            if not nxt.size:
                break
            j = i + int(nxt[0])
            src = int(src_order[j])
            if self.cloudsim:
                # CloudSim: a host once considered as underloaded takes no VMs this round (the
                # sources passed over were considered and failed; hosts that received VMs in
                # this phase are no sources but still take VMs).
                seen = src_order[i : j + 1]
                targets[seen[sources[seen]]] = False
            i = j + 1
            plan = self._try_evacuate(src, by_host[first[src] : first[src + 1]], targets)
            if plan is None:
                if not fresh:
                    # A stale test let a hopeless host through: bring it up to date.
                    ok_host, fresh = self._evacuable(round_host, targets), True
                continue
            targets[src] = False
            sources[[d for _, d in plan]] = False
            moves.extend((int(vms[p]), d) for p, d in plan)
            self._evacuating.add(src)
            # The test is not redone after each evacuation: targets only lose room, so a stale
            # test is looser, never stricter. A host it wrongly lets through is tried, fails
            # and is undone, which ends as skipping it would (under the cloudsim profile both
            # mark it considered), at the cost of one try before the test is redone.
            fresh = False
        return moves

    def _underload_order(self, vms, vm_host, migrating, over, dest) -> tuple[np.ndarray, ...]:
        """(sources, targets, the sources in the order they are tried, each VM's host for
        the round): evacuation candidates in increasing utilization."""
        h = self.sim.hosts
        load, cap = self._load, self._cap
        host_on = h.state == HOST_ON
        busy = np.zeros(h.n, dtype=bool)
        busy[vm_host[migrating[vms]]] = True  # a VM of the host is already moving
        n_vms = np.bincount(vm_host, minlength=h.n)
        sources = host_on & ~over & (n_vms > 0) & ~busy
        targets = host_on & ~over
        if self.cloudsim:
            # CloudSim orders and excludes hosts by their utilization at the last update, and
            # (a defect: it reads the overload phase's destinations from an empty map) lets a
            # host that just received VMs be evacuated, those VMs moving on with the others.
            # Without the defect, LR-MMT-1.2 on PlanetLab 20110303 gives about 4,200 fewer
            # migrations and 12 kWh more in CloudSim's own code.
            order_load = self._load_last
            targets &= self._load_last > 0
            round_host = np.where(self._arrived_at >= 0, self._arrived_at, vm_host)
        else:
            order_load = load
            sources &= ~dest
            round_host = vm_host
        src_order = np.flatnonzero(sources)
        src_order = src_order[np.argsort(order_load[src_order] / cap[src_order], kind="stable")]
        return sources, targets, src_order, round_host

    def _try_evacuate(self, src: int, members: np.ndarray, targets: np.ndarray):
        """Place every VM of host ``src`` (positions ``members``, largest first) on the
        targets; the plan [(position, host)], or None (and the round state exactly as before)
        when one does not fit."""
        tgt = targets.copy()
        tgt[src] = False
        for p in members.tolist():  # (hosts isolation keeps any of them from)
            forbid = self.sim.isolation_forbidden(int(self._round_vms[p]))
            if forbid is not None:
                tgt &= ~forbid
        among = _Targets(self, tgt.nonzero()[0])  # (read once for all the host's VMs)
        plan: list[tuple[int, int]] = []
        undo = _Undo(self._round_state(), src)
        for p in members.tolist():
            if self.user_target is not None:
                hh = self._user_best_host(p, among.hosts)
                if hh < 0:
                    break
                undo.keep(hh)
                self._commit(p, src, hh)
                plan.append((p, hh))
                continue
            k = among.best(p)
            if k < 0:
                break
            hh = int(among.hosts[k])
            undo.keep(hh)
            self._commit(p, src, hh)
            among.reread(k)
            plan.append((p, hh))
        if len(plan) < len(members):
            undo.restore()  # undone exactly (moving loads back could round)
            return None
        return plan

    def _evacuable(self, vm_host: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """bool[H]: hosts each of whose VMs, alone, passes the capacity and admission tests on
        the roomiest target host with a core fast enough (a necessary condition for moving
        them all)."""
        n = self.sim.hosts.n
        if not targets.any():
            return np.zeros(n, dtype=bool)
        load = self._load
        room = self._lim - load
        if self._lr:
            # Prediction headroom (strict): s (pred + v / cap) < 1  <=>  v < cap (1/s - pred).
            proom = np.where(self._enough, self._cap * (1.0 / self.param - self._pred), np.inf)
        else:
            proom = np.full(n, np.inf)
        room = room + 1e-6 * self._cap  # slack: this test must never be stricter than PABFD's
        # (memory is not checked under the cloudsim profile: its room is infinite everywhere)
        kinds = [room, proom] if self.cloudsim else [room, proom, self._memcap - self._mem_used]
        rooms = np.stack(kinds)
        speeds = self._speeds  # distinct core speeds (with slack), ascending
        # The most room of each kind on a target of each core class decides the one-VM test;
        # it changes rarely within a round, so the per-VM pass reruns only when it does.
        best = []
        for fast in self._fast[:-1]:
            sel = targets & fast  # (the hosts of class k and faster)
            if not sel.any():
                best.append(None)
                continue
            most = np.where(sel, rooms, -np.inf).max(axis=1).tolist()
            best.append((*most, math.inf) if self.cloudsim else tuple(most))
        if best != self._alone_key:
            cls = self._cls
            fits = cls < len(speeds)
            for k, b in enumerate(best):
                mine = cls == k
                if not mine.any():
                    continue
                if b is None:
                    fits[mine] = False
                    continue
                ok = (self._req[mine] <= b[0]) & (self._vm_pred[mine] < b[1])
                ok &= self._mem_req[mine] <= b[2]
                fits[mine] &= ok
            bad = np.bincount(vm_host, ~fits, minlength=n)  # (room carries 1 ppm slack)
            self._alone_key, self._alone_ok = best, bad == 0
        ok = self._alone_ok.copy()
        # Together, a host's VMs need that much CPU room and that many memory slots on the
        # other targets (a slot: room for its smallest VM). Also necessary; it spares trying,
        # and undoing, hosts of a nearly full fleet one VM at a time.
        cpu_room = np.where(targets, np.maximum(room, 0.0), 0.0)
        others = cpu_room.sum() - cpu_room
        ok &= self._src_req <= others
        if not self.cloudsim:
            mroom = rooms[2]
            for m in np.unique(self._src_mem[ok & (self._src_n > 0)]):
                slots = np.where(targets, np.maximum(np.floor(mroom / m + 1e-9), 0.0), 0.0)
                mine = ok & (self._src_mem == m)
                ok[mine] = self._src_n[mine] <= slots.sum() - slots[mine]
        return ok

    # ------------------------------------------------------------------ helpers
    def _quantile_method(self) -> str:
        return "cloudsim" if self.cloudsim else "linear"

    def _horizon(self, vms: np.ndarray, vm_host: np.ndarray) -> np.ndarray:
        """Steps ahead the regression predicts: the paper's next observation (1), or under the
        cloudsim profile ``ceil(slowest migration off the host / interval)`` steps, at least 1
        (CloudSim numbers the fitted observations 1..n and predicts at ``n`` plus that many
        intervals; see ``vsim.core.detectors``). With the paper's VMs (at most 1740 MB over
        half of 1 Gbps, 28 s) that is one step, the paper's next observation."""
        h = self.sim.hosts
        horizon = np.ones(h.n)
        if self.cloudsim and len(vms):
            ram = np.zeros(h.n)
            np.maximum.at(ram, vm_host, self.sim.guests.memory[vms])
            t_mig = ram / (h.net_bw / 2.0)
            horizon = np.maximum(np.ceil(t_mig / self.cfg.interval), 1.0)
        return horizon

    def _predict(self, hist: np.ndarray, n: np.ndarray, horizon: np.ndarray) -> np.ndarray:
        return loess_predict(
            hist,
            n,
            window=self.cfg.lr_window,
            horizon=horizon,
            # CloudSim 4.0 builds tricube (and bisquare) weights but applies weights only when
            # 40 % of them are zero, which never happens: its LR and LRR are one plain
            # least-squares line (MathUtil.createWeigthedLinearRegression).
            robust=self.cfg.detector == "lrr" and not self.cloudsim,
            weighted=not self.cloudsim,
        )

    def _detect(
        self,
        hist: np.ndarray,
        n: np.ndarray,
        current: np.ndarray,
        horizon: np.ndarray,
        prediction: np.ndarray | None = None,
        hosts: np.ndarray | None = None,
    ) -> np.ndarray:
        """Which of these hosts (indices ``hosts``) are overloaded; ``prediction``:
        :meth:`_predict` of ``hist`` (the detector's regression, with the same settings), if
        at hand."""
        cfg = self.cfg
        if not len(n):
            return np.zeros(0, dtype=bool)
        if self.user_detector is not None:
            return self._user_detect(HostLoads(hosts, current, hist, n, self.sim))
        return overloaded(
            "lr" if self.cloudsim and cfg.detector == "lrr" else cfg.detector,
            hist,
            n,
            current,
            self.param,
            min_history=self.min_history,
            fallback_threshold=cfg.fallback_threshold,
            window=cfg.lr_window,
            horizon=horizon,
            quantile_method=self._quantile_method(),
            weighted=not self.cloudsim,
            prediction=prediction,
        )

    def _select(self, vms, vm_host, req, vhist, vn, hosts, eligible, r2_cache=None):
        if self.user_selection is not None:
            g = self.sim.guests
            c = VmCandidates(hosts, vms, vm_host, req, g.memory[vms], vhist, vn, eligible, self.sim)
            return self._user_select(c)
        sim = self.sim
        h, g = sim.hosts, sim.guests
        spare_bw = np.maximum(h.net_bw - sim.host_rate["net"], h.net_bw * 1e-3)
        if self.cfg.selection != "rs":
            # Only the VMs of the hosts in question, all of them (MC correlates each VM with
            # every other on its host): the same choices over fewer VMs. (RS draws one number
            # per VM it is given, so it is given them all.)
            on = hosts[vm_host].nonzero()[0]
            vms, vm_host, req, vhist, vn, eligible = (
                a[on] for a in (vms, vm_host, req, vhist, vn, eligible)
            )
        pick = select_vms(
            self.cfg.selection,
            vm_host,
            h.n,
            hosts=hosts,
            eligible=eligible,
            vm_ram=g.memory[vms],
            host_bandwidth=spare_bw,
            vm_util=req / (g.vcpus[vms] * g.vcpu_mips[vms]),
            vm_history=vhist,
            vm_n_valid=vn,
            rng=self.rng,
            r2_cache=r2_cache,
        )
        return np.where(pick >= 0, vms[np.maximum(pick, 0)], -1)

    # ------------------------------------------------------------------ user policies
    def _decision(self, what: str) -> str:
        return f"{what} in the consolidation round at t={self.sim.now:g} s"

    def _user_detect(self, loads: HostLoads) -> np.ndarray:
        spec, decision = self.cfg.detector, self._decision("detecting overloaded hosts")
        out = np.asarray(call(spec, decision, self.user_detector, loads))
        if out.shape != (len(loads.hosts),) or out.dtype.kind not in "bi":
            raise PolicyError(
                f"policy {spec!r} answered an array of shape {out.shape} ({out.dtype}) while "
                f"{decision}; one bool per host given ({len(loads.hosts)}) is allowed"
            )
        return out.astype(bool)

    def _user_select(self, c: VmCandidates) -> np.ndarray:
        spec, decision = self.cfg.selection, self._decision("selecting VMs to move")
        n = self.sim.hosts.n
        pick = np.asarray(call(spec, decision, self.user_selection, c))
        if pick.shape != (n,) or pick.dtype.kind != "i":
            raise PolicyError(
                f"policy {spec!r} answered an array of shape {pick.shape} ({pick.dtype}) while "
                f"{decision}; one guest index (or -1) per host, int[{n}], is allowed"
            )
        pick = np.where(c.hosts, pick, -1)
        for h in np.flatnonzero(pick >= 0).tolist():
            ok = (c.guests == pick[h]) & (c.host == h) & c.eligible
            if not ok.any():
                name = self.sim.hosts.names[h]
                raise PolicyError(
                    f"policy {spec!r} chose guest {int(pick[h])} for host {name} while "
                    f"{decision}: it is not an eligible VM on that host"
                )
        return pick

    def _user_best_host(self, p: int, hosts: np.ndarray) -> int:
        spec = self.cfg.placement
        g = int(self._round_vms[p])
        decision = self._decision(f"placing VM {self.sim.guests.names[g]!r}")
        view = TargetView(
            g,
            float(self._req[p]),
            float(self._mem_req[p]),
            np.asarray(hosts, dtype=np.int64),
            self._load,
            self._lim,
            self._mem_used,
            self._memcap,
            self.sim,
        )
        hh = as_host(spec, decision, call(spec, decision, self.user_target, view), self.sim.hosts.n)
        if hh >= 0:
            at = np.flatnonzero(view.candidates == hh)
            if not len(at) or not view.fits()[at[0]]:
                raise PolicyError(
                    f"policy {spec!r} chose host {self.sim.hosts.names[hh]} while {decision}: "
                    "it is not a candidate with room (see TargetView.fits)"
                )
        return hh

    def _power(self, idx: np.ndarray, mips: np.ndarray) -> np.ndarray:
        """Power of hosts ``idx`` at ``mips`` MIPS of load (SPECpower table, interpolated)."""
        return self.power.at(idx, mips / self._cap[idx])

    def _best_host(self, p: int, hosts: np.ndarray) -> int:
        """PABFD's choice for VM position ``p`` among ``hosts`` (indices, ascending); -1 if
        none qualifies."""
        forbid = self.sim.isolation_forbidden(int(self._round_vms[p]))
        if forbid is not None:
            hosts = hosts[~forbid[hosts]]
        if self.user_target is not None:
            return self._user_best_host(p, hosts)
        k = _Targets(self, hosts).best(p)
        return int(hosts[k]) if k >= 0 else -1

    def _state_keys(self) -> np.ndarray:
        """float64[H, k]: per host, everything PABFD reads of it (:class:`_Targets`: its
        hardware kind and round state); hosts with equal rows give equal answers."""
        keys = np.column_stack(
            [self._kind, self._load, self._lim, self._mem_used, self._pred, self._enough, self._pw]
        )
        if self._retest:
            keys = np.column_stack([keys, self._hn, self._hist])
        elif self._track:
            keys = np.column_stack([keys, self._hn])
        tenants = self.sim.isolation_keys()  # (hosts of different tenants are not alike)
        return keys if tenants is None else np.column_stack([keys, tenants])

    def _round_state(self) -> tuple[np.ndarray, ...]:
        """The per-host arrays :meth:`_commit` changes (with the hosts' histories and their
        lengths when targets are tested with the VM on them: :meth:`_admits`,
        :meth:`_Targets._lr_admits`)."""
        state = (self._load, self._mem_used, self._pred, self._pw)
        if self._retest:
            return state + (self._hn, self._hist)
        return state + (self._hn,) if self._track else state

    def _admits(self, p: int, hosts: np.ndarray, hist: np.ndarray, hn: np.ndarray, load):
        """bool per host of ``hosts`` (their round ``hist``, ``hn`` and ``load``): whether
        CloudSim 4.0's IQR or MAD policy lets VM position ``p`` go there. It creates the VM on
        the host and asks whether the host is then overloaded
        (``PowerVmAllocationPolicyMigrationAbstract.isHostOverUtilizedAfterAllocation``): the
        threshold comes from the host's history *with the VM's history added*
        (``PowerHostUtilizationHistory.getUtilizationHistory`` sums its VMs' histories, newest
        aligned, as long as the longest), its fallback while that has fewer than
        ``min_history`` samples, and the utilization compared is the load with the VM's
        request. A host with nothing on it is not tested (``findHostForVm`` tests only hosts
        whose CPU in use is not 0)."""
        cap = self._cap[hosts]
        after = (load + self._req[p]) / cap
        busy = load > 0.0
        if not busy.all():  # (the usual case needs no masking)
            out = np.ones(len(hosts), dtype=bool)
            if busy.any():
                out[busy] = self._admits(p, hosts[busy], hist[busy], hn[busy], load[busy])
            return out
        hist_with = hist + self._vhist[p] / cap[:, None]
        n_with = np.maximum(hn, self._vn[p])
        return ~self._detect(hist_with, n_with, after, np.ones(len(n_with)))

    def _commit(self, p: int, src: int, dst: int) -> None:
        """Move VM position ``p``'s load (and prediction, memory) from ``src`` to ``dst``."""
        r = self._req[p]
        cap = self._cap
        if self._retest:
            self._hist[dst] += self._vhist[p] / cap[dst]
            self._hist[src] -= self._vhist[p] / cap[src]
        if self._track:
            self._hn[dst] = max(self._hn[dst], self._vn[p])
        self._load[dst] += r
        self._load[src] -= r
        self._mem_used[dst] += self._mem_req[p]
        self._mem_used[src] -= self._mem_req[p]
        self._pred[dst] += self._vm_pred[p] / cap[dst]
        self._pred[src] -= self._vm_pred[p] / cap[src]
        if self.cloudsim:
            # CloudSim measures the increase from the host's power at its utilization when the
            # round began; VMs placed there earlier in the round count on the "after" side only.
            return
        both = np.array([dst, src])
        self._pw[both] = self._power(both, self._load[both])

    def _start(self, moves: list[tuple[int, int, int]], to_boot: set[int]) -> None:
        """Start this round's migrations (guest, destination, via or -1) together (one
        reshare), after booting hosts if any."""
        sim = self.sim
        if not moves:
            return
        for hh in sorted(to_boot):
            sim.switch_on(hh, self.cfg.host_boot_time)
            self.switch_ons += 1
        booting = to_boot if self.cfg.host_boot_time > 0 else set()  # else they are on now
        now_moves = [m for m in moves if m[1] not in booting]
        later = [m for m in moves if m[1] in booting]
        self._migrate(now_moves)
        if later:
            ev = sim.env.timeout(self.cfg.host_boot_time)
            ev.callbacks.append(lambda _e: self._migrate(later))

    def _migrate(self, moves: list[tuple[int, int, int]]) -> None:
        sim = self.sim
        if not moves:
            return
        sim.settle()
        sim.count_event()
        # Consolidation packs by measured demand (as the paper does), not by the VMs' nominal
        # MIPS: the pool's CPU reservation check is lifted while its migrations start; memory
        # is still checked.
        # Under the cloudsim profile memory is not checked either: CloudSim's PlanetLab VMs have
        # a null RAM utilization model, so once created a VM requests 0 MB of its host.
        lifted = ("cpu", "memory") if self.cloudsim else ("cpu",)
        with sim.placement_limits(dict.fromkeys(lifted, math.inf)):
            for v, d, via in moves:
                self.migrator.start(v, d, via)
        sim.resolve.everything()


class _Undo:
    """The round state (:meth:`Consolidator._round_state`) at the hosts an evacuation
    touches, as it was before: :meth:`Consolidator._commit` changes only the source's and the
    destination's entries, so an attempt that fails is undone at those hosts alone instead of
    copying every host's state before each attempt."""

    def __init__(self, state: tuple[np.ndarray, ...], src: int):
        self._state = state
        self._saved: dict[int, tuple] = {}
        self.keep(src)

    def keep(self, h: int) -> None:
        """Remember host ``h``'s state unless it is already remembered (then it is the
        state from before the attempt)."""
        if h not in self._saved:
            self._saved[h] = tuple(a[h] for a in self._state)

    def restore(self) -> None:
        for h, values in self._saved.items():
            for a, v in zip(self._state, values, strict=True):
                a[h] = v


class _Targets:
    """What PABFD reads of some hosts (indices ascending), read once from a
    :class:`Consolidator`'s round state for several placements among them: their hardware and
    limits, and the state moves change (load, memory in use, prediction, power), which
    :meth:`reread` refreshes for a host a placement changed."""

    def __init__(self, c: Consolidator, hosts: np.ndarray):
        self._c, self.hosts = c, hosts
        self.cap, self.lim, self.fast = c._cap[hosts], c._lim[hosts], c._fast[:, hosts]
        self.memcap, self.short_history = c._memcap[hosts], ~c._enough[hosts]
        self._state = [a[hosts] for a in c._round_state()]
        self.load, self.mem_used, self.pred, self.pw = self._state[:4]

    def best(self, p: int) -> int:
        """Position in :attr:`hosts` of PABFD's choice for VM position ``p``; -1 if none
        qualifies. Infeasible hosts are masked: the lowest-index host of least power increase
        wins, as among the feasible ones alone."""
        c = self._c
        if not len(self.hosts):
            return -1
        cap = self.cap
        after = self.load + c._req[p]
        ok = after <= self.lim
        ok &= self.fast[c._cls[p]]
        if not c.cloudsim:
            ok &= self.mem_used + c._mem_req[p] <= self.memcap
        if c._lr_after:
            ok &= self._lr_admits(p, after)
        elif c._lr:
            ok &= (c.param * (self.pred + c._vm_pred[p] / cap) < 1.0) | self.short_history
        inc = c.power.at(self.hosts, after / cap)
        inc -= self.pw
        inc[~ok] = np.inf
        if c._retest:
            return self._best_admitted(p, inc, int(ok.sum()))
        best = int(inc.argmin())  # (the method: np.argmin's wrapper costs as much again)
        return best if ok[best] else -1

    def _lr_admits(self, p: int, after: np.ndarray) -> np.ndarray:
        """CloudSim's LR/LRR test of a target with VM position ``p`` on it (``after``: its load
        then): untested if nothing is on it, the 0.7 fallback while the history with the VM's
        is short, else the prediction with the VM's below ``1 / s``."""
        c = self._c
        predicts = c.param * (self.pred + c._vm_pred[p] / self.cap) < 1.0
        if c._vn[p] < c.min_history:  # (else no history with the VM's is short)
            short = self._state[4] < c.min_history
            predicts = np.where(short, after <= c._fbcap[self.hosts], predicts)
        return (self.load <= 0.0) | predicts

    def _best_admitted(self, p: int, inc: np.ndarray, n_ok: int) -> int:
        """:meth:`best` where each host's admission depends on the VM
        (:meth:`Consolidator._admits`): the hosts that pass the other tests, by increasing
        power increase (lowest index among equals), are tested a few at a time, and the first
        that admits the VM is the least increase among those that would."""
        order = np.argsort(inc, kind="stable")[:n_ok]
        lo, step = 0, 8
        while lo < n_ok:
            k = order[lo : lo + step]
            adm = self._c._admits(
                p, self.hosts[k], self._state[5][k], self._state[4][k], self.load[k]
            )
            if adm.any():
                return int(k[adm.argmax()])
            lo, step = lo + step, 2 * step
        return -1

    def reread(self, k: int) -> None:
        """Read the round state of ``hosts[k]`` again (a placement changed it)."""
        h = self.hosts[k]
        for local, a in zip(self._state, self._c._round_state(), strict=True):
            local[k] = a[h]


class _Lookalikes:
    """A candidate set of PABFD with lookalike hosts collapsed.

    Hosts equal in everything the placement reads of them (:meth:`Consolidator._state_keys`)
    give the same power increase and the same verdict, and the lowest index wins among equals,
    so only the lowest-index host of each group needs evaluating: :attr:`hosts` (ascending).
    A host whose state changes leaves its group; the next one stands in for it.
    """

    def __init__(self, hosts: np.ndarray, keys: np.ndarray):
        rows = keys[hosts]
        order = np.lexsort((hosts, *rows.T[::-1]))  # by key row, then host
        hosts, rows = hosts[order], rows[order]
        first = np.r_[True, (rows[1:] != rows[:-1]).any(axis=1)] if len(hosts) else []
        self._mask = np.zeros(len(keys), dtype=bool)  # the hosts evaluated
        self._mask[hosts[first]] = True
        # Behind each evaluated host, the others of its group (in index order).
        starts = np.flatnonzero(first)
        sizes = np.diff(starts, append=len(hosts))
        self._behind = {
            int(hosts[k]): deque(hosts[k + 1 : k + m].tolist())
            for k, m in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True)
        }
        self._hosts: np.ndarray | None = None

    @property
    def hosts(self) -> np.ndarray:
        if self._hosts is None:
            self._hosts = self._mask.nonzero()[0]
        return self._hosts

    def changed(self, h: int, leaves: bool = False) -> None:
        """Host ``h``'s state changed: it now stands alone; ``leaves``: it leaves the set."""
        if self._mask[h]:
            rest = self._behind.pop(h, None)
            if rest:  # the next of its group stands in for it
                nxt = rest.popleft()
                self._mask[nxt] = True
                if rest:
                    self._behind[nxt] = rest
            self._mask[h] = not leaves
        else:
            # (Only evaluated hosts are ever chosen, so this is the rare path.)
            group = next((r for r in self._behind.values() if h in r), None)
            if group is None:
                return  # not in the set
            group.remove(h)
            self._mask[h] = not leaves
        self._hosts = None

    def add(self, h: int) -> None:
        """Host ``h`` joins the set, alone (it is in no group)."""
        if not self._mask[h] and not any(h in r for r in self._behind.values()):
            self._mask[h] = True
            self._hosts = None


def _last_moves(moves: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(guest, destination, via): a VM moved twice in a round (cloudsim profile) goes to its
    last destination via the first; via is -1 for the others."""
    last: dict[int, int] = {}
    via: dict[int, int] = {}
    for v, d in moves:
        if v in last:
            via[v] = last[v]
        last[v] = d
    return [(v, d, via.get(v, -1)) for v, d in last.items()]


class _EveryHost:
    """:class:`_Lookalikes`' interface over every host of a set (for a user's target policy)."""

    def __init__(self, hosts: np.ndarray, _keys=None):
        self._set = set(hosts.tolist())

    @property
    def hosts(self) -> np.ndarray:
        return np.array(sorted(self._set), dtype=np.int64)

    def changed(self, h: int, leaves: bool = False) -> None:
        if leaves:
            self._set.discard(h)

    def add(self, h: int) -> None:
        self._set.add(h)
