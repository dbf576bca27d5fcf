"""The standard figures of one result, found from the data it has, drawn and saved.

This module ties the figure modules together: it picks the figures a result's frames allow
(:func:`result_figures`), writes them (:func:`save_figures`, used by ``vsim run`` and
``vsim plot``), and gives a result its ``res.plot`` accessor (:class:`ResultPlots`). It reads
DataFrames only; it does not import ``vsim.experiment``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsim.plot.analytic import analytic_latency_cdf, analytic_latency_over_time
from vsim.plot.base import figure_formats, write_figures
from vsim.plot.coresidency import coverage_timeline
from vsim.plot.deployments import deployment_timeline
from vsim.plot.figures import heatmap, utilization
from vsim.plot.sweep import latency_cdf
from vsim.plot.timeline import (
    GUEST_DOWN_KINDS,
    availability,
    latency_over_time,
    migration_timeline,
    power_energy,
)

__all__ = ["ResultLike", "ResultPlots", "result_figures", "save_figures"]


class ResultLike(Protocol):
    """Anything carrying the result frames (e.g. ``vsim.experiment.results.Result``)."""

    hosts: pd.DataFrame


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
    return _has_rows(events, "time_s", "kind", "subject") and bool(
        events["kind"].isin(GUEST_DOWN_KINDS).any()
    )


def result_figures(result_like: ResultLike) -> dict[str, Figure]:
    """The standard figures of a result, by file stem, for the data it has.

    Always ``utilization`` and ``heatmap_cpu``; ``latency_cdf`` and ``latency_over_time``
    when ``requests`` has rows with ``latency_s``, else from the ``analytic`` table when
    it has rows (services in analytic mode, drawn from their distribution);
    ``migration_timeline`` when ``migrations`` has rows; ``availability`` when ``events``
    holds a ``guest_down`` or ``host_failed``; ``power_energy`` when ``hosts`` has a
    ``power_w`` column; ``coresidency`` (coverage over time) when ``coresidency`` has rows.
    Missing attributes count as missing data.
    """
    hosts = result_like.hosts
    figures = {
        "utilization": utilization(hosts),
        "heatmap_cpu": heatmap(hosts, "cpu_util"),
    }
    requests = _frame(result_like, "requests")
    analytic = _frame(result_like, "analytic")
    if _has_rows(requests, "latency_s"):
        figures["latency_cdf"] = latency_cdf(requests, slo=_slo(result_like))
        figures["latency_over_time"] = latency_over_time(requests)
    elif _has_rows(analytic, "requests", "latency_s_mean"):
        # Only analytic services: the same figures, from their distribution.
        figures["latency_cdf"] = analytic_latency_cdf(analytic, slo=_slo(result_like))
        figures["latency_over_time"] = analytic_latency_over_time(analytic)
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
    deployments = _frame(result_like, "deployments")
    if _has_rows(deployments, "ready"):
        figures["deployments"] = deployment_timeline(deployments, events)
    coresidency = _frame(result_like, "coresidency")
    if _has_rows(coresidency, "coverage"):
        figures["coresidency"] = coverage_timeline(coresidency, _run_end(result_like))
    return figures


def _slo(result_like: Any) -> float | None:
    """The tightest SLO of the result's services (its ``services`` table), if any."""
    services = _frame(result_like, "services")
    if not _has_rows(services, "slo_s"):
        return None
    slos = services["slo_s"].to_numpy(dtype=float)
    slos = slos[np.isfinite(slos)]
    return float(slos.min()) if slos.size else None


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
    fmts = figure_formats(formats)
    folder.mkdir(parents=True, exist_ok=True)

    return write_figures(result_figures(result_like), folder, fmts)


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
        """Cluster CPU and memory over time (see :func:`vsim.plot.figures.utilization`)."""
        return utilization(self._result.hosts, title=title)

    def heatmap(self, column: str = "cpu_util", *, title: str | None = None) -> Figure:
        """Host-by-time image of ``column`` (see :func:`vsim.plot.figures.heatmap`)."""
        return heatmap(self._result.hosts, column, title=title)

    def latency_cdf(
        self,
        *,
        by: str | None = None,
        slo: float | None = None,
        logx: bool = False,
        title: str | None = None,
        ax: Any = None,
    ) -> Figure:
        """CDF of request latency (see :func:`vsim.plot.sweep.latency_cdf`), from the
        analytic distribution when the run has only analytic services; ``slo`` defaults to
        the tightest SLO of the run's services."""
        slo = _slo(self._result) if slo is None else slo
        requests = _frame(self._result, "requests")
        if not _has_rows(requests, "latency_s"):
            analytic = _frame(self._result, "analytic")
            if _has_rows(analytic, "requests"):
                return analytic_latency_cdf(
                    analytic, by=by or "service", slo=slo, logx=logx, title=title, ax=ax
                )
        return latency_cdf(requests, by=by, slo=slo, logx=logx, title=title, ax=ax)

    def latency_over_time(
        self, interval_s: float | None = None, *, title: str | None = None
    ) -> Figure:
        """p50/p95/p99 latency per time bin (see :func:`vsim.plot.timeline.latency_over_time`)."""
        return latency_over_time(_frame(self._result, "requests"), interval_s, title=title)

    def migrations(self, *, title: str | None = None) -> Figure:
        """Live migrations over time (see :func:`vsim.plot.timeline.migration_timeline`)."""
        return migration_timeline(
            _frame(self._result, "migrations"), _frame(self._result, "hosts"), title=title
        )

    def availability(self, *, title: str | None = None) -> Figure:
        """Guests down, host failures and per-guest downtime
        (see :func:`vsim.plot.timeline.availability`)."""
        return availability(
            _frame(self._result, "events"),
            _availability_table(self._result),
            end_s=_run_end(self._result),
            title=title,
        )

    def power(self, *, title: str | None = None) -> Figure:
        """Cluster power and cumulative energy (see :func:`vsim.plot.timeline.power_energy`)."""
        return power_energy(_frame(self._result, "hosts"), title=title)

    def __repr__(self) -> str:
        return (
            "ResultPlots(utilization(), heatmap(column='cpu_util'), latency_cdf(), "
            "latency_over_time(), migrations(), availability(), power())"
        )
