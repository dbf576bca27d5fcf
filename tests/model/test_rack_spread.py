"""Rack-level spread of a deployment's replicas, against placements worked out by hand.

Six 2-core hosts in racks of two (two_tier): rack 0 = node-0, node-1; rack 1 = node-2,
node-3; rack 2 = node-4, node-5. Replicas take 1 vCPU, so a host holds two; the policy is
first_fit, so among the hosts the spread leaves the lowest index wins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vsim
from vsim.core.placement import HostPool
from vsim.scenario import load_scenario, validate_scenario


def scenario(spread, replicas=5, blocker=False):
    guests = []
    if blocker:  # rack 1 full: a 2-vCPU VM pinned on each of its hosts
        guests = [
            {"name": f"big{h}", "vcpus": 2, "memory": "1GiB", "host": f"node-{h}"} for h in (2, 3)
        ]
    return validate_scenario(
        {
            "duration": 30,
            "sample_interval": 30,
            "datacenter": {
                "host_types": [
                    {"name": "node", "count": 6, "cores": 2, "core_mips": 1000, "memory": "8GiB"}
                ]
            },
            "network": {"topology": "two_tier", "hosts_per_rack": 2},
            "scheduler": {"policy": "first_fit"},
            "workloads": {
                "web": {
                    "kind": "service",
                    "arrivals": {"process": "poisson", "rate": 1},
                    "cpu": 10,
                    "record": 0.0,
                }
            },
            "guests": guests,
            "deployments": [
                {
                    "name": "web",
                    "template": {"vcpus": 1, "memory": "1GiB", "workload": "web"},
                    "replicas": replicas,
                    "spread": spread,
                }
            ],
        }
    )


def hosts_of_replicas(res):
    ev = res.events
    placed = ev[(ev.kind == "placed") & ev.subject.str.startswith("web-")]
    return placed.sort_values("subject", kind="stable").detail.tolist()


def test_distinct_racks_first_then_balanced():
    # 0: every host ties -> node-0 (rack 0). 1: racks 1, 2 hold none -> node-2. 2: rack 2 ->
    # node-4. 3: each rack holds one; the hosts holding none are node-1, -3, -5 -> node-1.
    # 4: racks 1 and 2 hold one, rack 0 two; of their hosts node-3 and node-5 hold none ->
    # node-3.
    res = vsim.run(scenario("rack"))
    assert hosts_of_replicas(res) == ["node-0", "node-2", "node-4", "node-1", "node-3"]


def test_host_spread_and_no_spread_for_comparison():
    assert hosts_of_replicas(vsim.run(scenario("host"))) == [f"node-{h}" for h in range(5)]
    # none: first fit packs two to a host.
    none = hosts_of_replicas(vsim.run(scenario("none")))
    assert none == ["node-0", "node-0", "node-1", "node-1", "node-2"]


def test_a_full_rack_is_skipped_and_the_spread_never_leaves_a_replica_pending():
    # Rack 1 has no room. 0: node-0. 1: rack 2 holds none -> node-4. 2: racks 0 and 2 hold
    # one; hosts holding none: node-1, node-5 -> node-1. 3: rack 2 holds fewer -> node-5.
    # 4: both racks hold two, every host with room holds one -> node-0 again (host spread
    # would leave this fifth replica pending: only four hosts have room).
    res = vsim.run(scenario("rack", blocker=True))
    assert hosts_of_replicas(res) == ["node-0", "node-4", "node-1", "node-5", "node-0"]
    assert res.summary["replicas_pending_max"] == 0
    host = vsim.run(scenario("host", blocker=True))
    assert host.summary["replicas_pending_max"] == 1


def test_spread_hosts_by_hand():
    """The pool's rule on its own: the domain counts first, then the host counts."""
    pool = HostPool({"cpu": np.full(4, 2.0)})
    domain = np.array([0, 0, 1, 1])
    req = [1.0]
    # Members on hosts 0 and 2 (one per domain): hosts 1 and 3 hold none.
    excl = pool.spread_hosts(req, None, [0, 2], domain)
    assert (~excl).tolist() == [False, True, False, True]
    # Host 3 excluded by another rule: host 1 is the one left.
    other = np.array([False, False, False, True])
    assert (~pool.spread_hosts(req, other, [0, 2], domain)).tolist() == [False, True, False, False]
    # No host fits: nothing more is excluded.
    assert pool.spread_hosts([3.0], other, [0], domain) is other


@pytest.mark.parametrize("policy", ["first_fit", "best_fit", "random"])
def test_every_policy_keeps_racks_within_one(policy):
    """Any policy chooses among the hosts the spread leaves: over 9 replicas in 3 racks with
    room, each rack ends with 3."""
    data = scenario("rack", replicas=9).model_dump(mode="json")
    data["guests"] = [g for g in data["guests"] if not g["deployment"]]
    data["scheduler"]["policy"] = policy
    res = vsim.run(validate_scenario(data))
    racks = [int(h.split("-")[1]) // 2 for h in hosts_of_replicas(res)]
    assert sorted(np.bincount(racks).tolist()) == [3, 3, 3]


def test_the_example_loses_a_third_to_a_rack_failure_and_rebalances():
    """scenarios/rack_spread.yaml: six replicas two per rack (node-0, -4, -8, -1, -5, -9);
    rack 1 (node-4 ... node-7) fails at 600 s. Its two replicas are replaced at once, with
    racks 0 and 2 holding two each: node-2 (rack 0, a host holding none, first fit), then
    rack 2 holds fewer: node-10. They are ready after start-up and readiness (10 s)."""
    path = Path(__file__).parents[2] / "scenarios" / "rack_spread.yaml"
    data = load_scenario(path).model_dump(mode="json")
    data["guests"] = [g for g in data["guests"] if not g["deployment"]]
    res = vsim.run(validate_scenario({**data, "duration": 660}))
    ev = res.events
    placed = ev[(ev.kind == "placed")]
    assert placed.detail.tolist()[:6] == [
        "node-0",
        "node-4",
        "node-8",
        "node-1",
        "node-5",
        "node-9",
    ]
    later = placed[placed.time_s == 600.0]
    assert later.detail.tolist() == ["node-2", "node-10"]
    ready = ev[(ev.kind == "replica_ready") & (ev.time_s > 0)].time_s.tolist()
    assert ready == [10.0] * 6 + [610.0] * 2
    tl = res.deployments.set_index("time_s")
    assert tl.ready[600.0] == 4 and tl.ready[615.0] == 6
