"""Reader for a generic long-format CSV utilization trace.

One row per (time, guest) sample, with a header::

    time,guest,cpu,memory,disk,net
    0,web-1,0.25,0.5,1000000,250000
    300,web-1,0.40,0.5,0,250000
    150,db-1,0.10,0.8,5000000,0

``time`` (seconds), ``guest`` (name) and ``cpu`` are required; ``memory`` (fraction in use),
``disk`` and ``net`` (bytes/s) are optional; other columns are ignored. Column names are matched
after stripping spaces and ignoring case. The module is named ``csvtrace`` so that it does not
shadow the standard library's ``csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError, UtilizationTrace

__all__ = ["read_csv_trace"]

_REQUIRED = ("time", "guest", "cpu")
_OPTIONAL = ("memory", "disk", "net")


def _numeric_column(df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """Column as float64; TraceError naming file, column and line of the first bad cell."""
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        pos = int(np.argmax(bad))
        cell = raw.iloc[pos]
        what = "is empty" if pd.isna(cell) else f"{str(cell).strip()!r} is not a finite number"
        raise TraceError(f"{path}, line {_line(df, pos)}, column {column!r}: {what}")
    if np.any(values < 0):
        pos = int(np.argmax(values < 0))
        raise TraceError(
            f"{path}, line {_line(df, pos)}, column {column!r}: {values[pos]!r} is negative"
        )
    return values


def _line(df: pd.DataFrame, pos: int) -> int:
    # The frame keeps the default RangeIndex of the file's data rows (blank lines are kept as
    # rows, then dropped without renumbering), so row label + 2 is the line in the file
    # (line 1 is the header). Quoted fields spanning lines would break this; they do not occur
    # in numeric traces.
    return int(df.index[pos]) + 2


def read_csv_trace(
    path: str | Path, *, cpu_unit: Literal["fraction", "percent"] = "fraction"
) -> UtilizationTrace:
    """Read a long-format CSV (``time, guest, cpu[, memory, disk, net]``) into a trace.

    Args:
        path: the CSV file. Columns: ``time`` in seconds, ``guest`` a name, ``cpu`` the demand;
            optional ``memory`` (fraction of the guest's memory in use), ``disk`` and ``net``
            (bytes/s). Every present column must be numeric in every row.
        cpu_unit: ``"fraction"`` (0..1) or ``"percent"`` (0..100, divided by 100).

    Returns:
        A trace whose time grid is the sorted union of all times in the file (not shifted: if
        the first time is not 0, ``sample_index`` maps earlier times to sample 0). Each guest's
        series is forward-filled between its own samples, and before its first sample takes
        its first value. Series are named by guest, in order of first appearance in the file.

    Raises:
        TraceError: the file cannot be read or parsed, a required column is missing, a cell is
            empty, non-numeric or negative (the message names file, column and line), a
            (time, guest) pair repeats, or there are no data rows.
        ValueError: ``cpu_unit`` is not ``"fraction"`` or ``"percent"``.
    """
    if cpu_unit not in ("fraction", "percent"):
        raise ValueError(f"cpu_unit must be 'fraction' or 'percent', got {cpu_unit!r}")
    path = Path(path)
    df = _read_frame(path)
    guests = df["guest"].str.strip()
    if guests.isna().any() or (guests == "").any():
        pos = int(np.argmax((guests.isna() | (guests == "")).to_numpy()))
        raise TraceError(f"{path}, line {_line(df, pos)}, column 'guest': is empty")

    t = _numeric_column(df, "time", path)
    columns = {c: _numeric_column(df, c, path) for c in ("cpu", *_OPTIONAL) if c in df.columns}
    if cpu_unit == "percent":
        columns["cpu"] = columns["cpu"] / 100.0

    # factorize keeps order of first appearance, which is the documented series order.
    g_code, names = pd.factorize(guests, sort=False)
    times, t_code = np.unique(t, return_inverse=True)
    _check_unique_samples(path, df, g_code, t_code, times.size, names, t)
    fill = _forward_fill(g_code, t_code, len(names), times.size)
    filled = {c: fill(v) for c, v in columns.items()}
    return UtilizationTrace(
        names=tuple(str(n) for n in names),
        times=times,
        cpu=filled["cpu"],
        memory=filled.get("memory"),
        disk=filled.get("disk"),
        net=filled.get("net"),
    )


def _read_frame(path: Path) -> pd.DataFrame:
    """The file as a frame with lower-case column names, the required ones present and
    blank lines dropped; TraceError naming the file otherwise."""
    try:
        # Guest names as text, so "007" stays as written. Numeric columns are left to pandas'
        # C parser (measured 3x faster than reading everything as text); a column with a bad
        # cell comes back as text and the check below names that cell.
        # Blank lines are kept so row labels stay aligned with file lines for messages.
        header = pd.read_csv(path, nrows=0, skipinitialspace=True).columns
        text_cols = {c: str for c in header if str(c).strip().lower() == "guest"}
        df = pd.read_csv(path, dtype=text_cols, skip_blank_lines=False, skipinitialspace=True)
    except FileNotFoundError:
        raise TraceError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read file: {exc}") from None
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: file is empty; expected a header 'time,guest,cpu'") from None
    except pd.errors.ParserError as exc:
        raise TraceError(f"{path}: not a valid CSV file: {exc}") from None

    df.columns = [str(c).strip().lower() for c in df.columns]
    if len(set(df.columns)) != len(df.columns):
        raise TraceError(f"{path}: repeated column names in header {list(df.columns)}")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise TraceError(
            f"{path}: missing required column(s) {', '.join(map(repr, missing))}; "
            f"header has {list(df.columns)}, required are {list(_REQUIRED)}"
        )
    df = df.dropna(how="all")  # blank lines; labels are not renumbered (see _line)
    if df.empty:
        raise TraceError(f"{path}: no data rows after the header")
    return df


def _check_unique_samples(path, df, g_code, t_code, n_samples, names, t) -> None:
    """TraceError naming the line where a guest has a second sample at one time."""
    flat = g_code * n_samples + t_code
    if np.unique(flat).size != flat.size:
        _, first, counts = np.unique(flat, return_index=True, return_counts=True)
        dup_val = flat[first[np.argmax(counts > 1)]]
        pos = int(np.flatnonzero(flat == dup_val)[1])
        raise TraceError(
            f"{path}, line {_line(df, pos)}: guest {names[g_code[pos]]!r} already has a sample "
            f"at time {t[pos]!r}"
        )


def _forward_fill(g_code, t_code, n_series: int, n_samples: int):
    """A function putting each guest's own samples on the whole grid: at each grid time its
    latest own sample at or before it, before its first own sample that first sample."""
    has = np.zeros((n_series, n_samples), dtype=bool)
    has[g_code, t_code] = True
    src = np.where(has, np.arange(n_samples), -1)
    np.maximum.accumulate(src, axis=1, out=src)
    first_idx = np.argmax(has, axis=1)  # every guest has at least one sample
    src = np.where(src < 0, first_idx[:, None], src)
    rows = np.arange(n_series)[:, None]

    def fill(values: np.ndarray) -> np.ndarray:
        grid = np.empty((n_series, n_samples), dtype=np.float64)
        grid[g_code, t_code] = values
        return grid[rows, src]

    return fill
