"""Round trip of Result through its output folder, and atomic file writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.experiment.results import Result, atomic_write, read_result


def make_result() -> Result:
    """A small hand-made result: 2 hosts x 3 samples, 2 guests x 3 samples."""
    times = [300.0, 600.0, 900.0]
    hosts = pd.DataFrame(
        {
            "time_s": np.repeat(times, 2),
            "host": ["h0", "h1"] * 3,
            "host_type": ["small", "large"] * 3,
            "cpu_util": [0.5, 0.25, 0.75, 0.0, 1.0, 0.125],
            "mem_util": [0.4, 0.2, 0.6, 0.0, 0.8, 0.1],
            "disk_util": [0.1, 0.0, 0.2, 0.0, 0.3, 0.05],
            "net_util": [0.01, 0.02, 0.03, 0.0, 0.05, 0.06],
            "state": ["on", "on", "on", "off", "on", "failed"],
        }
    )
    guests = pd.DataFrame(
        {
            "time_s": np.repeat(times, 2),
            "guest": ["vm-0", "ct-0"] * 3,
            "kind": ["vm", "container"] * 3,
            "host": ["h0", ""] * 3,
            "state": ["running", "pending"] * 3,
            "cpu_demand_mips": [1000.0, 500.0, 1500.0, 500.0, 2000.0, 500.0],
            "cpu_alloc_mips": [1000.0, 0.0, 1500.0, 0.0, 1800.0, 0.0],
            "mem_bytes": [2.0**31, 2.0**28] * 3,
            "disk_bps": [1e6, 0.0] * 3,
            "net_bps": [1.25e8, 0.0] * 3,
        }
    )
    events = pd.DataFrame(
        {
            "time_s": [0.0, 10.5],
            "kind": ["arrival", "place"],
            "subject": ["vm-0", "vm-0"],
            "detail": ["", "host=h0"],
        }
    )
    summary = pd.Series(
        {
            "hosts": 2,
            "guests": 2,
            "guests_rejected": 0,
            "cpu_util_mean": 0.4375,
            "mem_util_mean": 0.35,
            "unmet_cpu_frac": 0.1 / 3,
            "sim_time_s": 900.0,
            "wall_time_s": 0.0123456789,
            "events": 17,
        },
        dtype=object,
    )
    manifest = {
        "scenario": {"name": "tiny", "hosts": [{"type": "small", "count": 1}]},
        "seed": 42,
        "vsim_version": "0.1.0",
        "out_dir": Path("results") / "tiny",  # not JSON: written with str()
    }
    return Result(
        summary=summary,
        hosts=hosts,
        guests=guests,
        events=events,
        requests=pd.DataFrame(),
        manifest=manifest,
    )


def test_write_creates_expected_files(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    returned = make_result().write(out)
    assert returned == out
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "summary.csv",
        "hosts.parquet",
        "guests.parquet",
        "events.parquet",
        "requests.parquet",
        "migrations.parquet",
        "deployments.parquet",
        "replicas.parquet",
        "services.parquet",
        "analytic.parquet",
        "coresidency.parquet",
        "manifest.json",
        "figures/utilization.png",
        "figures/heatmap_cpu.png",
    }


def test_write_svg_and_no_figures(tmp_path: Path) -> None:
    make_result().write(tmp_path / "svg", formats=("png", "svg"))
    figs = sorted(p.name for p in (tmp_path / "svg" / "figures").iterdir())
    assert figs == ["heatmap_cpu.png", "heatmap_cpu.svg", "utilization.png", "utilization.svg"]

    make_result().write(tmp_path / "none", figures=False)
    assert not (tmp_path / "none" / "figures").exists()


def test_round_trip_frames(tmp_path: Path) -> None:
    res = make_result()
    back = read_result(res.write(tmp_path, figures=False))
    for name in ("hosts", "guests", "events", "requests"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_dtype=True)


def test_run_frames_label_every_row_and_round_trip(tmp_path: Path) -> None:
    # Two hosts of two types: "a" fits only the large one, then "b" fits nowhere, so it holds
    # no host ("").
    sc = scenario(
        [host(name="small", memory="2GiB"), host(name="large", memory="4GiB")],
        [vm("a", memory="3GiB"), vm("b", memory="3GiB")],
        duration=600,
    )
    res = vsim.run(sc)
    g = res.guests
    assert list(g.guest) == ["a", "b"] * 2
    assert list(g.kind) == ["vm"] * 4
    assert list(g.host) == ["large-0", ""] * 2
    assert list(g.state) == ["running", "rejected"] * 2
    assert list(res.hosts.host_type) == ["small", "large"] * 2
    assert list(res.hosts.state) == ["on"] * 4
    back = read_result(res.write(tmp_path, figures=False))
    for name in ("hosts", "guests", "events"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(res, name), check_dtype=True)


def test_round_trip_summary(tmp_path: Path) -> None:
    res = make_result()
    back = read_result(res.write(tmp_path, figures=False))
    assert list(back.summary.index) == list(res.summary.index)
    assert back.summary["hosts"] == 2
    assert isinstance(back.summary["hosts"], int | np.integer)
    assert back.summary["events"] == 17
    # Floats come back exactly, not just approximately.
    assert back.summary["unmet_cpu_frac"] == res.summary["unmet_cpu_frac"]
    assert back.summary["wall_time_s"] == res.summary["wall_time_s"]
    pd.testing.assert_series_equal(back.summary, res.summary, check_index_type=False)

    header = (tmp_path / "summary.csv").read_text().splitlines()[0]
    assert header.split(",") == list(res.summary.index)


def test_round_trip_float_summary_keeps_dtype(tmp_path: Path) -> None:
    res = make_result()
    res.summary = pd.Series({"cpu_util_mean": 0.5, "sim_time_s": 3600.0})
    back = read_result(res.write(tmp_path, figures=False))
    assert back.summary.dtype == np.float64
    pd.testing.assert_series_equal(back.summary, res.summary, check_index_type=False)


def test_manifest_round_trip(tmp_path: Path) -> None:
    res = make_result()
    back = read_result(res.write(tmp_path, figures=False))
    expected = dict(res.manifest, out_dir=str(res.manifest["out_dir"]))
    assert back.manifest == expected
    text = (tmp_path / "manifest.json").read_text()
    assert text.startswith('{\n  "scenario"')  # indent=2, insertion order kept
    # The completion marker comes last: written after every data file.
    assert list(json.loads(text)) == ["scenario", "seed", "vsim_version", "out_dir", "complete"]


def test_read_result_missing_file(tmp_path: Path) -> None:
    make_result().write(tmp_path, figures=False)
    (tmp_path / "requests.parquet").unlink()
    assert read_result(tmp_path).requests.empty
    (tmp_path / "hosts.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="hosts.parquet"):
        read_result(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_result(tmp_path / "nope")


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    atomic_write(target, lambda p: p.write_text("first"))
    atomic_write(target, lambda p: p.write_text("second"))
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    atomic_write(target, lambda p: p.write_text("complete content"))

    def partial_then_fail(p: Path) -> None:
        with open(p, "w") as fh:
            fh.write("half")
            fh.flush()
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        atomic_write(target, partial_then_fail)
    assert target.read_text() == "complete content"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_atomic_write_fresh_path_fails_cleanly(tmp_path: Path) -> None:
    def fail(p: Path) -> None:
        p.write_bytes(b"x")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(tmp_path / "new.bin", fail)
    assert list(tmp_path.iterdir()) == []


def test_plot_accessor_returns_figures() -> None:
    from matplotlib.figure import Figure

    res = make_result()
    assert isinstance(res.plot.utilization(), Figure)
    assert isinstance(res.plot.heatmap(column="mem_util"), Figure)


def test_repr_is_compact() -> None:
    assert repr(make_result()) == (
        "Result(summary=9 metrics, hosts=6 rows, guests=6 rows, events=2 rows, requests=0 rows, "
        "migrations=0 rows, "
        "deployments=0 rows, replicas=0 rows, services=0 rows, analytic=0 rows, coresidency=0 rows)"
    )


def test_import_does_not_load_pyplot() -> None:
    code = (
        "import sys, vsim.experiment.results; "
        "sys.exit(1 if 'matplotlib.pyplot' in sys.modules or 'matplotlib' in sys.modules else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_runs_summary_is_numeric_and_named_after_its_scenario(tmp_path: Path) -> None:
    import vsim
    from tests.helpers import host, scenario, vm

    sc = scenario([host()], [vm("v", None, count=2)], name="numeric")
    res = vsim.run(sc)
    assert res.summary.dtype == np.float64 and res.summary.name == "numeric"
    assert "scenario" not in res.summary.index
    assert res.summary["guests"] == 2 and res.summary["seed"] == sc.seed
    res.summary.describe()  # works on the Series as it is, no conversion
    back = read_result(res.write(tmp_path, figures=False))
    assert (tmp_path / "summary.csv").read_text().startswith("scenario,")
    assert back.summary.name == "numeric" and back.summary.dtype == np.float64
    pd.testing.assert_series_equal(back.summary, res.summary, check_index_type=False)
