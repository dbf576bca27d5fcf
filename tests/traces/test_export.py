"""Export a run as traces, read them back: the same series."""

from pathlib import Path

import numpy as np
import pytest

import vsim
from tests.helpers import host, scenario, vm
from vsim.cli import main
from vsim.traces import read_csv_trace, read_opendc
from vsim.traces.export import export_run, run_series


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> vsim.experiment.Result:
    sc = scenario(
        [host(count=2, cores=4)],
        [
            vm("a", "w", vcpus=2, memory="2GiB"),
            vm("b", "w", vcpus=1, memory="1GiB", start=600),
            vm("c", "w", vcpus=1, memory="15GiB", count=2),  # c-1 finds no host: rejected
        ],
        {
            "w": {
                "kind": "diurnal",
                "mean": 0.5,
                "amplitude": 0.3,
                "period": 3600,
                "memory": 0.25,
                "net": 1000,
            }
        },
        duration=1800,
        sample_interval=300,
    )
    out = tmp_path_factory.mktemp("run")
    vsim.run(sc, out=out)
    return vsim.experiment.read_result(out)


def test_series_are_fractions_of_each_guest(result) -> None:
    trace, guests = run_series(result)
    g = result.guests
    row = g[(g["guest"] == "a") & (g["time_s"] == 300.0)].iloc[0]
    assert trace.names[0] == "a" and trace.times[0] == 0.0
    assert trace.cpu[0, 0] == pytest.approx(row["cpu_demand_mips"] / 2000.0)
    assert trace.memory[0, 0] == pytest.approx(0.25)
    assert guests.set_index("guest").loc["b", "start_s"] == 600.0
    assert np.isnan(guests.set_index("guest").loc["c-1", "start_s"])  # never placed


def test_csv_round_trip(result, tmp_path: Path) -> None:
    trace, _ = run_series(result, "utilization")
    path = export_run(result, tmp_path / "run.csv", to="csv", series="utilization")[0]
    back = read_csv_trace(path)
    assert back.names == trace.names
    np.testing.assert_array_equal(back.times, trace.times)
    for field in ("cpu", "memory", "disk", "net"):
        np.testing.assert_array_equal(getattr(back, field), getattr(trace, field))


def test_opendc_round_trip(result, tmp_path: Path) -> None:
    trace, guests = run_series(result)
    export_run(result, tmp_path / "odc", to="opendc")
    back = read_opendc(tmp_path / "odc", interval_s=300.0)
    # Tasks 0, 1, 2 are a, b, c-0 (c-1 never ran), read back in submission order.
    assert back.guests.names == ("0", "2", "1")
    np.testing.assert_allclose(back.guests.vcpus, [2, 1, 1])
    np.testing.assert_allclose(back.guests.start, [0.0, 0.0, 600.0])
    np.testing.assert_allclose(back.demand.cpu[0], trace.cpu[0], rtol=1e-12)
    # b lives from 600 s: its series from there on is the run's.
    np.testing.assert_allclose(back.demand.cpu[2, 2:], trace.cpu[1, 2:], rtol=1e-12)


def test_cli_export(result, tmp_path: Path, capsys) -> None:
    result.write(tmp_path / "res")
    assert (
        main(["export", str(tmp_path / "res"), "--to", "csv", "--out", str(tmp_path / "x.csv")])
        == 0
    )
    assert (tmp_path / "x.csv").is_file()
    assert main(["export", str(tmp_path / "none"), "--to", "csv", "--out", "y.csv"]) == 1
    assert "result folder not found" in capsys.readouterr().err
