"""Live migration against the closed-form pre-copy series and hand-computed sharing."""

from __future__ import annotations

import pytest

import vsim
from vsim.core.precopy import precopy_schedule
from vsim.scenario import validate_scenario

GIB = 2**30
NIC = 125e6  # 1 Gbps in bytes/s
# What a migration gets of the link and how long each transfer waits, per network model: the
# nominal rate at once (ideal); TCP goodput, 1448 payload bytes per 1538-byte frame on the wire
# (1500 MTU, IPv4 + TCP with timestamps, Ethernet framing), after the route's one-way latency
# (two 5 us host links) under the default tcp model.
LINK = {"ideal": (NIC, 0.0), "tcp": (NIC * 1448 / 1538, 2 * 5e-6)}
MODELS = pytest.mark.parametrize("model", ["ideal", "tcp"])


def scenario(dirty="20MB/s", algorithm="precopy", noisy=False, model="tcp", **migration):
    guests = [
        {
            "name": "v",
            "vcpus": 1,
            "memory": "4GiB",
            "workload": "busy",
            "boot_time": 0,
            "host": "h-0",
        }
    ]
    if noisy:  # a guest on the source host sending as fast as its NIC allows
        guests.append(
            {
                "name": "n",
                "vcpus": 1,
                "memory": "1GiB",
                "workload": "talker",
                "boot_time": 0,
                "host": "h-0",
            }
        )
    return validate_scenario(
        {
            "duration": 600,
            "sample_interval": 600,
            "datacenter": {
                "host_types": [
                    {
                        "name": "h",
                        "count": 2,
                        "cores": 4,
                        "memory": "16GiB",
                        "nic_bandwidth": "1Gbps",
                    }
                ]
            },
            "workloads": {
                "busy": {"kind": "constant", "cpu": 0.5, "dirty_rate": dirty},
                "talker": {"kind": "constant", "cpu": 0.1, "net": "1Gbps"},
            },
            "guests": guests,
            "network": {"model": model},
            "migration": {"algorithm": algorithm, **migration},
            "events": [{"at": 100, "action": "migrate", "guest": "v", "to": "h-1"}],
        }
    )


def migration_row(res):
    (row,) = res.migrations.itertuples()
    return row


@MODELS
@pytest.mark.parametrize("dirty", ["0MB/s", "20MB/s", "60MB/s"])
def test_uncontended_precopy_matches_the_closed_form_series(dirty, model):
    sc = scenario(dirty, model=model)
    res = vsim.run(sc)
    bandwidth, latency = LINK[model]
    expect = precopy_schedule(
        4 * GIB,
        bandwidth,
        sc.workloads["busy"].dirty_rate,
        max_downtime=0.3,
        max_rounds=30,
        device_state=2**20,
        latency=latency,
    )
    row = migration_row(res)
    assert row.end_s - row.start_s == pytest.approx(expect.total_time, rel=1e-9)
    assert row.downtime_s == pytest.approx(expect.downtime, rel=1e-9)
    assert row.rounds == expect.rounds
    assert row.bytes_sent == pytest.approx(expect.total_bytes, rel=1e-9)
    assert res.events.query("kind == 'migration_done'").shape[0] == 1
    assert res.summary["migrations"] == 1


@MODELS
def test_sharing_the_uplink_halves_the_bandwidth(model):
    # The talker wants the whole 1 Gbps uplink of the source; max-min gives each flow half,
    # so the migration follows the series with B/2 (dirty rate unchanged).
    row = migration_row(vsim.run(scenario("20MB/s", noisy=True, model=model)))
    bandwidth, latency = LINK[model]
    kw = {"max_downtime": 0.3, "device_state": 2**20, "latency": latency}
    expect = precopy_schedule(4 * GIB, bandwidth / 2, 20e6, **kw)
    assert row.end_s - row.start_s == pytest.approx(expect.total_time, rel=1e-9)
    alone = precopy_schedule(4 * GIB, bandwidth, 20e6, **kw)
    assert expect.total_time > 2 * alone.total_time  # the dirty pages make it worse than 2x


@MODELS
def test_dirty_rate_above_bandwidth_does_not_converge(model):
    # 200 MB/s dirtied against 125 MB/s: round 1 would be bigger than round 0.
    bandwidth, latency = LINK[model]
    row = migration_row(vsim.run(scenario("200MB/s", model=model)))
    assert not row.converged and row.rounds == 1
    # Stop-and-copy of what was dirtied during round 0 (capped at the whole memory).
    assert row.downtime_s == pytest.approx(latency + (4 * GIB + 2**20) / bandwidth, rel=1e-9)
    res = vsim.run(scenario("200MB/s", on_no_convergence="abort", model=model))
    assert res.summary["migrations_aborted"] == 1 and res.summary["migrations"] == 0
    assert res.guests.host.iloc[-1] == "h-0"


@MODELS
def test_postcopy_and_cold_downtimes(model):
    bandwidth, latency = LINK[model]
    post = migration_row(vsim.run(scenario(algorithm="postcopy", model=model)))
    assert post.downtime_s == pytest.approx(latency + 2**20 / bandwidth, rel=1e-9)
    total = 2 * latency + (2**20 + 4 * GIB) / bandwidth
    assert post.end_s - post.start_s == pytest.approx(total, rel=1e-9)
    cold = migration_row(vsim.run(scenario(algorithm="cold", model=model)))
    assert cold.downtime_s == pytest.approx(latency + (4 * GIB + 2**20) / bandwidth, rel=1e-9)


def test_refused_when_the_destination_is_full():
    sc = scenario()
    data = sc.model_dump()
    data["datacenter"]["host_types"][0]["memory"] = 5 * GIB  # 4 GiB guest: fits one host only
    data["guests"].append({**data["guests"][0], "name": "w", "host": "h-1"})
    res = vsim.run(validate_scenario(data))
    assert (res.events.kind == "migration_refused").sum() == 1


def test_summary_from_the_rows_is_the_frames_definition():
    # Finished legs, an aborted migration (no end) and a finished one without a downtime: the
    # summary read from the rows against the frame-based definition it replaces.
    import types

    import numpy as np

    from vsim.model.migration import Migrator

    rows = [
        ("v1", "h0", "h1", "precopy", 10.0, 42.5, 3, 1e9, 0.25, True),
        ("v2", "h0", "h2", "precopy", 11.0, float("nan"), 1, 2e8, float("nan"), False),
        ("v3", "h1", "h2", "postcopy", 12.5, 20.0, 1, 4e9, 0.0015, True),
        ("v4", "h2", "h0", "cold", 30.0, 31.0, 1, 1e8, float("nan"), True),
    ]
    holder = types.SimpleNamespace(rows=rows)
    frame = Migrator.frame(holder)
    done = frame.dropna(subset=["end_s"])
    expected = {
        "migrations": len(done),
        "migrations_aborted": len(frame) - len(done),
        "migration_time_s_mean": float((done.end_s - done.start_s).mean()),
        "downtime_s_mean": float(done.downtime_s.mean()),
    }
    assert Migrator.summary(holder) == expected
    assert expected["migrations"] == 3 and expected["downtime_s_mean"] == (0.25 + 0.0015) / 2
    empty = Migrator.summary(types.SimpleNamespace(rows=[]))
    assert empty["migrations"] == 0 and np.isnan(empty["migration_time_s_mean"])
