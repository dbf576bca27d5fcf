"""The result of one simulation run, and its on-disk form.

A run's output folder holds::

    summary.csv        one row of headline metrics, columns in the order of Result.summary
    hosts.parquet      tidy per (sample, host) rows
    guests.parquet     tidy per (sample, guest) rows
    events.parquet     one row per recorded event
    requests.parquet   one row per request (may be empty)
    migrations.parquet one row per migration (may be empty)
    deployments.parquet per (record time, deployment): desired, ready, pending... (may be empty)
    replicas.parquet   one row per deployment replica: version, requests sent, served
    coresidency.parquet per (change, attack): victims co-resident now and ever, attacker VMs
    manifest.json      resolved scenario, seed, vsim version, ...
    figures/           utilization.png, heatmap_cpu.png (and other formats on request)

Every file is written through :func:`atomic_write`, so an interrupted run never leaves a
half-written file under its final name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vsim._io import atomic_write

if TYPE_CHECKING:
    from collections.abc import Iterable

    from vsim.plot import ResultPlots

__all__ = ["Result", "read_result", "atomic_write"]

SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Tables stored as Parquet, in the order they are written.
TABLES: tuple[str, ...] = (
    "hosts",
    "guests",
    "events",
    "requests",
    "migrations",
    "deployments",
    "replicas",
    "coresidency",
)
#: Tables that may be missing on disk (read back as empty frames).
OPTIONAL_TABLES: frozenset[str] = frozenset(
    {"requests", "migrations", "deployments", "replicas", "coresidency"}
)


@dataclass(eq=False, repr=False)
class Result:
    """Everything one simulation run produced.

    Attributes:
        summary: one row of headline metrics; the index holds the metric names.
        hosts: tidy frame, one row per (sample, host).
        guests: tidy frame, one row per (sample, guest).
        events: one row per recorded event.
        requests: one row per request (empty when the model records none).
        deployments: per record time and deployment, replicas by status and version, load,
            utilization and latency (empty without deployments).
        replicas: one row per replica that ran: requests the balancer sent it, served, time up.
        coresidency: per change of co-residency and attack, the victims co-resident now and
            ever, the attacker's VMs on hosts (empty without attacks).
        manifest: JSON-serialisable description of the run (scenario, seed, version, ...).
    """

    summary: pd.Series
    hosts: pd.DataFrame
    guests: pd.DataFrame
    events: pd.DataFrame
    requests: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: dict[str, Any] = field(default_factory=dict)
    migrations: pd.DataFrame = field(default_factory=pd.DataFrame)
    deployments: pd.DataFrame = field(default_factory=pd.DataFrame)
    replicas: pd.DataFrame = field(default_factory=pd.DataFrame)
    coresidency: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def plot(self) -> ResultPlots:
        """Figure accessor: ``res.plot.utilization()``, ``res.plot.heatmap("cpu_util")``."""
        # Imported here so that loading results does not pull in matplotlib.
        from vsim.plot import ResultPlots

        return ResultPlots(self)

    def write(
        self,
        out_dir: str | os.PathLike[str],
        *,
        figures: bool = True,
        formats: Iterable[str] = ("png",),
    ) -> Path:
        """Write every part of the result into ``out_dir`` (created with its parents).

        Args:
            out_dir: output folder.
            figures: also render ``figures/utilization.*`` and ``figures/heatmap_cpu.*``.
            formats: figure file formats, e.g. ``("png", "svg")``.

        Returns:
            ``out_dir`` as a :class:`~pathlib.Path`.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)

        summary_row = pd.DataFrame([self.summary.to_dict()], columns=list(self.summary.index))
        atomic_write(out / SUMMARY_FILE, lambda p: summary_row.to_csv(p, index=False))

        for name in TABLES:
            frame: pd.DataFrame = getattr(self, name)
            atomic_write(
                out / f"{name}.parquet",
                lambda p, frame=frame: frame.to_parquet(p, engine="pyarrow"),
            )

        text = json.dumps(self.manifest, indent=2, sort_keys=False, default=str) + "\n"
        atomic_write(out / MANIFEST_FILE, lambda p: p.write_text(text, encoding="utf-8"))

        if figures:
            from vsim.plot import save_figures

            save_figures(self, out / FIGURES_DIR, formats=tuple(formats))
        return out

    def __repr__(self) -> str:
        parts = [f"summary={len(self.summary)} metrics"]
        parts += [f"{name}={len(getattr(self, name))} rows" for name in TABLES]
        return f"Result({', '.join(parts)})"


def read_result(out_dir: str | os.PathLike[str]) -> Result:
    """Read a result folder written by :meth:`Result.write`.

    Figures are not read. A missing ``requests.parquet`` reads as an empty frame; any
    other missing file raises :class:`FileNotFoundError` naming it.
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"result folder not found: {folder}")

    summary = _read_summary(_require(folder / SUMMARY_FILE))

    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if name in OPTIONAL_TABLES and not path.exists():
            tables[name] = pd.DataFrame()
        else:
            tables[name] = pd.read_parquet(_require(path), engine="pyarrow")

    manifest = json.loads(_require(folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return Result(summary=summary, manifest=manifest, **tables)


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"result file missing: {path}")
    return path


def _read_summary(path: Path) -> pd.Series:
    """Turn the one-row ``summary.csv`` back into a Series.

    When every column has the same dtype the Series gets that dtype (e.g. float64);
    otherwise it is an object Series whose values keep their own type (int, float, str).
    """
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:  # a summary without metrics
        return pd.Series(dtype=object)
    if len(frame) != 1:
        raise ValueError(f"{path}: expected exactly one data row, found {len(frame)}")
    if frame.columns.size and frame.dtypes.nunique() == 1:
        series = frame.iloc[0].copy()
    else:
        series = pd.Series(frame.astype(object).iloc[0].tolist(), index=frame.columns, dtype=object)
    series.name = None
    return series
