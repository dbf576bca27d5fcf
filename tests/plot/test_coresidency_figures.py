"""Co-residency figures draw what the tables hold."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from vsim.plot.base import time_scale
from vsim.plot.coresidency import coverage_figure, coverage_timeline, price_figure


def _result(coverage: list[float], cov_end: float) -> SimpleNamespace:
    table = pd.DataFrame(
        {
            "time_s": [0.0, 600.0, 1200.0][: len(coverage)],
            "attack": "a",
            "coverage": coverage,
            "victims_now": 0,
            "attacker_vms": 0,
        }
    )
    summary = pd.Series(
        {
            "sim_time_s": 3600.0,
            "a_coverage": cov_end,
            "hosts_used_mean": 4.0,
            "used_hosts_energy_kwh": 2.5,
        }
    )
    return SimpleNamespace(coresidency=table, summary=summary)


def test_coverage_steps_run_to_the_end_per_policy():
    fig = coverage_figure({"random": _result([0.0, 0.5, 0.75], 0.75), "pssf": _result([0.0], 0)})
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["random: a", "pssf: a"]
    y = lines[0].get_ydata()
    assert np.allclose(y, [0.0, 0.5, 0.75, 0.75])  # held to the end of the run
    scale, _ = time_scale(np.array([0.0, 3600.0]))
    assert np.isclose(lines[0].get_xdata()[-1], 3600.0 / scale)  # to the end of the run


def test_one_run_timeline_and_price_scatter():
    r = _result([0.0, 1.0], 1.0)
    assert len(coverage_timeline(r.coresidency, 3600.0).axes[0].get_lines()) == 1
    fig = price_figure({"random": r}, "a")
    offsets = fig.axes[0].collections[0].get_offsets()
    assert offsets.tolist() == [[4.0, 1.0]]
    assert coverage_figure({}).axes[0].texts  # no attacks: an empty figure that says so
