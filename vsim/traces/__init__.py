"""Workload traces: readers for real formats and synthetic generators, one in-memory form.

Everything here produces a :class:`UtilizationTrace` (piecewise-constant demand series on a
shared time grid). This layer knows nothing of SimPy; the model layer turns traces into demand.
"""

from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.csvtrace import read_csv_trace
from vsim.traces.planetlab import read_planetlab
from vsim.traces.synthetic import constant, diurnal, random_walk

__all__ = [
    "TraceError",
    "UtilizationTrace",
    "constant",
    "diurnal",
    "random_walk",
    "read_csv_trace",
    "read_planetlab",
]
