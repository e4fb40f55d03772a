"""Signing and renewing contracts. The contract book records them; this module
builds the contract from an accepted quote (starting a build-to-suit site first)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from agents import Firm, Lab
from agents.base import FloorEnd, site_ask, site_floor
from market.core import building, credit
from market.core.calendar import month_label
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    Contract,
    ContractState,
    EndReason,
    Origin,
    Purpose,
    Quote,
)
from market.mechanisms import cancellation, pricing

if TYPE_CHECKING:
    from market.core.model import ComputeMarket

# an average of prices, each at least a bound, is at least the bound less rounding
LOWEST_ASK_ROUNDING = 1.0 - 1e-9


def seller_power(model: ComputeMarket) -> float:
    """Sellers' share of the surplus this month (rises with scarcity)."""
    p = model.p
    return pricing.seller_power(
        p.seller_bargaining_base,
        p.bargaining_tightness_slope,
        model.tightness,
        low=p.seller_power_min,
        high=p.seller_power_max,
    )


def sign(
    model: ComputeMarket,
    buyer: Firm,
    q: Quote,
    h100e: float,
    price: float,
    purpose: Purpose,
    origin: Origin,
    log: bool = True,
) -> Contract:
    """Sign ``h100e`` of a quote at ``price``: a quote on a site to be built starts
    the build, financed against the contract; a whole-site quote takes the site."""
    seller = model.firm(q.seller_id)
    p = model.p
    if q.facility_id is None:
        total = model.tech.build_cost_usd(seller, h100e)
        new_site = building.start_build(model, seller, h100e, for_contract=True, user=buyer)
        q.facility_id = new_site.facility_id
        value = h100e * price * HOURS_PER_MONTH * q.term_months
        loan = seller.finance_build(
            new_site.build_cost_usd, total, value, buyer.credit_rating, site=new_site
        )
        if loan is not None:
            credit.record_build_loan(model, seller, loan, total, value)
    if q.exclusive:
        h100e = q.capacity_h100e
    site = model.facilities[q.facility_id]
    c = Contract(
        contract_id=model.new_id("contract"),
        buyer_id=buyer.unique_id,
        seller_id=seller.unique_id,
        facility_id=site.facility_id,
        capacity_h100e=h100e,
        start_month=max(
            q.start_month, site.online_month if origin != Origin.OPENING_BOOK else q.start_month
        ),
        term_months=q.term_months,
        price_usd_per_h100e_hour=price,
        price_usd_per_mw_month=price * HOURS_PER_MONTH * q.h100e_per_mw,
        signed_month=model.month,
        ramp_months=p.ramp_months,
        ramp_discount=p.ramp_discount,
        take_or_pay_share=p.take_or_pay_share,
        cancellation_notice_months=q.cancellation_notice_months,
        exclusive=q.exclusive,
        purpose=purpose,
        origin=origin,
    )
    model.book.add(c)
    seller.site_sold(site)
    if log:
        log_contract(model, c, buyer, seller, site.name)
        if c.exclusive and isinstance(buyer, Lab) and isinstance(seller, Lab):
            model.counters["surplus_leases"] += 1
    return c


def log_contract(model: ComputeMarket, c: Contract, buyer: Firm, seller: Firm, site: str) -> None:
    what = "leases the whole site" if c.exclusive else "leases"
    model.log(
        "contract",
        f"{buyer.name} {what} {c.capacity_h100e:,.0f} H100e from {seller.name} "
        f"({site}) for {c.term_months} months at ${c.price_usd_per_h100e_hour:.2f}/H100e-hour"
        + (
            f" from {month_label(model.p['start_month'], c.start_month)}"
            if c.start_month > model.month + 1
            else ""
        )
        + (
            f", a circular deal: {seller.name}'s investment comes back as this commitment"
            if c.origin == Origin.CIRCULAR_DEAL
            else ""
        ),
        buyer.name,
        seller.name,
    )


def expire(model: ComputeMarket, c: Contract) -> None:
    """At the end of its term a contract expires; the buyer may renew it at once on
    the seller's current terms (``Firm.renewal``)."""
    if c.cancel_month >= 0:  # the buyer's notice has run: no renewal
        model.book.end(c, EndReason.CANCELLED, model.month)
        return
    buyer, seller = model.firm(c.buyer_id), model.firm(c.seller_id)
    site = model.facilities.get(c.facility_id)
    model.book.end(c, EndReason.EXPIRED, model.month)
    if c.parent_id is not None:  # a resale is a block for its window: never renewed
        return
    if not (buyer and seller and site):
        return
    deal = buyer.renewal(c, seller, site.facility_id, seller_power(model))
    if deal is None:
        return
    q, price = deal
    model.book.renewed(c)
    new = sign(model, buyer, q, c.capacity_h100e, price, c.purpose, Origin.RENEWAL)
    new.ramp_months = 0
    model.book.activate(new)  # this month's activation pass has already run


# ---------------------------------------------------------------------- cancellation
def cancellable(model: ComputeMarket, c: Contract) -> bool:
    """An inference purchase in delivery with a notice right, not yet cancelled, that
    runs beyond its notice, is not a resale, has none, and is not a circular deal (the
    investor's condition)."""
    return (
        c.state == ContractState.ACTIVE
        and c.purpose == Purpose.INFERENCE
        and c.cancellation_notice_months > 0
        and c.cancel_month < 0
        and c.parent_id is None
        and c.origin != Origin.CIRCULAR_DEAL
        and c.end_month > model.month + c.cancellation_notice_months
        and not any(k.state != ContractState.ENDED for k in model.book.children(c.contract_id))
    )


def notice_candidates(lab: Lab) -> list[Contract]:
    """The lab's purchases that ``cancellable`` may admit, dearest first (ties by id):
    inference purchases with a notice right that are not resales nor circular deals.
    None of that changes after signing: kept until its contracts change (``Lab.held``)."""
    return sorted(
        (
            c
            for c in lab.bought
            if c.purpose == Purpose.INFERENCE
            and c.cancellation_notice_months > 0
            and c.parent_id is None
            and c.origin != Origin.CIRCULAR_DEAL
        ),
        key=lambda c: (-c.price_usd_per_h100e_hour, c.contract_id),
    )


def cancellable_now(model: ComputeMarket, lab: Lab) -> list[Contract]:
    """The lab's ``cancellable`` purchases, dearest first (ties by id): its kept
    ``notice_candidates`` that are in delivery, without notice, run beyond their notice
    and have no open resale."""
    month, book = model.month, model.book
    return [
        c
        for c in lab.held("notice candidates", notice_candidates)
        if c.state == ContractState.ACTIVE
        and c.cancel_month < 0
        and c.end_month > month + c.cancellation_notice_months
        and not book.has_open_children(c.contract_id)
    ]


def review_contracts(model: ComputeMarket, lab: Lab, share: float) -> None:
    """A lab gives notice on contracts it no longer wants, each decision on facts in
    hand: first on the dearest contracts its need no longer covers when their notice
    has run (its own forecast shows capacity secured beyond need from then to the
    ``rfq_horizon_months`` horizon; a lab with sites of its own lets its surplus to
    rivals instead, where it may), then on its dearest
    remaining contract if the sellers it knows quote a replacement that, with the fee,
    saves more than ``cancel_min_saving_share`` (``cancellation.decide_cancellation``)."""
    p = model.p
    mine = cancellable_now(model, lab)
    # a lab that owns sites and may let them to rivals lets its surplus rather than pay
    # to cancel what it bought
    lets_surplus = bool(lab.facilities) and bool(p.lease_to_rival_labs)
    excess_by_notice: dict[int, float] = {}  # until a notice changes what is secured
    for c in [] if lets_surplus or surely_all_needed(model, lab, mine) else mine:
        # the cheaper question first: a lease kept even when none of it is needed
        # (the fee costs more than keeping it saves) is kept whatever is secured
        decision = cancel_decision(model, c, 0.0, 0.0)
        if not decision.cancel:
            continue
        # need must stay below what is secured from the notice's end to the horizon
        notice = c.cancellation_notice_months
        excess = excess_by_notice.get(notice)
        if excess is None:
            months = (model.month + notice, model.month + p.rfq_horizon_months)
            lab.contract_sums_ahead(months)  # both months' sums in one pass
            excess = excess_by_notice[notice] = min(
                lab.secured_h100e(t) - lab.need_h100e(t) for t in months
            )
        if excess >= c.capacity_h100e:
            give_notice(model, lab, c, decision, None)
            excess_by_notice = {}
    mine = [c for c in mine if c.cancel_month < 0]
    if mine:
        replace_if_cheaper(model, lab, mine[0], share)


# the relative margin by which ``surely_all_needed``'s bound must stay below the lab's
# need: far above the rounding of any sum of a lab's contracts, whatever their order
NEED_BOUND_MARGIN = 1e-9


def surely_all_needed(model: ComputeMarket, lab: Lab, mine: list[Contract]) -> bool:
    """Whether no contract of ``mine`` can be given up for want of need, from a bound
    that reads only the lab's contracts: a lab without sites secures in a month at
    most the capacity of all it bought, and a notice needs what is secured at the
    ``rfq_horizon_months`` horizon to exceed the need then by the contract's capacity.
    (A lab with sites also counts its own free capacity: it takes the full review.)"""
    if lab.facilities or not mine:
        return not mine
    bound = lab.held("bought capacity", _bought_h100e) * (1.0 + NEED_BOUND_MARGIN)
    need = lab.need_h100e(model.month + model.p.rfq_horizon_months)
    smallest = min(c.capacity_h100e for c in mine)
    return bound < (need + smallest) * (1.0 - NEED_BOUND_MARGIN)


def _bought_h100e(lab: Lab) -> float:
    return sum(c.capacity_h100e for c in lab.bought)


def cancel_decision(
    model: ComputeMarket, c: Contract, needed_h100e: float, replacement: float
) -> cancellation.CancelDecision:
    p = model.p
    return cancellation.decide_cancellation(
        month=model.month,
        end_month=c.end_month,
        notice_months=c.cancellation_notice_months,
        h100e=c.capacity_h100e,
        needed_h100e=needed_h100e,
        price_usd_per_h100e_hour=c.price_usd_per_h100e_hour,
        replacement_usd_per_h100e_hour=replacement,
        take_or_pay_share=c.take_or_pay_share,
        fee_share=p.cancellation_fee_share,
        min_saving_share=p.cancel_min_saving_share,
    )


def replacement_saves(model: ComputeMarket, c: Contract) -> Callable[[float], bool]:
    """``cancel_decision(model, c, c.capacity_h100e, price).cancel`` as a function of the
    replacement's price (``cancellation.cancels_at``)."""
    p = model.p
    return cancellation.cancels_at(
        month=model.month,
        end_month=c.end_month,
        notice_months=c.cancellation_notice_months,
        h100e=c.capacity_h100e,
        needed_h100e=c.capacity_h100e,
        price_usd_per_h100e_hour=c.price_usd_per_h100e_hour,
        take_or_pay_share=c.take_or_pay_share,
        fee_share=p.cancellation_fee_share,
        min_saving_share=p.cancel_min_saving_share,
    )


def replace_if_cheaper(model: ComputeMarket, lab: Lab, c: Contract, share: float) -> None:
    """Ask the sellers the lab knows for the contract's capacity from the month its
    notice would run, on the term the lab would choose now; cancel and sign the
    replacement when the quoted deals cover all of it and save, with the fee. Asking
    is not unserved demand: the sellers' count of it is left as it was."""
    saves = replacement_saves(model, c)  # cancel_decision's answer at a replacement price
    known = [model.firm(i) for i in model.network.neighbours(lab.unique_id)]
    sellers = [f for f in known if isinstance(f, Firm) and f.unique_id != c.seller_id]
    # a seller quotes on the request's term or, wanting long terms, on the longest the
    # lab accepts, both among the lab's possible terms: when not even the lowest ask of
    # any of the sellers the lab knows, on any of those terms, saves enough, none of
    # them can, and the search ends before the lab's term is chosen
    bound = lowest_ask_bound(model, sellers, lab.possible_terms(), lab.credit_rating)
    if not saves(bound * LOWEST_ASK_ROUNDING):
        return
    start = model.month + c.cancellation_notice_months
    term, longest = lab.term_for(False, start)
    rfq = RFQ(
        buyer_id=lab.unique_id,
        capacity_h100e=c.capacity_h100e,
        start_month=start,
        term_months=term,
        contiguous=False,
        purpose=Purpose.INFERENCE,
        reservation_usd_per_h100e_hour=min(
            lab.reservation_usd_per_h100e_hour(False, term), c.price_usd_per_h100e_hour
        ),
        buyer_credit=lab.credit_rating,
        longest_term_months=longest,
    )
    # a deal's price is never below its quote's ask, nor their average below the
    # lowest; the lower the replacement's price the more cancelling saves: when even
    # the lowest ask any of them could quote saves too little, asking changes nothing
    lowest = lowest_ask_among(model, sellers, rfq)
    if not saves(lowest * LOWEST_ASK_ROUNDING):
        return
    unquoted = [f.unquoted_h100e for f in sellers]
    quotes = [q for f in sellers for q in f.quotes(rfq) if q.facility_id is not None]
    for f, before in zip(sellers, unquoted, strict=True):
        f.unquoted_h100e = before
    deals = lab.accept(rfq, quotes, share)
    got = sum(take for _, take, _ in deals)
    if got < c.capacity_h100e * (1.0 - 1e-9):
        return
    price = sum(take * price for _, take, price in deals) / got
    decision = cancel_decision(model, c, c.capacity_h100e, price)
    if decision.cancel:
        give_notice(model, lab, c, decision, price)
        for q, take, deal_price in deals:
            sign(model, lab, q, take, deal_price, Purpose.INFERENCE, Origin.NEGOTIATED)


def lowest_ask_among(model: ComputeMarket, sellers: list[Firm], rfq: RFQ) -> float:
    """``min(f.lowest_site_ask(rfq) for f in sellers)``, from two floors per term the
    sellers quote on while a contracting round runs. For a term and exclusivity an ask
    is monotone in its floor, so the lowest over the sellers' floors is the ask on the
    lowest or the highest of them; a buyer's credit premium multiplies every floor by
    one factor, so those are the floors of the inputs with the lowest and the highest
    floor for a buyer of credit 1 (``Firm.floor_extremes``)."""
    if model.quote_epoch < 0:
        return min((f.lowest_site_ask(rfq) for f in sellers), default=math.inf)
    spans: dict[int, tuple[FloorEnd, FloorEnd]] = {}  # per term: (lowest, highest) for credit 1
    for f in sellers:
        if not f.active or not f.sells_to(rfq) or not f.facilities:
            continue
        lo, hi = f.floor_extremes()
        term = f.quote_term_months(rfq)
        kept = spans.get(term)
        spans[term] = (lo, hi) if kept is None else (min(kept[0], lo), max(kept[1], hi))
    lowest = math.inf
    for term, ends in spans.items():
        floors = [site_floor(model, *key, rfq.buyer_credit) for _, key in ends]
        for floor in (min(floors), max(floors)):
            for whole in (False, True):
                lowest = min(lowest, site_ask(model, floor, term, whole))
    return lowest


def lowest_ask_bound(
    model: ComputeMarket, sellers: list[Firm], terms: tuple[int, ...], credit: float
) -> float:
    """A bound under ``lowest_ask_among(model, sellers, rfq)`` for every request of a
    buyer of ``credit`` whose sellers quote on one of ``terms``: the lowest ask, on any
    of them, on the lowest or the highest floor over the sites of all the active
    sellers with sites, whether or not they sell to the buyer (more sellers and more
    terms only lower it). The same floors and asks, so an ask it stands for is the
    same number. While a contracting round runs (``Firm.floor_extremes``)."""
    if model.quote_epoch < 0:
        return -math.inf
    low: FloorEnd | None = None
    high: FloorEnd | None = None
    for f in sellers:
        if f.active and f.facilities:
            lo, hi = f.floor_extremes()
            low = lo if low is None else min(low, lo)
            high = hi if high is None else max(high, hi)
    if low is None or high is None:
        return math.inf
    # kept in the round's memo per those two sites' inputs, credit and terms: most labs
    # know the same large sellers
    key = ("ask bound", low[1], high[1], credit, terms)
    bound = model.quote_memo.get(key)
    if bound is None:
        floors = [site_floor(model, *low[1], credit), site_floor(model, *high[1], credit)]
        bound = model.quote_memo[key] = min(
            lowest_ask_on(model, min(floors), terms), lowest_ask_on(model, max(floors), terms)
        )
    return bound


def lowest_ask_on(model: ComputeMarket, floor: float, terms: tuple[int, ...]) -> float:
    """The lowest ask on a floor over ``terms``, whole site or not; kept in the round's
    memo per floor and terms."""
    key = ("lowest ask on", floor, terms)
    ask = model.quote_memo.get(key)
    if ask is None:
        ask = model.quote_memo[key] = min(
            site_ask(model, floor, t, whole) for t in terms for whole in (False, True)
        )
    return ask


def give_notice(
    model: ComputeMarket,
    lab: Lab,
    c: Contract,
    decision: cancellation.CancelDecision,
    replacement: float | None,
) -> None:
    """The contract ends when the notice has run; the fee is paid to the seller now."""
    seller = model.firm(c.seller_id)
    model.book.give_notice(c, decision.last_month)
    c.cancellation_fee_usd = decision.fee_usd
    if decision.fee_usd > 0:
        model.ledger.pay(lab, seller, decision.fee_usd, "cancellation fee")
    why = (
        "it no longer needs it"
        if replacement is None
        else f"replaced at ${replacement:.2f}/H100e-hour"
    )
    model.log(
        "contract",
        f"{lab.name} cancels its lease of {c.capacity_h100e:,.0f} H100e from "
        f"{model.names_by_id.get(c.seller_id, '?')} at ${c.price_usd_per_h100e_hour:.2f}/"
        f"H100e-hour with {c.cancellation_notice_months} months' notice ({why}; fee "
        f"${decision.fee_usd / 1e6:,.1f}M)",
        lab.name,
        model.names_by_id.get(c.seller_id, "?"),
    )
