"""A 40-run sweep on a real Dask cluster against the local process pool, side by side.

Starts ``dask scheduler`` and two single-threaded ``dask worker`` processes on localhost over
TCP (:mod:`benchmarks.dask_cluster`), then runs the same ``vsim sweep`` (4 configurations x 10
replications of a small fleet) three ways, alternated round by round, each
into a fresh folder (no run is reused): ``--dask tcp://...`` on the cluster, ``--jobs 2`` on
the local process pool (started by the sweep, as a user's sweep does) and ``--jobs 1`` in the
sweep's own process. Prints each path's wall time per run and the Dask path's overhead per run
against the process pool, in milliseconds, and checks that the three give the same tables
(apart from ``wall_time_s``). The cluster is up before the first round and warmed by one
unmeasured sweep, as an existing cluster would be.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from benchmarks import scaling
from benchmarks.common import median

#: The swept values: 2 x 2 configurations.
GRID = {"scheduler.overcommit.cpu": ["1.5", "2.0"], "scheduler.policy": ["first_fit", "worst_fit"]}
REPLICATIONS = 10
RUNS = REPLICATIONS * len(GRID["scheduler.overcommit.cpu"]) * len(GRID["scheduler.policy"])


def scenario() -> dict:
    """The scaling benchmark's fleet at 4 hosts (8 cores each, 20 two-vCPU VMs on random
    walks), cut to 6 h: all fit at an overcommit of 1.5; a run takes tens of milliseconds."""
    data = scaling.scenario(4).model_dump(mode="json", exclude_unset=True)
    return {**data, "name": "dask-sweep", "duration": "6h"}


def write_scenario(folder: Path) -> Path:
    path = folder / "dask-sweep.yaml"
    path.write_text(yaml.safe_dump(scenario()))
    return path


def sweep_argv(path: Path, out: Path, *where: str) -> list[str]:
    """``vsim sweep`` arguments for the 40-run sweep of ``path`` into ``out``; ``where`` picks
    the executor (``--dask ADDRESS``, ``--jobs N``)."""
    argv = ["sweep", str(path), "--out", str(out), "--quiet", "-r", str(REPLICATIONS)]
    for key, values in GRID.items():
        argv += ["--set", f"{key}={','.join(values)}"]
    return [*argv, *where]


def run_cli(argv: list[str]) -> float:
    """Wall seconds of ``vsim ARGV`` in this process (what it prints goes nowhere)."""
    from vsim.cli import main

    err = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    wall = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"vsim {' '.join(argv)} exited {code}:\n{err.getvalue()}")
    return wall


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sweep folder's ``runs.csv`` and ``aggregate.csv``, without the wall-time columns."""
    frames = [pd.read_csv(out / name) for name in ("runs.csv", "aggregate.csv")]
    drop = [[c for c in f.columns if c.startswith("wall_time_s")] for f in frames]
    return frames[0].drop(columns=drop[0]), frames[1].drop(columns=drop[1])


def same_tables(a: Path, b: Path) -> bool:
    return all(x.equals(y) for x, y in zip(tables(a), tables(b), strict=True))


def rounds(address: str, folder: Path, repeat: int) -> tuple[dict[str, list[float]], bool]:
    """Wall seconds of each way's sweep per round, and whether every round's tables agree."""
    path = write_scenario(folder)
    ways = {"dask": ["--dask", address], "processes": ["--jobs", "2"], "serial": ["--jobs", "1"]}
    walls: dict[str, list[float]] = {k: [] for k in ways}
    for name, where in ways.items():  # warm-up: the workers import vsim once
        run_cli(sweep_argv(path, folder / f"warm-{name}", *where))
    equal = True
    for k in range(max(repeat, 1)):
        for name, where in ways.items():
            walls[name].append(run_cli(sweep_argv(path, folder / f"{name}-{k}", *where)))
        equal &= all(same_tables(folder / f"serial-{k}", folder / f"{n}-{k}") for n in ways)
    return walls, equal


def per_run_ms(walls: list[float], base: list[float], share: float = 1.0) -> float:
    """Median over rounds of ``(wall - share * base) / RUNS``, in milliseconds."""
    return median([(w - share * b) / RUNS * 1e3 for w, b in zip(walls, base, strict=True)])


def main(repeat: int = 3) -> list[dict]:
    import importlib.util

    from benchmarks.dask_cluster import dask_cluster

    if importlib.util.find_spec("distributed") is None:
        print("dask sweep: skipped (dask.distributed is not installed: pip install 'vsim[dask]')")
        return []

    with tempfile.TemporaryDirectory(prefix="vsim-bench-dask-") as tmp, dask_cluster(2) as address:
        walls, equal = rounds(address, Path(tmp), repeat)
    ms = {name: median(w) / RUNS * 1e3 for name, w in walls.items()}
    row = {
        "benchmark": "dask_sweep_40_runs",
        "cores": os.cpu_count(),
        "runs": RUNS,
        "rounds": len(walls["dask"]),
        **{f"{name}_ms_per_run": v for name, v in ms.items()},
        # what the Dask path costs per run beyond the local pool (which starts its workers)
        "dask_overhead_ms_per_run": per_run_ms(walls["dask"], walls["processes"]),
        # and beyond the ideal of two workers with nothing to start: half the serial sweep
        "dask_over_half_serial_ms_per_run": per_run_ms(walls["dask"], walls["serial"], 0.5),
        "tables_equal": equal,
    }
    print(
        f"dask sweep: {RUNS} runs, median of {row['rounds']} rounds: Dask (2 workers) "
        f"{ms['dask']:.1f} ms/run, process pool (-j 2) {ms['processes']:.1f}, serial "
        f"{ms['serial']:.1f}; Dask overhead {row['dask_overhead_ms_per_run']:+.1f} ms/run against "
        f"the pool, {row['dask_over_half_serial_ms_per_run']:+.1f} against half the serial "
        f"time; tables equal: {equal}",
        flush=True,
    )
    return [row]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="A 40-run sweep on a real Dask cluster and locally.")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the three ways; medians")
    main(ap.parse_args().repeat)
