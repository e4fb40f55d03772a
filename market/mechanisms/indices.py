"""Price indices of compute rental, by different methods.

Index publishers see different data and compute differently, so their readings
differ (on 2026-04-28 three H100 rental indices read $1.92, $2.58 and $2.71 per
hour). Here each method is a plain function of its inputs; the spread between two
indices comes from what they read (trades or list prices, which terms, which
outliers), never from a constant offset.

Methods (``METHODS``):
- ``vwap``: volume-weighted average price of the month's trades (weights:
  H100e-hours), whatever their term.
- ``trimmed_vwap``: the same after cutting ``trim_share`` of the volume from each
  end of the price distribution (outliers, fire sales).
- ``term_adjusted_vwap``: each trade's price is first moved to a reference term
  with the market's term premium (``pricing.term_factor``), so a month of short
  blocks and a month of long ones read alike.
- ``list_survey``: the median, over sellers, of each seller's lowest ask on the
  book (list prices: what providers ask, not what trades; resale asks are left out
  unless asked for).

A month with no input repeats the last reading, flagged ``carried``; an index that
never had an input reads None.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence

from market.mechanisms.broker_records import BlockOrder, Fill, IndexReading, PricePoint, Side
from market.mechanisms.pricing import term_factor

HALF = 0.5  # trimming half the volume from each end leaves nothing to average

METHODS = ("vwap", "trimmed_vwap", "term_adjusted_vwap", "list_survey")


def points_from_fills(fills: Iterable[Fill]) -> list[PricePoint]:
    return [PricePoint(f.price_usd_per_h100e_hour, f.h100e_hours, f.duration_months) for f in fills]


def vwap_of_fills(fills: Sequence[Fill], previous: IndexReading | None = None) -> IndexReading:
    """``vwap(points_from_fills(fills), previous)`` without a price point per fill: the
    same sums, term by term in the same order."""
    volume = sum(h for f in fills if (h := f.h100e_hours) > 0)
    if volume <= 0:
        return carried("vwap", previous)
    used = [(f.price_usd_per_h100e_hour, h) for f in fills if (h := f.h100e_hours) > 0]
    value = sum(price * h for price, h in used) / volume
    return IndexReading("vwap", value, len(used), volume)


def carried(method: str, previous: IndexReading | None) -> IndexReading:
    """No input this month: repeat the last value (None if there never was one)."""
    if previous is None or previous.value_usd_per_h100e_hour is None:
        return IndexReading(method, None, 0, carried=True)
    return IndexReading(
        method,
        previous.value_usd_per_h100e_hour,
        0,
        carried=True,
        months_stale=previous.months_stale + 1,
    )


def vwap(points: Sequence[PricePoint], previous: IndexReading | None = None) -> IndexReading:
    volume = sum(pt.h100e_hours for pt in points if pt.h100e_hours > 0)
    if volume <= 0:
        return carried("vwap", previous)
    used = [pt for pt in points if pt.h100e_hours > 0]
    value = sum(pt.price_usd_per_h100e_hour * pt.h100e_hours for pt in used) / volume
    return IndexReading("vwap", value, len(used), volume)


def trimmed_vwap(
    points: Sequence[PricePoint], trim_share: float, previous: IndexReading | None = None
) -> IndexReading:
    """Volume-weighted mean of the middle ``1 - 2 × trim_share`` of the volume,
    ranked by price (ties by input order)."""
    if not 0.0 <= trim_share < HALF:
        raise ValueError(f"trim_share = {trim_share!r} is not allowed: expected 0 <= x < 0.5")
    ranked = sorted(
        (pt for pt in points if pt.h100e_hours > 0), key=lambda pt: pt.price_usd_per_h100e_hour
    )
    total = sum(pt.h100e_hours for pt in ranked)
    if total <= 0:
        return carried("trimmed_vwap", previous)
    lo, hi = trim_share * total, (1.0 - trim_share) * total
    kept = weighted = 0.0
    n = 0
    below = 0.0
    for pt in ranked:
        take = max(0.0, min(below + pt.h100e_hours, hi) - max(below, lo))
        below += pt.h100e_hours
        if take > 0:
            kept += take
            weighted += take * pt.price_usd_per_h100e_hour
            n += 1
    return IndexReading("trimmed_vwap", weighted / kept, n, kept)


def term_adjusted_vwap(
    points: Sequence[PricePoint],
    *,
    reference_term_months: int,
    short_term_premium: float,
    full_term_months: int,
    previous: IndexReading | None = None,
) -> IndexReading:
    """Volume-weighted mean of prices moved to ``reference_term_months``; the term
    curve is the sellers' (``short_term_premium`` falling to none at
    ``full_term_months``)."""
    ref = term_factor(reference_term_months, short_term_premium, full_term_months=full_term_months)
    moved = [
        PricePoint(
            pt.price_usd_per_h100e_hour
            * ref
            / term_factor(
                pt.duration_months, short_term_premium, full_term_months=full_term_months
            ),
            pt.h100e_hours,
            reference_term_months,
        )
        for pt in points
    ]
    r = vwap(moved, previous)
    return IndexReading(
        "term_adjusted_vwap",
        r.value_usd_per_h100e_hour,
        r.n_inputs,
        r.volume_h100e_hours,
        r.carried,
        r.months_stale,
    )


def list_survey(
    asks: Iterable[BlockOrder],
    previous: IndexReading | None = None,
    include_resales: bool = False,
) -> IndexReading:
    """Median over sellers of each seller's lowest ask. A survey of list prices asks
    the providers what they charge, so resale asks (which name a parent contract) are
    left out unless ``include_resales``."""
    lowest: dict[int, float] = {}
    for a in asks:
        if a.side != Side.SELL or (a.parent_contract_id is not None and not include_resales):
            continue
        p = a.price_usd_per_h100e_hour
        lowest[a.trader_id] = min(p, lowest.get(a.trader_id, p))
    return survey_of_lowest(lowest, previous)


def survey_of_lowest(
    lowest: Mapping[int, float], previous: IndexReading | None = None
) -> IndexReading:
    """``list_survey`` from each seller's lowest list price (by seller id), for a
    survey that asks each seller once instead of reading a book of asks."""
    if not lowest:
        return carried("list_survey", previous)
    return IndexReading("list_survey", statistics.median(lowest.values()), len(lowest))


def publish(
    method: str,
    *,
    points: Sequence[PricePoint] = (),
    asks: Sequence[BlockOrder] = (),
    previous: IndexReading | None = None,
    trim_share: float | None = None,
    term_curve: tuple[int, float, int] | None = None,
    include_resales: bool = False,
) -> IndexReading:
    """One month's reading of the index computed by ``method`` (one of ``METHODS``).
    ``trimmed_vwap`` needs ``trim_share``; ``term_adjusted_vwap`` needs ``term_curve``:
    (reference term in months, short-term premium, full term in months)."""
    if method == "vwap":
        return vwap(points, previous)
    if method == "trimmed_vwap":
        if trim_share is None:
            raise ValueError("method 'trimmed_vwap' needs trim_share")
        return trimmed_vwap(points, trim_share, previous)
    if method == "term_adjusted_vwap":
        if term_curve is None:
            raise ValueError("method 'term_adjusted_vwap' needs term_curve")
        reference, premium, full = term_curve
        return term_adjusted_vwap(
            points,
            reference_term_months=reference,
            short_term_premium=premium,
            full_term_months=full,
            previous=previous,
        )
    if method == "list_survey":
        return list_survey(asks, previous, include_resales)
    raise ValueError(f"method = {method!r} is not allowed: expected one of {', '.join(METHODS)}")
