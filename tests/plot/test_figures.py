"""Figures build from small frames, carry labels with units, and save as real files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from vsim.plot import ResultPlots, heatmap, save_figures, utilization

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def host_frame(n_hosts: int = 3, n_samples: int = 4, step_s: float = 300.0) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    times = np.arange(1, n_samples + 1) * step_s
    rows = []
    for t in times:
        for h in range(n_hosts):
            rows.append(
                {
                    "time_s": float(t),
                    "host": f"host-{h}",
                    "host_type": "std",
                    "cpu_util": float(rng.uniform(0, 1)),
                    "mem_util": float(rng.uniform(0, 1)),
                    "disk_util": 0.0,
                    "net_util": 0.0,
                    "state": "off" if h == 0 else "on",
                }
            )
    return pd.DataFrame(rows)


def test_utilization_labels_title_legend() -> None:
    fig = utilization(host_frame())
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "Cluster utilization"
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "utilization (fraction)"
    legend = ax.get_legend()
    assert legend is not None
    texts = [t.get_text() for t in legend.get_texts()]
    assert any("CPU" in t for t in texts) and any("memory" in t for t in texts)
    assert len(texts) == 3  # two means and the p10-p90 band


def test_utilization_mean_over_on_hosts_only() -> None:
    hosts = host_frame(n_hosts=3, n_samples=2)
    fig = utilization(hosts)
    cpu_line = fig.axes[0].get_lines()[0]
    expected = hosts[hosts["state"] == "on"].groupby("time_s")["cpu_util"].mean().to_numpy()
    np.testing.assert_allclose(cpu_line.get_ydata(), expected)


def test_utilization_hours_for_long_runs_and_custom_title() -> None:
    fig = utilization(host_frame(n_samples=30, step_s=600.0), title="Long run")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (h)"
    assert ax.get_title() == "Long run"
    assert ax.get_lines()[0].get_xdata()[-1] == pytest.approx(5.0)


def test_heatmap_shape_and_colorbar() -> None:
    fig = heatmap(host_frame(n_hosts=3, n_samples=4))
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (3, 4)
    assert ax.get_title()
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel().startswith("host")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["host-0", "host-1", "host-2"]
    colorbar_ax = fig.axes[1]
    assert "cpu_util" in colorbar_ax.get_ylabel()
    clim = ax.images[0].get_clim()
    assert clim == (0.0, 1.0)


def test_heatmap_rows_follow_first_appearance() -> None:
    hosts = host_frame(n_hosts=2, n_samples=2)
    hosts = hosts.iloc[[1, 0, 3, 2]].reset_index(drop=True)  # host-1 appears first
    fig = heatmap(hosts, "mem_util")
    data = fig.axes[0].images[0].get_array()
    assert data[0, 0] == hosts.loc[0, "mem_util"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["host-1", "host-0"]


def test_heatmap_vmax_grows_with_overcommit() -> None:
    hosts = host_frame(n_hosts=2, n_samples=2)
    hosts.loc[1, "cpu_util"] = 1.6  # host-1, which is on (host-0 is off: drawn apart)
    assert heatmap(hosts).axes[0].images[0].get_clim() == (0.0, 1.6)


def test_heatmap_many_hosts_stays_readable() -> None:
    fig = heatmap(host_frame(n_hosts=800, n_samples=5))
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (800, 5)
    fig.draw_without_rendering()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert 0 < len(labels) <= 40
    assert all(label.startswith("host-") for label in labels)


def test_heatmap_missing_column_is_clear() -> None:
    with pytest.raises(ValueError, match="power_w"):
        heatmap(host_frame(), "power_w")


def test_empty_frames_do_not_crash(tmp_path: Path) -> None:
    for fig in (utilization(pd.DataFrame()), heatmap(pd.DataFrame(columns=["time_s", "host"]))):
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert texts == ["no samples"]
        assert fig.axes[0].get_title()
    paths = save_figures(SimpleNamespace(hosts=pd.DataFrame()), tmp_path)
    assert all(p.read_bytes().startswith(PNG_SIGNATURE) for p in paths)


def test_save_figures_writes_png(tmp_path: Path) -> None:
    folder = tmp_path / "figures"
    paths = save_figures(SimpleNamespace(hosts=host_frame()), folder)
    assert [p.name for p in paths] == ["utilization.png", "heatmap_cpu.png"]
    for p in paths:
        assert p.read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in folder.iterdir()) == ["heatmap_cpu.png", "utilization.png"]


def test_save_figures_svg_and_bad_format(tmp_path: Path) -> None:
    paths = save_figures(SimpleNamespace(hosts=host_frame()), tmp_path, formats=("svg",))
    assert [p.suffix for p in paths] == [".svg", ".svg"]
    assert b"<svg" in paths[0].read_bytes()[:1000]
    with pytest.raises(ValueError, match="unsupported"):
        save_figures(SimpleNamespace(hosts=host_frame()), tmp_path, formats=("bmpx",))


def test_result_plots_accessor() -> None:
    plots = ResultPlots(SimpleNamespace(hosts=host_frame()))
    assert plots.utilization().axes[0].get_title() == "Cluster utilization"
    assert plots.heatmap(column="mem_util").axes[0].images[0].get_array().shape == (3, 4)


def test_figures_render_for_notebooks() -> None:
    png = utilization(host_frame())._repr_png_()
    assert png.startswith(PNG_SIGNATURE)


def test_heatmap_draws_switched_off_hosts_apart_from_idle_ones() -> None:
    hosts = host_frame(n_hosts=3, n_samples=2)
    hosts.loc[hosts["host"] == "host-2", "cpu_util"] = 0.0  # idle, but on
    ax = heatmap(hosts).axes[0]
    values, off = ax.images[0].get_array(), ax.images[1].get_array()
    # host-0 is off: masked on the scale, shown by the overlay; host-2 sits at 0 on the scale.
    assert values.mask[0].all() and not off.mask[0].any()
    assert not values.mask[2].any() and (values[2] == 0).all() and off.mask[2].all()
    assert "off or failed" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_utilization_band_spans_busy_hosts_when_many_are_idle() -> None:
    hosts = host_frame(n_hosts=5, n_samples=3)
    hosts["state"] = "on"
    hosts.loc[hosts["host"].isin(["host-0", "host-1", "host-2"]), "cpu_util"] = 0.0
    ax = utilization(hosts).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "CPU, busy hosts p10–p90" in labels and "idle hosts, share" in labels
    (idle,) = [line for line in ax.get_lines() if line.get_label() == "idle hosts, share"]
    np.testing.assert_allclose(idle.get_ydata(), 0.6)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    busy = hosts[~hosts["host"].isin(["host-0", "host-1", "host-2"])]["cpu_util"]
    assert band.min() >= busy.min() - 1e-12  # the band never drops to the idle hosts' 0


@pytest.mark.parametrize("draw", ["utilization", "heatmap", "power_energy", "latency_over_time"])
def test_plotting_functions_draw_on_the_axes_given(draw) -> None:
    from matplotlib.figure import Figure

    from vsim import plot

    hosts = host_frame()
    hosts["power_w"] = 100.0
    requests = pd.DataFrame({"end_s": [1.0, 2.0, 3.0], "latency_s": [0.1, 0.2, 0.3]})
    data = requests if draw == "latency_over_time" else hosts
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    fn = getattr(plot, draw)
    assert fn(data, ax=ax) is fig
    assert ax.has_data() and len(fig.axes) >= 1 and fig.axes[0] is ax


def test_analytic_latency_over_time_shades_saturated_intervals_only() -> None:
    from vsim.plot import analytic_latency_over_time

    frame = pd.DataFrame(
        {
            "time_s": [600.0, 600.0, 1200.0, 1200.0],
            "guest": ["a", "b", "a", "b"],
            "service": "web",
            "requests": [100.0, 100.0, 100.0, 100.0],
            "utilization": [0.5, 0.5, 1.2, 1.3],
            "latency_s_mean": [1.0, 1.0, np.inf, np.inf],
        }
    )
    ax = analytic_latency_over_time(frame).axes[0]
    (span,) = ax.patches  # the second interval, [600, 1200] s
    xs = span.get_path().transformed(span.get_patch_transform()).vertices[:, 0]
    assert (xs.min(), xs.max()) == (600.0, 1200.0)
    p99 = [ln for ln in ax.get_lines() if ln.get_label() == "p99"][0].get_ydata()
    assert p99[0] == pytest.approx(-np.log(0.01)) and np.isnan(p99[1])
    assert "saturated" in ax.get_title()
    calm = analytic_latency_over_time(frame.iloc[:2]).axes[0]
    assert not calm.patches and "saturated" not in calm.get_title()
