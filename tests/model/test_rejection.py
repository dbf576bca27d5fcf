"""A rejected guest's event names the constraint that blocked it, worked out by hand."""

from __future__ import annotations

import vsim
from tests.helpers import host, scenario, vm
from vsim.console import rejection_causes, run_warnings


def _why(res) -> dict[str, str]:
    ev = res.events[res.events["kind"] == "rejected"]
    return dict(zip(ev["subject"], ev["detail"], strict=True))


def test_anti_affinity_names_the_rule():
    # 3 hosts with room for all 5 replicas, but one replica per host: 2 rejected by the rule.
    sc = scenario([host(count=3, cores=8)], [vm("db", None, count=5, anti_affinity="db-spread")])
    why = _why(vsim.run(sc))
    assert sorted(why) == ["db-3", "db-4"]
    for detail in why.values():
        assert detail.startswith("anti-affinity rule 'db-spread': ")
        assert "3 hosts" in detail


def test_memory_shortfall_names_the_resource_and_the_amounts():
    # 16 GiB hosts, two 10 GiB guests: the second finds 6 GiB free on the only host.
    sc = scenario([host(memory="16GiB")], [vm("big", None, count=2, memory="10GiB")])
    why = _why(vsim.run(sc))
    assert why["big-1"].startswith("no room for memory: ")
    assert "asks 10 GiB, at most 6 GiB free" in why["big-1"]


def test_no_single_host_with_both_resources():
    # h-0 keeps 15 GiB but no CPU, h-1 keeps 1000 MIPS but 1 GiB: a 1-vCPU 2-GiB guest fits
    # each resource somewhere, both nowhere.
    guests = [
        vm("a", None, vcpus=2, memory="1GiB", host="h-0"),
        vm("b", None, vcpus=1, memory="15GiB", host="h-1"),
        vm("c", None, vcpus=1, memory="2GiB"),
    ]
    why = _why(vsim.run(scenario([host(count=2, cores=2, memory="16GiB")], guests)))
    assert why["c"].startswith("no room for cpu and memory together: ")
    assert "1 lack cpu, 1 lack memory" in why["c"]


def test_pinned_guest_names_its_host():
    guests = [vm("a", None, memory="12GiB", host="h-0"), vm("b", None, memory="8GiB", host="h-0")]
    why = _why(vsim.run(scenario([host(count=2, memory="16GiB")], guests)))
    assert why["b"].startswith("pinned host 'h-0' has no room for memory: ")


def test_run_warning_counts_guests_by_constraint():
    # 2 hosts: 4 replicas of one rule (2 rejected by it) and a 20 GiB guest (no room).
    guests = [
        vm("db", None, count=4, anti_affinity="spread"),
        vm("huge", None, memory="15GiB"),
        vm("huge2", None, memory="15GiB"),
        vm("huge3", None, memory="15GiB"),
    ]
    res = vsim.run(scenario([host(count=2, cores=8, memory="16GiB")], guests))
    causes = rejection_causes(res.events)
    assert [(name, n) for name, n, _ in causes] == [
        ("anti-affinity rule 'spread'", 2),
        ("no room for memory", 1),
    ]
    (line,) = run_warnings(res.summary, res.events)
    assert line.startswith("3 of 7 guests were rejected and never ran: 2 by anti-affinity rule")
