"""Signing and renewing contracts. The contract book records them; this module
builds the contract from an accepted quote (starting a build-to-suit site first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import Lab
from market.core import building, credit
from market.core.calendar import month_label
from market.io.records import HOURS_PER_MONTH, Contract, EndReason, Origin, Purpose, Quote
from market.mechanisms import pricing

if TYPE_CHECKING:
    from agents import Firm
    from market.core.model import ComputeMarket


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
