"""What every utilization workload asks besides CPU: memory, disk and network demand.

Kept apart from :mod:`vsim.scenario.schema` so that the workload kinds defined elsewhere (the
real traces of :mod:`vsim.scenario.tracekinds`) share the same fields without an import cycle.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from vsim.scenario.dirty import DirtyPages
from vsim.scenario.units import (
    BytesPerSecond,
    Seconds,
)
from vsim.scenario.virtualization import check_profile

# An operation profile: a preset name or rates per MI of work (vsim.scenario.virtualization).
Profile = Annotated[str | dict[str, float] | None, AfterValidator(check_profile)]


class Demand(DirtyPages):
    """Demand on memory, disk and network that accompanies the CPU demand of a workload."""

    profile: Profile = Field(
        None, description="operation profile: a preset name or rates per unit of CPU work"
    )
    memory: float = Field(1.0, ge=0, le=1, description="fraction of the guest's memory in use")
    disk: BytesPerSecond = Field(0.0, ge=0, description="disk bandwidth the guest uses, bytes/s")
    disk_iops: float = Field(0.0, ge=0, description="disk operations per second the guest issues")
    net: BytesPerSecond = Field(0.0, ge=0, description="network bandwidth the guest sends, bytes/s")
    step: Seconds | None = Field(
        None, gt=0, description="how often demand changes; default: the sample interval"
    )
