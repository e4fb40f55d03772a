"""6. Use: labs run training and serve users from the compute at hand; the rest of
their users' demand is rationed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core.stages.order import runs_right_after

if TYPE_CHECKING:
    from market.core.model import ComputeMarket

# whether the stage reads each lab's compute at hand as the spot stage found it, when it
# runs right after that stage (tests switch it off to compare with working it out again)
READ_ON_FROM_SPOT = True


def stage_use(model: ComputeMarket) -> None:
    # the capacity the month's compute is used on (sites may close at settlement)
    model.online_at_use_h100e = sum(f.capacity_h100e for f in model.facilities.values())
    kept = at_hand_from_spot(model)
    for lab in model.labs():
        lab.step_use(kept.get(lab.unique_id))
        lab.note_rationing()
    model.refresh_leaders()


def at_hand_from_spot(model: ComputeMarket) -> dict[int, float]:
    """Each lab's compute at hand as this month's spot stage read it, when this stage runs
    right after it: the spot stage signs, ends, delivers and builds nothing, and a lab's
    use changes only its own figures, so what a lab has at hand is still that. Otherwise
    (another stage between, or no spot stage this month) nothing: each lab works it out."""
    kept = model.spot_at_hand
    if not READ_ON_FROM_SPOT or kept is None or kept[0] != model.month:
        return {}
    return kept[1] if runs_right_after(model, "use", "spot") else {}
