"""Sweep figures: Pareto front by hand, curves with bands, latency CDF guard, saving."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from vsim.plot.sweep import (
    latency_cdf,
    metric_label,
    pareto,
    pareto_front,
    save_sweep_figures,
    sweep_curves,
)


def aggregate() -> pd.DataFrame:
    rows = []
    for c, (oc, pol) in enumerate([(1.0, "a"), (1.5, "a"), (2.0, "a"), (1.0, "b"), (2.0, "b")]):
        m = 0.1 * oc + (0.05 if pol == "b" else 0.0)
        rows.append(
            {
                "config": c,
                "oc": oc,
                "policy": pol,
                "runs": 3,
                "failed": 0,
                "energy_kwh_mean": 3.0 - oc,
                "energy_kwh_std": 0.1,
                "energy_kwh_ci95": 0.2,
                "energy_kwh_ci95_low": 2.8 - oc,
                "energy_kwh_ci95_high": 3.2 - oc,
                "unmet_cpu_frac_mean": m,
                "unmet_cpu_frac_std": 0.01,
                "unmet_cpu_frac_ci95": 0.02,
                "unmet_cpu_frac_ci95_low": m - 0.02,
                "unmet_cpu_frac_ci95_high": m + 0.02,
            }
        )
    return pd.DataFrame(rows)


def test_pareto_front_by_hand():
    pts = pd.DataFrame(
        {
            "x": [1.0, 2.0, 3.0, 2.0, 4.0, 1.0, np.nan, 3.0],
            "y": [5.0, 3.0, 1.0, 4.0, 1.0, 6.0, 0.0, 1.0],
        }
    )
    # (1,5), (2,3), (3,1) and its twin are on the front; (2,4) is beaten by (2,3), (4,1) by
    # (3,1), (1,6) by (1,5); a point with a missing value is never on it.
    assert list(pareto_front(pts, "x", "y")) == [True, True, True, False, False, False, False, True]


def test_curves_have_labels_bands_and_a_line_per_other_parameter():
    fig = sweep_curves(aggregate(), "unmet_cpu_frac", "oc")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "oc" and "fraction" in ax.get_ylabel() and ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert len(ax.collections) == 2  # one confidence band per line
    cat = sweep_curves(aggregate(), "energy_kwh", "policy")
    assert [t.get_text() for t in cat.axes[0].get_xticklabels()] == ["a", "b"]


def test_pareto_figure_marks_the_front():
    agg = aggregate()
    fig = pareto(
        agg,
        "energy_kwh_mean",
        "unmet_cpu_frac_mean",
        xerr="energy_kwh_ci95",
        label=["oc", "policy"],
    )
    ax = fig.axes[0]
    assert "kWh" in ax.get_xlabel() and "fraction" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in labels
    # Within policy a, each step trades energy for unmet demand: all on the front; b is beaten.
    assert list(pareto_front(agg, "energy_kwh_mean", "unmet_cpu_frac_mean")) == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_latency_cdf_with_and_without_latency():
    empty = latency_cdf(pd.DataFrame())
    assert "no latency_s data" in empty.axes[0].texts[0].get_text()
    req = pd.DataFrame({"latency_s": np.linspace(0.01, 1.0, 100), "svc": ["x", "y"] * 50})
    fig = latency_cdf(req, by="svc")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "latency (s)" and len(ax.get_legend().get_texts()) == 2


def test_save_sweep_figures_png_and_svg(tmp_path):
    paths = save_sweep_figures(aggregate(), tmp_path / "f", formats=("png", "svg"))
    names = {p.name for p in paths}
    assert "curve_unmet_cpu_frac_vs_oc.png" in names and "pareto.svg" in names
    assert all(p.stat().st_size > 0 for p in paths)
    assert not list((tmp_path / "f").glob(".*.tmp"))


def test_metric_labels_carry_units():
    assert metric_label("energy_kwh") == "energy (kWh)"
    assert metric_label("latency_s_p99") == "p99 latency (s)"
    assert metric_label("cpu_util_mean") == "mean cpu utilization (fraction)"
    assert "currency" in metric_label("cost_per_guest_month")


def _offsets(ax, label: str) -> np.ndarray:
    """The points of the scatter drawn with ``label``."""
    (coll,) = [c for c in ax.collections if c.get_label() == label]
    return np.asarray(coll.get_offsets())


def test_configurations_that_reject_guests_stay_off_the_front_unless_allowed():
    agg = aggregate()
    # Configuration 3 (oc 1.0, b) rejects guests; made the cheapest and best, it would
    # dominate every other point.
    agg.loc[3, ["energy_kwh_mean", "unmet_cpu_frac_mean"]] = [0.5, 0.0]
    agg["guests_rejected_mean"] = [0.0, 0.0, 0.0, 4.0, 0.0]
    x, y = "energy_kwh_mean", "unmet_cpu_frac_mean"
    ax = pareto(agg, x, y).axes[0]
    assert len(_offsets(ax, "Pareto front")) == 3  # policy a, as without configuration 3
    np.testing.assert_array_equal(_offsets(ax, "rejects guests (off the front)"), [[0.5, 0.0]])
    allowed = pareto(agg, x, y, allow_rejected=True).axes[0]
    np.testing.assert_array_equal(_offsets(allowed, "Pareto front"), [[0.5, 0.0]])


def test_pareto_error_bars_are_the_interval_not_a_symmetric_half_width():
    agg = aggregate()
    # An interval cut at 0 (a fraction): [0, 0.12] around a mean of 0.1.
    agg.loc[0, "unmet_cpu_frac_ci95_low"] = 0.0
    agg.loc[0, "unmet_cpu_frac_ci95_high"] = 0.12
    x, y = "energy_kwh_mean", "unmet_cpu_frac_mean"
    interval = ("unmet_cpu_frac_ci95_low", "unmet_cpu_frac_ci95_high")
    ax = pareto(agg, x, y, yerr=interval).axes[0]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = bars.get_segments()
    np.testing.assert_allclose(segments[0][:, 1], [0.0, 0.12])
    np.testing.assert_allclose(segments[1][:, 1], [0.13, 0.17])


def test_curves_draw_a_target_with_the_feasible_side_shaded_and_colour_by_hue():
    agg = aggregate()
    fig = sweep_curves(agg, "unmet_cpu_frac", "oc", hue="policy", target=("<", 0.2))
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "target < 0.2"]
    assert list(line.get_ydata()) == [0.2, 0.2]
    spans = [p for p in ax.patches if p.get_alpha() == 0.08]
    (span,) = spans
    ys = span.get_path().transformed(span.get_patch_transform()).vertices[:, 1]
    assert ys.max() == pytest.approx(0.2) and ys.min() == pytest.approx(ax.get_ylim()[0])
    assert ax.get_legend().get_title().get_text() == "policy"
    above = sweep_curves(agg, "unmet_cpu_frac", "oc", target=(">=", 0.2)).axes[0]
    (span,) = [p for p in above.patches if p.get_alpha() == 0.08]
    ys = span.get_path().transformed(span.get_patch_transform()).vertices[:, 1]
    assert ys.min() == pytest.approx(0.2)


def test_all_zero_metrics_get_no_figure(tmp_path):
    agg = aggregate()
    agg["migrations_mean"], agg["migrations_ci95"] = 0.0, 0.0
    names = {
        p.stem for p in save_sweep_figures(agg, tmp_path, metrics=["migrations", "energy_kwh"])
    }
    assert "curve_energy_kwh_vs_oc" in names and "curve_migrations_vs_oc" not in names
