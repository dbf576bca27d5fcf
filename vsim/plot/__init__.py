"""Matplotlib figures from result DataFrames (no pyplot, no backend forced)."""

from vsim.plot.figures import ResultPlots, heatmap, save_figures, utilization

__all__ = ["ResultPlots", "heatmap", "save_figures", "utilization"]
