"""Request latency by service, in both service modes, and the analytic mode's intervals.

- :func:`analytic_table`: one row per sampling interval and guest of every service in
  ``mode: analytic``: the requests that arrived (``lambda x interval``), the utilization and
  the mean response time from the closed forms of :mod:`vsim.metrics.latency` (``inf`` where
  the interval saturated). It is the analytic mode's ``requests`` table: its latency figures
  and its summary are computed from it.
- :func:`services_table`: one row per service workload, either mode: requests, throughput,
  (completed requests per second: a saturated interval completes what its servers can), mean and
  percentiles of latency, the service's SLO and the share of requests beyond it
  (requests that did not complete count as beyond), and for an analytic service the share of
  requests in saturated intervals.
- :func:`latency_summary`: the run's latency columns when every service is analytic (then
  they are the analytic figures, under the same names as the simulated mode's), or the
  ``analytic_``-prefixed figures beside the simulated ones when both modes run.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from vsim.metrics.latency import mean_response, mixture_figures
from vsim.model.engine import Engine
from vsim.model.overhead import cpu_factors
from vsim.model.requestlog import Latencies
from vsim.model.services import LATENCY_QUANTILES
from vsim.scenario.service import ServiceWorkload

__all__ = ["ANALYTIC_COLUMNS", "analytic_table", "latency_summary", "services_table"]

#: Columns of the analytic table.
ANALYTIC_COLUMNS = ("time_s", "guest", "service", "requests", "utilization", "latency_s_mean")


def _station_means(sim: Engine, d) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (interval, guest) of one analytic service: requests per second, utilization of
    one server, mean response time (``inf`` when saturated). The capacity a guest could get
    in an interval is its grant plus what its host left idle."""
    rec, g, h = sim.recorder, sim.guests, sim.hosts
    spec = d.service
    es_mi, es2_mi = spec.cpu.moments()
    idx = d.guests
    host = np.maximum(g.host, 0)[idx]  # where each guest ran at the end of the run
    k_in, k_tot = cpu_factors(g.cpu_in_guest[idx], g.cpu_on_host[idx])
    cap = g.cap_cores[idx] * np.minimum(g.vcpu_mips[idx], h.core_mips[host]) / k_in
    spare = (1.0 - rec.host["cpu_util"][:, host]) * h.cpu_mips[host] / k_tot
    capacity = np.minimum(cap, rec.guest["cpu_useful_mips"][:, idx] + np.maximum(spare, 0))
    servers = max(1, round(float(g.cap_cores[idx].max())))
    if spec.workers is not None:
        servers = min(servers, spec.workers)
    speed = capacity / servers  # MIPS of one server (vCPU) in each interval
    lam = rec.guest["cpu_demand_mips"][:, idx] / es_mi  # requests per second
    with np.errstate(divide="ignore", invalid="ignore"):
        es, es2 = es_mi / speed, es2_mi / speed**2
        w = mean_response(lam, es, es2, servers, spec.workers == 1)
        rho = lam * es / servers
    return lam, np.where(np.isfinite(rho), rho, np.inf), np.where(np.isfinite(es), w, np.inf)


def analytic_table(sim: Engine) -> pd.DataFrame:
    """The analytic services' intervals (:data:`ANALYTIC_COLUMNS`; empty without any)."""
    demands = [d for d in sim.trace_demands if d.service is not None]
    if not demands:
        return pd.DataFrame(columns=list(ANALYTIC_COLUMNS))
    rec, names = sim.recorder, sim.guests.names
    span = np.diff(np.concatenate([[0.0], rec.times]))
    frames = []
    for d in demands:
        lam, rho, mean = _station_means(sim, d)
        n_t, n_g = lam.shape
        group = sim.scenario.guests[int(sim.guests.group[d.guests[0]])]
        frames.append(
            pd.DataFrame(
                {
                    "time_s": np.repeat(rec.times, n_g),
                    "guest": np.tile(names[d.guests].astype(str), n_t),
                    "service": str(group.workload),
                    "requests": (lam * span[:, None]).ravel(),
                    "utilization": rho.ravel(),
                    "latency_s_mean": mean.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def served(analytic: pd.DataFrame) -> float:
    """Requests the analytic servers complete: all that arrive below capacity, a share
    ``1 / utilization`` of them in a saturated interval (the servers' rate)."""
    rho = analytic["utilization"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        share = np.where(rho > 1.0, 1.0 / rho, 1.0)
    return float((analytic["requests"].to_numpy(dtype=float) * share).sum())


def _services(sim: Engine) -> dict[str, ServiceWorkload]:
    sc = sim.scenario
    used = {g.workload for g in sc.guests}
    return {n: w for n, w in sc.workloads.items() if isinstance(w, ServiceWorkload) and n in used}


def _simulated_row(log, name: str, spec: ServiceWorkload, span: float) -> dict:
    entry = log.by_service.get(name)
    lat, other = entry if entry is not None else (Latencies(slo=spec.slo), [0])
    total = len(lat) + other[0]
    row = {"requests": float(total), "throughput_rps": len(lat) / span if span > 0 else math.nan}
    figures = lat.figures(LATENCY_QUANTILES)
    late = figures.pop("over_slo") + other[0] if spec.slo is not None else math.nan
    row.update(figures)
    row["slo_violation_frac"] = late / total if total else math.nan
    row["saturated_frac"] = math.nan
    return row


def services_table(sim: Engine, analytic: pd.DataFrame, log) -> pd.DataFrame:
    """One row per service workload that some guest runs (see the module)."""
    rows = []
    duration = float(sim.scenario.duration)
    for name, spec in _services(sim).items():
        row: dict = {"service": name, "mode": spec.mode}
        row["guests"] = int(sum(g.count for g in sim.scenario.guests if g.workload == name))
        if spec.mode == "analytic":
            part = analytic[analytic["service"] == name]
            figures = mixture_figures(
                part["requests"].to_numpy(),
                part["latency_s_mean"].to_numpy(),
                LATENCY_QUANTILES,
                spec.slo,
            )
            figures["throughput_rps"] = served(part) / duration
        else:
            figures = _simulated_row(log, name, spec, duration - spec.warmup)
        row.update(figures)
        row["slo_s"] = math.nan if spec.slo is None else float(spec.slo)
        rows.append(row)
    columns = ["service", "mode", "guests", "requests", "throughput_rps", "latency_s_mean"]
    columns += [f"latency_s_{n}" for n, _ in LATENCY_QUANTILES]
    columns += ["slo_s", "slo_violation_frac", "saturated_frac"]
    if sim.scenario.scheduler.cpu == "timeslice":
        for row in rows:
            row["cpu_ready_s_mean"] = log.ready_mean(row["service"])
        columns.append("cpu_ready_s_mean")
    return pd.DataFrame(rows, columns=columns)


def latency_summary(
    analytic: pd.DataFrame, services: pd.DataFrame, simulated: bool, duration: float
) -> dict[str, float]:
    """The run's analytic latency columns (see the module): all analytic services pooled;
    the SLO share over the services that have an SLO, each judged by its own."""
    if not len(analytic):
        return {}
    w = analytic["requests"].to_numpy(dtype=float)
    m = analytic["latency_s_mean"].to_numpy(dtype=float)
    pooled = mixture_figures(w, m, LATENCY_QUANTILES)
    with_slo = services[(services["mode"] == "analytic") & services["slo_s"].notna()]
    if len(with_slo):
        n = with_slo["requests"].to_numpy(dtype=float)
        share = with_slo["slo_violation_frac"].to_numpy(dtype=float)
        pooled["slo_violation_frac"] = float((n * share).sum() / n.sum()) if n.sum() else math.nan
    out = {
        "throughput_rps": served(analytic) / duration,
        "latency_s_mean": pooled["latency_s_mean"],
        **{f"latency_s_{n}": pooled[f"latency_s_{n}"] for n, _ in LATENCY_QUANTILES},
        "slo_violation_frac": pooled["slo_violation_frac"],
        "latency_saturated_frac": pooled["saturated_frac"],
    }
    prefix = "analytic_" if simulated else ""
    return {"analytic_requests": pooled["requests"], **{prefix + k: v for k, v in out.items()}}
