"""What a run costs, from the scenario's optional ``cost`` section.

Hosts are bought at ``host_types[].price`` and written off linearly over
``cost.amortization`` seconds, so a run of duration ``T`` carries

    cost_hosts  = sum(count * price) * T / amortization

of their price, whether the hosts are busy, idle or off. Energy is bought at the facility meter:

    cost_energy = facility_energy_kwh * energy_price_kwh      (facility = IT energy x PUE)

``cost_total`` is their sum. ``cost_per_guest_month`` divides it by the guest-months actually
served: the seconds each guest spent ``running`` (summed over guests, read from the guests
frame, each sample's state standing for the interval that ends at it) divided by a 30-day month
(``30 * 86400`` s). A run in which no guest ran has no cost per guest-month (NaN).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vsim.scenario import Scenario

__all__ = ["GUEST_MONTH_S", "cost_summary", "running_guest_seconds"]

#: Seconds in the "month" of a guest-month: 30 days.
GUEST_MONTH_S = 30 * 86400.0


def running_guest_seconds(guests: pd.DataFrame) -> float:
    """Guest-seconds spent in state ``running``.

    Each row of the tidy guests frame (``time_s`` is the end of its sampling interval) counts
    for the length of that interval; the first interval starts at time 0.
    """
    if len(guests) == 0 or not {"time_s", "state"} <= set(guests.columns):
        return 0.0
    times = np.sort(pd.unique(guests["time_s"].to_numpy(dtype=float)))
    span = pd.Series(np.diff(np.concatenate([[0.0], times])), index=times)
    running = guests["state"].to_numpy() == "running"
    t = guests["time_s"].to_numpy(dtype=float)[running]
    return float(span.reindex(t).to_numpy().sum())


def cost_summary(scenario: Scenario, summary: pd.Series, guests: pd.DataFrame) -> dict[str, Any]:
    """Cost columns for the summary; empty when the scenario has no ``cost`` section.

    Returns ``cost_hosts``, ``cost_energy``, ``cost_total`` (in the currency of the prices) and
    ``cost_per_guest_month``; ``summary`` must hold ``facility_energy_kwh``.
    """
    cost = scenario.cost
    if cost is None:
        return {}
    duration = float(scenario.duration)
    price = sum(h.count * h.price for h in scenario.datacenter.host_types)
    hosts = price * duration / float(cost.amortization)
    energy = float(summary["facility_energy_kwh"]) * cost.energy_price_kwh
    total = hosts + energy
    months = running_guest_seconds(guests) / GUEST_MONTH_S
    return {
        "cost_hosts": hosts,
        "cost_energy": energy,
        "cost_total": total,
        "cost_per_guest_month": total / months if months > 0 else float("nan"),
    }
