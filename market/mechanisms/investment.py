"""Investment discipline: build on expected utilisation, cost of capital and financing;
pause or cancel construction and defer or cancel chip orders at a declared penalty.

A builder values a new site as the present value of the margin it expects to earn
(price times expected utilisation, less running costs) over its useful life, against
its capex, at its own cost of capital. It builds when that net present value clears a
hurdle and the money exists (cash, equity, or debt a lender will advance). A site under
construction is finished only while finishing it is worth more than stopping: the money
already spent is sunk; the rest of the capex and the penalty for stopping are not.
Plain functions; no model. Money in USD, prices in USD per H100e-hour, time in months,
rates per year.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.io.params import Param
from market.io.records import HOURS_PER_MONTH

# declared in market.io.params (the investment and demand block)
PARAMS: tuple[Param, ...] = ()


def annuity_factor(annual_rate: float, months: int) -> float:
    """Present value of 1 USD a month for ``months`` months at ``annual_rate``."""
    if months <= 0:
        return 0.0
    r = annual_rate / 12.0
    if r <= 0:
        return float(months)
    return (1.0 - (1.0 + r) ** -months) / r


def expected_utilisation(
    own_recent: float, market_demand_h100e: float, market_capacity_h100e: float, weight: float
) -> float:
    """The utilisation a builder expects for a new site: ``weight`` on its own recent
    utilisation, the rest on the market's expected demand over expected capacity
    (counting sites under construction). In [0, 1]."""
    market = market_demand_h100e / market_capacity_h100e if market_capacity_h100e > 0 else 1.0
    u = weight * own_recent + (1.0 - weight) * market
    return min(1.0, max(0.0, u))


def build_npv_usd(
    *,
    h100e: float,
    capex_usd: float,
    price_usd_per_h100e_hour: float,
    utilisation: float,
    running_cost_usd_per_h100e_hour: float,
    annual_rate: float,
    life_months: int,
    build_months: int,
) -> float:
    """Net present value of a new site: the margin on the utilised part (price times
    utilisation less running costs on all of it, which a site pays idle or busy) each
    month of its life, starting after ``build_months``, discounted at ``annual_rate``;
    less the capex (spent now)."""
    margin = (
        h100e
        * HOURS_PER_MONTH
        * (price_usd_per_h100e_hour * utilisation - running_cost_usd_per_h100e_hour)
    )
    delay = (1.0 + annual_rate / 12.0) ** -build_months
    return margin * annuity_factor(annual_rate, life_months) * delay - capex_usd


def should_build(
    npv_usd: float, capex_usd: float, hurdle: float, funds_available_usd: float
) -> bool:
    """Build when the NPV clears ``hurdle`` times the capex and the capex can be funded
    (cash, equity or debt that exists)."""
    return npv_usd > hurdle * capex_usd and funds_available_usd >= capex_usd


@dataclass(frozen=True)
class ConstructionChoice:
    action: str  # "continue" | "pause" | "cancel"
    penalty_usd: float


def construction_choice(
    *,
    remaining_capex_usd: float,
    completion_value_usd: float,
    penalty_share: float,
    funds_available_usd: float,
    hurdle: float = 0.0,
) -> ConstructionChoice:
    """Finish, pause or cancel a site under construction.

    The money spent is sunk. Finishing costs ``remaining_capex_usd`` and yields
    ``completion_value_usd`` (the present value of its margin). Continue while that is
    worth the rest of the capex (with ``hurdle``) and it can be paid for. Otherwise
    pause when the site is still worth something (the value may recover; the penalty is
    paid once) or when it is worth more than the rest of the capex but cannot be funded
    now; cancel when its value is nil or negative.
    """
    penalty = penalty_share * max(0.0, remaining_capex_usd)
    worth = completion_value_usd - remaining_capex_usd > hurdle * remaining_capex_usd
    if worth and funds_available_usd >= remaining_capex_usd:
        return ConstructionChoice("continue", 0.0)
    if completion_value_usd > 0:
        return ConstructionChoice("pause", penalty)
    return ConstructionChoice("cancel", penalty)


def chip_order_choice(
    *,
    open_value_usd: float,
    expected_utilisation: float,
    defer_below_utilisation: float,
    cancel_penalty_share: float,
    value_if_delivered_usd: float,
) -> tuple[str, float]:
    """Take, defer or cancel the undelivered part of a chip order: ("take" | "defer" |
    "cancel", penalty in USD). Cancel when the chips are worth less to the builder than
    what they still cost less the forfeited deposit; defer when expected utilisation is
    below ``defer_below_utilisation``; otherwise take them."""
    penalty = cancel_penalty_share * open_value_usd
    if value_if_delivered_usd < open_value_usd - penalty:
        return "cancel", penalty
    if expected_utilisation < defer_below_utilisation:
        return "defer", 0.0
    return "take", 0.0
