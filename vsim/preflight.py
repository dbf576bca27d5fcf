"""Checks the command line makes before a run's clock starts, and what it does with a bug.

``vsim validate`` and ``vsim run`` share them, so that whatever validate approves, run can
start: every trace a workload reads is parsed, the engine is built (not run), and the output
location is usable. An exception that is none of vsim's input errors is a bug in vsim: the
user gets one line and the traceback goes to a file.
"""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

from vsim.scenario import Scenario, ScenarioError
from vsim.scenario.units import parse_bytes
from vsim.traces import TraceError


def memory_limit(text: str | None) -> float | None:
    """The ``--memory-limit`` flag: a size such as ``8GiB`` (``None``: available memory)."""
    if text is None:
        return None
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise ScenarioError(f"--memory-limit: {exc}") from None


def check_out_location(out: Path) -> None:
    """Refuse an output location under a file, before simulating. (What may already be at
    ``out`` itself is :func:`vsim.experiment.results.check_output_folder`'s to decide.)"""
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ScenarioError(f"{out}: --out lies under {parent}, which is a file")
            break


def check_traces(sc: Scenario, source: str) -> None:
    """Read every PlanetLab and CSV trace a workload of ``sc`` reads when the run starts; a bad
    one raises ``ScenarioError`` naming the scenario file, the workload's field and the line.
    (The other real-trace kinds are read while the scenario is validated.)"""
    from vsim import traces
    from vsim.scenario import schema

    for name, wl in sc.workloads.items():
        try:
            if isinstance(wl, schema.PlanetLabWorkload) and wl.path is not None:
                traces.read_planetlab(wl.path, interval_s=wl.interval)
            elif isinstance(wl, schema.CsvWorkload):
                traces.read_csv_trace(wl.path, cpu_unit=wl.cpu_unit)
            elif isinstance(wl, schema.PlanetLabWorkload) and wl.days is not None:
                n = sum(g.count for g in sc.guests if g.workload == name)
                traces.read_planetlab_days(wl.days, max(n, 1), interval_s=wl.interval)
        except (TraceError, UnicodeDecodeError, OSError) as exc:
            raise ScenarioError(f"{source}: workloads.{name}.path: {exc}") from None


def dry_build(sc: Scenario, source: str) -> None:
    """Everything ``vsim run`` does before the clock starts: traces read, engine built."""
    from vsim.model.build import build_simulation

    check_traces(sc, source)
    try:
        build_simulation(sc)
    except (TraceError, ScenarioError) as exc:
        raise in_file(exc, source) from None


def in_file(exc: Exception, source: str) -> ScenarioError:
    """An input error raised while a run is built, as ``file: field.path: message``."""
    text = str(exc)
    return ScenarioError(text if text.startswith(f"{source}:") else f"{source}: {text}")


def report_bug(exc: BaseException, out: Path | None) -> str:
    """Save the traceback of an unexpected exception (in ``out`` when it is a folder, else a
    temporary file); the one line to print."""
    text = "".join(traceback.format_exception(exc))
    if out is not None and out.is_dir():
        path = out / "vsim-error.txt"
        path.write_text(text, encoding="utf-8")
    else:
        with tempfile.NamedTemporaryFile(
            "w", prefix="vsim-error-", suffix=".txt", delete=False, encoding="utf-8"
        ) as f:
            f.write(text)
            path = Path(f.name)
    return (
        f"internal error: this is a bug in vsim ({type(exc).__name__}: {exc}); "
        f"the traceback is in {path}; please report it"
    )
