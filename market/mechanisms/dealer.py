"""A dealer's (aggregator's) pricing: it buys long blocks and resells them short.

The dealer carries the long contract whether or not it resells every month of it,
so its break-even price per hour it sells is its cost over the share it expects to
sell (its utilisation). On top come

- a **term** markup: short blocks sell at a premium over long ones, the same
  premium curve sellers quote with (``pricing.term_factor``), taken as the ratio of
  the short block's factor to the long contract's;
- a **utilisation-risk** markup: ``1 + risk_aversion × cv``, with cv the coefficient
  of variation of its monthly utilisation (a dealer that sells steadily asks less);
- its **margin**.

``dealer_bid`` is the inverse: the most it pays for a long block given the price it
expects to resell at. Pure functions, no model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from market.mechanisms.broker_records import DealerQuote
from market.mechanisms.pricing import term_factor

MIN_UTILISATION = 0.05  # below this the dealer prices as if it sold 5%


def utilisation_stats(
    sold_h100e_by_month: Sequence[float], held_h100e_by_month: Sequence[float]
) -> tuple[float, float]:
    """Mean and standard deviation of the monthly share of held capacity sold, over
    the months in which the dealer held any; (1, 0) when it has no history."""
    shares = [
        min(1.0, max(0.0, s / h))
        for s, h in zip(sold_h100e_by_month, held_h100e_by_month, strict=True)
        if h > 0
    ]
    if not shares:
        return 1.0, 0.0
    mean = sum(shares) / len(shares)
    var = sum((x - mean) ** 2 for x in shares) / len(shares)
    return mean, math.sqrt(var)


def _factors(
    block_months: int,
    long_term_months: int,
    utilisation: float,
    utilisation_sd: float,
    short_term_premium: float,
    full_term_months: int,
    risk_aversion: float,
    margin: float,
) -> tuple[float, float, float, float]:
    u = max(MIN_UTILISATION, min(1.0, utilisation))
    term = term_factor(
        block_months, short_term_premium, full_term_months=full_term_months
    ) / term_factor(long_term_months, short_term_premium, full_term_months=full_term_months)
    risk = 1.0 + risk_aversion * max(0.0, utilisation_sd) / u
    return u, term, risk, 1.0 + margin


def dealer_ask(
    *,
    cost_usd_per_h100e_hour: float,
    block_months: int,
    long_term_months: int,
    utilisation: float,
    utilisation_sd: float,
    short_term_premium: float,
    full_term_months: int,
    risk_aversion: float,
    margin: float,
) -> DealerQuote:
    """The dealer's ask for a ``block_months`` block cut from capacity it holds on a
    ``long_term_months`` contract at ``cost_usd_per_h100e_hour``."""
    u, term, risk, marg = _factors(
        block_months,
        long_term_months,
        utilisation,
        utilisation_sd,
        short_term_premium,
        full_term_months,
        risk_aversion,
        margin,
    )
    breakeven = cost_usd_per_h100e_hour / u
    return DealerQuote(breakeven * term * risk * marg, breakeven, term, risk, marg)


def dealer_bid(
    *,
    resale_usd_per_h100e_hour: float,
    block_months: int,
    long_term_months: int,
    utilisation: float,
    utilisation_sd: float,
    short_term_premium: float,
    full_term_months: int,
    risk_aversion: float,
    margin: float,
) -> float:
    """The most the dealer pays per H100e-hour for a long block when it expects to
    resell ``block_months`` blocks at ``resale_usd_per_h100e_hour``: the price at
    which ``dealer_ask`` would equal that resale price."""
    u, term, risk, marg = _factors(
        block_months,
        long_term_months,
        utilisation,
        utilisation_sd,
        short_term_premium,
        full_term_months,
        risk_aversion,
        margin,
    )
    return resale_usd_per_h100e_hour * u / (term * risk * marg)


@dataclass(frozen=True)
class DealerMonth:
    """One month of a dealer's book: what its resales brought in, what its holdings
    cost, and the share of its holdings it resold (all USD but the share)."""

    revenue_usd: float
    cost_usd: float
    utilisation: float

    @property
    def margin_usd(self) -> float:
        return self.revenue_usd - self.cost_usd


def month_pnl(
    holdings: Sequence[tuple[float, float, float]],
    resales: Sequence[tuple[float, float]],
    hours_per_month: float,
) -> DealerMonth:
    """A dealer's month from its ``holdings`` (H100e delivered, USD per H100e-hour it
    pays, take-or-pay share) and its ``resales`` (H100e delivered to its buyers, USD per
    H100e-hour they pay). It owes every holding on the share it resold and the
    take-or-pay share of the rest, so an idle holding still costs money: that is the
    utilisation risk it carries. Its resale revenue is paid in full."""
    held = sum(h for h, _, _ in holdings)
    sold = sum(q for q, _ in resales)
    u = 0.0 if held <= 0 else min(1.0, sold / held)
    cost = sum(h * price * hours_per_month * (u + (1.0 - u) * top) for h, price, top in holdings)
    revenue = sum(q * price * hours_per_month for q, price in resales)
    return DealerMonth(revenue, cost, u)
