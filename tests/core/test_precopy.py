"""Pre-copy live migration schedule against the closed-form geometric series (Clark et al.,
NSDI 2005; Akoush et al., MASCOTS 2010), written once in ``vsim.experiment.verify_cases``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsim.core.precopy import precopy_schedule
from vsim.experiment.verify_cases import precopy_closed_form

GiB = 2.0**30
REL = 1e-12


def test_worked_example_4gib_at_1gbit():
    # M = 4 GiB, B = 125e6 B/s (1 Gbit/s), D = 25e6 B/s -> r = 0.2.
    # Remainders M r^(i+1) / B: 6.87 s, 1.37 s, 0.275 s <= 0.3 -> stop after round n = 2.
    M, B, D = 4 * GiB, 125e6, 25e6
    res = precopy_schedule(M, B, D)
    assert res.rounds == 3 and res.converged and res.stop_reason == "downtime"
    np.testing.assert_allclose(res.round_bytes, [M, M * 0.2, M * 0.04], rtol=REL)
    assert res.live_time == pytest.approx((M / B) * (1 + 0.2 + 0.04), rel=REL)
    assert res.downtime == pytest.approx(M * 0.008 / B, rel=REL)
    assert res.total_time == pytest.approx((M / B) * 1.248, rel=REL)
    assert res.total_bytes == pytest.approx(M * 1.248, rel=REL)


@settings(max_examples=200, deadline=None)
@given(
    mem_gib=st.floats(0.25, 64),
    bw=st.floats(1e7, 1.25e9),
    r=st.floats(0.0, 0.95),
    td=st.floats(0.01, 2.0),
    state=st.floats(0, 1e7),
)
def test_matches_geometric_series(mem_gib, bw, r, td, state):
    M, D = mem_gib * GiB, r * bw
    if r > 0.0:
        x = math.log(td * bw / M) / math.log(D / bw)
        # Skip parameters within rounding of a round boundary (ceil would be ambiguous).
        if abs(x - round(x)) < 1e-9:
            return
    n, live, down, tot = precopy_closed_form(M, bw, D, td, state)
    if n + 1 > 30:
        return
    res = precopy_schedule(M, bw, D, max_downtime=td, device_state=state)
    assert res.converged
    assert res.rounds == n + 1
    np.testing.assert_allclose(res.round_bytes, M * (D / bw) ** np.arange(n + 1), rtol=REL)
    np.testing.assert_allclose(res.round_time, res.round_bytes / bw, rtol=REL)
    assert res.live_time == pytest.approx(live, rel=REL)
    assert res.downtime == pytest.approx(down, rel=REL, abs=1e-300)
    assert res.total_time == pytest.approx(live + down, rel=REL)
    assert res.total_bytes == pytest.approx(tot, rel=REL)


def test_small_memory_still_sends_round_zero():
    # 100 MB at 1 GB/s fits the budget outright, but round 0 is always a full pass: downtime is
    # what was dirtied during it: 0.1 s * 50 MB/s = 5 MB -> 5 ms.
    res = precopy_schedule(100e6, 1e9, 50e6)
    assert res.rounds == 1
    assert res.downtime == pytest.approx(5e-3, rel=REL)
    assert res.total_time == pytest.approx(0.105, rel=REL)


def test_zero_dirty_rate_downtime_is_device_state_only():
    res = precopy_schedule(GiB, 1e8, 0.0, device_state=2e6)
    assert res.rounds == 1 and res.converged
    assert res.downtime == pytest.approx(0.02, rel=REL)
    assert res.total_bytes == pytest.approx(GiB + 2e6, rel=REL)


@pytest.mark.parametrize("r", [1.0, 1.5, 4.0])
def test_dirty_rate_at_or_above_bandwidth_stops_on_no_progress(r):
    # V_1 = min(D * M / B, M) = M >= V_0: no shrink -> stop after round 0 and copy all memory.
    M, B = 2 * GiB, 1e8
    res = precopy_schedule(M, B, r * B)
    assert not res.converged and res.stop_reason == "no_progress"
    assert res.rounds == 1
    assert res.downtime == pytest.approx(M / B, rel=REL)  # remainder capped at memory
    assert res.total_bytes == pytest.approx(2 * M, rel=REL)


def test_dirty_rate_above_bandwidth_runs_to_max_rounds_without_shrink_check():
    M, B = 2 * GiB, 1e8
    res = precopy_schedule(M, B, 2 * B, max_rounds=7, min_shrink=None)
    assert res.stop_reason == "max_rounds" and not res.converged
    assert res.rounds == 7
    # Every round resends all memory (the remainder is capped at M).
    np.testing.assert_allclose(res.round_bytes, [M] * 7, rtol=REL)
    assert res.total_time == pytest.approx(8 * M / B, rel=REL)


def test_max_rounds_cuts_a_slowly_converging_migration():
    # r = 0.9: closed form needs many rounds; with max_rounds = 5 the remainder after round 4,
    # M r^5, is copied with the guest paused.
    M, B = 8 * GiB, 1e8
    res = precopy_schedule(M, B, 0.9 * B, max_rounds=5)
    assert res.stop_reason == "max_rounds" and res.rounds == 5
    assert res.downtime == pytest.approx(M * 0.9**5 / B, rel=REL)
    assert res.live_time == pytest.approx((M / B) * (1 - 0.9**5) / (1 - 0.9), rel=REL)


def test_min_shrink_stops_a_slow_series_early():
    # r = 0.9 shrinks by 10 % per round; demanding 20 % stops after round 0.
    res = precopy_schedule(8 * GiB, 1e8, 0.9e8, min_shrink=0.2)
    assert res.stop_reason == "no_progress" and res.rounds == 1
    assert res.downtime == pytest.approx(8 * GiB * 0.9 / 1e8, rel=REL)


def test_writable_working_set_bounds_rounds():
    # M = 4 GiB, B = 1e8 B/s, D = 0.5 B, WWS W = 256 MiB (W / B = 2.684 s). Round 0 would leave
    # D * M / B = M / 2 dirty, but at most W: V_1 = W; afterwards D * V_i / B = V_i / 2 < W, so
    # V_i = W / 2^(i-1). Remainders / B after rounds 0..4: 2.68, 1.34, 0.67, 0.335, 0.168 s ->
    # the one after round 4 fits 0.3 s: rounds [M, W, W/2, W/4, W/8], downtime W / 16 / B.
    M, B, W = 4 * GiB, 1e8, 256 * 2**20
    res = precopy_schedule(M, B, 0.5 * B, wws=W)
    assert res.converged and res.rounds == 5
    np.testing.assert_allclose(res.round_bytes, [M, W, W / 2, W / 4, W / 8], rtol=REL)
    assert res.downtime == pytest.approx(W / 16 / B, rel=REL)
    # D = 2 B: every round would dirty more than it sends, so the WWS caps each remainder:
    # V_1 = V_2 = W, no shrink -> stop after round 1 and copy W paused.
    res = precopy_schedule(M, B, 2 * B, wws=W)
    assert res.stop_reason == "no_progress" and not res.converged
    np.testing.assert_allclose(res.round_bytes, [M, W], rtol=REL)
    assert res.downtime == pytest.approx(W / B, rel=REL)
    # A WWS small enough to fit the budget converges after round 0: 20 MB / 100 MB/s = 0.2 s.
    res = precopy_schedule(M, B, 0.5 * B, wws=20e6)
    assert res.converged and res.rounds == 1 and res.downtime == pytest.approx(0.2, rel=REL)


def test_bad_input():
    for kwargs in (
        dict(memory=-1.0, bandwidth=1.0, dirty_rate=0.0),
        dict(memory=1.0, bandwidth=0.0, dirty_rate=0.0),
        dict(memory=1.0, bandwidth=1.0, dirty_rate=-1.0),
    ):
        with pytest.raises(ValueError):
            precopy_schedule(**kwargs)
    with pytest.raises(ValueError):
        precopy_schedule(1.0, 1.0, 0.0, max_rounds=0)
