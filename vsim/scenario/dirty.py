"""How a workload dirties its guest's memory, for live migration: the fields every workload
kind shares.

Two modes. ``dirty_rate`` (bytes/s) is a constant: the guest dirties memory at that rate
whenever it runs, however much CPU it gets. ``dirty_per_mi`` (bytes per MI of useful CPU work)
ties dirtying to the work the guest actually does, as SimGrid's live-migration model does
(Hirofuchi et al., "Adding a live migration model into SimGrid", IEEE CloudCom 2013: dirty
pages proportional to the computation the VM performed): a guest throttled by CPU contention,
slowed by its own migration or idle dirties proportionally less, and a paused one none. Either
way no round resends more than the writable working set ``wws`` (Clark et al., "Live Migration
of Virtual Machines", NSDI 2005, section 3).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from vsim.scenario.base import Strict
from vsim.scenario.units import Bytes, BytesPerSecond


class DirtyPages(Strict):
    """Memory a workload writes, which a live migration must resend (docs/network.md)."""

    dirty_rate: BytesPerSecond = Field(
        0.0, ge=0, description="memory written, bytes/s while running, for migration"
    )
    dirty_per_mi: Bytes | None = Field(
        None,
        ge=0,
        description="memory written per MI of useful CPU work (bytes/MI), for migration; "
        "replaces dirty_rate: the dirty rate follows the CPU the guest gets",
    )
    wws: Bytes | None = Field(None, ge=0, description="writable working set, for migration")

    @model_validator(mode="after")
    def _one_dirty_mode(self):
        if self.dirty_per_mi is not None and self.dirty_rate > 0:
            raise ValueError(
                "give dirty_rate (constant bytes/s) or dirty_per_mi (bytes per MI of work), "
                "not both"
            )
        return self
