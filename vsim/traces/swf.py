"""Reader for the Standard Workload Format (SWF) of the Parallel Workloads Archive.

Chapin, Cirne, Feitelson et al., "Benchmarks and Standards for the Evaluation of Parallel Job
Schedulers", JSSPP 1999; https://www.cs.huji.ac.il/labs/parallel/workload/swf.html. CloudSim
Plus and most HPC schedulers read it. One job per line, 18 whitespace-separated numbers, ``-1``
where unknown; lines starting with ``;`` are header comments::

     1 job number            7 used memory (KB per processor)   13 group id
     2 submit time (s)       8 requested processors             14 executable number
     3 wait time (s)         9 requested time (s)               15 queue number
     4 run time (s)         10 requested memory (KB per proc.)  16 partition number
     5 allocated processors 11 status (1 done, 0 failed, 5 cancelled...)
     6 average CPU time used (s, per processor)                 17 preceding job, 18 think time

A job is one guest with one vCPU per processor (allocated, else requested) and memory = used
(else requested) KB per processor x processors, absent when neither is known; or, with
``guest_cores``, several equal guests of at most that many vCPUs (the nodes it spans). It arrives at
its submit time (or its original start, submit + wait, with ``arrival="start"``) and leaves one
run time later; its CPU use is average CPU time / run time where field 6 is known. Jobs with an
unknown or zero run time or no processor count are dropped (counted). Fields 11-18 are dropped:
vsim has no users, queues or job dependencies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError
from vsim.traces.grid import KIB, open_bytes
from vsim.traces.specs import WHOLE_TRACE, GuestSpecs, TraceWindow, WorkloadTrace

__all__ = ["read_swf", "swf_frame"]

SWF_FIELDS = (
    "job",
    "submit_s",
    "wait_s",
    "run_s",
    "processors",
    "cpu_time_s",
    "memory_kb",
    "requested_processors",
    "requested_time_s",
    "requested_memory_kb",
    "status",
    "user",
    "group",
    "executable",
    "queue",
    "partition",
    "preceding_job",
    "think_time_s",
)


def swf_frame(path: str | Path) -> pd.DataFrame:
    """An SWF file as a table of its 18 fields (``-1`` kept: it means unknown), with the file's
    line of each job in ``line`` and the header comments in ``frame.attrs["header"]``."""
    path = Path(path)
    text = open_bytes(path).decode("utf-8", errors="replace")
    header, rows, lines = [], [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(";"):
            header.append(line.lstrip("; "))
            continue
        fields = line.split()
        if len(fields) != len(SWF_FIELDS):
            raise TraceError(
                f"{path}, line {lineno}: {len(fields)} fields, an SWF job line has 18 numbers "
                "separated by spaces (-1 where unknown); comments start with ';'"
            )
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            field = SWF_FIELDS[fields.index(bad)]
            raise TraceError(
                f"{path}, line {lineno}, field {fields.index(bad) + 1} ({field}): {bad!r} "
                "is not a number"
            ) from None
        lines.append(lineno)
    if not rows:
        raise TraceError(f"{path}: no job lines (only comments or blank lines)")
    frame = pd.DataFrame(np.array(rows), columns=list(SWF_FIELDS))
    frame.insert(0, "line", lines)
    frame.attrs["header"] = header
    return frame


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_swf(
    path: str | Path,
    *,
    window: TraceWindow = WHOLE_TRACE,
    arrival: str = "submit",
    limit: int | None = None,
    guest_cores: int | None = None,
    prefix: str = "",
) -> WorkloadTrace:
    """Read an SWF file into guests (one per job); see the module docstring for the mapping.

    ``guest_cores`` splits a job into ``ceil(processors / guest_cores)`` equal guests (the
    nodes a parallel job spans), each with its share of the processors and memory.
    """
    if arrival not in ("submit", "start"):
        raise ValueError(f"arrival must be 'submit' or 'start', got {arrival!r}")
    if guest_cores is not None and guest_cores < 1:
        raise ValueError(f"guest_cores must be at least 1, got {guest_cores!r}")
    jobs = swf_frame(path)
    procs = jobs["processors"].where(jobs["processors"] > 0, jobs["requested_processors"])
    arrive = jobs["submit_s"] + (jobs["wait_s"].clip(lower=0) if arrival == "start" else 0.0)
    leave = arrive + jobs["run_s"]
    unusable = ~(jobs["run_s"] > 0) | ~(procs > 0)
    lo = window.start
    hi = np.inf if window.end is None else window.end
    outside = (leave <= lo) | (arrive >= hi)
    dropped = {
        "no_run_time_or_processors": int(unusable.sum()),
        "outside_window": int((outside & ~unusable).sum()),
    }
    keep = (~unusable & ~outside).to_numpy()
    if limit is not None:
        over = np.flatnonzero(keep)[limit:]
        dropped["over_limit"] = int(over.size)
        keep[over] = False
    if not keep.any():
        raise TraceError(f"{path}: no job with a run time and processors inside the window")
    k = jobs[keep]
    procs, arrive, leave = procs[keep].to_numpy(), arrive[keep].to_numpy(), leave[keep].to_numpy()
    per_proc = k["memory_kb"].where(k["memory_kb"] > 0, k["requested_memory_kb"]).to_numpy()
    memory = None if not (per_proc > 0).all() else per_proc * KIB * procs
    cpu_time = k["cpu_time_s"].to_numpy()
    used = np.where(cpu_time >= 0, np.minimum(cpu_time / k["run_s"].to_numpy(), 1.0), np.nan)
    parts = np.ones(len(k), np.int64) if guest_cores is None else -(-procs // guest_cores)
    specs = GuestSpecs(
        names=tuple(f"{prefix}{int(j)}" for j in k["job"]),
        vcpus=(procs / parts).astype(np.float64),
        start=np.maximum(arrive - lo, 0.0),
        stop=np.where(leave >= hi, np.inf, leave - lo),
        memory=None if memory is None else memory / parts,
        count=None if guest_cores is None else parts.astype(np.int64),
        cpu_used=None if np.isnan(used).all() else used,
    )
    return WorkloadTrace(specs, None, dropped)
