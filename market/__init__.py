"""Compute Market: an agent-based model of the market for AI compute."""

from market.core.model import STAGES, ComputeMarket
from market.io.scenario import Scenario, ScenarioError, builtin_names, load_scenario

__all__ = ["STAGES", "ComputeMarket", "Scenario", "ScenarioError", "builtin_names", "load_scenario"]
