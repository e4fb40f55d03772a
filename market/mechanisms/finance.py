"""Money: investor sentiment, fundraising odds and lenders' spreads."""

from __future__ import annotations

import math

SENTIMENT_STATES = ("winter", "normal", "boom")
SENTIMENT_MULTIPLIER = {"winter": 0.35, "normal": 1.0, "boom": 1.6}


def next_sentiment(state: str, persistence: float, u: float) -> str:
    """A three-state Markov chain. With probability ``persistence`` the state stays;
    otherwise it moves one step: from normal up or down with equal odds, from boom
    or winter back to normal. ``u`` is a uniform draw in [0, 1)."""
    if u < persistence:
        return state
    if state == "normal":
        return "boom" if u < persistence + (1.0 - persistence) / 2.0 else "winter"
    return "normal"


def raise_probability(growth_per_year: float, rank_score: float, sentiment: str) -> float:
    """Chance that a lab's fundraising round closes this month.

    ``growth_per_year`` is revenue growth (1 = flat), ``rank_score`` is 1 for the most
    capable lab and 0 for the least. Investors follow growth, rank and the mood.
    """
    g = math.log(max(growth_per_year, 1e-3))
    z = -0.5 + 1.2 * g + 1.5 * rank_score + {"winter": -1.8, "normal": 0.0, "boom": 1.0}[sentiment]
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
