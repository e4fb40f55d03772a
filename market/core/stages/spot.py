"""5. Spot: uncontracted online capacity meets immediate unmet demand at one price."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from market.mechanisms import pricing, spot, spot_cost

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_spot(model: ComputeMarket) -> None:
    # while the stage runs, sites' cost floors and spot costs are kept per their inputs
    # (``Firm.facility_floor``): nothing here signs, ends or builds anything
    model.begin_quoting()
    try:
        spot_round(model)
    finally:
        model.quote_epoch = -1


def spot_round(model: ComputeMarket) -> None:
    bids, asks = [], []
    at_hand: dict[int, float] = {}  # each lab's compute at hand, read on by the use stage
    for lab in model.labs():
        lab.spot_bought_h100e = 0.0
        lab.spot_sold_h100e = 0.0
        at_hand[lab.unique_id] = held = lab.at_hand_h100e()
        q, price = lab.spot_bid(held)
        if q > 0:
            bids.append(spot.Order(lab.unique_id, q, price))
    for firm in model.firms():
        ask = firm.spot_ask()
        if ask is not None:
            asks.append(ask)
    result = spot.clear(bids, asks)
    for buyer_id, q in result.bought.items():
        model.firm(buyer_id).spot_bought_h100e = q
    for lab in model.labs():  # a lab's spot sale comes out of its own pool
        lab.spot_sold_h100e = result.sold.get(lab.unique_id, 0.0)
    model.spot_result = result
    model.spot_at_hand = (model.month, at_hand)
    model.spot_volume_h100e = result.volume_h100e
    # a month without trade prints no price, and the index carries over
    traded = result.price_usd_per_h100e_hour if result.volume_h100e > 0 else None
    model.spot_price = traded if traded is not None else math.nan
    model.spot_index, how = spot_cost.next_index(
        model.spot_index, traded, model.p.spot_index_smoothing
    )
    model.spot_index_traded = how == spot_cost.INDEX_TRADED
    model.unmet_last_h100e = result.unmet_h100e
    # scarcity: the share of the month's compute demand that found no capacity
    wanted = sum(lab.share * model.demand_h100e + lab.run_h100e for lab in model.labs())
    model.tightness = pricing.tightness(
        result.unmet_h100e, max(wanted, 1.0), cap=model.p.tightness_max
    )
    model.scarcity_markup = pricing.scarcity_markup(
        model.tightness, model.p.scarcity_markup_slope, model.p.max_scarcity_markup
    )
