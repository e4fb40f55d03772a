"""3b. Secondary: holders offer the unused part of their contracts and labs short of
compute bid for blocks on the scenario's exchange; fills become resale sub-contracts
of the contracts they resell, fees go to the exchange (``market.core.secondary``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core import secondary
from market.core.stages.order import runs_right_after

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_secondary(model: ComputeMarket) -> None:
    # the dealers' requests and the list-price survey ask the providers for quotes:
    # as in the contracting stage, sellers keep their free capacity per window while
    # the stage runs (a dealer's lease updates its seller's, as any sale does). Right
    # after the contracting stage nothing has changed since its round ended: what the
    # sellers kept in it still holds, and the stage reads on from there.
    if reads_on(model):
        model.quote_epoch = model.quote_ended[1]  # type: ignore[index]
    else:
        model.begin_quoting()
    try:
        model.secondary_month = secondary.run_month(model)
    finally:
        model.quote_epoch = -1


def follows_contracting(model: ComputeMarket) -> bool:
    """Whether this stage runs right after the contracting stage in the model's month."""
    return runs_right_after(model, "secondary", "contracting")


def reads_on(model: ComputeMarket) -> bool:
    """Whether the stage reads on in the contract round's epoch: it runs right after the
    contracting stage, whose round ended this month, and no round has begun since."""
    ended = model.quote_ended  # (month, epoch), None once another round begins
    return (
        follows_contracting(model)
        and ended is not None
        and ended[0] == model.month
        and ended[1] >= 0
    )
