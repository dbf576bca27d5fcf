"""OpenDC traces: the workload format (v4/v5 ``tasks.parquet`` + ``fragments.parquet``) read and
written, and the failure format (schema 1) read.

Workload (https://atlarge-research.github.io/opendc, workload schema v4/v5):

* ``tasks.parquet``, one row per VM or job: ``id`` int32, ``submission_time`` int64 (Unix ms),
  ``duration`` int64 (ms), ``cpu_count`` int32, ``cpu_capacity`` float64 (MHz, all cores
  together), ``mem_capacity`` int64 (KB, taken as KiB as in Bitbrains, the source of the
  published OpenDC traces).
* ``fragments.parquet``, the usage profile: ``id`` int32, ``duration`` int64 (ms),
  ``cpu_usage`` float64 (MHz). A task's fragments are consecutive in the file; each starts
  where the previous one of its task ended, the first at the task's submission.

Failures (failure schema 1): ``failure_interval`` int64 (ms from the previous failure's start,
0 for the first), ``failure_duration`` int64 (ms), ``failure_intensity`` float64 (the fraction
of hosts it takes down, 0..1). The published traces are service outages (Cloud Uptime
Archive), not per-machine logs: which hosts fail is drawn at random, as OpenDC does.

Columns other than these are ignored (v5 traces may carry more); nothing else is invented:
OpenDC has no memory, disk or network usage series, so those stay absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.grid import KIB, grid_edges, grid_means, lifetimes
from vsim.traces.specs import WHOLE_TRACE, GuestSpecs, TraceWindow, WorkloadTrace

__all__ = [
    "opendc_failures_frame",
    "opendc_fragments_frame",
    "opendc_tasks_frame",
    "read_opendc",
    "write_opendc",
]

TASK_COLUMNS = ("id", "submission_time", "duration", "cpu_count", "cpu_capacity", "mem_capacity")
FRAGMENT_COLUMNS = ("id", "duration", "cpu_usage")
FAILURE_COLUMNS = ("failure_interval", "failure_duration", "failure_intensity")


def _read_parquet(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns of a Parquet file; TraceError naming the file and what is missing."""
    if not path.is_file():
        raise TraceError(f"{path}: file not found")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise TraceError(f"{path}: not a Parquet file ({exc}); is it truncated?") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise TraceError(
            f"{path}: missing column(s) {missing}; has {schema.names}, needs {list(columns)}"
        )
    try:
        frame = pq.read_table(path, columns=list(columns)).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise TraceError(f"{path}: cannot read the Parquet data ({exc})") from None
    for c in columns:
        values = frame[c]
        if values.isna().any():
            raise TraceError(f"{path}, row {int(np.argmax(values.isna()))}, column {c!r}: empty")
        if not pd.api.types.is_numeric_dtype(values):
            raise TraceError(f"{path}: column {c!r} is {values.dtype}, expected numbers")
    return frame


def _check_non_negative(frame: pd.DataFrame, path: Path, columns: Sequence[str]) -> None:
    for c in columns:
        bad = frame[c].to_numpy() < 0
        if bad.any():
            row = int(np.argmax(bad))
            raise TraceError(f"{path}, row {row}, column {c!r}: {float(frame[c].iloc[row]):g} < 0")


def opendc_tasks_frame(folder: str | Path) -> pd.DataFrame:
    """``tasks.parquet`` of an OpenDC workload folder, in seconds, MHz and bytes.

    Columns: ``id``, ``submit_s`` (Unix seconds), ``duration_s``, ``end_s``, ``cpu_count``,
    ``cpu_capacity_mhz`` (all cores), ``memory_bytes``.
    """
    path = Path(folder) / "tasks.parquet"
    raw = _read_parquet(path, TASK_COLUMNS)
    _check_non_negative(raw, path, TASK_COLUMNS[2:])
    if raw["id"].duplicated().any():
        row = int(np.argmax(raw["id"].duplicated().to_numpy()))
        raise TraceError(f"{path}, row {row}: task id {raw['id'].iloc[row]} is repeated")
    submit = raw["submission_time"].to_numpy() / 1000.0
    duration = raw["duration"].to_numpy() / 1000.0
    return pd.DataFrame(
        {
            "id": raw["id"].to_numpy(),
            "submit_s": submit,
            "duration_s": duration,
            "end_s": submit + duration,
            "cpu_count": raw["cpu_count"].to_numpy(),
            "cpu_capacity_mhz": raw["cpu_capacity"].to_numpy(np.float64),
            "memory_bytes": raw["mem_capacity"].to_numpy(np.float64) * KIB,
        }
    )


def opendc_fragments_frame(folder: str | Path, tasks: pd.DataFrame | None = None) -> pd.DataFrame:
    """``fragments.parquet`` with each fragment's start: ``id, start_s, duration_s, cpu_mhz``.

    ``tasks`` (from :func:`opendc_tasks_frame`; read when not given) supplies submissions.
    """
    folder = Path(folder)
    tasks = opendc_tasks_frame(folder) if tasks is None else tasks
    path = folder / "fragments.parquet"
    raw = _read_parquet(path, FRAGMENT_COLUMNS)
    _check_non_negative(raw, path, FRAGMENT_COLUMNS[1:])
    task_index = pd.Index(tasks["id"])
    code = task_index.get_indexer(raw["id"])
    if (code < 0).any():
        row = int(np.argmax(code < 0))
        raise TraceError(f"{path}, row {row}: id {raw['id'].iloc[row]} is not in tasks.parquet")
    order = np.argsort(code, kind="stable")  # by task, keeping each task's fragments in order
    code = code[order]
    duration = raw["duration"].to_numpy()[order] / 1000.0
    # Each fragment starts where the previous one of its task ended.
    ends = np.cumsum(duration)
    first = np.searchsorted(code, code)  # index of each task's first fragment
    offset = ends[first] - duration[first]
    start = tasks["submit_s"].to_numpy()[code] + (ends - duration - offset)
    return pd.DataFrame(
        {
            "id": tasks["id"].to_numpy()[code],
            "start_s": start,
            "duration_s": duration,
            "cpu_mhz": raw["cpu_usage"].to_numpy(np.float64)[order],
        }
    )


def read_opendc(
    folder: str | Path,
    *,
    tasks: int | Sequence[int] | None = None,
    window: TraceWindow = WHOLE_TRACE,
    interval_s: float = 300.0,
    prefix: str = "",
) -> WorkloadTrace:
    """Read an OpenDC workload folder into guests and their CPU demand.

    Args:
        folder: folder holding ``tasks.parquet`` and ``fragments.parquet``.
        tasks: the first ``n`` tasks in submission order, or a list of task ids.
        window: the part of the trace to use, from the earliest submission.
        interval_s: grid step; each value is the time-weighted mean of the fragments.
        prefix: put before each task id to name its guest.

    Returns:
        One guest per task in the window: ``cpu_count`` vCPUs of ``cpu_capacity / cpu_count``
        MHz, ``mem_capacity`` KiB, arriving at submission and leaving at submission +
        duration. ``cpu`` = fragment usage / capacity; memory, disk and net are absent.
    """
    folder = Path(folder)
    all_tasks = opendc_tasks_frame(folder)
    chosen = _choose_tasks(all_tasks, tasks, folder)
    frags = opendc_fragments_frame(folder, all_tasks)
    frags = frags[frags["id"].isin(chosen["id"])]
    t0 = float(all_tasks["submit_s"].min())
    t_lo = t0 + window.start
    last = float(chosen["end_s"].max())
    t_hi = last if window.end is None else min(t0 + window.end, last)
    inside = (chosen["submit_s"] < t_hi) & (chosen["end_s"] > t_lo)
    chosen = chosen[inside.to_numpy()].reset_index(drop=True)
    if chosen.empty:
        raise TraceError(f"{folder}: no task runs inside the window")
    code = pd.Index(chosen["id"]).get_indexer(frags["id"])
    keep = code >= 0
    code, frags = code[keep], frags[keep]
    order = np.argsort(code, kind="stable")
    capacity = chosen["cpu_capacity_mhz"].to_numpy()
    cpu = np.where(capacity[code] > 0, frags["cpu_mhz"].to_numpy() / capacity[code], 0.0)
    edges = grid_edges(t_lo, t_hi, interval_s)
    no_fragment = np.setdiff1d(np.arange(len(chosen)), code)
    if no_fragment.size:
        raise TraceError(
            f"{folder / 'fragments.parquet'}: task {chosen['id'].iloc[no_fragment[0]]} "
            "has no fragment"
        )
    grid = grid_means(
        code[order],
        frags["start_s"].to_numpy()[order],
        chosen["end_s"].to_numpy(),
        {"cpu": cpu[order]},
        edges,
    )
    start, stop = lifetimes(chosen["submit_s"].to_numpy(), chosen["end_s"].to_numpy(), t_lo, t_hi)
    names = tuple(f"{prefix}{i}" for i in chosen["id"])
    cores = np.maximum(chosen["cpu_count"].to_numpy(np.float64), 1.0)
    specs = GuestSpecs(
        names=names,
        vcpus=chosen["cpu_count"].to_numpy(np.float64),
        vcpu_mhz=capacity / cores,
        memory=chosen["memory_bytes"].to_numpy(),
        start=start,
        stop=stop,
    )
    demand = UtilizationTrace(names, edges[:-1] - t_lo, grid["cpu"])
    return WorkloadTrace(specs, demand, {"outside_window": int((~inside).sum())})


def _choose_tasks(tasks: pd.DataFrame, which, folder: Path) -> pd.DataFrame:
    ordered = tasks.sort_values(["submit_s", "id"], kind="stable")
    if which is None:
        return ordered
    if isinstance(which, int):
        if which < 1:
            raise ValueError(f"tasks must be at least 1, got {which}")
        return ordered.head(which)
    wanted = pd.Index([int(w) for w in which])
    missing = wanted.difference(pd.Index(tasks["id"]))
    if len(missing):
        raise TraceError(f"{folder / 'tasks.parquet'}: no task id(s) {list(missing[:5])}")
    return ordered[ordered["id"].isin(wanted)]


def opendc_failures_frame(path: str | Path) -> pd.DataFrame:
    """An OpenDC failure trace as ``start_s, duration_s, end_s, intensity`` (seconds from the
    trace's start; ``start_s`` is the running sum of ``failure_interval``)."""
    path = Path(path)
    raw = _read_parquet(path, FAILURE_COLUMNS)
    _check_non_negative(raw, path, FAILURE_COLUMNS)
    intensity = raw["failure_intensity"].to_numpy(np.float64)
    if (intensity > 1).any():
        row = int(np.argmax(intensity > 1))
        raise TraceError(
            f"{path}, row {row}, column 'failure_intensity': {float(intensity[row]):g} is above 1 "
            "(a fraction of the hosts, 0..1)"
        )
    start = np.cumsum(raw["failure_interval"].to_numpy()) / 1000.0
    duration = raw["failure_duration"].to_numpy() / 1000.0
    return pd.DataFrame(
        {
            "start_s": start,
            "duration_s": duration,
            "end_s": start + duration,
            "intensity": intensity,
        }
    )


def write_opendc(
    folder: str | Path,
    trace: UtilizationTrace,
    *,
    vcpus: np.ndarray,
    vcpu_mhz: np.ndarray,
    memory: np.ndarray,
    start: np.ndarray | None = None,
    stop: np.ndarray | None = None,
    epoch_s: float = 0.0,
) -> tuple[Path, Path]:
    """Write guests and their CPU demand as an OpenDC workload (``tasks`` + ``fragments``).

    Task ``i`` is ``trace.names[i]`` numbered ``i``, submitted at ``epoch_s + start[i]`` (Unix
    seconds; times are written in ms), lasting until ``stop[i]`` (default: the end of the last
    sample, one step after ``trace.times[-1]``); its fragments are the trace's samples within
    that life, ``cpu_usage`` = ``cpu`` x ``vcpus`` x ``vcpu_mhz``. Equal neighbouring samples
    are kept apart (OpenDC merges them or not, either reads the same). Returns both paths.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = trace.n_series
    times = trace.times
    step = float(np.median(np.diff(times))) if times.size > 1 else 300.0
    edges = np.append(times, times[-1] + step)
    start = np.zeros(n) if start is None else np.asarray(start, np.float64)
    stop = np.full(n, edges[-1]) if stop is None else np.minimum(stop, edges[-1])
    capacity = np.asarray(vcpus, np.float64) * np.asarray(vcpu_mhz, np.float64)
    ids, durs, usage = [], [], []
    for i in range(n):
        lo = np.clip(edges[:-1], start[i], stop[i])
        hi = np.clip(edges[1:], start[i], stop[i])
        live = hi > lo
        ms = np.round((hi[live] - lo[live]) * 1000.0).astype(np.int64)
        ids.append(np.full(ms.size, i, np.int32))
        durs.append(ms)
        usage.append(trace.cpu[i, live] * capacity[i])
    tasks = pa.table(
        {
            "id": pa.array(np.arange(n, dtype=np.int32)),
            "submission_time": pa.array(np.round((epoch_s + start) * 1000).astype(np.int64)),
            "duration": pa.array(np.round((stop - start) * 1000).astype(np.int64)),
            "cpu_count": pa.array(np.ceil(vcpus).astype(np.int32)),
            "cpu_capacity": pa.array(capacity),
            "mem_capacity": pa.array(np.round(np.asarray(memory) / KIB).astype(np.int64)),
        }
    )
    fragments = pa.table(
        {
            "id": pa.array(np.concatenate(ids) if ids else np.empty(0, np.int32)),
            "duration": pa.array(np.concatenate(durs) if durs else np.empty(0, np.int64)),
            "cpu_usage": pa.array(np.concatenate(usage) if usage else np.empty(0)),
        }
    )
    paths = (folder / "tasks.parquet", folder / "fragments.parquet")
    for table, path in zip((tasks, fragments), paths, strict=True):
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)  # never a half file under the real name
    return paths
