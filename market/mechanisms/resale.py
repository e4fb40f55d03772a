"""Resale of contracted capacity: how much of a contract its holder may sell on.

A holder (the buyer of a parent contract) may resell the part of the contract it
does not use itself for a window of months, if the contract gives it the right.
The parent stays in force (the holder still owes its seller); the resale is a
sub-contract. The cap for a window is the least, over the window's months, of

    parent capacity − the holder's own use that month − resales already made that month,

so a resold block never exceeds the unused part of its parent in any month of its
window. Plain functions on plain numbers; no model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from market.mechanisms.broker_records import ResaleLimit

# A resale already made: (start month, end month (exclusive), capacity in H100e).
Resold = tuple[int, int, float]


def resale_allowed(*, exclusive: bool, resale_right: bool, exclusive_resale_allowed: bool) -> bool:
    """A contract may be resold if it grants the right, and, for an exclusive
    (whole-site) lease, only if the market's rules let exclusive leases be resold."""
    return resale_right and (exclusive_resale_allowed or not exclusive)


def unused_h100e(
    capacity_h100e: float,
    month: int,
    own_use_h100e: Mapping[int, float],
    resold: Iterable[Resold] = (),
) -> float:
    """Capacity of the contract neither used by its holder nor resold in ``month``."""
    sold = sum(q for start, end, q in resold if start <= month < end)
    return max(0.0, capacity_h100e - own_use_h100e.get(month, 0.0) - sold)


def resale_limit(
    *,
    capacity_h100e: float,
    parent_start_month: int,
    parent_end_month: int,
    window_start_month: int,
    window_end_month: int,
    own_use_h100e: Mapping[int, float],
    resold: Iterable[Resold] = (),
    allowed: bool = True,
) -> ResaleLimit:
    """The most the holder may offer of the contract for ``[window_start_month,
    window_end_month)``, and what binds it. ``own_use_h100e`` maps a month to the
    capacity of this contract the holder uses itself (its plan); months it does not
    name count as unused."""
    if not allowed:
        return ResaleLimit(0.0, "the contract forbids resale")
    if window_end_month <= window_start_month:
        return ResaleLimit(0.0, "the window is empty")
    if window_start_month < parent_start_month or window_end_month > parent_end_month:
        return ResaleLimit(
            0.0,
            f"the window [{window_start_month}, {window_end_month}) lies outside the "
            f"contract's [{parent_start_month}, {parent_end_month})",
        )
    resold = list(resold)
    by_month = {
        m: unused_h100e(capacity_h100e, m, own_use_h100e, resold)
        for m in range(window_start_month, window_end_month)
    }
    month = min(by_month, key=lambda m: (by_month[m], m))
    cap = by_month[month]
    reason = "unused capacity" if cap > 0 else f"the holder uses all of it in month {month}"
    return ResaleLimit(cap, reason, month)


def over_resold(
    capacity_h100e: float,
    own_use_h100e: Mapping[int, float],
    resold: Iterable[Resold],
    tol_h100e: float = 1e-6,
) -> list[tuple[int, float]]:
    """The months in which own use plus resales exceed the contract, with the excess:
    the contract book's invariant is that this list is empty."""
    resold = list(resold)
    months = sorted({m for start, end, _ in resold for m in range(start, end)})
    out = []
    for m in months:
        total = own_use_h100e.get(m, 0.0) + sum(q for s, e, q in resold if s <= m < e)
        if total > capacity_h100e + tol_h100e:
            out.append((m, total - capacity_h100e))
    return out


def cut_blocks(
    free_h100e_by_month: Mapping[int, float],
    shapes: Iterable[tuple[int, int]],
    min_block_h100e: float = 0.0,
) -> list[tuple[int, int, float]]:
    """Cut free capacity (by month) into blocks of the given shapes (start month,
    duration), in the order given, each as large as the capacity the earlier blocks
    left in every month of its window. The blocks together never exceed the free
    capacity in any month, so a holder (or a dealer) may offer them all at once.
    Returns (start month, duration, capacity) for blocks above ``min_block_h100e``."""
    left = dict(free_h100e_by_month)
    out = []
    for start, months in shapes:
        if months <= 0:
            continue
        window = range(start, start + months)
        q = min(max(0.0, left.get(m, 0.0)) for m in window)
        if q > max(min_block_h100e, 0.0):
            out.append((start, months, q))
            for m in window:
                left[m] -= q
    return out
