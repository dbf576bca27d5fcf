"""Sweeps: run a scenario over a grid of overrides, with replications, and tabulate the results.

A sweep takes a scenario and ``grid = {"dotted.path": [v1, v2, ...], ...}``. Its
*configurations* are the cartesian product of the lists (or, with ``zip=True``, the lists read
side by side); each configuration runs ``replications`` times. Run ``r`` of every configuration
gets the seed

    SeedSequence(entropy=base_seed, spawn_key=(r,))  ->  a 63-bit integer

where ``base_seed`` is the configuration's own ``seed`` field (the scenario's, unless ``seed``
itself is swept). These are the streams ``SeedSequence(base_seed).spawn(R)`` would give, so
replications are statistically independent, adding replications later keeps the seeds of the
earlier ones, and replication ``r`` sees the same random numbers in every configuration (common
random numbers: differences between configurations are not drowned in seed noise). To redo one
run alone, set its ``seed`` column as the scenario seed.

With ``out``, the sweep folder holds::

    runs/<run_id>.json   one file per finished run, written atomically as it completes
    runs.csv, runs.parquet            one row per run
    aggregate.csv, aggregate.parquet  one row per configuration
    manifest.json                     base scenario, grid, replications, seeds, version, command

A run's id is ``c<config>-r<replication>-<digest>``, the digest a hash of its resolved
scenario (overrides and seed applied) and of the code that runs it (the installed package's
source files and library versions, :mod:`vsim.experiment.cache`), so a rerun of the same sweep
skips every run whose file exists and whose scenario and code are unchanged, and builds the same
tables. A run whose file was made by other code or for another scenario is run again, never
mixed in, and a :class:`StaleRunsWarning` says how many and why. A run
that raises is recorded with ``status = "error"`` and its message, and the sweep goes on; such
runs are tried again by the next rerun. Ctrl-C stops the sweep (workers included) and loses no
finished run.

Tables are sorted by run id and are identical whichever executor ran them (apart from
``wall_time_s``).
"""

from __future__ import annotations

import itertools
import json
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from vsim._io import atomic_write, clean_stale_temps
from vsim.experiment.cache import code_digest, run_digest, scenario_digest, stale_reason
from vsim.experiment.executors import (
    WorkerLost,
    check_main_guard,
    make_backend,
    resolve_executor,
    starts_processes,
)
from vsim.experiment.run import vsim_version
from vsim.experiment.stats import (
    INTERVALS,
    STATS,
    metric_stats,
    saturation_table,
    t_quantile,
)
from vsim.scenario import Scenario, ScenarioError, apply_overrides, validate_scenario
from vsim.scenario.loader import read_raw

if TYPE_CHECKING:
    from vsim.plot.sweep import SweepPlots

__all__ = [
    "StaleRunsWarning",
    "SweepResult",
    "aggregate_runs",
    "expand_grid",
    "read_sweep",
    "parse_sets",
    "replication_seed",
    "sweep",
    "t_quantile",
]

RUNS_DIR = "runs"
MANIFEST_FILE = "manifest.json"
#: Columns every runs table starts with (parameters come between ``config`` and ``replication``).
RUN_COLUMNS = ("run_id", "config", "replication", "seed", "status", "error")
#: Summary columns that are not metrics to aggregate.
NOT_METRICS = frozenset({"seed", "scenario", "config", "replication"})
CONFIDENCE = 0.95

_zip = zip  # the builtin, shadowed by the ``zip`` keyword argument of the functions below


# --------------------------------------------------------------------------------------------
# Grid and seeds


def expand_grid(grid: Mapping[str, Sequence[Any]], *, zip: bool = False) -> list[dict[str, Any]]:
    """Configurations of a grid: the cartesian product of its lists, or the lists zipped.

    The first path varies slowest. ``zip=True`` needs lists of equal length. An empty grid is
    one configuration with no overrides.
    """
    paths = list(grid)
    lists = []
    for path in paths:
        values = grid[path]
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ValueError(f"grid[{path!r}] must be a list of values, got {values!r}")
        if len(values) == 0:
            raise ValueError(f"grid[{path!r}] has no values")
        lists.append(list(values))
    if zip:
        lengths = {p: len(v) for p, v in _zip(paths, lists)}
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{p}: {n}" for p, n in lengths.items())
            raise ValueError(f"zipped lists must have the same length; got {sizes}")
        combos = list(_zip(*lists)) if lists else [()]
    else:
        combos = list(itertools.product(*lists))
    return [dict(_zip(paths, combo)) for combo in combos]


def replication_seed(base_seed: int, replication: int) -> int:
    """Seed of replication ``replication``: child ``replication`` of ``SeedSequence(base_seed)``.

    A non-negative 63-bit integer; the same for a given (base seed, replication) pair whatever
    the grid or the number of replications.
    """
    seq = np.random.SeedSequence(entropy=int(base_seed), spawn_key=(int(replication),))
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


# --------------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to do one run (picklable, no open files)."""

    run_id: str
    config: int
    replication: int
    seed: int
    params: dict[str, Any]
    data: dict[str, Any]
    source: str
    base_dir: str | None
    scenario_digest: str = ""
    code_digest: str = ""


def _base_record(spec: RunSpec) -> dict[str, Any]:
    """The fields of a run's record that do not depend on its outcome."""
    return {
        "run_id": spec.run_id,
        "config": spec.config,
        "params": spec.params,
        "replication": spec.replication,
        "seed": spec.seed,
        "scenario_digest": spec.scenario_digest,
        "code_digest": spec.code_digest,
    }


def _execute(spec: RunSpec) -> dict[str, Any]:
    """Run one spec; never raises for a failing simulation, records the error instead."""
    from vsim.experiment.run import run

    record = _base_record(spec)
    try:
        base = Path(spec.base_dir) if spec.base_dir is not None else None
        scenario = validate_scenario(spec.data, source=spec.source, base_dir=base)
        result = run(scenario)
        record.update(status="ok", error=None, summary=_plain(result.summary.to_dict()))
    except Exception as exc:  # a failing run is data, not the end of the sweep
        record.update(status="error", error=f"{type(exc).__name__}: {exc}", summary={})
    return record


def _plain(value: Any) -> Any:
    """JSON-ready Python values (numpy scalars and arrays become Python ones)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _roundtrip(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it reads back from its JSON file (the tables are built from this form)."""
    return json.loads(json.dumps(_plain(record)))


def _scenario_data(scenario: Any) -> tuple[dict[str, Any], str, Path | None]:
    """Raw data, a name for messages, and the folder relative paths start from."""
    if isinstance(scenario, Scenario):
        return scenario.model_dump(mode="json", by_alias=True), scenario.name, None
    if isinstance(scenario, Mapping):
        return dict(scenario), "<scenario>", None
    path = Path(scenario)
    return read_raw(path), str(path), path.parent


def plan(
    scenario: Any,
    grid: Mapping[str, Sequence[Any]],
    *,
    zip: bool = False,
    replications: int = 1,
) -> tuple[list[RunSpec], dict[str, Any]]:
    """Every run of a sweep, validated; raises :class:`ScenarioError` before anything runs.

    Returns the run specs (sorted by run id) and the base scenario's raw data.
    """
    if int(replications) < 1:
        raise ValueError(f"replications must be at least 1, got {replications}")
    base, source, base_dir = _scenario_data(scenario)
    configs = expand_grid(grid, zip=zip)
    width_c = max(3, len(str(len(configs) - 1)))
    width_r = max(3, len(str(int(replications) - 1)))
    specs: list[RunSpec] = []
    code = code_digest()
    for c, params in enumerate(configs):
        where = ", ".join(f"{p}={v!r}" for p, v in params.items())
        label = f"{source} [{where}]" if where else source
        data = apply_overrides(base, params, source=label) if params else dict(base)
        # Validate every configuration before running any: a typo must not surface hours later.
        sc = validate_scenario(data, source=label, base_dir=base_dir)
        for r in range(int(replications)):
            seed = replication_seed(sc.seed, r)
            run_data = {**data, "seed": seed}
            scenario_key = scenario_digest(run_data)
            run_id = f"c{c:0{width_c}d}-r{r:0{width_r}d}-{run_digest(scenario_key, code)}"
            specs.append(
                RunSpec(
                    run_id=run_id,
                    config=c,
                    replication=r,
                    seed=seed,
                    params=_plain(dict(params)),
                    data=run_data,
                    source=label,
                    base_dir=str(base_dir) if base_dir is not None else None,
                    scenario_digest=scenario_key,
                    code_digest=code,
                )
            )
    specs.sort(key=lambda s: s.run_id)
    return specs, base


# --------------------------------------------------------------------------------------------
# Tables


def _param_column(path: str, reserved: set[str]) -> str:
    return f"param:{path}" if path in reserved else path


def runs_table(records: Sequence[dict[str, Any]], paths: Sequence[str]) -> pd.DataFrame:
    """One row per run: run_id, config, parameters, replication, seed, status, error, summary."""
    metric_cols: list[str] = []
    for rec in records:
        for key in rec.get("summary") or {}:
            if key not in metric_cols and key != "seed":
                metric_cols.append(key)
    reserved = set(RUN_COLUMNS) | set(metric_cols)
    param_cols = [_param_column(p, reserved) for p in paths]
    rows = []
    for rec in sorted(records, key=lambda r: r["run_id"]):
        row: dict[str, Any] = {"run_id": rec["run_id"], "config": rec["config"]}
        for path, col in _zip(paths, param_cols):
            row[col] = rec["params"].get(path)
        row.update(
            replication=rec["replication"],
            seed=rec["seed"],
            status=rec["status"],
            error=rec.get("error"),
        )
        summary = rec.get("summary") or {}
        for col in metric_cols:
            value = summary.get(col)
            row[col] = np.nan if value is None else value
        rows.append(row)
    columns = ["run_id", "config", *param_cols, *RUN_COLUMNS[2:], *metric_cols]
    frame = pd.DataFrame(rows, columns=columns)
    frame["error"] = frame["error"].astype(object)
    return frame.reset_index(drop=True)


def aggregate_runs(
    runs: pd.DataFrame, params: Sequence[str], *, confidence: float = CONFIDENCE
) -> pd.DataFrame:
    """Per configuration: ``runs``, ``failed`` and, for each numeric metric ``m``, the
    :data:`~vsim.experiment.stats.STATS` of :func:`~vsim.experiment.stats.metric_stats`:

    - ``m_mean``, ``m_std`` (sample, ddof 1), ``m_ci95`` (half-width of the Student-t interval
      of the mean, ``t(0.975, n-1) * std / sqrt(n)``), ``m_ci95_low`` and ``m_ci95_high`` (the
      interval cut to the range of the metric: never below 0 for a latency, a count or an
      energy, never above 1 for a fraction), over the runs with a finite value; ``inf`` with
      no interval when a run saturated;
    - ``m_median``, ``m_median_low``, ``m_median_high``: the median and its distribution-free
      order-statistic interval, over all runs with a value, saturated ones included;
    - ``m_finite`` and ``m_saturated``: how many runs gave a finite value and ``inf``.

    Only successful runs count; a NaN (undefined) value counts in neither. Columns:
    ``config``, the parameters, ``runs``, ``failed``, then the statistics.
    """
    param_cols = [c for c in params if c in runs.columns]
    first = ["run_id", "config", *param_cols, "replication", "seed", "status", "error"]
    metrics = [
        c
        for c in runs.columns
        if c not in first
        and c not in NOT_METRICS
        and pd.api.types.is_numeric_dtype(runs[c])
        and not pd.api.types.is_bool_dtype(runs[c])
    ]
    rows = []
    for config, group in runs.groupby("config", sort=True):
        ok = group[group["status"] == "ok"]
        row: dict[str, Any] = {"config": config}
        for col in param_cols:
            row[col] = group[col].iloc[0]
        row["runs"] = len(ok)
        row["failed"] = len(group) - len(ok)
        for m in metrics:
            values = ok[m].to_numpy(dtype=float)
            for stat, value in metric_stats(values, m, confidence).items():
                row[f"{m}_{stat}"] = value
        rows.append(row)
    columns = ["config", *param_cols, "runs", "failed"]
    columns += [f"{m}_{s}" for m in metrics for s in STATS]
    return pd.DataFrame(rows, columns=columns)


@dataclass(eq=False)
class SweepResult:
    """The tables of a sweep.

    Attributes:
        runs: one row per run: ``run_id``, ``config``, one column per swept path,
            ``replication``, ``seed``, ``status`` (``ok``/``error``), ``error``, then every
            summary column.
        aggregate: one row per configuration: ``config``, the swept paths, ``runs``,
            ``failed``, then ``<metric>_mean``, ``_std``, ``_ci95``, ``_ci95_low``,
            ``_ci95_high``, ``_median``, ``_median_low``, ``_median_high``, ``_finite``,
            ``_saturated`` (see :func:`aggregate_runs`).
        params: the swept paths (column names in both tables).
        manifest: base scenario, grid, replications, version, command.
        out: the sweep folder, when written.
    """

    runs: pd.DataFrame
    aggregate: pd.DataFrame
    params: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None

    @property
    def failed(self) -> pd.DataFrame:
        """Runs that raised, with their error messages."""
        return self.runs[self.runs["status"] != "ok"]

    def metric(self, name: str) -> pd.DataFrame:
        """Per configuration: the parameters, ``runs`` and the statistics of one metric
        (``mean``, ``std``, ``ci95``, ``ci95_low``, ``ci95_high``, ``median``, ``median_low``,
        ``median_high``, ``finite``, ``saturated``), with short column names."""
        stats = [f"{name}_{s}" for s in STATS]
        missing = [c for c in stats if c not in self.aggregate.columns]
        if missing:
            known = sorted(c[: -len("_mean")] for c in self.aggregate if c.endswith("_mean"))
            raise KeyError(f"no metric {name!r} in the aggregate; known: {', '.join(known)}")
        frame = self.aggregate[["config", *self.params, "runs", *stats]]
        return frame.rename(columns=dict(_zip(stats, STATS)))

    def saturation(self, confidence: float = CONFIDENCE) -> pd.DataFrame:
        """Per metric that saturated (``inf``) in some run and per configuration: ``runs``,
        ``saturated``, ``share`` and its Clopper-Pearson interval ``share_low``/``share_high``.
        Empty when no run saturated."""
        return saturation_table(self.aggregate, self.params, confidence)

    @property
    def plot(self) -> SweepPlots:
        """Figures: ``sweep.plot.curves("unmet_cpu_frac", x=...)``, ``sweep.plot.pareto(...)``."""
        from vsim.plot.sweep import SweepPlots

        return SweepPlots(self.aggregate, self.params)

    def __repr__(self) -> str:
        n_fail = int((self.runs["status"] != "ok").sum()) if len(self.runs) else 0
        return (
            f"SweepResult({len(self.aggregate)} configurations, {len(self.runs)} runs, "
            f"{n_fail} failed, params={self.params})"
        )


# --------------------------------------------------------------------------------------------
# The sweep


def sweep(
    scenario: Scenario | str | os.PathLike[str] | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    zip: bool = False,
    replications: int = 1,
    jobs: int | None = None,
    executor: str = "auto",
    dask_address: Any = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    command: Sequence[str] | None = None,
) -> SweepResult:
    """Run ``scenario`` for every configuration of ``grid``, ``replications`` times each.

    Args:
        scenario: a :class:`Scenario`, the path of a scenario file, or raw scenario data.
        grid: ``{"dotted.path": [values...]}``; paths as for ``load_scenario`` overrides
            (``scheduler.policy``, ``guests.0.count``, ``datacenter.host_types.0.count``).
        zip: pair the lists element by element instead of taking their product.
        replications: runs per configuration, seeds spawned from the configuration's seed.
        jobs: parallel runs (default: the number of cores).
        executor: ``"auto"``, ``"serial"``, ``"processes"`` or ``"dask"``.
        dask_address: scheduler address or ``distributed.Client`` for ``"dask"``; ``None``
            with ``"dask"`` starts a ``LocalCluster`` of ``jobs`` workers.
        out: sweep folder; finished runs there are not run again.
        progress: show a progress bar (runs done, running, time left).
        command: the command line to record in the manifest.

    Returns:
        A :class:`SweepResult` with ``runs`` and ``aggregate`` tables.

    Raises:
        ScenarioError: a configuration is not a valid scenario (nothing has run).
        UnguardedMainError: called at the top level of a script, outside
            ``if __name__ == "__main__":``, with an executor that starts worker processes
            (which import the script first); nothing has run.
        KeyboardInterrupt: after stopping cleanly; finished runs are on disk.
    """
    grid = dict(grid or {})
    specs, base = plan(scenario, grid, zip=zip, replications=replications)
    paths = list(grid)
    out_dir = Path(out) if out is not None else None
    runs_dir = out_dir / RUNS_DIR if out_dir is not None else None
    records: dict[str, dict[str, Any]] = {}
    if runs_dir is not None:
        for spec in specs:
            rec = _read_record(runs_dir / f"{spec.run_id}.json")
            if rec is not None and rec.get("status") == "ok":
                records[spec.run_id] = rec
    pending = [s for s in specs if s.run_id not in records]
    stale = _stale_runs(runs_dir, pending) if runs_dir is not None else {}
    if stale:
        warnings.warn(_stale_message(stale, runs_dir), StaleRunsWarning, stacklevel=2)
    kind, _ = resolve_executor(executor, jobs=jobs, pending=len(pending), dask_address=dask_address)
    if pending and starts_processes(kind, dask_address):
        check_main_guard()  # before anything is written: stop at once, with one message
    if runs_dir is not None:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in (out_dir, runs_dir):  # half-written files of a sweep that was killed
            clean_stale_temps(folder)

    manifest: dict[str, Any] = {
        "kind": "sweep",
        "vsim_version": vsim_version(),
        "code_digest": code_digest(),
        "stale_runs_redone": stale,
        "command": list(command) if command is not None else None,
        "scenario_file": None if isinstance(scenario, Scenario | Mapping) else str(scenario),
        "scenario": _plain(base),
        "grid": _plain(grid),
        "params": paths,
        "zip": bool(zip),
        "replications": int(replications),
        "seeds": "replication r runs with SeedSequence(entropy=<config seed>, spawn_key=(r,))",
        "intervals": dict(INTERVALS),
        "configurations": len({s.config for s in specs}),
        "runs": len(specs),
    }

    t0 = time.perf_counter()
    interrupted = False
    bar = tqdm(
        total=len(specs),
        initial=len(records),
        unit="run",
        desc=str(base.get("name", "sweep")),
        disable=not progress,
        dynamic_ncols=True,
    )
    failed = 0

    def finish(rec: dict[str, Any]) -> None:
        nonlocal failed
        rec = _roundtrip(rec)
        if runs_dir is not None:
            _write_json(runs_dir / f"{rec['run_id']}.json", rec)
        records[rec["run_id"]] = rec
        failed += rec["status"] != "ok"
        bar.update(1)

    try:
        if pending:
            with make_backend(
                executor, jobs=jobs, pending=len(pending), dask_address=dask_address
            ) as backend:
                manifest["executor"] = backend.name
                queue = list(reversed(pending))
                in_flight: dict[Any, RunSpec] = {}
                while queue or in_flight:
                    while queue and len(in_flight) < backend.slots:
                        spec = queue.pop()
                        in_flight[backend.submit(_execute, spec)] = spec
                        bar.set_postfix(running=len(in_flight), failed=failed, refresh=False)
                    for handle in backend.wait(in_flight):
                        spec = in_flight.pop(handle)
                        try:
                            rec = backend.outcome(handle)
                        except WorkerLost as exc:
                            rec = _base_record(spec)
                            rec.update(status="error", error=str(exc), summary={})
                        finish(rec)
                    bar.set_postfix(running=len(in_flight), failed=failed)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        bar.close()
        manifest["complete"] = not interrupted and len(records) == len(specs)
        manifest["wall_time_s"] = time.perf_counter() - t0
        done = [records[s.run_id] for s in specs if s.run_id in records]
        runs = runs_table(done, paths)
        agg = aggregate_runs(runs, _param_names(runs, paths))
        if out_dir is not None:
            _write_tables(out_dir, runs, agg, manifest)
    return SweepResult(runs, agg, _param_names(runs, paths), manifest, out_dir)


class StaleRunsWarning(UserWarning):
    """Finished runs in the sweep folder were made by other code or for another scenario;
    they are run again, never mixed into the tables."""


def _stale_runs(runs_dir: Path, pending: Sequence[RunSpec]) -> dict[str, int]:
    """How many pending runs have a file of the same configuration and replication under
    another key, by reason (``"code"``, ``"scenario"``)."""
    counts: dict[str, int] = {}
    for spec in pending:
        prefix = spec.run_id.rsplit("-", 1)[0]
        for path in sorted(runs_dir.glob(f"{prefix}-*.json")):
            rec = _read_record(path)
            if path.stem == spec.run_id or rec is None or rec.get("status") != "ok":
                continue
            reason = stale_reason(rec, spec.scenario_digest, spec.code_digest)
            counts[reason] = counts.get(reason, 0) + 1
            break
    return counts


def _stale_message(stale: dict[str, int], runs_dir: Path) -> str:
    why = {
        "code": "made by other vsim code (the package's source or its libraries changed)",
        "scenario": "made for another scenario (the file or the swept values changed)",
        "key": "filed under another id",
    }
    parts = [f"{n} {why[reason]}" for reason, n in sorted(stale.items())]
    return (
        f"finished runs in {runs_dir} not reused: {'; '.join(parts)}. They are run again and "
        "left out of the tables; their files stay where they are."
    )


def _param_names(runs: pd.DataFrame, paths: Sequence[str]) -> list[str]:
    return [f"param:{p}" if f"param:{p}" in runs.columns else p for p in paths]


def _read_record(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: run it again


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=1, default=str) + "\n"
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding anything but strings and missing values become strings."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            values = frame[col].dropna()
            if not all(isinstance(v, str) for v in values):
                frame[col] = frame[col].map(lambda v: v if v is None else str(v))
    return frame


def _write_tables(
    out: Path, runs: pd.DataFrame, agg: pd.DataFrame, manifest: dict[str, Any]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("runs", runs), ("aggregate", agg)):
        atomic_write(out / f"{name}.csv", lambda p, f=frame: f.to_csv(p, index=False))
        ready = _parquet_ready(frame)
        atomic_write(out / f"{name}.parquet", lambda p, f=ready: f.to_parquet(p, engine="pyarrow"))
    _write_json(out / MANIFEST_FILE, manifest)


def is_sweep_dir(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a sweep's tables (rather than one run's results)."""
    folder = Path(folder)
    return (folder / "aggregate.csv").is_file() and (folder / "runs.csv").is_file()


def read_sweep(folder: str | os.PathLike[str]) -> SweepResult:
    """Read the tables of a sweep folder written by :func:`sweep`."""
    folder = Path(folder)
    if not is_sweep_dir(folder):
        raise FileNotFoundError(f"not a sweep folder (no runs.csv and aggregate.csv): {folder}")

    def table(name: str) -> pd.DataFrame:
        parquet = folder / f"{name}.parquet"
        if parquet.is_file():
            return pd.read_parquet(parquet, engine="pyarrow")
        return pd.read_csv(folder / f"{name}.csv")

    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.is_file() else {}
    runs, agg = table("runs"), table("aggregate")
    params = manifest.get("params")
    if params is None:  # columns between "config" and "runs" in the aggregate
        cols = list(agg.columns)
        params = cols[cols.index("config") + 1 : cols.index("runs")]
    names = _param_names(runs, params)
    if not any(c.endswith("_saturated") for c in agg.columns):
        agg = aggregate_runs(runs, names)  # written before saturation was counted: redo it
    return SweepResult(runs, agg, names, manifest, folder)


# Re-exported for callers that catch bad input from a sweep.
__all__ += ["ScenarioError"]


# --------------------------------------------------------------------------------------------
# Command-line helpers


def _split_values(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: ``1,[2,3],'a,b'`` -> 3 values."""
    values, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            values.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    values.append("".join(cur))
    return values


def parse_single_sets(items: Sequence[str], command: str) -> dict[str, Any]:
    """``--set`` items of a command that runs once: :func:`parse_sets` with one value each."""
    grid = parse_sets(items)
    several = [p for p, values in grid.items() if len(values) != 1]
    if several:
        raise ValueError(f"--set {several[0]}: {command} takes one value; vsim sweep runs several")
    return {path: values[0] for path, values in grid.items()}


def parse_sets(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["scheduler.overcommit.cpu=1,1.5,2", ...]`` -> a grid; values are read as YAML.

    Raises ``ValueError`` naming the item when it is not ``path=v1,v2,...`` or names a path twice.
    """
    import yaml

    grid: dict[str, list[Any]] = {}
    for item in items:
        path, sep, rest = item.partition("=")
        path = path.strip()
        if not sep or not path or not rest.strip():
            raise ValueError(f"--set {item!r}: expected PATH=V1,V2,... (e.g. scheduler.policy=a,b)")
        if path in grid:
            raise ValueError(f"--set {path}: given twice; list all its values in one --set")
        values = []
        for raw in _split_values(rest):
            raw = raw.strip()
            if not raw:
                raise ValueError(f"--set {path}: empty value in {rest!r}")
            try:
                values.append(yaml.safe_load(raw))
            except yaml.YAMLError:
                raise ValueError(f"--set {path}: cannot read value {raw!r}") from None
        grid[path] = values
    return grid
