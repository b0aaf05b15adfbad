"""Scenarios: the schema, reading files and overrides, and binding a scenario to its network."""

from sim.scenario.loading import DEFAULT_SCENARIO, load_scenario, shipped_scenarios
from sim.scenario.schema import ScenarioSpec

__all__ = ["DEFAULT_SCENARIO", "ScenarioSpec", "load_scenario", "shipped_scenarios"]
