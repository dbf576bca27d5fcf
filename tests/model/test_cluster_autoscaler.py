"""The cluster autoscaler against timelines computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from vsim.scenario import validate_scenario

SCAN, PROVISION, IDLE = 10.0, 60.0, 300.0
BOOT, READINESS, DRAIN = 5.0, 5.0, 25.0


def scenario(tmp_path, replicas=3, spread="host", vcpus=1, initial=1, arrivals_end=195.0):
    """A deployment on hosts of one type that the cluster autoscaler manages. Requests arrive
    every 1/3 s until ``arrivals_end``: 1 per replica per second at 3 replicas, the HPA's rps
    target, so the HPA holds 3 replicas (within its tolerance) until the requests stop."""
    trace = tmp_path / "arrivals.txt"
    np.savetxt(trace, np.arange(int(arrivals_end * 3)) / 3, fmt="%.6f")
    node = {"name": "node", "count": 4, "cores": 2, "core_mips": 1000, "memory": "8GiB"}
    template = {"vcpus": vcpus, "memory": "1GiB", "workload": "api", "boot_time": BOOT}
    hpa = {"metric": "rps", "target": 1.0, "min_replicas": 1, "max_replicas": replicas}
    hpa |= {"scale_down_window": 0, "window": 10}
    return validate_scenario(
        {
            "name": "cluster-autoscaler",
            "duration": 700,
            "sample_interval": 50,
            "datacenter": {"host_types": [node]},
            "workloads": {
                "api": {
                    "kind": "service",
                    "arrivals": {"process": "trace", "path": str(trace)},
                    "cpu": {"dist": "exponential", "mean": 100},
                    "record": 0.0,
                }
            },
            "deployments": [
                {
                    "name": "api",
                    "template": template,
                    "replicas": replicas,
                    "spread": spread,
                    "readiness": READINESS,
                    "drain": DRAIN,
                    "autoscale": hpa,
                }
            ],
            "cluster_autoscaler": {
                "host_type": "node",
                "initial": initial,
                "scan_interval": SCAN,
                "provisioning_delay": PROVISION,
                "idle_time": IDLE,
                "host_hour_price": 0.5,
            },
        }
    )


def times(events, kind, subject=None):
    sel = events[(events.kind == kind) & ((subject is None) | (events.subject == subject))]
    return sel.time_s.tolist()


def test_cluster_autoscaler_timeline_by_hand(tmp_path):
    res = vsim.run(scenario(tmp_path))
    ev = res.events
    # t = 0: one host on; replica 0 goes there, replicas 1 and 2 (one per host) are pending.
    assert times(ev, "host_off") == [0.0, 0.0, 0.0, 540.0, 540.0]
    # First scan at SCAN = 10 s: 2 pending replicas need 2 hosts (anti-affinity).
    assert times(ev, "cluster_scale_up") == [SCAN]
    assert ev[ev.kind == "cluster_scale_up"].detail.tolist() == ["+2 hosts for 2 pending replicas"]
    up = SCAN + PROVISION  # 70 s: the hosts take guests; the pending replicas are placed at once
    assert times(ev, "host_on") == [up, up]
    assert times(ev, "replica_ready") == [BOOT + READINESS] + [up + BOOT + READINESS] * 2
    # Requests stop at 195 s; the sync at 210 s sees none in its window: 3 -> 1 replicas, the
    # two on the added hosts drain for DRAIN and stop at 235 s.
    assert times(ev, "scaled") == [210.0]
    assert times(ev, "stopped") == [210.0 + DRAIN] * 2
    # The first scan to see those hosts empty is at 240 s; the first scan IDLE later removes
    # them: 540 s. The host still running replica 0 stays; node-3 was never needed.
    empty_seen = 240.0
    assert times(ev, "cluster_scale_down") == [empty_seen + IDLE]
    # The deployments table counts the type's hosts on or provisioning.
    hosts = res.deployments.set_index("time_s").cluster_hosts
    assert hosts[0.0] == 1 and hosts[15.0] == 3 and hosts[525.0] == 3 and hosts[555.0] == 1
    s = res.summary
    assert s["cluster_hosts_added"] == 2 and s["cluster_hosts_removed"] == 2
    assert s["cluster_hosts_max"] == 3 and s["replicas_pending_max"] == 2
    # Host-seconds: node-0 the whole 700 s, two hosts from their provisioning (10 s) to 540 s.
    seconds = 700.0 + 2 * (empty_seen + IDLE - SCAN)
    assert s["cluster_host_seconds"] == pytest.approx(seconds)
    assert s["cluster_host_cost"] == pytest.approx(seconds / 3600 * 0.5)
    # Before the first replica was ready (10 s) every request found no replica: 30 of them.
    assert s["requests_rejected"] == 30


def test_packing_without_spread(tmp_path):
    """Five 1-vCPU replicas, no anti-affinity, 2-core hosts, none on at the start: the first
    scan adds ceil(5 / 2) = 3 hosts."""
    res = vsim.run(scenario(tmp_path, replicas=5, spread="none", initial=0))
    ev = res.events
    row = ev[ev.kind == "cluster_scale_up"]
    assert row.time_s.tolist() == [SCAN]
    assert row.detail.tolist() == ["+3 hosts for 5 pending replicas"]
    # All five are placed when the hosts come up (later the HPA trims them to the load).
    assert times(ev, "replica_ready")[:5] == [SCAN + PROVISION + BOOT + READINESS] * 5


def test_a_replica_no_host_type_can_hold_is_refused_up_front(tmp_path):
    """A 4-vCPU replica fits no 2-core host: validation says so (the autoscaler could add
    hosts for ever without placing it)."""
    with pytest.raises(ValueError, match="host"):
        scenario(tmp_path, vcpus=4)
