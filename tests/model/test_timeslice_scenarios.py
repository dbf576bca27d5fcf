"""``scheduler.cpu: timeslice`` runs every shipped scenario. With no switch or refill cost a
slice costs nothing, so a scenario without request-level services keeps the fluid mode's host
and guest tables bit for bit; with services, requests run in quanta and their times differ by
design (tests/model/test_sliced_requests.py), so only the ready-time columns are checked."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsim
from vsim.scenario import load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
READY = ["cpu_ready_frac", "cpu_costop_frac"]


def _variant(path: Path, cpu: str):
    data = load_scenario(path).model_dump(mode="json", by_alias=True, exclude_unset=True)
    data["duration"] = 600.0  # ten minutes of each: the point is that every feature runs
    sch = data.setdefault("scheduler", {})
    sch["cpu"] = cpu
    if cpu == "timeslice":
        sch["timeslice"] = {**sch.get("timeslice", {}), "switch_cost": 0.0, "cache_refill": 0.0}
    else:
        sch.pop("timeslice", None)
    with warnings.catch_warnings():  # events after the shortened end are reported, not errors
        warnings.simplefilter("ignore", UserWarning)
        return validate_scenario(data)


@pytest.mark.parametrize("path", sorted(ROOT.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_scenario_runs_time_sliced(path):
    sliced = vsim.run(_variant(path, "timeslice"))
    ready = sliced.guests["cpu_ready_frac"].to_numpy()
    known = ready[~np.isnan(ready)]  # NaN: no runnable vCPU in that sample
    assert np.all((known >= 0) & (known <= 1))
    assert 0 <= sliced.summary["cpu_ready_mean_frac"] <= 1
    fluid = vsim.run(_variant(path, "fluid"))
    assert "cpu_ready_frac" not in fluid.guests
    if (fluid.services["mode"] == "requests").any():  # requests run in quanta: not fluid
        return
    pd.testing.assert_frame_equal(fluid.hosts, sliced.hosts)
    extra = [c for c in READY if c in sliced.guests]
    pd.testing.assert_frame_equal(fluid.guests, sliced.guests.drop(columns=extra))
