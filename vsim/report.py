"""One self-contained HTML file about a run or a sweep, to send to someone.

``vsim report DIR`` writes ``DIR/report.html``: the scenario in a few lines, the headline table,
the warnings (rejected guests, saturated metrics, failed runs), for a sweep the configurations
against the targets given (feasible ones first, saturated ones marked) and every figure of the
folder, embedded as PNG data: the file needs nothing beside it.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vsim.console import (
    format_value,
    rejection_warnings,
    run_warnings,
    saturation_warnings,
    summary_sections,
    with_name,
)
from vsim.experiment.targets import Target, meets_targets

__all__ = ["REPORT_FILE", "write_report"]

REPORT_FILE = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
tr.feasible td { background: #e8f6e8; } tr.saturated td { background: #fbeaea; }
.warn { background: #fff6e0; border-left: 4px solid #e0a000; padding: .4em .8em; margin: .4em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #555; } .note { color: #555; font-size: .9em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], classes=None) -> str:
    """An HTML table; the first column left-aligned; ``classes`` per row (or ``None``)."""
    head = "".join(
        f'<th class="{"l" if i == 0 else ""}">{_e(h)}</th>' for i, h in enumerate(header)
    )
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        cells = "".join(
            f'<td class="{"l" if i == 0 else ""}">{_e(v)}</td>' for i, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _scenario_lines(data: dict[str, Any]) -> list[str]:
    """A few readable lines about the scenario as resolved."""
    lines = []
    if data.get("description"):
        lines.append(str(data["description"]))
    hosts = data.get("datacenter", {}).get("host_types", [])
    lines.append(
        "hosts: "
        + "; ".join(
            f"{h.get('count')} x {h.get('name')} ({h.get('cores')} cores, "
            f"{format_value('memory_bytes', h.get('memory'))} memory)"
            for h in hosts
        )
    )
    guests = data.get("guests", [])
    lines.append(
        "guests: "
        + "; ".join(
            f"{g.get('count', 1)} x {g.get('name')} ({g.get('vcpus')} vCPU, "
            f"workload {g.get('workload')})"
            for g in guests
        )
    )
    lines.append(f"duration: {format_value('duration_s', data.get('duration'))}")
    return lines


def _figures(folder: Path) -> str:
    parts = []
    for path in sorted((folder / "figures").glob("*.png")):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f'<figure><img alt="{_e(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(path.name)}</figcaption></figure>"
        )
    return "".join(parts) or '<p class="note">no figures in this folder</p>'


def _warnings(lines: Sequence[str]) -> str:
    if not lines:
        return '<p class="note">none</p>'
    return "".join(f'<div class="warn">{_e(line)}</div>' for line in lines)


def _run_sections(folder: Path) -> tuple[str, dict[str, Any], list[str]]:
    from vsim.experiment import read_result

    res = read_result(folder)
    summary = with_name(res.summary)
    rows = [
        (f"{section}: {name}", format_value(name, summary[name]))
        for section, names in summary_sections(summary).items()
        for name in names
    ]
    parts = ["<h2>Headline figures</h2>", _table(["metric", "value"], rows)]
    if len(res.services):
        cols = [c for c in res.services.columns if c not in ("guests",)]
        parts.append("<h2>Services</h2>")
        parts.append(
            _table(
                cols,
                [
                    [
                        format_value(c, v) if c not in ("service", "mode") else v
                        for c, v in r.items()
                    ]
                    for r in res.services[cols].to_dict("records")
                ],
            )
        )
    rejected = res.events[res.events["kind"] == "rejected"] if len(res.events) else res.events
    parts.append(f"<h2>Rejected guests ({len(rejected)})</h2>")
    if len(rejected):
        parts.append(
            _table(
                ["guest", "time (s)", "why"],
                [(r.subject, f"{r.time_s:g}", r.detail) for r in rejected.itertuples()],
            )
        )
    else:
        parts.append('<p class="note">none</p>')
    return "".join(parts), res.manifest.get("scenario", {}), run_warnings(res.summary, res.events)


def _interval(row: dict[str, Any], metric: str) -> str:
    """``median [low, high]`` when a run saturated, else ``mean [low, high]``."""
    if row.get(f"{metric}_saturated", 0) > 0:
        stat, low, high = "median", f"{metric}_median_low", f"{metric}_median_high"
    else:
        stat, low, high = "mean", f"{metric}_ci95_low", f"{metric}_ci95_high"
    value = format_value(metric, row[f"{metric}_{stat}"])
    if pd.isna(row.get(low)) or pd.isna(row.get(high)):
        return value
    return f"{value} [{format_value(metric, row[low])}, {format_value(metric, row[high])}]"


def _sweep_table(agg: pd.DataFrame, params: list[str], metrics: list[str], feasible) -> str:
    header = [
        *params,
        "runs",
        *metrics,
        "saturated",
        *(["feasible"] if feasible is not None else []),
    ]
    rows, classes = [], []
    # Records keep each column's type (an iterrows row casts integers to floats).
    for k, row in enumerate(agg.to_dict("records")):
        saturated = [
            f"{m} {int(row[f'{m}_saturated'])}/{int(row[f'{m}_saturated'] + row[f'{m}_finite'])}"
            for m in metrics
            if row.get(f"{m}_saturated", 0) > 0
        ]
        ok = None if feasible is None else bool(feasible[k])
        rows.append(
            [
                *(row[p] for p in params),
                int(row["runs"]),
                *(_interval(row, m) for m in metrics),
                ", ".join(saturated) or "no",
                *([] if ok is None else ["yes" if ok else "no"]),
            ]
        )
        classes.append("saturated" if saturated else ("feasible" if ok else ""))
    return _table(header, rows, classes)


def _sweep_metrics(agg: pd.DataFrame, targets: Sequence[Target]) -> list[str]:
    wanted = [t.metric for t in targets]
    wanted += ["guests_rejected", "unmet_cpu_frac", "latency_s_p99", "facility_energy_kwh"]
    wanted += ["cost_total", "availability"]
    present = [m for m in dict.fromkeys(wanted) if f"{m}_mean" in agg.columns]
    return [m for m in present if agg[f"{m}_mean"].notna().any()]


def _sweep_sections(
    folder: Path, targets: Sequence[Target], allow_rejected: bool
) -> tuple[str, dict[str, Any], list[str]]:
    from vsim.experiment.stats import INTERVALS
    from vsim.experiment.sweep import read_sweep

    result = read_sweep(folder)
    agg, params = result.aggregate, result.params
    metrics = _sweep_metrics(agg, targets)
    parts = [f"<h2>Configurations ({len(agg)}, {len(result.runs)} runs)</h2>"]
    feasible = None
    if targets:
        met = meets_targets(agg, targets, allow_rejected=allow_rejected)
        feasible = met["feasible"].to_numpy()
        order = sorted(range(len(agg)), key=lambda i: not feasible[i])
        agg, feasible = agg.iloc[order].reset_index(drop=True), feasible[order]
        names = ", ".join(str(t) for t in targets)
        rejected = "" if allow_rejected else "; configurations that reject guests never qualify"
        parts.append(
            f"<p>Targets: <b>{_e(names)}</b>, judged on the safe end of each interval, with no "
            f"saturated run{_e(rejected)}. <b>{int(feasible.sum())}</b> of {len(agg)} "
            "configurations meet them (listed first, in green).</p>"
        )
    parts.append(_sweep_table(agg, params, metrics, feasible))
    parts.append(
        '<p class="note">Intervals: '
        + "; ".join(f"{_e(k)}: {_e(v)}" for k, v in INTERVALS.items())
        + ". Rows in red have saturated runs; their median is shown.</p>"
    )
    lines = rejection_warnings(result.aggregate, params) + saturation_warnings(result)
    failed = result.failed
    if len(failed):
        lines.append(f"{len(failed)} runs failed; first error: {failed['error'].iloc[0]}")
    return "".join(parts), result.manifest.get("scenario", {}), lines


def _ensure_figures(folder: Path, sweep: bool) -> None:
    """Draw the folder's figures when it has none (a sweep's are drawn by ``vsim plot``)."""
    if any((folder / "figures").glob("*.png")):
        return
    if sweep:
        from vsim.experiment.sweep import read_sweep
        from vsim.plot.saturation import save_saturation_figures
        from vsim.plot.sweep import save_sweep_figures

        agg = read_sweep(folder).aggregate
        save_sweep_figures(agg, folder / "figures")
        save_saturation_figures(agg, folder / "figures")
    else:
        from vsim.experiment import read_result
        from vsim.plot import save_figures

        save_figures(read_result(folder), folder / "figures")


def write_report(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    targets: Sequence[Target] = (),
    allow_rejected: bool = False,
) -> Path:
    """Write the HTML report of a run or sweep folder (default ``<folder>/report.html``).

    Args:
        folder: a folder written by ``vsim run`` or ``vsim sweep``.
        out: the HTML file to write.
        targets: for a sweep, the targets configurations must meet (:func:`parse_target`).
        allow_rejected: let configurations that reject guests count as feasible.

    Returns:
        The path of the file written.
    """
    from vsim._io import atomic_write
    from vsim.experiment.sweep import is_sweep_dir

    folder = Path(folder)
    sweep = is_sweep_dir(folder)
    _ensure_figures(folder, sweep)
    if sweep:
        body, scenario, warnings = _sweep_sections(folder, targets, allow_rejected)
    else:
        body, scenario, warnings = _run_sections(folder)
    name = scenario.get("name", folder.name)
    kind = "sweep" if sweep else "run"
    items = "".join(f"<li>{_e(x)}</li>" for x in _scenario_lines(scenario))
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>vsim {kind}: {_e(name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>vsim {kind}: {_e(name)}</h1>"
        f"<h2>Scenario</h2><ul>{items}</ul>"
        f"<h2>Warnings</h2>{_warnings(warnings)}{body}"
        f"<h2>Figures</h2>{_figures(folder)}</body></html>\n"
    )
    path = Path(out) if out is not None else folder / REPORT_FILE
    atomic_write(path, lambda p: p.write_text(page, encoding="utf-8"))
    return path
