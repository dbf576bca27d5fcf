"""Two revisions of vsim side by side: the same runs, alternated, in one session.

``python -m benchmarks.compare BASE [HEAD] --repeat 5`` checks BASE (a commit, a branch) out
into a temporary worktree and runs each case once per round in each revision, in alternating
order, each run in a fresh process. It prints, per case, the median CPU time of each revision,
their ratio (HEAD / BASE) and the range of the per-round ratios: a machine whose speed drifts
affects both sides of a round alike.

The cases are the runs the benchmark suite names: the PlanetLab day under LR-MMT-1.2 with the
cloudsim profile and under static placement (when the traces are present), fluid contention
(200 hosts x 10 actors x 10 executions), the first 30 minutes of the 200-replica diurnal
deployment (built by the revision's own helper) and its first 20 minutes (as data), a two-host
request-level service, a three-tier service and 100 hosts of 10 shared services (those passed
as JSON, so a revision without the helper that builds them runs them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import deployment_diurnal
from benchmarks.common import REPO, checkout, planetlab_day, prune_worktrees
from benchmarks.requests import shared_scenario, three_tier_scenario


def _as_data(sc) -> str:
    """A scenario as plain data: any revision that reads its fields can run it."""
    return json.dumps(sc.model_dump(mode="json", exclude_unset=True))


def _from_data(sc) -> str:
    """Code that builds the scenario ``sc`` from its data (braces doubled: each case's code is
    a format string)."""
    data = repr(_as_data(sc)).replace("{", "{{").replace("}", "}}")
    return (
        "import json\nfrom vsim.scenario import validate_scenario\n"
        f"sc = validate_scenario(json.loads({data}))\n"
    )


# Each case runs in a child process whose sys.path starts at the revision's tree: it builds
# its scenario with that revision's benchmark helpers and prints the CPU time of vsim.run.
CASE_CODE = {
    "planetlab LR-MMT-1.2 (cloudsim)": (
        "from benchmarks.planetlab_consolidation import scenario\n"
        "sc = scenario({folder!r}, 'LR-MMT-1.2', 'cloudsim')\n"
    ),
    "planetlab static": (
        "from benchmarks.planetlab_static import scenario\nsc = scenario({folder!r})\n"
    ),
    "contention 200x10x10": (
        "from benchmarks.contention import scenario\nsc = scenario(hosts=200)\n"
    ),
    "deployment 200 diurnal 30m": (
        "from benchmarks.deployment_diurnal import scenario\nsc = scenario('30m')\n"
    ),
    "service, 2 hosts x 4 guests": (
        "from benchmarks.requests import service_scenario\n"
        "sc = service_scenario(2, 4, 400.0, 60.0)\n"
    ),
    "three-tier service": _from_data(three_tier_scenario(0.8, 10_000.0)),
    # 10 services sharing each one-core host: every busy host's change is a one-host solve.
    "shared services 100x10": _from_data(shared_scenario(100, 10, 0.7, 200.0)),
    # The first 20 simulated minutes of the 200-replica diurnal deployment.
    "deployment diurnal 20m": _from_data(deployment_diurnal.scenario("20m")),
}
RUN_CODE = (
    "import json, sys, time\n"
    "sys.path.insert(0, {tree!r})\n"
    "import vsim\n"
    "{build}"
    "t = time.process_time()\n"
    "res = vsim.run(sc)\n"
    "cpu = time.process_time() - t\n"
    "print(json.dumps({{'cpu_s': cpu, 'events': int(res.summary['events'])}}))\n"
)


def run_case(tree: Path, name: str, folder: str) -> dict:
    """One run of case ``name`` with the vsim of ``tree``, in a fresh process."""
    code = RUN_CODE.format(tree=str(tree), build=CASE_CODE[name].format(folder=folder))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(base: str, head: str | None, repeat: int, cases: list[str]) -> list[dict]:
    """Median CPU seconds of each case at ``base`` and ``head`` (None: the working tree)."""
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": checkout(base, Path(tmp) / "base")}
        trees["head"] = checkout(head, Path(tmp) / "head") if head else REPO
        folder = str(planetlab_day() or "")
        rows = []
        for name in cases:
            times: dict[str, list[float]] = {"base": [], "head": []}
            events = {}
            for k in range(repeat):
                order = ("base", "head") if k % 2 == 0 else ("head", "base")
                for side in order:
                    r = run_case(trees[side], name, folder)
                    times[side].append(r["cpu_s"])
                    events[side] = r["events"]
            rows.append(_row(name, times, events, base, head))
            _print(rows[-1])
        return rows


def _row(name, times, events, base, head) -> dict:
    ratios = [h / b for h, b in zip(times["head"], times["base"], strict=True)]
    return {
        "benchmark": "compare",
        "case": name,
        "base": base,
        "head": head or "working tree",
        "base_cpu_s": statistics.median(times["base"]),
        "head_cpu_s": statistics.median(times["head"]),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "runs": len(ratios),
        "base_events": events["base"],
        "head_events": events["head"],
    }


def _print(r: dict) -> None:
    print(
        f"{r['case']:32s} {r['base']}: {r['base_cpu_s']:.3f} s  {r['head']}: "
        f"{r['head_cpu_s']:.3f} s  ratio {r['ratio_median']:.3f} "
        f"({r['ratio_min']:.3f}-{r['ratio_max']:.3f}, {r['runs']} rounds); "
        f"events {r['base_events']:,} / {r['head_events']:,}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the revision to compare against (commit, branch, tag)")
    ap.add_argument("head", nargs="?", default=None, help="default: the working tree")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (one run of each side)")
    ap.add_argument("--case", action="append", choices=sorted(CASE_CODE), help="default: all")
    args = ap.parse_args()
    cases = args.case or list(CASE_CODE)
    if planetlab_day() is None:
        cases = [c for c in cases if not c.startswith("planetlab")]
        print("PlanetLab traces not found (set VSIM_DATA): their cases are skipped")
    try:
        compare(args.base, args.head, args.repeat, cases)
    finally:
        prune_worktrees()


if __name__ == "__main__":
    main()
