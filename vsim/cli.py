"""The ``vsim`` command: run and validate scenarios, redraw figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from vsim.scenario import ScenarioError, load_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vsim", description="Simulate a virtualized datacenter.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a scenario and write its results")
    p_run.add_argument("scenario", type=Path)
    p_run.add_argument("--out", type=Path, help="output folder (default results/<scenario name>)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_val = sub.add_parser("validate", help="check a scenario file, exit 1 on bad input")
    p_val.add_argument("scenario", type=Path)
    p_plot = sub.add_parser("plot", help="redraw the figures of a results folder")
    p_plot.add_argument("results", type=Path)
    p_plot.add_argument("--svg", action="store_true", help="also write SVG")
    args = parser.parse_args(argv)
    try:
        return {"run": _run, "validate": _validate, "plot": _plot}[args.command](args)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; files already written are complete", file=sys.stderr)
        return 130


def _validate(args: argparse.Namespace) -> int:
    sc = load_scenario(args.scenario)
    n_guests = sum(g.count for g in sc.guests)
    print(
        f"{args.scenario}: ok ({len(sc.host_names())} hosts, {n_guests} guests, {sc.duration:g} s)"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from vsim.experiment import run

    sc = load_scenario(args.scenario)
    out = args.out or Path("results") / sc.name
    res = run(args.scenario, out=out, progress=not args.quiet)
    with pd.option_context("display.float_format", "{:.4g}".format):
        print(res.summary.to_string())
    print(f"results written to {out}/")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from vsim.experiment import read_result
    from vsim.plot import save_figures

    res = read_result(args.results)
    formats = ("png", "svg") if args.svg else ("png",)
    for path in save_figures(res, args.results / "figures", formats=formats):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
