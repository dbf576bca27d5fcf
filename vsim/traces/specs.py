"""What a real trace says besides demand: the guests and hosts it defines, the window to use.

Every real-trace reader returns a :class:`WorkloadTrace` (guests, and their demand where the
format has usage series) or a :class:`HostSpecs`; the scenario layer turns these into the
guest groups and host types a scenario already has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vsim.traces.base import UtilizationTrace

__all__ = ["WHOLE_TRACE", "GuestSpecs", "HostSpecs", "TraceWindow", "WorkloadTrace"]


@dataclass(frozen=True)
class TraceWindow:
    """The part of a trace to use, in seconds from the trace's first timestamp.

    ``start`` becomes time 0 of the run; ``end`` (``None``: the end of the trace) is exclusive.
    """

    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and self.start >= 0):
            raise ValueError(f"window start must be >= 0 seconds, got {self.start!r}")
        if self.end is not None and not self.end > self.start:
            raise ValueError(f"window end ({self.end!r} s) must be after its start")


WHOLE_TRACE = TraceWindow()


@dataclass(frozen=True, eq=False)
class GuestSpecs:
    """Guests as a trace defines them, one row each, times in seconds of the run.

    Attributes:
        names: one name per guest (the trace's VM, job or pod id, after a prefix).
        vcpus: cores of each guest (may be fractional: a 0.5-core request).
        vcpu_mhz: speed of one core in MHz where the trace says (Bitbrains, OpenDC), else ``None``.
        memory: bytes of each guest, or ``None`` when the trace gives no absolute size.
        start: arrival (0 for a guest already there when the window opens).
        stop: departure, ``inf`` for a guest still there when the window closes.
        count: identical instances per row (Alibaba 2017 tasks, SWF jobs on many processors).
        cpu_used: mean fraction of its vCPUs each guest used, where a job trace says (SWF's
            average CPU time), NaN where it does not; ``None`` when the trace never says.
    """

    names: tuple[str, ...]
    vcpus: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    vcpu_mhz: np.ndarray | None = None
    memory: np.ndarray | None = None
    count: np.ndarray | None = None
    cpu_used: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    def to_frame(self) -> pd.DataFrame:
        """One row per guest: ``guest, vcpus, vcpu_mhz, memory_bytes, start_s, stop_s, count,
        cpu_used`` (NaN where the trace does not say)."""
        n = len(self.names)
        nan = np.full(n, np.nan)
        return pd.DataFrame(
            {
                "guest": list(self.names),
                "vcpus": self.vcpus,
                "vcpu_mhz": nan if self.vcpu_mhz is None else self.vcpu_mhz,
                "memory_bytes": nan if self.memory is None else self.memory,
                "start_s": self.start,
                "stop_s": self.stop,
                "count": np.ones(n, np.int64) if self.count is None else self.count,
                "cpu_used": nan if self.cpu_used is None else self.cpu_used,
            }
        )


@dataclass(frozen=True, eq=False)
class WorkloadTrace:
    """What a real trace gives the simulator: its guests, and their demand where it has one.

    ``demand`` has one series per guest, in the order of ``guests.names`` (``None`` for job
    and pod traces, which give requests and lifetimes but no usage series).
    """

    guests: GuestSpecs
    demand: UtilizationTrace | None = None
    dropped: dict[str, int] = field(default_factory=dict)  # what was left out, and how many


@dataclass(frozen=True, eq=False)
class HostSpecs:
    """Machines as a trace lists them: ``cores`` (may be fractional) and ``memory`` bytes
    (``None`` when the trace normalizes memory and the scenario gives no scale)."""

    names: tuple[str, ...]
    cores: np.ndarray
    memory: np.ndarray | None

    def __len__(self) -> int:
        return len(self.names)

    def to_frame(self) -> pd.DataFrame:
        """One row per machine: ``host, cores, memory_bytes``."""
        mem = np.full(len(self), np.nan) if self.memory is None else self.memory
        return pd.DataFrame({"host": list(self.names), "cores": self.cores, "memory_bytes": mem})
