"""Tests for the synthetic demand generators, against closed-form values."""

import math

import numpy as np
import pytest

from vsim.traces import constant, diurnal, random_walk

DAY = 86400.0


def test_constant_single_sample() -> None:
    tr = constant(3, cpu=0.4, memory=0.5)
    np.testing.assert_array_equal(tr.times, [0.0])
    np.testing.assert_array_equal(tr.cpu, np.full((3, 1), 0.4))
    np.testing.assert_array_equal(tr.memory, np.full((3, 1), 0.5))
    assert tr.disk is None and tr.net is None
    assert tr.names == ("const-0", "const-1", "const-2")


def test_constant_on_grid_per_series() -> None:
    tr = constant(2, cpu=[0.1, 0.9], duration_s=1000.0, interval_s=300.0, disk=1e6, net=[1, 2])
    assert tr.cpu.shape == (2, 4)  # ceil(1000 / 300) = 4
    np.testing.assert_array_equal(tr.times, [0, 300, 600, 900])
    np.testing.assert_array_equal(tr.cpu[:, 3], [0.1, 0.9])
    np.testing.assert_array_equal(tr.disk, np.full((2, 4), 1e6))
    np.testing.assert_array_equal(tr.net[:, 0], [1, 2])
    with pytest.raises(ValueError, match="both"):
        constant(1, cpu=0.1, duration_s=10.0)
    with pytest.raises(ValueError, match="length n"):
        constant(2, cpu=[0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("duration", "interval", "expected"), [(86400, 300, 288), (1.1, 0.1, 11), (1001, 300, 4)]
)
def test_sample_count_is_ceil(duration: float, interval: float, expected: int) -> None:
    tr = diurnal(
        1, mean=0.5, amplitude=0.1, period_s=10.0, duration_s=duration, interval_s=interval
    )
    assert tr.n_samples == expected


def test_diurnal_mean_over_whole_periods_is_exact() -> None:
    phases = np.array([0.0, 1234.5, DAY / 3])
    tr = diurnal(
        3, mean=0.4, amplitude=0.3, period_s=DAY, phase_s=phases, duration_s=2 * DAY, interval_s=300
    )
    assert tr.cpu.shape == (3, 576)
    # Midpoint rule of a sine over whole periods sums to zero exactly.
    np.testing.assert_allclose(tr.cpu.mean(axis=1), 0.4, rtol=0, atol=1e-12)


def test_diurnal_peak_and_trough() -> None:
    # 4 samples per period; midpoints at period/8 + k period/4 -> sin = ±sqrt(2)/2.
    # With phase -period/8 the midpoints fall on 0, P/4, P/2, 3P/4: sin = 0, 1, 0, -1.
    tr = diurnal(
        1, mean=0.5, amplitude=0.25, period_s=400.0, phase_s=-50.0, duration_s=400.0, interval_s=100
    )
    np.testing.assert_allclose(tr.cpu[0], [0.5, 0.75, 0.5, 0.25], atol=1e-15)
    assert tr.cpu.max() == pytest.approx(0.75) and tr.cpu.min() == pytest.approx(0.25)


def test_diurnal_clips_to_unit_interval() -> None:
    tr = diurnal(1, mean=0.5, amplitude=2.0, period_s=DAY, duration_s=DAY, interval_s=300)
    assert tr.cpu.min() == 0.0 and tr.cpu.max() == 1.0


def test_diurnal_midpoint_of_short_last_interval() -> None:
    # duration 150 with interval 100: last interval is [100, 150), midpoint 125.
    tr = diurnal(1, mean=0.5, amplitude=0.5, period_s=1000.0, duration_s=150.0, interval_s=100.0)
    expected = 0.5 + 0.5 * np.sin(2 * np.pi * np.array([50.0, 125.0]) / 1000.0)
    np.testing.assert_allclose(tr.cpu[0], expected, rtol=0, atol=1e-15)


def _walk(seed: int, **kw: float) -> np.ndarray:
    params = {"start": 0.5, "sigma": 0.2, "duration_s": 3600.0, "interval_s": 10.0}
    params.update(kw)
    return random_walk(50, rng=np.random.default_rng(seed), **params).cpu


def test_random_walk_bounds_and_start() -> None:
    cpu = _walk(1, low=0.2, high=0.6, start=0.3, sigma=0.5)  # big steps: many reflections
    assert cpu.shape == (50, 360)
    assert cpu.min() >= 0.2 and cpu.max() <= 0.6
    np.testing.assert_array_equal(cpu[:, 0], 0.3)


def test_random_walk_reproducible_and_seed_dependent() -> None:
    np.testing.assert_array_equal(_walk(7), _walk(7))
    assert not np.array_equal(_walk(7), _walk(8))


def test_random_walk_unreflected_steps_are_the_draws() -> None:
    # Far from the bounds the walk is start + cumulative sum of the N(0, sigma) draws.
    rng = np.random.default_rng(3)
    tr = random_walk(
        2,
        start=500.0,
        sigma=[1.0, 2.0],
        duration_s=5.0,
        interval_s=1.0,
        rng=rng,
        low=0.0,
        high=1000.0,
    )
    draws = np.random.default_rng(3).normal(size=(2, 4)) * np.array([[1.0], [2.0]])
    expected = 500.0 + np.concatenate([np.zeros((2, 1)), np.cumsum(draws, axis=1)], axis=1)
    np.testing.assert_allclose(tr.cpu, expected, rtol=0, atol=1e-12)


def test_random_walk_reflects_like_a_mirror() -> None:
    # A walk reflected in [0, 1] visits the whole interval evenly in the long run, no pile-up
    # at the bounds (which clipping would create): the stationary law is uniform, mean 1/2,
    # variance 1/12.
    cpu = random_walk(
        200, start=0.5, sigma=0.3, duration_s=2000.0, interval_s=1.0, rng=np.random.default_rng(0)
    ).cpu[:, 100:]
    assert cpu.mean() == pytest.approx(0.5, abs=0.01)
    assert cpu.var() == pytest.approx(1 / 12, abs=0.005)
    assert np.mean(cpu == 0.0) + np.mean(cpu == 1.0) == 0.0


def test_random_walk_argument_checks() -> None:
    rng = np.random.default_rng(0)
    common = {"duration_s": 10.0, "interval_s": 1.0, "rng": rng}
    with pytest.raises(ValueError, match="start"):
        random_walk(1, start=1.5, sigma=0.1, **common)
    with pytest.raises(ValueError, match="sigma"):
        random_walk(1, start=0.5, sigma=-0.1, **common)
    with pytest.raises(ValueError, match="low < high"):
        random_walk(1, start=0.5, sigma=0.1, low=0.5, high=0.5, **common)
    with pytest.raises(TypeError, match="Generator"):
        random_walk(1, start=0.5, sigma=0.1, duration_s=10.0, interval_s=1.0, rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval_s"):
        random_walk(1, start=0.5, sigma=0.1, duration_s=10.0, interval_s=0.0, rng=rng)
    assert math.isfinite(random_walk(1, start=0, sigma=0, **common).cpu.sum())
