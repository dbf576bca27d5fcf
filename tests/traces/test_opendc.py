"""Tests for the OpenDC workload and failure readers and the workload writer."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import shared_data
from vsim.traces import (
    TraceError,
    TraceWindow,
    UtilizationTrace,
    opendc_failures_frame,
    opendc_fragments_frame,
    opendc_tasks_frame,
    read_opendc,
    write_opendc,
)


def _workload(folder: Path, tasks: dict, fragments: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(tasks), folder / "tasks.parquet")
    pq.write_table(pa.table(fragments), folder / "fragments.parquet")
    return folder


def _two_tasks(tmp_path: Path) -> Path:
    # Task 7: 2 cores, 4000 MHz, submitted at 1000 s for 900 s; task 3 at 1300 s for 300 s.
    return _workload(
        tmp_path,
        {
            "id": pa.array([7, 3], pa.int32()),
            "submission_time": pa.array([1_000_000, 1_300_000], pa.int64()),
            "duration": pa.array([900_000, 300_000], pa.int64()),
            "cpu_count": pa.array([2, 1], pa.int32()),
            "cpu_capacity": [4000.0, 1000.0],
            "mem_capacity": pa.array([1024, 2048], pa.int64()),
        },
        {
            "id": pa.array([7, 7, 3, 7], pa.int32()),
            "duration": pa.array([300_000, 300_000, 300_000, 300_000], pa.int64()),
            "cpu_usage": [1000.0, 2000.0, 500.0, 4000.0],
        },
    )


def test_tiny_workload_by_hand(tmp_path: Path) -> None:
    folder = _two_tasks(tmp_path)
    frags = opendc_fragments_frame(folder)
    # Task 7's fragments start at 1000, 1300, 1600 s (the one after task 3's row included).
    np.testing.assert_allclose(frags.loc[frags["id"] == 7, "start_s"], [1000.0, 1300.0, 1600.0])
    w = read_opendc(folder, interval_s=300.0)
    assert w.guests.names == ("7", "3")
    np.testing.assert_allclose(w.guests.vcpu_mhz, [2000.0, 1000.0])
    np.testing.assert_allclose(w.guests.memory, [1024 * 1024, 2048 * 1024])
    np.testing.assert_allclose(w.guests.start, [0.0, 300.0])
    np.testing.assert_allclose(w.guests.stop, [np.inf, 600.0])
    np.testing.assert_allclose(w.demand.cpu[0], [0.25, 0.5, 1.0])
    np.testing.assert_allclose(w.demand.cpu[1], [0.5, 0.5, 0.5])
    assert w.demand.memory is None and w.demand.net is None  # OpenDC has no such series


def test_errors_name_file_row_and_column(tmp_path: Path) -> None:
    folder = _two_tasks(tmp_path)
    pq.write_table(pa.table({"id": pa.array([9], pa.int32())}), folder / "fragments.parquet")
    with pytest.raises(TraceError, match=r"fragments\.parquet: missing column\(s\) \['duration'"):
        read_opendc(folder)
    pq.write_table(
        pa.table({"id": pa.array([9], pa.int32()), "duration": [1], "cpu_usage": [1.0]}),
        folder / "fragments.parquet",
    )
    with pytest.raises(TraceError, match=r"row 0: id 9 is not in tasks\.parquet"):
        read_opendc(folder)
    (folder / "tasks.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(TraceError, match=r"tasks\.parquet: not a Parquet file"):
        read_opendc(folder)
    with pytest.raises(TraceError, match="file not found"):
        read_opendc(tmp_path / "absent")


def test_failure_trace_by_hand_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "f.parquet"
    pq.write_table(
        pa.table(
            {
                "failure_interval": [0, 3_600_000, 600_000],
                "failure_duration": [60_000, 120_000, 30_000],
                "failure_intensity": [1.0, 0.5, 0.25],
            }
        ),
        path,
    )
    f = opendc_failures_frame(path)
    np.testing.assert_allclose(f["start_s"], [0.0, 3600.0, 4200.0])
    np.testing.assert_allclose(f["end_s"], [60.0, 3720.0, 4230.0])
    pq.write_table(
        pa.table({"failure_interval": [0], "failure_duration": [1], "failure_intensity": [1.5]}),
        path,
    )
    with pytest.raises(TraceError, match=r"row 0, column 'failure_intensity': 1\.5 is above 1"):
        opendc_failures_frame(path)


def test_write_then_read_gives_back_the_series(tmp_path: Path) -> None:
    trace = UtilizationTrace(
        names=("a", "b"), times=[0.0, 300.0, 600.0], cpu=[[0.1, 0.5, 0.2], [1.0, 0.0, 0.3]]
    )
    write_opendc(
        tmp_path,
        trace,
        vcpus=np.array([2.0, 1.0]),
        vcpu_mhz=np.array([2000.0, 2500.0]),
        memory=np.array([2**30, 2**31]),
        start=np.array([0.0, 300.0]),
        epoch_s=1.6e9,
    )
    w = read_opendc(tmp_path, interval_s=300.0)
    np.testing.assert_allclose(w.guests.vcpus, [2.0, 1.0])
    np.testing.assert_allclose(w.guests.vcpu_mhz, [2000.0, 2500.0])
    np.testing.assert_allclose(w.guests.memory, [2**30, 2**31])
    np.testing.assert_allclose(w.guests.start, [0.0, 300.0])
    np.testing.assert_allclose(w.demand.cpu[0], [0.1, 0.5, 0.2])
    np.testing.assert_allclose(w.demand.cpu[1, 1:], [0.0, 0.3])


def test_real_bitbrains_small_values_read_by_hand() -> None:
    folder = shared_data("opendc-traces", "bitbrains-small")
    tasks = opendc_tasks_frame(folder)
    assert len(tasks) == 50
    first = tasks.iloc[0]  # id 1019: submitted 1376314546000 ms, 2590786000 ms, 1 core
    assert first["id"] == 1019 and first["submit_s"] == 1376314546.0
    assert first["duration_s"] == 2590786.0 and first["cpu_count"] == 1
    assert first["memory_bytes"] == 181352 * 1024
    frags = opendc_fragments_frame(folder, tasks)
    assert len(frags) == 276979
    own = frags[frags["id"] == 1019]
    assert own["cpu_mhz"].iloc[1] == pytest.approx(11.703998)
    assert own["start_s"].iloc[1] == 1376314546.0 + 300.0
    w = read_opendc(folder, tasks=["1019"], window=TraceWindow(end=600.0))
    # Fragments 0 and 1 of task 1019: 0 and 11.703998 MHz over 300 s each, of 2926.000135 MHz.
    np.testing.assert_allclose(w.demand.cpu[0], [0.0, 11.703998 / 2926.000135], rtol=1e-6)


def test_real_surf_week_and_failures() -> None:
    w = read_opendc(shared_data("opendc-traces", "surf-week"), tasks=100, interval_s=300.0)
    assert len(w.guests) == 100
    np.testing.assert_allclose(w.guests.vcpus, 16)
    np.testing.assert_allclose(w.guests.vcpu_mhz, 33600 / 16)
    f = opendc_failures_frame(
        shared_data("opendc-traces", "failure", "Github_user_reported.parquet")
    )
    assert len(f) == 68
    # Rows 0 and 1: (0, 4800000, 1.0) and (291600000, 2400000, 0.124224) in ms.
    np.testing.assert_allclose(f["start_s"].iloc[:2], [0.0, 291600.0])
    np.testing.assert_allclose(f["duration_s"].iloc[:2], [4800.0, 2400.0])
