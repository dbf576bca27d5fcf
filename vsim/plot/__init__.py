"""Matplotlib figures from result DataFrames (no pyplot, no backend forced)."""

from vsim.plot.analytic import analytic_latency_cdf, analytic_latency_over_time
from vsim.plot.figures import heatmap, utilization
from vsim.plot.result import ResultPlots, result_figures, save_figures
from vsim.plot.sweep import latency_cdf
from vsim.plot.timeline import availability, latency_over_time, migration_timeline, power_energy

__all__ = [
    "ResultPlots",
    "analytic_latency_cdf",
    "analytic_latency_over_time",
    "availability",
    "heatmap",
    "latency_cdf",
    "latency_over_time",
    "migration_timeline",
    "power_energy",
    "result_figures",
    "save_figures",
    "utilization",
]
