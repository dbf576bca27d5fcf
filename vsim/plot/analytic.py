"""The latency figures of services in ``mode: analytic``, drawn from their distribution.

The analytic table (one row per sampling interval and guest: ``requests``, ``latency_s_mean``)
defines the response time as a mixture of exponentials weighted by requests
(:mod:`vsim.metrics.latency`). The two figures are the simulated mode's, computed from that
mixture instead of from request rows: the CDF (:func:`analytic_latency_cdf`) and p50, p95 and
p99 per sampling interval (:func:`analytic_latency_over_time`). Saturated intervals (infinite
mean) are drawn as such: the CDF stops short of 1 by their share, and the time series shades
them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vsim.metrics.latency import mixture_cdf, mixture_quantile
from vsim.plot.base import empty_figure, finish_cdf, legend_outside, new_figure, time_scale

__all__ = ["analytic_latency_cdf", "analytic_latency_over_time"]

_PERCENTILES = ((50, "C0"), (95, "C1"), (99, "C3"))


def _axes(ax: Axes | None) -> tuple[Figure, Axes | None]:
    if ax is not None:
        return ax.figure, ax
    return new_figure(), None


def _mixture(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame["requests"].to_numpy(dtype=float), frame["latency_s_mean"].to_numpy(dtype=float)


def analytic_latency_cdf(
    analytic: pd.DataFrame | None,
    *,
    by: str | None = "service",
    slo: float | None = None,
    logx: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """CDF of the analytic response time, one curve per ``by`` value (default: service),
    the 50th, 95th and 99th percentiles marked, and ``slo`` as a vertical line.

    Returns the figure (``ax``'s when given)."""
    title = "Request latency CDF (analytic)" if title is None else title
    fig, ax = _axes(ax)
    if analytic is None or not len(analytic) or not analytic["requests"].sum() > 0:
        return empty_figure(fig, title, "no analytic requests", ax)
    ax = ax or fig.add_subplot()
    groups = list(analytic.groupby(by, sort=True)) if by else [("all", analytic)]
    w_all, m_all = _mixture(analytic)
    finite = m_all[np.isfinite(m_all) & (w_all > 0)]
    top = mixture_quantile(w_all, m_all, 0.999)
    top = top if np.isfinite(top) else float(finite.max() * 10) if finite.size else 1.0
    low = float(finite.min()) * 0.01 if finite.size else top * 1e-3
    xs = np.geomspace(low, top, 400) if logx else np.linspace(0.0, top, 400)
    for k, (key, group) in enumerate(groups):
        w, m = _mixture(group)
        if not w.sum() > 0:
            continue
        color = f"C{k % 10}"
        ps = [mixture_quantile(w, m, p / 100) for p, _ in _PERCENTILES]
        saturated = float(w[np.isinf(m)].sum() / w.sum())
        text = ", ".join(f"p{p} {v:.3g} s" for (p, _), v in zip(_PERCENTILES, ps, strict=True))
        text += f", {100 * saturated:.3g} % saturated" if saturated else ""
        ax.plot(xs, mixture_cdf(w, m, xs), color=color, label=f"{by}={key} ({text})")
        for (p, _), v in zip(_PERCENTILES, ps, strict=True):
            if np.isfinite(v):
                ax.plot([v], [p / 100], marker="o", color=color, markersize=4)
    finish_cdf(ax, title, slo=slo, logx=logx)
    return fig


def analytic_latency_over_time(
    analytic: pd.DataFrame | None, *, title: str | None = None, ax: Axes | None = None
) -> Figure:
    """p50, p95 and p99 of the analytic response time per sampling interval, all services
    pooled; intervals where most requests saturated shaded. Returns the figure."""
    title = "Request latency over time (analytic)" if title is None else title
    fig, ax = _axes(ax)
    if analytic is None or not len(analytic) or not analytic["requests"].sum() > 0:
        return empty_figure(fig, title, "no analytic requests", ax)
    ax = ax or fig.add_subplot()
    times = np.sort(analytic["time_s"].unique())
    scale, xlabel = time_scale(times)
    rows = {t: g for t, g in analytic.groupby("time_s", sort=True)}
    for p, color in _PERCENTILES:
        values = [mixture_quantile(*_mixture(rows[t]), p / 100) for t in times]
        ys = np.where(np.isfinite(values), values, np.nan)
        ax.plot(times / scale, ys, color=color, marker="o", markersize=3, label=f"p{p}")
    step = np.diff(np.concatenate([[0.0], times]))
    shaded = False
    for t, width in zip(times, step, strict=True):
        w, m = _mixture(rows[t])
        if w.sum() > 0 and w[np.isinf(m)].sum() / w.sum() >= 0.5:
            ax.axvspan((t - width) / scale, t / scale, color="C3", alpha=0.15, linewidth=0)
            shaded = True
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (s)")
    ax.set_title(title + (" (shaded: saturated)" if shaded else ""))
    ax.grid(True, alpha=0.3)
    legend_outside(ax, title="percentile", fontsize="small")
    return fig
