"""What guests ask for over time: utilization series (traces, synthetic) and batch jobs.

Every utilization workload becomes one piecewise-constant :class:`UtilizationTrace` row per guest,
so demand changes only at sample boundaries and is stepped for all guests at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsim import traces
from vsim.scenario import schema


@dataclass
class TraceDemand:
    """Demand series of the guests driven by one utilization workload."""

    name: str
    guests: np.ndarray  # int[n] guest indices
    trace: traces.UtilizationTrace  # one series per guest, in the order of ``guests``
    memory: float  # fraction of guest memory in use when the trace has no memory series
    disk: float  # bytes/s when the trace has no disk series
    iops: float
    net: float
    service: schema.ServiceWorkload | None = None  # a service in analytic mode

    def at(self, k: int) -> dict[str, np.ndarray]:
        """Demand of every guest of this workload during sample ``k``."""
        t = self.trace
        n = len(self.guests)

        def col(arr: np.ndarray | None, const: float) -> np.ndarray:
            return np.full(n, const) if arr is None else arr[:, k]

        return {
            "cpu": t.cpu[:, k],
            "memory": col(t.memory, self.memory),
            "disk": col(t.disk, self.disk),
            "iops": np.full(n, self.iops),
            "net": col(t.net, self.net),
        }


@dataclass
class BatchDemand:
    """Guests that run a fixed amount of work: CPU (MI), then disk bytes, then network bytes."""

    name: str
    guests: np.ndarray
    cpu_work: float
    io_bytes: float
    net_bytes: float
    memory: float
    stop_when_done: bool
    repeat: int = 1
    execution_shares: tuple[float, ...] = ()  # each execution's CPU shares, cycling; () none

    @property
    def work(self) -> tuple[float, float, float]:
        """Work of each phase in order: CPU (MI), disk bytes, network bytes."""
        return (self.cpu_work, self.io_bytes, self.net_bytes)

    @property
    def only_phase(self) -> int:
        """The phase index when exactly one phase has work and executions share one weight,
        else -1: then one execution follows the last in the same phase and at the same rate."""
        if len(set(self.execution_shares)) > 1:
            return -1
        busy = [p for p, w in enumerate(self.work) if w > 0]
        return busy[0] if len(busy) == 1 else -1


def build_demands(
    scenario: schema.Scenario,
    guest_group: np.ndarray,
    guest_names: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[TraceDemand], list[BatchDemand]]:
    """Turn each workload of the scenario into demand for the guests that use it.

    Each workload draws from its own generator spawned (in definition order) from ``rng``'s seed
    sequence, so adding a guest to one workload never changes the numbers another one sees.
    """
    children = rng.bit_generator.seed_seq.spawn(max(1, len(scenario.workloads)))  # type: ignore[attr-defined]
    trace_demands: list[TraceDemand] = []
    batch_demands: list[BatchDemand] = []
    for (name, wl), seq in zip(scenario.workloads.items(), children, strict=False):
        groups = [i for i, g in enumerate(scenario.guests) if g.workload == name]
        idx = np.flatnonzero(np.isin(guest_group, groups))
        if len(idx) == 0:
            continue
        if isinstance(wl, schema.ServiceWorkload):
            if wl.mode == "analytic":
                trace = _analytic_trace(wl, scenario, idx, guest_group)
                trace_demands.append(TraceDemand(name, idx, trace, wl.memory, 0.0, 0.0, 0.0, wl))
            continue  # request by request: vsim.model.services
        if isinstance(wl, schema.BatchWorkload):
            batch_demands.append(
                BatchDemand(
                    name,
                    idx,
                    wl.cpu_work,
                    wl.io_bytes,
                    wl.net_bytes,
                    wl.memory,
                    wl.on_finish == "stop",
                    wl.repeat,
                    tuple(wl.execution_shares or ()),
                )
            )
            continue
        trace = _trace_for(wl, scenario, guest_names[idx], np.random.default_rng(seq))
        trace_demands.append(
            TraceDemand(name, idx, trace, wl.memory, wl.disk, wl.disk_iops, wl.net)
        )
    return trace_demands, batch_demands


def _trace_for(
    wl: schema.Workload, scenario: schema.Scenario, names: np.ndarray, rng: np.random.Generator
) -> traces.UtilizationTrace:
    custom = getattr(wl, "trace_for", None)  # real-trace kinds read their own (scenario layer)
    if custom is not None:
        return custom(names, scenario, rng)
    n = len(names)
    step = wl.step or scenario.sample_interval
    span = {"duration_s": scenario.duration, "interval_s": step}
    if isinstance(wl, schema.ConstantWorkload):
        return traces.constant(n, cpu=wl.cpu, **span)
    if isinstance(wl, schema.DiurnalWorkload):
        phase = wl.phase + rng.uniform(0.0, wl.phase_spread, n) if wl.phase_spread else wl.phase
        return traces.diurnal(
            n, mean=wl.mean, amplitude=wl.amplitude, period_s=wl.period, phase_s=phase, **span
        )
    if isinstance(wl, schema.RandomWalkWorkload):
        return traces.random_walk(
            n, start=wl.start, sigma=wl.sigma, low=wl.low, high=wl.high, rng=rng, **span
        )
    if isinstance(wl, schema.PlanetLabWorkload):
        source = traces.read_planetlab(wl.path, interval_s=wl.interval)
    else:
        source = traces.read_csv_trace(wl.path, cpu_unit=wl.cpu_unit)
    return source.select(_assign(source.names, names))


def _assign(series: tuple[str, ...], guests: np.ndarray) -> np.ndarray:
    """Series for each guest: by name when every guest has a series of its name, else in order,
    cycling through the series when there are more guests than series."""
    by_name = {s: i for i, s in enumerate(series)}
    if all(g in by_name for g in guests):
        return np.array([by_name[g] for g in guests], dtype=np.int64)
    return np.arange(len(guests), dtype=np.int64) % len(series)


def _analytic_trace(
    wl: schema.ServiceWorkload, scenario: schema.Scenario, idx: np.ndarray, group: np.ndarray
) -> traces.UtilizationTrace:
    """Mean CPU demand of an analytic service: arrival rate x mean work, as a fraction of the
    guest's vCPUs (a diurnal arrival rate gives a diurnal demand)."""
    mean_mi = wl.cpu.moments()[0]
    size = np.array([scenario.guests[k].vcpus * scenario.guests[k].vcpu_mips for k in group[idx]])
    arr = wl.arrivals
    assert arr is not None  # checked by the schema
    span = {"duration_s": scenario.duration, "interval_s": scenario.sample_interval}
    frac = arr.mean_rate() * mean_mi / size
    if arr.process == "diurnal":
        return traces.diurnal(
            len(idx), mean=frac, amplitude=frac * arr.amplitude, period_s=arr.period, **span
        )
    return traces.constant(len(idx), cpu=frac, **span)
