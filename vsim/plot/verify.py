"""The one-page figure of ``vsim verify``: every checked quantity against its reference, and
queueing theory against simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsim.plot.base import empty_figure, first_axes, new_figure, panels, require_columns

PAGE = (8.27, 11.0)  # about A4 portrait, inches
PASS_COLOR, FAIL_COLOR = "tab:green", "tab:red"


def verify_figure(table: pd.DataFrame, *, ax=None) -> Figure:
    """Two panels from the table of :func:`vsim.experiment.verify.verify`: the deviation of
    each quantity from its reference (%), with the confidence interval and the interval
    widened by the tolerance (a quantity passes when the wide bar reaches 0); and the queueing
    cases' mean response time against the closed form. ``ax``: the two axes to draw on."""
    require_columns(
        table, "verify figure", "case", "quantity", "reference", "value", "ci_low", "ci_high",
        "rel_tol", "abs_tol", "status", frame_name="verify table",
    )  # fmt: skip
    ran = table[table["status"] != "skipped"]
    if ran.empty:
        first = first_axes(ax)
        fig = new_figure(PAGE) if first is None else first.figure
        return empty_figure(fig, "vsim verify", "no case ran", first)
    fig, (top, bottom) = panels(ax, 2, PAGE, height_ratios=[3, 1.2])
    counts = table["status"].value_counts()
    fig.suptitle(
        f"vsim verify: {counts.get('pass', 0)} passed, {counts.get('FAIL', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped"
    )
    _deviation_panel(top, ran)
    _queueing_panel(bottom, ran[ran["group"] == "queueing"] if "group" in ran else ran[:0])
    return fig


def _deviation_panel(ax, ran: pd.DataFrame) -> None:
    # Relative to the reference so that seconds, bytes and kWh share one axis.
    scale = np.where(ran["reference"].abs() > 0, ran["reference"].abs(), 1.0)
    dev = (ran["value"] - ran["reference"]).to_numpy() / scale * 100
    half = (ran["ci_high"] - ran["ci_low"]).to_numpy() / 2 / scale * 100
    allowed = ran["rel_tol"].to_numpy() * ran["reference"].abs().to_numpy() + ran["abs_tol"]
    wide = half + np.asarray(allowed, dtype=np.float64) / scale * 100
    y = np.arange(len(ran))[::-1]
    colors = [PASS_COLOR if s == "pass" else FAIL_COLOR for s in ran["status"]]
    ax.barh(y, 2 * wide, left=dev - wide, height=0.6, color=colors, alpha=0.25)
    ax.errorbar(dev, y, xerr=half, fmt="none", ecolor="black", elinewidth=1, capsize=2)
    ax.scatter(dev, y, c=colors, s=14, zorder=3)
    ax.axvline(0, color="black", linewidth=0.8)
    labels = [f"{c}: {q}" for c, q in zip(ran["case"], ran["quantity"], strict=True)]
    ax.set_yticks(y, labels, fontsize=6)
    ax.set_xlabel("vsim - reference (% of reference); dark: CI, shaded: CI + tolerance")
    ax.set_title("every quantity against its reference", fontsize=9)


def _queueing_panel(ax, rows: pd.DataFrame) -> None:
    if rows.empty:
        ax.set_axis_off()
        return
    ref = rows["reference"].to_numpy()
    err = (rows["ci_high"] - rows["ci_low"]).to_numpy() / 2
    ax.errorbar(ref, rows["value"], yerr=err, fmt="o", markersize=3, capsize=2, label="vsim")
    lim = [0.0, float(max(ref.max(), rows["ci_high"].max())) * 1.05]
    ax.plot(lim, lim, color="black", linewidth=0.8, label="closed form")
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel("closed form, mean response time (s)")
    ax.set_ylabel("vsim (s), 95 % CI")
    ax.set_title("queueing theory against simulation", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
