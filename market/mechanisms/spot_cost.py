"""Spot prices that respect cost: asks at or above short-run marginal cost, and a
no-trade month that reports no trade.

Short-run marginal cost (SRMC) is what running one more H100e-hour costs an owner
whose site is already built and whose chips are already paid: the energy it draws and
the operations that scale with use. An idle owner may cut its ask toward SRMC, never
below it. When no bid meets an ask, nothing trades: the month prints no price and the
index carries over. Plain functions; no model. Prices in USD per H100e-hour.
"""

from __future__ import annotations

from market.io.params import Param
from market.io.records import HOURS_PER_MONTH

# its parameter, ``variable_opex_share``, is declared in market.io.params
PARAMS: tuple[Param, ...] = ()

#: How a month's index value came about.
INDEX_TRADED = "traded"
INDEX_CARRIED = "carried over"


def srmc_usd_per_h100e_hour(
    *,
    power_price_usd_per_mwh: float,
    pue: float,
    h100e_per_mw: float,
    other_opex_usd_per_mw_month: float,
    variable_opex_share: float,
) -> float:
    """Short-run marginal cost of an H100e-hour at a site whose chips fit
    ``h100e_per_mw``: energy (1 MW of IT load times PUE for an hour, shared by the
    H100e on it) plus the variable share of other running costs."""
    if h100e_per_mw <= 0:
        raise ValueError("h100e_per_mw must be positive")
    energy = power_price_usd_per_mwh * pue / h100e_per_mw
    other = variable_opex_share * other_opex_usd_per_mw_month / HOURS_PER_MONTH / h100e_per_mw
    return energy + other


def spot_ask_usd_per_h100e_hour(
    full_cost_floor: float, share_of_floor: float, srmc: float
) -> float:
    """An idle owner's spot ask: ``share_of_floor`` of its full cost floor, but never
    below its short-run marginal cost."""
    return max(srmc, share_of_floor * full_cost_floor)


def next_index(index: float, traded_price: float | None, weight_on_new: float) -> tuple[float, str]:
    """The rental index after a month: a weighted average with the month's traded price
    when something traded; unchanged, and marked as carried over, when nothing did."""
    if traded_price is None:
        return index, INDEX_CARRIED
    return (1.0 - weight_on_new) * index + weight_on_new * traded_price, INDEX_TRADED
