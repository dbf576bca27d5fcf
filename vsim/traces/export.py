"""A run's guest series written as traces others read: OpenDC Parquet and vsim's own CSV.

The series are a result's per-guest samples (``guests.parquet``): ``demand`` is what each guest
asked for (``cpu_demand_mips``), ``utilization`` what it got (``cpu_alloc_mips``). CPU becomes a
fraction of the guest's vCPUs x MIPS, memory a fraction of its memory; disk and network stay in
bytes/s. Sample rows carry the end of their interval (``time_s``); a trace row carries the
start, so the written times are ``time_s - sample_interval``.

* **vsim CSV** (``time, guest, cpu, memory, disk, net``): every guest at every sample, so
  :func:`vsim.traces.read_csv_trace` reads back the same matrix.
* **OpenDC** (``tasks.parquet`` + ``fragments.parquet``, :func:`vsim.traces.write_opendc`): a
  task per guest that ever held a host, living from its first such sample to its last, its
  fragments the CPU series within that life. OpenDC has no memory, disk or network series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.opendc import write_opendc

__all__ = ["export_run", "run_series"]

Series = Literal["demand", "utilization"]
CPU_COLUMN = {"demand": "cpu_demand_mips", "utilization": "cpu_alloc_mips"}
ALIVE = ("booting", "running", "paused")  # states in which a guest holds a host


def run_series(result, series: Series = "demand") -> tuple[UtilizationTrace, pd.DataFrame]:
    """A result's guests as a trace (fractions of each guest's size) and a table of the guests:
    ``guest, vcpus, vcpu_mips, memory, start_s, stop_s`` (``start_s`` NaN: never on a host)."""
    if series not in CPU_COLUMN:
        raise ValueError(f"series must be 'demand' or 'utilization', got {series!r}")
    g = result.guests
    if g.empty:
        raise TraceError("the result has no per-guest samples (output.guests was false?)")
    sizes = _guest_sizes(result.manifest["scenario"])
    interval = float(result.manifest["scenario"]["sample_interval"])
    times = np.sort(g["time_s"].unique())
    names = sizes.index.to_numpy()

    def grid(column: str) -> np.ndarray:
        table = g.pivot_table(index="guest", columns="time_s", values=column, observed=False)
        return table.reindex(index=names, columns=times).fillna(0.0).to_numpy()

    capacity = (sizes["vcpus"] * sizes["vcpu_mips"]).to_numpy()[:, None]
    trace = UtilizationTrace(
        names=tuple(names),
        times=np.maximum(times - interval, 0.0),
        cpu=grid(CPU_COLUMN[series]) / capacity,
        memory=np.minimum(grid("mem_bytes") / sizes["memory"].to_numpy()[:, None], 1.0),
        disk=grid("disk_bps"),
        net=grid("net_bps"),
    )
    alive = g[g["state"].astype(str).isin(ALIVE)].groupby("guest", observed=True)["time_s"]
    sizes["start_s"] = (alive.min() - interval).reindex(names).to_numpy()
    sizes["stop_s"] = alive.max().reindex(names).to_numpy()
    return trace, sizes.reset_index()


def _guest_sizes(scenario: dict) -> pd.DataFrame:
    rows = []
    for group in scenario["guests"]:
        count = int(group.get("count", 1))
        names = [group["name"]] if count == 1 else [f"{group['name']}-{i}" for i in range(count)]
        for n in names:
            rows.append((n, group["vcpus"], group["vcpu_mips"], group["memory"]))
    return pd.DataFrame(rows, columns=["guest", "vcpus", "vcpu_mips", "memory"]).set_index("guest")


def export_run(
    result,
    out: str | Path,
    *,
    to: Literal["opendc", "csv"],
    series: Series = "demand",
) -> list[Path]:
    """Write a result's guest series as an OpenDC workload folder or a vsim CSV file.

    ``out`` is the folder for ``opendc`` and the file for ``csv``. Returns the paths written
    (each written under a temporary name, then renamed).
    """
    trace, guests = run_series(result, series)
    out = Path(out)
    if to == "csv":
        return [_write_csv(trace, out)]
    if to != "opendc":
        raise ValueError(f"to must be 'opendc' or 'csv', got {to!r}")
    lived = guests["start_s"].notna().to_numpy()
    kept = trace.select(np.flatnonzero(lived))
    g = guests[lived]
    return list(
        write_opendc(
            out,
            kept,
            vcpus=g["vcpus"].to_numpy(),
            vcpu_mhz=g["vcpu_mips"].to_numpy(),
            memory=g["memory"].to_numpy(),
            start=g["start_s"].to_numpy(),
            stop=g["stop_s"].to_numpy(),
        )
    )


def _write_csv(trace: UtilizationTrace, path: Path) -> Path:
    n, m = trace.cpu.shape
    frame = pd.DataFrame(
        {
            "time": np.tile(trace.times, n),
            "guest": np.repeat(np.array(trace.names, dtype=object), m),
            "cpu": trace.cpu.ravel(),
            "memory": trace.memory.ravel(),
            "disk": trace.disk.ravel(),
            "net": trace.net.ravel(),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    frame.to_csv(tmp, index=False, float_format="%.17g")  # 17 digits: floats read back exactly
    tmp.replace(path)
    return path
