"""How much memory a run will need, estimated from the scenario's counts alone.

Validation calls :func:`check_memory` before it builds any list of host or guest names, so a
``count: 1000000000000`` is refused in microseconds instead of filling the machine. The
estimate is arithmetic on counts, durations and rates; it never allocates what it counts.

The per-item figures below are deliberately round upper estimates of vsim's own data
structures, not measurements of a particular machine: a run's sample arrays hold one float64 per
column, sample and entity (:mod:`vsim.metrics.recorder`), and turning them into tidy tables at
the end holds them about three times over (the arrays, the long frame, its Parquet encoding).
"""

from __future__ import annotations

import math
from typing import Any

#: Python objects of one host and one guest in the engine (records, dicts, SimPy state).
HOST_OBJECT_BYTES = 4096
GUEST_OBJECT_BYTES = 4096
#: Per sample: host columns (6 float64 + state), guest columns (7 float64 + host + state).
HOST_SAMPLE_BYTES = 6 * 8 + 1
GUEST_SAMPLE_BYTES = 7 * 8 + 4 + 1
#: One recorded request: its row in the requests table and the objects behind it.
REQUEST_BYTES = 256
#: Arrays, tidy frame and file encoding of the samples live at once while results are written.
TABLE_COPIES = 3
#: The memory of the interpreter, NumPy, pandas and SimPy themselves.
BASE_BYTES = 200 * 2**20

GiB = 2**30


def available_memory() -> int:
    """Bytes the machine can give a new process now (psutil's ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def estimate_memory(sc: Any) -> dict[str, float]:
    """Bytes a run of scenario ``sc`` needs, by part: ``hosts``, ``guests``, ``host samples``,
    ``guest samples`` and ``requests``. Works on a scenario whose names were never built."""
    n_hosts = sum(h.count for h in sc.datacenter.host_types)
    n_guests = sum(g.count for g in sc.guests)
    samples = math.floor(sc.duration / sc.sample_interval) + 1
    guest_samples = samples * n_guests * GUEST_SAMPLE_BYTES if sc.output.guests else 0.0
    return {
        "hosts": float(n_hosts * HOST_OBJECT_BYTES),
        "guests": float(n_guests * GUEST_OBJECT_BYTES),
        "host samples": float(samples * n_hosts * HOST_SAMPLE_BYTES * TABLE_COPIES),
        "guest samples": float(guest_samples * TABLE_COPIES),
        "requests": _request_bytes(sc),
    }


def _request_bytes(sc: Any) -> float:
    """Recorded requests: arrival rate x guests x duration x the share recorded."""
    total = 0.0
    for g in sc.guests:
        wl = sc.workloads.get(g.workload) if g.workload is not None else None
        arrivals = getattr(wl, "arrivals", None)
        if arrivals is None or getattr(wl, "mode", "requests") != "requests":
            continue
        rate = arrivals.mean_rate()
        if math.isfinite(rate):
            total += rate * g.count * sc.duration * wl.record * REQUEST_BYTES
    return total


#: Which scenario knob lowers each part of the estimate.
KNOBS = {
    "hosts": "datacenter.host_types[].count",
    "guests": "guests[].count",
    "host samples": "sample_interval (longer) or duration (shorter)",
    "guest samples": "sample_interval (longer), or output.guests: false",
    "requests": "workloads.<service>.record (a share below 1), or the arrival rate",
}


def check_memory(sc: Any, limit: float | None) -> None:
    """Raise ``ValueError`` naming the largest part and its knob when the estimate exceeds
    ``limit`` bytes (``None``: the machine's available memory)."""
    parts = estimate_memory(sc)
    total = sum(parts.values()) + BASE_BYTES
    limit = available_memory() if limit is None else limit
    if total <= limit:
        return
    worst = max(parts, key=parts.__getitem__)
    detail = ", ".join(f"{k} {v / GiB:.3g}" for k, v in parts.items() if v >= total / 100)
    raise ValueError(
        f"the run would need about {total / GiB:.3g} GiB of memory ({detail} GiB), more than "
        f"the limit of {limit / GiB:.3g} GiB; most goes to {worst}: lower it with {KNOBS[worst]}, "
        "or raise the limit with --memory-limit"
    )
