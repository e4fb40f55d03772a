"""Cash-settled forwards on a price index: settlement, P&L, exposure and basis.

Physical delivery of a chip generation is impractical, so compute futures settle in
cash against an index. Each month of its term a forward pays

    (index − strike) × notional H100e-hours

from the seller to the buyer (the other way when negative). A lab that buys the
forward and rents compute at the index has locked the strike; what it actually pays
differs from the index by its **basis**, which the forward does not hedge. A
provider that sells the forward locks its revenue the same way.

Every settlement pays exactly what it receives: the buyer's and the seller's cash
flows sum to zero, and so do the fees with the exchange's income. No model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from market.io.records import HOURS_PER_MONTH
from market.mechanisms.broker_records import Fill, Forward, ForwardSettlement, Transfer

BPS_PER_UNIT = 10_000.0  # basis points in one: fees are quoted in basis points


def forwards_from_fills(
    fills: Iterable[Fill], index_name: str, first_id: int, signed_month: int
) -> list[Forward]:
    """Forwards traded on an exchange's book: a forward order is a block order whose
    capacity is the notional per month (in H100e, × 730 hours) and whose price is the
    strike, matched by ``orderbook.match`` like any block but settled in cash."""
    return [
        Forward(
            forward_id=first_id + i,
            buyer_id=f.buyer_id,
            seller_id=f.seller_id,
            index_name=index_name,
            notional_h100e_hours_per_month=f.capacity_h100e * HOURS_PER_MONTH,
            strike_usd_per_h100e_hour=f.price_usd_per_h100e_hour,
            start_month=f.start_month,
            months=f.duration_months,
            signed_month=signed_month,
        )
        for i, f in enumerate(fills)
    ]


def settle(fwd: Forward, month: int, index_usd_per_h100e_hour: float | None) -> ForwardSettlement:
    """The forward's cash flows in ``month``: zero outside its term or when the index
    has no value yet."""
    if not fwd.live(month) or index_usd_per_h100e_hour is None:
        return ForwardSettlement(fwd.forward_id, month, index_usd_per_h100e_hour or 0.0, 0.0, 0.0)
    to_buyer = (
        index_usd_per_h100e_hour - fwd.strike_usd_per_h100e_hour
    ) * fwd.notional_h100e_hours_per_month
    return ForwardSettlement(fwd.forward_id, month, index_usd_per_h100e_hour, to_buyer, -to_buyer)


def settle_all(
    forwards: Iterable[Forward], month: int, index_by_name: Mapping[str, float | None]
) -> list[ForwardSettlement]:
    """Settle every live forward against the reading of its own index."""
    return [settle(f, month, index_by_name.get(f.index_name)) for f in forwards if f.live(month)]


def cash_by_firm(
    forwards: Iterable[Forward], settlements: Iterable[ForwardSettlement]
) -> dict[int, float]:
    """Net forward cash per firm (received positive); the values sum to zero."""
    by_id = {f.forward_id: f for f in forwards}
    out: dict[int, float] = {}
    for s in settlements:
        f = by_id[s.forward_id]
        out[f.buyer_id] = out.get(f.buyer_id, 0.0) + s.buyer_usd
        out[f.seller_id] = out.get(f.seller_id, 0.0) + s.seller_usd
    return out


def settlement_transfers(
    forwards: Iterable[Forward], settlements: Iterable[ForwardSettlement]
) -> list[Transfer]:
    """Each non-zero settlement as one payment from the side that owes to the other."""
    by_id = {f.forward_id: f for f in forwards}
    out = []
    for s in settlements:
        f = by_id[s.forward_id]
        if s.buyer_usd > 0:
            out.append(Transfer(f.seller_id, f.buyer_id, s.buyer_usd, "forward settlement"))
        elif s.buyer_usd < 0:
            out.append(Transfer(f.buyer_id, f.seller_id, -s.buyer_usd, "forward settlement"))
    return out


def remaining_months(fwd: Forward, month: int) -> int:
    """Months of the term from ``month`` on (``month`` included)."""
    return max(0, fwd.end_month - max(month, fwd.start_month))


def exposure_h100e_hours(forwards: Iterable[Forward], firm_id: int, month: int) -> float:
    """Notional still to settle from ``month`` on: positive for a net buyer (it gains
    when the index rises), negative for a net seller."""
    total = 0.0
    for f in forwards:
        hours = f.notional_h100e_hours_per_month * remaining_months(f, month)
        if f.buyer_id == firm_id:
            total += hours
        if f.seller_id == firm_id:
            total -= hours
    return total


def mark_to_market_usd(fwd: Forward, month: int, forward_price_usd_per_h100e_hour: float) -> float:
    """Value to the buyer of the months still to settle, at today's forward price for
    them (undiscounted); the seller's value is the negative."""
    return (
        (forward_price_usd_per_h100e_hour - fwd.strike_usd_per_h100e_hour)
        * fwd.notional_h100e_hours_per_month
        * remaining_months(fwd, month)
    )


def fees_usd(fwd: Forward, fee_bps: float) -> tuple[float, float]:
    """The exchange's fee from the buyer and from the seller at signing: ``fee_bps``
    of the strike notional over the whole term, from each side."""
    notional = fwd.strike_usd_per_h100e_hour * fwd.notional_h100e_hours_per_month * fwd.months
    fee = notional * fee_bps / BPS_PER_UNIT
    return fee, fee


def basis_usd_per_h100e_hour(
    paid_usd_per_h100e_hour: float, index_usd_per_h100e_hour: float
) -> float:
    """What the firm pays for its compute less the index the forward settles on."""
    return paid_usd_per_h100e_hour - index_usd_per_h100e_hour


def hedged_price_usd_per_h100e_hour(
    paid_usd_per_h100e_hour: float,
    index_usd_per_h100e_hour: float,
    strike_usd_per_h100e_hour: float,
) -> float:
    """A long hedger's net price per hedged hour: what it pays less what the forward
    pays it, i.e. the strike plus the basis. Fully hedged only when the basis is 0."""
    return paid_usd_per_h100e_hour - (index_usd_per_h100e_hour - strike_usd_per_h100e_hour)
