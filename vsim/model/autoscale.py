"""The horizontal autoscaler of a deployment, its timeline recorder and its result columns.

The HPA follows the Kubernetes documentation ("Horizontal Pod Autoscaling", algorithm
details): ``desired = ceil(current x metric / target)``, no change within the tolerance band
(default 0.1), scale-up and scale-down stabilization windows over the recommendations, a limit
on the change per sync, clamped to ``[min_replicas, max_replicas]``. ``current`` is the number
of ready replicas (those the metric is measured on); while replicas are still starting or
pending it never scales down, as the HPA treats not-yet-ready pods conservatively.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def cpu_integral(engine: Any, g: int) -> float:
    """MI of useful CPU guest ``g`` ran up to now (the engine's lazily integrated rates)."""
    return engine.useful_work(g)


class Autoscaling:
    """The HPA of one deployment, ticking every ``sync_period``."""

    def __init__(self, owner: Any, d: Any):
        self.owner, self.d, self.cfg = owner, d, d.spec.autoscale
        self.window = self.cfg.window or self.cfg.sync_period
        self.history: list[tuple[float, int]] = []
        self.marks: list[tuple[float, dict, int]] = []  # (time, cpu MI per guest, sent, lat)
        self.need: tuple[float, int] | None = None  # a scale-up episode: since, replicas
        self.times_to_scale: list[float] = []
        self.n_scaled = 0
        owner.engine.env.process(self._loop())

    def _loop(self):
        env, cfg = self.owner.engine.env, self.cfg
        k = 0
        self._mark()
        while True:
            k += 1
            t = k * cfg.sync_period
            if t >= self.owner.engine.scenario.duration:
                return
            yield env.timeout(t - env.now)
            self.owner.fire(self.sync)

    def _mark(self) -> None:
        e, f = self.owner.engine, self.d.front
        cpu = {s.g: cpu_integral(e, s.g) for s in self.d.ready}
        self.marks.append((e.now, cpu, sum(f.sent.values()), len(f.latency)))
        while self.marks and self.marks[0][0] < e.now - self.window - 1e-9:
            self.marks.pop(0)

    def metric(self) -> float | None:
        """The metric over the window (None when nothing was measured)."""
        e, f, ready = self.owner.engine, self.d.front, self.d.ready
        t0, cpu0, sent0, lat0 = self.marks[0]
        span = e.now - t0
        if not ready or span <= 0:
            return None
        if self.cfg.metric == "rps":
            return (sum(f.sent.values()) - sent0) / span / len(ready)
        if self.cfg.metric == "latency":
            lat = f.latencies_since(lat0)
            return float(np.quantile(lat, self.cfg.percentile)) if len(lat) else None
        g = e.guests
        utils = []
        for s in ready:
            since = max(t0, self.d.up_since.get(s.g, t0))
            used = cpu_integral(e, s.g) - cpu0.get(s.g, cpu_integral(e, s.g))
            cap = float(g.vcpus[s.g] * g.vcpu_mips[s.g]) * (e.now - since)
            if s.g in cpu0 and cap > 0:
                utils.append(used / cap)
        return float(np.mean(utils)) if utils else None

    def recommend(self, value: float | None) -> int:
        """The raw recommendation (Kubernetes' formula, with its tolerance)."""
        d, cfg = self.d, self.cfg
        current = len(d.ready)
        if value is None or current == 0:
            return d.desired
        ratio = value / cfg.target
        if abs(ratio - 1) <= cfg.tolerance:
            return d.desired
        rec = math.ceil(current * ratio - 1e-9)
        st = d.by_status()
        if rec < d.desired and (st["starting"] or st["pending"]):
            return d.desired
        return rec

    def sync(self) -> None:
        """One HPA decision."""
        e, d, cfg = self.owner.engine, self.d, self.cfg
        value = self.metric()
        rec = self.recommend(value)
        now = e.now
        self.history.append((now, rec))
        keep = max(cfg.scale_up_window, cfg.scale_down_window)
        self.history = [(t, r) for t, r in self.history if t >= now - keep - 1e-9]
        up = min(r for t, r in self.history if t >= now - cfg.scale_up_window - 1e-9)
        down = max(r for t, r in self.history if t >= now - cfg.scale_down_window - 1e-9)
        cur = d.desired
        new = max(cur, up) if up > cur else cur
        new = min(new, down) if down < cur else new
        hi = cur + max(cfg.max_up_pods, math.ceil(cur * cfg.max_up_percent / 100))
        lo = cur - math.floor(cur * cfg.max_down_percent / 100)
        new = min(max(new, lo, cfg.min_replicas), hi, cfg.max_replicas)
        if new != cur:
            d.desired = new
            self.n_scaled += 1
            shown = "none" if value is None else f"{value:.4g}"
            e.events.add(now, "scaled", d.spec.name, f"{cur} -> {new} ({cfg.metric}={shown})")
        self._episode(now, max(rec, new) if new > cur else new)
        self._mark()

    def _episode(self, now: float, need: int) -> None:
        """Time to scale: from the first sync that wanted more replicas than were ready to
        when enough were ready."""
        d = self.d
        ready = len(d.ready)
        if self.need is None and need > ready:
            self.need = (now, need)
            d.phases["scaling"].append([now, math.inf])
        elif self.need is not None and ready >= min(self.need[1], d.desired):
            self.times_to_scale.append(now - self.need[0])
            d.phases["scaling"][-1][1] = now
            self.need = None


class Recorder:
    """Rows of the deployments table, every ``record_every`` seconds."""

    def __init__(self, owner: Any, d: Any):
        self.owner, self.d = owner, d
        self.cpu: dict[int, float] = {}
        self.sent = 0
        self.lat = 0
        owner.engine.env.process(self._loop())

    def _loop(self):
        env, step = self.owner.engine.env, self.d.spec.record_every
        k = 0
        while k * step <= self.owner.engine.scenario.duration:
            yield env.timeout(k * step - env.now)
            yield env.timeout(0)  # after the changes of this instant
            self.owner.timeline.append(self.row(k * step))
            k += 1

    def row(self, now: float) -> dict:
        e, d, f = self.owner.engine, self.d, self.d.front
        step = d.spec.record_every
        cpu = {s.g: cpu_integral(e, s.g) for s in d.ready}
        g = e.guests
        used = sum(v - self.cpu.get(k, v) for k, v in cpu.items())
        cap = sum(float(g.vcpus[k] * g.vcpu_mips[k]) * step for k in cpu if k in self.cpu)
        sent = sum(f.sent.values())
        lat = f.latencies_since(self.lat)
        row = {"time_s": now, "deployment": d.spec.name, "desired": d.desired, **d.by_status()}
        for v in range(len(d.slots)):
            row[f"ready_v{v}"] = sum(1 for s in d.ready if d.version[s.g] == v)
        cluster = self.owner.cluster
        if cluster is not None:
            row["cluster_hosts"] = len(cluster.on_since)
        row["cpu_util"] = used / cap if cap > 0 else np.nan
        if d.vertical is not None:
            row |= d.vertical.columns()
        row["arrival_rps"] = (sent - self.sent) / step if now > 0 else np.nan
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            row[f"latency_s_{name}"] = float(np.quantile(lat, q)) if len(lat) else np.nan
        self.cpu, self.sent, self.lat = cpu, sent, len(f.latency)
        return row


def replica_rows(owner: Any) -> list[dict]:
    """One row per replica guest that ever ran."""
    e, rows = owner.engine, []
    for d in owner.deps:
        st = owner.services.stations
        for g in sorted(d.status):
            up = d.seconds[g] + (e.now - d.up_since[g] if g in d.up_since else 0.0)
            if up <= 0 and g not in d.front.sent:
                continue
            mean_n, _ = st[g].little(e.now) if e.now > 0 else (np.nan, 0)
            row = {
                "deployment": d.spec.name,
                "version": d.version[g],
                "guest": str(e.guests.names[g]),
                "requests_sent": d.front.sent.get(g, 0),
                "requests_completed": d.front.done.get(g, 0),
                "outstanding_mean": mean_n,
                "replica_s": up,
            }
            if d.vertical is not None:
                vcpu_s, byte_s = d.size_seconds(g)
                row |= {"vcpu_s": vcpu_s, "memory_gib_s": byte_s / 2**30}
                row |= {"vcpus": float(e.guests.vcpus[g]), "memory": float(e.guests.memory[g])}
            rows.append(row)
    return rows


def vertical_summary(owner: Any, rows: list[dict]) -> dict:
    """Summary columns of the vertical autoscalers (none when no deployment has one)."""
    vpas = [d.vertical for d in owner.deps if d.vertical is not None]
    if not vpas:
        return {}
    out = {f"vertical_{k}": sum(v.counts[k] for v in vpas) for k in vpas[0].counts}
    out["replica_vcpu_seconds"] = sum(r.get("vcpu_s", 0.0) for r in rows if "vcpu_s" in r)
    out["replica_memory_gib_seconds"] = sum(r["memory_gib_s"] for r in rows if "vcpu_s" in r)
    return out


def deployment_summary(owner: Any) -> dict:
    """Summary columns over every deployment."""
    rows = replica_rows(owner)
    seconds = sum(r["replica_s"] for r in rows)
    price = {d.spec.name: d.spec.replica_hour_price for d in owner.deps}
    cost = sum(r["replica_s"] / 3600 * price[r["deployment"]] for r in rows)
    hits: dict = {}
    for d in owner.deps:
        for phase, (n, bad) in d.front.slo_hits.items():
            a = hits.setdefault(phase, [0, 0])
            a[0] += n
            a[1] += bad
    times = [t for a in owner.autoscalers for t in a.times_to_scale]
    timeline = owner.timeline

    def frac(phase: str | None) -> float:
        n, bad = hits.get(phase, (0, 0))
        return bad / n if n else np.nan

    return {
        "replica_seconds": seconds,
        "replica_cost": cost,
        "replicas_pending_max": max((r["pending"] for r in timeline), default=0),
        "slo_violation_frac_steady": frac(None),
        "slo_violation_frac_scaling": frac("scaling"),
        "slo_violation_frac_update": frac("update"),
        "time_to_scale_s_max": max(times) if times else np.nan,
        "scale_events": sum(a.n_scaled for a in owner.autoscalers),
    } | vertical_summary(owner, rows)
