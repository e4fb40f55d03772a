"""6. Use: labs run training and serve users from the compute at hand; the rest of
their users' demand is rationed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_use(model: ComputeMarket) -> None:
    # the capacity the month's compute is used on (sites may close at settlement)
    model.online_at_use_h100e = sum(f.capacity_h100e for f in model.facilities.values())
    for lab in model.labs():
        lab.step_use()
        lab.note_rationing()
    model.refresh_leaders()
