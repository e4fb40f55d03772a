"""Typed records the mechanisms exchange. Plain data: no behaviour that needs a model."""

from __future__ import annotations

import math
import pickle
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, overload

from market.io.params import PARAMS

HOURS_PER_MONTH = 730.0  # 8,760 hours a year / 12: a month of round-the-clock use


class Parameters(dict[str, Any]):
    """A run's parameters: every declared one (``market.io.params``), each value
    already checked against its declaration when the scenario was loaded. Read them
    as attributes, ``p.contest_intensity``; a name that is not declared fails at
    once. Still a mapping by name, for outputs and for experiments that set one
    (``p["contest_intensity"] = 0``, which the attribute then shows too)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        missing = sorted(set(PARAMS) - set(values))
        unknown = sorted(set(values) - set(PARAMS))
        if missing or unknown:
            raise ValueError(f"parameters missing: {missing}; not declared: {unknown}")
        super().__init__(values)
        self.__dict__.update(values)  # attribute reads are plain lookups

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in PARAMS:
            raise KeyError(f"'{name}' is not a declared parameter")
        super().__setitem__(name, value)
        self.__dict__[name] = value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __getattr__(self, name: str) -> Any:  # only for names that are not set
        raise AttributeError(f"'{name}' is not a declared parameter")

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value


class FirmKind(StrEnum):
    """Agent types; the values are the names the scenario tables and outputs use."""

    HYPERSCALER = "hyperscaler"
    NEOCLOUD = "neocloud"
    LAB = "lab"
    CHIP_SUPPLIER = "chip_supplier"


class Purpose(StrEnum):
    INFERENCE = "inference"  # serving users: any sites will do
    TRAINING = "training"  # a frontier run: the whole block at one site


class Strategy(StrEnum):
    """What a lab serves first when its compute is short."""

    TRAINING_FIRST = "training_first"
    INFERENCE_FIRST = "inference_first"


class Sentiment(StrEnum):
    WINTER = "winter"
    NORMAL = "normal"
    BOOM = "boom"


class EndReason(StrEnum):
    """Why a contract ended (the contract book's ``end_reason`` column)."""

    EXPIRED = "expired"
    RENEWED = "renewed"  # expired and signed again on new terms
    BUYER_EXIT = "buyer exit"
    SELLER_EXIT = "seller exit"
    MERGED = "merged"  # buyer and seller became one firm
    CANCELLED = "cancelled"  # the buyer gave notice and paid the fee
    PARENT_ENDED = "parent ended"  # a resale sub-contract whose parent contract ended


class Origin(StrEnum):
    """How a contract came about (the contract book's ``origin`` column)."""

    NEGOTIATED = "negotiated"
    OPENING_BOOK = "opening book"
    CIRCULAR_DEAL = "circular deal"
    RENEWAL = "renewal"
    RESALE = "resale"  # a block of a held contract resold through an exchange


class FacilityStatus(IntEnum):
    PLANNED = 0
    UNDER_CONSTRUCTION = 1
    ONLINE = 2
    RETIRED = 3


class ContractState(IntEnum):
    """States only move forward: SIGNED -> ACTIVE -> ENDED (or SIGNED -> ENDED)."""

    SIGNED = 0
    ACTIVE = 1
    ENDED = 2

    @property
    def label(self) -> str:
        """The name the contract book's ``state`` column uses."""
        return self.name.lower()


@dataclass(slots=True)
class ChipBatch:
    generation: int
    h100e: float
    installed_month: int
    cost_usd_per_h100e: float


@dataclass(slots=True)
class Facility:
    facility_id: int
    name: str
    owner_id: int
    region: str
    power_mw: float
    status: FacilityStatus
    online_month: int  # month index it comes (or came) online
    build_cost_usd: float
    build_started_month: int = 0
    grid_ready_month: int = 0
    chips: list[ChipBatch] = field(default_factory=list)
    pending_h100e: float = 0.0  # ordered chips not yet delivered
    ordered_generation: int = 0
    chip_cost_usd_per_h100e: float = 0.0  # price per H100e of its chips (set with the site)
    paused: bool = False  # construction stopped by its owner (the investment stage)
    # chips are only ever appended or filtered into a new list, so the list's identity
    # and length tell whether what is kept about them is still right (the list seen is
    # held, so its identity cannot pass to another list)
    _seen: list | None = field(default=None, init=False, repr=False, compare=False)
    _seen_len: int = field(default=-1, init=False, repr=False, compare=False)
    _installed: float = field(default=0.0, init=False, repr=False, compare=False)
    _oldest: float = field(default=0.0, init=False, repr=False, compare=False)
    _lowest_generation: float = field(default=0.0, init=False, repr=False, compare=False)
    _used_by: Any = field(default=None, init=False, repr=False, compare=False)
    _used_mw: float = field(default=0.0, init=False, repr=False, compare=False)

    def _see(self, chips: list) -> None:
        self._seen, self._seen_len = chips, len(chips)
        self._installed = sum(b.h100e for b in chips)
        self._oldest = min((b.installed_month for b in chips), default=math.inf)
        self._lowest_generation = min((b.generation for b in chips), default=math.inf)
        self._used_by = None

    @property
    def capacity_h100e(self) -> float:
        if self.status != FacilityStatus.ONLINE:
            return 0.0
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        return self._installed

    @property
    def installed_h100e(self) -> float:
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        return self._installed

    def alive_h100e(self, retired_by: int) -> float:
        """Its chips installed after month ``retired_by``: with every batch that young,
        the installed sum itself (the same terms in the same order)."""
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        if self._oldest > retired_by:
            return self._installed
        return sum(b.h100e for b in chips if b.installed_month > retired_by)

    @property
    def oldest_installed_month(self) -> float:
        """The month its oldest chips were installed (infinity with none)."""
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        return self._oldest

    @property
    def lowest_generation(self) -> float:
        """The oldest generation among its chips (infinity with none)."""
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        return self._lowest_generation

    def power_used_mw(self, density_of) -> float:
        """MW its chips draw (each batch's H100e over its generation's H100e per MW),
        kept with the chips for the density function asked."""
        chips = self.chips
        if chips is not self._seen or len(chips) != self._seen_len:
            self._see(chips)
        if self._used_by != density_of:
            self._used_mw = sum(b.h100e / density_of(b.generation) for b in chips)
            self._used_by = density_of
        return self._used_mw

    def expected_capacity_h100e(self, month: int) -> float:
        """Capacity the owner can count on at ``month``: installed plus ordered chips,
        provided the site is online by then."""
        if self.status == FacilityStatus.RETIRED or self.online_month > month:
            return 0.0
        return self.installed_h100e + self.pending_h100e


@dataclass(slots=True, kw_only=True)
class Contract:
    contract_id: int
    buyer_id: int
    seller_id: int
    facility_id: int
    capacity_h100e: float
    start_month: int
    term_months: int
    price_usd_per_h100e_hour: float
    price_usd_per_mw_month: float
    signed_month: int
    ramp_months: int = 0
    ramp_discount: float = 0.0
    take_or_pay_share: float  # no default: the parameter of that name gives it
    cancellation_notice_months: int = 0
    exclusive: bool = False
    purpose: Purpose = Purpose.INFERENCE
    origin: Origin = Origin.NEGOTIATED
    state: ContractState = ContractState.SIGNED
    delivered_h100e: float = 0.0
    end_reason: EndReason | str = ""  # "" while open
    ended_month: int = -1
    paid_usd: float = 0.0
    # resale (secondary market): the contract a sub-contract resells part of, whether
    # this contract's buyer may resell it, and the exchange that matched a resale
    parent_id: int | None = None
    resale_right: bool = True
    via_broker_id: int | None = None
    # a buyer's exit: the seller's claim on the buyer's estate and what it recovered
    claim_usd: float = 0.0
    recovered_usd: float = 0.0
    # cancellation: the first month after the notice the buyer gave (-1: none given; the
    # contract then ends there instead of at the end of its term) and the fee it paid
    cancel_month: int = -1
    cancellation_fee_usd: float = 0.0

    @property
    def end_month(self) -> int:
        """First month after the term, or after the notice of a cancelled contract."""
        return self.cancel_month if self.cancel_month >= 0 else self.start_month + self.term_months

    def overlaps(self, start: int, end: int) -> bool:
        return (
            self.state != ContractState.ENDED and self.start_month < end and start < self.end_month
        )

    def monthly_payment_usd(self, month: int, delivered_h100e: float, used_share: float) -> float:
        rate = self.price_usd_per_h100e_hour
        if month - self.start_month < self.ramp_months:
            rate *= 1.0 - self.ramp_discount
        owed_share = used_share + (1.0 - used_share) * self.take_or_pay_share
        return delivered_h100e * rate * HOURS_PER_MONTH * owed_share


@dataclass(slots=True, kw_only=True)
class RFQ:
    """A buyer's request for quotes."""

    buyer_id: int
    capacity_h100e: float
    start_month: int
    term_months: int
    contiguous: bool  # training: the whole block at one site
    purpose: Purpose
    reservation_usd_per_h100e_hour: float
    buyer_credit: float
    buyer_is_lab: bool = True
    latest_start_month: int = -1  # a later start the buyer still accepts (-1: start_month)
    # the longest term the buyer stretches to for a seller that wants one (0: term_months)
    longest_term_months: int = 0

    @property
    def latest_start(self) -> int:
        return max(self.start_month, self.latest_start_month)


@dataclass(slots=True, kw_only=True)
class Quote:
    seller_id: int
    facility_id: int | None  # None: build to suit (a new site)
    capacity_h100e: float
    start_month: int
    term_months: int
    ask_usd_per_h100e_hour: float
    floor_usd_per_h100e_hour: float
    exclusive: bool = False
    cancellation_notice_months: int = 0
    h100e_per_mw: float = 700.0


@dataclass(slots=True, kw_only=True)
class Loan:
    """A firm's loan: interest on the drawn principal only until ``repay_from_month``,
    then an annuity. A build loan is a facility drawn as the site's spending falls due:
    ``undrawn_usd`` is what the lenders still owe, ``draw_share`` the share of each
    payment for ``facility_id`` (the site, also its collateral) drawn from it. A loan
    against owned sites and contracted revenue has ``borrowing_base`` set."""

    principal_usd: float
    annual_rate: float
    repay_from_month: int
    covenanted: bool = True  # its lenders test covenants monthly once repayment starts
    facility_id: int | None = None
    undrawn_usd: float = 0.0
    draw_share: float = 1.0
    borrowing_base: bool = False


@dataclass(slots=True, kw_only=True)
class RaiseRecord:
    """One round of money from investors or lenders, with what bounds it (raises.csv)."""

    month: int
    firm: str
    firm_kind: str
    kind: str  # "equity", "build loan" or "secured loan"
    amount_usd: float
    valuation_usd: float
    bound_usd: float
    sentiment: str
    strategic_usd: float = 0.0


@dataclass(slots=True)
class ChipOrder:
    order_id: int
    buyer_id: int
    supplier_id: int
    facility_id: int
    h100e: float
    month_placed: int
    price_usd_per_h100e: float
    long_term_agreement: bool = False
    delivered_h100e: float = 0.0
    generation: int = 0
    held_until_month: int = -1  # the buyer deferred deliveries up to this month

    @property
    def open_h100e(self) -> float:
        return max(0.0, self.h100e - self.delivered_h100e)


@dataclass(slots=True)
class Event:
    month: str
    kind: str
    text: str
    actors: tuple[str, ...] = ()


class EventLog(Sequence[Event]):
    """Every event logged, in order: a sequence of ``Event`` that grows by ``append``.

    The current month's events are kept as they were appended; once an event of a later
    month arrives, the earlier month's events are packed into one compressed block
    (about a tenth of their size as objects), so a long run of a large market does not
    hold hundreds of thousands of event objects. Reading them back (iterating, indexing,
    ``len``) gives events equal to the ones appended."""

    def __init__(self) -> None:
        self._blocks: list[tuple[int, bytes]] = []  # (events, packed events) per month
        self._packed = 0  # events in the blocks
        self._open: list[Event] = []  # the latest month's events
        self._read: list[Event] = []  # packed events unpacked by ``as_tuple``
        self._blocks_read = 0  # the blocks they came from

    def append(self, event: Event) -> None:
        if self._open and event.month != self._open[-1].month:
            self._pack()
        self._open.append(event)

    def _pack(self) -> None:
        rows = [(e.month, e.kind, e.text, e.actors) for e in self._open]
        self._blocks.append((len(rows), zlib.compress(pickle.dumps(rows, protocol=5), 1)))
        self._packed += len(rows)
        self._open = []

    def __len__(self) -> int:
        return self._packed + len(self._open)

    def as_tuple(self) -> tuple[Event, ...]:
        """Every event, in order, as a tuple: for a reader that asks again after every
        month (the page's snapshot). The packed months it has read are kept unpacked
        from the first call, so each later call unpacks only the months packed since;
        a run that never calls it keeps its events packed."""
        for _, block in self._blocks[self._blocks_read :]:
            self._read.extend(Event(*row) for row in pickle.loads(zlib.decompress(block)))
        self._blocks_read = len(self._blocks)
        return (*self._read, *self._open)

    def __iter__(self) -> Iterator[Event]:
        for _, block in self._blocks:
            for row in pickle.loads(zlib.decompress(block)):
                yield Event(*row)
        yield from list(self._open)

    @overload
    def __getitem__(self, index: int) -> Event: ...
    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...
    def __getitem__(self, index):
        if isinstance(index, int) and -len(self._open) <= index < 0:
            return self._open[index]  # the latest events, without unpacking
        return list(self)[index]
