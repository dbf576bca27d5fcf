"""Tests for the in-memory trace form."""

import numpy as np
import pytest

from vsim.traces import TraceError, UtilizationTrace


def _trace() -> UtilizationTrace:
    return UtilizationTrace(
        names=("a", "b", "c"),
        times=np.array([0.0, 300.0, 600.0]),
        cpu=np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]),
        memory=np.full((3, 3), 0.5),
    )


def test_trace_error_is_value_error() -> None:
    assert issubclass(TraceError, ValueError)


def test_shapes_and_dtype() -> None:
    tr = UtilizationTrace(names=["x"], times=[0, 1], cpu=[[1, 0]])
    assert tr.names == ("x",)
    assert tr.n_series == 1 and tr.n_samples == 2
    assert tr.times.dtype == np.float64 and tr.cpu.dtype == np.float64
    assert tr.memory is None and tr.disk is None and tr.net is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cpu": np.zeros((2, 3))}, "cpu must have shape"),
        ({"cpu": np.zeros(3)}, "cpu must have shape"),
        ({"memory": np.zeros((3, 2))}, "memory must have shape"),
        ({"times": np.array([0.0, 300.0, 300.0])}, "strictly increasing"),
        ({"times": np.array([[0.0, 1.0, 2.0]])}, "1-D"),
        ({"cpu": np.full((3, 3), -0.1)}, "non-negative"),
        ({"disk": np.full((3, 3), np.nan)}, "finite"),
    ],
)
def test_validation(kwargs: dict, match: str) -> None:
    base = {
        "names": ("a", "b", "c"),
        "times": np.array([0.0, 300.0, 600.0]),
        "cpu": np.zeros((3, 3)),
    }
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        UtilizationTrace(**base)


def test_select_repeats_and_orders() -> None:
    tr = _trace()
    sub = tr.select(np.arange(5) % tr.n_series)
    assert sub.names == ("a", "b", "c", "a", "b")
    np.testing.assert_array_equal(sub.cpu[3], tr.cpu[0])
    assert sub.memory is not None and sub.memory.shape == (5, 3)
    assert sub.disk is None
    assert sub.times is tr.times
    rev = tr.select([2, 0])
    assert rev.names == ("c", "a")
    np.testing.assert_array_equal(rev.cpu, tr.cpu[[2, 0]])


def test_select_empty_and_out_of_range() -> None:
    tr = _trace()
    assert tr.select([]).n_series == 0
    with pytest.raises(IndexError):
        tr.select([3])
    with pytest.raises(ValueError):
        tr.select([True, False, True])


@pytest.mark.parametrize(
    ("t", "k"), [(-5.0, 0), (0.0, 0), (299.9, 0), (300.0, 1), (599.0, 1), (600.0, 2), (1e9, 2)]
)
def test_sample_index(t: float, k: int) -> None:
    assert _trace().sample_index(t) == k
