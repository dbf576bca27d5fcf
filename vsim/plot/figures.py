"""Matplotlib figures from result DataFrames.

Figures are built with the object API (:class:`matplotlib.figure.Figure`), never through
``pyplot``: nothing here selects or forces a backend (a notebook keeps its own), no figure
is registered in pyplot's global list (so nothing leaks and nothing needs closing), and
saving uses matplotlib's built-in Agg/SVG renderers whatever the backend is. The figures
also know how to show themselves in Jupyter (``_repr_png_``) even when pyplot was never
imported.

This module reads DataFrames only; it does not import ``vsim.experiment``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from vsim._io import atomic_write

__all__ = ["ResultPlots", "heatmap", "result_figures", "save_figures", "utilization"]

#: Runs longer than this (seconds) get a time axis in hours.
HOURS_THRESHOLD_S = 2 * 3600.0
#: At most this many hosts get one tick label each on the heatmap.
MAX_HOST_LABELS = 40
FIGSIZE = (8.0, 4.5)
DPI = 120


class ResultLike(Protocol):
    """Anything carrying the result frames (e.g. ``vsim.experiment.results.Result``)."""

    hosts: pd.DataFrame


class VsimFigure(Figure):
    """A plain :class:`~matplotlib.figure.Figure` that renders itself in Jupyter.

    IPython only registers its PNG formatter for figures once pyplot's inline backend is
    loaded; this fallback makes ``res.plot.utilization()`` display as an image anyway.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def _new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    return VsimFigure(figsize=figsize, dpi=DPI, layout="constrained")


def _time_scale(times: np.ndarray) -> tuple[float, str]:
    """Divisor and axis label for a time axis: hours for long runs, else seconds."""
    if times.size and float(np.nanmax(times)) > HOURS_THRESHOLD_S:
        return 3600.0, "time (h)"
    return 1.0, "time (s)"


def _empty(fig: Figure, title: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def _no_samples(hosts: pd.DataFrame | None) -> bool:
    return hosts is None or len(hosts) == 0


def _require_columns(hosts: pd.DataFrame, what: str, *columns: str) -> None:
    missing = [c for c in columns if c not in hosts.columns]
    if missing:
        raise ValueError(
            f"{what}: hosts frame lacks column(s) {missing}; "
            f"available: {', '.join(map(str, hosts.columns))}"
        )


def utilization(hosts: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Cluster-wide CPU and memory utilization over time.

    Lines are the mean over hosts whose ``state`` is ``"on"`` at each sample (all hosts
    when there is no ``state`` column); the shaded band spans the 10th to 90th percentile
    of per-host CPU utilization. Samples where no host is on show as gaps.

    Args:
        hosts: tidy host samples with ``time_s``, ``cpu_util``, ``mem_util`` (and ``state``).
        title: figure title; a default is used when ``None``.

    Returns:
        A new figure (one axes); an empty figure saying "no samples" when there is no data.
    """
    title = "Cluster utilization" if title is None else title
    fig = _new_figure()
    if _no_samples(hosts):
        return _empty(fig, title)
    _require_columns(hosts, "utilization", "time_s", "cpu_util", "mem_util")

    times = np.sort(pd.unique(hosts["time_s"].to_numpy(dtype=float)))
    on = hosts[hosts["state"] == "on"] if "state" in hosts.columns else hosts
    grouped = on.groupby("time_s", sort=True)
    stats = pd.DataFrame(
        {
            "cpu": grouped["cpu_util"].mean(),
            "mem": grouped["mem_util"].mean(),
            "p10": grouped["cpu_util"].quantile(0.1),
            "p90": grouped["cpu_util"].quantile(0.9),
        }
    ).reindex(times)

    scale, xlabel = _time_scale(times)
    x = times / scale
    marker = "o" if len(times) < 2 else None
    ax = fig.add_subplot()
    ax.fill_between(
        x,
        stats["p10"].to_numpy(dtype=float),
        stats["p90"].to_numpy(dtype=float),
        color="C0",
        alpha=0.2,
        linewidth=0,
        label="CPU, hosts p10–p90",
    )
    ax.plot(x, stats["cpu"].to_numpy(dtype=float), color="C0", marker=marker, label="CPU, mean")
    ax.plot(x, stats["mem"].to_numpy(dtype=float), color="C1", marker=marker, label="memory, mean")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("utilization (fraction)")
    top = np.nanmax(stats[["p90", "cpu", "mem"]].to_numpy(dtype=float), initial=0.0)
    ax.set_ylim(0.0, max(1.0, float(top)) * 1.05)
    if x.size > 1:
        ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return fig


def heatmap(hosts: pd.DataFrame, column: str = "cpu_util", *, title: str | None = None) -> Figure:
    """Host-by-time image of one per-host column.

    Rows are hosts in order of first appearance, columns are samples in time order; each
    cell spans the sampling interval that ends at its ``time_s``. Cells with no sample
    (e.g. a host that did not exist yet) are grey. Colour scale runs from 0 to
    ``max(1, data max)``. With more than 40 hosts, only a few evenly spaced host names are
    labelled.

    Args:
        hosts: tidy host samples with ``time_s``, ``host`` and ``column``.
        column: which value to show, e.g. ``"cpu_util"``, ``"mem_util"``.
        title: figure title; a default is used when ``None``.

    Returns:
        A new figure (image axes plus colour bar); an empty "no samples" figure when there
        is no data.
    """
    title = f"{column} per host" if title is None else title
    fig = _new_figure()
    if _no_samples(hosts):
        return _empty(fig, title)
    _require_columns(hosts, "heatmap", "time_s", "host", column)

    host_order = pd.unique(hosts["host"])
    times = np.sort(pd.unique(hosts["time_s"].to_numpy(dtype=float)))
    grid = (
        hosts.groupby(["host", "time_s"], sort=False)[column]
        .mean()
        .unstack("time_s")
        .reindex(index=host_order, columns=times)
    )
    data = np.ma.masked_invalid(grid.to_numpy(dtype=float))
    vmax = max(1.0, float(data.max())) if data.count() else 1.0

    scale, xlabel = _time_scale(times)
    if times.size > 1:
        step = float(times[1] - times[0])
    else:
        step = float(times[0]) if times.size and times[0] > 0 else 1.0
    left, right = (times[0] - step) / scale, times[-1] / scale
    n_hosts = len(host_order)

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    ax = fig.add_subplot()
    image = ax.imshow(
        data,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=0.0,
        vmax=vmax,
        extent=(left, right, n_hosts - 0.5, -0.5),
    )
    names = [str(h) for h in host_order]
    if n_hosts <= MAX_HOST_LABELS:
        ax.set_yticks(np.arange(n_hosts), labels=names)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=20, integer=True))

        def _name(value: float, _pos: int) -> str:
            i = int(round(value))
            return names[i] if 0 <= i < n_hosts and abs(value - i) < 1e-6 else ""

        ax.yaxis.set_major_formatter(FuncFormatter(_name))
    ax.set_ylabel(f"host ({n_hosts})")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    label = f"{column} (fraction)" if column.endswith("_util") else column
    fig.colorbar(image, ax=ax, label=label)
    return fig


def _frame(result_like: Any, name: str) -> pd.DataFrame | None:
    frame = getattr(result_like, name, None)
    return frame if isinstance(frame, pd.DataFrame) else None


def _has_rows(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is not None and len(frame) > 0 and all(c in frame.columns for c in columns)


def _availability_table(result_like: Any) -> pd.DataFrame | None:
    """Per-guest availability of a result, or ``None`` when it cannot be computed."""
    try:
        from vsim.metrics.availability import availability_table
    except ImportError:  # pragma: no cover - the metrics package is part of vsim
        return None
    try:
        return availability_table(result_like)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # not a full result (no manifest, ...): the timeline alone is drawn


def _has_failures(events: pd.DataFrame | None) -> bool:
    from vsim.plot.timeline import GUEST_DOWN_KINDS

    return _has_rows(events, "time_s", "kind", "subject") and bool(
        events["kind"].isin(GUEST_DOWN_KINDS).any()
    )


def result_figures(result_like: ResultLike) -> dict[str, Figure]:
    """The standard figures of a result, by file stem, for the data it has.

    Always ``utilization`` and ``heatmap_cpu``; ``latency_cdf`` and ``latency_over_time``
    when ``requests`` has rows with ``latency_s``; ``migration_timeline`` when
    ``migrations`` has rows; ``availability`` when ``events`` holds a ``guest_down`` or
    ``host_failed``; ``power_energy`` when ``hosts`` has a ``power_w`` column.
    Missing attributes count as missing data.
    """
    from vsim.plot.sweep import latency_cdf
    from vsim.plot.timeline import (
        availability,
        latency_over_time,
        migration_timeline,
        power_energy,
    )

    hosts = result_like.hosts
    figures = {
        "utilization": utilization(hosts),
        "heatmap_cpu": heatmap(hosts, "cpu_util"),
    }
    requests = _frame(result_like, "requests")
    if _has_rows(requests, "latency_s"):
        figures["latency_cdf"] = latency_cdf(requests)
        figures["latency_over_time"] = latency_over_time(requests)
    migrations = _frame(result_like, "migrations")
    if _has_rows(migrations):
        figures["migration_timeline"] = migration_timeline(migrations, hosts)
    events = _frame(result_like, "events")
    if _has_failures(events):
        figures["availability"] = availability(
            events, _availability_table(result_like), end_s=_run_end(result_like)
        )
    if _has_rows(hosts, "power_w"):
        figures["power_energy"] = power_energy(hosts)
    return figures


def _run_end(result_like: Any) -> float | None:
    hosts = _frame(result_like, "hosts")
    if _has_rows(hosts, "time_s"):
        end = float(np.nanmax(hosts["time_s"].to_numpy(dtype=float)))
        return end if np.isfinite(end) else None
    return None


def save_figures(
    result_like: ResultLike,
    folder: str | os.PathLike[str],
    formats: Iterable[str] = ("png",),
) -> list[Path]:
    """Render the standard figures of a result into ``folder`` (created if needed).

    Writes ``utilization.<fmt>`` and ``heatmap_cpu.<fmt>`` for every format, then, only
    when their data exist (see :func:`result_figures`), ``latency_cdf``,
    ``latency_over_time``, ``migration_timeline``, ``availability`` and ``power_energy``;
    each file through an atomic write.

    Args:
        result_like: anything with a ``hosts`` DataFrame (and optionally ``requests``,
            ``migrations``, ``events``, ``manifest``).
        folder: output folder.
        formats: file formats matplotlib can write, e.g. ``("png", "svg")``.

    Returns:
        The written paths, in order.
    """
    folder = Path(folder)
    fmts = [str(f).lower().lstrip(".") for f in formats]
    supported = Figure().canvas.get_supported_filetypes()
    unknown = [f for f in fmts if f not in supported]
    if unknown:
        raise ValueError(f"unsupported figure format(s) {unknown}; choose from {sorted(supported)}")
    folder.mkdir(parents=True, exist_ok=True)

    return _write_all(result_figures(result_like), folder, fmts)


def _write_all(figures: dict[str, Figure], folder: Path, fmts: Iterable[str]) -> list[Path]:
    """Save each figure in each format, atomically; the paths written."""
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


class ResultPlots:
    """Figure accessor for a result: ``res.plot.utilization()``, ``res.plot.heatmap()``,
    ``res.plot.latency_cdf()``, ``res.plot.latency_over_time()``, ``res.plot.migrations()``,
    ``res.plot.availability()``, ``res.plot.power()``.

    Holds any object with a ``hosts`` DataFrame (the other frames are optional: a missing
    one draws a "no data" figure); each method returns a new
    :class:`~matplotlib.figure.Figure`.
    """

    def __init__(self, result: ResultLike) -> None:
        self._result = result

    def utilization(self, *, title: str | None = None) -> Figure:
        """Cluster CPU and memory utilization over time (see :func:`utilization`)."""
        return utilization(self._result.hosts, title=title)

    def heatmap(self, column: str = "cpu_util", *, title: str | None = None) -> Figure:
        """Host-by-time image of ``column`` (see :func:`heatmap`)."""
        return heatmap(self._result.hosts, column, title=title)

    def latency_cdf(self, *, by: str | None = None, title: str | None = None) -> Figure:
        """CDF of request latency (see :func:`vsim.plot.sweep.latency_cdf`)."""
        from vsim.plot.sweep import latency_cdf

        return latency_cdf(_frame(self._result, "requests"), by=by, title=title)

    def latency_over_time(
        self, interval_s: float | None = None, *, title: str | None = None
    ) -> Figure:
        """p50/p95/p99 latency per time bin (see :func:`vsim.plot.timeline.latency_over_time`)."""
        from vsim.plot.timeline import latency_over_time

        return latency_over_time(_frame(self._result, "requests"), interval_s, title=title)

    def migrations(self, *, title: str | None = None) -> Figure:
        """Live migrations over time (see :func:`vsim.plot.timeline.migration_timeline`)."""
        from vsim.plot.timeline import migration_timeline

        return migration_timeline(
            _frame(self._result, "migrations"), _frame(self._result, "hosts"), title=title
        )

    def availability(self, *, title: str | None = None) -> Figure:
        """Guests down, host failures and per-guest downtime
        (see :func:`vsim.plot.timeline.availability`)."""
        from vsim.plot.timeline import availability

        return availability(
            _frame(self._result, "events"),
            _availability_table(self._result),
            end_s=_run_end(self._result),
            title=title,
        )

    def power(self, *, title: str | None = None) -> Figure:
        """Cluster power and cumulative energy (see :func:`vsim.plot.timeline.power_energy`)."""
        from vsim.plot.timeline import power_energy

        return power_energy(_frame(self._result, "hosts"), title=title)

    def __repr__(self) -> str:
        return (
            "ResultPlots(utilization(), heatmap(column='cpu_util'), latency_cdf(), "
            "latency_over_time(), migrations(), availability(), power())"
        )
