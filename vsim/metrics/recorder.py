"""Recorders: append to preallocated arrays during a run, become tidy DataFrames at the end
(over the same arrays: the samples are held once)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HOST_COLUMNS = ("cpu_util", "hypervisor_util", "mem_util", "disk_util", "net_util", "power_w")
GUEST_COLUMNS = (
    "cpu_demand_mips",
    "cpu_useful_mips",
    "cpu_alloc_mips",
    "cpu_overhead_mips",
    "mem_bytes",
    "disk_bps",
    "net_bps",
)


class SampleRecorder:
    """Per-interval means for every host and guest, one preallocated (samples x entities) array
    per column, filled in place so recording costs no allocation during the run."""

    def __init__(
        self,
        sample_times: np.ndarray,
        n_hosts: int,
        n_guests: int,
        guests: bool = True,
        extra_host: tuple[str, ...] = (),
    ):
        self.times = np.asarray(sample_times, dtype=np.float64)
        n = len(self.times)
        # (extra_host: columns some runs add, such as the tenants on each host)
        self.host = {c: np.zeros((n, n_hosts)) for c in (*HOST_COLUMNS, *extra_host)}
        self.host_state = np.zeros((n, n_hosts), dtype=np.int8)
        self.with_guests = guests
        g = n_guests if guests else 0
        self.guest = {c: np.zeros((n, g)) for c in GUEST_COLUMNS}
        self.guest_host = np.full((n, g), -1, dtype=np.int32)
        self.guest_state = np.zeros((n, g), dtype=np.int8)

    def record_hosts(self, k: int, state: np.ndarray, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.host[name][k] = values
        self.host_state[k] = state

    def record_guests(
        self, k: int, host: np.ndarray, state: np.ndarray, **columns: np.ndarray
    ) -> None:
        if not self.with_guests:
            return
        for name, values in columns.items():
            self.guest[name][k] = values
        self.guest_host[k] = host
        self.guest_state[k] = state

    def hosts_frame(
        self, names: np.ndarray, types: np.ndarray, state_names: np.ndarray
    ) -> pd.DataFrame:
        n, h = self.host_state.shape
        frame = {
            "time_s": np.repeat(self.times, h),
            "host": _codes(np.tile(np.arange(h), n), names),
            "host_type": _labels(types, n),
        }
        frame.update({c: v.ravel() for c, v in self.host.items()})
        frame["state"] = _codes(self.host_state.ravel(), state_names)
        return _frame(frame)

    def guests_frame(
        self,
        names: np.ndarray,
        kinds: np.ndarray,
        host_names: np.ndarray,
        state_names: np.ndarray,
    ) -> pd.DataFrame:
        n, g = self.guest_state.shape
        if g == 0:  # per-guest samples were not kept
            names, kinds = names[:0], kinds[:0]
        placed = self.guest_host.ravel()
        frame = {
            "time_s": np.repeat(self.times, g),
            "guest": _codes(np.tile(np.arange(g), n), names),
            "kind": _labels(kinds, n),
            # "" where the guest holds no host
            "host": _codes(np.where(placed >= 0, placed, len(host_names)), [*host_names, ""]),
            "state": _codes(self.guest_state.ravel(), state_names),
        }
        frame.update({c: self.guest[c].ravel() for c in GUEST_COLUMNS})
        return _frame(frame)


def _frame(columns: dict) -> pd.DataFrame:
    """The columns as a DataFrame that holds the recorder's arrays themselves, not a copy: the
    samples are the largest part of a run's results and are not written again after the run."""
    return pd.DataFrame(columns, copy=False)


def _codes(codes: np.ndarray, labels) -> pd.Categorical:
    """Labels as a categorical column: a few distinct strings repeated over many rows are stored
    once (string columns of that length cost most of a frame's construction)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(labels), dtype=str))


def _labels(values: np.ndarray, repeats: int) -> pd.Categorical:
    """:func:`_codes` of an array of labels, one per entity, repeated for every sample."""
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return _codes(np.tile(codes.reshape(-1), repeats), labels)


class EventLog:
    """Discrete happenings (placements, boots, stops, job ends...) in the order they occurred."""

    def __init__(self) -> None:
        self._rows: list[tuple[float, str, str, str]] = []

    def add(self, time: float, kind: str, subject: str, detail: str = "") -> None:
        self._rows.append((float(time), kind, subject, detail))

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows, columns=["time_s", "kind", "subject", "detail"]).astype(
            {"time_s": "float64", "kind": "str", "subject": "str", "detail": "str"}
        )
