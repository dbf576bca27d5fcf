"""Reader for the CoMon PlanetLab CPU-utilization traces.

These are the traces shipped with CloudSim's examples and used by Beloglazov & Buyya (2012),
"Optimal online deterministic algorithms and adaptive heuristics for energy and performance
efficient dynamic consolidation of virtual machines in Cloud data centers", CCPE 24(13).

Format: a folder (one per day) with one plain-text file per VM; each line holds one integer CPU
utilization in percent (0-99), one line per 5-minute interval, 288 lines per day. Some file names
contain spaces.

Differences from CloudSim, on purpose:

* Files are mapped to series in **sorted** (code-point) order of their names. CloudSim uses the
  order in which the operating system lists the directory, which is not reproducible across
  machines and file systems.
* Line ``k`` is read as the CPU demand over ``[k * interval_s, (k + 1) * interval_s)``, held
  constant (piecewise constant, as CoMon reports interval means). CloudSim interpolates linearly
  between consecutive samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vsim.traces.base import TraceError, UtilizationTrace

__all__ = ["read_planetlab", "read_planetlab_days"]


def _parse_file(path: Path) -> np.ndarray:
    """Parse one trace file into a float64 array of percents; TraceError names file and line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read file: {exc.strerror or exc}") from exc
    lines = data.splitlines()
    # Trailing blank lines are harmless (an extra newline at the end); blank lines in the middle
    # are not skipped, because dropping one would shift every later sample in time.
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise TraceError(f"{path}: file is empty, expected one CPU percent per line")
    try:
        # float() on bytes is the fastest correct parser here (measured: ~0.1 s for the 1052
        # files of a day, faster than np.loadtxt), and accepts "12" as well as "12.0".
        values = np.array([float(x) for x in lines], dtype=np.float64)
    except ValueError:
        # Slow path only on error, to name the first bad line.
        for lineno, raw in enumerate(lines, start=1):
            try:
                float(raw)
            except ValueError:
                text = raw.decode("utf-8", errors="replace").strip()
                what = "empty line" if not text else f"{text!r} is not a number"
                raise TraceError(
                    f"{path}, line {lineno}: {what}; expected a CPU percent (0-100)"
                ) from None
        raise  # unreachable: some line failed above
    bad = ~np.isfinite(values) | (values < 0) | (values > 100)
    if bad.any():
        lineno = int(np.argmax(bad)) + 1
        raise TraceError(
            f"{path}, line {lineno}: {lines[lineno - 1].decode(errors='replace').strip()!r} "
            "is outside 0-100; expected a CPU percent"
        )
    return values


def read_planetlab(
    folder: str | Path, *, interval_s: float = 300.0, limit: int | None = None
) -> UtilizationTrace:
    """Read a PlanetLab (CoMon) trace folder: one file per VM, one CPU percent per line.

    Args:
        folder: folder holding one plain-text file per VM (e.g. ``planetlab/20110303``).
            Hidden files (names starting with ``.``) and sub-folders are ignored.
        interval_s: seconds between samples (5 minutes in the CoMon traces).
        limit: read only the first ``limit`` files in sorted name order (``None``: all).

    Returns:
        A trace with one series per file, named after the file, in sorted name order (CloudSim
        uses directory order instead, which is not reproducible). ``cpu = percent / 100``;
        ``times = k * interval_s``. Memory, disk and network are ``None`` (not in the source).

        Files of unequal length are padded by repeating their last value up to the longest
        file, consistent with "the last sample holds until the end of the run". (All files of
        the published days have exactly 288 lines.)

    Raises:
        TraceError: the folder is missing or holds no trace files, a file is empty, or a line
            is not a number in 0-100 (the message names the file and the 1-based line number).
        ValueError: ``interval_s`` is not positive or ``limit`` is less than 1.
    """
    if not (math.isfinite(interval_s) and interval_s > 0):
        raise ValueError(f"interval_s must be a positive number of seconds, got {interval_s!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 (or None for all files), got {limit!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise TraceError(f"{folder}: not a folder; expected a PlanetLab day folder of trace files")

    paths = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name,
    )
    if not paths:
        raise TraceError(f"{folder}: no trace files found (expected one file per VM)")
    if limit is not None:
        paths = paths[:limit]

    series = [_parse_file(p) for p in paths]
    n_samples = max(s.size for s in series)
    cpu = np.empty((len(series), n_samples), dtype=np.float64)
    for row, s in zip(cpu, series, strict=True):
        row[: s.size] = s
        row[s.size :] = s[-1]  # pad: the last sample holds on (no-op when lengths match)
    cpu /= 100.0

    return UtilizationTrace(
        names=tuple(p.name for p in paths),
        times=np.arange(n_samples, dtype=np.float64) * interval_s,
        cpu=cpu,
    )


def read_planetlab_days(
    folders: list[str | Path], n: int, *, interval_s: float = 300.0
) -> UtilizationTrace:
    """``n`` series drawn from several PlanetLab day folders, an equal share from each.

    Series ``j`` comes from day ``j // share`` (``share = ceil(n / len(folders))``, days in the
    order given), taking that day's files in sorted name order and cycling where the day has
    fewer files than its share. Days of unequal length are padded with their last sample, as
    files are within a day.
    """
    if n < 1 or not folders:
        raise ValueError("read_planetlab_days needs at least one folder and one series")
    share = -(-n // len(folders))
    names: list[str] = []
    days = [read_planetlab(f, interval_s=interval_s) for f in folders[: -(-n // share)]]
    n_samples = max(d.n_samples for d in days)
    # Filled in place, day by day: a fleet's matrix is large (500,000 series of a day take
    # 1.2 GB), and gathering each day's rows and then concatenating them held it twice.
    cpu = np.empty((n, n_samples), dtype=np.float64)
    for d, day in enumerate(days):
        count = min(share, n - d * share)
        idx = np.arange(count) % day.n_series
        block = cpu[d * share : d * share + count]
        block[:, : day.n_samples] = day.cpu[idx]
        block[:, day.n_samples :] = block[:, day.n_samples - 1 : day.n_samples]
        names += [f"{Path(folders[d]).name}/{day.names[i]}" for i in idx]
    return UtilizationTrace(
        names=tuple(names),
        times=np.arange(n_samples, dtype=np.float64) * interval_s,
        cpu=cpu,
    )
