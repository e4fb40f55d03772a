"""Money: investor sentiment, fundraising odds and lenders' spreads."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SENTIMENT_STATES = ("winter", "normal", "boom")
# revenue growth below this (a collapse to nothing) is taken as this, so its log exists
MIN_GROWTH_FOR_LOG = 1e-3


@dataclass(frozen=True, kw_only=True)
class RaiseOdds:
    """Log-odds of a round closing: intercept + per_log_growth x ln(revenue growth)
    + per_rank x rank score + the sentiment's shift (normal: 0)."""

    intercept: float
    per_log_growth: float
    per_rank: float
    winter: float
    boom: float

    @classmethod
    def from_params(cls, p: Mapping[str, Any]) -> RaiseOdds:
        return cls(
            intercept=p["raise_odds_intercept"],
            per_log_growth=p["raise_odds_per_log_growth"],
            per_rank=p["raise_odds_per_rank"],
            winter=p["raise_odds_winter"],
            boom=p["raise_odds_boom"],
        )


def next_sentiment(state: str, persistence: float, u: float) -> str:
    """A three-state Markov chain. With probability ``persistence`` the state stays;
    otherwise it moves one step: from normal up or down with equal odds, from boom
    or winter back to normal. ``u`` is a uniform draw in [0, 1)."""
    if u < persistence:
        return state
    if state == "normal":
        return "boom" if u < persistence + (1.0 - persistence) / 2.0 else "winter"
    return "normal"


# the largest x for which math.exp(x) is a finite float (about 709.78), rounded down
EXP_LIMIT = 709.0


def raise_probability(
    growth_per_year: float, rank_score: float, sentiment: str, odds: RaiseOdds
) -> float:
    """Chance that a lab's fundraising round closes this month.

    ``growth_per_year`` is revenue growth (1 = flat), ``rank_score`` is 1 for the most
    capable lab and 0 for the least. Investors follow growth, rank and the mood.
    """
    g = math.log(max(growth_per_year, MIN_GROWTH_FOR_LOG))
    shift = {"winter": odds.winter, "normal": 0.0, "boom": odds.boom}[sentiment]
    z = odds.intercept + odds.per_log_growth * g + odds.per_rank * rank_score + shift
    if z < -EXP_LIMIT:  # exp(-z) would overflow a float: the chance is nil
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def neocloud_spread(buyer_credit: float, investment_grade: float, speculative: float) -> float:
    """Lenders' spread: investment-grade buyers (credit 1) get the low spread,
    speculative ones (credit 0) the high one, linear in between."""
    c = min(1.0, max(0.0, buyer_credit))
    return speculative + (investment_grade - speculative) * c


def second_price(bids: list[tuple[float, int]], reserve: float) -> tuple[int, float] | None:
    """Sealed-bid second-price auction. ``bids`` are (amount, bidder id). The highest
    bid at or above ``reserve`` wins and pays the larger of the second bid and the
    reserve. Ties go to the lower id. None when no bid meets the reserve."""
    valid = sorted((b for b in bids if b[0] >= reserve), key=lambda b: (-b[0], b[1]))
    if not valid:
        return None
    price = max(reserve, valid[1][0]) if len(valid) > 1 else reserve
    return valid[0][1], price
