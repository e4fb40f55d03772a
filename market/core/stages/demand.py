"""2. Demand: the market grows; shares follow capability (logit contest) with inertia
and churn from last month's rationing; labs plan their next training run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.mechanisms import demand

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_demand(model: ComputeMarket) -> None:
    grow_demand(model)
    labs = model.labs()
    p = model.p
    caps = {lab.unique_id: lab.capability for lab in labs}
    targets = demand.logit_shares(caps, p.contest_intensity)
    if model.month > 0:
        shares = demand.update_shares(
            {lab.unique_id: lab.share for lab in labs},
            targets,
            p.share_inertia,
            {lab.unique_id: lab.rationed_share for lab in labs},
            p.churn_per_rationed_share,
        )
        for lab in labs:
            lab.share = shares[lab.unique_id]
    model.refresh_leaders()
    for lab in labs:
        lab.plan_training()


def grow_demand(model: ComputeMarket) -> None:
    """Users grow (with noise) and each uses more compute as agentic use spreads; the
    price of spot compute trims what they want."""
    p = model.p
    prev = demand.compute_per_user(
        demand.agentic_share(
            model.month - 1, p.agentic_share_initial, p.agentic_share_growth_per_year
        ),
        p.agentic_compute_multiplier,
    )
    now = demand.compute_per_user(model.agentic_share, p.agentic_compute_multiplier)
    if model.month > 0:
        old = model.demand_index
        growth = demand.growth_at(
            model.month, p.demand_growth_per_year, p.demand_growth_halflife_years
        )
        model.demand_index = demand.next_demand_index(
            old, growth, p.demand_volatility, float(model.rng.normal())
        )
        model.potential_demand_h100e *= model.demand_index / old * now / prev
    model.demand_h100e = model.potential_demand_h100e * demand.price_factor(
        model.spot_index,
        p.demand_reference_price_usd_per_h100e_hour,
        p.demand_price_elasticity,
    )
