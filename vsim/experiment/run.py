"""Run one scenario end to end and gather its results."""

from __future__ import annotations

import os
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from vsim.experiment.cost import cost_summary
from vsim.experiment.results import Result
from vsim.metrics.consolidation import consolidation_summary
from vsim.metrics.latency import mean_response, mixture_quantile
from vsim.model import guests as gs
from vsim.model.datacenter import Simulation
from vsim.model.failures import failure_summary
from vsim.model.hosts import HOST_ON, HOST_STATE_NAMES
from vsim.scenario import Scenario, load_scenario


def vsim_version() -> str:
    try:
        return version("vsim")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def run(
    scenario: Scenario | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> Result:
    """Simulate a scenario (a :class:`Scenario` or the path of a scenario file).

    Returns a :class:`Result` with ``summary``, ``hosts``, ``guests``, ``events`` and ``requests``;
    with ``out`` also writes them (and figures) there. Raises ``ScenarioError`` on bad input.
    """
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    wall0 = time.perf_counter()
    sim = Simulation(scenario)
    bar = tqdm(
        total=float(scenario.duration),
        unit="sim-s",
        disable=not progress,
        desc=scenario.name,
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} sim-s [{elapsed}<{remaining}]",
    )
    with bar:
        sim.run(progress=lambda t: bar.update(t - bar.n))
    wall = time.perf_counter() - wall0
    result = collect(sim, wall_time_s=wall, source=source)
    if out is not None:
        result.write(Path(out))
    return result


def collect(sim: Simulation, *, wall_time_s: float, source: str | None = None) -> Result:
    """Turn a finished simulation into DataFrames and the headline summary."""
    rec, h, g, sc = sim.recorder, sim.hosts, sim.guests, sim.scenario
    hosts = rec.hosts_frame(h.names, h.type_name, HOST_STATE_NAMES)
    guests = rec.guests_frame(g.names, gs.KIND_NAMES[g.kind], h.names, gs.STATE_NAMES)
    span = np.diff(np.concatenate([[0.0], rec.times]))[:, None]
    on = rec.host_state == HOST_ON

    def host_mean(column: str) -> float:
        weights = span * on
        total = weights.sum()
        return float((rec.host[column] * weights).sum() / total) if total > 0 else 0.0

    jobs = np.flatnonzero(sim.job_of >= 0)
    job_time = sim.job_finished[jobs] - sim.job_started[jobs]
    tot = sim.total
    demand = tot["cpu_demand_mips"]
    summary = pd.Series(
        {
            "scenario": sc.name,
            "seed": sc.seed,
            "hosts": h.n,
            "guests": g.n,
            "guests_rejected": int(np.sum(g.state == gs.REJECTED)),
            "cpu_util_mean": host_mean("cpu_util"),
            "mem_util_mean": host_mean("mem_util"),
            "disk_util_mean": host_mean("disk_util"),
            "net_util_mean": host_mean("net_util"),
            "power_w_mean": tot["power"] / sc.duration,
            "energy_kwh": tot["power"] / 3.6e6,
            "facility_energy_kwh": tot["power"] / 3.6e6 * sc.datacenter.pue,
            "unmet_cpu_frac": (demand - tot["cpu_useful_mips"]) / demand if demand > 0 else 0.0,
            # Shares of all host CPU work: overhead of virtualization, of which the hypervisor's.
            "virt_overhead_cpu_frac": tot["cpu_overhead_mips"] / tot["cpu"] if tot["cpu"] else 0.0,
            "hypervisor_cpu_frac": tot["hypervisor"] / tot["cpu"] if tot["cpu"] else 0.0,
            "jobs": len(jobs),
            "jobs_done": int(np.sum(np.isfinite(job_time))),
            "job_time_s_mean": float(np.nanmean(job_time))
            if np.isfinite(job_time).any()
            else np.nan,
        }
    )
    for key, value in cost_summary(sc, summary, guests).items():
        summary[key] = value
    for key, value in failure_summary(sim).items():
        summary[key] = value
    for key, value in consolidation_summary(sim).items():
        summary[key] = value
    requests = request_summary(sim)
    analytic = analytic_summary(sim)
    if len(analytic) and not requests["requests_completed"]:
        # Only analytic services: their estimates are the run's latency figures.
        for key in (
            "latency_s_mean",
            "latency_s_p50",
            "latency_s_p95",
            "latency_s_p99",
            "latency_s_p999",
        ):
            requests[key] = analytic[f"analytic_{key}"]
        requests["throughput_rps"] = analytic["analytic_throughput_rps"]
    migrations = sim.migrator.frame()
    done = migrations.dropna(subset=["end_s"])
    moves = pd.Series(
        {
            "migrations": len(done),
            "migrations_aborted": len(migrations) - len(done),
            "migration_time_s_mean": float((done.end_s - done.start_s).mean())
            if len(done)
            else np.nan,
            "downtime_s_mean": float(done.downtime_s.mean()) if len(done) else np.nan,
        },
        dtype=object,
    )
    run_info = pd.Series(
        {"sim_time_s": float(sc.duration), "wall_time_s": wall_time_s, "events": sim.n_events},
        dtype=object,
    )
    summary = pd.concat([summary, moves, requests, analytic, run_info])
    manifest = {
        "vsim_version": vsim_version(),
        "scenario_file": source,
        "seed": sc.seed,
        "scenario": sc.model_dump(mode="json"),
    }
    return Result(
        summary, hosts, guests, sim.events.frame(), sim.requests.frame(), manifest, migrations
    )


def request_summary(sim: Simulation) -> pd.Series:
    """Headline request metrics: counts, throughput, latency percentiles, SLO violations."""
    log = sim.requests
    lat = np.frombuffer(log.latency, dtype=np.float64) if len(log.latency) else np.zeros(0)
    slos = [st.slo for st in sim.stations.values() if st.slo is not None and st.spec.arrivals]
    warm = max((st.warmup for st in sim.stations.values()), default=0.0)
    span = sim.scenario.duration - warm
    out = {
        "requests_completed": log.completed,
        "requests_rejected": log.rejected,
        "requests_timed_out": log.timed_out,
        "requests_failed": log.failed,
        "throughput_rps": log.completed / span if span > 0 else np.nan,
    }
    if len(lat):
        out["latency_s_mean"] = float(lat.mean())
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)):
            out[f"latency_s_{name}"] = float(np.quantile(lat, q))
    else:
        out.update(
            dict.fromkeys(
                (
                    "latency_s_mean",
                    "latency_s_p50",
                    "latency_s_p95",
                    "latency_s_p99",
                    "latency_s_p999",
                ),
                np.nan,
            )
        )
    # Requests that did not complete count as violations of the target.
    total = log.completed + log.rejected + log.timed_out + log.failed
    out["slo_violation_frac"] = (
        (float(np.sum(lat > min(slos))) + total - log.completed) / total
        if slos and total
        else np.nan
    )
    return pd.Series(out, dtype=object)


def analytic_summary(sim: Simulation) -> pd.Series:
    """Latency of services in analytic mode, estimated per sampling interval from the CPU
    capacity each guest could get (its grant plus what its host left idle), then combined."""
    demands = [d for d in sim.trace_demands if d.service is not None]
    if not demands:
        return pd.Series(dtype=object)
    rec, g, h = sim.recorder, sim.guests, sim.hosts
    span = np.diff(np.concatenate([[0.0], rec.times]))
    weights, means = [], []
    for d in demands:
        spec = d.service
        es_mi, es2_mi = spec.cpu.moments()
        idx = d.guests
        host = np.maximum(g.host, 0)[idx]  # where each guest ran at the end of the run
        k_in = 1.0 + g.cpu_in_guest[idx]
        k_tot = k_in + g.cpu_on_host[idx]
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
        weights.append((lam * span[:, None]).ravel())
        means.append(np.where(np.isfinite(es), w, np.inf).ravel())
    wts, mns = np.concatenate(weights), np.concatenate(means)
    total = wts.sum()
    out = {
        "analytic_requests": total,
        "analytic_throughput_rps": total / sim.scenario.duration,
        "analytic_latency_s_mean": float((wts * mns).sum() / total) if total else np.nan,
    }
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)):
        out[f"analytic_latency_s_{name}"] = mixture_quantile(wts, mns, q) if total else np.nan
    return pd.Series(out, dtype=object)
