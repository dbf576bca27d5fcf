"""Readers for two Alibaba cluster traces: cluster-trace-v2017 and cluster-trace-gpu-v2023.

**v2017** (github.com/alibaba/clusterdata, ``cluster-trace-v2017/schema.csv``), no header in the
official release (a header line is recognised and skipped)::

    batch_task:   task_create_time, task_end_time, job_id, task_id, number_of_instances,
                  status, cpus_requested_per_instance (100 = 1 core), memory_requested (0..1)
    server_event: timestamp, machine_id, event_type (add/softerror/harderror), event_detail,
                  cpu (cores), memory (0..1), disk (0..1)

Times are seconds from the trace's start; a create time of 0 or less means before it. Memory is
normalized to the largest machine: a scenario states how many bytes 1.0 is (``memory_scale``);
without it there is no memory size (never an invented one).

**gpu-v2023 "openb"** (``cluster-trace-gpu-v2023/csv``), with headers::

    nodes: sn, cpu_milli, memory_mib, gpu, model
    pods:  name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
           creation_time, deletion_time, scheduled_time

These are requests and lifetimes, with no usage series. vsim has no GPUs: the GPU columns are
kept in the tidy frames and dropped from guests and hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError
from vsim.traces.grid import open_bytes, read_table
from vsim.traces.specs import WHOLE_TRACE, GuestSpecs, HostSpecs, TraceWindow, WorkloadTrace

__all__ = [
    "alibaba2017_machines",
    "alibaba2017_tasks_frame",
    "openb_nodes",
    "openb_nodes_frame",
    "openb_pods_frame",
    "read_alibaba2017_tasks",
    "read_openb_pods",
    "server_events_frame",
]

BATCH_TASK_COLUMNS = (
    "create_s",
    "end_s",
    "job_id",
    "task_id",
    "instances",
    "status",
    "cpus_per_instance",
    "memory_per_instance",
)
SERVER_EVENT_COLUMNS = ("time_s", "machine_id", "event", "detail", "cores", "memory", "disk")
TASK_STATUSES = ("Terminated", "Failed", "Running", "Waiting")
NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "creation_time", "deletion_time")
MIB = 2.0**20


def _read_csv(path: Path, names: Sequence[str], numeric: Sequence[str]) -> pd.DataFrame:
    """A headerless (or headered: a non-numeric first field) CSV with these column names."""
    data = open_bytes(Path(path))
    first = data.split(b"\n", 1)[0].split(b",", 1)[0].strip()
    has_header = bool(first) and not first.lstrip(b"-").replace(b".", b"").isdigit()
    _check_field_counts(path, data, len(names))
    frame = read_table(
        path,
        header=None,
        names=list(names),
        skiprows=1 if has_header else 0,
        skipinitialspace=True,
        dtype=str,
        keep_default_na=False,
    )
    offset = 2 if has_header else 1  # file line of row 0
    for c in numeric:
        text = frame[c].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise TraceError(
                f"{path}, line {row + offset}, field {c!r}: {text.iloc[row]!r} is not a number"
            )
        frame[c] = values.astype(np.float64)
    frame.attrs["first_line"] = offset
    return frame


def _check_field_counts(path: Path, data: bytes, expected: int) -> None:
    """pandas pads a short row with empty fields; a truncated line must be an error instead."""
    for lineno, line in enumerate(data.splitlines(), start=1):
        if line.strip() and line.count(b",") != expected - 1:
            raise TraceError(
                f"{path}, line {lineno}: {line.count(b',') + 1} fields, expected {expected} "
                "separated by ',' (is the file truncated?)"
            )


def alibaba2017_tasks_frame(path: str | Path) -> pd.DataFrame:
    """``batch_task.csv[.gz]`` as a table: ``create_s, end_s, job_id, task_id, instances,
    status, cpus_per_instance`` (cores: the file's 100 is 1 core), ``memory_per_instance``
    (normalized, 0..1). Empty request fields are NaN."""
    numeric = [c for c in BATCH_TASK_COLUMNS if c != "status"]
    frame = _read_csv(Path(path), BATCH_TASK_COLUMNS, numeric)
    frame["cpus_per_instance"] = frame["cpus_per_instance"] / 100.0
    unknown = ~frame["status"].isin(TASK_STATUSES)
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise TraceError(
            f"{path}, line {row + frame.attrs['first_line']}, field 'status': "
            f"{frame['status'].iloc[row]!r}; allowed: {', '.join(TASK_STATUSES)}"
        )
    return frame


def read_alibaba2017_tasks(
    path: str | Path,
    *,
    window: TraceWindow = WHOLE_TRACE,
    statuses: Sequence[str] = TASK_STATUSES,
    memory_scale: float | None = None,
    instances: str = "each",
    limit: int | None = None,
    prefix: str = "",
) -> WorkloadTrace:
    """Batch tasks as guests: one group of ``instances`` guests per task, or one guest per task
    (``instances="one"``), each with the task's per-instance request, living from create to end.

    Tasks without a CPU request (empty fields, as for most ``Waiting`` tasks), whose end is not
    after their create time, or outside the window are dropped and counted in ``dropped``.
    ``memory_scale`` is the bytes that a normalized memory of 1.0 stands for.
    """
    if instances not in ("each", "one"):
        raise ValueError(f"instances must be 'each' or 'one', got {instances!r}")
    tasks = alibaba2017_tasks_frame(path)
    no_request = tasks["cpus_per_instance"].isna() | ~(tasks["cpus_per_instance"] > 0)
    backwards = tasks["end_s"] <= tasks["create_s"]
    other = ~tasks["status"].isin(list(statuses))
    lo = window.start
    hi = np.inf if window.end is None else window.end
    outside = (tasks["end_s"] <= lo) | (tasks["create_s"] >= hi)
    dropped = {
        "no_cpu_request": int(no_request.sum()),
        "end_not_after_create": int((backwards & ~no_request).sum()),
        "status_not_chosen": int((other & ~no_request & ~backwards).sum()),
        "outside_window": int((outside & ~(no_request | backwards | other)).sum()),
    }
    kept = tasks[~(no_request | backwards | other | outside)].sort_values(
        ["create_s", "task_id"], kind="stable"
    )
    if limit is not None:
        dropped["over_limit"] = max(0, len(kept) - limit)
        kept = kept.head(limit)
    start = np.maximum(kept["create_s"].to_numpy() - lo, 0.0)
    stop = np.where(kept["end_s"].to_numpy() >= hi, np.inf, kept["end_s"].to_numpy() - lo)
    mem = kept["memory_per_instance"].to_numpy()
    count = kept["instances"].to_numpy().astype(np.int64) if instances == "each" else None
    specs = GuestSpecs(
        names=tuple(f"{prefix}{int(t)}" for t in kept["task_id"]),
        vcpus=kept["cpus_per_instance"].to_numpy(),
        start=start,
        stop=stop,
        memory=None if memory_scale is None else np.nan_to_num(mem) * memory_scale,
        count=None if count is None else np.maximum(count, 1),
    )
    return WorkloadTrace(specs, None, dropped)


def server_events_frame(path: str | Path) -> pd.DataFrame:
    """``server_event.csv`` as ``time_s, machine_id, event, detail, cores, memory, disk``
    (memory and disk normalized 0..1; the capacity fields are 0 on error events)."""
    numeric = ("time_s", "machine_id", "cores", "memory", "disk")
    frame = _read_csv(Path(path), SERVER_EVENT_COLUMNS, numeric)
    known = frame["event"].isin(["add", "softerror", "harderror", "remove"])
    if not known.all():
        row = int(np.argmax(~known.to_numpy()))
        raise TraceError(
            f"{path}, line {row + frame.attrs['first_line']}, field 'event': "
            f"{frame['event'].iloc[row]!r}; allowed: add, softerror, harderror, remove"
        )
    frame["machine_id"] = frame["machine_id"].astype(np.int64)
    return frame


def alibaba2017_machines(path: str | Path, *, memory_scale: float | None = None) -> HostSpecs:
    """The machines a ``server_event`` file adds, in id order (the last ``add`` of each)."""
    events = server_events_frame(path)
    adds = events[events["event"] == "add"].drop_duplicates("machine_id", keep="last")
    adds = adds.sort_values("machine_id")
    if adds.empty:
        raise TraceError(f"{path}: no 'add' event, so no machine")
    mem = adds["memory"].to_numpy()
    return HostSpecs(
        names=tuple(str(m) for m in adds["machine_id"]),
        cores=adds["cores"].to_numpy(),
        memory=None if memory_scale is None else mem * memory_scale,
    )


def openb_nodes_frame(path: str | Path) -> pd.DataFrame:
    """``openb_node_list_*.csv`` as it is: ``sn, cpu_milli, memory_mib, gpu, model``."""
    return _read_headered(Path(path), NODE_COLUMNS, ("cpu_milli", "memory_mib"))


def openb_nodes(path: str | Path) -> HostSpecs:
    """openb nodes as machines: ``cpu_milli / 1000`` cores, ``memory_mib`` MiB (GPUs dropped)."""
    nodes = openb_nodes_frame(path)
    return HostSpecs(
        names=tuple(nodes["sn"].astype(str)),
        cores=nodes["cpu_milli"].to_numpy(np.float64) / 1000.0,
        memory=nodes["memory_mib"].to_numpy(np.float64) * MIB,
    )


def openb_pods_frame(path: str | Path) -> pd.DataFrame:
    """``openb_pod_list_*.csv`` as it is (times in seconds from the trace's start)."""
    return _read_headered(
        Path(path), POD_COLUMNS, ("cpu_milli", "memory_mib", "creation_time", "deletion_time")
    )


def read_openb_pods(
    path: str | Path,
    *,
    window: TraceWindow = WHOLE_TRACE,
    gpu_pods: bool = True,
    limit: int | None = None,
    prefix: str = "",
) -> WorkloadTrace:
    """openb pods as guests: ``cpu_milli / 1000`` vCPUs, ``memory_mib`` MiB, living from
    ``creation_time`` to ``deletion_time``. ``gpu_pods=False`` leaves out pods that request a
    GPU (their CPU and memory requests are kept otherwise; vsim has no GPUs)."""
    pods = openb_pods_frame(path)
    lo = window.start
    hi = np.inf if window.end is None else window.end
    backwards = pods["deletion_time"] <= pods["creation_time"]
    gpu = (pods["num_gpu"].astype(float) > 0) if "num_gpu" in pods else pd.Series(False, pods.index)
    skip_gpu = gpu & (not gpu_pods)
    outside = (pods["deletion_time"] <= lo) | (pods["creation_time"] >= hi)
    dropped = {
        "deletion_not_after_creation": int(backwards.sum()),
        "gpu_pods": int((skip_gpu & ~backwards).sum()),
        "outside_window": int((outside & ~backwards & ~skip_gpu).sum()),
    }
    kept = pods[~(backwards | skip_gpu | outside)].sort_values("creation_time", kind="stable")
    if limit is not None:
        dropped["over_limit"] = max(0, len(kept) - limit)
        kept = kept.head(limit)
    end = kept["deletion_time"].to_numpy(np.float64)
    specs = GuestSpecs(
        names=tuple(f"{prefix}{n}" for n in kept["name"]),
        vcpus=kept["cpu_milli"].to_numpy(np.float64) / 1000.0,
        memory=kept["memory_mib"].to_numpy(np.float64) * MIB,
        start=np.maximum(kept["creation_time"].to_numpy(np.float64) - lo, 0.0),
        stop=np.where(end >= hi, np.inf, end - lo),
    )
    return WorkloadTrace(specs, None, dropped)


def _read_headered(path: Path, required: Sequence[str], numeric: Sequence[str]) -> pd.DataFrame:
    frame = read_table(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise TraceError(
            f"{path}, line 1: missing column(s) {missing}; header has {list(frame.columns)}"
        )
    for c in numeric:
        values = pd.to_numeric(frame[c], errors="coerce")
        if values.isna().any():
            row = int(np.argmax(values.isna().to_numpy()))
            raise TraceError(
                f"{path}, line {row + 2}, column {c!r}: {frame[c].iloc[row]!r} is not a number"
            )
        if (values < 0).any():
            row = int(np.argmax((values < 0).to_numpy()))
            raise TraceError(
                f"{path}, line {row + 2}, column {c!r}: {float(values.iloc[row]):g} < 0"
            )
        frame[c] = values.astype(np.float64)
    return frame
