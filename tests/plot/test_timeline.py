"""Latency over time, migration timeline, availability and power figures, and which figures a
result saves."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from vsim.plot import (
    ResultPlots,
    availability,
    latency_cdf,
    latency_over_time,
    migration_timeline,
    power_energy,
    save_figures,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hosts_frame(power: bool = True, n_samples: int = 4, step_s: float = 300.0) -> pd.DataFrame:
    times = np.repeat(np.arange(1, n_samples + 1) * step_s, 2)
    frame = pd.DataFrame(
        {
            "time_s": times,
            "host": ["h0", "h1"] * n_samples,
            "cpu_util": 0.5,
            "mem_util": 0.25,
            "state": "on",
        }
    )
    if power:
        frame["power_w"] = [100.0, 200.0] * n_samples
    return frame


def requests_frame() -> pd.DataFrame:
    # Bin [0, 10): latencies 1..10 (ten requests); bin [10, 20): nothing; bin [20, 30): 0.5.
    rows = [(float(i), float(i + 1), "completed") for i in range(10)]
    rows += [(25.0, 0.5, "completed"), (26.0, np.nan, "timed_out"), (27.0, 99.0, "failed")]
    return pd.DataFrame(rows, columns=["end_s", "latency_s", "status"])


def migrations_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "guest": ["vm-0", "vm-1", "vm-2", "vm-3"],
            "src": ["h0", "h0", "h1", "h1"],
            "dst": ["h1", "h1", "h0", "h0"],
            "algorithm": ["pre_copy"] * 4,
            "start_s": [30.0, 10.0, 50.0, 70.0],
            "end_s": [60.0, 40.0, np.nan, 95.0],
            "rounds": [3, 2, 1, 30],
            "bytes_sent": [1e9, 2e9, 1e8, 9e9],
            "downtime_s": [0.2, 0.1, 0.0, 2.0],
            "converged": [True, True, False, False],
        }
    )


def events_frame() -> pd.DataFrame:
    rows = [
        (0.0, "placed", "a", ""),
        (5.0, "running", "a", ""),
        (0.0, "placed", "b", ""),
        (5.0, "running", "b", ""),
        (100.0, "host_failed", "h0", ""),
        (100.0, "guest_down", "a", "host failure"),
        (100.0, "guest_down", "b", "host failure"),
        (103.0, "failure_detected", "h0", "3 s"),
        (130.0, "placed", "a", ""),
        (160.0, "running", "a", ""),
        (200.0, "host_repaired", "h0", ""),
        (250.0, "running", "b", ""),
    ]
    return pd.DataFrame(rows, columns=["time_s", "kind", "subject", "detail"])


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def assert_no_data(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title()
    assert len(ax.texts) == 1 and ax.texts[0].get_text().startswith("no ")


# ---------------------------------------------------------------------------- latency


def test_latency_over_time_percentiles_per_bin() -> None:
    fig = latency_over_time(requests_frame(), interval_s=10.0)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Request latency over time")
    assert "11 completed" in ax.get_title()
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "latency (s)"
    assert legend_texts(ax) == ["p50", "p95", "p99"]
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_allclose(lines[0].get_xdata(), [5.0, 15.0, 25.0])
    lat = np.arange(1.0, 11.0)
    for line, q in zip(lines, (50, 95, 99), strict=True):
        y = line.get_ydata()
        assert y[0] == pytest.approx(np.percentile(lat, q))
        assert np.isnan(y[1])  # no completion in the middle bin: a gap
        assert y[2] == pytest.approx(0.5)  # the failed and timed-out requests do not count


def test_latency_over_time_default_bins_and_hours() -> None:
    rng = np.random.default_rng(1)
    req = pd.DataFrame({"end_s": rng.uniform(0, 10 * 3600, 2000), "latency_s": rng.random(2000)})
    fig = latency_over_time(req)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (h)"
    assert len(ax.get_lines()[0].get_xdata()) == 50


def test_latency_figures_without_data() -> None:
    for frame in (None, pd.DataFrame(), pd.DataFrame({"latency_s": [1.0]})):
        assert_no_data(latency_over_time(frame))
    only_failed = pd.DataFrame({"end_s": [1.0], "latency_s": [np.nan], "status": ["failed"]})
    assert_no_data(latency_over_time(only_failed))
    assert_no_data(latency_cdf(None))
    with pytest.raises(ValueError, match="interval_s"):
        latency_over_time(requests_frame(), interval_s=0.0)


# ---------------------------------------------------------------------------- migrations


def test_migration_timeline_bars_colours_and_downtime() -> None:
    fig = migration_timeline(migrations_frame())
    ax = fig.axes[0]
    assert ax.get_title().startswith("Live migrations: 4")
    assert "2 converged, 1 not converged, 1 aborted" in ax.get_title()
    assert ax.get_xlabel() == "time (s)"
    assert "migration" in ax.get_ylabel()
    texts = legend_texts(ax)
    assert "converged" in texts
    assert "completed without converging" in texts
    assert any(t.startswith("aborted") for t in texts)
    assert any(t.startswith("downtime") and "2 s" in t for t in texts)
    # 3 finished bars + 3 downtime segments (the aborted one has neither).
    assert len(ax.patches) == 6
    converged = ax.containers[0]
    assert [round(p.get_x(), 6) for p in converged] == [10.0, 30.0]  # sorted by start
    assert [round(p.get_width(), 6) for p in converged] == [30.0, 30.0]
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "vm-1: h0→h1"
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2  # aborted crosses, downtime ticks
    np.testing.assert_allclose(scatters[0].get_offsets(), [[50.0, 2.0]])


def test_migration_timeline_spans_the_run_with_hosts() -> None:
    fig = migration_timeline(migrations_frame(), hosts_frame(step_s=100.0, n_samples=3))
    assert fig.axes[0].get_xlim() == (0.0, 300.0)


def test_migration_timeline_many_switches_to_concurrency() -> None:
    n = 50_000
    rng = np.random.default_rng(2)
    start = np.sort(rng.uniform(0, 3600, n))
    end = start + rng.uniform(1, 60, n)
    end[::100] = np.nan
    frame = pd.DataFrame({"start_s": start, "end_s": end, "converged": ~np.isnan(end)})
    t0 = time.perf_counter()
    fig = migration_timeline(frame)
    fig.draw_without_rendering()
    assert time.perf_counter() - t0 < 5.0
    ax = fig.axes[0]
    assert ax.get_ylabel() == "concurrent migrations"
    assert len(ax.patches) == 2  # mean and peak stairs, not one bar per migration
    assert len(legend_texts(ax)) == 3


def test_migration_concurrency_by_hand() -> None:
    # Enough migrations for the histogram: half on [0, 100], half on [0, 50], one aborted.
    n = 250
    start = np.zeros(n)
    end = np.full(n, 100.0)
    end[1::2] = 50.0
    end[-1] = np.nan
    fig = migration_timeline(pd.DataFrame({"start_s": start, "end_s": end}))
    mean, peak = fig.axes[0].patches
    long = int(np.sum(end == 100.0))
    short = int(np.sum(end == 50.0))
    assert long + short == n - 1
    expected = np.where(np.arange(100) < 50, long + short, long)
    np.testing.assert_allclose(mean.get_data().values, expected)
    np.testing.assert_allclose(peak.get_data().values, expected)


def test_migration_timeline_without_data() -> None:
    assert_no_data(migration_timeline(None))
    assert_no_data(migration_timeline(pd.DataFrame(columns=["start_s", "end_s"])))
    assert_no_data(migration_timeline(pd.DataFrame({"guest": ["x"]})))


# ---------------------------------------------------------------------------- availability


def test_availability_counts_guests_and_hosts_down() -> None:
    fig = availability(events_frame(), end_s=300.0)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "Guest availability"
    assert ax.get_xlabel() == "time (s)"
    assert "count" in ax.get_ylabel()
    texts = legend_texts(ax)
    assert texts == [
        "guests down",
        "hosts failed",
        "host failure",
        "host repaired",
        "failure detected",
    ]
    guests_line, hosts_line = ax.get_lines()
    np.testing.assert_allclose(guests_line.get_xdata(), [0, 5, 100, 160, 250, 300])
    np.testing.assert_allclose(guests_line.get_ydata(), [0, 0, 2, 1, 0, 0])
    np.testing.assert_allclose(hosts_line.get_ydata(), [0, 1, 0, 0])
    assert len(ax.collections) == 3
    assert ax.get_xlim() == (0.0, 300.0)


def test_availability_with_downtime_table() -> None:
    table = pd.DataFrame(
        {
            "guest": ["a", "b", "c"],
            "meant_s": [300.0, 300.0, 300.0],
            "downtime_s": [60.0, 150.0, 0.0],
            "availability": [0.8, 0.5, 1.0],
        }
    )
    fig = availability(events_frame(), table)
    assert len(fig.axes) == 2
    bars = fig.axes[1]
    assert "downtime" in bars.get_title()
    assert bars.get_xlabel() == "downtime (min)"
    assert [p.get_width() for p in bars.patches] == [2.5, 1.0]  # longest first, no zeros
    assert [t.get_text() for t in bars.get_yticklabels()] == ["b", "a"]
    assert "50 %" in legend_texts(bars)[0]
    # A table without downtime is ignored, one without any downtime says so.
    assert len(availability(events_frame(), pd.DataFrame({"guest": ["a"]})).axes) == 1
    table["downtime_s"] = 0.0
    assert fig_text(availability(events_frame(), table).axes[1]) == ["no downtime"]


def fig_text(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_availability_without_data() -> None:
    assert_no_data(availability(None))
    assert_no_data(availability(pd.DataFrame()))
    # Events without any failure still draw a flat line rather than failing.
    quiet = events_frame().iloc[:4]
    ax = availability(quiet).axes[0]
    assert legend_texts(ax) == ["guests down"]
    assert np.all(ax.get_lines()[0].get_ydata() == 0)


# ---------------------------------------------------------------------------- power


def test_power_energy_sum_and_cumulative_energy() -> None:
    fig = power_energy(hosts_frame(n_samples=4, step_s=3600.0))
    ax, twin = fig.axes
    assert ax.get_xlabel() == "time (h)"
    assert ax.get_ylabel() == "cluster power (W)"
    assert twin.get_ylabel() == "cumulative energy (kWh)"
    assert "1.2 kWh" in ax.get_title()
    assert legend_texts(ax) == ["power (W)", "cumulative energy (kWh)"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [300.0] * 4)
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), [0.3, 0.6, 0.9, 1.2])


def test_power_energy_kilowatts() -> None:
    hosts = hosts_frame(n_samples=2, step_s=60.0)
    hosts["power_w"] = 20_000.0
    ax = power_energy(hosts).axes[0]
    assert ax.get_ylabel() == "cluster power (kW)"
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [40.0, 40.0])


def test_power_energy_without_data() -> None:
    assert_no_data(power_energy(None))
    assert_no_data(power_energy(pd.DataFrame()))
    assert_no_data(power_energy(hosts_frame(power=False)))
    nan_power = hosts_frame()
    nan_power["power_w"] = np.nan
    assert_no_data(power_energy(nan_power))


# ---------------------------------------------------------------------------- saving


def full_result(**overrides) -> SimpleNamespace:
    parts = {
        "hosts": hosts_frame(),
        "requests": requests_frame(),
        "migrations": migrations_frame(),
        "events": events_frame(),
    }
    parts.update(overrides)
    return SimpleNamespace(**parts)


def test_save_figures_writes_every_figure_with_data(tmp_path: Path) -> None:
    paths = save_figures(full_result(), tmp_path)
    assert [p.name for p in paths] == [
        "utilization.png",
        "heatmap_cpu.png",
        "latency_cdf.png",
        "latency_over_time.png",
        "migration_timeline.png",
        "availability.png",
        "power_energy.png",
    ]
    assert all(p.read_bytes().startswith(PNG_SIGNATURE) for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_save_figures_skips_figures_without_data(tmp_path: Path) -> None:
    quiet_events = events_frame().iloc[:4]
    result = full_result(
        hosts=hosts_frame(power=False),
        requests=pd.DataFrame(),
        migrations=pd.DataFrame(columns=list(migrations_frame().columns)),
        events=quiet_events,
    )
    paths = save_figures(result, tmp_path / "a")
    assert [p.name for p in paths] == ["utilization.png", "heatmap_cpu.png"]
    # Only hosts: the attributes of a full result are optional.
    paths = save_figures(SimpleNamespace(hosts=hosts_frame()), tmp_path / "b", formats=("svg",))
    assert [p.name for p in paths] == ["utilization.svg", "heatmap_cpu.svg", "power_energy.svg"]


def test_result_plots_new_methods() -> None:
    plots = ResultPlots(full_result())
    assert plots.latency_cdf().axes[0].get_xlabel() == "latency (s)"
    assert len(plots.latency_over_time(interval_s=10.0).axes[0].get_lines()) == 3
    assert plots.migrations().axes[0].get_title().startswith("Live migrations")
    assert plots.availability(title="HA").axes[0].get_title() == "HA"
    assert plots.power().axes[1].get_ylabel() == "cumulative energy (kWh)"
    empty = ResultPlots(SimpleNamespace(hosts=pd.DataFrame()))
    for fig in (
        empty.latency_cdf(),
        empty.latency_over_time(),
        empty.migrations(),
        empty.availability(),
        empty.power(),
    ):
        assert_no_data(fig)


def test_latency_legend_stays_off_the_p99_line() -> None:
    from vsim.plot.timeline import latency_over_time as draw

    end = np.linspace(1.0, 600.0, 600)
    requests = pd.DataFrame({"end_s": end, "latency_s": 0.1 + end / 600.0})
    fig = draw(requests)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    legend = ax.get_legend().get_window_extent()
    # Beside the axes, so no part of a line (the p99 rises to the top right) lies under it.
    assert legend.x0 >= ax.get_window_extent().x1


def test_multi_panel_figures_draw_on_the_axes_given() -> None:
    from vsim.plot.deployments import deployment_timeline
    from vsim.plot.timeline import availability as draw

    events = pd.DataFrame(
        {
            "time_s": [10.0, 20.0, 50.0, 60.0],
            "kind": ["host_failed", "guest_down", "state", "host_repaired"],
            "subject": ["h-0", "g-0", "g-0", "h-0"],
            "detail": ["", "", "running", ""],
        }
    )
    table = pd.DataFrame({"guest": ["g-0"], "downtime_s": [30.0]})
    fig = Figure()
    axes = fig.subplots(2, 1)
    assert draw(events, table, ax=list(axes)) is fig
    assert all(ax.has_data() for ax in axes) and len(fig.axes) == 2
    with pytest.raises(ValueError, match="2 panels"):
        draw(events, table, ax=axes[0])
    deps = pd.DataFrame(
        {
            "time_s": [0.0, 15.0], "deployment": ["web", "web"], "desired": [1, 2],
            "ready": [1, 1], "arrival_rps": [5.0, 9.0],
            "latency_s_p50": [0.01, 0.02], "latency_s_p99": [0.05, 0.08],
        }
    )  # fmt: skip
    other = Figure()
    pair = other.subplots(2, 1)
    assert deployment_timeline(deps, ax=pair) is other and pair[1].has_data()
