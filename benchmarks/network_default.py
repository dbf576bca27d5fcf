"""Which figures the ``tcp`` network default changes: every scenario in ``scenarios/`` run
twice, with ``network.model: ideal`` (vsim before the protocol layer) and with the default.

``python -m benchmarks.network_default [scenario ...]`` prints one Markdown row per summary
figure that differs (the table in ``docs/network.md``). Scenarios whose real traces are absent
are skipped and named. A measurement of figures, not of time: it never fails.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import vsim
from benchmarks.common import REPO
from vsim.scenario import ScenarioError, load_scenario

IDEAL = {"network.model": "ideal"}


def _summaries(path: Path) -> tuple[dict, dict] | None:
    try:
        before = load_scenario(path, IDEAL)
        after = load_scenario(path)
    except ScenarioError as exc:
        print(f"skipped {path.name}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return None
    return vsim.run(before).summary, vsim.run(after).summary


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def changed(before: dict, after: dict) -> list[tuple[str, float, float]]:
    """(figure, before, after) of every numeric summary figure that differs (wall time and
    other measurements of the machine left out)."""
    rows = []
    for key, b in before.items():
        a = after.get(key)
        if key.startswith("wall") or not isinstance(b, int | float) or isinstance(b, bool):
            continue
        if not isinstance(a, int | float) or (math.isnan(b) and math.isnan(a)) or a == b:
            continue
        rows.append((key, float(b), float(a)))
    return rows


def main(names: list[str] | None = None) -> list[dict]:
    paths = (
        [REPO / "scenarios" / n for n in names]
        if names
        else sorted((REPO / "scenarios").glob("*.yaml"))
    )
    print("| scenario | figure | ideal | tcp (default) |")
    print("| --- | --- | --- | --- |")
    out = []
    for path in paths:
        got = _summaries(path)
        if got is None:
            continue
        rows = changed(*got)
        if not rows:
            print(f"| {path.stem} | (no figure changes) | | |")
        for key, b, a in rows:
            print(f"| {path.stem} | {key} | {_fmt(b)} | {_fmt(a)} |")
            out.append(
                {
                    "benchmark": "network_default",
                    "scenario": path.stem,
                    "figure": key,
                    "ideal": b,
                    "tcp": a,
                }
            )
        sys.stdout.flush()
    return out


if __name__ == "__main__":
    main(sys.argv[1:] or None)
