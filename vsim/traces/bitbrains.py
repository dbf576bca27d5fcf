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
parse. A thread per core (up to 8) takes one file at a time: inflate (isal), parse (pyarrow, the
columns in use only: :func:`read_bitbrains` skips ``CPU usage [%]``, and so does not check it),
check, and reduce to the VM's rows; then each VM is put on the grid
(:func:`vsim.traces.grid.grid_series`) into its row of the result, so the trace is held once.
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
from vsim.traces.grid import KIB, cache_file, grid_edges, grid_series, lifetimes, open_bytes
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
# KB and KB/s in the file, bytes and bytes/s in vsim
_KIB_COLUMNS = frozenset(name for name, _ in COLUMNS[5:])
_MS_THRESHOLD = 1e11  # a timestamp above this is in milliseconds (see the module docstring)
CACHE_TAG = "bitbrains-v3"  # bump when _parse_csv or the cache format changes

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
            the Bitbrains one, a line has the wrong number of fields, or a non-number or a
            negative value in a column it reads (all but ``CPU usage [%]``, which
            :func:`bitbrains_frame` reads and checks); the message names the file and line.
    """
    if size not in _PICK:
        raise ValueError(f"size must be 'max', 'first' or 'last', got {size!r}")
    pairs = _vm_files(Path(folder), vms)
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        # Each file parsed and reduced to its VM's rows in a worker, so only the rows vsim uses
        # are kept: one copy of the trace, never the file's columns and the rows at once.
        vm = list(pool.map(lambda p: _VmRows(_parse_file(p, _READ_COLUMNS), size), _paths(pairs)))
        ends = np.array([v.end for v in vm])
        first = np.array([v.first for v in vm])
        t0 = first.min()
        t_lo = t0 + window.start
        t_hi = ends.max() if window.end is None else min(t0 + window.end, ends.max())
        edges = grid_edges(t_lo, t_hi, interval_s)
        keep = np.flatnonzero((first < t_hi) & (ends > t_lo))
        # Each VM kept on the grid in a worker, into its row of one matrix (no stacking copy).
        grid = np.empty((len(_DEMANDS), keep.size, edges.size - 1))
        list(pool.map(lambda j: vm[keep[j]].grid(edges, grid[:, j]), range(keep.size)))
    start, stop = lifetimes(first, ends, t_lo, t_hi)
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
    cpu, memory, disk, net = grid
    over = int(np.count_nonzero(memory > 1.0))
    np.minimum(memory, 1.0, out=memory)  # a guest cannot use more memory than it has
    demand = UtilizationTrace(
        names=names, times=edges[:-1] - t_lo, cpu=cpu, memory=memory, disk=disk, net=net
    )
    dropped = {"outside_window": int(len(pairs) - keep.size), "memory_samples_above_size": over}
    return WorkloadTrace(specs, demand, dropped)


# pyarrow, igzip and NumPy release the GIL: a thread per core, up to a few (each holds a file).
_THREADS = max(1, min(os.cpu_count() or 1, 8))
_SIZE_COLUMNS = ("cores", "cpu_capacity_mhz", "memory_capacity_bytes")
_DEMANDS = ("cpu", "memory", "disk", "net")  # the rows of _VmRows.demand, in this order
_PICK = {"max": np.max, "first": lambda v: v[0], "last": lambda v: v[-1]}
_ALL_COLUMNS = tuple(name for name, _ in COLUMNS)
# read_bitbrains skips the file's CPU percent (recomputed against the guest's size): a tenth
# less to parse.
_READ_COLUMNS = tuple(c for c in _ALL_COLUMNS if c != "cpu_usage_pct")


def _paths(pairs: list[tuple[str, Path]]) -> list[Path]:
    return [p for _, p in pairs]


class _VmRows:
    """One VM's rows: its provisioned size, its span, and its demand per row."""

    def __init__(self, cols: dict[str, np.ndarray], size: Size):
        self.size = {name: float(_PICK[size](cols[name])) for name in _SIZE_COLUMNS}
        t = cols["time_s"]
        self.times = t
        self.first = float(t[0])
        steps = np.diff(t)
        # The last row holds for the VM's median step (300 s when it has one row).
        self.end = float(t[-1]) + (float(np.median(steps)) if steps.size else 300.0)
        self.demand = _demand_per_row(cols, self.size)  # float[4, n_rows], as _DEMANDS

    def grid(self, edges: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Time-weighted means of its demand over each grid interval, into ``out[4, bins]``."""
        return grid_series(self.times, self.end, self.demand, edges, out)


def _demand_per_row(cols: dict, sizes: dict) -> np.ndarray:
    """float[4, n_rows]: CPU and memory as fractions of the guest's size, disk and net bytes/s."""
    demand = np.empty((len(_DEMANDS), cols["time_s"].size))
    cpu, mem, disk, net = demand
    for row, use, size in (
        (cpu, cols["cpu_usage_mhz"], sizes["cpu_capacity_mhz"]),
        (mem, cols["memory_usage_bytes"], sizes["memory_capacity_bytes"]),
    ):
        if size > 0:
            np.divide(use, size, out=row)
        else:
            row.fill(0.0)
    np.add(cols["disk_read_bps"], cols["disk_write_bps"], out=disk)
    np.add(cols["net_rx_bps"], cols["net_tx_bps"], out=net)
    return demand


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
        tables = list(pool.map(lambda p: _parse_file(p, _ALL_COLUMNS), _paths(pairs)))
    lengths = np.array([t["time_s"].size for t in tables])
    code = np.repeat(np.arange(len(pairs)), lengths)
    cols = {}
    for name in _ALL_COLUMNS:
        cols[name] = np.concatenate([t[name] for t in tables])
        for t in tables:  # free each file's column once it is in the concatenation
            del t[name]
    return tuple(i for i, _ in pairs), code, cols


def _parse_file(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The file's ``columns`` (rows kept, units converted), from the cache when it has them.

    A cache entry holds the columns its parse read; one without all of ``columns`` (written by
    :func:`read_bitbrains`, which skips the CPU percent, then wanted by the frame) is
    replaced by a parse of them.
    """
    cached = cache_file(path, CACHE_TAG, ".arrow")
    if cached is not None and cached.is_file():
        try:
            # Arrow IPC with LZ4 reads about 3x faster than Parquet (no page decoding), in
            # about a third more space; one thread per file, as files are read in parallel.
            table = feather.read_table(cached, columns=list(columns), use_threads=False)
            return {name: table.column(name).to_numpy() for name in columns}
        except (OSError, pa.ArrowInvalid):
            pass  # a damaged entry, or one without some of the columns: parse the file again
    arrays = _parse_csv(path, columns)
    if cached is not None:
        _keep(cached, arrays)
    return arrays


def _keep(cached: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a cache entry; a cache that cannot be written only costs speed."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        feather.write_feather(pa.table(arrays), tmp, compression="lz4")
        tmp.replace(cached)
    except OSError:
        pass


def _parse_csv(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Parse ``columns`` of a file (the others are split off but not converted) and check them."""
    data = open_bytes(path)
    eol = data.find(b"\n")
    _check_header(path, data[:eol] if eol >= 0 else data)
    body = pa.py_buffer(data)[eol + 1 :] if eol >= 0 else pa.py_buffer(b"")  # not a copy
    try:
        table = pacsv.read_csv(
            body,
            read_options=pacsv.ReadOptions(column_names=_ALL_COLUMNS, use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=";"),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.float64()), include_columns=columns
            ),
        )
    except pa.ArrowInvalid:
        raise _first_bad_line(path, data[eol + 1 :], columns) from None
    if table.num_rows == 0:
        raise TraceError(f"{path}: no data rows after the header")
    arrays = {name: table.column(name).to_numpy() for name in columns}
    del table
    _check_values(path, arrays)
    t = arrays["time_s"]
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        raise TraceError(f"{path}, line {int(back[0]) + 3}: timestamp goes back in time")
    # The median of the (now known sorted) timestamps, without a partition: twice it, exactly.
    if t[(t.size - 1) // 2] + t[t.size // 2] > 2 * _MS_THRESHOLD:
        t = arrays["time_s"] = t / 1000.0
    # A row repeating the previous timestamp has no duration of its own (the first one holds).
    keep = (arrays["cores"] > 0) & np.concatenate(([True], np.diff(t) > 0))
    if not keep.any():
        raise TraceError(f"{path}: every row has 0 CPU cores; the VM is never provisioned")
    for name, a in arrays.items():
        a = a if keep.all() else a[keep]
        arrays[name] = a * KIB if name in _KIB_COLUMNS else a
    return arrays


def _check_values(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """No empty field, no negative value: the first offending line and field."""
    for name, a in arrays.items():
        bad = np.isnan(a) | (a < 0)
        if bad.any():
            i = int(np.argmax(bad))
            what = "is empty" if np.isnan(a[i]) else f"is negative ({float(a[i]):g})"
            field = _ALL_COLUMNS.index(name) + 1
            raise TraceError(f"{path}, line {i + 2}, field {field} ({name}): {what}")


def _check_header(path: Path, header: bytes) -> None:
    fields = [f.strip().lower() for f in header.decode("utf-8", "replace").split(";")]
    if len(fields) != len(COLUMNS) or any(
        not f.startswith(word) for f, (_, word) in zip(fields, COLUMNS, strict=False)
    ):
        raise TraceError(
            f"{path}, line 1: not a Bitbrains GWA-T-12 header; expected 11 ';'-separated "
            f"columns 'Timestamp [ms]; CPU cores; ...; Network transmitted throughput [KB/s]'"
        )


def _first_bad_line(path: Path, body: bytes, columns: tuple[str, ...]) -> TraceError:
    """The slow scan, only after pyarrow refused: which line, which field (of ``columns``,
    the ones parsed), and why."""
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
            if COLUMNS[j][0] not in columns:
                continue
            try:
                float(f)
            except ValueError:
                return TraceError(
                    f"{path}, line {lineno}, field {j + 1} ({COLUMNS[j][0]}): "
                    f"{f.strip()!r} is not a number"
                )
    if not body.strip():
        return TraceError(f"{path}: no data rows after the header")
    return TraceError(f"{path}: not a valid Bitbrains CSV file")
