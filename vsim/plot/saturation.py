"""Sweep figures that keep saturated configurations in sight.

A configuration whose runs saturated (a metric of ``inf``: a queue that never drained) has an
infinite mean, which a mean curve cannot draw: it would vanish from the figure. These figures
draw the **median** of each configuration with its distribution-free 95 % order-statistic
interval (the aggregate's ``<metric>_median``, ``_median_low``, ``_median_high``), and mark
every configuration with saturated runs (``<metric>_saturated`` of ``<metric>_finite +
<metric>_saturated``): on its median when that is finite, at the top edge of the axes when
most of its runs saturated, each labelled ``k/n``.

Functions read the aggregate table of a sweep and use matplotlib's object API (no pyplot).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vsim._io import atomic_write
from vsim.plot.sweep import metric_label

__all__ = ["saturated_metrics", "saturation_curves", "save_saturation_figures"]

#: Marker colour of saturated configurations.
SATURATED_COLOR = "tab:red"
#: What the band is; the figures say so in their axis label.
BAND = "median, 95 % order-statistic interval"


def saturated_metrics(aggregate: pd.DataFrame) -> list[str]:
    """Metrics with a saturated run in some configuration, in column order."""
    return [
        c.removesuffix("_saturated")
        for c in aggregate.columns
        if c.endswith("_saturated") and (aggregate[c] > 0).any()
    ]


def _params(aggregate: pd.DataFrame) -> list[str]:
    cols = list(aggregate.columns)
    if "config" in cols and "runs" in cols:
        return cols[cols.index("config") + 1 : cols.index("runs")]
    return []


def _positions(values: pd.Series, categories: list) -> np.ndarray:
    if categories:
        return np.array([categories.index(v) for v in values], dtype=float)
    return values.to_numpy(dtype=float)


def _ceiling(aggregate: pd.DataFrame, metric: str) -> float:
    """Top of the value axis: a little above every finite median and bound."""
    cols = [f"{metric}_{s}" for s in ("median", "median_low", "median_high")]
    values = aggregate[cols].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 1.0
    return top * 1.15 if top > 0 else 1.0


def _draw_group(ax: Axes, group: pd.DataFrame, metric: str, xs: np.ndarray, style: dict):
    """The median line and its band; returns x, median and the order they were sorted in."""
    order = np.argsort(xs, kind="stable")
    xs = xs[order]
    median = group[f"{metric}_median"].to_numpy(dtype=float)[order]
    low = group[f"{metric}_median_low"].to_numpy(dtype=float)[order]
    high = group[f"{metric}_median_high"].to_numpy(dtype=float)[order]
    finite = np.isfinite(median)
    ax.plot(xs[finite], median[finite], marker="o", color=style["color"], label=style["label"])
    # An infinite upper bound (saturated runs above the median) reaches the top of the axes.
    band = np.isfinite(low)
    top = np.where(np.isfinite(high), high, style["ceiling"])
    ax.fill_between(xs[band], low[band], top[band], color=style["color"], alpha=0.2, linewidth=0)
    return xs, median, order


def _mark_saturated(ax: Axes, group: pd.DataFrame, metric: str, xs, median, order) -> set[str]:
    """Red markers with ``k/n`` on the configurations with saturated runs; the kinds drawn
    (``"partly"``: finite median, ``"mostly"``: median ``inf``, at the top edge)."""
    saturated = group[f"{metric}_saturated"].to_numpy(dtype=int)[order]
    n = saturated + group[f"{metric}_finite"].to_numpy(dtype=int)[order]
    hit = saturated > 0
    at_top = ~np.isfinite(median)
    kinds = set()
    for on_top in (False, True):
        sel = hit & (at_top == on_top)
        if not sel.any():
            continue
        kinds.add("mostly" if on_top else "partly")
        # Medians that are inf sit on the top edge: x in data, y in axes coordinates.
        transform = ax.get_xaxis_transform() if on_top else ax.transData
        ys = np.full(sel.sum(), 0.97) if on_top else median[sel]
        ax.scatter(
            xs[sel],
            ys,
            marker="^" if on_top else "X",
            s=80,
            color=SATURATED_COLOR,
            zorder=5,
            transform=transform,
            clip_on=False,
        )
        for x, y, k, total in zip(xs[sel], ys, saturated[sel], n[sel], strict=True):
            ax.annotate(
                f"{k}/{total}",
                (x, y),
                xycoords=transform,
                textcoords="offset points",
                xytext=(6, -10 if on_top else 6),
                fontsize="small",
                color=SATURATED_COLOR,
            )
    return kinds


def saturation_curves(
    aggregate: pd.DataFrame,
    metric: str,
    x: str | None = None,
    *,
    by: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Median of ``metric`` against swept parameter ``x`` with its 95 % order-statistic band,
    configurations with saturated runs marked in red with ``k/n`` (on the median, or at the top
    edge when the median is ``inf``).

    Args:
        aggregate: the sweep's aggregate table (``vsim.experiment.sweep`` layout).
        metric: a summary column, e.g. ``"latency_s_p99"``.
        x: the parameter on the horizontal axis (default: the first swept parameter).
        by: parameters whose combinations make separate lines (default: the other ones).
        ax: draw into these Axes; a new Figure is made when ``None``.
        title: the title; a default naming the metric is used when ``None``.

    Returns:
        The Axes drawn into.
    """
    params = _params(aggregate)
    x = x if x is not None else (params[0] if params else None)
    if x is None:
        raise ValueError("saturation_curves: the table has no swept parameter; pass x=")
    needed = [x, *(f"{metric}_{s}" for s in ("median", "median_low", "median_high"))]
    needed += [f"{metric}_finite", f"{metric}_saturated"]
    missing = [c for c in needed if c not in aggregate.columns]
    if missing:
        raise ValueError(f"saturation_curves: table lacks column(s) {missing}")
    if ax is None:
        ax = Figure(figsize=(7.0, 4.2), dpi=110, layout="constrained").add_subplot()
    by = [p for p in params if p != x] if by is None else list(by)
    numeric = pd.api.types.is_numeric_dtype(aggregate[x])
    categories = [] if numeric else list(pd.unique(aggregate[x]))
    groups = list(aggregate.groupby(by, sort=False, dropna=False)) if by else [((), aggregate)]
    marked: set[str] = set()
    ceiling = _ceiling(aggregate, metric)
    for k, (key, group) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{p}={v}" for p, v in zip(by, key, strict=True)) or metric
        style = {"color": f"C{k % 10}", "label": label, "ceiling": ceiling}
        xs, median, order = _draw_group(ax, group, metric, _positions(group[x], categories), style)
        marked |= _mark_saturated(ax, group, metric, xs, median, order)
    low = aggregate[f"{metric}_median_low"].to_numpy(dtype=float)
    bottom = min(0.0, float(np.nanmin(low))) if np.isfinite(low).any() else 0.0
    ax.set_ylim(bottom, ceiling)
    legend = {
        "partly": ("X", "some runs saturated (k/n)"),
        "mostly": ("^", "median saturated (inf)"),
    }
    for kind in ("partly", "mostly"):
        if kind in marked:
            marker, text = legend[kind]
            ax.scatter([], [], marker=marker, color=SATURATED_COLOR, label=text)
    if categories:
        ax.set_xticks(np.arange(len(categories)), labels=[str(c) for c in categories])
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric_label(metric)}\n{BAND}")
    ax.set_title(title if title is not None else f"{metric_label(metric)} vs {x}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return ax


def _save(fig: Figure, path: Path, fmt: str) -> None:
    # Reproducible files: no timestamp in the metadata of vector formats.
    metadata = {"Date": None} if fmt in ("svg", "pdf", "ps", "eps") else None
    fig.savefig(path, format=fmt, metadata=metadata)


def save_saturation_figures(
    aggregate: pd.DataFrame,
    folder: str | os.PathLike[str],
    formats: Iterable[str] = ("png",),
) -> list[Path]:
    """Write ``saturation_<metric>_vs_<param>.<fmt>`` for each metric that saturated in some
    run and each swept parameter, atomically; the paths written (none when nothing saturated)."""
    folder = Path(folder)
    written: list[Path] = []
    for metric in saturated_metrics(aggregate):
        for param in _params(aggregate):
            ax = saturation_curves(aggregate, metric, param)
            safe = param.replace(".", "_").replace(":", "_")
            for fmt in (str(f).lower().lstrip(".") for f in formats):
                path = folder / f"saturation_{metric}_vs_{safe}.{fmt}"
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write(path, lambda p, fig=ax.figure, fmt=fmt: _save(fig, p, fmt))
                written.append(path)
    return written
