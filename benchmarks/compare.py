"""Two revisions of vsim side by side: the same runs, alternated, in one session.

``python -m benchmarks.compare BASE [HEAD] --repeat 5`` checks BASE (a commit, a branch) out
into a temporary worktree and runs each case once per round in each revision, in alternating
order, each run in a fresh process. It prints, per case, the median CPU time of each revision,
their ratio (HEAD / BASE) and the range of the per-round ratios: a machine whose speed drifts
affects both sides of a round alike.

``--relative-to CASE`` runs every case in each round (``--interleave``) and also prints each
case's CPU time over CASE's, per round and revision: one policy's cost against another's.

The cases are the runs the benchmark suite names: the PlanetLab day under LR-MMT-1.2,
THR-MMT-0.8 and THR-MC-0.8 with the cloudsim profile and under static placement (when the
traces are present), fluid contention
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
    return json.dumps(sc.model_dump(mode="json", by_alias=True, exclude_unset=True))


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
    # Threshold detection with both selections (issue 16: THR-MC-0.8 against the others). The
    # MMT run by each revision's own helper; the MC one as data (a file: too long for an
    # argument), built here by this revision's helper, since older helpers time only the
    # benchmark's policies.
    "planetlab THR-MMT-0.8 (cloudsim)": (
        "from benchmarks.planetlab_consolidation import scenario\n"
        "sc = scenario({folder!r}, 'THR-MMT-0.8', 'cloudsim')\n"
    ),
    "planetlab THR-MC-0.8 (cloudsim)": (
        "import json\nfrom vsim.scenario import validate_scenario\n"
        "with open({data!r}) as f:\n"
        "    sc = validate_scenario(json.load(f))\n"
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
# Cases passed as data in a file: the scenario built from the traces' folder by this revision.
CASE_DATA = {
    "planetlab THR-MC-0.8 (cloudsim)": lambda folder: _planetlab(folder, "THR-MC-0.8"),
}


def _planetlab(folder: str, policy: str):
    from benchmarks.planetlab_consolidation import scenario

    return scenario(folder, policy, "cloudsim")


RUN_CODE = (
    "import json, sys, time\n"
    "sys.path.insert(0, {tree!r})\n"
    "import vsim\n"
    "{build}"
    "t = time.process_time()\n"
    "res = vsim.run(sc)\n"
    "cpu = time.process_time() - t\n"
    "mig = res.summary.get('migrations')\n"
    "print(json.dumps({{'cpu_s': cpu, 'events': int(res.summary['events']),\n"
    "                   'migrations': None if mig is None else int(mig)}}))\n"
)


def run_case(tree: Path, name: str, folder: str, data: str = "") -> dict:
    """One run of case ``name`` with the vsim of ``tree``, in a fresh process (``data``: the
    file holding the scenario of a case in ``CASE_DATA``)."""
    build = CASE_CODE[name].format(folder=folder, data=data)
    code = RUN_CODE.format(tree=str(tree), build=build)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(
    base: str,
    head: str | None,
    repeat: int,
    cases: list[str],
    interleave: bool = False,
    relative_to: str | None = None,
) -> list[dict]:
    """Median CPU seconds of each case at ``base`` and ``head`` (None: the working tree).

    ``interleave``: each round runs every case (both sides), so runs of different cases are
    neighbours too; ``relative_to``: a case (implies ``interleave``) whose time every other
    case's is divided by, round by round and side by side (one case's cost against another's
    in the same revision)."""
    interleave = interleave or relative_to is not None
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"base": checkout(base, Path(tmp) / "base")}
        trees["head"] = checkout(head, Path(tmp) / "head") if head else REPO
        folder = str(planetlab_day() or "")
        data = {}
        for i, name in enumerate(cases):
            data[name] = ""
            if name in CASE_DATA:
                data[name] = str(Path(tmp) / f"scenario{i}.json")
                Path(data[name]).write_text(_as_data(CASE_DATA[name](folder)))
        times = {name: {"base": [], "head": []} for name in cases}
        events: dict[str, dict] = {name: {} for name in cases}
        migrations: dict[str, dict] = {name: {} for name in cases}

        def one_run(side: str, name: str) -> None:
            r = run_case(trees[side], name, folder, data[name])
            times[name][side].append(r["cpu_s"])
            events[name][side] = r["events"]
            migrations[name][side] = r.get("migrations")

        def one_round(k: int, name: str) -> None:
            for side in ("base", "head") if k % 2 == 0 else ("head", "base"):
                one_run(side, name)

        rows = []
        if interleave:
            # Each side runs the cases back to back, the second side in the reverse order:
            # a case's two sides are neighbours at the turn, and each side's cases are too.
            for k in range(repeat):
                first, second = ("base", "head") if k % 2 == 0 else ("head", "base")
                order = cases if k % 2 == 0 else cases[::-1]
                for name in order:
                    one_run(first, name)
                for name in order[::-1]:
                    one_run(second, name)
                print(f"  round {k + 1} of {repeat} done", flush=True)
        for name in cases:
            if not interleave:
                for k in range(repeat):
                    one_round(k, name)
            rows.append(_row(name, times[name], events[name], base, head, migrations[name]))
            _print(rows[-1])
        if relative_to is not None:
            for name in cases:
                if name != relative_to:
                    for side, rev in (("base", base), ("head", head or "working tree")):
                        rows.append(_relative(name, relative_to, side, rev, times))
                        _print_relative(rows[-1])
        return rows


def _relative(name: str, ref: str, side: str, rev: str, times: dict) -> dict:
    ratios = [a / b for a, b in zip(times[name][side], times[ref][side], strict=True)]
    return {
        "benchmark": "compare_relative",
        "case": name,
        "relative_to": ref,
        "revision": rev,
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "runs": len(ratios),
    }


def _print_relative(r: dict) -> None:
    print(
        f"{r['case']} / {r['relative_to']} at {r['revision']}: ratio {r['ratio_median']:.3f} "
        f"({r['ratio_min']:.3f}-{r['ratio_max']:.3f}, {r['runs']} rounds)",
        flush=True,
    )


def _row(name, times, events, base, head, migrations=None) -> dict:
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
        "base_migrations": (migrations or {}).get("base"),
        "head_migrations": (migrations or {}).get("head"),
    }


def _print(r: dict) -> None:
    print(
        f"{r['case']:32s} {r['base']}: {r['base_cpu_s']:.3f} s  {r['head']}: "
        f"{r['head_cpu_s']:.3f} s  ratio {r['ratio_median']:.3f} "
        f"({r['ratio_min']:.3f}-{r['ratio_max']:.3f}, {r['runs']} rounds); "
        f"events {r['base_events']:,} / {r['head_events']:,}"
        + (
            f"; migrations {r['base_migrations']:,} / {r['head_migrations']:,}"
            if r.get("base_migrations") is not None and r.get("head_migrations") is not None
            else ""
        ),
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the revision to compare against (commit, branch, tag)")
    ap.add_argument("head", nargs="?", default=None, help="default: the working tree")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (one run of each side)")
    ap.add_argument("--case", action="append", choices=sorted(CASE_CODE), help="default: all")
    ap.add_argument(
        "--interleave", action="store_true", help="each round runs every case (both sides)"
    )
    ap.add_argument(
        "--relative-to",
        choices=sorted(CASE_CODE),
        help="also each case's CPU time over this case's, per round and revision (interleaves)",
    )
    args = ap.parse_args()
    cases = args.case or list(CASE_CODE)
    if planetlab_day() is None:
        cases = [c for c in cases if not c.startswith("planetlab")]
        print("PlanetLab traces not found (set VSIM_DATA): their cases are skipped")
    try:
        if args.relative_to is not None and args.relative_to not in cases:
            cases.insert(0, args.relative_to)
        compare(args.base, args.head, args.repeat, cases, args.interleave, args.relative_to)
    finally:
        prune_worktrees()


if __name__ == "__main__":
    main()
