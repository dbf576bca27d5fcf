"""Figures of deployments: replicas against load, and latency percentiles with scaling marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsim.plot.base import panels, time_scale


def deployment_timeline(
    table: pd.DataFrame, events: pd.DataFrame | None = None, *, ax=None
) -> Figure:
    """Per deployment: desired and ready replicas with the arrival rate (top), and the p50 and
    p99 latency of each interval (bottom), with the HPA's ``scaled`` events marked. ``ax``:
    the two axes to draw on (top, bottom); the figure is returned."""
    fig, (top, bottom) = panels(ax, 2, (8.0, 5.5), sharex=True)
    scale, label = time_scale(table["time_s"].to_numpy(dtype=float))
    load = top.twinx()
    for name, d in table.groupby("deployment", sort=False):
        t = d["time_s"].to_numpy(dtype=float) / scale
        top.step(t, d["desired"], where="post", label=f"{name} desired")
        top.step(t, d["ready"], where="post", label=f"{name} ready")
        load.plot(t, d["arrival_rps"], color="0.6", lw=0.8, label=f"{name} load")
        bottom.plot(t, d["latency_s_p50"], label=f"{name} p50")
        bottom.plot(t, d["latency_s_p99"], label=f"{name} p99")
    if events is not None and len(events):
        for ts in events.loc[events["kind"] == "scaled", "time_s"].to_numpy(dtype=float):
            bottom.axvline(ts / scale, color="0.8", lw=0.6, zorder=0)
    top.set_ylabel("replicas")
    load.set_ylabel("requests/s")
    bottom.set_ylabel("latency (s)")
    bottom.set_yscale("log" if np.nanmax(table["latency_s_p99"].to_numpy(float)) > 0 else "linear")
    bottom.set_xlabel(label)
    top.legend(loc="upper left", fontsize="small")
    bottom.legend(loc="upper left", fontsize="small")
    top.set_title("deployments: replicas and load; latency (scaling events as lines)")
    return fig
