"""Figures of what happened over a run: request latency, live migrations, availability, power.

Each function reads DataFrames of a result and returns a new
:class:`~matplotlib.figure.Figure` (object API, no pyplot). Missing or empty data never
raises: the figure then says what is missing ("no data"). Time axes are in seconds, or in
hours for runs longer than two hours. This module does not import ``vsim.experiment``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from vsim.plot.base import (
    FIGSIZE,
    empty_figure,
    first_axes,
    legend_outside,
    new_figure,
    panels,
    time_scale,
)

__all__ = [
    "GUEST_DOWN_KINDS",
    "availability",
    "latency_over_time",
    "migration_timeline",
    "power_energy",
]

#: Default number of time bins of :func:`latency_over_time` over the run.
LATENCY_BINS = 50
#: Above this many migrations, :func:`migration_timeline` draws concurrency, not one bar each.
MAX_MIGRATION_BARS = 200
#: At most this many migrations get a tick label each.
MAX_MIGRATION_LABELS = 40
#: Time bins of the concurrency histogram of many migrations.
MIGRATION_BINS = 100
#: At most this many guests (the longest down) get a bar in the per-guest downtime chart.
MAX_DOWNTIME_BARS = 30
#: Event kinds that make the availability figure worth drawing.
GUEST_DOWN_KINDS = ("guest_down", "host_failed")

_PERCENTILES = ((50, "C0"), (95, "C1"), (99, "C3"))


def _missing(frame: pd.DataFrame | None, columns: Sequence[str]) -> str | None:
    """Why ``frame`` cannot be drawn (``None`` when it can)."""
    if frame is None or len(frame) == 0:
        return "no data"
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        return f"no data (no column {', '.join(lacking)})"
    return None


def _seconds_label(max_s: float) -> tuple[float, str]:
    """Divisor and unit for a duration axis."""
    if max_s >= 2 * 3600.0:
        return 3600.0, "h"
    if max_s >= 120.0:
        return 60.0, "min"
    return 1.0, "s"


# ---------------------------------------------------------------------------- latency


def latency_over_time(
    requests: pd.DataFrame | None,
    interval_s: float | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """p50, p95 and p99 latency of completed requests per time bin.

    Requests are binned by ``end_s`` (when they completed); only rows with a finite
    ``latency_s`` (and ``status == "completed"`` when there is a ``status`` column) count.
    Bins run from 0 (or the earliest completion, if negative) to the last completion; bins
    without a completed request show as gaps.

    Args:
        requests: one row per request with ``end_s`` and ``latency_s``.
        interval_s: bin width in seconds; default: the run up to the last completion in
            :data:`LATENCY_BINS` bins.
        title: figure title; a default naming the bin width is used when ``None``.

    Returns:
        A figure with one line per percentile; a "no data" figure when nothing completed.
    """
    default_title = "Request latency over time"
    fig = new_figure() if ax is None else ax.figure
    why = _missing(requests, ("end_s", "latency_s"))
    if why is None:
        ok = np.isfinite(requests["latency_s"].to_numpy(dtype=float))
        ok &= np.isfinite(requests["end_s"].to_numpy(dtype=float))
        if "status" in requests.columns:
            ok &= (requests["status"] == "completed").to_numpy()
        if not ok.any():
            why = "no completed requests"
    if why is not None:
        return empty_figure(fig, default_title if title is None else title, why, ax)
    if interval_s is not None and not (np.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"latency_over_time: interval_s must be > 0, got {interval_s!r}")

    end = requests["end_s"].to_numpy(dtype=float)[ok]
    lat = requests["latency_s"].to_numpy(dtype=float)[ok]
    lo = min(0.0, float(end.min()))
    hi = float(end.max())
    if interval_s is None:
        interval_s = (hi - lo) / LATENCY_BINS if hi > lo else 1.0
    n_bins = max(1, int(np.ceil((hi - lo) / interval_s - 1e-9)))
    edges = lo + interval_s * np.arange(n_bins + 1)
    idx = np.clip(((end - lo) // interval_s).astype(np.int64), 0, n_bins - 1)
    qs = [p / 100 for p, _ in _PERCENTILES]
    table = pd.Series(lat).groupby(idx).quantile(qs).unstack().reindex(np.arange(n_bins))
    counts = np.bincount(idx, minlength=n_bins)

    scale, xlabel = time_scale(edges)
    centers = (edges[:-1] + edges[1:]) / 2 / scale
    ax = ax or fig.add_subplot()
    marker = "o" if n_bins <= 60 else None
    for (p, color), q in zip(_PERCENTILES, qs, strict=True):
        ax.plot(
            centers,
            table[q].to_numpy(dtype=float),
            color=color,
            marker=marker,
            markersize=3,
            label=f"p{p}",
        )
    ax.set_xlim(edges[0] / scale, edges[-1] / scale)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (s)")
    if title is None:
        div, unit = _seconds_label(interval_s)
        title = (
            f"{default_title} ({int(counts.sum())} completed requests, "
            f"bins of {interval_s / div:.3g} {unit})"
        )
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    legend_outside(ax, title="percentile")
    return fig


# ---------------------------------------------------------------------------- migrations

_MIGRATION_COLUMNS = ("start_s", "end_s")


def migration_timeline(
    migrations: pd.DataFrame | None,
    hosts: pd.DataFrame | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Live migrations over time.

    Up to :data:`MAX_MIGRATION_BARS` migrations: one horizontal bar per migration (sorted
    by ``start_s``) from ``start_s`` to ``end_s``, coloured by outcome: converged,
    completed without converging (a forced stop-and-copy, ``converged`` false), or aborted
    (``end_s`` missing; its end is unknown, so it is drawn as a cross at its start). The
    downtime (``downtime_s``) is the dark segment ending at ``end_s``, marked with a tick
    so that it stays visible when short.

    More migrations: the mean and peak number of migrations in flight per time bin, and
    the starts of aborted ones as crosses; this stays fast for hundreds of thousands.

    Args:
        migrations: one row per migration: ``guest``, ``src``, ``dst``, ``algorithm``,
            ``start_s``, ``end_s``, ``rounds``, ``bytes_sent``, ``downtime_s``,
            ``converged``; only ``start_s`` and ``end_s`` are required.
        hosts: the host samples; when given, the time axis spans the whole run.
        title: figure title; a default with the counts is used when ``None``.

    Returns:
        A new figure; a "no data" figure when there is no migration.
    """
    default_title = "Live migrations"
    fig = new_figure() if ax is None else ax.figure
    why = _missing(migrations, _MIGRATION_COLUMNS)
    if why is not None:
        return empty_figure(fig, default_title if title is None else title, why, ax)

    frame = migrations.sort_values("start_s", kind="stable").reset_index(drop=True)
    start = frame["start_s"].to_numpy(dtype=float)
    end = frame["end_s"].to_numpy(dtype=float)
    done = np.isfinite(end)
    if "converged" in frame.columns:
        conv = frame["converged"].fillna(False).to_numpy(dtype=bool) & done
    else:
        conv = done.copy()
    forced = done & ~conv
    aborted = ~done
    n = len(frame)
    counts = (
        f"{int(conv.sum())} converged, {int(forced.sum())} not converged, "
        f"{int(aborted.sum())} aborted"
    )
    title = f"{default_title}: {n} ({counts})" if title is None else title

    run_end = np.nan
    if hosts is not None and len(hosts) and "time_s" in hosts.columns:
        run_end = float(np.nanmax(hosts["time_s"].to_numpy(dtype=float)))
    last = float(np.nanmax(np.concatenate([start, end[done], [run_end]])))
    scale, xlabel = time_scale(np.array([last]))
    ax = ax or fig.add_subplot()
    if n <= MAX_MIGRATION_BARS:
        _migration_bars(ax, frame, start / scale, end / scale, conv, forced, aborted, scale)
    else:
        _migration_concurrency(ax, start, end, done, aborted, scale, last)
    if np.isfinite(run_end):
        ax.set_xlim(0.0, run_end / scale)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def _migration_bars(
    ax: Axes,
    frame: pd.DataFrame,
    start: np.ndarray,
    end: np.ndarray,
    conv: np.ndarray,
    forced: np.ndarray,
    aborted: np.ndarray,
    scale: float,
) -> None:
    n = len(frame)
    y = np.arange(n, dtype=float)
    for mask, color, label in (
        (conv, "C0", "converged"),
        (forced, "C1", "completed without converging"),
    ):
        if mask.any():
            ax.barh(
                y[mask],
                end[mask] - start[mask],
                left=start[mask],
                height=0.6,
                color=color,
                label=label,
            )
    if aborted.any():
        ax.scatter(
            start[aborted],
            y[aborted],
            marker="x",
            color="C3",
            zorder=3,
            label="aborted (at its start)",
        )
    if "downtime_s" in frame.columns:
        down = frame["downtime_s"].to_numpy(dtype=float) / scale
        has = np.isfinite(end) & np.isfinite(down) & (down > 0)
        if has.any():
            ax.barh(y[has], down[has], left=end[has] - down[has], height=0.6, color="0.1")
            raw = frame["downtime_s"].to_numpy(dtype=float)[has]
            div, unit = (1e-3, "ms") if raw.max() < 1.0 else _seconds_label(float(raw.max()))
            ax.scatter(
                end[has],
                y[has],
                marker="|",
                s=80,
                color="0.1",
                zorder=3,
                label=f"downtime (max {raw.max() / div:.3g} {unit})",
            )
    if n <= MAX_MIGRATION_LABELS and {"guest", "src", "dst"} <= set(frame.columns):
        labels = [
            f"{g}: {s}→{d}"
            for g, s, d in zip(frame["guest"], frame["src"], frame["dst"], strict=True)
        ]
        ax.set_yticks(y, labels=labels, fontsize="small")
        ax.set_ylabel("migration (guest: source→destination)")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("migration (in order of start)")
    ax.set_ylim(n - 0.5, -0.5)


def _migration_concurrency(
    ax: Axes,
    start: np.ndarray,
    end: np.ndarray,
    done: np.ndarray,
    aborted: np.ndarray,
    scale: float,
    last: float,
) -> None:
    lo = float(start.min())
    hi = max(last, lo + 1e-9)
    edges = np.linspace(lo, hi, MIGRATION_BINS + 1)
    s, e = start[done], end[done]
    mean = np.zeros(MIGRATION_BINS)
    peak = np.zeros(MIGRATION_BINS)
    if s.size:
        times = np.concatenate([s, e])
        delta = np.concatenate([np.ones(s.size), -np.ones(e.size)])
        order = np.lexsort((delta, times))  # at equal times, ends before starts
        t, c = times[order], np.cumsum(delta[order])
        area = np.concatenate([[0.0], np.cumsum(c[:-1] * np.diff(t))])  # up to each event

        def area_at(x: np.ndarray) -> np.ndarray:
            k = np.searchsorted(t, x, side="right") - 1
            kk = np.maximum(k, 0)
            return np.where(k >= 0, area[kk] + c[kk] * (x - t[kk]), 0.0)

        mean = np.diff(area_at(edges)) / np.diff(edges)
        k0 = np.searchsorted(t, edges[:-1], side="right") - 1
        peak = np.where(k0 >= 0, c[np.maximum(k0, 0)], 0.0)
        settled = np.append(t[1:] != t[:-1], True)  # the count once a time's events are done
        b = np.clip(np.searchsorted(edges, t[settled], side="right") - 1, 0, MIGRATION_BINS - 1)
        np.maximum.at(peak, b, c[settled])
    x = edges / scale
    ax.stairs(mean, x, fill=True, color="C0", alpha=0.5, label="in flight, mean per bin")
    ax.stairs(peak, x, color="C0", linewidth=1.0, label="in flight, peak per bin")
    if aborted.any():
        ax.scatter(
            start[aborted] / scale,
            np.zeros(int(aborted.sum())),
            marker="x",
            color="C3",
            zorder=3,
            clip_on=False,
            label=f"aborted ({int(aborted.sum())}, at their start)",
        )
    ax.set_ylim(bottom=0.0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("concurrent migrations")


# ---------------------------------------------------------------------------- availability


def _count_down(events: pd.DataFrame, down_kind: str, up_kinds: Sequence[str]) -> pd.Series:
    """Number of subjects down after each time at which it changes (indexed by time)."""
    ev = events[events["kind"].isin((down_kind, *up_kinds))]
    if ev.empty:
        return pd.Series(dtype=float)
    ev = ev.sort_values("time_s", kind="stable")
    down = (ev["kind"] == down_kind).astype(np.int64)
    prev = down.groupby(ev["subject"].to_numpy()).shift(fill_value=0)
    count = (down - prev).cumsum()
    return (
        pd.Series(count.to_numpy(), index=ev["time_s"].to_numpy(dtype=float))
        .groupby(level=0)
        .last()
    )


def availability(
    events: pd.DataFrame | None,
    guests: pd.DataFrame | None = None,
    *,
    end_s: float | None = None,
    title: str | None = None,
    ax=None,
) -> Figure:
    """Guests down over time, host failures and repairs, and per-guest downtime.

    The top panel counts the guests down at each moment (a guest is down from a
    ``guest_down`` event until it is ``running`` again or is stopped or deleted) and the
    hosts failed (``host_failed`` until ``host_repaired``); host failures, repairs and
    failure detections (``failure_detected``) are marked at the top of the panel.

    Args:
        events: the event log (``time_s``, ``kind``, ``subject``).
        guests: a per-guest availability table with ``guest`` and ``downtime_s`` (as
            :func:`vsim.metrics.availability.availability_table` returns); when given, a
            second panel shows the guests with the longest downtime (at most
            :data:`MAX_DOWNTIME_BARS`). A frame without those columns is ignored.
        end_s: end of the run (default: the last event).
        title: title of the top panel; a default is used when ``None``.
        ax: the axes to draw on: one, or two (top, bars) when ``guests`` is given.

    Returns:
        The figure; a "no data" figure without events.
    """
    title = "Guest availability" if title is None else title
    why = _missing(events, ("time_s", "kind", "subject"))
    table = None
    if guests is not None and {"guest", "downtime_s"} <= set(guests.columns):
        table = guests
    if why is not None:
        first = first_axes(ax)
        return empty_figure(new_figure() if first is None else first.figure, title, why, first)

    times_all = events["time_s"].to_numpy(dtype=float)
    end = float(np.nanmax(times_all)) if end_s is None else float(end_s)
    start = min(0.0, float(np.nanmin(times_all)))
    scale, xlabel = time_scale(np.array([end]))
    if table is not None:
        fig, (ax, bar_ax) = panels(ax, 2, (8.0, 7.0), height_ratios=(3, 2))
    else:
        fig, (ax,) = panels(ax, 1, FIGSIZE)
        bar_ax = None

    top = _down_counts(ax, events, start, end, scale)
    _event_marks(ax, events, times_all, scale)
    ax.set_xlim(start / scale, end / scale)
    ax.set_ylim(0.0, max(top, 1.0) * 1.6)  # room for the legend and the markers
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count (guests or hosts)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9), fontsize="small", ncols=2)
    if bar_ax is not None:
        _downtime_bars(bar_ax, table)
    return fig


def _down_counts(ax: Axes, events: pd.DataFrame, start: float, end: float, scale: float) -> float:
    """Step lines of the guests down and hosts failed over time; returns the highest count."""
    top = 0.0
    for series, color, label in (
        (_count_down(events, "guest_down", ("running", "stopped", "deleted")), "C3", "guests down"),
        (_count_down(events, "host_failed", ("host_repaired",)), "0.3", "hosts failed"),
    ):
        if series.empty and label != "guests down":
            continue
        top = max(top, float(series.max()) if series.size else 0.0)
        values = series.to_numpy(dtype=float)
        t = np.concatenate([[start], series.index.to_numpy(dtype=float), [end]])
        v = np.concatenate([[0.0], values, values[-1:] if values.size else [0.0]])
        ax.step(t / scale, v, where="post", color=color, label=label)
    return top


def _event_marks(ax: Axes, events: pd.DataFrame, times_all: np.ndarray, scale: float) -> None:
    """Host failures, repairs and failure detections, marked at the top of the panel."""
    marks = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for kind, marker, color, label in (
        ("host_failed", "v", "C3", "host failure"),
        ("host_repaired", "^", "C2", "host repaired"),
        ("failure_detected", "|", "C4", "failure detected"),
    ):
        t = times_all[(events["kind"] == kind).to_numpy()]
        if t.size:
            ax.scatter(
                t / scale,
                np.full(t.size, 0.95),
                marker=marker,
                color=color,
                transform=marks,
                clip_on=False,
                zorder=3,
                label=label,
            )


def _downtime_bars(ax: Axes, table: pd.DataFrame) -> None:
    down = table["downtime_s"].to_numpy(dtype=float)
    hit = np.flatnonzero(np.isfinite(down) & (down > 0))
    hit = hit[np.argsort(-down[hit], kind="stable")][:MAX_DOWNTIME_BARS]
    total = len(table)
    ax.set_title(f"Per-guest downtime ({len(hit)} longest of {total} guests)")
    if hit.size == 0:
        ax.set_title(f"Per-guest downtime ({total} guests)")
        ax.text(0.5, 0.5, "no downtime", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    div, unit = _seconds_label(float(down[hit].max()))
    y = np.arange(hit.size)
    label = "downtime"
    if "availability" in table.columns:
        avail = table["availability"].to_numpy(dtype=float)[hit]
        label = f"downtime (lowest availability {100 * np.nanmin(avail):.6g} %)"
    ax.barh(y, down[hit] / div, color="C3", label=label)
    names = table["guest"].astype(str).to_numpy()[hit]
    ax.set_yticks(y, labels=names, fontsize="small" if hit.size > 15 else None)
    ax.set_ylim(hit.size - 0.5, -0.5)
    ax.set_xlabel(f"downtime ({unit})")
    ax.set_ylabel("guest")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")


# ---------------------------------------------------------------------------- power


def _power_unit(max_w: float) -> tuple[float, str]:
    if max_w >= 1e7:
        return 1e6, "MW"
    if max_w >= 1e4:
        return 1e3, "kW"
    return 1.0, "W"


def power_energy(
    hosts: pd.DataFrame | None, *, title: str | None = None, ax: Axes | None = None
) -> Figure:
    """Cluster power over time, with the cumulative energy on a second axis.

    Power is the sum of ``power_w`` over hosts at each sample (each sample averages the
    interval that ends at its ``time_s``); energy integrates it over those intervals (the
    first one starts at 0, or is as long as the second when the samples start later).

    Args:
        hosts: tidy host samples with ``time_s`` and ``power_w``.
        title: figure title; a default with the total energy is used when ``None``.

    Returns:
        A new figure (power axis plus a twin energy axis); a "no data" figure without
        power samples.
    """
    default_title = "Cluster power and energy"
    fig = new_figure() if ax is None else ax.figure
    why = _missing(hosts, ("time_s", "power_w"))
    if why is None and not np.isfinite(hosts["power_w"].to_numpy(dtype=float)).any():
        why = "no power_w data"
    if why is not None:
        return empty_figure(fig, default_title if title is None else title, why, ax)

    power = hosts.groupby("time_s", sort=True)["power_w"].sum(min_count=1)
    times = power.index.to_numpy(dtype=float)
    watts = power.to_numpy(dtype=float)
    if times.size > 1:
        first = min(times[0], times[1] - times[0])
    else:
        first = times[0]
    dt = np.diff(times, prepend=times[0] - max(first, 0.0))
    energy_kwh = np.cumsum(np.nan_to_num(watts) * dt) / 3.6e6

    scale, xlabel = time_scale(times)
    x = times / scale
    div, unit = _power_unit(float(np.nanmax(watts)))
    marker = "o" if times.size < 2 else None
    ax = ax or fig.add_subplot()
    (p_line,) = ax.plot(x, watts / div, color="C0", marker=marker, label=f"power ({unit})")
    ax.set_ylim(bottom=0.0, top=max(float(np.nanmax(watts)) / div, 1e-12) * 1.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"cluster power ({unit})")
    twin = ax.twinx()
    (e_line,) = twin.plot(
        x, energy_kwh, color="C1", linestyle="--", marker=marker, label="cumulative energy (kWh)"
    )
    twin.set_ylim(bottom=0.0, top=max(float(energy_kwh[-1]), 1e-12) * 1.3)
    twin.set_ylabel("cumulative energy (kWh)")
    if x.size > 1:
        ax.set_xlim(float(x[0]), float(x[-1]))
    title = f"{default_title} (total {energy_kwh[-1]:.4g} kWh)" if title is None else title
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(handles=[p_line, e_line], loc="upper left")
    return fig
