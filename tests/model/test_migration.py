"""Live migration against the closed-form pre-copy series and hand-computed sharing."""

from __future__ import annotations

import pytest

import vsim
from tests.helpers import assert_passes
from vsim.core.precopy import precopy_schedule
from vsim.experiment.verify_cases import migration_scenario, precopy_migration
from vsim.scenario import validate_scenario

GIB = 2**30
NIC = 125e6  # 1 Gbps in bytes/s


def migration_row(res):
    (row,) = res.migrations.itertuples()
    return row


@pytest.mark.parametrize("dirty", ["0MB/s", "20MB/s", "60MB/s"])
def test_uncontended_precopy_matches_the_closed_form_series(dirty):
    # Total time, downtime, rounds and bytes within 1e-9 of the series (vsim verify's case).
    case = precopy_migration(dirty)
    res = vsim.run(case.scenario(1))
    assert_passes(case.check([case.measure(res)]))
    assert res.events.query("kind == 'migration_done'").shape[0] == 1
    assert res.summary["migrations"] == 1


def test_sharing_the_uplink_halves_the_bandwidth():
    # The talker wants the whole 1 Gbps uplink of the source; max-min gives each flow half,
    # so the migration follows the series with B/2 (dirty rate unchanged).
    sc = migration_scenario("20MB/s", noisy=True)
    row = migration_row(vsim.run(sc))
    expect = precopy_schedule(4 * GIB, NIC / 2, 20e6, max_downtime=0.3, device_state=2**20)
    assert row.end_s - row.start_s == pytest.approx(expect.total_time, rel=1e-9)
    alone = precopy_schedule(4 * GIB, NIC, 20e6, max_downtime=0.3, device_state=2**20)
    assert expect.total_time > 2 * alone.total_time  # the dirty pages make it worse than 2x


def test_dirty_rate_above_bandwidth_does_not_converge():
    # 200 MB/s dirtied against 125 MB/s: round 1 would be bigger than round 0.
    row = migration_row(vsim.run(migration_scenario("200MB/s")))
    assert not row.converged and row.rounds == 1
    # Stop-and-copy of what was dirtied during round 0 (capped at the whole memory).
    assert row.downtime_s == pytest.approx((4 * GIB + 2**20) / NIC, rel=1e-9)
    res = vsim.run(migration_scenario("200MB/s", on_no_convergence="abort"))
    assert res.summary["migrations_aborted"] == 1 and res.summary["migrations"] == 0
    assert res.guests.host.iloc[-1] == "h-0"


def test_postcopy_and_cold_downtimes():
    post = migration_row(vsim.run(migration_scenario(algorithm="postcopy")))
    assert post.downtime_s == pytest.approx(2**20 / NIC, rel=1e-9)
    assert post.end_s - post.start_s == pytest.approx((2**20 + 4 * GIB) / NIC, rel=1e-9)
    cold = migration_row(vsim.run(migration_scenario(algorithm="cold")))
    assert cold.downtime_s == pytest.approx((4 * GIB + 2**20) / NIC, rel=1e-9)


def test_refused_when_the_destination_is_full():
    sc = migration_scenario()
    data = sc.model_dump()
    data["datacenter"]["host_types"][0]["memory"] = 5 * GIB  # 4 GiB guest: fits one host only
    data["guests"].append({**data["guests"][0], "name": "w", "host": "h-1"})
    res = vsim.run(validate_scenario(data))
    assert (res.events.kind == "migration_refused").sum() == 1
