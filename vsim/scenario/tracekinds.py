"""Workload kinds that read real traces: ``bitbrains``, ``opendc``, ``alibaba2017``, ``openb``,
``swf`` and ``load_shape``.

Each kind reads its file through :mod:`vsim.traces` and gives the model, through
:meth:`TraceKind.trace_for`, one demand series per guest. A guest named ``<group>:<id>`` (or
``<group>:<id>-<k>``, instance ``k`` of a task) follows the trace's VM, job or pod ``<id>``: these
are the guests a ``guests: [{name: <group>, trace: <workload>}]`` entry makes (see
:mod:`vsim.scenario.fromtrace`). Guests of an ordinary group take the series in order, cycling,
as with the ``planetlab`` and ``csv`` kinds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from vsim import traces
from vsim.scenario.base import Strict, existing_path
from vsim.scenario.demand import Demand
from vsim.scenario.units import Bytes, Seconds
from vsim.traces.alibaba import TASK_STATUSES
from vsim.traces.grid import grid_edges, grid_means

__all__ = [
    "AlibabaTasksWorkload",
    "BitbrainsWorkload",
    "LoadShapeWorkload",
    "OpenDCWorkload",
    "OpenbWorkload",
    "SwfWorkload",
    "TRACE_KINDS",
    "TraceKind",
    "TraceWindowSpec",
]

GUEST_SEPARATOR = ":"  # between a trace group's name and the trace's id in a guest's name


class TraceWindowSpec(Strict):
    """The part of a trace to use: ``start`` (from the trace's beginning) becomes time 0."""

    start: Seconds = Field(0.0, ge=0, description="trace time that becomes time 0 of the run, s")
    end: Seconds | None = Field(None, gt=0, description="default: the end of the trace")

    @model_validator(mode="after")
    def _ordered(self) -> TraceWindowSpec:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        return self

    def window(self) -> traces.TraceWindow:
        return traces.TraceWindow(self.start, self.end)


class TraceKind(Demand):
    """A workload read from a real trace file or folder.

    ``step`` (from :class:`Demand`) is the grid the trace is resampled to, by exact
    time-weighted means; default: the scenario's sample interval.
    """

    path: str = Field(description="the trace file or folder")
    window: TraceWindowSpec = Field(TraceWindowSpec(), description="the part of the trace used")

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        return existing_path(v, info)

    def read(self, step_s: float) -> traces.WorkloadTrace:
        """The trace's guests and demand on a grid of ``step_s`` (each kind reads its format)."""
        raise NotImplementedError

    def load(self, step_s: float) -> traces.WorkloadTrace:
        """:meth:`read`, remembered for the last trace read: validation reads the guests and the
        run reads the demand, and the two must not cost two reads (nor hold two copies)."""
        key = (type(self).__name__, self.model_dump_json(), step_s, _stamp(self.path))
        if _LAST.get("key") != key:
            _LAST.clear()  # drop the previous trace before reading the next
            _LAST.update(key=key, value=self.read(step_s))
        return _LAST["value"]

    def trace_for(self, names: np.ndarray, scenario, rng: np.random.Generator):
        """Demand of the guests ``names`` (one series each, in that order) for the model."""
        trace = self.load(self.step or scenario.sample_interval)
        idx = _series_of(names, trace.guests.names)
        if trace.demand is not None:
            return trace.demand.select(idx)
        used = trace.guests.cpu_used
        cpu = np.full(len(trace.guests), float(getattr(self, "cpu", 1.0)))
        if used is not None:
            cpu = np.where(np.isnan(used), cpu, used)
        return traces.UtilizationTrace(
            names=tuple(str(n) for n in names), times=[0.0], cpu=cpu[idx, None]
        )


_LAST: dict = {}


def _stamp(path: str) -> float:
    from pathlib import Path

    return Path(path).stat().st_mtime


def _series_of(names: np.ndarray, ids: tuple[str, ...]) -> np.ndarray:
    """Series index of each guest: by ``<group>:<id>[-<k>]`` name when every guest has one,
    else in order, cycling (the rule of the planetlab and csv kinds)."""
    by_id = {s: i for i, s in enumerate(ids)}
    out = []
    for name in map(str, names):
        _, sep, rest = name.partition(GUEST_SEPARATOR)
        i = by_id.get(rest) if sep else None
        if i is None and sep and "-" in rest:
            i = by_id.get(rest.rsplit("-", 1)[0])
        if i is None:
            return np.arange(len(names), dtype=np.int64) % len(ids)
        out.append(i)
    return np.array(out, dtype=np.int64)


class _JobTrace(TraceKind):
    """A trace of requests and lifetimes, with no usage series."""

    cpu: float = Field(
        1.0, ge=0, le=1, description="fraction of each guest's vCPUs in use (no usage series)"
    )
    limit: int | None = Field(None, ge=1, description="only the first jobs/tasks/pods")


class BitbrainsWorkload(TraceKind):
    """Bitbrains GWA-T-12 folder: per-VM CPU, memory, disk and network every 5 minutes."""

    kind: Literal["bitbrains"] = Field(description="Bitbrains GWA-T-12 per-VM series")
    vms: int | list[str] | None = Field(None, description="the first n VMs, or these ids")
    size: Literal["max", "first", "last"] = Field(
        "max", description="which provisioned size a guest gets when the trace changes it"
    )
    series: list[Literal["memory", "disk", "net"]] = Field(
        ["memory", "disk", "net"],
        description="which series besides CPU come from the trace; the others from the "
        "workload's memory, disk and net constants",
    )

    def read(self, step_s: float) -> traces.WorkloadTrace:
        return traces.read_bitbrains(
            self.path, vms=self.vms, window=self.window.window(), interval_s=step_s, size=self.size
        )

    def trace_for(self, names: np.ndarray, scenario, rng: np.random.Generator):
        """The trace's demand, without the series left out of ``series``."""
        full = super().trace_for(names, scenario, rng)
        if len(self.series) == 3:
            return full
        kept = {
            f: getattr(full, f) if f in self.series else None for f in ("memory", "disk", "net")
        }
        return traces.UtilizationTrace(full.names, full.times, full.cpu, **kept)


class OpenDCWorkload(TraceKind):
    """OpenDC workload folder (``tasks.parquet`` + ``fragments.parquet``)."""

    kind: Literal["opendc"] = Field(description="OpenDC workload folder")
    tasks: int | list[int] | None = Field(None, description="the first n tasks, or these ids")

    def read(self, step_s: float) -> traces.WorkloadTrace:
        return traces.read_opendc(
            self.path, tasks=self.tasks, window=self.window.window(), interval_s=step_s
        )


class AlibabaTasksWorkload(_JobTrace):
    """Alibaba cluster-trace-v2017 ``batch_task`` table."""

    kind: Literal["alibaba2017"] = Field(description="Alibaba cluster-trace-v2017 batch tasks")
    memory_scale: Bytes | None = Field(
        None, gt=0, description="bytes that the trace's normalized memory 1.0 stands for"
    )
    instances: Literal["each", "one"] = Field("each", description="a guest per instance, or one")
    statuses: list[Literal[TASK_STATUSES]] = Field(
        list(TASK_STATUSES), description="task statuses kept"
    )  # type: ignore[valid-type]

    def read(self, step_s: float) -> traces.WorkloadTrace:
        return traces.read_alibaba2017_tasks(
            self.path,
            window=self.window.window(),
            statuses=self.statuses,
            memory_scale=self.memory_scale,
            instances=self.instances,
            limit=self.limit,
        )


class OpenbWorkload(_JobTrace):
    """Alibaba cluster-trace-gpu-v2023 (openb) pod list."""

    kind: Literal["openb"] = Field(description="Alibaba openb pod list")
    gpu_pods: bool = Field(True, description="keep pods that also request GPUs (GPUs dropped)")

    def read(self, step_s: float) -> traces.WorkloadTrace:
        return traces.read_openb_pods(
            self.path, window=self.window.window(), gpu_pods=self.gpu_pods, limit=self.limit
        )


class SwfWorkload(_JobTrace):
    """Standard Workload Format log (Parallel Workloads Archive, CloudSim Plus)."""

    kind: Literal["swf"] = Field(description="Standard Workload Format log")
    arrival: Literal["submit", "start"] = Field(
        "submit", description="arrive at submit time, or at the original start (submit + wait)"
    )
    guest_cores: int | None = Field(
        None, ge=1, description="split a job into guests of at most this many vCPUs (its nodes)"
    )

    def read(self, step_s: float) -> traces.WorkloadTrace:
        return traces.read_swf(
            self.path,
            window=self.window.window(),
            arrival=self.arrival,
            limit=self.limit,
            guest_cores=self.guest_cores,
        )


class LoadShapeWorkload(Demand):
    """A datacenter-wide aggregate series driving every guest of the workload: each follows the
    shape with its own phase and noise, and the fleet's mean is the series."""

    kind: Literal["load_shape"] = Field(
        description="a datacenter-wide load series shaping every guest"
    )
    path: str = Field(description="aggregate CSV: one column per metric, one row per stride")
    column: str = Field(description="the CPU column, e.g. cpu_util_percent")
    memory_column: str | None = Field(None, description="a memory column, the same for all")
    stride: Seconds = Field(gt=0, description="seconds between rows (the file has no times)")
    scale: Literal["auto", "percent", "max"] | float = Field(
        "auto",
        description="how series values map to CPU: auto, percent, max, or the value of 100 %",
    )
    noise: float = Field(0.1, ge=0, description="log-standard deviation of per-guest noise")
    phase_spread: Seconds = Field(0.0, ge=0, description="guests lag the shape by up to this")
    start: Seconds = Field(0.0, ge=0, description="where in the shape the run starts")

    @field_validator("path")
    @classmethod
    def _exists(cls, v: str, info: ValidationInfo) -> str:
        return existing_path(v, info)

    def trace_for(self, names: np.ndarray, scenario, rng: np.random.Generator):
        """``len(names)`` series following the shape, averaged onto the workload's step."""
        step = max(self.step or scenario.sample_interval, self.stride)
        cpu = self._shape(self.column, step)
        fleet = traces.fleet_from_shape(
            cpu,
            step,
            len(names),
            rng=rng,
            noise=self.noise,
            phase_spread_s=self.phase_spread,
            start_s=self.start,
            duration_s=scenario.duration,
            prefix="",
        )
        if self.memory_column is None:
            return fleet
        memory = self._shape(self.memory_column, step)
        index = (round(self.start / step) + np.arange(fleet.n_samples)) % memory.size
        return traces.UtilizationTrace(
            fleet.names, fleet.times, fleet.cpu, memory=np.tile(memory[index], (len(names), 1))
        )

    def _shape(self, column: str, step: float) -> np.ndarray:
        times, shape = traces.read_load_shape(
            self.path, column, stride_s=self.stride, scale=self.scale
        )
        if step == self.stride:
            return shape
        edges = grid_edges(0.0, times[-1] + self.stride, step)
        ends = np.array([times[-1] + self.stride])
        series = np.zeros(len(times), dtype=np.int64)
        return grid_means(series, times, ends, {"v": shape}, edges)["v"][0]


def planetlab_day_folders(value: list[str] | str, info: ValidationInfo) -> list[str]:
    """PlanetLab ``days:``: the folders listed, or every sub-folder of the one given, sorted."""
    if isinstance(value, str):
        from pathlib import Path

        parent = Path(existing_path(value, info))
        days = sorted(str(p) for p in parent.iterdir() if p.is_dir() and p.name[0] != ".")
        if not days:
            raise ValueError(f"no day folders in {value!r}")
        return days
    if not value:
        raise ValueError("days needs at least one folder")
    return [existing_path(v, info) for v in value]


def planetlab_days(wl, names: np.ndarray, scenario, rng: np.random.Generator):
    """Demand of a ``planetlab`` workload with ``days:``, one series per guest in order."""
    return traces.read_planetlab_days(wl.days, len(names), interval_s=wl.interval)


# Each kind's ``kind:`` tag and its model (for error messages that list a kind's fields).
TRACE_KINDS = {
    "bitbrains": BitbrainsWorkload,
    "opendc": OpenDCWorkload,
    "alibaba2017": AlibabaTasksWorkload,
    "openb": OpenbWorkload,
    "swf": SwfWorkload,
    "load_shape": LoadShapeWorkload,
}
