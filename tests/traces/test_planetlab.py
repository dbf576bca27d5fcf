"""Tests for the PlanetLab (CoMon) reader."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks.common import planetlab_day
from vsim.traces import TraceError, read_planetlab


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_tiny_folder_exact(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "day",
        {
            "node_b slice": "10\n20\n30\n",  # space in the name, as in the real data
            "node_a": "0\n99\n5\n",
            "node_c": "7\n7\n50",  # no final newline
        },
    )
    tr = read_planetlab(folder)
    assert tr.names == ("node_a", "node_b slice", "node_c")
    np.testing.assert_array_equal(tr.times, [0.0, 300.0, 600.0])
    expected = np.array([[0, 99, 5], [10, 20, 30], [7, 7, 50]]) / 100.0
    np.testing.assert_array_equal(tr.cpu, expected)
    assert tr.memory is None and tr.disk is None and tr.net is None


def test_interval_limit_and_hidden_files(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"b": "1\n2\n", "a": "3\n4\n", ".DS_Store": "junk"})
    (tmp_path / "subdir").mkdir()
    tr = read_planetlab(folder, interval_s=60.0, limit=1)
    assert tr.names == ("a",)
    np.testing.assert_array_equal(tr.times, [0.0, 60.0])
    np.testing.assert_array_equal(tr.cpu, [[0.03, 0.04]])


def test_unequal_lengths_padded_with_last_value(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"long": "1\n2\n3\n4\n", "short": "8\n9\n\n"})
    tr = read_planetlab(folder)
    np.testing.assert_array_equal(tr.cpu, np.array([[1, 2, 3, 4], [8, 9, 9, 9]]) / 100.0)


def test_crlf_line_endings(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "x").write_bytes(b"1\r\n2\r\n")
    np.testing.assert_array_equal(read_planetlab(folder).cpu, [[0.01, 0.02]])


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("1\n2\nabc\n4\n", 3, "'abc' is not a number"),
        ("1\n\n3\n", 2, "empty line"),
        ("1\n-3\n", 2, "outside 0-100"),
        ("1\n2\n3\n101\n", 4, "outside 0-100"),
        ("nan\n", 1, "outside 0-100"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    folder = _write(tmp_path, {"good": "1\n2\n3\n4\n", "bad file": text})
    with pytest.raises(TraceError) as info:
        read_planetlab(folder)
    msg = str(info.value)
    assert "bad file" in msg
    assert f"line {line}" in msg
    assert what in msg


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no trace files"):
        read_planetlab(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"empty": "\n"})
    with pytest.raises(TraceError, match="file is empty"):
        read_planetlab(folder)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="not a folder"):
        read_planetlab(tmp_path / "nope")


def test_bad_arguments(tmp_path: Path) -> None:
    folder = _write(tmp_path, {"a": "1\n"})
    with pytest.raises(ValueError, match="interval_s"):
        read_planetlab(folder, interval_s=0)
    with pytest.raises(ValueError, match="limit"):
        read_planetlab(folder, limit=0)


def test_real_day_20110303_matches_published_statistics() -> None:
    day = planetlab_day("20110303")  # VSIM_DATA, else shared/data beside the repository
    if day is None:
        pytest.skip("PlanetLab traces not found (set VSIM_DATA)")
    tr = read_planetlab(day)
    # Workload table of Beloglazov & Buyya (2012), CCPE 24(13), and the data README:
    # 1052 VMs, 288 samples, mean 12.31 %, population stdev 17.09 %.
    assert tr.cpu.shape == (1052, 288)
    assert tr.times[-1] == 287 * 300.0
    assert tr.cpu.mean() * 100 == pytest.approx(12.31, abs=0.01)
    assert tr.cpu.std() * 100 == pytest.approx(17.09, abs=0.01)
    q1, median, q3 = np.percentile(tr.cpu * 100, [25, 50, 75])
    assert (q1, median, q3) == (2, 6, 15)
    assert tr.cpu.min() == 0.0 and tr.cpu.max() == pytest.approx(0.99)
    assert list(tr.names) == sorted(tr.names)
    assert sum(" " in n for n in tr.names) == 50  # names with a space, per the README


def test_days_mixed_in_equal_shares(tmp_path: Path) -> None:
    from vsim.traces import read_planetlab_days

    d1 = _write(tmp_path / "d1", {"a": "10\n20\n", "b": "30\n40\n"})
    d2 = _write(tmp_path / "d2", {"c": "50\n60\n70\n"})
    tr = read_planetlab_days([d1, d2], 5)
    # share = ceil(5 / 2) = 3: d1 gives a, b, a; d2 gives c, c (padded to 3 samples).
    assert tr.names == ("d1/a", "d1/b", "d1/a", "d2/c", "d2/c")
    np.testing.assert_array_equal(tr.cpu[1], [0.3, 0.4, 0.4])
    np.testing.assert_array_equal(tr.cpu[4], [0.5, 0.6, 0.7])
