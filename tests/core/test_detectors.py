"""Tests of the consolidation kernels of Beloglazov & Buyya (CCPE 2012): overload detectors
against hand-computed thresholds and a plain-Python reference, VM selection on worked examples,
and PABFD with the SPECpower ML110 G4/G5 tables."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from vsim.core.detectors import (
    iqr,
    loess_predict,
    mad,
    multiple_correlation,
    multiple_correlation_lstsq,
    overloaded,
    pabfd_choose,
    pabfd_place,
    power_at,
    power_increase,
    select_mc,
    select_mmt,
    select_mu,
    select_rs,
    select_vms,
    upper_threshold,
)
from vsim.scenario.catalogue import SPECPOWER_TABLES

G4 = np.array(SPECPOWER_TABLES["hp_ml110_g4"])
G5 = np.array(SPECPOWER_TABLES["hp_ml110_g5"])
JUNK = 99.0  # fills the invalid (left) part of right-aligned histories: must be ignored

# Ten samples; sorted: 0.45 0.47 0.48 0.50 0.52 0.53 0.55 0.58 0.60 0.62
SAMPLE = [0.50, 0.52, 0.48, 0.55, 0.60, 0.45, 0.58, 0.62, 0.47, 0.53]


def right_aligned(rows: list[list[float]], width: int) -> tuple[np.ndarray, np.ndarray]:
    h = np.full((len(rows), width), JUNK)
    for i, r in enumerate(rows):
        if r:
            h[i, width - len(r) :] = r
    return h, np.array([len(r) for r in rows])


# --------------------------------------------------------------------------- IQR / MAD by hand


def test_iqr_threshold_by_hand():
    # Linear quantiles (position (n-1)p on the sorted sample, n = 10):
    #   Q1 at 2.25: 0.48 + 0.25 * (0.50 - 0.48) = 0.485
    #   Q3 at 6.75: 0.55 + 0.75 * (0.58 - 0.55) = 0.5725
    #   IQR = 0.0875, T_u = 1 - 1.5 * 0.0875 = 0.86875
    h, n = right_aligned([SAMPLE], 14)
    assert iqr(h, n)[0] == pytest.approx(0.0875, abs=1e-12)
    assert upper_threshold("iqr", h, n, 1.5)[0] == pytest.approx(0.86875, abs=1e-12)
    # Weibull quantiles (1-based position (n+1)p, i.e. 0-based (n+1)p - 1):
    #   Q1 at 1.75: 0.47 + 0.75 * 0.01 = 0.4775; Q3 at 7.25: 0.58 + 0.25 * 0.02 = 0.585
    #   IQR = 0.1075, T_u = 1 - 1.5 * 0.1075 = 0.83875
    assert upper_threshold("iqr", h, n, 1.5, quantile_method="weibull")[0] == pytest.approx(
        0.83875, abs=1e-12
    )


def test_iqr_cloudsim_ranks_by_hand():
    # CloudSim 4.0 MathUtil.iqr: sorted data at 0-based round(p (n + 1)) - 1, Java's
    # Math.round (half up), no interpolation.
    # n = 10: ranks round(2.75) = 3 and round(8.25) = 8 -> 0.48 and 0.58, IQR 0.10
    h, n = right_aligned([SAMPLE], 14)
    assert iqr(h, n, "cloudsim")[0] == pytest.approx(0.10, abs=1e-12)
    assert upper_threshold("iqr", h, n, 1.5, quantile_method="cloudsim")[0] == pytest.approx(
        0.85, abs=1e-12
    )
    # n = 9 puts both ranks on halves: round(2.5) = 3 (half-even would give 2) and
    # round(7.5) = 8 -> sorted .45 .47 [.48] .50 .52 .55 .58 [.60] .62, IQR 0.12
    h, n = right_aligned([SAMPLE[:9]], 14)
    assert iqr(h, n, "cloudsim")[0] == pytest.approx(0.12, abs=1e-12)


def test_mad_threshold_by_hand():
    # median = (0.52 + 0.53) / 2 = 0.525; |x - 0.525| sorted:
    #   .005 .005 .025 .025 .045 .055 .055 .075 .075 .095 -> MAD = (.045 + .055) / 2 = 0.05
    # T_u = 1 - 2.5 * 0.05 = 0.875
    h, n = right_aligned([SAMPLE], 10)
    assert mad(h, n)[0] == pytest.approx(0.05, abs=1e-12)
    assert upper_threshold("mad", h, n, 2.5)[0] == pytest.approx(0.875, abs=1e-12)


def test_overloaded_iqr_mad_thr_decisions():
    h, n = right_aligned([SAMPLE, SAMPLE], 12)
    cur = np.array([0.87, 0.88])
    # IQR T_u = 0.86875: both above. MAD T_u = 0.875: only 0.88. THR 0.8: both.
    np.testing.assert_array_equal(overloaded("iqr", h, n, cur, 1.5), [True, True])
    np.testing.assert_array_equal(overloaded("mad", h, n, cur, 2.5), [False, True])
    np.testing.assert_array_equal(
        overloaded("thr", h, n, np.array([0.8, 0.81]), 0.8), [False, True]
    )


def test_fallback_to_static_threshold_with_short_history():
    # Host 0 has 9 samples (< 10): judged by u > 0.7 whatever the method. Host 1 has 10.
    h, n = right_aligned([SAMPLE[:9], SAMPLE], 12)
    cur = np.array([0.72, 0.72])
    for method, param in [("iqr", 1.5), ("mad", 2.5), ("lr", 1.2), ("lrr", 1.2)]:
        got = overloaded(method, h, n, cur, param)
        assert got[0], method  # fallback: 0.72 > 0.7
        assert not got[1], method  # adaptive: T_u ~ 0.87 (or prediction ~0.55 * 1.2 < 1)
    assert not overloaded("mad", h, n, np.array([0.69, 0.69]), 2.5)[0]
    # A custom minimum and fallback threshold.
    got = overloaded("mad", h, n, cur, 2.5, min_history=5, fallback_threshold=0.5)
    np.testing.assert_array_equal(got, [False, False])
    got = overloaded("mad", h, n, cur, 2.5, min_history=11, fallback_threshold=0.5)
    np.testing.assert_array_equal(got, [True, True])


# --------------------------------------------------------------------------- local regression


def test_lr_on_a_linear_history_extrapolates_the_line():
    # u_i = 0.35 + 0.05 i, i = 0..9 (the last 10 of 12 columns valid). Weighted least squares
    # recovers an exact line whatever the weights: next value 0.85; 3 steps ahead 0.95.
    line = [0.35 + 0.05 * i for i in range(10)]
    h, n = right_aligned([line, line[:-1] + [0.80]], 12)
    np.testing.assert_allclose(loess_predict(h, n), [0.85, 0.85], atol=1e-12)
    np.testing.assert_allclose(loess_predict(h, n, horizon=3), [0.95, 0.95], atol=1e-12)
    np.testing.assert_allclose(loess_predict(h, n, robust=True), [0.85, 0.85], atol=1e-12)
    # 1.2 * 0.85 = 1.02 >= 1: overloaded; with s = 1.1: 0.935 < 1: not.
    cur = np.array([0.8, 0.8])
    np.testing.assert_array_equal(overloaded("lr", h, n, cur, 1.2), [True, True])
    np.testing.assert_array_equal(overloaded("lr", h, n, cur, 1.1), [False, False])
    # A caller that has the prediction already passes it: the verdict is read from it (here
    # 0.80 for the second host: 1.2 * 0.80 < 1), with the fallback where history is short.
    pred = np.array([0.85, 0.80])
    np.testing.assert_array_equal(overloaded("lr", h, n, cur, 1.2, prediction=pred), [True, False])
    short = np.array([3, 3])  # (under min_history: current 0.8 > fallback 0.7)
    np.testing.assert_array_equal(
        overloaded("lr", h, short, cur, 1.2, prediction=np.zeros(2)), [True, True]
    )


def test_lr_uses_only_the_last_window_samples():
    # 20 samples: a flat 0.9 start, then a line 0.30 + 0.02 i over the last 10: prediction 0.50.
    line = [0.9] * 10 + [0.30 + 0.02 * i for i in range(10)]
    h, n = right_aligned([line], 20)
    assert loess_predict(h, n)[0] == pytest.approx(0.50, abs=1e-12)


def test_tricube_gives_the_oldest_window_sample_no_weight():
    # Cleveland's neighbourhood: the farthest of the k points has u = 1 -> T(1) = 0, so changing
    # it does not change the fit.
    line = [0.3 + 0.02 * i for i in range(10)]
    moved = [0.95] + line[1:]
    h, n = right_aligned([line, moved], 10)
    p = loess_predict(h, n)
    assert p[0] == pytest.approx(p[1], abs=1e-12)


def test_lrr_ignores_one_outlier_that_moves_lr():
    # Linear history with one spike (+0.4 at i = 8). LR's tricube weights favour recent samples,
    # so the spike pulls the prediction up; the bisquare robustness iterations give it weight 0
    # and LRR recovers the line's next value 0.30 + 0.03 * 10 = 0.60.
    line = [0.30 + 0.03 * i for i in range(10)]
    spiked = list(line)
    spiked[8] += 0.4
    h, n = right_aligned([spiked], 10)
    lr = loess_predict(h, n)[0]
    lrr = loess_predict(h, n, robust=True)[0]
    assert abs(lr - 0.60) > 0.1
    assert lrr == pytest.approx(0.60, abs=1e-9)
    # Decision with s = 1.4: LR predicts ~0.77 -> 1.08 >= 1, overloaded; LRR 0.60 -> 0.84.
    cur = np.array([line[-1]])
    assert overloaded("lr", h, n, cur, 1.4)[0]
    assert not overloaded("lrr", h, n, cur, 1.4)[0]


# --------------------------------------------------------------------------- reference check


def _py_quantile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    pos = (len(s) - 1) * p
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def reference_overloaded(method, rows, current, param, min_history=10, fallback=0.7):
    out = []
    for xs, u in zip(rows, current, strict=True):
        if method == "thr":
            out.append((u > param, param))
            continue
        if len(xs) < min_history:
            out.append((u > fallback, None))
            continue
        if method == "iqr":
            t = 1 - param * (_py_quantile(xs, 0.75) - _py_quantile(xs, 0.25))
        else:
            med = statistics.median(xs)
            t = 1 - param * statistics.median([abs(x - med) for x in xs])
        out.append((u > t, t))
    return out


@pytest.mark.parametrize("method,param", [("thr", 0.8), ("iqr", 1.5), ("mad", 2.5)])
def test_matches_plain_python_reference(method, param):
    rng = np.random.default_rng(42)
    width = 20
    for _ in range(20):
        n_hosts = 50
        lengths = rng.integers(0, width + 1, n_hosts)
        rows = [list(rng.beta(2, 3, k)) for k in lengths]
        h, n = right_aligned(rows, width)
        current = rng.uniform(0.3, 1.0, n_hosts)
        got = overloaded(method, h, n, current, param)
        want = reference_overloaded(method, rows, current, param)
        if method != "thr":
            t = upper_threshold(method, h, n, param)
        for i, (flag, thr) in enumerate(want):
            if thr is not None and method != "thr":
                assert t[i] == pytest.approx(thr, abs=1e-12)
                if abs(current[i] - thr) < 1e-9:
                    continue
            assert got[i] == flag


def test_bad_method_and_shapes():
    h, n = right_aligned([SAMPLE], 10)
    with pytest.raises(ValueError):
        overloaded("nope", h, n, np.array([0.5]), 1.0)
    with pytest.raises(ValueError):
        overloaded("mad", h, np.array([11]), np.array([0.5]), 1.0)
    with pytest.raises(ValueError):
        overloaded("mad", h, n, np.array([0.5, 0.5]), 1.0)


# --------------------------------------------------------------------------- VM selection

# Three hosts; VMs (index: host, RAM MB, CPU utilization):
#   0: h0, 1740, 0.30    1: h0, 870, 0.50    2: h0, 870, 0.10
#   3: h1, 613, 0.40     4: h1, 1740, 0.20   (host 2 has no VMs)
VM_HOST = np.array([0, 0, 0, 1, 1])
VM_RAM = np.array([1740.0, 870.0, 870.0, 613.0, 1740.0])
VM_UTIL = np.array([0.30, 0.50, 0.10, 0.40, 0.20])


def test_mmt_worked_example():
    bw = np.array([100.0, 50.0, 10.0])  # spare bandwidth per host (MB/s)
    # h0: times 17.4, 8.7, 8.7 -> tie between VMs 1 and 2 -> lowest index 1.
    # h1: 12.26, 34.8 -> VM 3. h2: none.
    np.testing.assert_array_equal(select_mmt(VM_HOST, VM_RAM, bw, 3), [1, 3, -1])
    # VM 1 already migrating: next is VM 2. Only h1 overloaded: h0 not considered.
    elig = np.array([True, False, True, True, True])
    np.testing.assert_array_equal(select_mmt(VM_HOST, VM_RAM, bw, 3, eligible=elig), [2, 3, -1])
    hosts = np.array([False, True, False])
    np.testing.assert_array_equal(select_mmt(VM_HOST, VM_RAM, bw, 3, hosts=hosts), [-1, 3, -1])


def test_mu_worked_example():
    np.testing.assert_array_equal(select_mu(VM_HOST, VM_UTIL, 3), [2, 4, -1])
    elig = np.array([True, True, False, True, False])
    np.testing.assert_array_equal(select_mu(VM_HOST, VM_UTIL, 3, eligible=elig), [0, 3, -1])
    got = select_vms("mu", VM_HOST, 3, vm_util=VM_UTIL)
    np.testing.assert_array_equal(got, [2, 4, -1])


def test_rs_is_reproducible_and_uniform():
    # 3000 hosts with 3 VMs each: every VM position should be picked about 1000 times.
    vm_host = np.repeat(np.arange(3000), 3)
    a = select_rs(vm_host, 3000, np.random.default_rng(1))
    b = select_rs(vm_host, 3000, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert (vm_host[a] == np.arange(3000)).all()
    counts = np.bincount(a % 3, minlength=3)
    assert (np.abs(counts - 1000) < 120).all(), counts  # ~ 4.5 standard deviations
    # Only eligible VMs are drawn.
    elig = np.arange(9000) % 3 != 0
    c = select_rs(vm_host, 3000, np.random.default_rng(2), eligible=elig)
    assert (c % 3 != 0).all()


def test_mc_picks_a_vm_that_is_a_linear_combination_of_others():
    # Five VMs on one host, 40 samples. VM 3 = 0.5 VM1 + 0.5 VM2 + 0.1 exactly, so VMs 1, 2
    # and 3 are each an exact linear function of the others (R^2 = 1); VMs 0 and 4 are
    # independent noise (R^2 well below 1).
    rng = np.random.default_rng(3)
    base = rng.uniform(0.0, 0.5, (5, 40))
    base[3] = 0.5 * base[1] + 0.5 * base[2] + 0.1
    r2 = multiple_correlation(base.T)
    np.testing.assert_allclose(r2[[1, 2, 3]], 1.0, atol=1e-9)
    assert (r2[[0, 4]] < 0.5).all()
    vm_host = np.zeros(5, dtype=np.int64)
    n_valid = np.full(5, 40)
    assert select_mc(vm_host, base, n_valid, 1)[0] in (1, 2, 3)
    # Excluding the dependent group leaves the better of the two independent VMs.
    elig = np.array([True, False, False, False, True])
    want = 0 if r2[0] >= r2[4] else 4
    assert select_mc(vm_host, base, n_valid, 1, eligible=elig)[0] == want


def test_mc_hosts_mask_single_vm_and_fallback():
    rng = np.random.default_rng(4)
    hist = rng.uniform(0, 1, (4, 10))
    vm_host = np.array([0, 0, 0, 1])
    # Host 1 has one VM: it is the choice. Host 0 (3 VMs) with only 3 samples (< m + 1 = 4):
    # fallback to least MMT score -> VM 1 (RAM 100).
    n_valid = np.array([3, 10, 10, 10])
    ram = np.array([500.0, 100.0, 300.0, 50.0])
    got = select_vms(
        "mc", vm_host, 2, vm_history=hist, vm_n_valid=n_valid, vm_ram=ram, host_bandwidth=1.0
    )
    np.testing.assert_array_equal(got, [1, 3])
    got = select_mc(vm_host, hist, n_valid, 2, hosts=np.array([False, True]))
    np.testing.assert_array_equal(got, [-1, 3])


# --------------------------------------------------------------------------- PABFD


def test_power_interpolation_in_spec_tables():
    # 55 % on the G4: halfway between 102 (50 %) and 106 (60 %) = 104; 100 % = 117; 0 % = 86.
    # 25 %: G4 halfway 92.6 -> 96 = 94.3; G5 halfway 101 -> 105 = 103.
    np.testing.assert_allclose(power_at(np.array([0.55, 1.0, 0.0]), G4), [104.0, 117.0, 86.0])
    tables = np.stack([G4, G5])
    np.testing.assert_allclose(power_at(np.array([0.25, 0.25]), tables), [94.3, 103.0])


def test_pabfd_worked_example_ml110():
    # Host 0: ML110 G4, 2 x 1860 = 3720 MIPS, 1860 used (50 %, 102 W).
    # Host 1: ML110 G5, 2 x 2660 = 5320 MIPS, 2660 used (50 %, 116 W).
    cap = np.array([3720.0, 5320.0])
    used = np.array([1860.0, 2660.0])
    tables = np.stack([G4, G5])
    # VM of 500 MIPS:
    #   G4: 2360 / 3720 = 0.634409 -> 106 + 0.344086 * (108 - 106) = 106.688172; +4.688172 W
    #   G5: 3160 / 5320 = 0.593985 -> 116 + 0.939850 * (121 - 116) = 120.699248; +4.699248 W
    inc = power_increase(500.0, used, cap, tables)
    np.testing.assert_allclose(inc, [4.688172, 4.699248], atol=1e-6)
    assert pabfd_choose(500.0, used, cap, tables) == 0
    # VM of 1000 MIPS:
    #   G4: 2860 / 3720 = 0.768817 -> 108 + 0.688172 * 4 = 110.752688; +8.752688 W
    #   G5: 3660 / 5320 = 0.687970 -> 121 + 0.879699 * 4 = 124.518797; +8.518797 W
    np.testing.assert_allclose(
        power_increase(1000.0, used, cap, tables), [8.752688, 8.518797], atol=1e-6
    )
    assert pabfd_choose(1000.0, used, cap, tables) == 1
    # Both VMs with PABFD: decreasing MIPS, so 1000 first -> G5 (3660 used). Then 500:
    #   G4 still +4.688172 W; G5: 4160 / 5320 = 0.781955 -> 125 + 0.819549 * 4 = 128.278195,
    #   minus 124.518797 = +3.759398 W -> G5 again.
    assign, after = pabfd_place(np.array([500.0, 1000.0]), used, cap, tables)
    np.testing.assert_array_equal(assign, [1, 1])
    np.testing.assert_allclose(after, [1860.0, 4160.0])


def test_pabfd_feasibility_candidates_ties_and_idle_off():
    cap = np.array([3720.0, 5320.0])
    tables = np.stack([G4, G5])
    # Does not fit anywhere.
    assert pabfd_choose(4000.0, np.array([1860.0, 2660.0]), cap, tables) == -1
    # Candidate mask removes host 1.
    assert (
        pabfd_choose(
            1000.0, np.array([1860.0, 2660.0]), cap, tables, candidate=np.array([True, False])
        )
        == 0
    )
    # Identical hosts: tie -> lowest index.
    assert pabfd_choose(100.0, np.zeros(3), np.full(3, 3720.0), G4) == 0
    # idle_off: an empty G4 host costs its whole power (0 W -> 89.4 W at 10 %) while a loaded
    # one costs the slope: 1860 -> 2232 MIPS is 50 % -> 60 %: +4 W. Without idle_off the empty
    # host costs 86 -> 89.4 = +3.4 W and wins.
    used = np.array([0.0, 1860.0])
    cap2 = np.array([3720.0, 3720.0])
    assert pabfd_choose(372.0, used, cap2, G4) == 0
    assert pabfd_choose(372.0, used, cap2, G4, idle_off=True) == 1
    np.testing.assert_allclose(
        power_increase(372.0, used, cap2, G4, idle_off=True), [89.4, 4.0], atol=1e-9
    )
    # max_util: a host may not go above 80 %.
    assert pabfd_choose(1200.0, used, cap2, G4, max_util=0.8) == 0
    # Per-VM candidates (e.g. not the source host).
    assign, _ = pabfd_place(
        np.array([100.0, 100.0]),
        np.zeros(2),
        cap2,
        G4,
        candidate=np.array([[False, True], [True, False]]),
    )
    np.testing.assert_array_equal(assign, [1, 0])


def test_mc_two_vms_is_squared_pearson_correlation():
    # With one regressor, R^2 of either VM on the other is the squared Pearson correlation.
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 1.0, 30)
    y = 0.3 * x + rng.normal(0.0, 0.2, 30)
    rho = np.corrcoef(x, y)[0, 1]
    np.testing.assert_allclose(multiple_correlation(np.column_stack([x, y])), rho**2, rtol=1e-12)


@pytest.mark.parametrize("m", [2, 3, 5, 8, 12])
def test_mc_fast_path_matches_least_squares(m):
    # The inverse-Gram fast path against one lstsq regression per VM, on PlanetLab-like
    # histories (30 samples, correlated through a shared load).
    rng = np.random.default_rng(m)
    shared = rng.uniform(0.0, 1.0, 30)
    hist = rng.uniform(0.0, 1.0, (30, m)) + rng.uniform(0.0, 2.0, m) * shared[:, None]
    np.testing.assert_allclose(
        multiple_correlation(hist), multiple_correlation_lstsq(hist), rtol=1e-9, atol=1e-12
    )


def _mc_histories(rng, n, m, cond_scale):
    """PlanetLab-like histories (n samples x m VMs) with a last VM close to a combination of
    the others, ``cond_scale`` the size of what sets it apart (small: an ill-conditioned Gram
    matrix, around and beyond the limit of the inverse path)."""
    shared = rng.uniform(0.0, 1.0, n)
    hist = rng.uniform(0.0, 1.0, (n, m)) + rng.uniform(0.0, 2.0, m) * shared[:, None]
    hist[:, -1] = hist[:, :-1] @ rng.uniform(0.0, 1.0, m - 1) + cond_scale * rng.normal(size=n)
    return hist


@pytest.mark.parametrize("m", [2, 3, 8, 17, 25])
def test_mc_cond_bound_gives_the_same_r2_as_the_condition_number(m, monkeypatch):
    # The trace bound tr(S) tr(S^-1) only spares the SVD: bit for bit the same R^2 as always
    # computing the condition number, on well- and ill-conditioned histories (either side of
    # the limit, exactly collinear, a constant VM, too few samples).
    rng = np.random.default_rng(100 + m)
    cases = [_mc_histories(rng, 30, m, s) for s in (1.0, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 0.0)]
    const = _mc_histories(rng, 30, m, 1.0)
    const[:, 0] = 0.25
    cases += [const, _mc_histories(rng, m, m, 1.0)]
    svds = []
    real_cond = np.linalg.cond
    monkeypatch.setattr(np.linalg, "cond", lambda a: svds.append(1) or real_cond(a))
    for hist in cases:
        np.testing.assert_array_equal(
            multiple_correlation(hist), multiple_correlation(hist, cond_bound=False)
        )
    # Ordinary histories need no SVD; the general check still ran for the other cases.
    svds.clear()
    multiple_correlation(cases[0])
    assert svds == []
    multiple_correlation(cases[0], cond_bound=False)
    assert svds == [1]


def test_mc_r2_cache_reuses_only_the_same_histories():
    # Selecting one VM after another off the same hosts: with a cache, the same choices as
    # without, and a host whose histories changed is regressed again.
    rng = np.random.default_rng(21)
    n_vm, hosts = 24, 3
    vm_host = np.arange(n_vm) % hosts
    hist = rng.uniform(0.0, 1.0, (n_vm, 30)) + rng.uniform(0.0, 1.0, 30)
    n_valid = np.full(n_vm, 30)
    eligible = np.ones(n_vm, dtype=bool)
    cache: dict = {}
    for step in range(n_vm // hosts):
        if step == 3:
            hist = hist.copy()
            hist[vm_host == 1, -1] += 0.5  # host 1's latest sample changes
        want = select_mc(vm_host, hist, n_valid, hosts, eligible=eligible)
        got = select_mc(vm_host, hist, n_valid, hosts, eligible=eligible, r2_cache=cache)
        np.testing.assert_array_equal(got, want)
        assert set(cache) == {0, 1, 2}
        np.testing.assert_array_equal(cache[1][0], hist[vm_host == 1])
        eligible[want[want >= 0]] = False
    assert not eligible.any()
