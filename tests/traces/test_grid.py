"""Tests for the shared resampling onto a regular grid."""

import numpy as np
import pytest

from vsim.traces.grid import grid_edges, grid_means, grid_series, lifetimes


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
    """A reader may grid each series on its own or all at once (OpenDC): both must give the
    same numbers, to the bit, on irregular integer-second clocks."""
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


def test_one_series_stacked_by_hand() -> None:
    # 2 over [0, 100), 5 over [100, 400); CPU-like and a second quantity 10x larger.
    out = np.empty((2, 3))
    grid_series(
        np.array([0.0, 100.0]),
        400.0,
        np.array([[2.0, 5.0], [20.0, 50.0]]),
        np.array([-100.0, 0.0, 200.0, 500.0]),
        out,
    )
    # [-100, 0): before the first row, its value; [0, 200): (2*100 + 5*100) / 200 = 3.5;
    # [200, 500): only [200, 400) covered, 5.
    np.testing.assert_allclose(out, [[2.0, 3.5, 5.0], [20.0, 35.0, 50.0]])


@pytest.mark.parametrize("clock", ["seconds", "milliseconds"])
def test_grid_series_gives_the_bits_of_grid_means(clock: str) -> None:
    """grid_series (the Bitbrains reader's, one VM at a time, segments found by a merge) does
    grid_means' arithmetic: the same bits, with edges on row times, before the first row,
    after the end, and one-row series."""
    rng = np.random.default_rng(11)
    for k in (1, 2, 3, 50, 400):
        steps = rng.integers(1, 600, k).astype(float)
        if clock == "milliseconds":  # the reader divides ms timestamps by 1000
            steps = rng.integers(1, 600_000, k) / 1000.0
        starts = 1.37e9 + np.cumsum(steps)
        end = float(starts[-1]) + 300.0
        values = rng.random((3, k)) * np.array([[1.0], [1.0], [1e6]])
        for lo, step in ((starts[0] - 900.0, 300.0), (starts[0], 7.0), (starts[k // 2], 61.0)):
            edges = grid_edges(float(lo), end + 600.0, step)
            edges[1] = starts[min(1, k - 1)]  # an edge exactly on a row's time
            edges.sort()
            ref = grid_means(
                np.zeros(k, dtype=np.int64),
                starts,
                np.array([end]),
                {str(j): values[j] for j in range(3)},
                edges,
            )
            out = grid_series(starts, end, values, edges, np.empty((3, edges.size - 1)))
            for j in range(3):
                assert np.array_equal(out[j], ref[str(j)][0]), (k, lo, j)
