"""Compute Market: an agent-based model of the market for AI compute."""

from market.model import STAGES, ComputeMarket
from market.scenario import Scenario, ScenarioError, builtin_names, load_scenario

__all__ = ["STAGES", "ComputeMarket", "Scenario", "ScenarioError", "builtin_names", "load_scenario"]
