"""Figures of co-residency attacks: coverage over time per run (policy), and coverage against
the price of isolation (hosts used, energy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vsim.plot.base import empty_figure, new_figure, time_scale


def coverage_figure(results: Mapping[str, Any], attack: str | None = None) -> Figure:
    """Fraction of victims ever co-resident with the attacker over time, one step line per
    labelled result (``{policy: result}``); ``attack``: which attack (default: every one)."""
    frames = {k: r.coresidency for k, r in results.items() if len(r.coresidency)}
    end = max((float(r.summary["sim_time_s"]) for r in results.values()), default=0.0)
    return _coverage(frames, end, attack)


def coverage_timeline(table: pd.DataFrame, end_s: float | None = None) -> Figure:
    """One run's co-residency coverage over time, a line per attack (a run's figure)."""
    end = float(table["time_s"].max()) if end_s is None else end_s
    return _coverage({"": table} if len(table) else {}, end, None)


def _coverage(frames: Mapping[str, pd.DataFrame], end: float, attack: str | None) -> Figure:
    fig = new_figure()
    if not frames:
        return empty_figure(fig, "co-residency coverage", "no attacks")
    ax = fig.subplots()
    scale, label = time_scale(np.array([0.0, end]))
    for name, table in frames.items():
        for atk, d in table.groupby("attack", sort=False):
            if attack is not None and atk != attack:
                continue
            t = np.append(d["time_s"].to_numpy(float), end) / scale
            cov = np.append(d["coverage"].to_numpy(float), d["coverage"].iloc[-1])
            tag = name if attack else ": ".join(x for x in (name, str(atk)) if x)
            ax.step(t, cov, where="post", label=tag)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(label)
    ax.set_ylabel("victims covered (ever)")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("co-residency coverage over time")
    return fig


def price_figure(results: Mapping[str, Any], attack: str) -> Figure:
    """Per labelled result, the attack's coverage against hosts used (left) and the energy of
    used hosts (right): what co-residency risk each policy buys for its packing."""
    fig = new_figure((9.0, 4.0))
    left, right = fig.subplots(1, 2, sharey=True)
    for name, r in results.items():
        s = r.summary
        cov = float(s[f"{attack}_coverage"])
        left.scatter(s["hosts_used_mean"], cov)
        left.annotate(name, (s["hosts_used_mean"], cov), fontsize="small")
        right.scatter(s["used_hosts_energy_kwh"], cov)
        right.annotate(name, (s["used_hosts_energy_kwh"], cov), fontsize="small")
    left.set_xlabel("hosts used (time mean)")
    right.set_xlabel("energy of used hosts (kWh)")
    left.set_ylabel(f"{attack}: victims covered")
    fig.suptitle("co-residency against the price of isolation")
    return fig
