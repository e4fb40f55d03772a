"""Users' demand answering price and technology.

Users buy AI services (tokens), not H100e-hours. The price of a token follows the cost
of serving it: the rental cost of an H100e-hour divided by the tokens an H100e-hour
serves (which rises as models and software get more efficient), with a share
``pass_through`` of cost changes passed on by competing labs. Token demand answers
the token price with a constant elasticity; compute demand is token demand over
tokens per H100e-hour; a lab's revenue per H100e-hour is the token price times tokens
per H100e-hour. So when the cost of compute halves, labs earn less per H100e-hour and
serve more of them (how much more depends on the elasticity), instead of earning the
same per H100e-hour forever. Labs that could not serve all their users also ration by
price: the token price is the larger of that cost-based price and the price that would
have matched last month's users' demand to the compute that could serve it
(``clearing_price_ratio``, ``scarcity_premium``). Plain functions; no model. All
quantities are ratios to a reference month (the scenario's start) unless their names
carry a unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from market.io.params import Param

# declared in market.io.params (the investment and demand block)
PARAMS: tuple[Param, ...] = ()

MAX_EXPONENT = 700.0  # exp() of more overflows a float


def efficiency_ratio(months: float, gain_per_year: float) -> float:
    """Tokens per H100e-hour relative to the reference month, after ``months``."""
    if gain_per_year <= 0:
        raise ValueError("gain_per_year must be positive")
    return gain_per_year ** (months / 12.0)


def token_price_ratio(compute_cost_ratio: float, efficiency: float, pass_through: float) -> float:
    """Token price relative to the reference: (cost per token ratio) ** pass_through,
    where cost per token = cost per H100e-hour / tokens per H100e-hour."""
    if compute_cost_ratio <= 0 or efficiency <= 0:
        raise ValueError("cost and efficiency ratios must be positive")
    return (compute_cost_ratio / efficiency) ** pass_through


def clearing_price_ratio(
    price_ratio: float, demand_h100e: float, servable_h100e: float, elasticity: float
) -> float:
    """The token price (relative to the reference) that would have matched a month's
    users' demand, seen at ``price_ratio``, to the compute that could serve it
    (``servable_h100e``: what users were served plus capacity that stood idle): at a
    constant elasticity, price_ratio * (demand / servable) ** (1 / elasticity). 0 (no
    clearing price: cost alone sets the price) when users do not answer the price or
    no demand was seen; infinite when nothing could serve them."""
    if elasticity <= 0 or demand_h100e <= 0 or price_ratio <= 0:
        return 0.0
    if servable_h100e <= 0:
        return math.inf
    ratio = demand_h100e / servable_h100e
    exponent = math.log(ratio) / elasticity  # users all but deaf to the price: past a
    if exponent > MAX_EXPONENT:  # float's range, no price clears (or any price does)
        return math.inf
    if exponent < -MAX_EXPONENT:
        return 0.0
    return price_ratio * ratio ** (1.0 / elasticity)


def scarcity_premium(cost_price_ratio: float, clearing_price_ratio: float, cap: float) -> float:
    """What labs add to the cost-based token price when compute is short: the factor
    that lifts it to the clearing price, within [1, ``cap``] (labs do not price below
    cost for want of users, and a premium has the scarcity markup's bound)."""
    if cost_price_ratio <= 0:
        raise ValueError("the cost-based price ratio must be positive")
    return min(cap, max(1.0, clearing_price_ratio / cost_price_ratio))


@dataclass(frozen=True)
class DemandResponse:
    token_price_ratio: float
    token_demand_ratio: float  # tokens users buy, relative to the reference
    compute_demand_ratio: float  # H100e needed to serve them, relative to the reference
    revenue_usd_per_h100e_hour: float  # what a lab earns per H100e-hour it serves
    # H100e users would need at the cost-based token price (no scarcity premium)
    compute_demand_ratio_at_cost: float = 0.0


def respond(
    *,
    compute_cost_ratio: float,
    efficiency: float,
    elasticity: float,
    pass_through: float,
    reference_revenue_usd_per_h100e_hour: float,
    clearing_price: float = 0.0,
    max_premium: float = 1.0,
) -> DemandResponse:
    """Demand and revenue after compute cost and serving efficiency have moved by the
    given ratios since the reference month (potential demand growth is applied
    separately, as a multiplier on the compute demand ratio), with the token price
    lifted toward ``clearing_price`` (a ratio, ``clearing_price_ratio``) by at most
    ``max_premium``.

    - token price ratio p = (cost ratio / efficiency) ** pass_through * premium
    - token demand ratio q = p ** -elasticity
    - compute demand ratio = q / efficiency
    - revenue per H100e-hour = reference revenue * p * efficiency
    """
    cost_based = token_price_ratio(compute_cost_ratio, efficiency, pass_through)
    p = cost_based * scarcity_premium(cost_based, clearing_price, max_premium)
    q = p**-elasticity if elasticity > 0 else 1.0
    at_cost = cost_based**-elasticity if elasticity > 0 else 1.0
    return DemandResponse(
        token_price_ratio=p,
        token_demand_ratio=q,
        compute_demand_ratio=q / efficiency,
        revenue_usd_per_h100e_hour=reference_revenue_usd_per_h100e_hour * p * efficiency,
        compute_demand_ratio_at_cost=at_cost / efficiency,
    )


def users_spending_ratio(response: DemandResponse) -> float:
    """Users' total spending relative to the reference: token price times tokens.
    Falls with a falling price when elasticity < 1, rises when it is > 1."""
    return response.token_price_ratio * response.token_demand_ratio


def elasticity_from_history(price_ratio: float, quantity_ratio: float) -> float:
    """The constant elasticity that turns ``price_ratio`` into ``quantity_ratio``
    (for checking a scenario against observed price and volume moves)."""
    if price_ratio <= 0 or quantity_ratio <= 0 or price_ratio == 1.0:
        raise ValueError("need positive ratios and a price change")
    return -math.log(quantity_ratio) / math.log(price_ratio)
