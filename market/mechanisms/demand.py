"""Demand: the AI services market's growth and the contest for users among labs."""

from __future__ import annotations

import math
from collections.abc import Mapping

HALF = 0.5  # what is left of the excess growth after each half-life


def next_demand_index(
    index: float, growth_per_year: float, volatility_per_year: float, shock: float
) -> float:
    """One month of stochastic growth: log growth with drift ln(g)/12 and a normal
    ``shock`` (standard normal draw) scaled to ``volatility_per_year``/sqrt(12)."""
    drift = math.log(growth_per_year) / 12.0
    return index * math.exp(drift + volatility_per_year / math.sqrt(12.0) * shock)


def growth_at(month: int, growth_per_year: float, halflife_years: float) -> float:
    """Yearly growth factor at ``month``: its excess over 1 halves every ``halflife_years``."""
    return 1.0 + (growth_per_year - 1.0) * HALF ** (month / 12.0 / halflife_years)


def own_growth_factor(month: int, growth_per_year: float, halflife_months: float) -> float:
    """One month's growth of a lab's users over and above the market's. The lab's own
    yearly growth starts at ``growth_per_year`` and its logarithm halves every
    ``halflife_months`` (an adoption wave that fades: the whole wave multiplies the
    lab's users by ``growth_per_year ** (halflife_months / (12 ln 2))``). Month 0 is
    the start; 1 when the lab grows with the market."""
    if growth_per_year == 1.0 or month <= 0:
        return 1.0
    return growth_per_year ** (HALF ** (month / halflife_months) / 12.0)


def add_own_growth(
    shares: Mapping[int, float], factors: Mapping[int, float]
) -> tuple[dict[int, float], float]:
    """Labs whose users grow faster than the market add users of their own: lab k's
    users are multiplied by ``factors[k]`` (1 when missing), the other labs' users stay
    as they are. Returns the new shares (summing to 1) and the factor by which the
    market's users grew."""
    grown = {k: s * factors.get(k, 1.0) for k, s in shares.items()}
    before, after = sum(shares.values()), sum(grown.values())
    if before <= 0 or after <= 0:
        return dict(shares), 1.0
    return {k: v / after for k, v in grown.items()}, after / before


def agentic_share(month: int, initial: float, growth_per_year: float) -> float:
    return min(1.0, initial + growth_per_year * month / 12.0)


def compute_per_user(share_agentic: float, multiplier: float) -> float:
    """Compute per user relative to an all-chat market at the start."""
    return 1.0 - share_agentic + share_agentic * multiplier


def logit_shares(capability: Mapping[int, float], intensity: float) -> dict[int, float]:
    """Contest success function: share_i proportional to exp(intensity * capability_i),
    with capability in decades (log10) of training compute. Intensity 0: equal shares."""
    if not capability:
        return {}
    top = max(capability.values())
    weights = {k: math.exp(intensity * (c - top)) for k, c in capability.items()}
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


def update_shares(
    shares: Mapping[int, float],
    targets: Mapping[int, float],
    inertia: float,
    rationed: Mapping[int, float],
    churn: float,
) -> dict[int, float]:
    """Shares move toward the contest's targets with inertia; a lab that rationed a
    fraction r of its users last month loses ``churn * r`` of its share; the users
    lost are shared out by the contest's targets (so mostly to the strongest labs).
    Result sums to 1."""
    if not shares:
        return {}
    moved = {k: inertia * shares.get(k, 0.0) + (1.0 - inertia) * targets[k] for k in targets}
    lost = {k: moved[k] * churn * min(1.0, max(0.0, rationed.get(k, 0.0))) for k in moved}
    pool = sum(lost.values())
    out = {k: moved[k] - lost[k] + pool * targets[k] for k in moved}
    total = sum(out.values())
    if total <= 0:
        n = len(out)
        return dict.fromkeys(out, 1.0 / n)
    return {k: max(0.0, v) / total for k, v in out.items()}
