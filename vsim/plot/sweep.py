"""Figures across the runs of a sweep, and the latency CDF of one run.

All functions read DataFrames and return :class:`~matplotlib.figure.Figure` objects (object
API, no pyplot). The aggregate table of a sweep has the layout written by
``vsim.experiment.sweep``: ``config``, the swept parameters, ``runs``, ``failed``, then for
each metric ``m`` the columns ``m_mean``, ``m_std``, ``m_ci95``, ``m_ci95_low``,
``m_ci95_high``. This module does not import ``vsim.experiment``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vsim.plot.base import (
    empty_figure,
    figure_formats,
    finish_cdf,
    new_figure,
    require_columns,
    write_figures,
)

__all__ = [
    "SweepPlots",
    "latency_cdf",
    "metric_label",
    "pareto",
    "pareto_front",
    "rejecting",
    "save_sweep_figures",
    "draw_target",
    "sweep_curves",
]

#: Metrics drawn by ``vsim plot`` for a sweep folder, when present, in this order.
HEADLINE_METRICS = (
    "unmet_cpu_frac",
    "cpu_util_mean",
    "facility_energy_kwh",
    "cost_total",
    "cost_per_guest_month",
    "latency_s_p99",
    "availability",
    "migrations",
)
#: Candidates for the two axes of the trade-off figure: energy (x) against a service-level
#: shortfall (y), both to be minimized; the first present of each list is used.
PARETO_X = ("facility_energy_kwh", "energy_kwh", "cost_total")
PARETO_Y = ("slo_violation_frac", "sla_violation_frac", "latency_s_p99", "unmet_cpu_frac")

_UNITS = {
    "kwh": "kWh",
    "w": "W",
    "s": "s",
    "bytes": "bytes",
    "bps": "bytes/s",
    "mips": "MIPS",
    "frac": "fraction",
    "util": "fraction",
}


def metric_label(column: str) -> str:
    """An axis label with units from a column name.

    ``energy_kwh`` -> ``energy (kWh)``, ``cpu_util_mean`` -> ``mean cpu utilization
    (fraction)``, ``latency_s_p99`` -> ``p99 latency (s)``; costs are in the currency of the
    scenario's prices.
    """
    if column == "cost_per_guest_month":
        return "cost per guest-month (currency units)"
    if column.startswith("cost_"):
        return f"cost, {column.removeprefix('cost_').replace('_', ' ')} (currency units)"
    parts = column.split("_")
    for i in range(len(parts) - 1, 0, -1):
        unit = _UNITS.get(parts[i])
        if unit is not None:
            what = parts[:i] + (["utilization"] if parts[i] == "util" else [])
            return f"{' '.join(parts[i + 1 :] + what)} ({unit})"
    return column.replace("_", " ")


def _param_columns(aggregate: pd.DataFrame) -> list[str]:
    cols = list(aggregate.columns)
    if "config" in cols and "runs" in cols:
        return cols[cols.index("config") + 1 : cols.index("runs")]
    return []


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def sweep_curves(
    aggregate: pd.DataFrame,
    metric: str,
    x: str | None = None,
    *,
    by: Sequence[str] | None = None,
    hue: str | None = None,
    target: tuple[str, float] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Mean of ``metric`` against swept parameter ``x``, with its 95 % confidence band.

    One line per combination of the other swept parameters (``by``; default all of them).
    A numeric ``x`` gets lines and shaded bands; a categorical one (policy names) gets points
    with error bars, side by side.

    Args:
        aggregate: the sweep's aggregate table.
        metric: a summary column, e.g. ``"unmet_cpu_frac"`` (reads ``<metric>_mean`` etc.).
        x: the parameter on the horizontal axis (default: the first swept parameter).
        by: parameters whose combinations make separate lines.
        hue: the parameter that colours the lines, first of ``by`` (the others still
            separate lines).
        target: ``(op, value)`` with ``op`` one of ``<``, ``<=``, ``>``, ``>=``: the value as
            a horizontal line and the side that meets it shaded.
        title: figure title; a default is used when ``None``.
        ax: axes to draw on (default: a new figure's); its figure is returned.
    """
    params = _param_columns(aggregate)
    if x is None:
        if not params:
            raise ValueError("sweep_curves: the table has no swept parameter; pass x=")
        x = params[0]
    mean, low, high = f"{metric}_mean", f"{metric}_ci95_low", f"{metric}_ci95_high"
    require_columns(aggregate, "sweep_curves", x, mean)
    by = [p for p in params if p != x] if by is None else list(by)
    if hue is not None:
        require_columns(aggregate, "sweep_curves", hue)
        by = [hue, *(p for p in by if p not in (hue, x))]
    title = f"{metric_label(metric)} vs {x}" if title is None else title
    fig = new_figure() if ax is None else ax.figure
    if len(aggregate) == 0:
        return empty_figure(fig, title, "no samples", ax)
    ax = ax or fig.add_subplot()
    numeric = _is_numeric(aggregate[x])
    groups = list(aggregate.groupby(by, sort=False, dropna=False)) if by else [((), aggregate)]
    categories = list(pd.unique(aggregate[x])) if not numeric else []
    width = 0.8 / max(1, len(groups))
    for k, (key, group) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        if len(by) == 1:
            label = str(key[0])
        else:
            label = ", ".join(f"{p}={v}" for p, v in zip(by, key, strict=True)) or metric
        y = group[mean].to_numpy(dtype=float)
        lo = group[low].to_numpy(dtype=float) if low in group else np.full_like(y, np.nan)
        hi = group[high].to_numpy(dtype=float) if high in group else np.full_like(y, np.nan)
        color = f"C{k % 10}"
        if numeric:
            order = np.argsort(group[x].to_numpy(dtype=float), kind="stable")
            xs = group[x].to_numpy(dtype=float)[order]
            ax.plot(xs, y[order], marker="o", color=color, label=label)
            if np.isfinite(lo).any():
                ax.fill_between(xs, lo[order], hi[order], color=color, alpha=0.2, linewidth=0)
        else:
            pos = np.array([categories.index(v) for v in group[x]], dtype=float)
            pos += (k - (len(groups) - 1) / 2) * width
            err = np.vstack([y - lo, hi - y])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(pos, y, yerr=err, fmt="o", capsize=3, color=color, label=label)
    if not numeric:
        ax.set_xticks(np.arange(len(categories)), labels=[str(c) for c in categories])
    if target is not None:
        draw_target(ax, *target)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric_label(metric)}, mean ± 95 % CI")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small", title=", ".join(by) if by else None)
    return fig


def draw_target(ax: Axes, op: str, value: float) -> None:
    """A target ``metric op value`` on a metric's axis: the line, the side meeting it shaded."""
    if op not in ("<", "<=", ">", ">="):
        raise ValueError(f"target operator {op!r}: use <, <=, > or >=")
    lo, hi = ax.get_ylim()
    lo, hi = min(lo, value), max(hi, value)
    ax.axhline(value, color="C2", linestyle="--", linewidth=1.2, label=f"target {op} {value:g}")
    below = op.startswith("<")
    ax.axhspan(lo if below else value, value if below else hi, color="C2", alpha=0.08, lw=0)
    ax.set_ylim(lo, hi)


#: Columns counting rejected guests: in a sweep's aggregate, and in its runs.
REJECTED_COLUMNS = ("guests_rejected_mean", "guests_rejected")


def rejecting(frame: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows (configurations or runs) that rejected guests."""
    column = next((c for c in REJECTED_COLUMNS if c in frame.columns), None)
    if column is None:
        return np.zeros(len(frame), dtype=bool)
    return np.nan_to_num(frame[column].to_numpy(dtype=float)) > 0


def pareto_front(
    frame: pd.DataFrame, x: str, y: str, eligible: np.ndarray | None = None
) -> np.ndarray:
    """Boolean mask of the rows no other row dominates, minimizing both ``x`` and ``y``.

    Row ``j`` dominates row ``i`` when ``x_j <= x_i`` and ``y_j <= y_i`` with one inequality
    strict; identical points are all kept. Rows with a missing value, and rows outside
    ``eligible`` (a boolean mask), are never on the front and dominate nothing.
    """
    xs = frame[x].to_numpy(dtype=float)
    ys = frame[y].to_numpy(dtype=float)
    mask = np.zeros(len(frame), dtype=bool)
    ok = np.isfinite(xs) & np.isfinite(ys)
    valid = np.flatnonzero(ok if eligible is None else ok & eligible)
    order = valid[np.lexsort((ys[valid], xs[valid]))]
    best = np.inf
    i = 0
    while i < order.size:
        j = i
        while j < order.size and xs[order[j]] == xs[order[i]]:
            j += 1
        group = order[i:j]
        ymin = ys[group].min()
        if ymin < best:
            mask[group[ys[group] == ymin]] = True
            best = ymin
        i = j
    return mask


ErrorColumns = str | tuple[str, str] | None
#: How configurations that reject guests are drawn on a Pareto figure.
_REJECTING = {"marker": "x", "color": "C1", "zorder": 2, "label": "rejects guests (off the front)"}


def _error_bars(frame: pd.DataFrame, values: np.ndarray, err: ErrorColumns) -> np.ndarray | None:
    """Error bars as matplotlib takes them (2 x n, below and above) from a half-width column
    or a ``(low, high)`` pair of interval columns; missing bounds draw no bar."""
    if isinstance(err, tuple):
        if not all(c in frame.columns for c in err):
            return None
        low, high = (frame[c].to_numpy(dtype=float) for c in err)
        bars = np.vstack([values - low, high - values])
    elif err in frame.columns:
        half = frame[err].to_numpy(dtype=float)
        bars = np.vstack([half, half])
    else:
        return None
    return np.where(np.isfinite(bars), np.maximum(bars, 0.0), 0.0)


def _interval_columns(metric: str) -> tuple[str, str]:
    return f"{metric}_ci95_low", f"{metric}_ci95_high"


def pareto(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    label: str | Sequence[str] | None = None,
    xerr: ErrorColumns = None,
    yerr: ErrorColumns = None,
    allow_rejected: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Scatter of two columns to minimize, with the Pareto front highlighted.

    Works on any table: the runs of a sweep, or its aggregate (then pass
    ``x="energy_kwh_mean"`` and ``xerr=("energy_kwh_ci95_low", "energy_kwh_ci95_high")`` for
    the interval as error bars, or a half-width column such as ``"energy_kwh_ci95"``). Points
    on the front are joined by a step line and labelled with the ``label`` column(s).

    Rows that rejected guests (``guests_rejected_mean`` or ``guests_rejected`` above 0) answer
    for fewer guests than asked: they are drawn as crosses and kept off the front unless
    ``allow_rejected``.
    """
    require_columns(frame, "pareto", x, y)
    title = f"{metric_label(y)} vs {metric_label(x)}: Pareto front" if title is None else title
    fig = new_figure() if ax is None else ax.figure
    if len(frame) == 0:
        return empty_figure(fig, title, "no samples", ax)
    ax = ax or fig.add_subplot()
    xs = frame[x].to_numpy(dtype=float)
    ys = frame[y].to_numpy(dtype=float)
    rejects = np.zeros(len(frame), dtype=bool) if allow_rejected else rejecting(frame)
    on = pareto_front(frame, x, y, eligible=~rejects)
    xe, ye = _error_bars(frame, xs, xerr), _error_bars(frame, ys, yerr)
    if xe is not None or ye is not None:
        ax.errorbar(
            xs, ys, xerr=xe, yerr=ye, fmt="none", ecolor="0.6", capsize=2, label="95 % interval"
        )
    plain = ~on & ~rejects
    ax.scatter(xs[plain], ys[plain], color="0.55", label="dominated", zorder=2)
    if rejects.any():
        ax.scatter(xs[rejects], ys[rejects], **_REJECTING)
    ax.scatter(xs[on], ys[on], color="C3", label="Pareto front", zorder=3)
    order = np.argsort(xs[on], kind="stable")
    ax.step(xs[on][order], ys[on][order], where="post", color="C3", alpha=0.6, zorder=3)
    if label is not None:
        cols = [label] if isinstance(label, str) else list(label)
        _label_points(ax, frame, cols, (xs, ys), on)
    ax.set_xlabel(_mean_label(x))
    ax.set_ylabel(_mean_label(y))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def _mean_label(column: str) -> str:
    return metric_label(column.removesuffix("_mean")) + (
        ", mean" if column.endswith("_mean") else ""
    )


def _label_points(ax, frame: pd.DataFrame, cols: list[str], xy: tuple, on: np.ndarray) -> None:
    """Annotate the points in ``on`` with their ``cols`` values (the swept parameters)."""
    for i in np.flatnonzero(on):
        text = ", ".join(f"{c.split('.')[-1]}={frame[c].iloc[i]}" for c in cols)
        ax.annotate(
            text,
            (xy[0][i], xy[1][i]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize="x-small",
        )


def latency_cdf(
    requests: pd.DataFrame | None,
    column: str = "latency_s",
    *,
    by: str | None = None,
    slo: float | None = None,
    logx: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Empirical CDF of request latency, with the 50th, 95th and 99th percentiles marked.

    ``by`` draws one curve per value of a column (e.g. a service); ``slo`` (s) draws the
    target as a vertical line; ``logx`` puts latency on a log axis. Draws on ``ax`` when
    given and returns its figure. Without requests or without the latency column the figure
    says so instead of failing.
    """
    title = "Request latency CDF" if title is None else title
    fig = new_figure() if ax is None else ax.figure
    if requests is None or len(requests) == 0 or column not in requests.columns:
        return empty_figure(fig, title, f"no {column} data", ax)
    ax = ax or fig.add_subplot()
    groups = list(requests.groupby(by, sort=True)) if by else [(None, requests)]
    for k, (key, group) in enumerate(groups):
        values = np.sort(group[column].to_numpy(dtype=float))
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        prob = np.arange(1, values.size + 1) / values.size
        color = f"C{k % 10}"
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        name = f"{by}={key}" if by else "all requests"
        ax.step(
            values,
            prob,
            where="post",
            color=color,
            label=f"{name} (p50 {p50:.3g} s, p95 {p95:.3g} s, p99 {p99:.3g} s)",
        )
        for q, v in ((0.5, p50), (0.95, p95), (0.99, p99)):
            ax.plot([v], [q], marker="o", color=color, markersize=4)
    finish_cdf(ax, title, slo=slo, logx=logx)
    return fig


def _metric_names(aggregate: pd.DataFrame, *, nonzero: bool = False) -> list[str]:
    """Metrics of an aggregate table that have a finite mean somewhere; with ``nonzero``,
    only those not zero in every configuration (a curve of zeros, of a part the scenario
    does not use, says nothing)."""
    names = []
    for c in aggregate.columns:
        if not c.endswith("_mean") or f"{c.removesuffix('_mean')}_ci95" not in aggregate.columns:
            continue
        values = pd.to_numeric(aggregate[c], errors="coerce").to_numpy(dtype=float)
        if np.isfinite(values).any() and (not nonzero or (values[~np.isnan(values)] != 0).any()):
            names.append(c.removesuffix("_mean"))
    return names


def save_sweep_figures(
    aggregate: pd.DataFrame,
    folder: str | os.PathLike[str],
    formats: Iterable[str] = ("png",),
    *,
    metrics: Sequence[str] | None = None,
    x: str | None = None,
    hue: str | None = None,
    targets: dict[str, tuple[str, float]] | None = None,
    allow_rejected: bool = False,
) -> list[Path]:
    """Render the standard figures of a sweep into ``folder``, each written atomically.

    For every swept parameter, ``curve_<metric>_vs_<param>.<fmt>`` for each headline metric
    present (or ``metrics``); and ``pareto.<fmt>``: energy against the service-level shortfall
    (the first present of ``slo_violation_frac``, ``sla_violation_frac``, ``latency_s_p99``,
    ``unmet_cpu_frac``), one point per configuration with its 95 % intervals as error bars;
    configurations that reject guests stay off the front unless ``allow_rejected``.

    ``metrics`` chooses the metrics (default: the headline ones; all-zero metrics are skipped
    either way), ``x`` the one parameter on the horizontal axis (default: one figure per
    parameter), ``hue`` the parameter that colours the lines, and ``targets`` maps a metric to
    ``(op, value)``, drawn on its curves with the side that meets it shaded.
    """
    folder = Path(folder)
    fmts = figure_formats(formats)
    folder.mkdir(parents=True, exist_ok=True)
    known = _metric_names(aggregate)
    drawn = _metric_names(aggregate, nonzero=True)
    chosen = [m for m in (metrics or HEADLINE_METRICS) if m in drawn]
    params = _param_columns(aggregate)
    figures: dict[str, Figure] = {}
    if metrics:
        unknown = [m for m in metrics if f"{m}_mean" not in aggregate.columns]
        if unknown:
            raise ValueError(f"no metric {unknown[0]!r} in the aggregate; known: {known}")
    if x is not None and x not in params:
        raise ValueError(f"--x {x!r} is not a swept parameter; swept: {params}")
    if hue is not None and hue not in params:
        raise ValueError(f"--hue {hue!r} is not a swept parameter; swept: {params}")
    targets = targets or {}
    for p in [x] if x else params:
        safe = p.replace(".", "_").replace(":", "_")
        for m in chosen:
            figures[f"curve_{m}_vs_{safe}"] = sweep_curves(
                aggregate, m, p, hue=hue if hue != p else None, target=targets.get(m)
            )
    px = next((m for m in PARETO_X if m in known), None)
    py = next((m for m in PARETO_Y if m in known), None)
    if px and py and len(aggregate):
        figures["pareto"] = pareto(
            aggregate,
            f"{px}_mean",
            f"{py}_mean",
            xerr=_interval_columns(px),
            yerr=_interval_columns(py),
            label=params or None,
            allow_rejected=allow_rejected,
            title=f"{metric_label(py)} vs {metric_label(px)} across the sweep",
        )
    return write_figures(figures, folder, fmts)


class SweepPlots:
    """Figure accessor of a sweep result: ``sw.plot.curves(...)``, ``sw.plot.pareto(...)``."""

    def __init__(self, aggregate: pd.DataFrame, params: Sequence[str]) -> None:
        self._agg = aggregate
        self._params = list(params)

    def curves(
        self,
        metric: str,
        x: str | None = None,
        *,
        by: Sequence[str] | None = None,
        title: str | None = None,
    ) -> Figure:
        """Mean and 95 % band of ``metric`` against parameter ``x`` (see :func:`sweep_curves`)."""
        x = x or (self._params[0] if self._params else None)
        if by is None:
            by = [p for p in self._params if p != x]
        return sweep_curves(self._agg, metric, x, by=by, title=title)

    def pareto(
        self,
        x: str = "facility_energy_kwh",
        y: str = "unmet_cpu_frac",
        *,
        allow_rejected: bool = False,
        title: str | None = None,
    ) -> Figure:
        """Configuration means of two metrics to minimize, their 95 % intervals as error bars,
        the front marked; configurations that reject guests kept off it unless
        ``allow_rejected``."""
        return pareto(
            self._agg,
            f"{x}_mean",
            f"{y}_mean",
            xerr=_interval_columns(x),
            yerr=_interval_columns(y),
            label=self._params or None,
            allow_rejected=allow_rejected,
            title=title,
        )

    def __repr__(self) -> str:
        return "SweepPlots(curves(metric, x=None), pareto(x='facility_energy_kwh', y=...))"
