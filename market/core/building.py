"""Sites and chips: new sites, construction, chip orders and their delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core.calendar import month_label
from market.io.records import ChipBatch, ChipOrder, Facility, FacilityStatus

if TYPE_CHECKING:
    from agents import ChipSupplier, Firm
    from market.core.model import ComputeMarket

# a buyer whose credit is not known when a build starts (no contract behind it)
NEUTRAL_CREDIT = 0.5


def new_facility(
    model: ComputeMarket,
    owner: Firm,
    name: str,
    region: str,
    power_mw: float,
    status: FacilityStatus,
    online_month: int,
    build_cost: float,
) -> Facility:
    f = Facility(
        model.new_id("facility"),
        name,
        owner.unique_id,
        region,
        power_mw,
        status,
        online_month,
        build_cost,
        build_started_month=model.month,
    )
    f.ordered_generation = model.tech.generation
    f.chip_cost_usd_per_h100e = model.tech.merchant_price_usd_per_h100e()
    model.facilities[f.facility_id] = f
    owner.facilities.append(f)
    owner.forget_free_sites()
    return f


def start_build(model: ComputeMarket, firm: Firm, h100e: float, for_contract: bool = False):
    """Start a site for ``h100e`` of today's chips: book the grid, pay for the building
    (unless a signed contract finances it) and order the chips."""
    density = model.tech.density_now()
    mw = h100e / density
    region = model.regions[firm.region]
    built = model.month + firm.build_months()
    grid = region.book(model.month, mw)
    online = max(built, grid)
    cost = mw * model.p.facility_cost_usd_per_mw
    f = new_facility(
        model,
        firm,
        f"{firm.name} site {len(firm.facilities) + 1}",
        firm.region,
        mw,
        FacilityStatus.UNDER_CONSTRUCTION,
        online,
        cost,
    )
    f.grid_ready_month = grid
    if not for_contract:
        firm.finance_build(
            cost, model.tech.build_cost_usd(firm, h100e), 0.0, NEUTRAL_CREDIT, site=f
        )
    order_chips(model, firm, f, h100e)
    model.log(
        "build",
        f"{firm.name} starts building {f.name} ({mw:,.0f} MW, online "
        f"{month_label(model.p['start_month'], min(online, 10**6))})",
        firm.name,
    )
    return f


def order_chips(model: ComputeMarket, firm: Firm, f: Facility, h100e: float) -> None:
    """Order from the supplier with the lowest price once its backlog is counted: a
    long backlog means idle sites while waiting (``chip_backlog_cost_per_month``)."""
    backlog_cost = model.p.chip_backlog_cost_per_month
    options = model.tech.suppliers_for(firm)
    if not options or h100e <= 0:
        return
    s = min(
        options,
        key=lambda s: (
            s.quote_price(firm)
            * (1 + backlog_cost * s.backlog_h100e() / max(s.production_h100e_per_month, 1.0)),
            s.unique_id,
        ),
    )
    gen = model.tech.generation
    o = ChipOrder(
        model.new_id("order"),
        firm.unique_id,
        s.unique_id,
        f.facility_id,
        h100e,
        model.month,
        s.quote_price(firm),
        long_term_agreement=firm.long_term_chip_deals or s.captive,
        generation=gen,
    )
    s.add_order(o)
    f.pending_h100e += h100e
    f.ordered_generation = gen
    f.chip_cost_usd_per_h100e = o.price_usd_per_h100e


def order_alive(model: ComputeMarket, o: ChipOrder) -> bool:
    f = model.facilities.get(o.facility_id)
    return (
        f is not None and f.status != FacilityStatus.RETIRED and model.firm(o.buyer_id) is not None
    )


def deliver_chips(model: ComputeMarket, supplier: ChipSupplier, o: ChipOrder, h100e: float) -> None:
    f = model.facilities.get(o.facility_id)
    buyer = model.firm(o.buyer_id)
    if f is None or buyer is None:
        o.delivered_h100e = o.h100e  # cancelled: nothing ships
        return
    o.delivered_h100e += h100e
    f.pending_h100e = max(0.0, f.pending_h100e - h100e)
    f.chips.append(ChipBatch(o.generation, h100e, model.month, o.price_usd_per_h100e))
    buyer.draw_loans(f.facility_id, h100e * o.price_usd_per_h100e)  # a build loan pays its share
    model.ledger.pay(buyer, supplier, h100e * o.price_usd_per_h100e, "chips")
    model.network.supplied(supplier.unique_id, buyer.unique_id, h100e)
