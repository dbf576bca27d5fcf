"""``vsim experiment``: list the named experiments, or run one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def add_parser(sub) -> None:
    """The ``experiment`` subcommand of ``vsim``."""
    p = sub.add_parser("experiment", help="run a named experiment (vsim experiment list)")
    p.add_argument("name", help="'list', or an experiment's name (beloglazov2012)")
    p.add_argument("--data", type=Path, help="trace folder (default $VSIM_DATA or ../shared/data)")
    p.add_argument("--day", default="20110303", help="PlanetLab day (folder name)")
    p.add_argument("--policy", default="LR-MMT-1.2", help="a policy of the paper, or 'all'")
    p.add_argument("--profile", default="cloudsim", choices=("cloudsim", "vsim"))
    p.add_argument("--out", type=Path, help="output folder (default results/<scenario name>)")
    p.add_argument("--export", type=Path, help="write the scenario file instead of running it")
    p.add_argument("--jobs", "-j", type=int, help="parallel runs for --policy all")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="set one scenario field over the paper's, e.g. "
        "consolidation.detector=mypolicies:my_detector (a module in this folder; repeatable)",
    )


def _overrides(sets: list[str]) -> dict[str, object]:
    """``--set`` values, one each; a policy module named there is looked up in the current
    folder too (as ``vsim run`` looks beside the scenario file)."""
    from vsim.experiment.sweep import parse_single_sets

    overrides = parse_single_sets(sets, "vsim experiment")
    if overrides and str(Path.cwd()) not in sys.path:
        sys.path.append(str(Path.cwd()))  # (sweep workers inherit it)
    return overrides


def run(args: argparse.Namespace) -> int:
    from vsim.experiments import EXPERIMENTS, TITLES
    from vsim.experiments.beloglazov import beloglazov2012, export, policies

    if args.name == "list":
        for name in EXPERIMENTS:
            print(f"{name}: {TITLES[name]}")
        print(f"  --policy: {', '.join(policies())}, all")
        return 0
    if args.name not in EXPERIMENTS:
        print(f"unknown experiment {args.name!r}; experiments: {', '.join(EXPERIMENTS)}")
        return 1
    try:
        overrides = _overrides(args.sets)
        if args.export is not None:
            path = export(args.export, args.data, args.day, args.policy, args.profile, overrides)
            print(f"scenario written to {path}; run it with: vsim run {path}")
            return 0
        name = f"planetlab-{args.day}-{args.policy}-{args.profile}"
        out = args.out or Path("results") / name
        res = beloglazov2012(
            args.data,
            day=args.day,
            policy=args.policy,
            profile=args.profile,
            out=out,
            jobs=args.jobs,
            progress=not args.quiet,
            overrides=overrides,
        )
    except ValueError as exc:  # ScenarioError, bad --set, a user policy that cannot be loaded
        print(exc, file=sys.stderr)
        return 1
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 160):
        if isinstance(res, pd.DataFrame):
            print(res.to_string(index=False))
            res.to_csv(out / "table.csv", index=False)
        else:
            print(res.summary.to_string())
    print(f"results written to {out}/")
    return 0
