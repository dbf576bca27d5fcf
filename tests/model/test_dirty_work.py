"""Dirty pages from work done (``dirty_per_mi``): a migrating guest dirties memory in
proportion to the useful CPU work it does, as in SimGrid's live-migration model.

Each check is against the closed-form pre-copy series (``vsim.core.precopy``) at the dirty rate
that follows from the work the guest is given, computed by hand from the scenario: bytes per MI
x the guest's useful MIPS (its CPU share x vCPU MIPS x (1 - the migration's degradation)).
"""

from __future__ import annotations

import pytest

import vsim
from vsim.core.precopy import precopy_schedule
from vsim.scenario import ScenarioError, validate_scenario

GIB = 2**30
MIPS = 1000.0  # one vCPU, one host core
PER_MI = 80e3  # bytes dirtied per MI: 80 MB/s at a full 1000-MIPS core
# 1 Gbps under the default tcp model: 1448 payload bytes per 1538 on the wire (docs/network.md)
GOODPUT = 125e6 * 1448 / 1538
STARTUP = 2 * 5e-6  # each transfer waits the route's one-way latency (two 5 us host links)
DEVICE = 2**20  # the default device state


def scenario(cpu: float, *, neighbour: bool = False, cores: int = 4, events=None, **migration):
    guest = {"vcpus": 1, "vcpu_mips": MIPS, "boot_time": 0, "host": "h-0"}
    guests = [{"name": "v", "memory": "4GiB", "workload": "busy", **guest}]
    if neighbour:  # a guest wanting a whole core beside it: each gets half of one core
        guests.append({"name": "n", "memory": "1GiB", "workload": "hog", **guest})
    host = {"name": "h", "count": 2, "cores": cores, "core_mips": MIPS, "memory": "16GiB",
            "nic_bandwidth": "1Gbps"}  # fmt: skip
    return validate_scenario(
        {
            "duration": 600,
            "sample_interval": 600,
            "datacenter": {"host_types": [host]},
            "workloads": {
                "busy": {"kind": "constant", "cpu": cpu, "dirty_per_mi": PER_MI},
                "hog": {"kind": "constant", "cpu": 1.0},
            },
            "guests": guests,
            "scheduler": {"overcommit": {"cpu": 2.0}},  # (two one-vCPU guests on one core)
            "migration": migration,
            "events": events or [{"at": 100, "action": "migrate", "guest": "v", "to": "h-1"}],
        }
    )


def migrated(sc):
    (row,) = vsim.run(sc).migrations.itertuples()
    return row


def assert_matches_series(row, dirty_rate: float) -> None:
    want = precopy_schedule(4 * GIB, GOODPUT, dirty_rate, device_state=DEVICE, latency=STARTUP)
    assert row.rounds == want.rounds
    assert row.end_s - row.start_s == pytest.approx(want.total_time, rel=1e-9)
    assert row.downtime_s == pytest.approx(want.downtime, rel=1e-9)
    assert row.bytes_sent == pytest.approx(want.total_bytes, rel=1e-9)


def test_an_idle_guest_migrates_as_a_clean_copy():
    row = migrated(scenario(0.0))
    assert row.rounds == 1
    assert row.bytes_sent == pytest.approx(4 * GIB + DEVICE, rel=1e-12)
    assert_matches_series(row, 0.0)


def test_a_paused_guest_dirties_nothing():
    events = [
        {"at": 50, "action": "pause", "guest": "v"},
        {"at": 100, "action": "migrate", "guest": "v", "to": "h-1"},
    ]
    row = migrated(scenario(1.0, events=events))
    assert row.rounds == 1
    assert row.bytes_sent == pytest.approx(4 * GIB + DEVICE, rel=1e-12)


def test_constant_work_gives_the_closed_form_series():
    # Half a core busy, 10 % of it lost to the migration (the default degradation): the useful
    # rate is 0.5 x 1000 x 0.9 = 450 MIPS for the whole migration, so 36 MB/s of dirtying.
    row = migrated(scenario(0.5))
    assert row.rounds > 2  # a real series, not a clean copy
    assert_matches_series(row, PER_MI * 0.5 * MIPS * (1 - 0.1))


def test_a_guest_throttled_to_half_its_cpu_dirties_half_as_fast():
    # One core shared equally with a neighbour that wants all of it; migration threads and
    # degradation off so that nothing else moves the guest's share: 500 useful MIPS, not 1000.
    quiet = {"cpu_cost_cores": 0.0, "degradation": 0.0}
    alone = migrated(scenario(1.0, cores=1, **quiet))
    throttled = migrated(scenario(1.0, cores=1, neighbour=True, **quiet))
    assert_matches_series(alone, PER_MI * MIPS)
    assert_matches_series(throttled, PER_MI * MIPS / 2)
    assert throttled.bytes_sent < alone.bytes_sent


def test_migration_threads_that_take_cpu_slow_the_dirtying():
    # Two vCPU-wanting guests and the source's migration threads (0.1 core) on one core: the
    # guests share 0.9 core, so v gets 0.45 of it, and 0.9 of that is useful work.
    row = migrated(scenario(1.0, cores=1, neighbour=True))
    assert_matches_series(row, PER_MI * 0.45 * MIPS * 0.9)


def test_both_modes_at_once_is_an_error_naming_the_field():
    data = scenario(0.5).model_dump(mode="json")
    data["workloads"]["busy"]["dirty_rate"] = 1e6
    with pytest.raises(ScenarioError, match=r"workloads\.busy.*dirty_per_mi"):
        validate_scenario(data)
