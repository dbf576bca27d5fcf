"""Tests for the Bitbrains GWA-T-12 reader: hand-made folders and the real Rnd sample."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import shared_data
from vsim.traces import TraceError, TraceWindow, bitbrains_frame, read_bitbrains

HEADER = (
    "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\t"
    "CPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\t"
    "Disk read throughput [KB/s];\tDisk write throughput [KB/s];\t"
    "Network received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n"
)


def _row(t, cores, cap, use, mem_cap, mem, dr=0.0, dw=0.0, rx=0.0, tx=0.0) -> str:
    pct = 100 * use / cap if cap else 0.0
    return ";\t".join(map(str, (t, cores, cap, use, pct, mem_cap, mem, dr, dw, rx, tx))) + "\n"


def _write(folder: Path, files: dict[str, str], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for vm, body in files.items():
        data = (HEADER + body).encode()
        if gz:
            (folder / f"{vm}.csv.gz").write_bytes(gzip.compress(data))
        else:
            (folder / f"{vm}.csv").write_bytes(data)
    return folder


def test_tiny_folder_by_hand(tmp_path: Path) -> None:
    t = 1_372_629_804
    folder = _write(
        tmp_path,
        {
            "2": _row(t, 2, 5000.0, 1000.0, 4096, 1024, dr=1, dw=3, rx=2, tx=2)
            + _row(t + 300, 2, 5000.0, 3000.0, 4096, 2048),
            "10": _row(t + 300, 1, 2000.0, 500.0, 2048, 2048),
        },
    )
    w = read_bitbrains(folder, interval_s=300.0)
    assert w.guests.names == ("2", "10")  # numeric ids sort as numbers
    np.testing.assert_allclose(w.guests.vcpus, [2, 1])
    np.testing.assert_allclose(w.guests.vcpu_mhz, [2500.0, 2000.0])
    np.testing.assert_allclose(w.guests.memory, [4096 * 1024, 2048 * 1024])
    # VM 10 arrives at its first row, 300 s after the trace starts; both stay to the end.
    np.testing.assert_allclose(w.guests.start, [0.0, 300.0])
    assert np.isinf(w.guests.stop).all()
    d = w.demand
    np.testing.assert_allclose(d.times, [0.0, 300.0])
    np.testing.assert_allclose(d.cpu[0], [1000 / 5000, 3000 / 5000])
    np.testing.assert_allclose(d.memory[0], [0.25, 0.5])
    np.testing.assert_allclose(d.disk[0, 0], 4 * 1024)  # (1 + 3) KiB/s
    np.testing.assert_allclose(d.net[0, 0], 4 * 1024)
    np.testing.assert_allclose(d.cpu[1], [0.25, 0.25])


def test_resampling_keeps_the_work_and_window_shifts_time(tmp_path: Path) -> None:
    rows = "".join(_row(1000 + 300 * k, 1, 1000.0, 100.0 * k, 1024, 0) for k in range(4))
    folder = _write(tmp_path, {"1": rows}, gz=False)
    w = read_bitbrains(folder, interval_s=600.0)
    np.testing.assert_allclose(w.demand.cpu[0], [0.05, 0.25])  # (0+100)/2, (200+300)/2 MHz
    w = read_bitbrains(folder, window=TraceWindow(start=300.0, end=900.0), interval_s=300.0)
    np.testing.assert_allclose(w.demand.times, [0.0, 300.0])
    np.testing.assert_allclose(w.demand.cpu[0], [0.1, 0.2])
    assert np.isinf(w.guests.stop[0])


def test_zero_core_rows_and_repeated_timestamps_are_dropped(tmp_path: Path) -> None:
    t = 1_000_000
    body = (
        _row(t, 0, 0.0, 0.0, 0, 0)
        + _row(t + 300, 1, 1000.0, 100.0, 1024, 0)
        + _row(t + 300, 1, 1000.0, 900.0, 1024, 0)
        + _row(t + 600, 1, 1000.0, 200.0, 1024, 0)
    )
    frame = bitbrains_frame(_write(tmp_path, {"1": body}))
    np.testing.assert_allclose(frame["cpu_usage_mhz"], [100.0, 200.0])


@pytest.mark.parametrize(
    "body, message",
    [
        ("1;\t2;\t3\n", r"1\.csv\.gz, line 2: 3 fields, expected 11"),
        (_row(1, 1, 1.0, 1.0, 1, 1).replace(";\t1.0;", ";\tabc;", 1), r"line 2, field 3 .*'abc'"),
        (_row(5, 1, 1.0, 1.0, 1, 1) + _row(4, 1, 1.0, 1.0, 1, 1), r"line 3: timestamp goes back"),
        (_row(5, 1, 1.0, -1.0, 1, 1), r"line 2, field 4 \(cpu_usage_mhz\): is negative"),
        ("", r"no data rows"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        read_bitbrains(_write(tmp_path, {"1": body}))


def test_bad_header_and_truncated_gzip(tmp_path: Path) -> None:
    (tmp_path / "1.csv").write_text("time;cpu\n1;2\n")
    with pytest.raises(TraceError, match=r"1\.csv, line 1: not a Bitbrains GWA-T-12 header"):
        read_bitbrains(tmp_path)
    (tmp_path / "1.csv").unlink()
    data = gzip.compress((HEADER + _row(1, 1, 1.0, 1.0, 1, 1) * 50).encode())
    (tmp_path / "2.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(TraceError, match=r"2\.csv\.gz: not a complete gzip file"):
        read_bitbrains(tmp_path)
    with pytest.raises(TraceError, match="not a folder"):
        read_bitbrains(tmp_path / "absent")


def test_real_rnd_sample_values_read_by_hand() -> None:
    folder = shared_data("bitbrains-rnd", "2013-7")
    frame = bitbrains_frame(folder, vms=["1"])
    # 2013-7/1.csv.gz has 8261 lines (one header); all rows have cores > 0.
    assert len(frame) == 8260
    first, last = frame.iloc[0], frame.iloc[-1]
    assert first["time_s"] == 1372629804  # Unix seconds despite the "[ms]" header
    assert first["cores"] == 2 and first["cpu_capacity_mhz"] == pytest.approx(5851.9989)
    assert first["cpu_usage_mhz"] == pytest.approx(87.7799835)
    assert first["memory_capacity_bytes"] == 8218624.0 * 1024
    assert last["time_s"] == 1375221457
    assert last["net_tx_bps"] == pytest.approx(30.4 * 1024)
    w = read_bitbrains(folder, vms=["1"], window=TraceWindow(end=3600.0))
    # The largest provisioned memory of VM 1 is 8388608 KB = 8 GiB.
    assert w.guests.memory[0] == 8 * 2**30
    assert w.guests.vcpu_mhz[0] == pytest.approx(5851.9989 / 2)
    # First 5-minute interval: the first row (t0) holds for 300 s: 87.78 MHz of 5851.9989.
    assert w.demand.cpu[0, 0] == pytest.approx(87.7799835 / 5851.9989)
    assert w.demand.n_samples == 12


def test_real_rnd_sample_all_500_vms() -> None:
    folder = shared_data("bitbrains-rnd", "2013-7")
    w = read_bitbrains(folder)
    # 30 days of 5-minute intervals: 2013-06-30 22:03 to 2013-07-30 22:00 (+ one step).
    assert len(w.guests) == 500 and w.demand.cpu.shape == (500, 8640)
    # README: vCPU counts 1 (228 VMs), 4 (115), 2 (95), 8 (56), 32 (3), 6 (2), 16 (1).
    values, counts = np.unique(w.guests.vcpus, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        1: 228,
        2: 95,
        4: 115,
        6: 2,
        8: 56,
        16: 1,
        32: 3,
    }


def test_parsed_rows_are_cached_until_the_file_changes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VSIM_CACHE", str(tmp_path / "cache"))
    folder = _write(tmp_path / "vms", {"1": _row(0, 1, 1000.0, 100.0, 1024, 0) * 1})
    first = bitbrains_frame(folder)
    assert len(list((tmp_path / "cache").glob("bitbrains-*.arrow"))) == 1
    assert bitbrains_frame(folder).equals(first)  # from the cache
    _write(tmp_path / "vms", {"1": _row(0, 1, 1000.0, 250.5, 1024, 0)})  # another size
    assert bitbrains_frame(folder)["cpu_usage_mhz"].tolist() == [250.5]  # parsed again
    monkeypatch.setenv("VSIM_CACHE", "off")
    assert bitbrains_frame(folder)["cpu_usage_mhz"].tolist() == [250.5]


def test_cache_entry_without_the_cpu_percent_is_replaced_for_the_frame(
    tmp_path: Path, monkeypatch
) -> None:
    """read_bitbrains does not parse the CPU percent; the frame, which has it, parses it then."""
    monkeypatch.setenv("VSIM_CACHE", str(tmp_path / "cache"))
    t = 1_000_000
    body = _row(t, 2, 2000.0, 500.0, 1024, 512) + _row(t + 300, 2, 2000.0, 1500.0, 1024, 256)
    folder = _write(tmp_path / "vms", {"7": body})
    w = read_bitbrains(folder)
    np.testing.assert_allclose(w.demand.cpu[0], [0.25, 0.75])
    frame = bitbrains_frame(folder)  # the entry lacked cpu_usage_pct: parsed again
    np.testing.assert_allclose(frame["cpu_usage_pct"], [25.0, 75.0])
    assert len(list((tmp_path / "cache").glob("bitbrains-*.arrow"))) == 1
    again = read_bitbrains(folder)  # from the full entry, the same numbers
    assert np.array_equal(again.demand.cpu, w.demand.cpu)
    assert np.array_equal(again.demand.memory, w.demand.memory)


def test_read_ignores_the_cpu_percent_the_frame_checks_it(tmp_path: Path) -> None:
    body = _row(5, 1, 1000.0, 100.0, 1024, 0).replace(";\t10.0;", ";\tn/a%;", 1)
    folder = _write(tmp_path, {"1": body})
    assert read_bitbrains(folder).demand.cpu[0, 0] == pytest.approx(0.1)
    with pytest.raises(TraceError, match=r"line 2, field 5 \(cpu_usage_pct\): 'n/a%'"):
        bitbrains_frame(folder)


def test_real_millisecond_timestamps_become_seconds(tmp_path: Path) -> None:
    t = 1_372_629_804_000  # ms: above 1e11, so taken as milliseconds
    body = "".join(_row(t + 300_000 * k, 1, 1000.0, 100.0 * (k + 1), 1024, 0) for k in range(3))
    frame = bitbrains_frame(_write(tmp_path, {"1": body}))
    np.testing.assert_array_equal(
        frame["time_s"], [1_372_629_804.0, 1_372_630_104.0, 1_372_630_404.0]
    )
