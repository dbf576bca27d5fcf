"""The ``vsim`` command: run and validate scenarios, redraw figures."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from vsim.experiments import cli as experiment_cli
from vsim.policies import PolicyError
from vsim.scenario import ScenarioError, load_scenario
from vsim.traces import TraceError

#: Exit status when the reader of the output went away (``vsim schema | head``): 128 + SIGPIPE,
#: what a shell reports for tools that the signal stops.
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        status = _dispatch(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader closed the pipe: stop quietly. Later writes (the interpreter flushes
        # stdout at exit) go to /dev/null, so no second error is printed either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return status


def _parser() -> argparse.ArgumentParser:
    """Every subcommand and its options."""
    parser = argparse.ArgumentParser(prog="vsim", description="Simulate a virtualized datacenter.")
    parser.add_argument("--version", action="version", version=f"vsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run a scenario and write its results")
    p_run.add_argument("scenario", type=Path)
    p_run.add_argument("--out", type=Path, help="output folder (default results/<scenario name>)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument(
        "--force",
        action="store_true",
        help="replace --out even when it is a non-empty folder that is not a vsim result",
    )
    p_run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override one scenario field, e.g. scheduler.overcommit.cpu=1.5 (repeatable)",
    )
    p_run.add_argument("--seed", type=int, help="the scenario's seed, instead of its own")
    p_val = sub.add_parser("validate", help="check a scenario file, exit 1 on bad input")
    p_val.add_argument("scenario", type=Path)
    for p in (p_run, p_val):
        p.add_argument(
            "--memory-limit",
            metavar="SIZE",
            help="refuse runs estimated to need more, e.g. 8GiB (default: available memory)",
        )
    _add_plot_parser(sub)
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
    p_exp = sub.add_parser(
        "export", help="write a run's guest series as a trace (OpenDC Parquet or vsim CSV)"
    )
    p_exp.add_argument("results", type=Path, help="a results folder written by vsim run")
    p_exp.add_argument("--to", choices=("opendc", "csv"), required=True)
    p_exp.add_argument(
        "--series",
        choices=("demand", "utilization"),
        default="demand",
        help="what each guest asked for, or what it got (default demand)",
    )
    p_exp.add_argument("--out", type=Path, required=True, help="folder (opendc) or file (csv)")
    p_schema = sub.add_parser(
        "schema", help="print the JSON Schema of scenario files (for editors)"
    )
    p_schema.add_argument(
        "--reference", action="store_true", help="print the field reference in Markdown instead"
    )
    p_rep = sub.add_parser("report", help="write one self-contained HTML report of a run or sweep")
    p_rep.add_argument("results", type=Path)
    p_rep.add_argument("--out", type=Path, help="the HTML file (default <results>/report.html)")
    p_rep.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="METRIC<VALUE",
        help="a target for a sweep's configurations, e.g. latency_s_p99<0.2 (repeatable)",
    )
    p_rep.add_argument(
        "--allow-rejected",
        action="store_true",
        help="let configurations that reject guests meet the targets",
    )
    p_cal = sub.add_parser(
        "calibrate", help="run published virtualization benchmarks; compare with the papers"
    )
    p_cal.add_argument("--report", action="store_true", help="also print each figure's source")
    experiment_cli.add_parser(sub)
    _add_verify_parser(sub)
    return parser


def _add_plot_parser(sub: argparse._SubParsersAction) -> None:
    """``vsim plot``: a run's or a sweep's figures, and how a sweep's are steered."""
    p_plot = sub.add_parser("plot", help="redraw the figures of a results folder")
    p_plot.add_argument("results", type=Path)
    p_plot.add_argument("--svg", action="store_true", help="also write SVG")
    p_plot.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        default=[],
        help="a sweep metric to draw (repeatable; default: the headline ones)",
    )
    p_plot.add_argument("--x", help="the swept parameter on the horizontal axis (sweep)")
    p_plot.add_argument("--hue", help="the swept parameter that colours the lines (sweep)")
    p_plot.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="METRIC<VALUE",
        help="draw a target on that metric's curves, the side meeting it shaded (repeatable)",
    )
    p_plot.add_argument(
        "--allow-rejected",
        action="store_true",
        help="a sweep's Pareto front may hold configurations that reject guests",
    )


def _dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand; bad input and failed policies print a message, never a traceback."""
    try:
        handlers = {"run": _run, "validate": _validate, "plot": _plot, "sweep": _sweep}
        handlers["calibrate"] = _calibrate
        handlers["experiment"] = experiment_cli.run
        handlers["export"] = _export
        handlers["schema"] = _schema
        handlers["report"] = _report
        handlers["verify"] = _verify
        with _warnings_on_console():
            return handlers[args.command](args)
    except (ScenarioError, TraceError) as exc:  # bad input: the message, never a traceback
        print(exc, file=sys.stderr)
        return 1
    except PolicyError as exc:  # a user policy failed: the run stops, its message says why
        print(f"run stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; files already written are complete", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # the reader left: main() stops quietly, not a bug in vsim
    except Exception as exc:  # anything else is vsim's fault: one line, traceback to a file
        from vsim.preflight import report_bug

        print(report_bug(exc, getattr(args, "out", None)), file=sys.stderr)
        return 3


def _version() -> str:
    from vsim import __version__

    return __version__


@contextmanager
def _warnings_on_console() -> Iterator[None]:
    """Warnings print as one ``warning: ...`` line on stderr as they happen: the default format
    names a line of vsim's source, which tells a command-line user nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        yield


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from vsim.preflight import dry_build, memory_limit

    sc = load_scenario(args.scenario, memory_limit=memory_limit(args.memory_limit))
    dry_build(sc, str(args.scenario))
    n_hosts = sum(h.count for h in sc.datacenter.host_types)
    n_guests = sum(g.count for g in sc.guests)
    print(f"{args.scenario}: ok ({n_hosts} hosts, {n_guests} guests, {sc.duration:g} s)")
    return 0


def _run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """``--set`` values (one each, validated like the sweep's) and ``--seed``."""
    from vsim.experiment.sweep import parse_single_sets

    overrides: dict[str, object] = parse_single_sets(args.sets, "vsim run")
    if args.seed is not None:
        overrides["seed"] = args.seed
    return overrides


def _run(args: argparse.Namespace) -> int:
    import time

    from vsim.console import format_files, format_summary, run_warnings
    from vsim.experiment import run
    from vsim.preflight import check_out_location, check_traces, in_file, memory_limit

    try:
        limit = memory_limit(args.memory_limit)
        sc = load_scenario(args.scenario, _run_overrides(args), memory_limit=limit)
    except ValueError as exc:  # includes ScenarioError: bad --set path or value
        print(exc, file=sys.stderr)
        return 1
    from vsim.experiment.results import OutputFolderError

    out = args.out or Path("results") / sc.name
    check_out_location(Path(out))
    check_traces(sc, str(args.scenario))
    started = time.time()
    try:
        res = run(sc, out=out, progress=not args.quiet, force=args.force)
    except OutputFolderError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (TraceError, ScenarioError) as exc:  # found as the run is built: name the file
        raise in_file(exc, str(args.scenario)) from None
    print(format_summary(res.summary))
    # Files this run wrote (figures included), not older ones left in the folder.
    written = [p for p in Path(out).rglob("*") if p.is_file() and p.stat().st_mtime >= started - 1]
    print(format_files(Path(out), written))
    for line in run_warnings(res.summary, res.events):
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    import json

    from vsim.scenario.reference import reference_markdown, scenario_json_schema

    if args.reference:
        sys.stdout.write(reference_markdown())
    else:
        print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    from vsim.experiment.targets import parse_target
    from vsim.report import write_report

    try:
        targets = [parse_target(t) for t in args.targets]
        path = write_report(
            args.results, args.out, targets=targets, allow_rejected=args.allow_rejected
        )
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(str(exc).strip('"'), file=sys.stderr)
        return 1
    print(path)
    return 0


def _export(args: argparse.Namespace) -> int:
    from vsim.experiment import read_result
    from vsim.traces.export import export_run

    try:
        res = read_result(args.results)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    for path in export_run(res, args.out, to=args.to, series=args.series):
        print(path)
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
    steering = [f"--{n}" for n in ("metric", "x", "hue", "target") if _given(args, n)]
    if steering:
        print(
            f"vsim plot: {', '.join(steering)} apply to a sweep folder; "
            f"{args.results} holds one run",
            file=sys.stderr,
        )
        return 1
    from vsim.experiment import read_result
    from vsim.plot import save_figures

    res = read_result(args.results)
    formats = ("png", "svg") if args.svg else ("png",)
    for path in save_figures(res, args.results / "figures", formats=formats):
        print(path)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from vsim.console import rejection_warnings, saturation_warnings
    from vsim.experiment.sweep import parse_sets, sweep

    try:
        grid = parse_sets(args.sets)
        name = load_scenario(args.scenario).name
        out = args.out or Path("results") / f"{name}-sweep"
        with _dask_client(args) as client:
            result = sweep(
                args.scenario,
                grid,
                zip=args.zip,
                replications=args.replications,
                jobs=args.jobs,
                executor="dask" if (args.dask or args.dask_local) else "auto",
                dask_address=client if client is not None else args.dask,
                out=out,
                progress=not args.quiet,
                command=_sweep_command(args),
            )
    except ValueError as exc:  # includes ScenarioError: bad --set path or value
        print(exc, file=sys.stderr)
        return 1
    with pd.option_context("display.float_format", "{:.4g}".format, "display.width", 200):
        print(_sweep_table(result.aggregate, result.params).to_string(index=False))
    print(f"results written to {out}/ (runs.csv, aggregate.csv)")
    for line in rejection_warnings(result.aggregate, result.params):
        print(f"warning: {line}", file=sys.stderr)
    for line in saturation_warnings(result):
        print(f"warning: {line}", file=sys.stderr)
    failed = result.failed
    if len(failed):
        print(
            f"{len(failed)} of {len(result.runs)} runs failed; first error: "
            f"{failed['error'].iloc[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


#: Columns of the sweep's console table: (metric, statistics shown), when the metric is there.
SWEEP_TABLE = (
    ("guests_rejected", ("mean",)),
    ("unmet_cpu_frac", ("mean", "ci95")),
    ("cpu_util_mean", ("mean", "ci95")),
    ("latency_s_p99", ("median", "saturated")),
    ("facility_energy_kwh", ("mean", "ci95")),
    ("cost_total", ("mean", "ci95")),
)


def _sweep_table(aggregate: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """The headline columns of a sweep's aggregate; the p99 latency as a median, which keeps
    a meaning when some runs saturate, and only when some run had requests."""
    columns = [*params, "runs", "failed"]
    for metric, stats in SWEEP_TABLE:
        wanted = [f"{metric}_{s}" for s in stats]
        if all(c in aggregate.columns for c in wanted) and aggregate[wanted[0]].notna().any():
            columns += wanted
    return aggregate[columns]


@contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[object | None]:
    """With ``--dask-local``, a local Dask cluster of ``--jobs`` workers whose dashboard
    address is printed (when bokeh, which serves it, is installed); else ``None``."""
    if not args.dask_local:
        yield None
        return
    import importlib.util

    from dask.distributed import Client, LocalCluster

    dashboard = importlib.util.find_spec("bokeh") is not None
    workers = args.jobs or None
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address="127.0.0.1:0" if dashboard else None,
        ) as cluster,
        Client(cluster) as client,
    ):
        if dashboard:
            print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr, flush=True)
        else:
            print("no Dask dashboard: it needs bokeh (pip install 'vsim[dask]')", file=sys.stderr)
        yield client


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


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, {"metric": "metrics", "target": "targets"}.get(name, name))
    return bool(value)


def _plot_sweep(args: argparse.Namespace) -> int:
    from vsim.experiment.sweep import read_sweep
    from vsim.experiment.targets import parse_target
    from vsim.plot.saturation import save_saturation_figures
    from vsim.plot.sweep import save_sweep_figures

    result = read_sweep(args.results)
    formats = ("png", "svg") if args.svg else ("png",)
    folder = args.results / "figures"
    try:
        targets = {t.metric: (t.op, t.value) for t in map(parse_target, args.targets)}
        figures = save_sweep_figures(
            result.aggregate,
            folder,
            formats=formats,
            metrics=args.metrics or None,
            x=args.x,
            hue=args.hue,
            targets=targets,
            allow_rejected=args.allow_rejected,
        )
    except ValueError as exc:
        print(f"vsim plot: {exc}", file=sys.stderr)
        return 1
    for path in figures:
        print(path)
    # Mean curves cannot draw a saturated configuration (its mean is inf): medians, marked.
    for path in save_saturation_figures(result.aggregate, folder, formats=formats):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
