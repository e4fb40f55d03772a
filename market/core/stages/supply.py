"""1. Supply: chips are produced and delivered; sites come online; old chips retire;
contracts start, end (or renew), and receive what their site can deliver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core import contracting
from market.io.records import ContractState, FacilityStatus

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_supply(model: ComputeMarket) -> None:
    new_generation(model)
    for s in model.suppliers():
        s.step_supply()
    sites_online_and_chips_retired(model)
    for c in model.book.open():
        if c.state == ContractState.ACTIVE and c.end_month <= model.month:
            contracting.expire(model, c)
        elif c.state == ContractState.SIGNED and c.start_month <= model.month:
            model.book.activate(c)
    short = model.book.deliver(lambda site_id: model.facilities[site_id].capacity_h100e)
    report_shortfall(model, short)


def report_shortfall(model: ComputeMarket, short: dict[int, float]) -> None:
    """A site that cannot deliver what it sold is a delivery failure: the month's total
    is an output, and the first month of each site's shortfall an event."""
    model.shortfall_h100e = sum(short.values())
    for site_id in sorted(set(short) - model.short_sites):
        f = model.facilities[site_id]
        owner = model.firm(f.owner_id)
        who = owner.name if owner is not None else model.names_by_id.get(f.owner_id, "?")
        model.log(
            "shortfall",
            f"{who} cannot deliver {short[site_id]:,.0f} H100e it sold from {f.name} "
            f"({f.capacity_h100e:,.0f} H100e online); buyers get a pro-rata share",
            who,
        )
    model.short_sites = set(short)


def new_generation(model: ComputeMarket) -> None:
    """A new chip generation: denser, and cheaper per H100e by its cost gain (the
    first step ``generation_cost_gain``, later ones less: ``Technology.cost_gain``)."""
    gen = model.tech.generation_at(model.month)
    if gen == model.tech.generation:
        return
    gain = 1.0
    for g in range(model.tech.generation + 1, gen + 1):
        gain *= model.tech.cost_gain(g)
    model.tech.generation = gen
    for s in model.suppliers():
        s.price_usd_per_h100e /= gain
        s.unit_cost_usd_per_h100e /= gain
    model.log(
        "technology",
        f"a new chip generation ships ({model.tech.h100e_per_mw(gen):,.0f} H100e per MW)",
    )


def sites_online_and_chips_retired(model: ComputeMarket) -> None:
    month, building = model.month, FacilityStatus.UNDER_CONSTRUCTION
    retired_by = month - model.p.chip_useful_life_months  # installed then or earlier
    for f in list(model.facilities.values()):
        if f.status == building and f.online_month <= month:
            f.status = FacilityStatus.ONLINE
            owner = model.firm(f.owner_id)
            chips = f"{f.installed_h100e:,.0f} H100e"
            if f.pending_h100e >= 1.0:
                chips += f", {f.pending_h100e:,.0f} more on order"
            elif f.installed_h100e < 1.0:
                chips = "no chips yet"
            model.log(
                "online",
                f"{owner.name} brings {f.name} online ({f.power_mw:,.0f} MW, {chips})",
                owner.name,
            )
        batches = f.chips
        if batches and batches[0].installed_month <= retired_by:
            f.chips = [b for b in batches if b.installed_month > retired_by]
