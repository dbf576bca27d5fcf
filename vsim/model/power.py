"""Host power as a function of CPU utilization, evaluated for every host at once."""

from __future__ import annotations

import numpy as np

from vsim.scenario.schema import Scenario


class PowerTables:
    """One 11-point table (0 %, 10 %, ..., 100 % CPU) per host, linearly interpolated.

    A linear idle-to-peak model is the 11-point table of a straight line, so every host is
    evaluated by the same vectorized interpolation. The tables are fixed once built: the
    interpolation reads them as per-segment bases and slopes, flat (``host * 10 + segment``),
    so that one evaluation is a single gather whatever the hosts.
    """

    def __init__(self, tables: np.ndarray):
        self.tables = np.array(tables, dtype=np.float64)  # float64[H, 11], read-only
        self.tables.flags.writeable = False
        self._base = np.ascontiguousarray(self.tables[:, :10]).reshape(-1)
        self._slope = np.ascontiguousarray(np.diff(self.tables, axis=1)).reshape(-1)
        self._all = np.arange(len(self.tables))
        self._base_v, self._slope_v = memoryview(self._base), memoryview(self._slope)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> PowerTables:
        types = scenario.datacenter.host_types
        per_type = np.array([t.power.table() for t in types], dtype=np.float64).reshape(-1, 11)
        return cls(np.repeat(per_type, [t.count for t in types], axis=0))

    def at_peak(self) -> PowerTables:
        """Tables of the same hosts drawing their peak power at any utilization."""
        return PowerTables(np.repeat(self.tables[:, -1:], 11, axis=1))

    def watts_one(self, host: int, utilization: float) -> float:
        """Power of one host at ``utilization``, without array overhead (hot path); the same
        IEEE operations as :meth:`at`, so the same bits."""
        u = min(max(utilization, 0.0), 1.0) * 10.0
        lo = min(int(u), 9)
        k = host * 10 + lo
        return self._base_v[k] + self._slope_v[k] * (u - lo)  # (Python floats: same bits)

    def at(self, hosts: np.ndarray, utilization: np.ndarray) -> np.ndarray:
        """Power of hosts ``hosts`` at ``utilization`` (fraction, clipped to [0, 1])."""
        x = np.minimum(np.maximum(utilization, 0.0), 1.0) * 10.0  # (np.clip, without its wrapper)
        lo = np.minimum(x.astype(np.int64), 9)
        k = hosts * 10 + lo
        return self._base[k] + self._slope[k] * (x - lo)

    def watts(self, utilization: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Power of each host at ``utilization`` (clipped to [0, 1]); 0 W where not ``on``."""
        return np.where(on, self.at(self._all, utilization), 0.0)
