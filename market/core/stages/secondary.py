"""3b. Secondary: holders offer the unused part of their contracts and labs short of
compute bid for blocks on the scenario's exchange; fills become resale sub-contracts
of the contracts they resell, fees go to the exchange (``market.core.secondary``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core import secondary

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_secondary(model: ComputeMarket) -> None:
    # the dealers' requests and the list-price survey ask the providers for quotes:
    # as in the contracting stage, sellers keep their free capacity per window while
    # the stage runs (a dealer's lease updates its seller's, as any sale does)
    model.begin_quoting()
    try:
        model.secondary_month = secondary.run_month(model)
    finally:
        model.quote_epoch = -1
