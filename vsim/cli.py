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
    p_sweep = sub.add_parser(
        "sweep", help="run a scenario over a grid of --set values, with replications"
    )
    p_sweep.add_argument("scenario", type=Path)
    p_sweep.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="values of one scenario field, e.g. scheduler.overcommit.cpu=1,1.5,2 (repeatable)",
    )
    p_sweep.add_argument("--zip", action="store_true", help="pair the lists instead of crossing")
    p_sweep.add_argument("--replications", "-r", type=int, default=1, help="runs per setting")
    p_sweep.add_argument("--jobs", "-j", type=int, help="parallel runs (default: all cores)")
    dask = p_sweep.add_mutually_exclusive_group()
    dask.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler")
    dask.add_argument("--dask-local", action="store_true", help="run on a local Dask cluster")
    p_sweep.add_argument("--out", type=Path, help="output folder (default results/<name>-sweep)")
    p_sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    p_cal = sub.add_parser(
        "calibrate", help="run published virtualization benchmarks; compare with the papers"
    )
    p_cal.add_argument("--report", action="store_true", help="also print each figure's source")
    _add_verify_parser(sub)
    args = parser.parse_args(argv)
    try:
        handlers = {"run": _run, "validate": _validate, "plot": _plot, "sweep": _sweep}
        handlers["calibrate"] = _calibrate
        handlers["verify"] = _verify
        return handlers[args.command](args)
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


def _calibrate(args: argparse.Namespace) -> int:
    from vsim.experiment.calibrate import calibrate, format_report

    print("relative performance: native time / mode time (1 = native speed)")
    print(format_report(calibrate(), sources=args.report))
    return 0


def _add_verify_parser(sub) -> None:
    p = sub.add_parser(
        "verify", help="run vsim's validation cases against closed forms and published figures"
    )
    out_help = "folder for verify.csv and verify.png (default results/verify)"
    p.add_argument("--out", type=Path, default=Path("results") / "verify", help=out_help)
    p.add_argument("--quick", action="store_true", help="shorter queueing runs, no PlanetLab")
    p.add_argument("--data", type=Path, help="folder holding planetlab/ (default: VSIM_DATA)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _verify(args: argparse.Namespace) -> int:
    from vsim.experiment.verify import FAILED, format_table, summary_line, verify

    table = verify(quick=args.quick, data=args.data, out=args.out, progress=not args.quiet)
    print(format_table(table))
    print(f"table and figure written to {args.out}/ (verify.csv, verify.png)")
    failed = table[table["status"] == FAILED]
    if len(failed):
        cases = ", ".join(dict.fromkeys(failed["case"]))
        print(f"vsim verify: {summary_line(table)}; failing: {cases}", file=sys.stderr)
        return 1
    print(f"vsim verify: {summary_line(table)}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from vsim.experiment.sweep import is_sweep_dir

    if is_sweep_dir(args.results):
        return _plot_sweep(args)
    from vsim.experiment import read_result
    from vsim.plot import save_figures

    res = read_result(args.results)
    formats = ("png", "svg") if args.svg else ("png",)
    for path in save_figures(res, args.results / "figures", formats=formats):
        print(path)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from vsim.experiment.sweep import parse_sets, sweep

    try:
        grid = parse_sets(args.sets)
        name = load_scenario(args.scenario).name
        out = args.out or Path("results") / f"{name}-sweep"
        result = sweep(
            args.scenario,
            grid,
            zip=args.zip,
            replications=args.replications,
            jobs=args.jobs,
            executor="dask" if (args.dask or args.dask_local) else "auto",
            dask_address=args.dask,
            out=out,
            progress=not args.quiet,
            command=_sweep_command(args),
        )
    except ValueError as exc:  # includes ScenarioError: bad --set path or value
        print(exc, file=sys.stderr)
        return 1
    shown = [
        c
        for c in ("unmet_cpu_frac", "cpu_util_mean", "facility_energy_kwh", "cost_total")
        if f"{c}_mean" in result.aggregate.columns
    ]
    table = result.aggregate[
        [*result.params, "runs", "failed", *(f"{c}_{s}" for c in shown for s in ("mean", "ci95"))]
    ]
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 200):
        print(table.to_string(index=False))
    print(f"results written to {out}/ (runs.csv, aggregate.csv)")
    failed = result.failed
    if len(failed):
        print(
            f"{len(failed)} of {len(result.runs)} runs failed; first error: "
            f"{failed['error'].iloc[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def _sweep_command(args: argparse.Namespace) -> list[str]:
    """The sweep's command line, rebuilt from its parsed arguments, for the manifest."""
    cmd = ["vsim", "sweep", str(args.scenario)]
    for item in args.sets:
        cmd += ["--set", item]
    cmd += ["--zip"] if args.zip else []
    cmd += ["--replications", str(args.replications)]
    cmd += ["--jobs", str(args.jobs)] if args.jobs else []
    cmd += ["--dask", args.dask] if args.dask else []
    cmd += ["--dask-local"] if args.dask_local else []
    cmd += ["--out", str(args.out)] if args.out else []
    return cmd


def _plot_sweep(args: argparse.Namespace) -> int:
    from vsim.experiment.sweep import read_sweep
    from vsim.plot.sweep import save_sweep_figures

    result = read_sweep(args.results)
    formats = ("png", "svg") if args.svg else ("png",)
    for path in save_sweep_figures(result.aggregate, args.results / "figures", formats=formats):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
