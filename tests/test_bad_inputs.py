"""Bad input at the command line: a clear ``file: field.path: message``, exit 1, no traceback,
nothing written to ``--out``; each case as ``vsim validate`` and as ``vsim run`` (issue 20).

The cases are the adversarial trial's: sizes without bound, inputs validate approved but run
crashed on, an ``--out`` that is a file, and inputs accepted silently. A bug in vsim itself
(an exception that is no input error) exits 3 with one line and the traceback in a file.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

import vsim.experiment.run  # noqa: F401  (patched by the bug test)
import vsim.model.build  # noqa: F401
from vsim.cli import main

BASE = {
    "duration": "1h",
    "sample_interval": "5m",
    "datacenter": {"host_types": [{"name": "std", "count": 2, "cores": 4, "memory": "16GiB"}]},
    "workloads": {"web": {"kind": "constant", "cpu": 0.5}},
    "guests": [{"name": "g", "count": 2, "memory": "2GiB", "workload": "web"}],
}
SERVICE = {
    "kind": "service",
    "arrivals": {"process": "poisson", "rate": 2.0},
    "cpu": 10,
}


def scenario(**changes) -> dict:
    """BASE with dotted paths set: ``scenario(**{"datacenter.host_types.0.count": 0})``."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = data
        *parts, last = dotted.split(".")
        for part in parts:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[int(last) if isinstance(node, list) else last] = value
    return data


def _write(folder: Path, name: str, content: object) -> None:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is None:
        path.mkdir()
    else:
        path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")


def cli(tmp_path: Path, files: dict, *argv: str, capsys) -> tuple[int, str, str]:
    """Write ``files`` (name -> dict, text, bytes, or None for a folder) into ``tmp_path`` and
    run ``vsim argv``; exit status, stdout, stderr."""
    for name, content in files.items():
        _write(tmp_path, name, content)
    try:
        code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _csv_scenario(path: str, kind: str = "csv") -> dict:
    return scenario(**{"workloads.web": {"kind": kind, "path": path}})


def _service(**arrivals) -> dict:
    svc = {**SERVICE, "arrivals": {**SERVICE["arrivals"], **arrivals}}
    return scenario(**{"workloads.web": svc})


#: name -> (files, extra arguments, words the message must contain). The scenario is s.yaml.
BAD = {
    # Point 1: sizes without bound, refused from arithmetic on counts (no list is built).
    "host_count_1e12": (
        {"s.yaml": scenario(**{"datacenter.host_types.0.count": 10**12})},
        [],
        ["datacenter.host_types[].count", "--memory-limit"],
    ),
    "guest_count_1e12": (
        {"s.yaml": scenario(**{"guests.0.count": 10**12})},
        [],
        ["guests[].count", "--memory-limit"],
    ),
    "duration_1e12s": (
        {"s.yaml": scenario(duration="1e12s")},
        ["--memory-limit", "8GiB"],
        ["sample_interval", "8 GiB"],
    ),
    "sample_interval_1ms_over_a_day": (
        {"s.yaml": scenario(duration="1d", sample_interval="1ms")},
        ["--memory-limit", "8GiB"],
        ["sample_interval", "output.guests: false"],
    ),
    "recorded_requests": (
        {"s.yaml": _service(rate=1e5) | {"duration": "1d", "sample_interval": "1h"}},
        ["--memory-limit", "8GiB"],
        ["requests", "record"],
    ),
    "memory_limit_flag_refuses": (
        {"s.yaml": BASE},
        ["--memory-limit", "1MiB"],
        ["--memory-limit", "limit of"],
    ),
    "memory_limit_unreadable": ({"s.yaml": BASE}, ["--memory-limit", "lots"], ["--memory-limit"]),
    # A driver domain pinned on every core would leave the guests none (issue 21).
    "driver_domain_pins_every_core": (
        {
            "s.yaml": scenario(
                **{"datacenter.host_types.0.driver_domain": {"vcpus": 4, "pinned": True}}
            )
        },
        [],
        ["datacenter.host_types[0]", "driver_domain.vcpus", "no core for guests"],
    ),
    "driver_domain_unknown_field": (
        {"s.yaml": scenario(**{"datacenter.host_types.0.driver_domain": {"cores": 1}})},
        [],
        ["datacenter.host_types[0].driver_domain.cores"],
    ),
    # Point 2: what validate approved and run crashed on.
    "host_type_count_0": (
        {"s.yaml": scenario(**{"datacenter.host_types.0.count": 0})},
        [],
        ["datacenter.host_types[0].count", "at least 1"],
    ),
    "csv_trace_not_a_number": (
        {"s.yaml": _csv_scenario("t.csv"), "t.csv": "time,guest,cpu\n0,g-0,0.5\n300,g-0,abc\n"},
        [],
        ["workloads.web.path", "t.csv", "line 3"],
    ),
    "csv_trace_empty": (
        {"s.yaml": _csv_scenario("t.csv"), "t.csv": ""},
        [],
        ["workloads.web.path", "t.csv", "empty"],
    ),
    "csv_trace_header_only": (
        {"s.yaml": _csv_scenario("t.csv"), "t.csv": "time,guest,cpu\n"},
        [],
        ["workloads.web.path", "t.csv"],
    ),
    "csv_trace_not_utf8": (
        {"s.yaml": _csv_scenario("t.csv"), "t.csv": b"time,guest,cpu\n0,g\xff\xfe,0.5\n"},
        [],
        ["workloads.web.path", "t.csv"],
    ),
    "planetlab_folder_empty": (
        {"s.yaml": _csv_scenario("pl", kind="planetlab"), "pl": None},
        [],
        ["workloads.web.path", "pl"],
    ),
    "scenario_not_utf8": ({"s.yaml": b"duration: 1h\nname: \xff\xfe\n"}, [], ["UTF-8"]),
    "failure_trace_unknown_host": (
        {
            "s.yaml": scenario(failures={"trace": "f.csv"}),
            "f.csv": "host,fail_time,repair_time\nnope-3,100,200\n",
        },
        [],
        ["failures.trace", "nope-3"],
    ),
    "scheduled_failure_unknown_host": (
        {"s.yaml": scenario(failures={"scheduled": [{"host": "nope-7", "at": "10m"}]})},
        [],
        ["failures.scheduled[0].host", "nope-7"],
    ),
    "set_host_count_0": (
        {"s.yaml": BASE},
        ["--set", "datacenter.host_types.0.count=0"],
        ["datacenter.host_types[0].count"],
    ),
    # Point 6: accepted silently before.
    "empty_file": ({"s.yaml": ""}, [], ["file is empty"]),
    "negative_size": (
        {"s.yaml": scenario(**{"guests.0.memory": "-2GiB"})},
        [],
        ["guests[0].memory", "must not be negative"],
    ),
    "negative_bare_size": (
        {"s.yaml": scenario(**{"guests.0.memory": -2})},
        [],
        ["guests[0].memory", "must not be negative"],
    ),
    "duplicate_guest_group": (
        {"s.yaml": scenario(guests=[BASE["guests"][0], BASE["guests"][0]])},
        [],
        ["guests[1].name", "used twice"],
    ),
    "scenario_is_a_folder": ({"s.yaml": None}, [], ["is a folder"]),
    "cluster_autoscaler_unknown_host_type": (
        {"s.yaml": scenario(cluster_autoscaler={"host_type": "big"})},
        [],
        ["cluster_autoscaler.host_type", "'big'", "allowed: std"],
    ),
    "cluster_autoscaler_without_deployments": (
        {"s.yaml": scenario(cluster_autoscaler={"host_type": "std"})},
        [],
        ["cluster_autoscaler", "there are none"],
    ),
    "cluster_autoscaler_initial_above_count": (
        {"s.yaml": scenario(cluster_autoscaler={"host_type": "std", "initial": 3})},
        [],
        ["cluster_autoscaler.initial", "exceeds the 2 hosts"],
    ),
}


def _deployment(spread: str = "host", **dep) -> dict:
    """A deployment of the service workload (``dep``: fields of the deployment)."""
    template = {"vcpus": 1, "memory": "1GiB", "workload": "web"}
    entry = {"name": "api", "template": template, "spread": spread, **dep}
    return scenario(**{"workloads.web": SERVICE}, guests=[], deployments=[entry])


BAD |= {
    "vertical_mode": (
        {"s.yaml": _deployment(vertical={"mode": "auto"})},
        [],
        ["deployments[0].vertical.mode", "in_place"],
    ),
    "vertical_fights_cpu_hpa": (
        {"s.yaml": _deployment(vertical={}, autoscale={"target": 0.6, "max_replicas": 3})},
        [],
        ["deployments[0]", "vertical", "autoscale.metric"],
    ),
    "vertical_max_vcpus_above_every_host": (
        {"s.yaml": _deployment(vertical={"max_vcpus": 8})},
        [],
        ["deployments[0] (api).vertical.max_vcpus", "more than any host offers (4)"],
    ),
    "vertical_min_above_max": (
        {"s.yaml": _deployment(vertical={"min_vcpus": 2, "max_vcpus": 1})},
        [],
        ["deployments[0].vertical", "min_vcpus (2) exceeds max_vcpus (1)"],
    ),
    "vertical_unknown_resource": (
        {"s.yaml": _deployment(vertical={"resources": ["disk"]})},
        [],
        ["deployments[0].vertical.resources", "cpu", "memory"],
    ),
    "spread_rack_without_racks": (
        {"s.yaml": _deployment(spread="rack")},
        [],
        ["deployments[0] (api).spread", "network.topology", "two_tier"],
    ),
    "spread_unknown": (
        {"s.yaml": _deployment(spread="zone")},
        [],
        ["deployments[0].spread", "rack"],
    ),
    "anti_affinity_by_rack_without_label": (
        {"s.yaml": scenario(**{"guests.0.anti_affinity_by": "rack"})},
        [],
        ["guests[0] (g).anti_affinity_by", "has none"],
    ),
}
# Every number finite unless documented: each of these was accepted (and .inf arrivals hung).
INFINITE = {
    "duration": {"duration": ".inf"},
    "duration_1e400s": {"duration": "1e400s"},
    "sample_interval": {"sample_interval": "1e400s"},
    "diurnal_period": {
        "workloads.web": {"kind": "diurnal", "mean": 0.5, "amplitude": 0.2, "period": ".inf"}
    },
    "phase_spread": {
        "workloads.web": {
            "kind": "diurnal",
            "mean": 0.5,
            "amplitude": 0.2,
            "phase_spread": "1e400s",
        }
    },
    "sigma": {"workloads.web": {"kind": "random_walk", "start": 0.5, "sigma": ".inf"}},
    "cpu_shares": {"guests.0.cpu_shares": ".inf"},
    "core_mips": {"datacenter.host_types.0.core_mips": ".inf"},
    "arrival_rate": {
        "workloads.web": {**SERVICE, "arrivals": {"process": "poisson", "rate": ".inf"}}
    },
    "nan": {"guests.0.vcpu_mips": ".nan"},
}
BAD["timeslice_policy"] = (
    {"s.yaml": scenario(**{"scheduler.cpu": "lottery"})},
    [],
    ["scheduler.cpu", "fluid", "timeslice"],
)
BAD["timeslice_quantum"] = (
    {"s.yaml": scenario(**{"scheduler.cpu": "timeslice", "scheduler.timeslice.quantum": "0ms"})},
    [],
    ["scheduler.timeslice.quantum", "greater than 0"],
)
BAD["timeslice_refill"] = (
    {
        "s.yaml": scenario(
            **{
                "scheduler.cpu": "timeslice",
                "scheduler.timeslice.quantum": "1ms",
                "scheduler.timeslice.cache_refill": "2ms",
            }
        )
    },
    [],
    ["scheduler.timeslice", "cache_refill", "shorter than the quantum"],
)
FIELD_OF = {
    "duration": "duration",
    "duration_1e400s": "duration",
    "sample_interval": "sample_interval",
    "diurnal_period": "workloads.web.period",
    "phase_spread": "workloads.web.phase_spread",
    "sigma": "workloads.web.sigma",
    "cpu_shares": "guests[0].cpu_shares",
    "core_mips": "datacenter.host_types[0].core_mips",
    "arrival_rate": "workloads.web.arrivals.rate",
    "nan": "guests[0].vcpu_mips",
}
for _name, _changes in INFINITE.items():
    _text = yaml.safe_dump(scenario(**_changes)).replace("'.inf'", ".inf").replace("'.nan'", ".nan")
    BAD[f"infinite_{_name}"] = ({"s.yaml": _text}, [], [FIELD_OF[_name], "finite"])


def _argv(command: str, extra: list[str]) -> list[str]:
    argv = [command, "{tmp}/s.yaml", *extra]
    if command == "run":
        argv += ["--out", "{tmp}/out", "--quiet"]
    elif "--set" in extra:  # validate takes no --set: the sweep checks its values up front
        argv = ["sweep", "{tmp}/s.yaml", *extra, "--out", "{tmp}/out", "--quiet"]
    return argv


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_a_clear_error(case, command, tmp_path, capsys):
    files, extra, words = BAD[case]
    code, _, err = cli(tmp_path, files, *_argv(command, extra), capsys=capsys)
    assert code == 1, err
    assert "Traceback" not in err
    assert "s.yaml" in err or case.startswith("memory_limit_unreadable"), err
    for word in words:
        assert word in err, err
    assert not (tmp_path / "out").exists()


def test_bounded_validation_of_huge_counts_builds_no_names(tmp_path, capsys):
    """Refused before any list as long as the count exists: within a 4 GiB address space a
    list of 1e12 names (tens of TB) fails at once with MemoryError, so a clean exit 1 here
    means it was never built."""
    resource = pytest.importorskip("resource")
    import subprocess

    _write(tmp_path, "s.yaml", scenario(**{"guests.0.count": 10**12}))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]

    code = (
        "import resource, sys; from vsim.cli import main; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({4 * 2**30}, {hard})); "
        f"sys.exit(main(['validate', {str(tmp_path / 's.yaml')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "guests[].count" in done.stderr and "Traceback" not in done.stderr


def test_out_that_is_a_file_is_refused_before_simulating(tmp_path, capsys):
    (tmp_path / "out").write_text("keep me")
    code, _, err = cli(
        tmp_path, {"s.yaml": BASE}, "run", "{tmp}/s.yaml", "--out", "{tmp}/out", capsys=capsys
    )
    assert code == 1 and "--out" in err and "Traceback" not in err
    assert (tmp_path / "out").read_text() == "keep me"


def test_sweep_values_are_each_checked_up_front(tmp_path, capsys):
    argv = ["sweep", "{tmp}/s.yaml", "--set", "datacenter.host_types.0.count=8,0"]
    code, _, err = cli(tmp_path, {"s.yaml": BASE}, *argv, "--out", "{tmp}/out", capsys=capsys)
    assert code == 1 and "count=0" in err and "at least 1" in err
    assert not (tmp_path / "out").exists()


def test_jobs_0_is_refused(tmp_path, capsys):
    argv = ["sweep", "{tmp}/s.yaml", "--set", "seed=1,2", "--jobs", "0", "--out", "{tmp}/out"]
    code, _, err = cli(tmp_path, {"s.yaml": BASE}, *argv, capsys=capsys)
    assert code == 1 and "--jobs must be at least 1" in err
    assert not (tmp_path / "out").exists()


#: Legitimate but suspicious input: a warning naming the field, and the run goes ahead.
WARN = {
    "event_after_the_end": (
        scenario(events=[{"at": "2h", "action": "stop", "guest": "g-0"}]),
        ["warning: events[0].at", "after the end"],
    ),
    "size_without_unit": (
        scenario(**{"guests.0.memory": 64}),
        ["guest group 'g': memory 64 has no unit", "64 bytes"],
    ),
    "sample_interval_longer_than_duration": (
        scenario(sample_interval="2h"),
        ["warning: sample_interval (7200 s) is longer than duration (3600 s)", "one sample"],
    ),
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", sorted(WARN))
def test_suspicious_input_warns(case, command, tmp_path, capsys):
    data, words = WARN[case]
    code, _, err = cli(tmp_path, {"s.yaml": data}, *_argv(command, []), capsys=capsys)
    assert code == 0, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("unit, seconds", [("25us", 25e-6), ("25µs", 25e-6), ("500ns", 5e-7)])
def test_microsecond_and_nanosecond_durations(unit, seconds, tmp_path, capsys):
    data = scenario(**{"network.host_link_latency": unit})
    code, _, err = cli(tmp_path, {"s.yaml": data}, "validate", "{tmp}/s.yaml", capsys=capsys)
    assert code == 0, err
    from vsim.scenario import load_scenario

    assert load_scenario(tmp_path / "s.yaml").network.host_link_latency == pytest.approx(seconds)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_bug_in_vsim_exits_3_with_the_traceback_in_a_file(command, tmp_path, capsys, monkeypatch):
    def boom(*_, **__):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(sys.modules["vsim.model.build"], "build_simulation", boom)
    monkeypatch.setattr(sys.modules["vsim.experiment.run"], "build_simulation", boom)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code, _, err = cli(tmp_path, {"s.yaml": BASE}, *_argv(command, []), capsys=capsys)
    assert code == 3 and "bug in vsim" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    saved = Path(err.split("the traceback is in ")[1].split(";")[0])
    assert "injected fault" in saved.read_text() and "Traceback" in saved.read_text()
