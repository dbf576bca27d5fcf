"""What sharing a host costs a tenant: the noisy-neighbour report.

For each chosen service guest, run the scenario as it is, then again with that guest alone on
the same host (same host type, its co-tenants and everyone else removed), and compare its
latency and throughput. ``isolation_penalty_p99`` is the shared p99 over the alone p99.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsim.experiment.run import run
from vsim.scenario import Scenario, validate_scenario


def guest_latency(requests: pd.DataFrame, guest: str) -> dict[str, float]:
    """Latency percentiles and throughput of one guest's completed requests."""
    mine = requests[(requests.guest == guest) & (requests.status == "completed")]
    lat = mine.latency_s.to_numpy()
    if len(lat) == 0:
        return {"latency_s_p50": np.nan, "latency_s_p99": np.nan, "completed": 0}
    return {
        "latency_s_p50": float(np.quantile(lat, 0.5)),
        "latency_s_p99": float(np.quantile(lat, 0.99)),
        "completed": len(lat),
    }


def noisy_neighbour(scenario: Scenario, guests: list[str]) -> pd.DataFrame:
    """One row per guest: p50/p99 latency and requests completed, shared versus alone."""
    shared = run(scenario)
    placed = shared.events[shared.events.kind == "placed"].groupby("subject").detail.first()
    rows = []
    for name in guests:
        if name not in placed.index:
            raise ValueError(f"guest {name!r} was never placed in the shared run")
        alone = run(_alone(scenario, name, placed[name]))
        s, a = guest_latency(shared.requests, name), guest_latency(alone.requests, name)
        rows.append(
            {
                "guest": name,
                "host": placed[name],
                **{f"{k}_shared": v for k, v in s.items()},
                **{f"{k}_alone": v for k, v in a.items()},
                "isolation_penalty_p99": s["latency_s_p99"] / a["latency_s_p99"],
            }
        )
    return pd.DataFrame(rows)


def _alone(scenario: Scenario, guest: str, host: str) -> Scenario:
    """The scenario with only ``guest``, pinned to ``host`` (a host of the same type)."""
    data = scenario.model_dump(mode="json")
    group = next(g for g in data["guests"] if guest in _names(g))
    solo = {**group, "name": guest, "count": 1, "host": host, "in_vm": None, "anti_affinity": None}
    if solo.get("kind") == "container" and group.get("in_vm"):
        solo["kind"] = "vm"  # its VM is gone with the co-tenants; run it directly on the host
    data["guests"] = [solo]
    data["events"] = [e for e in data["events"] if e["guest"] == guest]
    for wl in data["workloads"].values():
        if wl.get("kind") == "service":
            wl["next"] = None
    data.pop("consolidation", None)
    data.pop("failures", None)
    return validate_scenario(data)


def _names(group: dict) -> list[str]:
    count = group.get("count", 1)
    return [group["name"]] if count == 1 else [f"{group['name']}-{i}" for i in range(count)]
