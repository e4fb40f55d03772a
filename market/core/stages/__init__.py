"""The month, stage by stage: ``STAGES`` is the table the model's ``step`` runs in order.

Each stage is one function of the model in its own module; see docs/odd.md section 3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from market.core.stages.contracting import stage_contracting
from market.core.stages.demand import stage_demand
from market.core.stages.investment import stage_investment
from market.core.stages.observation import stage_observation
from market.core.stages.secondary import stage_secondary
from market.core.stages.settlement import stage_settlement
from market.core.stages.spot import stage_spot
from market.core.stages.supply import stage_supply
from market.core.stages.use import stage_use

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


class Stage(NamedTuple):
    name: str
    run: Callable[[ComputeMarket], None]


STAGES: tuple[Stage, ...] = (
    Stage("supply", stage_supply),
    Stage("demand", stage_demand),
    Stage("contracting", stage_contracting),
    Stage("secondary", stage_secondary),
    Stage("investment", stage_investment),
    Stage("spot", stage_spot),
    Stage("use", stage_use),
    Stage("settlement", stage_settlement),
    Stage("observation", stage_observation),
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)

__all__ = ["STAGES", "STAGE_NAMES", "Stage"]
