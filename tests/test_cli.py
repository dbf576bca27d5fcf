"""What the ``vsim`` command says about rejected guests and saturated metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers import host, vm
from vsim.cli import main


def queue(rate: float = 0.5, count: int = 1) -> dict:
    """One single-core host; ``count`` service VMs of 3 GiB in analytic mode (an M/M/1 queue
    of mean service 1 s): a rate at or above 1/s saturates, and only one VM fits in 4 GiB."""
    service = {
        "kind": "service",
        "mode": "analytic",
        "arrivals": {"process": "poisson", "rate": rate},
        "cpu": {"dist": "exponential", "mean": 1000},
        "workers": 1,
    }
    return {
        "name": "queue",
        "seed": 3,
        "duration": 6000,
        "sample_interval": 600,
        "datacenter": {"host_types": [host(cores=1, memory="4GiB")]},
        "workloads": {"svc": service},
        "guests": [vm("s", "svc", memory="3GiB", count=count)],
    }


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "queue.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sweep_warns_of_saturation_and_rejection_and_shows_both(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["sweep", str(write(tmp_path, queue())), "--out", str(out), "--quiet", "-j", "1"]
    argv += ["--set", "workloads.svc.arrivals.rate=0.5,1.5", "--set", "guests.0.count=1,3"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    printed, err = captured.out, captured.err
    assert "latency_s_p99_median" in printed and "latency_s_p99_saturated" in printed
    assert "guests_rejected_mean" in printed
    saturation = [line for line in err.splitlines() if "latency_s_p99," in line]
    assert len(saturation) == 1  # the latency columns that saturate together: one line
    line = saturation[0]
    assert line.startswith("warning: ") and "latency_s_p50, latency_s_p95, latency_s_p99" in line
    assert "workloads.svc.arrivals.rate=1.5, guests.0.count=1 (1 of 1 runs)" in line
    assert "rate=0.5" not in line
    rejected = [line for line in err.splitlines() if "rejected" in line]
    assert len(rejected) == 1 and "2 of 4 configurations" in rejected[0]
    assert "guests.0.count=3: 2 of 3 (by no room 2)" in rejected[0]
    agg = pd.read_csv(out / "aggregate.csv")
    assert list(agg["latency_s_p99_saturated"]) == [0, 0, 1, 1]


def test_sweep_without_saturation_or_rejection_warns_of_nothing(tmp_path, capsys):
    argv = ["sweep", str(write(tmp_path, queue())), "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*argv, "-j", "1", "--set", "workloads.svc.arrivals.rate=0.2,0.5"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(("rate", "count"), [(1.5, 3), (0.5, 1)])
def test_run_warns_of_rejected_guests_and_saturated_metrics(tmp_path, capsys, rate, count):
    path = write(tmp_path, queue(rate, count))
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    err = capsys.readouterr().err
    if count == 1:
        assert err == ""
        return
    assert "warning: 2 of 3 guests were rejected" in err
    assert "latency_s_p99" in err and "saturated (inf)" in err


def test_plot_of_a_sweep_draws_the_saturated_metrics_marked(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["sweep", str(write(tmp_path, queue())), "--out", str(out), "--quiet", "-j", "1"]
    assert main([*argv, "--set", "workloads.svc.arrivals.rate=0.5,0.9,1.5"]) == 0
    assert main(["plot", str(out)]) == 0
    names = {p.name for p in (out / "figures").iterdir()}
    assert "saturation_latency_s_p99_vs_workloads_svc_arrivals_rate.png" in names
    assert "curve_unmet_cpu_frac_vs_workloads_svc_arrivals_rate.png" in names
    assert "saturation_energy_kwh_vs_workloads_svc_arrivals_rate.png" not in names


def test_version_on_the_command_line_and_in_python(capsys):
    import vsim

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"vsim {vsim.__version__}"
    from importlib.metadata import version

    assert vsim.__version__ == version("vsim")


def test_run_takes_set_and_seed(tmp_path, capsys):
    import json

    path, out = write(tmp_path, queue()), tmp_path / "r"
    argv = ["run", str(path), "--out", str(out), "--quiet"]
    assert main([*argv, "--set", "workloads.svc.arrivals.rate=0.9", "--seed", "7"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["scenario"]["workloads"]["svc"]["arrivals"]["rate"] == 0.9
    capsys.readouterr()
    assert main([*argv, "--set", "workloads.svc.arrivals.rat=0.9"]) == 1
    assert "workloads.svc.arrivals.rat" in capsys.readouterr().err
    assert main([*argv, "--set", "workloads.svc.arrivals.rate=0.5,0.9"]) == 1
    assert "vsim sweep" in capsys.readouterr().err
    assert main([*argv, "--set", "scheduler.overcommit.cpu=-1"]) == 1
    assert "scheduler.overcommit.cpu" in capsys.readouterr().err


def test_run_prints_the_used_sections_with_units_and_the_files(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(write(tmp_path, queue(0.5))), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    titles = [line for line in printed.splitlines() if line and not line.startswith(" ")]
    assert titles[:5] == ["capacity", "guests", "latency", "energy", "run"]
    assert "migrations" not in titles and "cost" not in titles and "availability" not in titles
    lines = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line[:2] == "  "}
    assert lines["cpu_util_mean"] == ["50", "%"]  # half the core: rate 0.5/s of 1 s each
    assert lines["latency_s_mean"] == ["2", "s"]  # M/M/1: 1 / (1 - 0.5)
    assert lines["energy_kwh"][1] == "kWh"
    assert f"files written to {out}/:" in printed
    for name in ("summary.csv", "migrations.parquet", "manifest.json", "figures/utilization.png"):
        assert f"  {name}\n" in printed


def test_dask_local_prints_its_dashboard_address(tmp_path, capsys):
    pytest.importorskip("bokeh")
    argv = ["sweep", str(write(tmp_path, queue())), "--out", str(tmp_path / "o"), "--quiet"]
    argv += ["--set", "workloads.svc.arrivals.rate=0.2,0.5", "--dask-local", "-j", "1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "Dask dashboard: http://127.0.0.1:" in err
    manifest = pd.read_json(tmp_path / "o" / "manifest.json", typ="series")
    assert manifest["executor"] == "dask"


def test_run_warning_names_the_rule_that_rejected_guests(tmp_path, capsys):
    data = queue(0.5, 1)
    data["datacenter"]["host_types"][0]["count"] = 2
    data["guests"][0].update(count=3, memory="1GiB", anti_affinity="one-per-host")
    assert main(["run", str(write(tmp_path, data)), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "1 of 3 guests were rejected and never ran: 1 by anti-affinity rule 'one-per-host'" in (
        err
    )
    # The summary counts them by kind, and prints only the kinds that happened.
    assert "guests_rejected_by_anti_affinity  1" in captured.out
    assert "guests_rejected_by_room" not in captured.out


def test_plot_of_a_sweep_is_steered_by_metric_x_hue_and_target(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["sweep", str(write(tmp_path, queue())), "--out", str(out), "--quiet", "-j", "1"]
    argv += ["--set", "workloads.svc.arrivals.rate=0.2,0.5", "--set", "guests.0.count=1,2"]
    assert main(argv) == 0
    plot = ["plot", str(out), "--metric", "cpu_util_mean", "--x", "workloads.svc.arrivals.rate"]
    assert main([*plot, "--hue", "guests.0.count", "--target", "cpu_util_mean<0.4"]) == 0
    names = {p.name for p in (out / "figures").glob("curve_*.png")}
    assert names == {"curve_cpu_util_mean_vs_workloads_svc_arrivals_rate.png"}
    assert main(["plot", str(out), "--x", "nope"]) == 1
    assert "'nope' is not a swept parameter" in capsys.readouterr().err
    assert main(["plot", str(out), "--target", "cpu_util_mean=0.4"]) == 1
    assert "expected METRIC<VALUE" in capsys.readouterr().err
