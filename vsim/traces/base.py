"""The one in-memory form every trace reader and generator produces.

A :class:`UtilizationTrace` is a set of demand series for many guests on one shared time grid.
The simulator only needs to act when a sample boundary is crossed, so a shared grid lets it step
all guests at once (one vectorized update per boundary) instead of one event per guest per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["TraceError", "UtilizationTrace"]


class TraceError(ValueError):
    """Bad trace input (file or data). The message names the file, and line or column if known."""


@dataclass(frozen=True, eq=False)
class UtilizationTrace:
    """Piecewise-constant demand series for many guests on one shared time grid.

    Sample ``k`` of every series holds over ``[times[k], times[k+1])``; the last sample holds until
    the end of the run.

    Attributes:
        names: one name per series (guest or file name); may repeat after :meth:`select`.
        times: float64 ``[n_samples]``, seconds, strictly increasing; ``times[0] == 0`` normally.
        cpu: float64 ``[n_series, n_samples]``, fraction of the guest's CPU capacity (0..1; above
            1 only if the source says so; negative values are rejected).
        memory: same shape, fraction of the guest's memory in use (0..1), or ``None``.
        disk: same shape, bytes/s, or ``None``.
        net: same shape, bytes/s, or ``None``.

    Arrays are converted to float64 (no copy when they already are). The dataclass is frozen and
    compares by identity (``eq=False``): element-wise ``==`` on arrays has no single truth value.
    """

    names: tuple[str, ...]
    times: np.ndarray
    cpu: np.ndarray
    memory: np.ndarray | None = None
    disk: np.ndarray | None = None
    net: np.ndarray | None = None

    def __post_init__(self) -> None:
        # object.__setattr__ because the dataclass is frozen; normalising here means every
        # consumer can rely on tuple names and float64 arrays whatever the producer passed.
        names = tuple(str(n) for n in self.names)
        object.__setattr__(self, "names", names)

        times = np.asarray(self.times, dtype=np.float64)
        if times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {times.shape}")
        if times.size == 0:
            raise ValueError("times must hold at least one sample")
        if not np.all(np.isfinite(times)):
            raise ValueError("times must be finite")
        if times.size > 1 and not np.all(np.diff(times) > 0):
            raise ValueError("times must be strictly increasing")
        object.__setattr__(self, "times", times)

        expected = (len(names), times.size)
        for field in ("cpu", "memory", "disk", "net"):
            value = getattr(self, field)
            if value is None:
                if field == "cpu":
                    raise ValueError("cpu is required")
                continue
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != expected:
                raise ValueError(
                    f"{field} must have shape (n_series, n_samples) = {expected} "
                    f"(len(names), len(times)), got {arr.shape}"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{field} must be finite (no NaN or inf)")
            if np.any(arr < 0):
                # A negative demand has no meaning; silently clipping would hide a broken source.
                raise ValueError(f"{field} must be non-negative, min is {arr.min()!r}")
            object.__setattr__(self, field, arr)

    @property
    def n_series(self) -> int:
        """Number of series (rows)."""
        return len(self.names)

    @property
    def n_samples(self) -> int:
        """Number of samples on the shared time grid (columns)."""
        return int(self.times.size)

    def select(self, indices: Sequence[int] | np.ndarray) -> UtilizationTrace:
        """Return a trace holding the series at ``indices``, in that order.

        Indices may repeat (e.g. ``np.arange(n_guests) % trace.n_series`` to cycle through the
        series when there are more guests than series). The time grid is shared, not copied.
        """
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.intp)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError("indices must be a 1-D sequence of integers")
        if idx.size and (idx.min() < -self.n_series or idx.max() >= self.n_series):
            raise IndexError(f"series index out of range for a trace of {self.n_series} series")

        def take(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else arr[idx]

        return UtilizationTrace(
            names=tuple(self.names[i] for i in idx.tolist()),
            times=self.times,
            cpu=self.cpu[idx],
            memory=take(self.memory),
            disk=take(self.disk),
            net=take(self.net),
        )

    def sample_index(self, t: float) -> int:
        """Index of the sample holding at time ``t`` (seconds).

        Times before ``times[0]`` map to sample 0, so a trace that starts late still defines
        demand from the start of the run.
        """
        k = int(np.searchsorted(self.times, t, side="right")) - 1
        return max(k, 0)
