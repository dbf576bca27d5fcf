"""Tests for the SWF reader, on files written by hand from the format's definition."""

from pathlib import Path

import numpy as np
import pytest

from vsim.traces import TraceError, TraceWindow, read_swf, swf_frame

# Fields: job submit wait run procs cpu_time mem req_procs req_time req_mem status user group
# executable queue partition preceding think.
SWF = """; Version: 2.2
; Computer: hand-made example
; MaxProcs: 8
1 0 10 100 4 50 1024 4 200 -1 1 1 1 1 1 1 -1 -1
2 30 0 60 -1 -1 -1 2 100 2048 1 2 1 1 1 1 -1 -1

3 40 5 -1 1 -1 -1 1 100 -1 0 1 1 1 1 1 -1 -1
4 500 0 20 1 20 512 1 20 512 1 1 1 1 1 1 -1 -1
"""


def test_jobs_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "log.swf"
    path.write_text(SWF)
    frame = swf_frame(path)
    assert len(frame) == 4 and frame.attrs["header"][2] == "MaxProcs: 8"
    assert frame["line"].tolist() == [4, 5, 7, 8]
    w = read_swf(path)
    assert w.guests.names == ("1", "2", "4")  # job 3 has no run time
    assert w.dropped["no_run_time_or_processors"] == 1
    np.testing.assert_allclose(w.guests.vcpus, [4, 2, 1])  # job 2: requested processors
    # used memory, else requested, KB per processor x processors
    np.testing.assert_allclose(w.guests.memory, [1024 * 1024 * 4, 2048 * 1024 * 2, 512 * 1024])
    np.testing.assert_allclose(w.guests.start, [0, 30, 500])
    np.testing.assert_allclose(w.guests.stop, [100, 90, 520])
    np.testing.assert_allclose(w.guests.cpu_used, [0.5, np.nan, 1.0])
    split = read_swf(path, guest_cores=3)  # job 1 on 4 processors: 2 guests of 2
    np.testing.assert_array_equal(split.guests.count, [2, 1, 1])
    np.testing.assert_allclose(split.guests.vcpus, [2, 2, 1])
    np.testing.assert_allclose(split.guests.memory[0], 1024 * 1024 * 2)
    late = read_swf(path, arrival="start", window=TraceWindow(5.0, 100.0))
    np.testing.assert_allclose(late.guests.start, [5.0, 25.0])  # job 1 starts at 0 + 10
    np.testing.assert_allclose(late.guests.stop, [np.inf, 85.0])


@pytest.mark.parametrize(
    "line, message",
    [
        ("5 1 2 3\n", r"line 9: 4 fields, an SWF job line has 18"),
        ("5 1 2 x 1 -1 -1 1 1 -1 1 1 1 1 1 1 -1 -1\n", r"line 9, field 4 \(run_s\): 'x'"),
    ],
)
def test_bad_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.swf"
    path.write_text(SWF + line)
    with pytest.raises(TraceError, match=message):
        read_swf(path)


def test_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "empty.swf"
    path.write_text("; only a header\n")
    with pytest.raises(TraceError, match="no job lines"):
        swf_frame(path)
