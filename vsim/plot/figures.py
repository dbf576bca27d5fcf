"""Host figures of one run: cluster utilization over time and the host-by-time heatmap.

Each function reads the ``hosts`` frame of a result and returns a new
:class:`~matplotlib.figure.Figure` (object API, no pyplot; see :mod:`vsim.plot.base`). This
module reads DataFrames only; it does not import ``vsim.experiment``.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from vsim.plot.base import empty_figure, new_figure, require_columns, time_scale

__all__ = ["heatmap", "utilization"]

#: At most this many hosts get one tick label each on the heatmap.
MAX_HOST_LABELS = 40


def _no_samples(hosts: pd.DataFrame | None) -> bool:
    return hosts is None or len(hosts) == 0


def utilization(hosts: pd.DataFrame, *, title: str | None = None, ax: Axes | None = None) -> Figure:
    """Cluster-wide CPU and memory utilization over time.

    Lines are the mean over hosts whose ``state`` is ``"on"`` at each sample (all hosts
    when there is no ``state`` column); the shaded band spans the 10th to 90th percentile
    of per-host CPU utilization, of the busy hosts alone when at some sample
    :data:`IDLE_SHARE` or more of the hosts on are idle (their share then drawn dotted).
    Samples where no host is on show as gaps.

    Args:
        hosts: tidy host samples with ``time_s``, ``cpu_util``, ``mem_util`` (and ``state``).
        title: figure title; a default is used when ``None``.

    Returns:
        A new figure (one axes); an empty figure saying "no samples" when there is no data.
    """
    title = "Cluster utilization" if title is None else title
    fig = new_figure() if ax is None else ax.figure
    if _no_samples(hosts):
        return empty_figure(fig, title, "no samples", ax)
    require_columns(
        hosts, "utilization", "time_s", "cpu_util", "mem_util", frame_name="hosts frame"
    )

    times = np.sort(pd.unique(hosts["time_s"].to_numpy(dtype=float)))
    on = hosts[hosts["state"] == "on"] if "state" in hosts.columns else hosts
    grouped = on.groupby("time_s", sort=True)
    idle = (on["cpu_util"] <= 0).groupby(on["time_s"], sort=True).mean().reindex(times)
    # Many idle hosts pull the band to 0 and say nothing of the busy ones: then the band
    # spans the busy hosts, and the idle share is a line of its own.
    many_idle = bool((idle.fillna(0) >= IDLE_SHARE).any())
    busy = on[on["cpu_util"] > 0].groupby("time_s", sort=True) if many_idle else grouped
    stats = pd.DataFrame(
        {
            "cpu": grouped["cpu_util"].mean(),
            "mem": grouped["mem_util"].mean(),
            "p10": busy["cpu_util"].quantile(0.1),
            "p90": busy["cpu_util"].quantile(0.9),
        }
    ).reindex(times)

    scale, xlabel = time_scale(times)
    x = times / scale
    marker = "o" if len(times) < 2 else None
    ax = ax or fig.add_subplot()
    ax.fill_between(
        x,
        stats["p10"].to_numpy(dtype=float),
        stats["p90"].to_numpy(dtype=float),
        color="C0",
        alpha=0.2,
        linewidth=0,
        label="CPU, busy hosts p10–p90" if many_idle else "CPU, hosts p10–p90",
    )
    ax.plot(x, stats["cpu"].to_numpy(dtype=float), color="C0", marker=marker, label="CPU, mean")
    ax.plot(x, stats["mem"].to_numpy(dtype=float), color="C1", marker=marker, label="memory, mean")
    if many_idle:
        ax.plot(
            x, idle.to_numpy(dtype=float), color="0.4", linestyle=":", label="idle hosts, share"
        )
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


#: Share of the hosts on with no CPU use from which the utilization band spans busy hosts only.
IDLE_SHARE = 0.1
#: Heatmap cells of hosts that are switched off or failed.
OFF_COLOUR = "#f0e6d2"


def _not_on(hosts: pd.DataFrame, host_order, times: np.ndarray) -> np.ndarray:
    """(host x time) mask of samples whose host was not on (off, failed, booting)."""
    if "state" not in hosts.columns:
        return np.zeros((len(host_order), len(times)), dtype=bool)
    off = (hosts["state"].astype(str) != "on").to_numpy()
    grid = (
        pd.DataFrame({"host": hosts["host"], "time_s": hosts["time_s"], "off": off})
        .groupby(["host", "time_s"], sort=False)["off"]
        .max()
        .unstack("time_s")
        .reindex(index=host_order, columns=times)
    )
    return grid.fillna(False).to_numpy(dtype=bool)


def heatmap(
    hosts: pd.DataFrame,
    column: str = "cpu_util",
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Host-by-time image of one per-host column.

    Rows are hosts in order of first appearance, columns are samples in time order; each
    cell spans the sampling interval that ends at its ``time_s``. Cells with no sample
    (e.g. a host that did not exist yet) are grey; cells of a host that was not on (switched
    off, failed, booting; the ``state`` column) are :data:`OFF_COLOUR`, so that an idle host
    that is on (the dark end of the scale) reads apart from one switched off. Colour scale
    runs from 0 to ``max(1, data max)``. With more than 40 hosts, only a few evenly spaced
    host names are labelled.

    Args:
        hosts: tidy host samples with ``time_s``, ``host`` and ``column``.
        column: which value to show, e.g. ``"cpu_util"``, ``"mem_util"``.
        title: figure title; a default is used when ``None``.

    Returns:
        A new figure (image axes plus colour bar); an empty "no samples" figure when there
        is no data.
    """
    title = f"{column} per host" if title is None else title
    fig = new_figure() if ax is None else ax.figure
    if _no_samples(hosts):
        return empty_figure(fig, title, "no samples", ax)
    require_columns(hosts, "heatmap", "time_s", "host", column, frame_name="hosts frame")

    host_order = pd.unique(hosts["host"])
    times = np.sort(pd.unique(hosts["time_s"].to_numpy(dtype=float)))
    grid = (
        hosts.groupby(["host", "time_s"], sort=False)[column]
        .mean()
        .unstack("time_s")
        .reindex(index=host_order, columns=times)
    )
    down = _not_on(hosts, host_order, times)
    values = grid.to_numpy(dtype=float)
    data = np.ma.masked_invalid(np.where(down, np.nan, values))
    vmax = max(1.0, float(data.max())) if data.count() else 1.0

    scale, xlabel = time_scale(times)
    if times.size > 1:
        step = float(times[1] - times[0])
    else:
        step = float(times[0]) if times.size and times[0] > 0 else 1.0
    left, right = (times[0] - step) / scale, times[-1] / scale
    n_hosts = len(host_order)

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    ax = ax or fig.add_subplot()
    image = ax.imshow(
        data,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=0.0,
        vmax=vmax,
        extent=(left, right, n_hosts - 0.5, -0.5),
    )
    if down.any():
        # Switched off or failed: a colour of their own, not the dark end of the scale that
        # an idle host that is on takes.
        ax.imshow(
            np.ma.masked_where(~down, np.ones_like(values)),
            aspect="auto",
            interpolation="nearest",
            cmap=ListedColormap([OFF_COLOUR]),
            extent=(left, right, n_hosts - 0.5, -0.5),
        )
        ax.legend(
            handles=[
                Patch(color=OFF_COLOUR, label="off or failed"),
                Patch(color="0.85", label="no sample"),
            ],
            loc="upper right",
            fontsize="x-small",
            framealpha=0.9,
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
