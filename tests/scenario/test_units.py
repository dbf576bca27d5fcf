import pytest

from vsim.scenario.units import parse_bytes, parse_duration, parse_rate


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("500ms", 0.5),
        ("30s", 30),
        (42, 42),
        ("1.5h", 5400),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text, size",
    [("4GiB", 4 * 2**30), ("512MB", 512e6), ("1TiB", 2**40), ("100", 100), (2048, 2048)],
)
def test_sizes(text, size):
    assert parse_bytes(text) == size


@pytest.mark.parametrize(
    "text, rate",
    [("1Gbps", 125e6), ("100Mbps", 12.5e6), ("500MB/s", 500e6), ("1GiB/s", 2**30), (10, 10)],
)
def test_rates_in_bytes_per_second(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("bad", ["5 weeks", "fast", "1Gbit", True])
def test_unreadable_values_name_the_allowed_units(bad):
    with pytest.raises(ValueError) as err:
        parse_rate(bad)
    assert "rate" in str(err.value)
