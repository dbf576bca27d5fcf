"""Run one scenario end to end and gather its results."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from vsim.experiment.cost import cost_summary
from vsim.experiment.results import Result
from vsim.metrics.latency import mean_response, mixture_quantile
from vsim.model import guests as gs
from vsim.model.build import ControllerFactory, build_simulation, controller
from vsim.model.engine import Engine
from vsim.model.hosts import HOST_ON, HOST_STATE_NAMES
from vsim.model.overhead import cpu_factors
from vsim.model.services import LATENCY_QUANTILES
from vsim.model.timeslice import ReadyTimes
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
    controllers: Sequence[ControllerFactory] = (),
) -> Result:
    """Simulate a scenario (a :class:`Scenario` or the path of a scenario file).

    ``controllers``: factories ``engine -> controller`` of the user's own controllers
    (:mod:`vsim.model.contract`), attached after the scenario's; their summary columns join
    the run's.

    Returns a :class:`Result` with ``summary``, ``hosts``, ``guests``, ``events`` and ``requests``;
    with ``out`` also writes them (and figures) there. Raises ``ScenarioError`` on bad input.
    """
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    wall0 = time.perf_counter()
    sim = build_simulation(scenario, controllers)
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


def collect(sim: Engine, *, wall_time_s: float, source: str | None = None) -> Result:
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

    jobs = np.flatnonzero(sim.jobs.of >= 0)
    job_time = sim.jobs.finished[jobs] - sim.jobs.started[jobs]
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
            "job_executions": sim.jobs.executions,
            "job_time_s_mean": float(np.nanmean(job_time))
            if np.isfinite(job_time).any()
            else np.nan,
        }
    )
    for key, value in cost_summary(sc, summary, guests).items():
        summary[key] = value
    for c in sim.controllers:
        for key, value in c.summary().items():
            summary[key] = value
    if sc.scheduler.cpu == "timeslice":
        ready = ReadyTimes(sim)
        if len(guests):
            guests["cpu_ready_frac"] = ready.ready.ravel()
        for key, value in ready.summary().items():
            summary[key] = value
    analytic = analytic_summary(sim)
    if len(analytic) and not summary["requests_completed"]:
        # Only analytic services: their estimates are the run's latency figures.
        for key in ("latency_s_mean", *(f"latency_s_{name}" for name, _ in LATENCY_QUANTILES)):
            summary[key] = analytic[f"analytic_{key}"]
        summary["throughput_rps"] = analytic["analytic_throughput_rps"]
    run_info = pd.Series(
        {"sim_time_s": float(sc.duration), "wall_time_s": wall_time_s, "events": sim.n_events},
        dtype=object,
    )
    summary = pd.concat([summary, analytic, run_info])
    migrator = controller(sim, "migration")
    manifest = {
        "vsim_version": vsim_version(),
        "scenario_file": source,
        "seed": sc.seed,
        "scenario": _scenario_as_run(sc, migrator),
        # What a profile may change from what the scenario says (cloudsim: migrations and the
        # network as CloudSim models them).
        "in_effect": {"migration": migrator.settings(), "network": sim.network_settings()},
    }
    migrations = migrator.frame()
    requests = controller(sim, "services").requests.frame()
    deps = controller(sim, "deployments")
    extra = {"deployments": deps.frame(), "replicas": deps.replicas_frame()} if deps else {}
    return Result(
        summary, hosts, guests, sim.events.frame(), requests, manifest, migrations, **extra
    )


def _scenario_as_run(sc: Scenario, migrator) -> dict:
    """The resolved scenario, with the migration settings the run used."""
    out = sc.model_dump(mode="json")
    out["migration"] = migrator.cfg.model_dump(mode="json")
    return out


def analytic_summary(sim: Engine) -> pd.Series:
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
        weights.append((lam * span[:, None]).ravel())
        means.append(np.where(np.isfinite(es), w, np.inf).ravel())
    wts, mns = np.concatenate(weights), np.concatenate(means)
    total = wts.sum()
    out = {
        "analytic_requests": total,
        "analytic_throughput_rps": total / sim.scenario.duration,
        "analytic_latency_s_mean": float((wts * mns).sum() / total) if total else np.nan,
    }
    for name, q in LATENCY_QUANTILES:
        out[f"analytic_latency_s_{name}"] = mixture_quantile(wts, mns, q) if total else np.nan
    return pd.Series(out, dtype=object)
