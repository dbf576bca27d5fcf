"""Failures, HA and protection checked against closed forms and hand-computed schedules."""

from __future__ import annotations

import pandas as pd
import pytest

import vsim
from tests.helpers import assert_passes, host, scenario, vm
from vsim.experiment.verify_cases import availability_without_ha
from vsim.metrics.availability import availability_table
from vsim.model.failures import detection_time
from vsim.scenario import ScenarioError

HALF = {"half": {"kind": "constant", "cpu": 0.5, "memory": 0.5}}


def run(hosts, guests, failures, workloads=None, **kw):
    kw.setdefault("duration", 3600)
    kw.setdefault("sample_interval", kw["duration"])
    return vsim.run(scenario(hosts, guests, workloads, failures=failures, **kw))


def events(res, kind):
    return res.events[res.events["kind"] == kind]


def test_single_host_availability_converges_to_mtbf_over_mtbf_plus_mttr():
    # One host failing and being repaired at exponential times, no HA: the guest restarts on
    # the repaired host with no boot time, so it is up exactly when the host is. The
    # time-average of an alternating renewal process tends to MTBF / (MTBF + MTTR): within
    # the 99 % interval of ten runs, an interval tighter than 0.01 (vsim verify's case).
    assert_passes(availability_without_ha(mtbf=1000.0, mttr=100.0).evaluate())


def test_ha_outage_is_detection_delay_plus_boot_time_exactly():
    # Heartbeats every 0.5 s, 4 missed beats. Failure at 100.3 s: beats due at 100.5, 101.0,
    # 101.5, 102.0 are missed, so it is detected at 102.0 s (1.7 s later); the guest then boots
    # for 30 s on another host: outage 31.7 s.
    failures = {
        "scheduled": [{"host": "h-0", "at": 100.3}],
        "ha": {"heartbeat_interval": "500ms", "missed_beats": 4},
    }
    res = run([host(count=3)], [vm("g", boot_time=30)], failures)
    det = events(res, "failure_detected")
    assert det["time_s"].tolist() == [pytest.approx(102.0, abs=1e-12)]
    assert detection_time(100.3, 0.5, 4) == pytest.approx(102.0, abs=1e-12)
    table = availability_table(res).set_index("guest")
    assert table.loc["g", "downtime_s"] == pytest.approx(1.7 + 30.0, abs=1e-9)
    assert table.loc["g", "outages"] == 1
    assert res.summary["failover_time_s_p50"] == pytest.approx(31.7, abs=1e-9)
    running = events(res, "running")
    assert running["time_s"].iloc[-1] == pytest.approx(132.0, abs=1e-9)
    assert res.summary["availability"] == pytest.approx(1 - 31.7 / 3600, abs=1e-12)


def test_repair_before_detection_is_noticed_at_the_first_beat_after_it():
    # Beats every 10 s, 3 missed: a host failing at 100.3 s and staying down would be detected
    # at 130 s; repaired at 115.3 s, it sends its next beat at 120 s, which reports the loss.
    failures = {
        "scheduled": [{"host": "h-0", "at": 100.3, "repair_after": 15}],
        "ha": {"heartbeat_interval": 10, "missed_beats": 3},
    }
    res = run([host(count=2)], [vm("g")], failures)
    assert events(res, "failure_detected")["time_s"].tolist() == [pytest.approx(120.0)]


def test_failover_reserve_decides_whether_guests_come_back():
    # 4 hosts of 4 cores, 16 one-vCPU guests, host h-0 fails for good at 100 s.
    guests = [vm("g", count=16, memory="1GiB")]
    hosts = [host(count=4, cores=4)]
    ha = {"heartbeat_interval": 1, "missed_beats": 3}
    fail = [{"host": "h-0", "at": 100}]
    # Without a reserve every slot is taken: the 4 guests of h-0 find no host and stay down.
    res = run(hosts, guests, {"scheduled": fail, "ha": ha})
    assert res.summary["guests_rejected"] == 0
    assert res.summary["restarts_failed"] == 4
    assert len(events(res, "restart_failed")) == 4
    assert res.summary["reserve_capacity_frac"] == 0
    # Reserving one host's worth (a quarter of each host) admits 12 guests; the 3 on h-0
    # restart into the 3 free slots of the others.
    ha["admission_control"] = {"host_failures": 1}
    res = run(hosts, guests, {"scheduled": fail, "ha": ha})
    assert res.summary["guests_rejected"] == 4
    assert res.summary["reserve_capacity_frac"] == pytest.approx(0.25)
    assert res.summary["restarts_failed"] == 0
    assert res.summary["outages"] == 3
    last = res.guests[res.guests["time_s"] == res.guests["time_s"].max()]
    assert (last["state"] == "running").sum() == 12


def test_domain_failure_takes_all_its_hosts():
    failures = {
        "domains": [{"name": "rack-a", "hosts": ["h-0", "h-1"]}],
        "scheduled": [{"domain": "rack-a", "at": 50, "repair_after": 100}],
    }
    guests = [vm("g", count=3, anti_affinity="spread")]
    res = run([host(count=3)], guests, failures)
    failed = events(res, "host_failed")
    assert sorted(failed["subject"]) == ["h-0", "h-1"]
    assert (failed["time_s"] == 50).all()
    assert sorted(events(res, "guest_down")["subject"]) == ["g-0", "g-1"]
    assert sorted(events(res, "host_repaired")["subject"]) == ["h-0", "h-1"]
    assert events(res, "domain_failed")["subject"].tolist() == ["rack-a"]
    # No HA: the two guests come back on their own hosts when the rack is repaired.
    table = availability_table(res).set_index("guest")
    assert table.loc[["g-0", "g-1"], "downtime_s"].tolist() == [100.0, 100.0]
    assert table.loc["g-2", "downtime_s"] == 0


def test_trace_replay(tmp_path):
    trace = tmp_path / "failures.csv"
    pd.DataFrame(
        {"host": ["h-0", "h-1"], "fail_time": [100.0, 200.0], "repair_time": [400.0, None]}
    ).to_csv(trace, index=False)
    res = run(
        [host(count=2)],
        [vm("g", count=2, anti_affinity="spread")],
        {"trace": str(trace)},
        duration=1000,
        sample_interval=500,
    )
    failed = events(res, "host_failed")
    assert list(zip(failed["time_s"], failed["subject"], strict=True)) == [
        (100.0, "h-0"),
        (200.0, "h-1"),
    ]
    assert events(res, "host_repaired")[["time_s", "subject"]].values.tolist() == [[400.0, "h-0"]]
    states = res.hosts[res.hosts["time_s"] == 1000].set_index("host")["state"]
    assert states["h-0"] == "on" and states["h-1"] == "failed"
    table = availability_table(res).set_index("guest")
    assert table.loc["g-0", "downtime_s"] == 300.0  # autostart when h-0 is back
    assert table.loc["g-1", "downtime_s"] == 800.0  # h-1 never comes back, no HA


def test_trace_with_unknown_host_is_a_scenario_error(tmp_path):
    trace = tmp_path / "bad.csv"
    trace.write_text("host,fail_time,repair_time\nnope,1,2\n")
    with pytest.raises(ScenarioError, match="nope"):
        run([host()], [vm("g")], {"trace": str(trace)})


def test_backup_data_loss_is_time_since_last_completed_backup_snapshot():
    # Backups of 2 GB at 200 MB/s every 100 s from 50 s: 50-60, 150-160, 250-260 ... The host
    # fails at 255 s, during the third backup, which is aborted: the last completed backup is
    # the one taken at 150 s, so 255 - 150 = 105 s of writes are lost.
    failures = {
        "scheduled": [{"host": "h-0", "at": 255}],
        "ha": {"heartbeat_interval": 1, "missed_beats": 2},
        "protection": {
            "g": {
                "mode": "backup",
                "interval": 100,
                "offset": 50,
                "size": "2GB",
                "bandwidth": "200MB/s",
            }
        },
    }
    res = run(
        [host(count=2)], [vm("g", "half")], failures, HALF, duration=1000, sample_interval=100
    )
    assert events(res, "backup_aborted")["time_s"].tolist() == [255.0]
    table = availability_table(res).set_index("guest")
    assert table.loc["g", "data_loss_s"] == pytest.approx(105.0)
    assert res.summary["data_loss_s_max"] == pytest.approx(105.0)
    # The backup reads the guest's disk and sends over its NIC at 200 MB/s for 10 s of the first
    # 100-s sample: 2e7 bytes/s on average.
    first = res.guests[res.guests["time_s"] == 100].set_index("guest")
    assert first.loc["g", "disk_bps"] == pytest.approx(2e7)
    assert first.loc["g", "net_bps"] == pytest.approx(2e7)
    # Restart protection loses nothing on the same failure.
    failures["protection"] = {"g": {"mode": "restart"}}
    res = run([host(count=2)], [vm("g", "half")], failures, HALF, duration=1000)
    assert res.summary["data_loss_s_max"] == 0


def test_replication_fails_over_in_under_a_second_and_loses_nothing():
    failures = {
        "scheduled": [{"host": "h-0", "at": 100}],
        "ha": {"heartbeat_interval": 1, "missed_beats": 3},
        "protection": {
            "g": {"mode": "replication", "cpu_overhead": 0.3, "net_bandwidth": "10MB/s"}
        },
    }
    res = run([host(count=2)], [vm("g", "half", boot_time=30)], failures, HALF)
    table = availability_table(res).set_index("guest")
    assert table.loc["g", "downtime_s"] == pytest.approx(0.2)
    assert res.summary["failover_time_s_p95"] < 1.0
    assert res.summary["data_loss_s_max"] == 0
    assert events(res, "failover")["time_s"].tolist() == [pytest.approx(100.2)]
    # Steady overhead: 30 % more CPU per unit of useful work, and the checkpoint stream.
    g = res.guests.set_index("guest").loc["g"]
    assert g["cpu_alloc_mips"] / g["cpu_useful_mips"] == pytest.approx(1.3)
    # The stream flows while the guest runs: not during its first 30-s boot nor the 0.2-s outage.
    assert g["net_bps"] == pytest.approx(10e6 * (3600 - 30 - 0.2) / 3600)


def random_failures(seed: int) -> vsim.Result:
    failures = {
        "hosts": [
            {
                "time_to_failure": {"distribution": "weibull", "mtbf": "2h", "shape": 0.8},
                "repair": {"distribution": "lognormal", "mttr": "20m", "sigma": 1.0},
            }
        ],
        "guest_crashes": {"g": "3h"},
        "ha": {"priority": {"g": 1}},
    }
    guests = [vm("g", "half", count=6, boot_time=30), vm("b", "half", count=4)]
    return run([host(count=4, cores=4)], guests, failures, HALF, duration="1d", seed=seed)


def test_same_seed_same_events():
    a, b = random_failures(3), random_failures(3)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.summary["availability"] == b.summary["availability"]
    assert (a.events["detail"] == "guest crash").any()
    assert len(events(a, "failure_detected")) > 0
    c = random_failures(4)
    assert not a.events.equals(c.events)


def test_unknown_names_in_failures_are_scenario_errors():
    with pytest.raises(ScenarioError, match="guest group 'nope'"):
        run([host()], [vm("g")], {"protection": {"nope": {"mode": "restart"}}})
