"""Brokers of the secondary market, and what holders and buyers of compute post there.

A ``Broker`` is a firm with cash that earns its living between the holders of
capacity and its users. Its business model is a strategy chosen by name in the
scenario (``model``); the one built so far is the ``exchange``, which matches limit
orders for blocks of compute (``market.mechanisms.orderbook``) and earns a fee from
each side. It never holds capacity, so it cannot lose on inventory; its running
costs are paid every month whether it trades or not.

The functions below are the labs' side of the secondary market: a lab between
training runs offers the part of its contracts it does not plan to use
(``resale_offers``), and a lab short of compute after contracting bids for a block
(``shortfall_bid``). Each reads only the lab, the contract book and the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mesa

from agents.base import NEUTRAL_CREDIT
from agents.world import World
from market.io.records import Contract, ContractState
from market.mechanisms import orderbook, pricing, resale
from market.mechanisms.broker_records import BlockOrder, MatchResult

BROKER_KIND = "broker"


class ExchangeStrategy:
    """Matches one batch of block orders a month under its rule; earns ``fee_bps``
    of each fill's notional from each side."""

    name = "exchange"

    def __init__(self, matching_rule: str, fee_bps: float) -> None:
        self.matching_rule = matching_rule
        self.fee_bps = fee_bps

    def clear(
        self,
        orders: Iterable[BlockOrder],
        now_month: int,
        resellable: Mapping[tuple[int, int], Mapping[int, float]],
    ) -> MatchResult:
        return orderbook.match(
            orders,
            now_month=now_month,
            rule=self.matching_rule,
            fee_bps=self.fee_bps,
            resellable=resellable,
        )


STRATEGIES = {"exchange": ExchangeStrategy}


class Broker(mesa.Agent):
    """A broker of the secondary market (``model`` names its strategy)."""

    kind = BROKER_KIND
    model: World

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model)
        self.name = name
        self.cash_usd = float(spec.get("cash_usd", 0.0))
        self.strategy = STRATEGIES[spec.get("model", "exchange")](
            spec.get("matching_rule", "price_time"), float(spec.get("fee_bps", 0.0))
        )
        self.fees_usd_total = 0.0

    def step_settlement(self) -> None:
        """Running costs, paid to the outside world."""
        self.model.ledger.pay(self, None, self.model.p.broker_opex_usd_per_month, "opex")


# ---------------------------------------------------------------------- the labs' side
@dataclass
class Offer:
    """What a holder posts of one contract: its blocks (start, months, H100e) at a
    price each, and its own use of the contract by month (for the book's check)."""

    contract: Contract
    blocks: list[tuple[int, int, float, float]]  # start, months, H100e, USD per H100e-hour
    own_use_h100e: dict[int, float] = field(default_factory=dict)


def resellable(c: Contract, month: int, p: Any) -> bool:
    """A contract its buyer may resell from ``month`` on."""
    return (
        c.parent_id is None
        and c.state != ContractState.ENDED
        and c.end_month > month
        and resale.resale_allowed(
            exclusive=c.exclusive,
            resale_right=c.resale_right,
            exclusive_resale_allowed=p.exclusive_lease_resale_allowed,
        )
    )


def resale_offers(lab: Any, now: int) -> list[Offer]:
    """The unused part of the lab's resellable contracts over the next
    ``resale_offer_months`` from ``now``: what it has secured beyond its own need each
    month, taken from its contracts in the order it bought them, cut into blocks.
    None when labs may not lease capacity to rival labs (``lease_to_rival_labs``)."""
    m, p = lab.model, lab.model.p
    if not p.lease_to_rival_labs:  # a resale is a lease to another lab
        return []
    window = range(now, now + p.resale_offer_months)
    spare = {t: max(0.0, lab.secured_h100e(t) - lab.need_h100e(t)) for t in window}
    shapes = [(now, p.resale_offer_months), (now, p.resale_block_months)]
    offers = []
    for c in lab.model.book.bought_by(lab.unique_id):
        if not resellable(c, now, p) or not any(spare.values()):
            continue
        free, own = {}, {}
        for t in window:
            inside = c.start_month <= t < c.end_month
            unsold = c.capacity_h100e - m.book.resold_h100e(c.contract_id, t) if inside else 0.0
            free[t] = min(spare[t], max(0.0, unsold))
            spare[t] -= free[t]
            own[t] = unsold - free[t]
        blocks = resale.cut_blocks(free, shapes, p.resale_min_block_h100e)
        if blocks:
            priced = [(s, n, q, resale_price(lab, c, n)) for s, n, q in blocks]
            offers.append(Offer(c, priced, own))
    return offers


def resale_price(lab: Any, c: Contract, months: int) -> float:
    """The spot index moved to the block's term by the sellers' term curve, but no
    less than ``resale_reserve_share`` of what the holder pays."""
    p = lab.model.p
    floor = p.resale_reserve_share * c.price_usd_per_h100e_hour
    index = lab.model.spot_index
    if not math.isfinite(index) or index <= 0:
        return max(floor, c.price_usd_per_h100e_hour)
    curve = {"short_term_premium": p.short_term_premium, "full_term_months": p.full_term_months}
    ratio = pricing.term_factor(months, **curve) / pricing.term_factor(1, **curve)
    return max(floor, index * ratio)


def shortfall_bid(lab: Any, now: int) -> tuple[float, float] | None:
    """(H100e, limit price) of the divisible block the lab bids for from ``now`` over
    ``resale_block_months``: the least, over the block's months, of its need beyond
    what it has secured; None when that is below the smallest block."""
    p = lab.model.p
    window = range(now, now + p.resale_block_months)
    gap = min(lab.need_h100e(t) - lab.secured_h100e(t) for t in window)
    if gap <= max(p.resale_min_block_h100e, 0.0):
        return None
    return gap, lab.reservation_usd_per_h100e_hour(False)


def list_price(firm: Any, now: int, months: int) -> float | None:
    """A provider's list price for a block of ``months`` from ``now`` at its first site
    with room (its selling order), for a buyer of neutral credit; None without room.
    This is what a survey of list prices reads."""
    _, sites = firm.free_sites(now, now + months)
    if not sites:
        return None
    floor = firm.facility_floor(sites[0][0], NEUTRAL_CREDIT)
    return firm._ask(floor, months, False)
