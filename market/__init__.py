"""Compute Market: an agent-based model of the market for AI compute.

``from market import ComputeMarket, STAGES`` works as before; the names are loaded
on first use, so importing a lower layer (``market.io``, ``market.mechanisms``) does
not pull in the model and the agents with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market.core.model import STAGES, ComputeMarket
    from market.io.scenario import Scenario, ScenarioError, builtin_names, load_scenario

_WHERE = {
    "STAGES": "market.core.model",
    "ComputeMarket": "market.core.model",
    "Scenario": "market.io.scenario",
    "ScenarioError": "market.io.scenario",
    "builtin_names": "market.io.scenario",
    "load_scenario": "market.io.scenario",
}

__all__ = ["STAGES", "ComputeMarket", "Scenario", "ScenarioError", "builtin_names", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'market' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
