"""Dynamic VM consolidation, as a scenario section (``consolidation:``).

Beloglazov & Buyya, "Optimal online deterministic algorithms and adaptive heuristics for energy
and performance efficient dynamic consolidation of virtual machines in cloud data centers",
Concurrency and Computation: Practice and Experience 24(13):1397-1420, 2012 (below: "the
paper"). Every ``interval`` the controller detects overloaded hosts, selects VMs to move off
them, places those with power-aware best-fit decreasing, then evacuates underloaded hosts and
switches them off. See ``vsim.model.consolidation`` and ``docs/consolidation.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from vsim.scenario.base import Strict, policy_name
from vsim.scenario.units import Seconds

DETECTORS = ("none", "thr", "iqr", "mad", "lr", "lrr")
SELECTIONS = ("mmt", "mc", "rs", "mu")
PLACEMENTS = ("pabfd",)
# The paper's best-performing parameter of each detector (Section 7.4, Table III: THR 0.8,
# IQR 1.5, MAD 2.5, LR 1.2, LRR 1.2), used when ``param`` is not given.
DEFAULT_PARAM = {"none": 0.0, "thr": 0.8, "iqr": 1.5, "mad": 2.5, "lr": 1.2, "lrr": 1.2}


class Consolidation(Strict):
    """How and how often VMs are consolidated.

    ``profile: cloudsim`` reproduces the semantics of CloudSim 4.0 (the paper's own code) where
    they change the figures: migrations take ``RAM / (NIC / 2)`` (no dirty pages, no device
    state, no migration-thread CPU), the destination reserves 10 % of the migrating VM's MIPS,
    host histories are the sum of the current VMs' histories, IQR takes CloudSim's quartiles
    (the sorted history at rank ``round(p (n + 1))``), IQR and MAD test a target host with the
    VM's history added to the host's, LR/LRR predict
    ``max(1, ceil(max migration time / interval))`` steps ahead, placement measures a host's
    power increase from its power when the round began (idle power if empty),
    active hosts for SLATAH are those with utilization > 0, and the
    summary gains ``energy_kwh_cloudsim`` (0 W at 0 % utilization, trapezoidal per interval).
    """

    profile: Literal["vsim", "cloudsim"] = Field(
        "vsim",
        description="vsim: vsim's own models; cloudsim: CloudSim 4.0's semantics (see the section)",
    )
    interval: Seconds = Field(300.0, gt=0, description="time between two consolidation rounds")
    # Each policy: a built-in name, one registered with vsim.policies.register, or an import
    # path 'module:attribute' (see vsim.policies for the signatures).
    detector: str = Field(
        "thr", description="overload detector: a built-in name or an import path module:attribute"
    )
    param: float | None = Field(
        None,
        ge=0,
        description="threshold (thr) or safety parameter s; default: the paper's. With a user "
        "detector: the utilization a destination may reach (default: fallback_threshold)",
    )
    selection: str = Field(
        "mmt", description="which VM leaves an overloaded host: a built-in name or an import path"
    )
    placement: str = Field(
        "pabfd", description="where a migrating VM goes: a built-in name or an import path"
    )
    underload: bool = Field(True, description="evacuate least-loaded hosts and switch them off")
    switch_off_idle: bool = Field(True, description="switch hosts without guests off (0 W)")
    host_boot_time: Seconds = Field(
        0.0, ge=0, description="an off host takes this long to come back (paper: sleep mode)"
    )
    min_history: int = Field(10, ge=1, description="samples before adaptive detectors apply")
    fallback_threshold: float = Field(0.7, gt=0, description="static threshold until then")
    history_length: int = Field(30, ge=2, description="utilization samples kept per host/VM")
    lr_window: int = Field(10, ge=3, description="observations the local regression fits")
    power_aware: bool = Field(
        True,
        description="false = the paper's NPA: every host that is on draws its peak power",
    )

    @field_validator("detector")
    @classmethod
    def _detector(cls, v: str, info: ValidationInfo) -> str:
        return policy_name("detector", v, DETECTORS, info)

    @field_validator("selection")
    @classmethod
    def _selection(cls, v: str, info: ValidationInfo) -> str:
        return policy_name("selection", v, SELECTIONS, info)

    @field_validator("placement")
    @classmethod
    def _placement(cls, v: str, info: ValidationInfo) -> str:
        return policy_name("target", v, PLACEMENTS, info)

    @model_validator(mode="after")
    def _history(self) -> Consolidation:
        if self.min_history > self.history_length:
            raise ValueError(
                f"min_history ({self.min_history}) exceeds history_length ({self.history_length})"
            )
        return self

    @property
    def threshold_param(self) -> float:
        if self.param is not None:
            return self.param
        return DEFAULT_PARAM.get(self.detector, self.fallback_threshold)
