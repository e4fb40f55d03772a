"""2. Demand: the market grows; shares follow capability (logit contest) with inertia
and churn from last month's rationing; labs plan their next training run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.mechanisms import demand, demand_response

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
    largest_site_h100e = max((f.capacity_h100e for f in model.facilities.values()), default=0.0)
    for lab in labs:
        lab.plan_training(largest_site_h100e)


def grow_demand(model: ComputeMarket) -> None:
    """Users grow (with noise) and each uses more compute as agentic use spreads; then
    users answer the price of tokens (``respond_to_price``)."""
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
        model.potential_demand_h100e *= add_own_growth(model)
    respond_to_price(model)


def add_own_growth(model: ComputeMarket) -> float:
    """Labs whose users grow faster than the market (``Lab.own_demand_growth_per_year``)
    add users of their own; their shares rise and the market grows by their new users.
    Returns the market's growth factor from them (1 when no lab grows on its own)."""
    labs = model.labs()
    half = model.p.lab_demand_growth_halflife_months
    factors = {
        lab.unique_id: demand.own_growth_factor(model.month, lab.own_demand_growth_per_year, half)
        for lab in labs
        if lab.own_demand_growth_per_year != 1.0
    }
    if not factors:
        return 1.0
    shares, market = demand.add_own_growth({lab.unique_id: lab.share for lab in labs}, factors)
    for lab in labs:
        lab.share = shares[lab.unique_id]
    return market


def respond_to_price(model: ComputeMarket) -> None:
    """Users buy tokens, not H100e-hours. The token price follows the cost of serving a
    token: the cost of compute (``compute_cost_usd_per_h100e_hour``, relative to the
    first month) over tokens per H100e-hour, which grow with
    ``serving_efficiency_gain_per_year``, with ``cost_pass_through``; token demand
    answers it with ``token_price_elasticity``. Labs that rationed users last month
    price toward the token price that would have matched them (``clearing_token_price``),
    by at most ``max_scarcity_markup`` over the cost-based price. Compute demand is
    potential demand times the response's compute ratio; labs earn the token price times
    tokens per H100e-hour (``revenue_usd_per_h100e_hour`` at the start)."""
    p = model.p
    clearing = clearing_token_price(model)
    model.compute_cost_usd_per_h100e_hour = compute_cost_usd_per_h100e_hour(model)
    if model.reference_compute_cost_usd_per_h100e_hour <= 0:
        model.reference_compute_cost_usd_per_h100e_hour = model.compute_cost_usd_per_h100e_hour
    reference = model.reference_compute_cost_usd_per_h100e_hour
    cost = model.compute_cost_usd_per_h100e_hour / reference if reference > 0 else 1.0
    r = demand_response.respond(
        compute_cost_ratio=cost,
        efficiency=demand_response.efficiency_ratio(
            model.month, p.serving_efficiency_gain_per_year
        ),
        elasticity=p.token_price_elasticity,
        pass_through=p.cost_pass_through,
        reference_revenue_usd_per_h100e_hour=p.revenue_usd_per_h100e_hour,
        clearing_price=clearing,
        max_premium=p.max_scarcity_markup,
    )
    model.token_price_ratio = r.token_price_ratio
    model.revenue_usd_per_h100e_hour = r.revenue_usd_per_h100e_hour
    model.demand_h100e = model.potential_demand_h100e * r.compute_demand_ratio
    model.demand_at_cost_h100e = model.potential_demand_h100e * r.compute_demand_ratio_at_cost


def clearing_token_price(model: ComputeMarket) -> float:
    """Labs ration users by price as well as by limits: the token price (a ratio to the
    first month's) that would have matched last month's users' demand, at last month's
    token price, to the compute that could have served it, what users were served plus
    online capacity nobody used (``demand_response.clearing_price_ratio``). Users
    rationed put it above last month's price, idle capacity below."""
    labs = model.labs()
    demand_h100e = sum(lab.demand_h100e for lab in labs)
    served_h100e = sum(lab.used_inference_h100e for lab in labs)
    used_h100e = served_h100e + sum(lab.used_training_h100e for lab in labs)
    idle_h100e = max(0.0, model.online_at_use_h100e - used_h100e)
    return demand_response.clearing_price_ratio(
        model.token_price_ratio,
        demand_h100e,
        served_h100e + idle_h100e,
        model.p.token_price_elasticity,
    )


def compute_cost_usd_per_h100e_hour(model: ComputeMarket) -> float:
    """What competing labs take as the cost of compute: the full cost of an H100e-hour
    on the chips on sale now (the merchant price, in the first region, at the
    providers' cost of capital), times the market's scarcity markup. It falls with each
    chip generation and rises when the market is short; the prices of individual deals
    do not feed back into it."""
    p, tech = model.p, model.tech
    floor = tech.cost_floor_usd_per_h100e_hour(
        chip_cost_usd_per_h100e=tech.merchant_price_usd_per_h100e(),
        h100e_per_mw=tech.density_now(),
        region=model.default_region,
        annual_rate=p.base_rate + p.hyperscaler_spread,
    )
    return floor * model.scarcity_markup
