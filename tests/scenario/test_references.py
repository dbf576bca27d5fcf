"""Names a scenario refers to (hosts, host types, failure domains, guest groups, guests) are
checked when the file is validated, so `vsim validate` rejects what `vsim run` would."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from vsim.cli import main
from vsim.scenario import ScenarioError, validate_scenario

BASE: dict[str, Any] = {
    "duration": "1h",
    "datacenter": {
        "host_types": [
            {"name": "std", "count": 2, "cores": 4, "memory": "8GiB"},
            {"name": "big", "count": 1, "cores": 8, "memory": "16GiB"},
        ]
    },
    "workloads": {"w": {"kind": "constant", "cpu": 0.5}},
    "guests": [
        {"name": "web", "count": 2, "memory": "1GiB", "workload": "w"},
        {"name": "db", "memory": "1GiB", "workload": "w"},
    ],
}
TTF = {"distribution": "exponential", "mtbf": "30d"}
REPAIR = {"distribution": "fixed", "mttr": "1h"}


def scenario(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(sections)
    return data


def rejected(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        validate_scenario(data, source="s.yaml")
    return str(info.value)


def test_references_that_exist_pass():
    sc = validate_scenario(
        scenario(
            failures={
                "hosts": [{"host_types": ["big"], "time_to_failure": TTF, "repair": REPAIR}],
                "domains": [{"name": "rack-a", "hosts": ["std-0", "std-1"]}],
                "scheduled": [{"host": "big-0", "at": "10m"}, {"domain": "rack-a", "at": "20m"}],
                "guest_crashes": {"web": "30d"},
                "ha": {"priority": {"db": 10}},
                "protection": {"db": {"mode": "restart"}},
            },
            events=[{"at": "5m", "action": "migrate", "guest": "web-1", "to": "big-0"}],
        )
    )
    assert sc.failures is not None and sc.failures.domains[0].name == "rack-a"


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (
            {"scheduled": [{"host": "std-7", "at": "1m"}]},
            ["failures.scheduled[0].host", "host 'std-7' does not exist", "big-0, std-0, std-1"],
        ),
        (
            {"scheduled": [{"domain": "rack-z", "at": "1m"}]},
            ["failures.scheduled[0].domain", "domain 'rack-z' does not exist", "known: none"],
        ),
        (
            {
                "domains": [{"name": "rack-a", "hosts": ["std-0"]}],
                "scheduled": [{"domain": "rack-b", "at": "1m"}],
            },
            ["failures.scheduled[0].domain", "'rack-b'", "known: rack-a"],
        ),
        (
            {"domains": [{"name": "rack-a", "hosts": ["std-0", "nope-3"]}]},
            ["failures.domains[0].hosts", "host 'nope-3' does not exist", "std-1"],
        ),
        (
            {"hosts": [{"host_types": ["gpu"], "time_to_failure": TTF, "repair": REPAIR}]},
            ["failures.hosts[0].host_types", "host type 'gpu' does not exist", "big, std"],
        ),
        (
            {"guest_crashes": {"cache": "1d"}},
            ["failures.guest_crashes", "guest group 'cache' does not exist", "db, web"],
        ),
        (
            {"ha": {"priority": {"web-0": 3}}},
            ["failures.ha.priority", "guest group 'web-0' does not exist", "db, web"],
        ),
        (
            {"protection": {"cache": {"mode": "restart"}}},
            ["failures.protection", "guest group 'cache' does not exist", "db, web"],
        ),
    ],
)
def test_failures_naming_what_does_not_exist_are_rejected(failures, expected):
    message = rejected(scenario(failures=failures))
    for part in expected:
        assert part in message, message


def test_duplicate_domain_names_are_rejected():
    domains = [
        {"name": "rack-a", "hosts": ["std-0"]},
        {"name": "rack-a", "hosts": ["std-1"]},
    ]
    message = rejected(scenario(failures={"domains": domains}))
    assert "failures.domains[1].name" in message
    assert "'rack-a' is used twice" in message


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"at": "1m", "action": "stop", "guest": "web-9"},
            ["events[0].guest", "guest 'web-9' does not exist", "db, web-0, web-1"],
        ),
        (
            {"at": "1m", "action": "migrate", "guest": "db", "to": "std-5"},
            ["events[0].to", "host 'std-5' does not exist", "big-0, std-0, std-1"],
        ),
    ],
)
def test_lifecycle_events_naming_what_does_not_exist_are_rejected(event, expected):
    message = rejected(scenario(events=[event]))
    for part in expected:
        assert part in message, message


def test_many_known_names_are_cut_short():
    data = scenario(failures={"scheduled": [{"host": "nope", "at": "1m"}]})
    data["datacenter"]["host_types"][0]["count"] = 10
    message = rejected(data)
    assert "(11 in all)" in message


def test_vsim_validate_rejects_a_scheduled_failure_of_a_missing_host(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    data = scenario(failures={"scheduled": [{"host": "std-2", "at": "1m", "repair_after": "5m"}]})
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: failures.scheduled[0].host: host 'std-2' does not exist" in err
    assert "known: big-0, std-0, std-1" in err
