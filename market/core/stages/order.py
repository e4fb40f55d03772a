"""Where a stage runs in the model's month, for stages that read on what the stage
right before them found (nothing can have changed it in between)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def runs_right_after(model: ComputeMarket, stage: str, previous: str) -> bool:
    """Whether ``stage`` runs in the model's month directly after ``previous``."""
    names = [s[0] for s in model.stages]
    at = names.index(stage) if stage in names else -1
    return at > 0 and names[at - 1] == previous
