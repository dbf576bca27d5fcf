"""Workload traces: readers for real formats and synthetic generators, one in-memory form.

Everything here produces a :class:`UtilizationTrace` (piecewise-constant demand series on a
shared time grid). Readers of real traces that also define guests (Bitbrains, OpenDC, Alibaba,
SWF) return a :class:`WorkloadTrace`: the guests' sizes and lifetimes and, where the format has
usage series, their demand. Each format also has a ``*_frame`` function: its rows as a tidy
pandas table, units converted, for analysis. This layer knows nothing of SimPy or scenarios.
"""

from vsim.traces.alibaba import (
    alibaba2017_machines,
    alibaba2017_tasks_frame,
    openb_nodes,
    openb_nodes_frame,
    openb_pods_frame,
    read_alibaba2017_tasks,
    read_openb_pods,
    server_events_frame,
)
from vsim.traces.base import TraceError, UtilizationTrace
from vsim.traces.bitbrains import bitbrains_frame, read_bitbrains
from vsim.traces.csvtrace import read_csv_trace
from vsim.traces.export import export_run, run_series
from vsim.traces.loadshape import aggregate_frame, fleet_from_shape, read_load_shape
from vsim.traces.opendc import (
    opendc_failures_frame,
    opendc_fragments_frame,
    opendc_tasks_frame,
    read_opendc,
    write_opendc,
)
from vsim.traces.planetlab import read_planetlab, read_planetlab_days
from vsim.traces.specs import GuestSpecs, HostSpecs, TraceWindow, WorkloadTrace
from vsim.traces.swf import read_swf, swf_frame
from vsim.traces.synthetic import constant, diurnal, random_walk

__all__ = [
    "GuestSpecs",
    "HostSpecs",
    "TraceError",
    "TraceWindow",
    "UtilizationTrace",
    "WorkloadTrace",
    "aggregate_frame",
    "alibaba2017_machines",
    "alibaba2017_tasks_frame",
    "bitbrains_frame",
    "constant",
    "diurnal",
    "export_run",
    "fleet_from_shape",
    "opendc_failures_frame",
    "opendc_fragments_frame",
    "opendc_tasks_frame",
    "openb_nodes",
    "openb_nodes_frame",
    "openb_pods_frame",
    "random_walk",
    "read_alibaba2017_tasks",
    "read_bitbrains",
    "read_csv_trace",
    "read_load_shape",
    "read_opendc",
    "read_openb_pods",
    "read_planetlab",
    "read_planetlab_days",
    "read_swf",
    "run_series",
    "server_events_frame",
    "swf_frame",
    "write_opendc",
]
