"""Reader for the Bitbrains GWA-T-12 traces (fastStorage and Rnd) of the Grid Workloads Archive.

Shen, van Beek & Iosup, "Statistical Characterization of Business-Critical Workloads Hosted in
Cloud Datacenters", CCGrid 2015. A folder holds one file per VM, ``<vm id>.csv`` or
``<vm id>.csv.gz``, separated by semicolon and TAB (``;\\t``), one header line, 11 columns::

    Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ]; CPU usage [%];
    Memory capacity provisioned [KB]; Memory usage [KB]; Disk read throughput [KB/s];
    Disk write throughput [KB/s]; Network received throughput [KB/s];
    Network transmitted throughput [KB/s]

Caveats, and what vsim does about them:

* The timestamps are Unix **seconds** despite the ``[ms]`` header. Values above 1e11 (a date
  past the year 5000 in seconds) are taken as real milliseconds and divided by 1000.
* Samples come about every 300 s, with shorter gaps; each VM has its own clock. A row holds
  until the next row of its VM, the last row for one median step.
* KB is KiB (a memory capacity of 8388608 KB is exactly 8 GiB); throughputs are KiB/s too.
* Provisioned cores, capacity and memory may change during the month; the guest gets one size
  (``size``: the largest, first or last seen) and demand is scaled so that MHz, bytes and
  bytes/s of the trace are kept exactly.
* Rows with 0 CPU cores (all zeros: the VM is not provisioned then; 74 of the 500 Rnd VMs of
  July 2013 have such rows, often with repeated timestamps) are dropped; a VM lives from its
  first provisioned row to one step after its last. A row repeating its predecessor's
  timestamp (6,343 in VM 340) has no duration and is dropped too.
* ``CPU usage [%]`` is dropped: it is ``usage / capacity``, and vsim recomputes the fraction
  against the guest's size.

Parsing 455 MB of CSV takes seconds; each file's parsed rows are kept as LZ4-compressed Arrow
in the cache folder (:func:`vsim.traces.grid.cache_file`: ``$VSIM_CACHE``, else
``~/.cache/vsim``; ``VSIM_CACHE=off`` for none), so later reads of an unchanged file skip the
parse. Files are parsed, and then each VM put on the grid, in two threads.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather

from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.grid import KIB, cache_file, grid_edges, grid_means, lifetimes, open_bytes
from vsim.traces.specs import WHOLE_TRACE, GuestSpecs, TraceWindow, WorkloadTrace

__all__ = ["bitbrains_frame", "read_bitbrains"]

# The frame's columns, in the file's column order, and the header words that identify each.
COLUMNS = (
    ("time_s", "timestamp"),
    ("cores", "cpu cores"),
    ("cpu_capacity_mhz", "cpu capacity provisioned"),
    ("cpu_usage_mhz", "cpu usage [mhz"),
    ("cpu_usage_pct", "cpu usage [%"),
    ("memory_capacity_bytes", "memory capacity provisioned"),
    ("memory_usage_bytes", "memory usage"),
    ("disk_read_bps", "disk read"),
    ("disk_write_bps", "disk write"),
    ("net_rx_bps", "network received"),
    ("net_tx_bps", "network transmitted"),
)
_KIB_COLUMNS = (5, 6, 7, 8, 9, 10)  # KB and KB/s in the file, bytes and bytes/s in vsim
_MS_THRESHOLD = 1e11  # a timestamp above this is in milliseconds (see the module docstring)
CACHE_TAG = "bitbrains-v2"  # bump when _parse_csv or the cache format changes

Size = Literal["max", "first", "last"]


def bitbrains_frame(folder: str | Path, *, vms: int | Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of a Bitbrains folder as one tidy table, units converted, nothing resampled.

    Columns: ``vm`` (categorical, the file's id), ``time_s`` (Unix seconds), ``cores``,
    ``cpu_capacity_mhz``, ``cpu_usage_mhz``, ``cpu_usage_pct``, ``memory_capacity_bytes``,
    ``memory_usage_bytes``, ``disk_read_bps``, ``disk_write_bps``, ``net_rx_bps``,
    ``net_tx_bps`` (bytes and bytes/s: the file's KB are KiB). ``vms`` as in
    :func:`read_bitbrains`.
    """
    ids, code, cols = _parse_folder(Path(folder), vms)
    frame = pd.DataFrame(cols)
    frame.insert(0, "vm", pd.Categorical.from_codes(code, categories=list(ids)))
    return frame


def read_bitbrains(
    folder: str | Path,
    *,
    vms: int | Sequence[str] | None = None,
    window: TraceWindow = WHOLE_TRACE,
    interval_s: float = 300.0,
    size: Size = "max",
    prefix: str = "",
) -> WorkloadTrace:
    """Read a Bitbrains GWA-T-12 folder into guests and their CPU, memory, disk, net demand.

    Args:
        folder: folder of ``<vm id>.csv[.gz]`` files.
        vms: the first ``n`` VMs in id order (numeric ids sort as numbers), or a list of ids.
        window: the part of the trace to use, from its first timestamp (over the VMs read).
        interval_s: grid step; each grid value is the exact time-weighted mean of the rows.
        size: which provisioned size a guest gets when it changes: ``max``, ``first``, ``last``.
        prefix: put before each VM id to name its guest.

    Returns:
        Guests sized by the trace (cores, MHz per core, memory) arriving when their VM's first
        row falls in the window and leaving after its last, and demand: ``cpu`` = usage MHz /
        (cores x MHz per core), ``memory`` = memory usage / memory size, ``disk`` = read +
        write, ``net`` = received + transmitted, bytes/s. VMs with no row in the window are
        dropped (``dropped["outside_window"]``). Memory use above the guest's size (the trace
        has some) is cut to the size; ``dropped["memory_samples_above_size"]`` counts them.

    Raises:
        TraceError: the folder has no trace files, a file is not gzip or CSV, a header is not
            the Bitbrains one, a line has the wrong number of fields or a non-number, or a
            value is negative; the message names the file and line.
    """
    pairs = _vm_files(Path(folder), vms)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        tables = list(pool.map(_parse_file, (p for _, p in pairs)))
        vm = [_VmRows(t, size) for t in tables]
        del tables  # each VM's rows live in its _VmRows now: one copy of the rows
        ends = np.array([v.end for v in vm])
        t0 = min(v.first for v in vm)
        t_lo = t0 + window.start
        t_hi = ends.max() if window.end is None else min(t0 + window.end, ends.max())
        edges = grid_edges(t_lo, t_hi, interval_s)
        # Each VM on the grid in a worker too: its rows are small, so the work stays in cache.
        grids = list(pool.map(lambda v: v.grid(edges), vm))
    first = np.array([v.first for v in vm])
    inside = (first < t_hi) & (ends > t_lo)
    start, stop = lifetimes(first, ends, t_lo, t_hi)
    keep = np.flatnonzero(inside)
    names = tuple(f"{prefix}{pairs[i][0]}" for i in keep)
    sizes = {k: np.array([vm[i].size[k] for i in keep]) for k in _SIZE_COLUMNS}
    specs = GuestSpecs(
        names=names,
        vcpus=sizes["cores"],
        vcpu_mhz=sizes["cpu_capacity_mhz"] / sizes["cores"],
        memory=sizes["memory_capacity_bytes"],
        start=start[keep],
        stop=stop[keep],
    )
    grid = {k: _stack([grids[i][k] for i in keep], edges.size - 1) for k in _DEMANDS}
    memory = grid["memory"]
    over = int(np.count_nonzero(memory > 1.0))
    np.minimum(memory, 1.0, out=memory)  # a guest cannot use more memory than it has
    demand = UtilizationTrace(
        names=names,
        times=edges[:-1] - t_lo,
        cpu=grid["cpu"],
        memory=memory,
        disk=grid["disk"],
        net=grid["net"],
    )
    dropped = {"outside_window": int(len(pairs) - keep.size), "memory_samples_above_size": over}
    return WorkloadTrace(specs, demand, dropped)


# pyarrow, igzip and NumPy release the GIL: two threads use both cores of a small machine.
_THREADS = 2
_SIZE_COLUMNS = ("cores", "cpu_capacity_mhz", "memory_capacity_bytes")
_DEMANDS = ("cpu", "memory", "disk", "net")


def _stack(rows: list[np.ndarray], bins: int) -> np.ndarray:
    return np.stack(rows) if rows else np.empty((0, bins))


class _VmRows:
    """One VM's rows: its provisioned size, its span, and its demand per row."""

    def __init__(self, table: list[np.ndarray], size: Size):
        cols = {name: table[j] for j, (name, _) in enumerate(COLUMNS)}
        self.size = _sizes(cols, size)
        t = cols["time_s"]
        self.times = t
        self.first = float(t[0])
        steps = np.diff(t)
        # The last row holds for the VM's median step (300 s when it has one row).
        self.end = float(t[-1]) + (float(np.median(steps)) if steps.size else 300.0)
        self.demand = _demand_per_row(cols, self.size)

    def grid(self, edges: np.ndarray) -> dict[str, np.ndarray]:
        """Time-weighted means of its demand over each grid interval."""
        series = np.zeros(self.times.size, dtype=np.int64)
        means = grid_means(series, self.times, np.array([self.end]), self.demand, edges)
        return {k: v[0] for k, v in means.items()}


def _demand_per_row(cols: dict, sizes: dict) -> dict[str, np.ndarray]:
    capacity = sizes["cpu_capacity_mhz"]
    memory = sizes["memory_capacity_bytes"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cpu = cols["cpu_usage_mhz"] / capacity if capacity > 0 else np.zeros_like(cols["time_s"])
        mem = cols["memory_usage_bytes"] / memory if memory > 0 else np.zeros_like(cols["time_s"])
    return {
        "cpu": cpu,
        "memory": mem,
        "disk": cols["disk_read_bps"] + cols["disk_write_bps"],
        "net": cols["net_rx_bps"] + cols["net_tx_bps"],
    }


def _sizes(cols: dict, size: Size) -> dict[str, float]:
    """The VM's one provisioned size: the largest, first or last of its rows."""
    if size not in ("max", "first", "last"):
        raise ValueError(f"size must be 'max', 'first' or 'last', got {size!r}")
    pick = {"max": np.max, "first": lambda v: v[0], "last": lambda v: v[-1]}[size]
    return {name: float(pick(cols[name])) for name in _SIZE_COLUMNS}


def _vm_files(folder: Path, vms: int | Sequence[str] | None) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise TraceError(f"{folder}: not a folder; expected a Bitbrains folder of <vm>.csv.gz")
    files = {}
    for p in folder.iterdir():
        for suffix in (".csv.gz", ".csv"):
            if p.name.endswith(suffix) and not p.name.startswith("."):
                files[p.name[: -len(suffix)]] = p
    if not files:
        raise TraceError(f"{folder}: no <vm id>.csv or .csv.gz files found")
    ids = sorted(files, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    if vms is None:
        pass
    elif isinstance(vms, int):
        if vms < 1:
            raise ValueError(f"vms must be at least 1, got {vms}")
        ids = ids[:vms]
    else:
        missing = [v for v in map(str, vms) if v not in files]
        if missing:
            raise TraceError(f"{folder}: no file for VM id(s) {missing[:5]}")
        ids = [str(v) for v in vms]
    return [(i, files[i]) for i in ids]


def _parse_folder(folder: Path, vms: int | Sequence[str] | None):
    """VM ids, the VM code of each row, and the frame's columns as float64 arrays."""
    pairs = _vm_files(folder, vms)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        tables = list(pool.map(_parse_file, (p for _, p in pairs)))
    lengths = np.array([t[0].size for t in tables])
    code = np.repeat(np.arange(len(pairs)), lengths)
    cols = {}
    for j, (name, _) in enumerate(COLUMNS):
        cols[name] = np.concatenate([t[j] for t in tables])
        for t in tables:  # free each file's column once it is in the concatenation
            t[j] = None
    return tuple(i for i, _ in pairs), code, cols


def _parse_file(path: Path) -> list[np.ndarray]:
    """The file's columns (rows kept, units converted), from the cache when it has them."""
    cached = cache_file(path, CACHE_TAG, ".arrow")
    if cached is not None and cached.is_file():
        try:
            # Arrow IPC with LZ4 reads about 3x faster than Parquet (no page decoding), in
            # about a third more space (68 MB against 51 MB for the 500 Rnd VMs).
            table = feather.read_table(cached)
            return [table.column(j).to_numpy() for j in range(len(COLUMNS))]
        except (OSError, pa.ArrowInvalid):
            pass  # a damaged cache entry: parse the file again
    arrays = _parse_csv(path)
    if cached is not None:
        _keep(cached, arrays)
    return arrays


def _keep(cached: Path, arrays: list[np.ndarray]) -> None:
    """Write a cache entry; a cache that cannot be written only costs speed."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        names = [c for c, _ in COLUMNS]
        table = pa.table(dict(zip(names, arrays, strict=True)))
        feather.write_feather(table, tmp, compression="lz4")
        tmp.replace(cached)
    except OSError:
        pass


def _parse_csv(path: Path) -> list[np.ndarray]:
    data = open_bytes(path)
    header, _, body = data.partition(b"\n")
    _check_header(path, header)
    if not body or body.isspace():
        raise TraceError(f"{path}: no data rows after the header")
    names = [c for c, _ in COLUMNS]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())),
        )
    except pa.ArrowInvalid:
        raise _first_bad_line(path, body) from None
    arrays = [table.column(j).to_numpy() for j in range(len(names))]
    for j, a in enumerate(arrays):
        if np.isnan(a).any() or (a < 0).any():
            line = int(np.argmax(np.isnan(a) | (a < 0))) + 2
            what = "is empty" if np.isnan(a[line - 2]) else f"is negative ({float(a[line - 2]):g})"
            raise TraceError(f"{path}, line {line}, field {j + 1} ({COLUMNS[j][0]}): {what}")
    if np.median(arrays[0]) > _MS_THRESHOLD:
        arrays[0] = arrays[0] / 1000.0
    t = arrays[0]
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        raise TraceError(f"{path}, line {int(back[0]) + 3}: timestamp goes back in time")
    # A row repeating the previous timestamp has no duration of its own (the first one holds).
    keep = (arrays[1] > 0) & np.concatenate(([True], np.diff(t) > 0))
    if not keep.any():
        raise TraceError(f"{path}: every row has 0 CPU cores; the VM is never provisioned")
    if not keep.all():
        arrays = [a[keep] for a in arrays]
    for j in _KIB_COLUMNS:
        arrays[j] = arrays[j] * KIB
    return arrays


def _check_header(path: Path, header: bytes) -> None:
    fields = [f.strip().lower() for f in header.decode("utf-8", "replace").split(";")]
    if len(fields) != len(COLUMNS) or any(
        not f.startswith(word) for f, (_, word) in zip(fields, COLUMNS, strict=False)
    ):
        raise TraceError(
            f"{path}, line 1: not a Bitbrains GWA-T-12 header; expected 11 ';'-separated "
            f"columns 'Timestamp [ms]; CPU cores; ...; Network transmitted throughput [KB/s]'"
        )


def _first_bad_line(path: Path, body: bytes) -> TraceError:
    """The slow scan, only after pyarrow refused: which line, which field, and why."""
    for lineno, raw in enumerate(io.BytesIO(body), start=2):
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            continue
        fields = text.split(";")
        if len(fields) != len(COLUMNS):
            return TraceError(
                f"{path}, line {lineno}: {len(fields)} fields, expected {len(COLUMNS)} "
                "separated by ';' (is the file truncated?)"
            )
        for j, f in enumerate(fields):
            try:
                float(f)
            except ValueError:
                return TraceError(
                    f"{path}, line {lineno}, field {j + 1} ({COLUMNS[j][0]}): "
                    f"{f.strip()!r} is not a number"
                )
    return TraceError(f"{path}: not a valid Bitbrains CSV file")
