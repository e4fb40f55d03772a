"""Typed records of the secondary market: block orders, fills, rejections, index
readings, cash-settled forwards and their settlements. Plain data, no model.

A block of compute is a capacity (H100e) for a window of whole months
``[start_month, start_month + duration_months)``. Prices are in USD per H100e-hour;
a block's notional is capacity × price × 730 hours × months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from market.io.records import HOURS_PER_MONTH


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True, slots=True)
class BlockOrder:
    """A limit order for a block of compute.

    ``seq`` is the submit sequence: unique within a book, it breaks every tie.
    A resale ask names its parent contract and the parent's window
    ``[parent_start_month, parent_end_month)``; the block must lie inside it.
    ``all_or_none`` (buys only): fill the whole capacity or nothing (training runs);
    otherwise the buy may be filled in part. Asks are always divisible in capacity.
    """

    side: Side
    trader_id: int
    capacity_h100e: float
    start_month: int
    duration_months: int
    price_usd_per_h100e_hour: float
    seq: int
    all_or_none: bool = False
    parent_contract_id: int | None = None
    parent_start_month: int | None = None
    parent_end_month: int | None = None

    @property
    def end_month(self) -> int:
        """First month after the block."""
        return self.start_month + self.duration_months

    @property
    def shape(self) -> tuple[int, int]:
        """The block's window (start month, duration in months)."""
        return (self.start_month, self.duration_months)

    def covers(self, other: BlockOrder) -> bool:
        """This block's window contains the other's whole window."""
        return self.start_month <= other.start_month and other.end_month <= self.end_month


@dataclass(frozen=True, slots=True)
class Rejection:
    order: BlockOrder
    reason: str  # plain words for the event log


@dataclass(frozen=True, slots=True)
class Fill:
    """One seller's part of one buy. The block is the buy's window; the buyer pays
    ``notional_usd + fee_buyer_usd``, the seller receives ``notional_usd -
    fee_seller_usd`` and the exchange keeps both fees."""

    buy_seq: int
    ask_seq: int
    buyer_id: int
    seller_id: int
    capacity_h100e: float
    start_month: int
    duration_months: int
    price_usd_per_h100e_hour: float
    fee_buyer_usd: float
    fee_seller_usd: float
    parent_contract_id: int | None = None

    @property
    def h100e_hours(self) -> float:
        return self.capacity_h100e * HOURS_PER_MONTH * self.duration_months

    @property
    def notional_usd(self) -> float:
        return self.h100e_hours * self.price_usd_per_h100e_hour

    @property
    def buyer_pays_usd(self) -> float:
        return self.notional_usd + self.fee_buyer_usd

    @property
    def seller_receives_usd(self) -> float:
        return self.notional_usd - self.fee_seller_usd

    @property
    def exchange_fee_usd(self) -> float:
        return self.fee_buyer_usd + self.fee_seller_usd


@dataclass(slots=True)
class MatchResult:
    """What one round of matching did.

    ``unfilled_h100e`` maps each accepted buy's seq to the capacity it still lacks;
    ``ask_left_h100e_months`` maps each accepted ask's seq to the capacity-months it
    has not sold; ``clearing_price`` maps a block shape (start, duration) to its
    uniform price (only the uniform rule sets it).
    """

    rule: str
    fills: list[Fill] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    unfilled_h100e: dict[int, float] = field(default_factory=dict)
    ask_left_h100e_months: dict[int, float] = field(default_factory=dict)
    clearing_price: dict[tuple[int, int], float] = field(default_factory=dict)

    @property
    def volume_h100e_hours(self) -> float:
        return sum(f.h100e_hours for f in self.fills)

    @property
    def fees_usd(self) -> float:
        return sum(f.exchange_fee_usd for f in self.fills)


@dataclass(frozen=True, slots=True)
class ResaleLimit:
    """The most a holder may resell of one contract for one window, and why."""

    cap_h100e: float
    reason: str  # what binds: "unused capacity", "contract forbids resale", ...
    binding_month: int | None = None  # the month where unused capacity is least


@dataclass(frozen=True, slots=True)
class PricePoint:
    """One trade as an index sees it: its price, its volume and its term."""

    price_usd_per_h100e_hour: float
    h100e_hours: float
    duration_months: int = 1


@dataclass(frozen=True, slots=True)
class IndexReading:
    """One month's value of a price index and how it was computed.

    ``value_usd_per_h100e_hour`` is None only when the index has never had an input.
    ``carried``: no input this month, the last value is repeated;
    ``months_stale`` counts consecutive carried months.
    """

    method: str
    value_usd_per_h100e_hour: float | None
    n_inputs: int
    volume_h100e_hours: float = 0.0
    carried: bool = False
    months_stale: int = 0


@dataclass(frozen=True, slots=True)
class Forward:
    """A cash-settled forward on an index: each month of its term the seller pays the
    buyer ``(index - strike) × notional`` (a negative amount flows the other way).

    The buyer (long) locks a price for compute it will buy; the seller (short), a
    provider, locks its revenue.
    """

    forward_id: int
    buyer_id: int
    seller_id: int
    index_name: str
    notional_h100e_hours_per_month: float
    strike_usd_per_h100e_hour: float
    start_month: int
    months: int
    signed_month: int = 0

    @property
    def end_month(self) -> int:
        return self.start_month + self.months

    def live(self, month: int) -> bool:
        return self.start_month <= month < self.end_month


@dataclass(frozen=True, slots=True)
class ForwardSettlement:
    """One month's cash flows of one forward; the two sides sum to zero."""

    forward_id: int
    month: int
    index_usd_per_h100e_hour: float
    buyer_usd: float  # received by the buyer (negative: paid)
    seller_usd: float  # received by the seller (negative: paid)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One payment between two firms (``usd`` >= 0), for the model's ledger."""

    payer_id: int
    payee_id: int
    usd: float
    kind: str  # "exchange fee", "forward settlement", ...


@dataclass(frozen=True, slots=True)
class DealerQuote:
    """A dealer's ask for a short block and the factors it is made of."""

    ask_usd_per_h100e_hour: float
    breakeven_usd_per_h100e_hour: float  # cost over expected utilisation
    term_factor: float
    risk_factor: float
    margin_factor: float
