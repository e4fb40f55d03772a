"""The secondary market's service: each month's block book on each exchange, the
fills turned into resale sub-contracts, the fees paid, and what the month traded.

Blocks traded in month ``t`` start in ``t + 1``: this month's supply has already been
delivered, and this month's shortfall is the spot market's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.broker import Broker, Offer, list_price, resale_offers, shortfall_bid
from market.io.records import Contract, ContractState, Origin, Purpose
from market.mechanisms import indices, orderbook
from market.mechanisms.broker_records import BlockOrder, Fill, IndexReading, MatchResult, Side

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


@dataclass
class MonthBook:
    """What the secondary market did this month (for the outputs)."""

    asks: list[BlockOrder] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    bid_h100e: float = 0.0
    rejected: int = 0
    fees_usd: float = 0.0
    readings: dict[str, IndexReading] = field(default_factory=dict)


# the index publishers: a volume-weighted average of the exchange's trades, and a
# survey of the providers' list prices for a block of ``resale_block_months``
INDEX_METHODS = ("vwap", "list_survey")


def exchanges(model: ComputeMarket) -> list[Broker]:
    return [b for b in model.of_type(Broker) if b.strategy.name == "exchange"]


def orders_of_the_month(model: ComputeMarket, now: int):
    """Every lab's resale asks, then every lab's bid, in the labs' id order (the
    submit sequence), with the holders' unused capacity by contract for the screen
    and their own use for the book's check."""
    orders: list[BlockOrder] = []
    offers: dict[int, Offer] = {}
    for lab in model.labs():
        for offer in resale_offers(lab, now):
            c = offer.contract
            offers[c.contract_id] = offer
            for start, months, h100e, price in offer.blocks:
                orders.append(
                    BlockOrder(
                        Side.SELL, lab.unique_id, h100e, start, months, price, len(orders) + 1,
                        parent_contract_id=c.contract_id,
                        parent_start_month=c.start_month,
                        parent_end_month=c.end_month,
                    )
                )  # fmt: skip
    for lab in model.labs():
        bid = shortfall_bid(lab, now)
        if bid is not None:
            h100e, limit = bid
            months = model.p.resale_block_months
            orders.append(
                BlockOrder(Side.BUY, lab.unique_id, h100e, now, months, limit, len(orders) + 1)
            )
    resellable = {
        (o.contract.buyer_id, cid): {
            t: o.contract.capacity_h100e - use - model.book.resold_h100e(cid, t)
            for t, use in o.own_use_h100e.items()
        }
        for cid, o in offers.items()
    }
    return orders, offers, resellable


def run_month(model: ComputeMarket) -> MonthBook:
    """Every exchange in id order clears the month's book; the first takes the orders
    (one book a month: with several exchanges the others have nothing left to match)."""
    month = MonthBook()
    if not model.p.secondary_market:
        return month
    venues = exchanges(model)
    if not venues:
        return month
    now = model.month + 1
    orders, offers, resellable = orders_of_the_month(model, now)
    venue = venues[0]
    result = venue.strategy.clear(orders, now, resellable)
    month.asks = [o for o in orders if o.side == Side.SELL]
    month.bid_h100e = sum(o.capacity_h100e for o in orders if o.side == Side.BUY)
    month.rejected = len(result.rejected)
    month.fills = list(result.fills)
    month.fees_usd = result.fees_usd
    settle(model, venue, result, offers)
    publish_indices(model, month, now)
    return month


def publish_indices(model: ComputeMarket, month: MonthBook, now: int) -> None:
    """This month's reading of each index; a month without input repeats the last."""
    previous = model.secondary_month.readings
    months = model.p.resale_block_months
    survey = []
    for firm in model.providers():
        price = list_price(firm, now, months)
        if price is not None:
            survey.append(BlockOrder(Side.SELL, firm.unique_id, 1.0, now, months, price, 0))
    month.readings = {
        "vwap": indices.publish(
            "vwap", points=indices.points_from_fills(month.fills), previous=previous.get("vwap")
        ),
        "list_survey": indices.publish(
            "list_survey", asks=survey, previous=previous.get("list_survey")
        ),
    }


def metrics(model: ComputeMarket) -> dict[str, float]:
    """The secondary market's outputs for this month (``market.io.outputs``)."""
    month = model.secondary_month
    fills = month.fills
    resale = sum(
        c.delivered_h100e
        for c in model.book.open()
        if c.parent_id is not None and c.state == ContractState.ACTIVE
    )
    used = sum(lab.pool_h100e for lab in model.labs())
    filled = sum(f.capacity_h100e for f in fills)
    out = {
        "secondary_volume_h100e": filled,
        "secondary_volume_h100e_months": sum(f.capacity_h100e * f.duration_months for f in fills),
        "resale_h100e": resale,
        "resale_share_of_used": resale / used if used > 0 else math.nan,
        "exchange_fees_usd": month.fees_usd,
        "exchange_fill_rate": filled / month.bid_h100e if month.bid_h100e > 0 else math.nan,
        "orders_rejected": float(month.rejected),
    }
    values = []
    for name in INDEX_METHODS:
        reading = month.readings.get(name)
        value = reading.value_usd_per_h100e_hour if reading else None
        out[f"price_index_{name}_usd_per_h100e_hour"] = math.nan if value is None else value
        out[f"price_index_{name}_carried"] = float(bool(reading and reading.carried))
        if value is not None:
            values.append(value)
    out["price_index_spread_usd_per_h100e_hour"] = (
        max(values) - min(values) if len(values) == len(INDEX_METHODS) else math.nan
    )
    return out


def settle(model: ComputeMarket, venue: Broker, result: MatchResult, offers: dict) -> None:
    for r in result.rejected:
        trader = model.names_by_id.get(r.order.trader_id, str(r.order.trader_id))
        model.log("exchange", f"{venue.name} rejects {trader}'s order: {r.reason}", venue.name)
    for f in result.fills:
        sub_contract(model, venue, f, offers[f.parent_contract_id])
    for t in orderbook.fee_transfers(result.fills, venue.unique_id):
        model.ledger.pay(model.firm(t.payer_id), venue, t.usd, "exchange fee")
        venue.fees_usd_total += t.usd
    log_matches(model, venue, result.fills)


def sub_contract(model: ComputeMarket, venue: Broker, f: Fill, offer: Offer) -> Contract:
    """A fill of a resale ask becomes a sub-contract of the parent it resells."""
    parent = offer.contract
    per_mw = parent.price_usd_per_mw_month * f.price_usd_per_h100e_hour
    c = Contract(
        contract_id=model.new_id("contract"),
        buyer_id=f.buyer_id,
        seller_id=f.seller_id,
        facility_id=parent.facility_id,
        capacity_h100e=f.capacity_h100e,
        start_month=f.start_month,
        term_months=f.duration_months,
        price_usd_per_h100e_hour=f.price_usd_per_h100e_hour,
        price_usd_per_mw_month=per_mw / parent.price_usd_per_h100e_hour
        if parent.price_usd_per_h100e_hour > 0
        else 0.0,
        signed_month=model.month,
        take_or_pay_share=1.0,
        purpose=Purpose.INFERENCE,
        origin=Origin.RESALE,
        parent_id=parent.contract_id,
        resale_right=False,
        via_broker_id=venue.unique_id,
    )
    model.book.add_resale(c, offer.own_use_h100e)
    holder, owner = model.names_by_id[f.seller_id], model.names_by_id.get(parent.seller_id, "?")
    model.log(
        "resale",
        f"{holder} resells {f.capacity_h100e:,.0f} H100e of its {owner} reservation for "
        f"{_months(f.duration_months)} through {venue.name} at ${f.price_usd_per_h100e_hour:.2f}",
        holder,
        venue.name,
    )
    return c


def log_matches(model: ComputeMarket, venue: Broker, fills: list[Fill]) -> None:
    by_buy: dict[int, list[Fill]] = {}
    for f in fills:
        by_buy.setdefault(f.buy_seq, []).append(f)
    for group in by_buy.values():
        buyer = model.names_by_id[group[0].buyer_id]
        prices = sorted(f.price_usd_per_h100e_hour for f in group)
        span = (
            f"${prices[0]:.2f}" if prices[0] == prices[-1] else f"${prices[0]:.2f}–{prices[-1]:.2f}"
        )
        sellers = len({f.seller_id for f in group})
        model.log(
            "exchange",
            f"{venue.name} matches {sum(f.capacity_h100e for f in group):,.0f} H100e for "
            f"{_months(group[0].duration_months)} for {buyer} from {sellers} "
            f"seller{'s' if sellers != 1 else ''} at {span}",
            venue.name,
            buyer,
        )


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"
