"""The vertical autoscaler against timelines computed by hand.

The rules are the Kubernetes Vertical Pod Autoscaler's (recommender: a percentile of the
observed use times 1 + safety margin, default 90th and 15 %; updater modes Off, Initial,
Recreate, InPlaceOrRecreate; eviction tolerance and minReplicas), as vsim states them in
docs/deployments.md. Every number below is worked out in the comments, not read from a run.

The load is deterministic: one request every 0.1 s until 120 s, then every 0.05 s, each of
50 MI on 1000-MIPS vCPUs. A replica with c >= 0.5 cores serves a request in 50 / (1000 c) s,
under 0.1 s, so until 120 s it uses exactly 0.5 cores; from 120 s requests come faster than
any c < 1 serves them, so it is busy all the time and uses exactly c cores.
"""

from __future__ import annotations

import numpy as np
import pytest

import vsim
from vsim.scenario import validate_scenario

BOOT, READINESS, DRAIN = 2.0, 1.05, 10.0  # ready at 3.05 s, between two arrivals
MIB = 2**20


def scenario(tmp_path, mode="in_place", restart=False, hosts=2, filler=True, **extra):
    trace = tmp_path / "arrivals.txt"
    times = np.concatenate([np.arange(1200) * 0.1, 120 + np.arange(3600) * 0.05])
    np.savetxt(trace, times, fmt="%.6f")
    vpa = {"mode": mode, "interval": 60, "window": 120, "min_replicas": 1, "restart": restart}
    dep = {
        "name": "api",
        "template": {"vcpus": 1, "memory": "4GiB", "workload": "api", "boot_time": BOOT},
        "replicas": 1,
        "readiness": READINESS,
        "drain": DRAIN,
        "vertical": vpa,
        **extra,
    }
    # A container pinned to n-0 from 100 s takes 0.3 cores of the room a shrink freed there.
    guests = [{"name": "filler", "kind": "container", "vcpus": 0.3, "memory": "1GiB"}]
    guests[0] |= {"host": "n-0", "start": 100}
    node = {"name": "n", "count": hosts, "cores": 1, "core_mips": 1000, "memory": "8GiB"}
    return validate_scenario(
        {
            "name": "vpa",
            "duration": 300,
            "sample_interval": 60,
            "datacenter": {"host_types": [node]},
            "workloads": {
                "api": {
                    "kind": "service",
                    "arrivals": {"process": "trace", "path": str(trace)},
                    "cpu": 50,
                    "memory": 0.25,  # 1 GiB of the template's 4 GiB, kept across resizes
                    "record": 0.0,
                }
            },
            "guests": guests if filler else [],
            "deployments": [dep],
        }
    )


def at(events, kind):
    sel = events[events.kind == kind]
    return list(zip(sel.time_s, sel.subject, sel.detail, strict=True))


# The recommendations, by hand (window 120 s: a pass at t sees the samples of t - 60 and t):
# - 60 s: one sample, 569 requests (3.1 ... 59.9 s) x 50 MI over 56.95 s = 0.49956 cores;
#   x 1.15 = 0.57450, up to millicores: 0.575. Memory 1 GiB x 1.15 = 1177.6 MiB -> 1178 MiB.
# - 120 s: samples 0.49956 and 0.5 (at 0.575 cores: 600 requests x 50 MI over 60 s): their
#   90th percentile (linear) 0.49996, x 1.15 = 0.57495 -> 0.575: unchanged, no event.
# - 180 s: samples 0.5 and 0.575 (busy from 120 s): 0.5 + 0.9 x 0.075 = 0.5675, x 1.15 =
#   0.652625 -> 0.653, 13.6 % above 0.575 (beyond the 10 % tolerance).
# - 240 s: samples 0.575 and 0.653: 0.575 + 0.9 x 0.078 = 0.6452, x 1.15 = 0.74198 -> 0.742.
TARGETS = [
    (60.0, "api", "vcpus 0.575, memory 1178 MiB"),
    (180.0, "api", "vcpus 0.653, memory 1178 MiB"),
    (240.0, "api", "vcpus 0.742, memory 1178 MiB"),
]


def test_in_place_timeline_by_hand(tmp_path):
    res = vsim.run(scenario(tmp_path))
    ev = res.events
    assert at(ev, "vpa_recommendation") == TARGETS
    # In place at 60 s (a shrink always fits) and 180 s (0.3 + 0.653 cores <= 1 on n-0).
    assert at(ev, "resized")[:2] == [
        (60.0, "api-v0-0", "vcpus 1 -> 0.575, memory 4096 -> 1178 MiB"),
        (180.0, "api-v0-0", "vcpus 0.575 -> 0.653, memory 1178 -> 1178 MiB"),
    ]
    # At 240 s 0.3 + 0.742 > 1 core: refused in place, so the replica is evicted (one replica,
    # min_replicas 1, tolerance 0.5: 1 - max(1, floor(0.5)) = 0 must stay ready, so 1 may go)
    # and its replacement is placed at the new size on the empty n-1.
    assert at(ev, "resize_refused") == [(240.0, "api-v0-0", "no room on n-0")]
    assert at(ev, "vpa_evicted") == [(240.0, "api-v0-0", "api")]
    assert at(ev, "resized")[2] == (240.0, "api-v0-1", "vcpus 1 -> 0.742, memory 4096 -> 1178 MiB")
    assert at(ev, "placed")[-1] == (240.0, "api-v0-1", "n-1")
    assert at(ev, "replica_ready") == [(3.05, "api-v0-0", "api"), (243.05, "api-v0-1", "api")]
    assert at(ev, "stopped") == [(240.0 + DRAIN, "api-v0-0", "")]
    s = res.summary
    assert s["vertical_resizes"] == 2 and s["vertical_in_place_refused"] == 1
    assert s["vertical_evictions"] == 1 and s["vertical_restarts"] == 0
    # vCPU-seconds: api-v0-0 1 x 60 + 0.575 x 120 + 0.653 x 70 (to its stop at 250 s),
    # api-v0-1 0.742 x 60.
    assert s["replica_vcpu_seconds"] == pytest.approx(60 + 0.575 * 120 + 0.653 * 70 + 0.742 * 60)
    gib_s = 4 * 60 + 1178 / 1024 * (190 + 60)
    assert s["replica_memory_gib_seconds"] == pytest.approx(gib_s)
    # Requests found no ready replica before 3.05 s (31: 0.0 ... 3.0 s) and from 240 s, when
    # the old one drains, until 243.05 s (61: 240.00 ... 243.00 s).
    assert s["requests_rejected"] == 31 + 61
    tl = res.deployments.set_index("time_s")
    assert np.isnan(tl.vpa_vcpus[45.0]) and tl.vpa_vcpus[60.0] == 0.575
    assert tl.vcpus_mean[195.0] == 0.653 and tl.vpa_memory[285.0] == 1178 * MIB


def test_in_place_with_restart(tmp_path):
    """restart: the replica restarts on its host at each resize (out of service for start-up
    and readiness, in-flight requests failed); the growth at 240 s still does not fit."""
    res = vsim.run(scenario(tmp_path, restart=True))
    ev = res.events
    assert [t for t, *_ in at(ev, "restarting")] == [60.0, 180.0]
    assert [t for t, *_ in at(ev, "replica_ready")] == [3.05, 63.05, 183.05, 243.05]
    s = res.summary
    assert s["vertical_restarts"] == 2 and s["vertical_evictions"] == 1
    # At 60 s nothing is queued (a request lasts 0.05 s of each 0.1 s, the one of 60.0 s
    # arrives after it); at 180 s the backlog since 120 s fails.
    assert s["requests_failed"] > 0
    assert at(ev, "vpa_recommendation") == TARGETS


def test_recreate_evicts_instead_of_resizing(tmp_path):
    """recreate: each off-target replica is evicted and replaced at the target size; the
    replacement of 60 s goes to n-1 (n-0 is still held by the draining one)."""
    res = vsim.run(scenario(tmp_path, mode="recreate"))
    ev = res.events
    assert [t for t, *_ in at(ev, "vpa_evicted")] == [60.0, 180.0, 240.0]
    assert at(ev, "placed")[1] == (60.0, "api-v0-1", "n-1")
    assert res.summary["vertical_resizes"] == 0 and res.summary["vertical_evictions"] == 3


def test_off_recommends_only(tmp_path):
    """off: recommendations, no change. At 1 vCPU the replica is never saturated (0.5, then
    1.0 core wanted of 1): 60 s: 0.575; 180 s: samples 0.5 and 1.0 -> (0.5 + 0.9 x 0.5) x 1.15
    = 1.0925, bounded by the largest host: 1 vCPU."""
    res = vsim.run(scenario(tmp_path, mode="off", filler=False))
    ev = res.events
    assert at(ev, "vpa_recommendation") == [
        (60.0, "api", "vcpus 0.575, memory 1178 MiB"),
        (180.0, "api", "vcpus 1, memory 1178 MiB"),
    ]
    assert not at(ev, "resized") and res.summary["replica_vcpu_seconds"] == pytest.approx(300)


def test_initial_sizes_new_replicas_only(tmp_path):
    """initial: the HPA (rps, target 10 per replica) adds a replica at its sync of 135 s: its
    metric then spans the marks it keeps, 105 to 135 s, (150 + 300) / 30 = 15 per second,
    ceil(1 x 15 / 10) = 2 (the sync of 120 s saw 10). That replica starts at the target (0.575
    since 60 s); the first keeps its 1 vCPU."""
    hpa = {"metric": "rps", "target": 10, "max_replicas": 2, "scale_down_window": 600}
    res = vsim.run(scenario(tmp_path, mode="initial", filler=False, autoscale=hpa))
    ev = res.events
    assert at(ev, "scaled") == [(135.0, "api", "1 -> 2 (rps=15)")]
    assert at(ev, "resized") == [(135.0, "api-v0-1", "vcpus 1 -> 0.575, memory 4096 -> 1178 MiB")]
    sizes = res.replicas.set_index("guest")
    assert sizes.vcpus["api-v0-0"] == 1.0 and sizes.vcpus["api-v0-1"] == 0.575


def test_an_evicted_replica_with_no_room_anywhere_stays_pending(tmp_path):
    """One host: the growth at 240 s fits neither in place nor anywhere else, so the
    replacement stays pending (counted) and nothing serves after the drain."""
    res = vsim.run(scenario(tmp_path, hosts=1))
    ev = res.events
    assert at(ev, "vpa_evicted") == [(240.0, "api-v0-0", "api")]
    assert [t for t, *_ in at(ev, "replica_ready")] == [3.05]
    tl = res.deployments.set_index("time_s")
    assert tl.pending[240.0] == 1 and tl.ready[255.0] == 0
    assert res.summary["replicas_pending_max"] == 1
