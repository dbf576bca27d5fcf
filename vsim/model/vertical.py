"""The vertical autoscaler of a deployment: a recommender over observed use and an updater.

It follows the Kubernetes Vertical Pod Autoscaler (recommender, updater, admission
controller), simplified where the comments say: every ``interval`` each ready replica
contributes one sample, its mean CPU use in cores (what its vCPUs ran, overhead included) and
its mean memory in use over the interval; the target is a percentile of the samples of the last
``window`` times ``1 + margin`` (Kubernetes: the 90th percentile of a decaying histogram, half-
life 24 h, plus a 15 % safety margin), rounded up to millicores and MiB (a VM: whole vCPUs),
within the bounds. New replicas start at the target (the admission controller); off-target
ready replicas are resized on their host or evicted (the updater), under an eviction budget.

A resize goes through the engine's contract (:meth:`~vsim.model.engine.Engine.resize`), which
re-checks the host's room for growth; when there is none the replica is evicted and its
replacement goes through placement at the new size (pending, and counted, when no host has
room).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

MILLI, MIB = 1000.0, float(2**20)


def round_up(x: float, step: float) -> float:
    """``x`` rounded up to a multiple of ``1 / step`` (a hair below one counts as it)."""
    return math.ceil(x * step - 1e-9) / step


class Vertical:
    """The VPA of one deployment (``d``: its :class:`~vsim.model.deployments.Replicas`)."""

    def __init__(self, owner: Any, d: Any):
        self.owner, self.d, self.cfg = owner, d, d.spec.vertical
        e = owner.engine
        self.samples: deque[tuple[float, float, float]] = deque()  # (time, cores, bytes)
        self.marks: dict[int, tuple[float, float, float]] = {}  # g -> (time, MI, byte-s)
        self.target: dict[str, float] = {}  # "vcpus", "memory": the recommendation
        self.announced: dict[str, float] = {}  # the last one in the events
        self.counts = dict.fromkeys(("resizes", "restarts", "evictions", "in_place_refused"), 0)
        first = d.slots[0][0]
        self.vm = d.spec.template.kind == "vm"
        cap = e.placement_capacity("cpu").max() / float(e.guests.vcpu_mips[first])
        mem = e.placement_capacity("memory").max() - float(e.guests.mem_overhead[first])
        cfg = self.cfg
        self.bounds = {
            "vcpus": (cfg.min_vcpus, min(cfg.max_vcpus or math.inf, cap)),
            "memory": (cfg.min_memory, min(cfg.max_memory or math.inf, mem)),
        }
        self.sizes = [{"cpu": "vcpus", "memory": "memory"}[r] for r in cfg.resources]
        e.env.process(self._loop())

    def _loop(self):
        env, step, end = self.owner.engine.env, self.cfg.interval, self.owner.engine.scenario
        k = 0
        while True:
            k += 1
            if k * step >= end.duration:
                return
            yield env.timeout(k * step - env.now)
            self.owner.fire(self.tick)

    # ---------------------------------------------------------------- recommender
    def tick(self) -> None:
        """One pass: sample, recommend, then update the replicas as the mode says."""
        self._sample()
        self._recommend()
        if self.cfg.evicts() and self.target and self.d.update is None:
            self._update()

    def mark(self, g: int) -> None:
        """Replica ``g``'s next sample starts now (it became ready, or was just sampled)."""
        e = self.owner.engine
        self.marks[g] = (e.now, e.integral("cpu_alloc_mips", g), e.integral("mem_bytes", g))

    def _sample(self) -> None:
        e, d = self.owner.engine, self.d
        now, ready = e.now, {s.g for s in d.ready}
        for g in [g for g in self.marks if g not in ready]:
            del self.marks[g]  # out of service: its next sample starts when it is ready again
        for s in d.ready:
            g = s.g
            before = self.marks.get(g)
            self.mark(g)
            mark = self.marks[g]
            if before is not None and now > before[0]:
                dt = now - before[0]
                cores = (mark[1] - before[1]) / dt / float(e.guests.vcpu_mips[g])
                self.samples.append((now, cores, (mark[2] - before[2]) / dt))
        while self.samples and self.samples[0][0] <= now - self.cfg.window + 1e-9:
            self.samples.popleft()

    def _recommend(self) -> None:
        if not self.samples:
            return
        cfg = self.cfg
        _, cores, mem = zip(*self.samples, strict=True)
        raw = {
            "vcpus": float(np.quantile(cores, cfg.cpu_percentile)) * (1 + cfg.margin),
            "memory": float(np.quantile(mem, cfg.memory_percentile)) * (1 + cfg.margin),
        }
        new = {}
        for r in self.sizes:
            lo, hi = self.bounds[r]
            step = 1.0 if r == "vcpus" and self.vm else (MILLI if r == "vcpus" else 1 / MIB)
            new[r] = min(max(round_up(raw[r], step), lo), hi)
        moved = self._beyond(self.announced, new)
        self.target = new
        if moved:
            self.announced = new
            e = self.owner.engine
            shown = [f"vcpus {new['vcpus']:g}"] if "vcpus" in new else []
            shown += [f"memory {new['memory'] / MIB:g} MiB"] if "memory" in new else []
            e.events.add(e.now, "vpa_recommendation", self.d.spec.name, ", ".join(shown))

    # ---------------------------------------------------------------- updater
    def _beyond(self, have: dict[str, float], target: dict[str, float]) -> bool:
        """Whether a size in ``have`` is off ``target`` by more than the tolerance (or none)."""
        tol = self.cfg.tolerance + 1e-12
        return any(r not in have or abs(have[r] / v - 1) > tol for r, v in target.items())

    def off_target(self, g: int) -> bool:
        """Whether a controlled size of replica ``g`` is beyond the tolerance of the target."""
        gt = self.owner.engine.guests
        return self._beyond(
            {"vcpus": float(gt.vcpus[g]), "memory": float(gt.memory[g])}, self.target
        )

    def budget(self) -> int:
        """Replicas that may be evicted or restarted now (the updater's eviction tolerance)."""
        d, cfg = self.d, self.cfg
        ready = len(d.ready)
        if ready < cfg.min_replicas:
            return 0
        alive = d.desired - max(1, math.floor(d.desired * cfg.eviction_tolerance))
        return max(ready - alive, 0)

    def _update(self) -> None:
        d, e, cfg = self.d, self.owner.engine, self.cfg
        budget = self.budget()
        for s in list(d.ready):
            g = s.g
            if not self.off_target(g):
                continue
            d.bill(g)  # its sizes so far, before they change
            if cfg.mode == "in_place" and not cfg.restart:
                if e.resize(g, **self.target):
                    self.counts["resizes"] += 1
                    e.set_service_load(g, len(s.in_cpu))
                    continue
                self.counts["in_place_refused"] += 1
            if budget <= 0:
                continue
            budget -= 1
            if cfg.mode == "in_place" and cfg.restart:
                boot = float(e.guests.boot_s[g])
                if e.resize(g, restart_s=boot, **self.target):
                    self.counts["restarts"] += 1
                    d.restart(g)
                    continue
                self.counts["in_place_refused"] += 1
            self.counts["evictions"] += 1
            e.events.add(e.now, "vpa_evicted", e.guests.names[g], d.spec.name)
            d.remove(g)

    def admit(self, pending: list[int]) -> None:
        """Pending replicas (no host yet) take the target sizes (the admission controller)."""
        if self.cfg.mode == "off" or not self.target:
            return
        e = self.owner.engine
        have = {"vcpus": e.guests.vcpus, "memory": e.guests.memory}
        for g in pending:
            if any(float(have[r][g]) != v for r, v in self.target.items()):
                e.resize(g, **self.target)

    # ---------------------------------------------------------------- results
    def columns(self) -> dict[str, float]:
        """The deployments table's columns of this autoscaler: targets, mean ready sizes."""
        g, ready = self.owner.engine.guests, [s.g for s in self.d.ready]
        return {
            "vpa_vcpus": self.target.get("vcpus", np.nan),
            "vpa_memory": self.target.get("memory", np.nan),
            "vcpus_mean": float(np.mean(g.vcpus[ready])) if ready else np.nan,
            "memory_mean": float(np.mean(g.memory[ready])) if ready else np.nan,
        }
