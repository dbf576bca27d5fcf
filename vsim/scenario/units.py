"""Readable units in scenario files: durations, byte sizes and rates.

Scenario authors write ``5m``, ``4GiB`` or ``1Gbps``; the engine works in seconds, bytes and
bytes per second. A bare number is taken to be in the base unit already.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}

# SI prefixes are powers of 1000, IEC prefixes powers of 1024 (as storage vendors and the
# Linux kernel use them respectively).
BYTE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}

# Rates: bytes per second ("500MB/s") or bits per second as network people write them ("1Gbps").
BIT_RATE_UNITS = {"bps": 1, "Kbps": 10**3, "Mbps": 10**6, "Gbps": 10**9, "Tbps": 10**12}


def _not_negative(value: str | float | int, what: str) -> None:
    """Negative quantities get their own message, not "cannot read"."""
    if (isinstance(value, int | float) and value < 0) or str(value).strip().startswith("-"):
        raise ValueError(f"a {what} must not be negative, got {value!r}")


def _split(text: str, what: str, allowed: list[str]) -> tuple[float, str]:
    m = re.fullmatch(rf"\s*{_NUMBER}\s*([A-Za-zµ/]*)\s*", text)
    if not m:
        raise ValueError(
            f"cannot read {text!r} as a {what}; write a number with a unit, one of: "
            + ", ".join(allowed)
        )
    return float(m.group(1)), m.group(2)


def parse_duration(value: str | float | int) -> float:
    """Seconds from a number of seconds or a string such as ``"5m"``, ``"2h"``, ``"500ms"``."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string such as '5m'")
    if isinstance(value, int | float):
        return float(value)
    number, unit = _split(str(value), "duration", list(DURATION_UNITS))
    if unit == "":
        return number
    if unit not in DURATION_UNITS:
        raise ValueError(
            f"unknown duration unit {unit!r} in {value!r}; allowed: {', '.join(DURATION_UNITS)}"
        )
    return number * DURATION_UNITS[unit]


def parse_bytes(value: str | float | int) -> float:
    """Bytes from a number or a string such as ``"4GiB"`` or ``"512MB"``."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes or a string such as '4GiB'")
    _not_negative(value, "size")
    if isinstance(value, int | float):
        return float(value)
    number, unit = _split(str(value), "size", list(BYTE_UNITS))
    if unit == "":
        return number
    if unit not in BYTE_UNITS:
        raise ValueError(
            f"unknown size unit {unit!r} in {value!r}; allowed: {', '.join(BYTE_UNITS)}"
        )
    return number * BYTE_UNITS[unit]


def parse_rate(value: str | float | int) -> float:
    """Bytes per second from a number or a string such as ``"1Gbps"`` or ``"500MB/s"``."""
    if isinstance(value, bool):
        raise ValueError("a rate must be a number of bytes/s or a string such as '1Gbps'")
    _not_negative(value, "rate")
    if isinstance(value, int | float):
        return float(value)
    allowed = [f"{u}/s" for u in BYTE_UNITS] + list(BIT_RATE_UNITS)
    number, unit = _split(str(value), "rate", allowed)
    if unit == "":
        return number
    if unit in BIT_RATE_UNITS:
        return number * BIT_RATE_UNITS[unit] / 8.0
    if unit.endswith("/s") and unit[:-2] in BYTE_UNITS:
        return number * BYTE_UNITS[unit[:-2]]
    raise ValueError(f"unknown rate unit {unit!r} in {value!r}; allowed: {', '.join(allowed)}")


#: A memory size written as a bare number below this is almost surely missing its unit.
BARE_SIZE_SUSPECT = 2**20


def warn_bare_size(value: object, where: str) -> object:
    """Warn when a memory size is a small bare number (``memory: 64`` is 64 bytes); returns it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 0 < value < BARE_SIZE_SUSPECT:
            import warnings

            warnings.warn(
                f"{where}: memory {value:g} has no unit and is read as {value:g} bytes; "
                f"write a unit, e.g. {value:g}GiB",
                stacklevel=2,
            )
    return value


# Field types that read those units (the parsers are defined above, so these come last).
Seconds = Annotated[float, BeforeValidator(parse_duration)]
Bytes = Annotated[float, BeforeValidator(parse_bytes)]
BytesPerSecond = Annotated[float, BeforeValidator(parse_rate)]
