"""The result of one simulation run, and its on-disk form.

A run's output folder holds::

    summary.csv        one row: ``scenario`` (the name), then the headline metrics in the
                       order of Result.summary
    hosts.parquet      tidy per (sample, host) rows
    guests.parquet     tidy per (sample, guest) rows
    events.parquet     one row per recorded event
    requests.parquet   one row per request (may be empty)
    migrations.parquet one row per migration (may be empty)
    deployments.parquet per (record time, deployment): desired, ready, pending... (may be empty)
    replicas.parquet   one row per deployment replica: version, requests sent, served
    services.parquet   one row per service workload: requests, latency, SLO share, saturation
    analytic.parquet   per (sample, guest) of analytic services: requests, utilization, mean
    coresidency.parquet per (change, attack): victims co-resident now and ever, attacker VMs
    manifest.json      resolved scenario, seed, vsim version, ...
    figures/           utilization.png, heatmap_cpu.png (and other formats on request)

The folder is written whole: every file goes into a fresh temporary folder beside it, which is
renamed into place as the last step (:func:`~vsim._io.replace_folder`), so a run killed while
writing leaves the previous result untouched and never a mixture of two runs. The manifest holds
the completion marker: its ``complete`` entry, written last, holds the sha256 of every data
file (``files``) and the digest of the code that made them (``code_digest``);
:func:`read_result` refuses a folder whose files do not match. An existing result folder is
replaced as a whole; a non-empty folder that is not a vsim result is refused unless
``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vsim._io import atomic_write, replace_folder

if TYPE_CHECKING:
    from collections.abc import Iterable

    from vsim.plot import ResultPlots

__all__ = [
    "IncompleteResultError",
    "OutputFolderError",
    "Result",
    "atomic_write",
    "check_output_folder",
    "is_result_dir",
    "numeric_summary",
    "read_result",
]

SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"
FIGURES_DIR = "figures"
#: Manifest key of the completion marker: ``{"code_digest": ..., "files": {name: sha256}}``.
MARKER = "complete"
#: Tables stored as Parquet, in the order they are written.
TABLES: tuple[str, ...] = (
    "hosts",
    "guests",
    "events",
    "requests",
    "migrations",
    "deployments",
    "replicas",
    "services",
    "analytic",
    "coresidency",
)
#: Tables that may be missing on disk (read back as empty frames).
OPTIONAL_TABLES: frozenset[str] = frozenset(
    {"requests", "migrations", "deployments", "replicas", "services", "analytic", "coresidency"}
)


@dataclass(eq=False, repr=False)
class Result:
    """Everything one simulation run produced.

    Attributes:
        summary: the headline metrics as float64, the index holding their names; the
            scenario's name is the Series' ``name`` (not a value, so that the Series stays
            numeric: ``res.summary.describe()``, arithmetic and comparisons just work).
        hosts: tidy frame, one row per (sample, host).
        guests: tidy frame, one row per (sample, guest).
        events: one row per recorded event.
        requests: one row per request (empty when the model records none).
        deployments: per record time and deployment, replicas by status and version, load,
            utilization and latency (empty without deployments).
        replicas: one row per replica that ran: requests the balancer sent it, served, time up.
        services: one row per service workload, in either mode: requests, throughput, latency
            mean and percentiles, SLO and the share beyond it, share of saturated requests.
        analytic: per sampling interval and guest of analytic services: requests, utilization,
            mean response time (``inf`` when saturated); empty without analytic services.
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
    services: pd.DataFrame = field(default_factory=pd.DataFrame)
    analytic: pd.DataFrame = field(default_factory=pd.DataFrame)
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
        force: bool = False,
    ) -> Path:
        """Write every part of the result into ``out_dir`` (created with its parents), as a whole.

        Args:
            out_dir: output folder; an earlier result there is replaced as a whole.
            figures: also render ``figures/utilization.*`` and ``figures/heatmap_cpu.*``.
            formats: figure file formats, e.g. ``("png", "svg")``.
            force: replace ``out_dir`` even when it is a non-empty folder that is not a result.

        Returns:
            ``out_dir`` as a :class:`~pathlib.Path`.

        Raises:
            OutputFolderError: ``out_dir`` is a file, or a non-empty folder that is not a vsim
                result and ``force`` is false.
        """
        out = Path(out_dir)
        check_output_folder(out, force=force)
        fill = lambda tmp: self._write_files(tmp, figures=figures, formats=formats)  # noqa: E731
        return replace_folder(out, fill)

    def _write_files(self, out: Path, *, figures: bool, formats: Iterable[str]) -> None:
        """Every file of the result into the (new, empty) folder ``out``; the manifest last."""
        row = self.summary.to_dict()
        columns = list(self.summary.index)
        if self.summary.name is not None and "scenario" not in row:
            row, columns = {"scenario": self.summary.name, **row}, ["scenario", *columns]
        summary_row = pd.DataFrame([row], columns=columns)
        atomic_write(out / SUMMARY_FILE, lambda p: summary_row.to_csv(p, index=False))

        for name in TABLES:
            frame: pd.DataFrame = getattr(self, name)
            atomic_write(
                out / f"{name}.parquet",
                lambda p, frame=frame: frame.to_parquet(p, engine="pyarrow"),
            )

        if figures:
            from vsim.plot import save_figures

            save_figures(self, out / FIGURES_DIR, formats=tuple(formats))

        from vsim.experiment.cache import code_digest

        files = [SUMMARY_FILE, *(f"{name}.parquet" for name in TABLES)]
        marker = {"code_digest": code_digest(), "files": {f: _sha256(out / f) for f in files}}
        text = json.dumps({**self.manifest, MARKER: marker}, indent=2, default=str) + "\n"
        atomic_write(out / MANIFEST_FILE, lambda p: p.write_text(text, encoding="utf-8"))

    def __repr__(self) -> str:
        parts = [f"summary={len(self.summary)} metrics"]
        parts += [f"{name}={len(getattr(self, name))} rows" for name in TABLES]
        return f"Result({', '.join(parts)})"


class OutputFolderError(FileExistsError):
    """The output location holds something a run must not replace (without ``force``)."""


class IncompleteResultError(ValueError):
    """A result folder's files do not match its manifest: interrupted, mixed or edited."""


def is_result_dir(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a vsim run's result (its manifest and summary)."""
    folder = Path(folder)
    return (folder / MANIFEST_FILE).is_file() and (folder / SUMMARY_FILE).is_file()


def check_output_folder(out: str | os.PathLike[str], *, force: bool = False) -> None:
    """Raise :class:`OutputFolderError` unless a run may write its result folder at ``out``:
    nothing there, an empty folder, an earlier vsim result (replaced whole), or ``force``.
    Cheap: call it before simulating, so that a refusal costs nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{out}: exists and is not a folder; choose another --out")
    if force or not out.is_dir() or is_result_dir(out):
        return
    if any(out.iterdir()):
        raise OutputFolderError(
            f"{out}: a non-empty folder that is not a vsim result; choose another --out, or "
            "give --force to replace the folder and everything in it"
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_complete(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists has its digest (older results list none; a missing file
    is the reader's to report, as for them)."""
    for name, digest in (manifest.get(MARKER) or {}).get("files", {}).items():
        path = folder / name
        if path.is_file() and _sha256(path) != digest:
            raise IncompleteResultError(
                f"{folder}: {name} does not belong to this result (its digest differs from the "
                "manifest's): the folder was changed after the run wrote it; run it again"
            )


def read_result(out_dir: str | os.PathLike[str]) -> Result:
    """Read a result folder written by :meth:`Result.write`.

    Figures are not read. A missing ``requests.parquet`` reads as an empty frame; any
    other missing file raises :class:`FileNotFoundError` naming it. A data file whose digest
    differs from the one the manifest recorded raises :class:`IncompleteResultError`.
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"result folder not found: {folder}")
    manifest = json.loads(_require(folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    _check_complete(folder, manifest)
    manifest.pop(MARKER, None)  # the folder's, not the run's: Result.write adds a fresh one

    summary = _read_summary(_require(folder / SUMMARY_FILE))

    tables: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if name in OPTIONAL_TABLES and not path.exists():
            tables[name] = pd.DataFrame()
        else:
            tables[name] = pd.read_parquet(_require(path), engine="pyarrow")
    return Result(summary=summary, manifest=manifest, **tables)


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"result file missing: {path}")
    return path


def _read_summary(path: Path) -> pd.Series:
    """Turn the one-row ``summary.csv`` back into a Series, its ``scenario`` column the
    Series' name.

    When every column has the same dtype the Series gets that dtype (e.g. float64);
    otherwise it is an object Series whose values keep their own type (int, float, str).
    """
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:  # a summary without metrics
        return pd.Series(dtype=object)
    if len(frame) != 1:
        raise ValueError(f"{path}: expected exactly one data row, found {len(frame)}")
    name = None
    if "scenario" in frame.columns:
        name = str(frame.pop("scenario").iloc[0])
    if frame.columns.size and frame.dtypes.nunique() == 1:
        series = frame.iloc[0].copy()
    else:
        series = pd.Series(frame.astype(object).iloc[0].tolist(), index=frame.columns, dtype=object)
    series.name = name
    return series


def numeric_summary(summary: pd.Series, name: str | None) -> pd.Series:
    """A run's summary as float64 (counts and flags as numbers), named after its scenario;
    ``ValueError`` naming a value that is not a number (a controller's summary must be)."""
    values = {}
    for key, value in summary.items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"summary column {key!r} is not a number: {value!r}") from None
    return pd.Series(values, dtype=np.float64, name=name)
