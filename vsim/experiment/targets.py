"""Targets a configuration must meet (``latency_s_p99<0.2``), and which configurations do.

A target is judged on the safe side of the statistics of the sweep's aggregate:

- ``m<v`` is met when no run saturated ``m`` and the upper end of its interval (``m_ci95_high``,
  the mean itself with a single run) is below ``v``;
- ``m>v`` when no run saturated ``m`` and the lower end (``m_ci95_low``) is above ``v``.

A configuration that rejected guests answers for fewer guests than the scenario asks, so it
never meets its targets unless ``allow_rejected`` is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Target", "meets_targets", "parse_target"]

_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_:.]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Target:
    """``metric op value``, with ``op`` one of ``<``, ``<=``, ``>``, ``>=``."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    @property
    def upper(self) -> bool:
        """Whether the target bounds the metric from above (``<``, ``<=``)."""
        return self.op.startswith("<")


def parse_target(text: str) -> Target:
    """``"latency_s_p99<0.2"`` -> ``Target("latency_s_p99", "<", 0.2)``; ``ValueError`` naming
    the text when it is not ``METRIC<VALUE`` (or ``<=``, ``>``, ``>=``)."""
    m = _TARGET.match(text)
    if m is None:
        raise ValueError(f"target {text!r}: expected METRIC<VALUE, e.g. latency_s_p99<0.2")
    try:
        value = float(m.group(3))
    except ValueError:
        raise ValueError(f"target {text!r}: {m.group(3)!r} is not a number") from None
    return Target(m.group(1), m.group(2), value)


def _bound(aggregate: pd.DataFrame, target: Target) -> np.ndarray:
    """The safe-side end of each configuration's interval (the mean with a single run)."""
    column = f"{target.metric}_ci95_{'high' if target.upper else 'low'}"
    mean = aggregate[f"{target.metric}_mean"].to_numpy(dtype=float)
    bound = (
        aggregate[column].to_numpy(dtype=float)
        if column in aggregate
        else np.full_like(mean, math.nan)
    )
    return np.where(np.isnan(bound) & (aggregate["runs"].to_numpy() == 1), mean, bound)


def meets_targets(
    aggregate: pd.DataFrame, targets: Sequence[Target], *, allow_rejected: bool = False
) -> pd.DataFrame:
    """One boolean column per target (named as the target) and ``feasible`` (all met, no guest
    rejected unless ``allow_rejected``), beside ``config``. Raises ``KeyError`` naming a target
    metric the aggregate does not have."""
    out = pd.DataFrame({"config": aggregate["config"].to_numpy()})
    feasible = np.ones(len(aggregate), dtype=bool)
    for target in targets:
        if f"{target.metric}_mean" not in aggregate.columns:
            known = sorted(c.removesuffix("_mean") for c in aggregate if c.endswith("_mean"))
            raise KeyError(f"target {target}: no metric {target.metric!r}; known: {known}")
        bound = _bound(aggregate, target)
        saturated = aggregate.get(f"{target.metric}_saturated", pd.Series(0, index=aggregate.index))
        compare = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
        met = compare[target.op](bound, target.value) & (saturated.to_numpy() == 0)
        out[str(target)] = met
        feasible &= met
    if not allow_rejected and "guests_rejected_mean" in aggregate.columns:
        feasible &= aggregate["guests_rejected_mean"].to_numpy(dtype=float) == 0
    out["feasible"] = feasible
    return out
