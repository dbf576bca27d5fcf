"""Shared by every real-trace reader: reading the file, and onto a regular grid.

Real traces come as piecewise-constant segments per VM or job (a Bitbrains row holds until the
next row, an OpenDC fragment for its duration), on clocks of their own. :func:`grid_means`
puts them all on one regular grid by exact time-weighted means, so a resampled series has the
same integral (the same CPU work, the same bytes) as the source over every grid interval.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError

__all__ = [
    "KIB",
    "cache_file",
    "grid_edges",
    "grid_means",
    "grid_series",
    "lifetimes",
    "open_bytes",
    "read_table",
]

KIB = 1024.0  # the "KB" of Bitbrains and OpenDC memory is KiB: 8388608 KB is exactly 8 GiB


def grid_means(
    series: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    values: dict[str, np.ndarray],
    edges: np.ndarray,
) -> dict[str, np.ndarray]:
    """Time-weighted mean of piecewise-constant segments over each interval of a grid.

    Args:
        series: int[n_rows], the series of each segment, sorted ascending (0..n_series-1).
        starts: float[n_rows], segment start times, ascending within each series. A segment
            holds until the next one of its series starts; the last until ``ends[series]``.
        ends: float[n_series], the end of each series' last segment.
        values: name -> float[n_rows], the value held over each segment (non-negative).
        edges: float[n_bins + 1], the grid's interval boundaries, ascending.

    Returns:
        name -> float[n_series, n_bins]. An interval only partly covered by a series averages
        over the covered part; one before its first segment takes the first value, one after
        its end the last value (a guest's lifetime is stated apart, in :class:`GuestSpecs`).
    """
    n_series = len(ends)
    bounds = np.searchsorted(series, np.arange(n_series + 1))
    first, last = bounds[:-1], bounds[1:] - 1
    if np.any(last < first):
        raise ValueError(f"series {int(np.argmax(last < first))} has no segment")
    seg_end = np.append(starts[1:], 0.0)
    seg_end[last] = ends
    duration = seg_end - starts
    # Each query point: an edge clipped to its series' span, and the segment holding it, found
    # for all series at once on one key, ``series * span + time``, that sorts like (series, t).
    lo, hi = starts[first], ends
    t0 = min(float(lo.min()), float(edges[0]))
    span = max(float(hi.max()), float(edges[-1])) - t0 + 1.0
    q = np.clip(edges[None, :], lo[:, None], hi[:, None])
    key = series * span + (starts - t0)
    seg = np.searchsorted(key, np.arange(n_series)[:, None] * span + (q - t0), side="right") - 1
    seg = np.clip(seg, first[:, None], last[:, None])
    covered = np.diff(q, axis=1)
    before = edges[None, 1:] <= lo[:, None]
    out = {}
    for name, v in values.items():
        area = v * duration
        cum = np.empty_like(area)  # integral from its series' first segment to each start
        for lo, hi in zip(first.tolist(), (last + 1).tolist(), strict=True):
            # per series, not one running sum minus offsets: that would lose digits
            np.cumsum(area[lo:hi], out=cum[lo:hi])
            cum[lo:hi] -= area[lo:hi]
        integral = cum[seg] + v[seg] * (q - starts[seg])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.diff(integral, axis=1) / covered
        np.maximum(mean, 0.0, out=mean)  # demand is never negative; a difference may round so
        # Uncovered intervals hold the nearest value, first or last.
        nearest = np.where(before, v[first][:, None], v[last][:, None])
        out[name] = np.where(covered > 0, mean, nearest)
    return out


def grid_series(
    starts: np.ndarray, end: float, values: np.ndarray, edges: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """:func:`grid_means` for one series, its values stacked: the same numbers, bit for bit.

    Args:
        starts: float[n_rows], segment start times, ascending; the last segment ends at ``end``.
        end: the end of the last segment.
        values: float[n_values, n_rows], one row per quantity (CPU, memory...), non-negative.
        edges: float[n_bins + 1], the grid's interval boundaries, ascending.
        out: float[n_values, n_bins], written with the means (it may be a view into a larger
            array, so a caller fills a matrix of many series without stacking copies).

    Per series this does the arithmetic of :func:`grid_means` in the same order (so both give
    the same bits), on all quantities at once and with the segment of each edge found by one
    merge of two sorted arrays instead of a binary search per edge: for a reader that holds
    each VM's rows apart, about twice as fast as a one-series call of :func:`grid_means`.
    """
    n = starts.size
    duration = np.empty(n)
    np.subtract(starts[1:], starts[:-1], out=duration[:-1])
    duration[-1] = end - starts[-1]
    lo = starts[0]
    t0 = min(float(lo), float(edges[0]))
    q = np.clip(edges, lo, end)
    seg = _segment_of(starts - t0, q - t0)
    np.clip(seg, 0, n - 1, out=seg)
    covered = np.diff(q)
    area = values * duration
    cum = np.cumsum(area, axis=1)  # sequential per row, as grid_means' per-series cumsum
    cum -= area
    integral = np.take(cum, seg, axis=1) + np.take(values, seg, axis=1) * (q - starts[seg])
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(np.diff(integral, axis=1), covered, out=out)
    np.maximum(out, 0.0, out=out)
    empty = covered <= 0
    if empty.any():  # intervals before the first segment or after the end: nearest value
        before = edges[1:] <= lo
        out[:, empty & before] = values[:, :1]
        out[:, empty & ~before] = values[:, -1:]
    return out


def _segment_of(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``searchsorted(keys, queries, side="right") - 1`` for sorted queries, by one stable merge
    (numpy's stable sort merges the two sorted runs in linear time)."""
    order = np.argsort(np.concatenate((keys, queries)), kind="stable")
    # A query's place in the merge counts the keys at or below it (keys come first on ties).
    return np.flatnonzero(order >= keys.size) - np.arange(queries.size) - 1


def grid_edges(t0: float, t1: float, interval_s: float) -> np.ndarray:
    """Boundaries ``t0, t0 + interval_s, ...`` of the intervals that cover ``[t0, t1)``."""
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval_s!r}")
    n = max(1, math.ceil((t1 - t0) / interval_s - 1e-9))
    return t0 + np.arange(n + 1) * interval_s


def lifetimes(
    first: np.ndarray, last: np.ndarray, t0: float, t1: float
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival and departure in run time for guests seen over ``[first, last)`` in trace time:
    0 for a guest there when the window opens, ``inf`` for one there when it closes."""
    start = np.maximum(first - t0, 0.0)
    stop = np.where(last >= t1, np.inf, last - t0)
    return start, stop


def open_bytes(path: Path) -> bytes:
    """The bytes of a file, gunzipped when its name ends in ``.gz``; TraceError when unreadable.

    isal's igzip, where installed, inflates about twice as fast as the standard library.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    if path.suffix != ".gz":
        return data
    try:
        from isal import igzip as gz
    except ImportError:  # pragma: no cover - isal is a dependency, the fallback is for safety
        import gzip as gz
    try:
        return gz.decompress(data)
    except (OSError, EOFError, ValueError) as exc:
        raise TraceError(f"{path}: not a complete gzip file ({exc}); is it truncated?") from None


def read_table(path: Path, **options) -> pd.DataFrame:
    """A CSV file (gzipped or not) through pandas, every failure a TraceError naming the file;
    an empty table is one too. ``options`` go to :func:`pandas.read_csv`."""
    try:
        frame = pd.read_csv(io.BytesIO(open_bytes(path)), **options)
    except pd.errors.ParserError as exc:
        raise TraceError(f"{path}: not a valid CSV file: {exc}") from None
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: file is empty") from None
    if frame.empty:
        raise TraceError(f"{path}: no data rows")
    return frame


def cache_file(source: Path, what: str, suffix: str = ".parquet") -> Path | None:
    """Where the parsed rows of ``source`` are kept between runs, or ``None`` (no cache).

    The folder is ``$VSIM_CACHE``, else ``$XDG_CACHE_HOME/vsim`` or ``~/.cache/vsim``;
    ``VSIM_CACHE=off`` turns the cache off. The name hashes the file's absolute path, size and
    modification time, so a changed or replaced file is parsed again; ``what`` names the
    parser and its version, so a changed parser never reads an old entry; ``suffix`` the
    entry's format.
    """
    root = os.environ.get("VSIM_CACHE")
    if root == "off":
        return None
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "vsim"
    try:
        st = source.stat()
    except OSError:
        return None
    key = f"{what}|{source.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()
    return Path(root) / f"{what}-{hashlib.sha1(key).hexdigest()[:20]}{suffix}"
