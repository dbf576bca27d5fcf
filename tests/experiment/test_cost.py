"""Cost columns of the summary against hand-computed figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.helpers import host, scenario, vm
from vsim.experiment import run
from vsim.experiment.cost import cost_summary, running_guest_seconds


def priced(**kw):
    flat = {"model": "linear", "idle_w": 100.0, "peak_w": 100.0}  # 100 W whatever the load
    return scenario(
        [host(count=2, cores=4, price=8760.0, power=flat)],
        [vm("vm", vcpus=1, count=3, workload="w")],
        {"w": {"kind": "constant", "cpu": 0.5}},
        duration="1h",
        sample_interval="10m",
        **kw,
    )


def test_cost_of_a_run_by_hand():
    sc = priced(cost={"amortization": "365d", "energy_price_kwh": 0.5})
    sc = sc.model_copy(update={"datacenter": sc.datacenter.model_copy(update={"pue": 1.5})})
    res = run(sc)
    s = res.summary
    # Hosts: 2 x 8760 bought, written off over 365 days; one hour of it: 2 x 8760 / 8760 = 2.
    assert s["cost_hosts"] == pytest.approx(2.0)
    # Energy: 2 hosts x 100 W x 3600 s = 0.2 kWh of IT energy, x PUE 1.5 = 0.3 kWh, at 0.5.
    assert s["facility_energy_kwh"] == pytest.approx(0.3)
    assert s["cost_energy"] == pytest.approx(0.15)
    assert s["cost_total"] == pytest.approx(2.15)
    # Three guests running the whole hour: 3 x 3600 s = 10800 / 2592000 guest-months.
    assert s["cost_per_guest_month"] == pytest.approx(2.15 / (10800 / (30 * 86400)))


def test_no_cost_section_no_cost_columns():
    res = run(priced())
    assert not any(str(c).startswith("cost_") for c in res.summary.index)


def test_guest_months_count_running_samples_only():
    guests = pd.DataFrame(
        {
            "time_s": [300.0, 300.0, 600.0, 600.0, 1200.0, 1200.0],
            "guest": ["a", "b"] * 3,
            "state": ["booting", "running", "running", "paused", "running", "stopped"],
        }
    )
    # Intervals (0,300], (300,600], (600,1200]: a runs 300 + 600, b runs 300.
    assert running_guest_seconds(guests) == 1200.0
    assert running_guest_seconds(pd.DataFrame()) == 0.0

    sc = priced(cost={"amortization": "30d", "energy_price_kwh": 2.0})
    out = cost_summary(sc, pd.Series({"facility_energy_kwh": 1.5}), guests)
    hosts = 2 * 8760.0 * 3600 / (30 * 86400)
    assert out["cost_total"] == pytest.approx(hosts + 3.0)
    assert out["cost_per_guest_month"] == pytest.approx((hosts + 3.0) / (1200 / (30 * 86400)))
    none = cost_summary(sc, pd.Series({"facility_energy_kwh": 0.0}), guests.iloc[:0])
    assert math.isnan(none["cost_per_guest_month"])
