"""What ``vsim run`` and ``vsim sweep`` print: the summary in sections with units, the files
written, and warnings of rejected guests and saturated metrics.

A section appears only when the run used it: every value zero or undefined means the scenario
has no such part (no requests, no migrations, no failures, no prices).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vsim.model.rejection import constraint_of

if TYPE_CHECKING:
    from vsim.experiment.sweep import SweepResult

__all__ = [
    "SECTIONS",
    "format_files",
    "format_summary",
    "rejection_causes",
    "rejection_warnings",
    "run_warnings",
    "saturation_warnings",
    "summary_sections",
    "with_name",
]

#: Summary columns by section, in print order; ``*`` ends a prefix.
SECTIONS: dict[str, tuple[str, ...]] = {
    "capacity": (
        "hosts",
        "cpu_util_mean",
        "mem_util_mean",
        "disk_util_mean",
        "net_util_mean",
        "unmet_cpu_frac",
        "virt_overhead_cpu_frac",
        "hypervisor_cpu_frac",
        "cpu_ready_*",
        "cpu_costop_mean_frac",
        "cpu_switch_lost_frac",
        "timeslice_slices",
        "slatah",
        "pdm",
        "slav",
        "consolidation_rounds",
        "hosts_switched_off",
        "hosts_switched_on",
        "vms_deleted",
    ),
    "guests": (
        "guests",
        "guests_rejected",
        "guests_rejected_by_*",
        "jobs",
        "jobs_done",
        "job_time_s_mean",
    ),
    "latency": (
        "requests_*",
        "throughput_rps",
        "latency_s_*",
        "request_cpu_ready_s_mean",
        "latency_saturated_frac",
        "slo_violation_frac",
        "analytic_*",
    ),
    "energy": ("power_w_mean", "energy_kwh", "facility_energy_kwh", "energy_kwh_cloudsim", "esv"),
    "migrations": ("migrations", "migrations_aborted", "migration_time_s_mean", "downtime_s_mean"),
    "availability": (
        "availability",
        "outages",
        "guest_downtime_s*",
        "failover_time_s_*",
        "data_loss_s_max",
        "host_failures",
        "reserve_capacity_frac",
        "restarts_failed",
        "backup*",
    ),
    "cost": ("cost_*",),
    "run": ("scenario", "seed", "sim_time_s", "wall_time_s", "events"),
}
#: Sections printed even when all their values are zero.
ALWAYS = frozenset({"capacity", "guests", "run"})


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def with_name(summary: pd.Series) -> pd.Series:
    """The summary with the scenario's name (the Series' name) as a ``scenario`` entry."""
    if summary.name is None or "scenario" in summary.index:
        return summary
    named = pd.Series({"scenario": summary.name}, dtype=object)
    return pd.concat([named, summary.astype(object)])


def summary_sections(summary: pd.Series) -> dict[str, list[str]]:
    """The summary's columns by section (``other`` for the unknown), used sections only."""
    out: dict[str, list[str]] = {}
    placed: set[str] = set()
    for section, patterns in SECTIONS.items():
        names = [n for p in patterns for n in summary.index if n not in placed and _matches(n, p)]
        placed.update(names)
        # Counts by constraint only where some guest was rejected that way.
        names = [n for n in names if not n.startswith("guests_rejected_by_") or _used(summary[n])]
        if names and (section in ALWAYS or any(_used(summary[n]) for n in names)):
            out[section] = names
    rest = [n for n in summary.index if n not in placed]
    if rest:
        out["other"] = rest
    return out


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _used(value: object) -> bool:
    if _is_number(value):
        return not math.isnan(value) and value != 0
    return value is not None


def format_value(name: str, value: object) -> str:
    """A value with its unit, read from the column name: fractions as percentages, seconds,
    kWh, W, requests per second; costs in the currency of the scenario's prices."""
    if not _is_number(value):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf (saturated)"
    if name.endswith("_frac") or "_util" in name or name in ("availability", "slatah", "pdm"):
        return f"{100 * value:.4g} %"
    if name.endswith("_bytes"):
        return _bytes_text(float(value))
    units = (("_kwh", "kWh"), ("_w", "W"), ("_rps", "req/s"), ("_s", "s"))
    stem = name.removesuffix("_mean").removesuffix("_max")
    for part in ("_p50", "_p95", "_p99", "_p999"):
        stem = stem.removesuffix(part)
    for suffix, unit in units:
        if stem.endswith(suffix) or f"{suffix}_" in name:
            return f"{value:.4g} {unit}"
    if isinstance(value, numbers.Integral) or float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.4g}"


def _bytes_text(value: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(value) >= size:
            return f"{value / size:.4g} {unit}"
    return f"{value:.4g} B"


def format_summary(summary: pd.Series) -> str:
    """The summary as titled sections of ``name  value unit`` lines."""
    summary = with_name(summary)
    lines: list[str] = []
    for section, names in summary_sections(summary).items():
        width = max(len(n) for n in names)
        lines.append(section)
        lines += [f"  {n:<{width}}  {format_value(n, summary[n])}" for n in names]
    return "\n".join(lines)


def format_files(out: Path, paths: Iterable[Path]) -> str:
    """The files written, relative to the output folder, figures included."""
    names = sorted(p.relative_to(out).as_posix() for p in paths if p.is_file())
    return "\n".join([f"files written to {out}/:", *(f"  {n}" for n in names)])


def _where(row: dict, params: list[str]) -> str:
    return ", ".join(f"{p}={row[p]}" for p in params) or f"configuration {row['config']}"


#: How each kind of constraint reads in a sweep's warning.
_KIND_TEXT = {
    "anti_affinity": "anti-affinity",
    "room": "no room",
    "pinned": "pinned host",
    "policy": "policy",
}


def _by_kind(row: dict) -> str:
    """`` (by anti-affinity 372)``: the mean count per kind of constraint, where not 0."""
    parts = [
        f"{text} {row[f'guests_rejected_by_{kind}_mean']:.4g}"
        for kind, text in _KIND_TEXT.items()
        if row.get(f"guests_rejected_by_{kind}_mean", 0) > 0
    ]
    return f" (by {', '.join(parts)})" if parts else ""


def rejection_warnings(aggregate: pd.DataFrame, params: list[str]) -> list[str]:
    """One line naming the configurations whose runs rejected guests."""
    if "guests_rejected_mean" not in aggregate.columns:
        return []
    rejecting = aggregate[aggregate["guests_rejected_mean"] > 0]
    if rejecting.empty:
        return []
    total = "guests_mean" in aggregate.columns
    parts = [
        f"{_where(row, params)}: {row['guests_rejected_mean']:.4g}"
        + (f" of {row['guests_mean']:.4g}" if total else "")
        + _by_kind(row)
        for row in rejecting.to_dict("records")
    ]
    return [
        f"guests were rejected (mean per run) in {len(rejecting)} of {len(aggregate)} "
        f"configurations: {'; '.join(parts)}. They never ran: these configurations answer "
        "for fewer guests than the scenario asks (column guests_rejected)."
    ]


def saturation_warnings(result: SweepResult) -> list[str]:
    """One line per group of metrics that saturated (``inf``) in the same runs."""
    table = result.saturation()
    if table.empty:
        return []
    hit = table[table["saturated"] > 0]
    groups: dict[tuple, list[str]] = {}
    for metric, rows in hit.groupby("metric", sort=False):
        key = tuple(
            (int(r["config"]), int(r["saturated"]), int(r["runs"])) for r in rows.to_dict("records")
        )
        groups.setdefault(key, []).append(metric)
    lines = []
    for metrics in groups.values():
        rows = hit[hit["metric"] == metrics[0]]
        where = "; ".join(
            f"{_where(r, result.params)} ({int(r['saturated'])} of {int(r['runs'])} runs)"
            for r in rows.to_dict("records")
        )
        lines.append(
            f"{', '.join(metrics)} saturated (inf: a queue that never drained) in {where}. "
            "Their mean is inf there; see the _median and _saturated columns."
        )
    return lines


def rejection_causes(events: pd.DataFrame | None) -> list[tuple[str, int, str]]:
    """The constraints that blocked a run's rejected guests: ``(constraint, guests, first
    guest's whole detail)``, most guests first, from the events of kind ``rejected``."""
    if events is None or not len(events) or "kind" not in events.columns:
        return []
    rejected = events[events["kind"] == "rejected"]
    causes: dict[str, list] = {}
    for subject, detail in zip(rejected["subject"], rejected["detail"], strict=True):
        entry = causes.setdefault(constraint_of(str(detail)), [0, f"{subject}: {detail}"])
        entry[0] += 1
    ranked = sorted(causes.items(), key=lambda kv: -kv[1][0])
    return [(name, n, example) for name, (n, example) in ranked]


def run_warnings(summary: pd.Series, events: pd.DataFrame | None = None) -> list[str]:
    """Rejected guests, by the constraint that blocked them (from ``events``), and saturated
    metrics of one run, which a table of numbers hides."""
    lines = []
    rejected = int(summary.get("guests_rejected", 0) or 0)
    if rejected:
        causes = rejection_causes(events)
        by = "; ".join(f"{n} by {name} (e.g. {example})" for name, n, example in causes)
        lines.append(
            f"{rejected} of {format_value('guests', summary.get('guests', '?'))} guests were "
            "rejected and never ran"
            + (f": {by}" if by else "")
            + " (events.parquet lists them, kind 'rejected')."
        )
    saturated = [
        str(k) for k, v in summary.items() if isinstance(v, int | float) and v == float("inf")
    ]
    if saturated:
        lines.append(f"{', '.join(saturated)} saturated (inf): a queue never drained in this run.")
    return lines
