"""Scenario files: schema, readable units and loading with clear errors."""

from vsim.scenario.loader import ScenarioError, apply_overrides, load_scenario, validate_scenario
from vsim.scenario.schema import PLACEMENT_POLICIES, Scenario

__all__ = [
    "PLACEMENT_POLICIES",
    "Scenario",
    "ScenarioError",
    "apply_overrides",
    "load_scenario",
    "validate_scenario",
]
