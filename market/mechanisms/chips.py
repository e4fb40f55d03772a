"""Chip supply: allocation of scarce output among orders, and list pricing with backlog.

Plain functions on ChipOrder records; the ChipSupplier agent calls them.
"""

from __future__ import annotations

from collections.abc import Sequence

from market.io.records import ChipOrder

ALLOCATION_POLICIES = ("pro_rata", "lta_priority", "fifo")


def allocate(orders: Sequence[ChipOrder], supply_h100e: float, policy: str) -> dict[int, float]:
    """Split ``supply_h100e`` among open orders. Returns H100e per order id.

    - ``pro_rata``: every open order gets the same fraction of what it still wants;
    - ``lta_priority``: orders under long-term agreements are served first (pro rata
      among them), the rest share what is left;
    - ``fifo``: oldest orders first.
    """
    if policy not in ALLOCATION_POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r}; allowed: {ALLOCATION_POLICIES}")
    if supply_h100e < 0:
        raise ValueError("supply_h100e must be >= 0")
    open_orders = [o for o in orders if o.open_h100e > 0]
    out = {o.order_id: 0.0 for o in open_orders}
    if not open_orders or supply_h100e <= 0:
        return out
    if policy == "pro_rata":
        _pro_rata(open_orders, supply_h100e, out)
    elif policy == "lta_priority":
        first = [o for o in open_orders if o.long_term_agreement]
        rest = [o for o in open_orders if not o.long_term_agreement]
        left = _pro_rata(first, supply_h100e, out)
        _pro_rata(rest, left, out)
    else:
        left = supply_h100e
        for o in sorted(open_orders, key=lambda o: (o.month_placed, o.order_id)):
            take = min(o.open_h100e, left)
            out[o.order_id] = take
            left -= take
            if left <= 0:
                break
    return out


def _pro_rata(orders: Sequence[ChipOrder], supply: float, out: dict[int, float]) -> float:
    want = sum(o.open_h100e for o in orders)
    if want <= 0 or supply <= 0:
        return supply
    frac = min(1.0, supply / want)
    for o in orders:
        out[o.order_id] = o.open_h100e * frac
    return supply - want * frac


def list_price(
    price: float,
    unit_cost: float,
    margin: float,
    backlog_months: float,
    target_backlog_months: float,
    slope: float,
    *,
    adjust: float,
) -> float:
    """Next month's list price per H100e.

    The price moves a fraction ``adjust`` of the way toward a target: cost plus margin,
    raised by ``slope`` for every month of backlog beyond the target (a scarcity rent).
    """
    excess = max(0.0, backlog_months - target_backlog_months)
    target = unit_cost * (1.0 + margin) * (1.0 + slope * excess)
    return price + adjust * (target - price)


def production_target(
    production: float,
    backlog_h100e: float,
    target_backlog_months: float,
    max_expansion: float,
    *,
    adjust: float,
    min_share: float,
) -> float:
    """Output a supplier decides to have once its expansion lag has passed: today's
    output moved a share ``adjust`` of the way to the output that clears the backlog in
    ``target_backlog_months``; never more than ``max_expansion`` per month above
    today's output, never below ``min_share`` of it."""
    wanted = backlog_h100e / max(target_backlog_months, 1e-9) * adjust + production * (1.0 - adjust)
    return min(production * (1.0 + max_expansion), max(production * min_share, wanted))


def guided_output(
    planned: float,
    forecast_growth_per_month: float,
    weight: float,
    max_expansion: float,
) -> float:
    """Output a supplier books on its buyers' guidance, whatever its backlog: the latest
    output it has planned, grown by a share ``weight`` of the growth per month its
    buyers forecast for the demand they serve (0: none), never more than
    ``max_expansion`` a month. Foundry and packaging capacity is booked a year or more
    ahead on that guidance, so it does not wait for orders to queue."""
    growth = 1.0 + weight * (max(forecast_growth_per_month, 1.0) - 1.0)
    return planned * min(growth, 1.0 + max_expansion)
