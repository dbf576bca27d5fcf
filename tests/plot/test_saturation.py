"""Saturated configurations stay in the figures: medians with order-statistic bands, marked."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

from vsim.experiment.sweep import aggregate_runs
from vsim.plot.saturation import saturated_metrics, saturation_curves, save_saturation_figures

INF = math.inf
#: p99 latency of six runs per overcommit ratio: none, two and five of six saturated.
P99 = {
    1.0: [0.11, 0.12, 0.13, 0.12, 0.14, 0.12],
    1.5: [0.2, 0.25, 0.22, 0.3, 0.21, 0.24],
    2.0: [0.5, INF, 0.6, 0.7, INF, 0.55],
    2.5: [INF] * 5 + [1.2],
}


def aggregate() -> pd.DataFrame:
    rows = [
        {
            "run_id": f"c{c}-r{r}",
            "config": c,
            "oc": oc,
            "replication": r,
            "seed": r,
            "status": "ok",
            "error": None,
            "latency_s_p99": value,
            "energy_kwh": 1.0 + c,
        }
        for c, (oc, values) in enumerate(P99.items())
        for r, value in enumerate(values)
    ]
    return aggregate_runs(pd.DataFrame(rows), ["oc"])


def test_saturated_configurations_are_marked_where_their_median_is():
    ax = saturation_curves(aggregate(), "latency_s_p99")
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    assert len(points) == 2
    partly, mostly = points
    # 2 of 6 saturated: marked on its median, (0.6 + 0.7) / 2; 5 of 6: median inf, top edge.
    assert partly.get_offsets().tolist() == [[2.0, pytest.approx(0.65)]]
    assert mostly.get_offsets().tolist() == [[2.5, 0.97]]
    assert mostly.get_transform() != ax.transData  # axes coordinates in y
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["2/6", "5/6"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "some runs saturated (k/n)" in legend and "median saturated (inf)" in legend
    assert "order-statistic" in ax.get_ylabel()


def test_the_band_is_the_order_statistic_interval_and_stays_above_zero():
    agg = aggregate()
    ax = saturation_curves(agg, "latency_s_p99")
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = np.concatenate([p.vertices[:, 1] for p in band.get_paths()])
    bottom, top = ax.get_ylim()
    assert bottom == 0.0 and ys.min() >= 0.0
    # n = 6: the 95 % interval of the median is [min, max]; inf reaches the top of the axes.
    assert ys.min() == pytest.approx(0.11) and ys.max() == pytest.approx(top)
    assert top == pytest.approx(1.2 * 1.15)  # above the largest finite bound
    ax.figure.canvas.draw()  # renders


def test_saving_writes_only_the_metrics_that_saturated(tmp_path):
    agg = aggregate()
    assert saturated_metrics(agg) == ["latency_s_p99"]
    paths = save_saturation_figures(agg, tmp_path / "fig", formats=("png", "svg"))
    assert [p.name for p in paths] == [
        "saturation_latency_s_p99_vs_oc.png",
        "saturation_latency_s_p99_vs_oc.svg",
    ]
    assert all(p.stat().st_size > 1000 for p in paths)
    calm = agg[agg["latency_s_p99_saturated"] == 0]
    assert save_saturation_figures(calm, tmp_path / "none") == []


def test_draws_into_given_axes_and_takes_categorical_x():
    from matplotlib.figure import Figure

    agg = aggregate()
    agg["policy"] = ["a", "b", "c", "d"]
    ax = Figure().add_subplot()
    assert saturation_curves(agg, "latency_s_p99", "policy", by=[], ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "d"]
