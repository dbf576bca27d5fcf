"""Tests for the generic long-format CSV reader."""

from pathlib import Path

import numpy as np
import pytest

from vsim.traces import TraceError, read_csv_trace


def _csv(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_union_grid_forward_fill_and_order(tmp_path: Path) -> None:
    # web appears first, so it is series 0 even though db has the earliest time.
    path = _csv(
        tmp_path,
        "time,guest,cpu,memory\n"
        "100,web,0.5,0.25\n"
        "0,db,0.1,0.75\n"
        "300,web,0.7,0.5\n"
        "200,db,0.2,0.75\n"
        "400,db,0.3,0.8\n",
    )
    tr = read_csv_trace(path)
    assert tr.names == ("web", "db")
    np.testing.assert_array_equal(tr.times, [0, 100, 200, 300, 400])
    # web: before its first sample (t=0) takes its first value; forward-filled afterwards.
    np.testing.assert_array_equal(tr.cpu[0], [0.5, 0.5, 0.5, 0.7, 0.7])
    np.testing.assert_array_equal(tr.cpu[1], [0.1, 0.1, 0.2, 0.2, 0.3])
    assert tr.memory is not None
    np.testing.assert_array_equal(tr.memory[0], [0.25, 0.25, 0.25, 0.5, 0.5])
    np.testing.assert_array_equal(tr.memory[1], [0.75, 0.75, 0.75, 0.75, 0.8])
    assert tr.disk is None and tr.net is None


def test_percent_unit_optional_columns_and_header_case(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        " Time , Guest ,CPU,disk,net,comment\n0,007,50,1000,2000,ignored\n60,007,25,0,4000.5,x\n",
    )
    tr = read_csv_trace(path, cpu_unit="percent")
    assert tr.names == ("007",)  # guest names stay text
    np.testing.assert_array_equal(tr.times, [0, 60])
    np.testing.assert_array_equal(tr.cpu, [[0.5, 0.25]])
    np.testing.assert_array_equal(tr.disk, [[1000, 0]])
    np.testing.assert_array_equal(tr.net, [[2000, 4000.5]])
    assert tr.memory is None


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = _csv(tmp_path, "time,guest,cpu\n0,a,0.1\n\n60,a,0.2\n\n")
    np.testing.assert_array_equal(read_csv_trace(path).cpu, [[0.1, 0.2]])


def test_missing_required_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "time,guest,memory\n0,a,0.5\n")
    with pytest.raises(TraceError) as info:
        read_csv_trace(path)
    assert "trace.csv" in str(info.value) and "'cpu'" in str(info.value)


@pytest.mark.parametrize(
    ("body", "column", "line", "what"),
    [
        ("0,a,0.1\n60,a,high\n", "cpu", 3, "'high' is not a finite number"),
        ("0,a,0.1\nsoon,a,0.2\n", "time", 3, "'soon'"),
        ("0,a,0.1\n\n60,a,\n", "cpu", 4, "is empty"),  # blank line counted in the line number
        ("0,a,0.1\n60,a,-0.2\n", "cpu", 3, "negative"),
        ("0,a,0.1\n60,,0.2\n", "guest", 3, "is empty"),
    ],
)
def test_bad_cell_names_file_column_and_line(
    tmp_path: Path, body: str, column: str, line: int, what: str
) -> None:
    path = _csv(tmp_path, "time,guest,cpu\n" + body, name="my trace.csv")
    with pytest.raises(TraceError) as info:
        read_csv_trace(path)
    msg = str(info.value)
    assert "my trace.csv" in msg
    assert f"column '{column}'" in msg
    assert f"line {line}" in msg
    assert what in msg


def test_duplicate_sample(tmp_path: Path) -> None:
    path = _csv(tmp_path, "time,guest,cpu\n0,a,0.1\n0,b,0.1\n0,a,0.2\n")
    with pytest.raises(TraceError, match="line 4.*'a' already has a sample"):
        read_csv_trace(path)


@pytest.mark.parametrize(("text", "match"), [("", "empty"), ("time,guest,cpu\n", "no data rows")])
def test_empty_inputs(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(TraceError, match=match):
        read_csv_trace(_csv(tmp_path, text))


def test_missing_file_and_bad_unit(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not found"):
        read_csv_trace(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="cpu_unit"):
        read_csv_trace(_csv(tmp_path, "time,guest,cpu\n0,a,1\n"), cpu_unit="permille")  # type: ignore[arg-type]
