"""Tests for the shared resampling onto a regular grid."""

import numpy as np
import pytest

from vsim.traces.grid import grid_edges, grid_means, lifetimes


def test_means_are_time_weighted_by_hand() -> None:
    # Series 0: 2 over [0, 100), 5 over [100, 400). Series 1: 1 over [50, 250).
    series = np.array([0, 0, 1])
    starts = np.array([0.0, 100.0, 50.0])
    ends = np.array([400.0, 250.0])
    values = {"v": np.array([2.0, 5.0, 1.0])}
    out = grid_means(series, starts, ends, values, np.array([0.0, 200.0, 400.0]))["v"]
    # [0, 200): (2*100 + 5*100) / 200 = 3.5 ; [200, 400): 5
    np.testing.assert_allclose(out[0], [3.5, 5.0])
    # Series 1 covers [50, 200) and [200, 250): the mean over the covered part is 1 in both.
    np.testing.assert_allclose(out[1], [1.0, 1.0])


def test_uncovered_intervals_hold_the_nearest_value() -> None:
    out = grid_means(
        np.array([0, 0]),
        np.array([100.0, 200.0]),
        np.array([300.0]),
        {"v": np.array([4.0, 6.0])},
        np.array([0.0, 50.0, 100.0, 300.0, 400.0]),
    )["v"]
    np.testing.assert_allclose(out[0], [4.0, 4.0, 5.0, 6.0])


def test_grid_edges_and_lifetimes() -> None:
    np.testing.assert_allclose(grid_edges(10.0, 620.0, 300.0), [10.0, 310.0, 610.0, 910.0])
    with pytest.raises(ValueError, match="interval"):
        grid_edges(0.0, 1.0, 0.0)
    start, stop = lifetimes(np.array([0.0, 150.0]), np.array([1000.0, 500.0]), 100.0, 1000.0)
    np.testing.assert_allclose(start, [0.0, 50.0])
    np.testing.assert_allclose(stop, [np.inf, 400.0])


def test_each_series_alone_gives_the_bits_of_all_series_at_once():
    """The Bitbrains reader grids each VM on its own (in worker threads); OpenDC grids all at
    once. Both must give the same numbers, to the bit, on irregular integer-second clocks."""
    rng = np.random.default_rng(7)
    n = 6
    lengths = rng.integers(1, 40, n)
    series = np.repeat(np.arange(n), lengths)
    starts = np.concatenate(
        [1.37e9 + rng.integers(0, 5000) + np.cumsum(rng.integers(1, 600, k)) for k in lengths]
    )
    ends = np.array([starts[series == i].max() + 300.0 for i in range(n)])
    values = {"cpu": rng.random(series.size), "net": rng.random(series.size) * 1e6}
    edges = grid_edges(float(starts.min()) + 600.0, float(ends.max()), 300.0)
    together = grid_means(series, starts, ends, values, edges)
    for i in range(n):
        mine = series == i
        alone = grid_means(
            np.zeros(mine.sum(), dtype=np.int64),
            starts[mine],
            ends[i : i + 1],
            {k: v[mine] for k, v in values.items()},
            edges,
        )
        for k in values:
            assert np.array_equal(alone[k][0], together[k][i]), (i, k)
