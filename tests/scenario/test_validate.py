"""Bad scenario files: the user sees the file, the field path and what is allowed, never a
traceback, and `vsim validate` exits 1."""

from __future__ import annotations

import textwrap

import pytest

from vsim.cli import main

GOOD = """
duration: 1h
datacenter:
  host_types:
    - {name: std, count: 2, cores: 4, memory: 8GiB}
workloads:
  w: {kind: constant, cpu: 0.5}
guests:
  - {name: a, count: 2, vcpus: 2, memory: 2GiB, workload: w}
"""


def check(tmp_path, capsys, text: str, *expected: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err
    assert str(path) in err
    for part in expected:
        assert part in err, err
    return err


def test_good_file_passes(tmp_path, capsys):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert main(["validate", str(path)]) == 0
    assert "ok (2 hosts, 2 guests" in capsys.readouterr().out


def test_shipped_scenarios_are_valid(capsys):
    from pathlib import Path

    for path in sorted(Path("scenarios").glob("*.y*ml")):
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_unknown_field_lists_allowed_fields(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("cores: 4", "cores: 4, colour: red"),
        "datacenter.host_types[0].colour",
        "unknown field",
        "core_mips",
        "nic_bandwidth",
    )


def test_wrong_type(tmp_path, capsys):
    check(
        tmp_path, capsys, GOOD.replace("vcpus: 2", "vcpus: two"), "guests[0].vcpus", "valid number"
    )


def test_negative_capacity(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("cores: 4", "cores: -4"),
        "datacenter.host_types[0].cores",
        "greater than 0",
    )


def test_bad_unit(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("memory: 8GiB", "memory: 8 gigs"),
        "datacenter.host_types[0].memory",
        "GiB",
    )


def test_guest_bigger_than_any_host(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("memory: 2GiB", "memory: 64GiB"),
        "guests[0] (a)",
        "more than any host",
        "largest: 8 GiB",
    )


def test_unknown_policy_lists_policies(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD + "scheduler: {policy: bestest}\n",
        "scheduler.policy",
        "'best_fit'",
        "'round_robin'",
    )


def test_unknown_workload_kind(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("kind: constant", "kind: sine"),
        "workloads.w",
        "unknown kind 'sine'",
        "'diurnal'",
    )


def test_undefined_workload_reference(tmp_path, capsys):
    check(
        tmp_path,
        capsys,
        GOOD.replace("workload: w", "workload: nope"),
        "workload 'nope' is not defined",
    )


def test_missing_trace_file(tmp_path, capsys):
    text = GOOD.replace("w: {kind: constant, cpu: 0.5}", "w: {kind: planetlab, path: no/such/dir}")
    check(tmp_path, capsys, text, "workloads.w.path", "trace not found", "no/such/dir")


def test_malformed_yaml_names_line(tmp_path, capsys):
    check(tmp_path, capsys, "duration: 1h\ndatacenter: [\n", "malformed YAML", "line")


def test_missing_required_field(tmp_path, capsys):
    check(tmp_path, capsys, GOOD.replace("duration: 1h", ""), "duration: required field is missing")


def test_not_a_mapping(tmp_path, capsys):
    check(tmp_path, capsys, "- just\n- a list\n", "must be a mapping")


def test_toml_scenarios_load_too(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(
        'duration = "1h"\n[[datacenter.host_types]]\nname = "std"\ncount = 1\ncores = 2\n'
        'memory = "4GiB"\n'
    )
    assert main(["validate", str(path)]) == 0
    check(tmp_path, capsys, "duration = \n", "malformed TOML", name="bad.toml")


def test_missing_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "no such scenario file" in capsys.readouterr().err


def test_run_on_bad_input_writes_nothing(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("cores: 4", "cores: -4"))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "override, ok",
    [
        ({"scheduler.policy": "worst_fit"}, True),
        ({"guests.0.count": "3"}, True),
        ({"guests.5.count": "3"}, False),
    ],
)
def test_overrides(tmp_path, override, ok):
    from vsim.scenario import ScenarioError, load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    if ok:
        load_scenario(path, override)
    else:
        with pytest.raises(ScenarioError, match="guests.5.count"):
            load_scenario(path, override)


def test_schema_offers_exactly_the_policies_the_scheduler_core_implements():
    # The scenario layer keeps its own list (it must not import the NumPy kernels).
    from vsim.core.placement import POLICIES
    from vsim.scenario import PLACEMENT_POLICIES

    assert tuple(PLACEMENT_POLICIES) == tuple(POLICIES)
