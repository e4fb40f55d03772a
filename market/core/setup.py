"""Building a market from a scenario: firms, their sites, the opening contract book,
who knows whom, and what the model records each month."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents import FIRM_TYPES, ChipSupplier, Firm, Hyperscaler, Lab, Neocloud
from agents.broker import Broker
from market.core import building, contracting, secondary
from market.core.calendar import month_offset
from market.core.secondary import ForwardBook, MonthBook
from market.io.collector import Columnar, ColumnCollector
from market.io.outputs import OUTPUTS
from market.io.records import HOURS_PER_MONTH, ChipBatch, FacilityStatus, Origin, Purpose, Quote
from market.mechanisms import pricing

if TYPE_CHECKING:
    from market.core.model import ComputeMarket

# firm numbers that scale with a firm's size when one archetype makes several firms
SCALED_FIELDS = (
    "cash_usd",
    "production_h100e_per_month",
    "outside_cash_flow_usd_per_month",
    "debt_usd",
    "initial_share",
)
# the opening fleet of a site is installed in four batches, at these multiples of the
# stated average chip age, so it does not retire in a single month
OPENING_FLEET_AGE_SHARES = (0.25, 0.75, 1.25, 1.75)
# the spot price at the start when no site is online: a typical cost floor, $/H100e-hour
FALLBACK_FLOOR_USD_PER_H100E_HOUR = 2.0
# the credit rating assumed for the buyer behind the opening spot index
NEUTRAL_CREDIT = 0.5


def populate(model: ComputeMarket) -> None:
    """Create the scenario's firms, sites and opening contracts."""
    add_firms(model)
    tech = model.tech
    tech.merchants = [s for s in model.suppliers() if not s.captive]
    for s in model.suppliers():
        if not s.captive:
            continue
        for client in sorted({s.captive_parent_name, *s.partner_names}):
            tech.captives_by_client[client].append(s)
            if client in model.firms_by_name:
                model.network.acquaint(s.unique_id, model.firms_by_name[client].unique_id)
    for spec in model.spec.tables["facility"]:
        for owner_name, scale in model.members.get(spec["owner"], [(spec["owner"], 1.0)]):
            for k in range(spec["count"]):
                opening_facility(model, model.firms_by_name[owner_name], spec, scale, k)
    opening_shares_and_revenue(model)
    for spec in model.spec.tables["contract"]:
        opening_contract(model, spec)
    acquaint(model)
    add_brokers(model)


def add_firms(model: ComputeMarket) -> None:
    """One agent per firm; an archetype with ``count`` > 1 makes several, each scaled by
    its own draw (``archetype_jitter``)."""
    t = model.spec.tables
    for section in ("chip_supplier", "hyperscaler", "neocloud", "lab"):
        cls = ChipSupplier if section == "chip_supplier" else FIRM_TYPES[section]
        for spec in t[section]:
            n = spec["count"]
            model.members[spec["name"]] = []
            for i in range(n):
                name = spec["name"] if n == 1 else f"{spec['name']} {i + 1}"
                scale = jitter(model, n)
                s = dict(spec)
                for key in SCALED_FIELDS:
                    if key in s:
                        s[key] = s[key] * scale
                agent = cls(model, name, s)
                model.firms_by_name[name] = agent
                model.members[spec["name"]].append((name, scale))
                model.network.add_firm(agent.unique_id, name, cls.kind)
                model.names_by_id[agent.unique_id] = name


def add_brokers(model: ComputeMarket) -> None:
    """The scenario's brokers (after every firm, so the firms' draws are unchanged);
    none when ``secondary_market`` is off, so the counterfactual has no brokers at all."""
    model.secondary_month = MonthBook()
    model.forward_book = ForwardBook()
    if not model.p.secondary_market:
        return
    for spec in model.spec.tables.get("broker", []):
        broker = Broker(model, spec["name"], spec)
        model.network.add_firm(broker.unique_id, broker.name, Broker.kind)
        model.names_by_id[broker.unique_id] = broker.name


def jitter(model: ComputeMarket, count: int) -> float:
    if count <= 1 or model.p.archetype_jitter <= 0:
        return 1.0
    return float(math.exp(model.rng.normal(0.0, model.p.archetype_jitter)))


def opening_shares_and_revenue(model: ComputeMarket) -> None:
    """Labs' user shares sum to one; a lab without a stated revenue earns its share."""
    labs = model.labs()
    total = sum(lab.share for lab in labs)
    for lab in labs:
        lab.share = lab.share / total if total > 0 else 1.0 / len(labs)
        if lab.revenue_usd < 0:
            lab.revenue_usd = (
                lab.share
                * model.demand_h100e
                * model.p.opening_served_share
                * model.p.revenue_usd_per_h100e_hour
                * HOURS_PER_MONTH
            )
        lab.revenue_history = [lab.revenue_usd]


def opening_facility(model: ComputeMarket, owner: Firm, spec: dict, scale: float, k: int) -> None:
    power = spec["power_mw"] * scale
    online = spec["online_month"]
    base = spec["name"] or f"{owner.name} site"
    name = base if spec["count"] == 1 else f"{base} {k + 1}"
    status = FacilityStatus.ONLINE if online <= 0 else FacilityStatus.UNDER_CONSTRUCTION
    region = spec["region"] or owner.region
    f = building.new_facility(model, owner, name, region, power, status, max(online, 0), 0.0)
    gen = spec["chip_generation"]
    f.ordered_generation = gen
    density = model.tech.h100e_per_mw(gen)
    h100e = spec["capacity_h100e"] * scale if spec["capacity_h100e"] >= 0 else power * density
    h100e = min(h100e, power * density)
    cost = model.tech.merchant_price_usd_per_h100e()
    f.chip_cost_usd_per_h100e = cost
    if h100e > 0:
        life = model.p.chip_useful_life_months
        for share in OPENING_FLEET_AGE_SHARES:
            age = min(round(spec["chip_age_months"] * share), life - 1)
            f.chips.append(ChipBatch(gen, h100e / len(OPENING_FLEET_AGE_SHARES), -age, cost))


def opening_contract(model: ComputeMarket, spec: dict) -> None:
    buyer = model.firms_by_name[spec["buyer"]]
    seller = model.firms_by_name[spec["seller"]]
    sites = [f for f in seller.facilities if not spec["facility"] or f.name == spec["facility"]]
    if not sites:
        from market.io.scenario import ScenarioError

        raise ScenarioError(
            f"{model.spec.source}: [[contract]]: field 'facility' = {spec['facility']!r} "
            f"is not a site of {seller.name}"
        )
    site = max(sites, key=lambda f: (f.power_mw, -f.facility_id))
    price = spec["price_usd_per_h100e_hour"]
    q = Quote(
        seller_id=seller.unique_id,
        facility_id=site.facility_id,
        capacity_h100e=spec["capacity_h100e"],
        start_month=month_offset(model.p.start_month, spec["start_month"]),
        term_months=spec["term_months"],
        ask_usd_per_h100e_hour=price,
        floor_usd_per_h100e_hour=price,
        exclusive=spec["exclusive"],
        cancellation_notice_months=spec["cancellation_notice_months"],
        h100e_per_mw=model.tech.h100e_per_mw(site.ordered_generation),
    )
    purpose = Purpose(spec["purpose"])
    c = contracting.sign(
        model, buyer, q, spec["capacity_h100e"], price, purpose, Origin.OPENING_BOOK, log=False
    )
    c.take_or_pay_share = spec["take_or_pay_share"]
    c.resale_right = spec["resale_right"]
    c.ramp_months = 0


def acquaint(model: ComputeMarket) -> None:
    """Each buyer starts knowing a few sellers, drawn with the model's generator."""
    sellers = sorted(f.unique_id for f in model.firms() if f.may_sell())
    k = model.p.acquaintance_degree
    for lab in model.labs():
        if not sellers or k == 0:
            continue
        # one spare draw, in case the lab draws itself
        picks = model.rng.choice(len(sellers), size=min(k + 1, len(sellers)), replace=False)
        chosen = [sellers[int(i)] for i in picks if sellers[int(i)] != lab.unique_id][:k]
        for seller_id in sorted(chosen):
            model.network.acquaint(lab.unique_id, seller_id)


def initial_spot_index(model: ComputeMarket) -> float:
    """The opening spot price: the median cost floor of the online sites, with the base
    margin and the scarcity markup of the opening gap between demand and supply (which
    sets the opening tightness)."""
    floors = [
        model.firm(f.owner_id).facility_floor(f, NEUTRAL_CREDIT)
        for f in model.facilities.values()
        if f.status == FacilityStatus.ONLINE
    ]
    floor = float(np.median(floors)) if floors else FALLBACK_FLOOR_USD_PER_H100E_HOUR
    supply = sum(f.capacity_h100e for f in model.facilities.values())
    model.tightness = pricing.tightness(
        model.demand_h100e - supply, max(model.demand_h100e, 1.0), cap=model.p.tightness_max
    )
    markup = pricing.scarcity_markup(
        model.tightness, model.p.scarcity_markup_slope, model.p.max_scarcity_markup
    )
    return floor * (1 + model.p.base_margin) * markup


def datacollector(model: ComputeMarket) -> mesa.DataCollector:
    """Each month: every declared output, and a row per lab, per provider (hyperscalers
    and neoclouds, same columns) and per chip supplier."""
    providers = provider_reporters()
    return ColumnCollector(
        model_reporters={o.name: _reporter(o.name) for o in OUTPUTS},
        agenttype_reporters={
            Lab: {
                "name": "name",
                "share": "share",
                "rationed_share": "rationed_share",
                "compute_h100e": "pool_h100e",
                "cash_usd": "cash_usd",
                "revenue_usd_per_month": "revenue_usd",
                "capability_decades": "capability",
                "training_run_h100e": "run_h100e",
                # hedges (market.core.secondary): notional still to settle, what the
                # forwards have paid so far, and the basis they leave unhedged
                "forward_exposure_h100e_hours": Columnar(forward_exposure_column),
                "forward_pnl_usd": lambda a: secondary.forward_pnl_usd(a.model, a),
                "basis_usd_per_h100e_hour": Columnar(basis_column),
            },
            Hyperscaler: providers,
            Neocloud: dict(providers),
            ChipSupplier: {
                "name": "name",
                "captive": "captive",
                "production_h100e_per_month": "production_h100e_per_month",
                "delivered_h100e": "delivered_last_month_h100e",
                "backlog_h100e": lambda s: s.backlog_h100e(),
                "price_usd_per_h100e": "price_usd_per_h100e",
            },
        },
    )


def provider_reporters() -> dict:
    """The columns of ``providers.csv``: balance sheet, capacity online and sold, the
    forwards it sold (exposure negative for a net seller) and its claims on exited
    buyers' estates."""
    return {
        "name": "name",
        "kind": lambda a: str(a.kind),
        "cash_usd": "cash_usd",
        "debt_usd": "debt_usd",
        "capacity_h100e": lambda a: a.online_capacity_h100e(),
        "contracted_h100e": lambda a: a.delivered_sold_h100e(),
        "forward_exposure_h100e_hours": Columnar(forward_exposure_column),
        "forward_pnl_usd": lambda a: secondary.forward_pnl_usd(a.model, a),
        "claims_recovered_usd": "claims_recovered_usd",
        "claims_written_off_usd": "claims_written_off_usd",
    }


def forward_exposure_column(firms: Sequence) -> list[float]:
    """Each firm's forward exposure (``secondary.forward_exposure_h100e_hours``); a firm
    party to no forward has none."""
    if not firms:
        return []
    model = firms[0].model
    by_firm = model.forward_book.by_firm
    return [
        secondary.forward_exposure_h100e_hours(model, f) if f.unique_id in by_firm else 0.0
        for f in firms
    ]


def basis_column(labs: Sequence) -> list[float]:
    """Each lab's basis (``secondary.basis_usd_per_h100e_hour``): none (nan) without a
    reference price above zero or without contracts it buys."""
    if not labs:
        return []
    model = labs[0].model
    if not secondary.reference_price(model) > 0:
        return [math.nan] * len(labs)
    bought = model.book.bought_view
    return [
        secondary.basis_usd_per_h100e_hour(model, lab)
        if any(True for _ in bought(lab.unique_id))
        else math.nan
        for lab in labs
    ]


def _reporter(name: str):
    def report(model: ComputeMarket) -> float:
        return model.metrics.get(name, math.nan)

    report.__name__ = name
    return report
