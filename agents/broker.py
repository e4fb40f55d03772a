"""Brokers of the secondary market, and what holders and buyers of compute post there.

A ``Broker`` is a firm with cash that earns its living between the holders of
capacity and its users. Its business model is a strategy chosen by name in the
scenario (``model``):

- the ``exchange`` matches limit orders for blocks of compute
  (``market.mechanisms.orderbook``) and earns a fee from each side; it never holds
  capacity, so it cannot lose on inventory;
- the ``dealer`` (aggregator) buys long contracts from providers and resells them in
  shorter blocks (``market.mechanisms.dealer``); it owes its holdings whether it
  resells them or not, so it makes or loses money on term and utilisation.

Both pay running costs every month; a broker whose cash runs out leaves the market
through the same exit path as any firm.

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
from market.io.records import HOURS_PER_MONTH, Contract, ContractState
from market.mechanisms import dealer, orderbook, pricing, resale
from market.mechanisms.broker_records import BlockOrder, MatchResult

BROKER_KIND = "broker"


class ExchangeStrategy:
    """Matches one batch of block orders a month under its rule; earns ``fee_bps``
    of each fill's notional from each side. It never holds capacity."""

    name = "exchange"
    holds_capacity = False
    holding_h100e = 0.0  # an exchange holds nothing and prices no risk
    margin = 0.0

    def __init__(self, spec: dict, p: Any) -> None:
        self.matching_rule = spec.get("matching_rule", "price_time")
        self.fee_bps = float(spec.get("fee_bps", 0.0))

    def clear(
        self,
        orders: Iterable[BlockOrder],
        now_month: int,
        resellable: Mapping[tuple[int, int], Mapping[int, float]],
        fee_bps: float | None = None,
    ) -> MatchResult:
        return orderbook.match(
            orders,
            now_month=now_month,
            rule=self.matching_rule,
            fee_bps=self.fee_bps if fee_bps is None else fee_bps,
            resellable=resellable,
        )


class DealerStrategy(ExchangeStrategy):
    """Buys long contracts (``dealer_long_term_months``) up to ``holding_h100e`` and
    resells them in shorter blocks at ``dealer.dealer_ask``: it owes its holdings
    whether it resells them or not, so it carries the term and utilisation risk.
    Where no exchange trades (the dealer-only market) it sells its blocks itself,
    price-time and fee-free."""

    name = "dealer"
    holds_capacity = True

    def __init__(self, spec: dict, p: Any) -> None:
        super().__init__({"matching_rule": "price_time", "fee_bps": 0.0}, p)
        self.margin = float(spec.get("margin", -1.0))
        if self.margin < 0:
            self.margin = p.dealer_margin
        self.holding_h100e = float(spec.get("holding_h100e", 0.0))


STRATEGIES = {"exchange": ExchangeStrategy, "dealer": DealerStrategy}
# months of its own history a dealer reads its utilisation from
UTILISATION_MEMORY_MONTHS = 12


class Broker(mesa.Agent):
    """A broker of the secondary market (``model`` names its strategy). It has cash
    and leaves through the same exit path as any firm when the cash runs out."""

    kind = BROKER_KIND
    model: World

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model)
        self.name = name
        self.cash_usd = float(spec.get("cash_usd", 0.0))
        self.credit_rating = float(spec.get("credit_rating", NEUTRAL_CREDIT))
        self.strategy = STRATEGIES[spec.get("model", "exchange")](spec, model.p)
        self.facilities: list = []  # a broker owns no site
        self.debt_usd = 0.0  # and borrows nothing: its estate is its cash
        # contract claims on buyers' estates (a dealer's resales): recovered and written off
        self.claims_recovered_usd = 0.0
        self.claims_written_off_usd = 0.0
        self.active = True
        self.fees_usd_total = 0.0
        self.opex_usd_month = 0.0
        self.month_book = dealer.DealerMonth(0.0, 0.0, 0.0)
        self.profit_usd_total = 0.0  # a dealer's resale revenue less its holdings' cost
        self.sold_h100e_by_month: list[float] = []
        self.held_h100e_by_month: list[float] = []

    @property
    def is_dealer(self) -> bool:
        return self.strategy.holds_capacity

    # ------------------------------------------------------------------ a dealer's book
    def holdings(self) -> list[Contract]:
        """Open contracts it holds to resell (a dealer's long positions)."""
        return [c for c in self.model.book.bought_view(self.unique_id) if c.parent_id is None]

    def held_h100e(self, month: int) -> float:
        return sum(c.capacity_h100e for c in self.holdings() if c.overlaps(month, month + 1))

    def utilisation(self) -> tuple[float, float]:
        """Mean and sd of the share of its holdings it resold, recent months."""
        k = UTILISATION_MEMORY_MONTHS
        return dealer.utilisation_stats(
            self.sold_h100e_by_month[-k:], self.held_h100e_by_month[-k:]
        )

    def bid_usd_per_h100e_hour(self, resale_usd_per_h100e_hour: float) -> float:
        """The most it pays for a long block when it expects to resell at this price."""
        p = self.model.p
        return dealer.dealer_bid(
            resale_usd_per_h100e_hour=resale_usd_per_h100e_hour,
            block_months=p.resale_block_months,
            long_term_months=p.dealer_long_term_months,
            **self._risk_terms(),
        )

    def ask_usd_per_h100e_hour(self, c: Contract, block_months: int) -> float:
        return dealer.dealer_ask(
            cost_usd_per_h100e_hour=c.price_usd_per_h100e_hour,
            block_months=block_months,
            long_term_months=c.term_months,
            **self._risk_terms(),
        ).ask_usd_per_h100e_hour

    def _risk_terms(self) -> dict[str, Any]:
        """What its bids and asks share: its resale record, the term structure, its
        risk aversion and margin."""
        p = self.model.p
        u, sd = self.utilisation()
        return {
            "utilisation": u,
            "utilisation_sd": sd,
            "short_term_premium": p.short_term_premium,
            "full_term_months": p.full_term_months,
            "risk_aversion": p.dealer_risk_aversion,
            "margin": self.strategy.margin,
        }

    def block_price(self, c: Contract, months: int, market_usd_per_h100e_hour: float) -> float:
        """Its risk-priced ask (``dealer.dealer_ask``), but no more than the market pays
        for the block (``market_usd_per_h100e_hour``, a one-month price, moved to the
        block's term) and no less than ``resale_reserve_share`` of its cost: what it
        holds is owed anyway, so it cuts its price rather than idle."""
        p = self.model.p
        ask = self.ask_usd_per_h100e_hour(c, months)
        if math.isfinite(market_usd_per_h100e_hour) and market_usd_per_h100e_hour > 0:
            curve = {
                "short_term_premium": p.short_term_premium,
                "full_term_months": p.full_term_months,
            }
            ratio = pricing.term_factor(months, **curve) / pricing.term_factor(1, **curve)
            ask = min(ask, market_usd_per_h100e_hour * ratio)
        return max(ask, p.resale_reserve_share * c.price_usd_per_h100e_hour)

    def offers(self, now: int, market_usd_per_h100e_hour: float = math.nan) -> list[Offer]:
        """Its holdings' unsold capacity over the next ``resale_offer_months``, cut
        into blocks, each priced by ``block_price``."""
        p, book = self.model.p, self.model.book
        shapes = [(now, p.resale_offer_months), (now, p.resale_block_months)]
        out = []
        for c in self.holdings():
            if not resellable(c, now, p):
                continue
            window = [t for t in range(now, now + p.resale_offer_months) if c.overlaps(t, t + 1)]
            resold = {t: book.resold_h100e(c.contract_id, t) for t in window}
            free = {t: max(0.0, c.capacity_h100e - resold[t]) for t in window}
            blocks = resale.cut_blocks(free, shapes, p.resale_min_block_h100e)
            if blocks:
                priced = [
                    (s, n, q, self.block_price(c, n, market_usd_per_h100e_hour))
                    for s, n, q in blocks
                ]
                out.append(Offer(c, priced, dict.fromkeys(window, 0.0), resold))
        return out

    def close_month(self) -> None:
        """This month's resale revenue, holdings' cost and utilisation (before it pays)."""
        if not self.is_dealer:
            return
        holdings = [
            (c.delivered_h100e, c.price_usd_per_h100e_hour, c.take_or_pay_share)
            for c in self.holdings()
            if c.state == ContractState.ACTIVE
        ]
        resales = [
            (c.delivered_h100e, c.price_usd_per_h100e_hour)
            for c in self.model.book.resold_view(self.unique_id)
            if c.state == ContractState.ACTIVE
        ]
        self.month_book = dealer.month_pnl(holdings, resales, HOURS_PER_MONTH)
        self.profit_usd_total += self.month_book.margin_usd
        self.held_h100e_by_month.append(sum(h for h, _, _ in holdings))
        self.sold_h100e_by_month.append(sum(q for q, _ in resales))

    # ------------------------------------------------------------------ as a buyer
    def used_share(self) -> float:
        """Share of its holdings it resold this month: it owes take-or-pay on the rest."""
        return self.month_book.utilisation if self.is_dealer else 1.0

    def renewal(self, c: Contract, seller: Any, site_id: int, seller_power: float):
        """A dealer buys afresh rather than renewing (``market.core.secondary``)."""
        return None

    def wants_sites(self) -> bool:
        return False

    def step_settlement(self) -> None:
        """Running costs, paid to the outside world."""
        self.opex_usd_month = self.model.p.broker_opex_usd_per_month
        self.model.ledger.pay(self, None, self.opex_usd_month, "opex")


# ---------------------------------------------------------------------- the labs' side
@dataclass
class Offer:
    """What a holder posts of one contract: its blocks (start, months, H100e) at a
    price each, and its own use of the contract by month (for the book's check)."""

    contract: Contract
    blocks: list[tuple[int, int, float, float]]  # start, months, H100e, USD per H100e-hour
    own_use_h100e: dict[int, float] = field(default_factory=dict)
    # what is resold of the contract already, by month (the same months)
    resold_h100e: dict[int, float] = field(default_factory=dict)

    def resellable_h100e(self) -> dict[int, float]:
        """The contract's capacity neither used by its holder nor resold, by month."""
        cap = self.contract.capacity_h100e
        return {t: cap - use - self.resold_h100e[t] for t, use in self.own_use_h100e.items()}


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


def resale_offers(lab: Any, now: int, need_h100e: Mapping[int, float] | None = None) -> list[Offer]:
    """The unused part of the lab's resellable contracts over the next
    ``resale_offer_months`` from ``now``: what it has secured beyond its own need each
    month, taken from its contracts in the order it bought them, cut into blocks.
    None when labs may not lease capacity to rival labs (``lease_to_rival_labs``).
    ``need_h100e``: the lab's need by month over the window, if already worked out.

    A lab that provably has nothing spare in any month of the window posts nothing
    without working out what it has secured (``surely_nothing_spare``)."""
    p = lab.model.p
    if not p.lease_to_rival_labs:  # a resale is a lease to another lab
        return []
    window = range(now, now + p.resale_offer_months)
    if need_h100e is None:
        need_h100e = {t: lab.need_h100e(t) for t in window}
    if surely_nothing_spare(lab, window, need_h100e):
        return []
    lab.contract_sums_ahead(window)
    spare = {t: max(0.0, lab.secured_h100e(t) - need_h100e[t]) for t in window}
    if not any(spare.values()):
        return []
    return _offers_from_spare(lab, now, window, spare)


# the relative margin by which the bound of ``surely_nothing_spare`` must stay below
# the lab's need: far above the rounding of any sum of a lab's contracts, whatever
# the order it is added in
SPARE_BOUND_MARGIN = 1e-9


def surely_nothing_spare(lab: Any, window: range, need_h100e: Mapping[int, float]) -> bool:
    """Whether the lab's secured capacity cannot exceed its need in any month of the
    window, from a bound that reads only its contracts and its sites: a lab secures in
    a month what it bought for that month less what it resold of it, so at most the
    capacity of its contracts that overlap the window, plus its own free capacity,
    which is at most every chip installed or on order at its sites."""
    start, end = window.start, window.stop
    bound = sum(c.capacity_h100e for c in lab.bought if c.start_month < end and start < c.end_month)
    if lab.facilities:
        bound += sum(f.installed_h100e + f.pending_h100e for f in lab.facilities)
    least_need = min(need_h100e[t] for t in window)
    return bound * (1.0 + SPARE_BOUND_MARGIN) < least_need


def _offers_from_spare(lab: Any, now: int, window: range, spare: dict[int, float]) -> list[Offer]:
    """``resale_offers`` of a lab with capacity spare beyond its need (by month)."""
    m, p = lab.model, lab.model.p
    shapes = [(now, p.resale_offer_months), (now, p.resale_block_months)]
    offers = []
    for c in m.book.bought_by(lab.unique_id):
        if not any(spare.values()):
            break
        if not resellable(c, now, p):
            continue
        free, own, resold = {}, {}, {}
        for t in window:
            inside = c.start_month <= t < c.end_month
            resold[t] = m.book.resold_h100e(c.contract_id, t) if inside else 0.0
            unsold = c.capacity_h100e - resold[t] if inside else 0.0
            free[t] = min(spare[t], max(0.0, unsold))
            spare[t] -= free[t]
            own[t] = unsold - free[t]
        blocks = resale.cut_blocks(free, shapes, p.resale_min_block_h100e)
        if blocks:
            priced = [(s, n, q, resale_price(lab, c, n)) for s, n, q in blocks]
            offers.append(Offer(c, priced, own, resold))
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


def shortfall_bid(
    lab: Any, now: int, need_h100e: Mapping[int, float] | None = None
) -> tuple[float, float] | None:
    """(H100e, limit price) of the divisible block the lab bids for from ``now`` over
    ``resale_block_months``: the least, over the block's months, of its need beyond
    what it has secured; None when that is below the smallest block. ``need_h100e``:
    the lab's need by month, if already worked out (it may cover more months)."""
    p = lab.model.p
    window = range(now, now + p.resale_block_months)
    if need_h100e is None:
        need_h100e = {}
    need = [need_h100e[t] if t in need_h100e else lab.need_h100e(t) for t in window]
    if len(window) > 1:  # what it has secured each month, in one pass
        lab.contract_sums_ahead(window)
    gap = min(n - lab.secured_h100e(t) for t, n in zip(window, need, strict=True))
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
