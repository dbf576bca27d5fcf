"""Run one scenario end to end and gather its results."""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from vsim.experiment.cost import cost_summary
from vsim.experiment.latency import analytic_table, latency_summary, services_table
from vsim.experiment.results import Result, check_output_folder, numeric_summary
from vsim.model import guests as gs
from vsim.model.build import ControllerFactory, build_simulation, controller
from vsim.model.engine import Engine
from vsim.model.hosts import HOST_ON, HOST_STATE_NAMES
from vsim.model.rejection import KINDS as REJECTION_KINDS
from vsim.model.rejection import kind_of
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
    force: bool = False,
) -> Result:
    """Simulate a scenario (a :class:`Scenario` or the path of a scenario file).

    ``controllers``: factories ``engine -> controller`` of the user's own controllers
    (:mod:`vsim.model.contract`), attached after the scenario's; their summary columns join
    the run's.

    Returns a :class:`Result` with ``summary``, ``hosts``, ``guests``, ``events`` and ``requests``;
    with ``out`` also writes them (and figures) there, as a whole (:meth:`Result.write`; an
    earlier result there is replaced, another non-empty folder only with ``force``). Raises
    ``ScenarioError`` on bad input and ``OutputFolderError`` before simulating when ``out`` may
    not be written.
    """
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario)
    if out is not None:
        check_output_folder(out, force=force)
    wall0 = time.perf_counter()
    with _older_objects_frozen():
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
        result.write(Path(out), force=force)
    return result


@contextlib.contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the objects alive before the run (the imported libraries', about 90,000, and the
    scenario) out of the cyclic garbage collector's full passes while it runs: none of them
    becomes garbage during a run, yet each full pass would traverse them all (in the 200-host
    contention benchmark one such pass took about a sixth of the run's CPU time). They are
    handed back to the collector afterwards. The results do not depend on it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def collect(sim: Engine, *, wall_time_s: float, source: str | None = None) -> Result:
    """Turn a finished simulation into DataFrames and the headline summary."""
    rec, h, g, sc = sim.recorder, sim.hosts, sim.guests, sim.scenario
    # The controllers' summaries first: their temporaries are freed before the frames exist.
    controller_summaries = [c.summary() for c in sim.controllers]
    hosts = rec.hosts_frame(h.names, h.type_name, HOST_STATE_NAMES)
    guests = rec.guests_frame(g.names, gs.KIND_NAMES[g.kind], h.names, gs.STATE_NAMES)
    events = sim.events.frame()
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
            "seed": sc.seed,
            "hosts": h.n,
            "guests": g.n,
            "guests_rejected": int(np.sum(g.state == gs.REJECTED)),
            **rejected_by(events),
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
    for items in controller_summaries:
        for key, value in items.items():
            summary[key] = value
    if sc.scheduler.cpu == "timeslice":
        ready = ReadyTimes(sim)
        empty = np.zeros(0)  # (no samples: the columns are there all the same)
        guests["cpu_ready_frac"] = ready.ready.ravel() if len(guests) else empty
        if sc.scheduler.timeslice.skew_limit is not None:
            guests["cpu_costop_frac"] = ready.costop.ravel() if len(guests) else empty
        for key, value in ready.summary().items():
            summary[key] = value
    services = controller(sim, "services")
    analytic = analytic_table(sim)
    by_service = services_table(sim, analytic, services.requests)
    simulated = bool((by_service["mode"] == "requests").any())
    # Only analytic services: their figures are the run's latency columns (same names).
    for key, value in latency_summary(analytic, by_service, simulated, sc.duration).items():
        summary[key] = value
    run_info = pd.Series(
        {"sim_time_s": float(sc.duration), "wall_time_s": wall_time_s, "events": sim.n_events},
        dtype=object,
    )
    summary = numeric_summary(pd.concat([summary, run_info]), sc.name)
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
    requests = services.requests.frame()
    deps = controller(sim, "deployments")
    extra = {"deployments": deps.frame(), "replicas": deps.replicas_frame()} if deps else {}
    extra.update(services=by_service, analytic=analytic)
    tenants = controller(sim, "tenants")
    if tenants is not None:
        extra["coresidency"] = tenants.frame()
    return Result(summary, hosts, guests, events, requests, manifest, migrations, **extra)


def rejected_by(events: pd.DataFrame) -> dict[str, int]:
    """Rejected guests by kind of constraint (``guests_rejected_by_<kind>``), from the
    events: so that a sweep, which keeps no events, can say what blocked them."""
    counts = dict.fromkeys(REJECTION_KINDS, 0)
    if len(events):
        for detail in events.loc[events["kind"] == "rejected", "detail"]:
            counts[kind_of(str(detail))] += 1
    return {f"guests_rejected_by_{k}": n for k, n in counts.items()}


def _scenario_as_run(sc: Scenario, migrator) -> dict:
    """The resolved scenario, with the migration settings the run used."""
    out = sc.model_dump(mode="json")
    out["migration"] = migrator.cfg.model_dump(mode="json")
    return out
