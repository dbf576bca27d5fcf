"""Host power as a function of CPU utilization, evaluated for every host at once."""

from __future__ import annotations

import numpy as np

from vsim.core.detectors import power_at
from vsim.scenario.schema import Scenario


class PowerTables:
    """One 11-point table (0 %, 10 %, ..., 100 % CPU) per host, linearly interpolated.

    A linear idle-to-peak model is the 11-point table of a straight line, so every host is
    evaluated by the same vectorized interpolation.
    """

    def __init__(self, tables: np.ndarray):
        self.tables = np.asarray(tables, dtype=np.float64)  # float64[H, 11]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> PowerTables:
        types = scenario.datacenter.host_types
        per_type = np.array([t.power.table() for t in types], dtype=np.float64).reshape(-1, 11)
        return cls(np.repeat(per_type, [t.count for t in types], axis=0))

    def watts_one(self, host: int, utilization: float) -> float:
        """Power of one host at ``utilization``, without array overhead (hot path)."""
        u = min(max(utilization, 0.0), 1.0) * 10.0
        lo = min(int(u), 9)
        row = self.tables[host]
        return float(row[lo] + (row[lo + 1] - row[lo]) * (u - lo))

    def watts(self, utilization: np.ndarray, on: np.ndarray) -> np.ndarray:
        """Power of each host at ``utilization`` (clipped to [0, 1]); 0 W where not ``on``."""
        return np.where(on, power_at(utilization, self.tables), 0.0)
