"""8. Observation: the frontier and capex histories are extended, every declared
output is measured, and the data collector records the month."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agents import Hyperscaler, Neocloud
from market.core import secondary
from market.io.outputs import TERM_BUCKETS, term_bucket
from market.io.records import HOURS_PER_MONTH, ContractState, FacilityStatus, FirmKind, Sentiment
from market.mechanisms import metrics, training

if TYPE_CHECKING:
    from market.core.model import ComputeMarket

CAPEX_KINDS = (FirmKind.HYPERSCALER, FirmKind.NEOCLOUD, FirmKind.LAB)
# the sentiment index output: winter -1, normal 0, boom 1
SENTIMENT_INDEX = {Sentiment.WINTER: -1.0, Sentiment.NORMAL: 0.0, Sentiment.BOOM: 1.0}


def stage_observation(model: ComputeMarket) -> None:
    model.run_history.append(
        max(
            model.largest_run_h100e_months,
            max((lab.capability_h100e_months for lab in model.labs()), default=0),
        )
    )
    for kind in CAPEX_KINDS:
        model.capex_history[kind].append(model.flows.get("capex:" + kind, 0.0))
    model.metrics = compute_metrics(model)
    model.datacollector.collect(model)


def compute_metrics(model: ComputeMarket) -> dict[str, float]:
    """Every declared output (``market.io.outputs.OUTPUTS``) for this month."""
    caps = capacity(model)
    out = {
        **prices_and_contracts(model),
        **caps,
        **chips_and_firms(model),
        **frontier_and_capex(model),
        **labs_and_money(model),
    }
    out["capex_usd_12m_total"] = (
        out["capex_usd_12m_hyperscaler"] + out["capex_usd_12m_neocloud"] + out["capex_usd_12m_lab"]
    )
    out.update(model.network.metrics())
    out.update(secondary.metrics(model))  # the secondary market's columns
    out["shortfall_h100e"] = model.shortfall_h100e
    out["spot_index_traded"] = float(model.spot_index_traded)
    c = model.counters  # exits' estates and loan covenants (market.core.estate, .covenants)
    for name in ("claims_usd", "claims_recovered_usd", "claims_written_off_usd"):
        out["cumulative_" + name] = c[name]
    out["cumulative_covenant_breaches"] = c["covenant_breaches"]
    out["cumulative_forced_exits"] = c["forced_exits"]
    return out


def prices_and_contracts(model: ComputeMarket) -> dict[str, float]:
    new = model.book.new_this_month
    active = [c for c in model.book.open() if c.state == ContractState.ACTIVE]
    out = {
        "spot_price_usd_per_h100e_hour": model.spot_price,
        "spot_price_index_usd_per_h100e_hour": model.spot_index,
        "spot_price_usd_per_mw_month": model.spot_index
        * HOURS_PER_MONTH
        * model.tech.h100e_per_mw(0),
        "spot_volume_h100e": model.spot_volume_h100e,
        "market_tightness": model.tightness,
        "new_contracts": float(len(new)),
        "new_contract_h100e": sum(c.capacity_h100e for c in new),
        "active_contracts": float(len(active)),
        "contracted_h100e": sum(c.delivered_h100e for c in active),
    }
    prices: dict[str, list[tuple[float, float]]] = {b: [] for b in TERM_BUCKETS}
    for c in new:
        prices[term_bucket(c.term_months)].append((c.capacity_h100e, c.price_usd_per_h100e_hour))
    for b in TERM_BUCKETS:
        vol = sum(v for v, _ in prices[b])
        out[f"contract_price_{b}_usd_per_h100e_hour"] = (
            sum(v * pr for v, pr in prices[b]) / vol if vol > 0 else math.nan
        )
    return out


def capacity_by_type(model: ComputeMarket) -> tuple[dict[FirmKind, float], dict[int, float]]:
    """Online capacity by firm type and by firm."""
    cap_by_type = dict.fromkeys(CAPEX_KINDS, 0.0)
    cap_by_firm = {}
    for f in model.providers() + model.labs():
        c = f.online_capacity_h100e()
        cap_by_type[f.kind] += c
        cap_by_firm[f.unique_id] = c
    return cap_by_type, cap_by_firm


def delivered_stock_h100e(f) -> float:
    """A site's part of the stock of chips delivered: all its chips once it is online;
    before that, the chips a supplier delivered to it during the run (month 1 on: the
    first orders are placed after the first month's deliveries). The chips an opening
    site under construction starts with count when it opens, as if they shipped then."""
    if f.status == FacilityStatus.ONLINE:
        return f.installed_h100e
    if f.status == FacilityStatus.RETIRED:
        return 0.0
    return sum(b.h100e for b in f.chips if b.installed_month > 0)


def site_totals(model: ComputeMarket) -> tuple[float, float, float, float]:
    """Over every site: chips installed at sites not retired, the stock of chips
    delivered (``delivered_stock_h100e``), and the power of sites online and under
    construction. Each is the ``sum`` of the same terms in the sites' order, gathered in
    one pass over the sites."""
    online, retired = FacilityStatus.ONLINE, FacilityStatus.RETIRED
    building = FacilityStatus.UNDER_CONSTRUCTION
    installed: list[float] = []
    stock: list[float] = []
    online_mw: list[float] = []
    building_mw: list[float] = []
    for f in model.facilities.values():
        status = f.status
        if status == online:
            chips = f.installed_h100e
            installed.append(chips)
            stock.append(chips)
            online_mw.append(f.power_mw)
        elif status == retired:
            stock.append(0.0)  # delivered_stock_h100e of a retired site
        else:
            installed.append(f.installed_h100e)
            stock.append(delivered_stock_h100e(f))
            if status == building:
                building_mw.append(f.power_mw)
    return sum(installed), sum(stock), sum(online_mw), sum(building_mw)


def capacity(model: ComputeMarket) -> dict[str, float]:
    cap_by_type, cap_by_firm = capacity_by_type(model)
    total_cap = sum(cap_by_type.values())
    installed, stock, online_mw, building_mw = site_totals(model)
    return {
        "capacity_h100e_total": total_cap,
        "capacity_h100e_hyperscaler": cap_by_type[FirmKind.HYPERSCALER],
        "capacity_h100e_neocloud": cap_by_type[FirmKind.NEOCLOUD],
        "capacity_h100e_lab": cap_by_type[FirmKind.LAB],
        "hyperscaler_share_of_capacity": cap_by_type[FirmKind.HYPERSCALER] / total_cap
        if total_cap
        else 0.0,
        "installed_h100e_total": installed,
        "delivered_stock_h100e": stock,
        "power_mw_online": online_mw,
        "power_mw_under_construction": building_mw,
        "capacity_hhi": metrics.hhi(cap_by_firm.values()),
        "capacity_top4_share": metrics.top_k_share(cap_by_firm.values()),
    }


def chips_and_firms(model: ComputeMarket) -> dict[str, float]:
    labs, suppliers = model.labs(), model.suppliers()
    lab_compute = [lab.pool_h100e for lab in labs]
    chip_sizes = [sum(s.delivered_12m) for s in suppliers]
    merchant = sum(v for s, v in zip(suppliers, chip_sizes, strict=False) if not s.captive)
    c = model.counters
    return {
        "lab_compute_hhi": metrics.hhi(lab_compute),
        "lab_compute_top4_share": metrics.top_k_share(lab_compute),
        "chip_supply_hhi": metrics.hhi(chip_sizes),
        "chip_supply_top4_share": metrics.top_k_share(chip_sizes),
        "chip_production_h100e_per_month": sum(s.production_h100e_per_month for s in suppliers)
        * model.p.chip_supply_multiplier,
        "chip_backlog_h100e": sum(s.backlog_h100e() for s in suppliers),
        "chip_price_usd_per_h100e": model.tech.merchant_price_usd_per_h100e(),
        "merchant_share_of_chip_supply": merchant / sum(chip_sizes) if sum(chip_sizes) > 0 else 0.0,
        "active_labs": float(len(labs)),
        "active_neoclouds": float(len(model.of_type(Neocloud))),
        "active_hyperscalers": float(len(model.of_type(Hyperscaler))),
        "active_providers": float(len(model.providers())),
        "cumulative_exits": c["exits"],
        "cumulative_defaults": c["defaults"],
        "cumulative_acquisitions": c["acquisitions"],
        "cumulative_blocked_mergers": c["blocked"],
        "cumulative_surplus_leases": c["surplus_leases"],
        "cumulative_circular_deals": c["circular_deals"],
    }


def frontier_and_capex(model: ComputeMarket) -> dict[str, float]:
    p, labs = model.p, model.labs()
    longest = max(p.training_run_months, p.training_run_max_months)
    largest = training.largest_cluster(
        ((f.region, f.capacity_h100e) for f in model.facilities.values()),
        p.training_linked_site_efficiency,
    ).effective_h100e
    return {
        "largest_run_h100e_months": model.run_history[-1],
        "largest_run_growth_12m": metrics.growth_factor(model.run_history, 12),
        "largest_active_run_h100e": max((lab.run_h100e for lab in labs), default=0.0),
        "frontier_ceiling_h100e_months": longest * largest,
        "capex_usd_12m_hyperscaler": sum(model.capex_history[FirmKind.HYPERSCALER][-12:]),
        "capex_usd_12m_neocloud": sum(model.capex_history[FirmKind.NEOCLOUD][-12:]),
        "capex_usd_12m_lab": sum(model.capex_history[FirmKind.LAB][-12:]),
    }


def labs_and_money(model: ComputeMarket) -> dict[str, float]:
    labs = model.labs()
    demand_total = sum(lab.demand_h100e for lab in labs)
    served = sum(lab.used_inference_h100e for lab in labs)
    training = sum(lab.used_training_h100e for lab in labs)
    return {
        "demand_h100e": demand_total,
        "served_inference_h100e": served,
        "training_h100e": training,
        "rationed_share": 1.0 - served / demand_total if demand_total > 0 else 0.0,
        "inference_share_of_compute": served / (served + training)
        if served + training > 0
        else 0.0,
        "token_price_index": model.token_price_ratio,
        "power_mw_paused": sum(
            (
                f.power_mw
                for f in model.facilities.values()
                if f.paused and f.status == FacilityStatus.UNDER_CONSTRUCTION
            ),
            0.0,
        ),
        "chip_orders_cancelled_h100e": model.counters["chip_orders_cancelled_h100e"],
        "revenue_usd_per_h100e_hour": model.revenue_usd_per_h100e_hour,
        "utilisation": (served + training) / model.online_at_use_h100e
        if model.online_at_use_h100e > 0
        else 0.0,
        "lab_cash_usd": sum(lab.cash_usd for lab in labs),
        "lab_revenue_usd_per_month": sum(lab.revenue_usd for lab in labs),
        "neocloud_debt_usd": sum(f.debt_usd for f in model.of_type(Neocloud)),
        "sentiment_index": SENTIMENT_INDEX[model.sentiment],
        "agentic_share": model.agentic_share,
    }
