"""What every figure module of ``vsim.plot`` shares: figure creation, the time axis, empty
figures, column checks and writing figures to files.

Figures are built with the object API (:class:`matplotlib.figure.Figure`), never through
``pyplot``: nothing here selects or forces a backend (a notebook keeps its own), no figure
is registered in pyplot's global list (so nothing leaks and nothing needs closing), and
saving uses matplotlib's built-in Agg/SVG renderers whatever the backend is. The figures
also know how to show themselves in Jupyter (``_repr_png_``) even when pyplot was never
imported.

The figure modules (``figures``, ``sweep``, ``timeline``) import this one and not each other's
helpers.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsim._io import atomic_write

__all__ = [
    "DPI",
    "FIGSIZE",
    "HOURS_THRESHOLD_S",
    "VsimFigure",
    "empty_figure",
    "finish_cdf",
    "first_axes",
    "legend_outside",
    "panels",
    "figure_formats",
    "new_figure",
    "require_columns",
    "time_scale",
    "write_figures",
]

#: Runs longer than this (seconds) get a time axis in hours.
HOURS_THRESHOLD_S = 2 * 3600.0
FIGSIZE = (8.0, 4.5)
DPI = 120


class VsimFigure(Figure):
    """A plain :class:`~matplotlib.figure.Figure` that renders itself in Jupyter.

    IPython only registers its PNG formatter for figures once pyplot's inline backend is
    loaded; this fallback makes ``res.plot.utilization()`` display as an image anyway.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """An empty figure of the house size and resolution, laid out by matplotlib."""
    return VsimFigure(figsize=figsize, dpi=DPI, layout="constrained")


def time_scale(times: np.ndarray) -> tuple[float, str]:
    """Divisor and axis label for a time axis: hours for long runs, else seconds."""
    if times.size and float(np.nanmax(times)) > HOURS_THRESHOLD_S:
        return 3600.0, "time (h)"
    return 1.0, "time (s)"


def empty_figure(fig: Figure, title: str, text: str = "no data", ax: Any = None) -> Figure:
    """``fig`` with one blank axes (``ax`` when given) titled ``title`` that says ``text``
    (why nothing is drawn)."""
    ax = fig.add_subplot() if ax is None else ax
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def require_columns(
    frame: pd.DataFrame, what: str, *columns: str, frame_name: str = "table"
) -> None:
    """Raise ``ValueError`` naming the figure ``what`` when ``frame`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: {frame_name} lacks column(s) {missing}; "
            f"available: {', '.join(map(str, frame.columns))}"
        )


def figure_formats(formats: Iterable[str]) -> list[str]:
    """File formats as matplotlib names them (``".SVG"`` -> ``"svg"``); unknown ones raise."""
    fmts = [str(f).lower().lstrip(".") for f in formats]
    supported = Figure().canvas.get_supported_filetypes()
    unknown = [f for f in fmts if f not in supported]
    if unknown:
        raise ValueError(f"unsupported figure format(s) {unknown}; choose from {sorted(supported)}")
    return fmts


def write_figures(figures: dict[str, Figure], folder: Path, fmts: Iterable[str]) -> list[Path]:
    """Save each figure as ``folder/<name>.<fmt>`` in each format, atomically; the paths written."""
    written: list[Path] = []
    for name, fig in figures.items():
        for fmt in fmts:
            path = folder / f"{name}.{fmt}"
            atomic_write(path, lambda p, fig=fig, fmt=fmt: _save(fig, p, fmt))
            written.append(path)
    return written


def _save(fig: Figure, path: Path, fmt: str) -> None:
    # Reproducible files: no timestamps in the metadata.
    metadata: dict[str, Any] | None = {"Date": None} if fmt in ("svg", "pdf", "ps", "eps") else None
    fig.savefig(path, format=fmt, metadata=metadata)


def finish_cdf(ax: Any, title: str, *, slo: float | None = None, logx: bool = False) -> None:
    """Axes, title, grid and legend of a latency CDF; ``slo`` as a dashed vertical line and
    a log latency axis with ``logx`` (a tail spread over decades reads there)."""
    if slo is not None:
        ax.axvline(slo, color="k", linestyle="--", linewidth=1, label=f"SLO {slo:g} s")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("latency (s)")
    ax.set_ylabel("fraction of requests")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    # Lower right: under the flat top of the curves, away from the steep rise and p99 marks.
    ax.legend(loc="lower right", fontsize="small")


def legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend beside the axes, on the right: over the data it would hide a line (the p99
    of a latency series lies where ``loc="best"`` often puts it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def panels(ax: Any, n: int, figsize: tuple[float, float], **subplots: Any) -> tuple[Figure, list]:
    """The figure and ``n`` stacked axes of a multi-panel figure: those given as ``ax`` (``n``
    axes of one figure, e.g. ``fig.subplots(n, 1)``: a list, a tuple or an array), or a new
    figure's."""
    if ax is None:
        fig = new_figure(figsize)
        made = fig.subplots(n, 1, **subplots)
        return fig, list(made) if n > 1 else [made]
    axes = _axes_list(ax)
    if len(axes) != n:
        raise ValueError(f"this figure draws {n} panels: pass ax= as {n} axes, got {len(axes)}")
    return axes[0].figure, axes


def _axes_list(ax: Any) -> list:
    return [ax] if hasattr(ax, "plot") else list(np.ravel(np.asarray(ax, dtype=object)))


def first_axes(ax: Any) -> Any:
    """The first of the axes given as ``ax`` (one, or several as :func:`panels` takes), or
    ``None``: where a figure that has nothing to draw says so."""
    return None if ax is None else _axes_list(ax)[0]
