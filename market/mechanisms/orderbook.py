"""An exchange's order book for blocks of compute: validation and matching.

Orders are limit orders for blocks (capacity × window × price, ``BlockOrder``). One
call of ``match`` clears one batch (a month's orders): invalid orders are rejected
with a reason, then buys are filled from asks. Matching is deterministic: every tie
is broken by the submit sequence, and nothing is random.

Who trades (both rules):
- Buys take their turn by price, highest first, then by sequence.
- A buy is filled from asks whose window covers the buy's whole window, whose price
  is at or below the buy's limit and whose trader is not the buyer, cheapest first
  (then by sequence). Several sellers' asks may be combined in capacity; blocks are
  never combined in time (a buy for months 0–6 is not filled by one ask for 0–3 and
  another for 3–6), because a user needs the same capacity for the whole window.
- An ask is divisible: each fill takes capacity from it over the buy's window only,
  so the rest of the ask's window stays on offer. No month of an ask is ever sold
  beyond the ask's capacity.
- An all-or-none buy (training) is filled in full or not at all; a divisible buy
  takes what the eligible asks hold.

The price (the rule's name):
- ``price_time``: each fill at the ask's own price (the resting seller's price).
- ``uniform_per_shape``: the buys of one block shape (start month, duration) clear
  together at one price, the highest ask they use (every matched seller asked at
  most that, every matched buyer bid at least that). Shapes take their turn by their
  best buy. A buy whose limit is below its shape's price (possible when it could not
  use a cheap ask of its own) drops out and the shape is cleared again.

Fees: ``fee_bps`` basis points of each fill's notional from each side.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from market.io.records import HOURS_PER_MONTH
from market.mechanisms.broker_records import (
    BlockOrder,
    Fill,
    MatchResult,
    Rejection,
    Side,
    Transfer,
)

BPS_PER_UNIT = 10_000.0  # basis points in one: fees are quoted in basis points

RULES = ("price_time", "uniform_per_shape")
_EPS = 1e-9


def order_problem(
    order: BlockOrder, now_month: int, resale_cap_h100e: float | None = None
) -> str | None:
    """Why an order cannot enter the book, in plain words; None if it can.

    ``resale_cap_h100e``: for a resale ask, the most its holder may still resell of
    the parent contract over the ask's window (``resale.resale_limit``)."""
    o = order
    if not (math.isfinite(o.capacity_h100e) and o.capacity_h100e > 0):
        return f"capacity_h100e = {o.capacity_h100e:g} is not a positive size"
    if o.duration_months <= 0:
        return f"ends before it starts (duration_months = {o.duration_months})"
    if o.start_month < now_month:
        return f"starts in month {o.start_month}, before the current month {now_month}"
    if not (math.isfinite(o.price_usd_per_h100e_hour) and o.price_usd_per_h100e_hour > 0):
        return f"price_usd_per_h100e_hour = {o.price_usd_per_h100e_hour:g} is not a positive price"
    if o.side == Side.SELL and o.all_or_none:
        return "all-or-none is for buys; an ask is always divisible"
    if o.parent_contract_id is None:
        return None
    if o.side == Side.BUY:
        return f"a buy cannot resell contract {o.parent_contract_id}"
    return _resale_problem(o, resale_cap_h100e)


def _resale_problem(o: BlockOrder, cap: float | None) -> str | None:
    pid = o.parent_contract_id
    if o.parent_start_month is None or o.parent_end_month is None:
        return f"resale of contract {pid} does not give the contract's window"
    if o.start_month < o.parent_start_month or o.end_month > o.parent_end_month:
        return (
            f"months [{o.start_month}, {o.end_month}) lie outside contract {pid}'s window "
            f"[{o.parent_start_month}, {o.parent_end_month})"
        )
    if cap is not None and o.capacity_h100e > cap * (1 + _EPS) + _EPS:
        return (
            f"offers {o.capacity_h100e:,.0f} H100e of contract {pid} but only {cap:,.0f} "
            f"are unused over months [{o.start_month}, {o.end_month})"
        )
    return None


def screen(
    orders: Iterable[BlockOrder],
    now_month: int,
    resellable: Mapping[tuple[int, int], Mapping[int, float]] | None = None,
) -> tuple[list[BlockOrder], list[BlockOrder], list[Rejection]]:
    """Split orders into valid buys, valid asks and rejections (in submit order).

    ``resellable`` maps (holder id, contract id), for each contract its holder may
    resell, to the holder's unused capacity of it by month (``resale.unused_h100e``).
    When given, a resale ask whose trader holds no such right is rejected, and the
    resale asks of one contract are checked together in submit order, each against
    what the earlier ones left, so that together they never exceed the unused part in
    any month. A sequence number used twice rejects the later order."""
    buys: list[BlockOrder] = []
    asks: list[BlockOrder] = []
    rejected: list[Rejection] = []
    seen: set[int] = set()
    left = {key: dict(months) for key, months in (resellable or {}).items()}
    for o in sorted(orders, key=lambda x: x.seq):
        reason, cap = None, None
        key = (o.trader_id, o.parent_contract_id or 0)
        if resellable is not None and o.parent_contract_id is not None and o.side == Side.SELL:
            if key not in left:
                reason = f"firm {o.trader_id} holds no resale right on contract {key[1]}"
            else:
                months = range(o.start_month, max(o.start_month + 1, o.end_month))
                cap = min(left[key].get(m, 0.0) for m in months)
        reason = reason or order_problem(o, now_month, cap)
        if reason is None and o.seq in seen:
            reason = f"sequence number {o.seq} is used twice"
        seen.add(o.seq)
        if reason is not None:
            rejected.append(Rejection(o, reason))
            continue
        (buys if o.side == Side.BUY else asks).append(o)
        if cap is not None:
            for m in range(o.start_month, o.end_month):
                left[key][m] = left[key].get(m, 0.0) - o.capacity_h100e
    return buys, asks, rejected


# ---------------------------------------------------------------------- allocation
Left = dict[int, dict[int, float]]  # ask seq -> month -> capacity not yet sold


def _available(left: Left, ask: BlockOrder, buy: BlockOrder) -> float:
    months = left[ask.seq]
    return min(months[m] for m in range(buy.start_month, buy.end_month))


def _allocate(
    buy: BlockOrder,
    asks: Sequence[BlockOrder],
    left: Left,
    spent: set[int] | None = None,
    dry: set[int] | None = None,
) -> tuple[list[tuple[BlockOrder, float]], int]:
    """The asks (cheapest first) and amounts that fill this buy ([] for an
    all-or-none buy they cannot fill), and how many of ``asks`` it looked at: every
    ask it adds to ``spent`` or ``dry`` is among them. Takes the amounts out of
    ``left``, adds to ``spent`` the asks that have nothing left in any month and to
    ``dry`` those that can give nothing over this buy's window (capacity left only
    ever falls)."""
    takes: list[tuple[BlockOrder, float]] = []
    need = buy.capacity_h100e
    looked = 0
    for ask in asks:
        if need <= _EPS * buy.capacity_h100e:
            break
        if ask.price_usd_per_h100e_hour > buy.price_usd_per_h100e_hour:
            break  # asks are sorted by price
        looked += 1
        if ask.trader_id == buy.trader_id:
            continue
        if not ask.covers(buy):
            if dry is not None:
                dry.add(ask.seq)
            continue
        available = _available(left, ask, buy)
        q = min(need, available)
        if q > _EPS:
            takes.append((ask, q))
            need -= q
        elif dry is not None and available <= 0.0:
            dry.add(ask.seq)
    if buy.all_or_none and need > _EPS * buy.capacity_h100e:
        return [], looked
    for ask, q in takes:
        months = left[ask.seq]
        for m in range(buy.start_month, buy.end_month):
            months[m] = max(0.0, months[m] - q)
        if spent is not None and not any(months.values()):
            spent.add(ask.seq)
        if dry is not None and _available(left, ask, buy) <= 0.0:
            dry.add(ask.seq)
    return takes, looked


def _allocate_all(
    buys: Iterable[BlockOrder], asks: Sequence[BlockOrder], left: Left
) -> dict[int, list[tuple[BlockOrder, float]]]:
    """``_allocate`` each buy in turn, by sequence number of the buys that took any.
    An ask with nothing left in any month could fill no later buy, and one with
    nothing left over a window (or not covering it) no later buy of that window, so
    it leaves the list those buys look through. Such asks are all among the ones the
    buy looked at, so only that head of the list is rebuilt."""
    taken = {}
    spent_before: set[int] = set()
    live_for: dict[tuple[int, int], list[BlockOrder]] = {}  # by the buys' window
    for b in buys:
        window = (b.start_month, b.end_month)
        live = live_for.get(window)
        if live is None:
            live = live_for[window] = [a for a in asks if a.seq not in spent_before]
        spent: set[int] = set()
        dry: set[int] = set()
        t, looked = _allocate(b, live, left, spent, dry)
        if t:
            taken[b.seq] = t
        if spent or dry:
            spent_before |= spent
            gone = spent | dry
            live[:looked] = [a for a in live[:looked] if a.seq not in gone]
    return taken


def _fill(buy: BlockOrder, ask: BlockOrder, q: float, price: float, fee_bps: float) -> Fill:
    fee = q * HOURS_PER_MONTH * buy.duration_months * price * fee_bps / BPS_PER_UNIT
    return Fill(
        buy_seq=buy.seq,
        ask_seq=ask.seq,
        buyer_id=buy.trader_id,
        seller_id=ask.trader_id,
        capacity_h100e=q,
        start_month=buy.start_month,
        duration_months=buy.duration_months,
        price_usd_per_h100e_hour=price,
        fee_buyer_usd=fee,
        fee_seller_usd=fee,
        parent_contract_id=ask.parent_contract_id,
    )


def _buy_key(b: BlockOrder) -> tuple[float, int]:
    return (-b.price_usd_per_h100e_hour, b.seq)


def _ask_key(a: BlockOrder) -> tuple[float, int]:
    return (a.price_usd_per_h100e_hour, a.seq)


# ---------------------------------------------------------------------- the rules
def _match_price_time(
    buys: Sequence[BlockOrder], asks: Sequence[BlockOrder], left: Left, fee_bps: float
) -> tuple[list[Fill], dict[tuple[int, int], float]]:
    fills = []
    ordered = sorted(buys, key=_buy_key)
    taken = _allocate_all(ordered, asks, left)
    for buy in ordered:
        for ask, q in taken.get(buy.seq, ()):
            fills.append(_fill(buy, ask, q, ask.price_usd_per_h100e_hour, fee_bps))
    return fills, {}


def _clear_shape(
    buys: list[BlockOrder], asks: Sequence[BlockOrder], left: Left
) -> tuple[dict[int, list[tuple[BlockOrder, float]]], float | None, Left]:
    """Allocate one shape's buys; drop buys priced below the shape's price and redo
    until every matched buy bids at least the price. Returns the allocation, the
    price and the asks' capacity left afterwards (``left`` itself is not changed)."""
    active = sorted(buys, key=_buy_key)
    while True:
        trial = _CopyOnRead(left)
        taken = _allocate_all(active, asks, trial)
        if not taken:
            return {}, None, left
        price = max(a.price_usd_per_h100e_hour for t in taken.values() for a, _ in t)
        below = {b.seq for b in active if b.seq in taken and b.price_usd_per_h100e_hour < price}
        if not below:
            return taken, price, {**left, **trial}
        active = [b for b in active if b.seq not in below]


class _CopyOnRead(dict):
    """A trial copy of ``Left``: an ask's months are copied from the original the
    first time the allocation reads them, so a trial costs the asks it looks at,
    not every ask on the book (the original is never changed)."""

    def __init__(self, original: Left) -> None:
        super().__init__()
        self.original = original

    def __missing__(self, seq: int) -> dict[int, float]:
        months = self[seq] = dict(self.original[seq])
        return months


def _match_uniform(
    buys: Sequence[BlockOrder], asks: Sequence[BlockOrder], left: Left, fee_bps: float
) -> tuple[list[Fill], dict[tuple[int, int], float]]:
    by_shape: dict[tuple[int, int], list[BlockOrder]] = {}
    for b in sorted(buys, key=_buy_key):  # shapes in the order of their best buy
        by_shape.setdefault(b.shape, []).append(b)
    fills: list[Fill] = []
    prices: dict[tuple[int, int], float] = {}
    by_seq = {b.seq: b for b in buys}
    for shape, shape_buys in by_shape.items():
        taken, price, after = _clear_shape(shape_buys, asks, left)
        if price is None:
            continue
        left.clear()
        left.update(after)
        prices[shape] = price
        for seq in sorted(taken, key=lambda s: _buy_key(by_seq[s])):
            for ask, q in taken[seq]:
                fills.append(_fill(by_seq[seq], ask, q, price, fee_bps))
    return fills, prices


def match(
    orders: Iterable[BlockOrder],
    *,
    now_month: int,
    rule: str = "price_time",
    fee_bps: float = 0.0,
    resellable: Mapping[tuple[int, int], Mapping[int, float]] | None = None,
) -> MatchResult:
    """Screen and match one batch of orders under the named rule (see the module
    docstring). ``fee_bps``: the exchange's fee on notional, from each side;
    ``resellable``: see ``screen``."""
    if rule not in RULES:
        raise ValueError(f"rule = {rule!r} is not allowed: expected one of {', '.join(RULES)}")
    if not (math.isfinite(fee_bps) and fee_bps >= 0):
        raise ValueError(f"fee_bps = {fee_bps!r} is not allowed: expected a number >= 0")
    buys, asks, rejected = screen(orders, now_month, resellable)
    asks = sorted(asks, key=_ask_key)
    left: Left = {
        a.seq: dict.fromkeys(range(a.start_month, a.end_month), a.capacity_h100e) for a in asks
    }
    run = _match_price_time if rule == "price_time" else _match_uniform
    # without an ask nothing trades under either rule: the buys are not gone through
    fills, prices = run(buys, asks, left, fee_bps) if asks else ([], {})
    filled: dict[int, float] = {}
    for f in fills:
        filled[f.buy_seq] = filled.get(f.buy_seq, 0.0) + f.capacity_h100e
    return MatchResult(
        rule=rule,
        fills=fills,
        rejected=rejected,
        unfilled_h100e={b.seq: max(0.0, b.capacity_h100e - filled.get(b.seq, 0.0)) for b in buys},
        ask_left_h100e_months={seq: sum(months.values()) for seq, months in left.items()},
        clearing_price=prices,
    )


def fee_transfers(fills: Iterable[Fill], exchange_id: int) -> list[Transfer]:
    """The fees of the fills as payments to the exchange, buyer's then seller's, in
    fill order (zero fees are left out). The block's own price is paid month by month
    under the contract the fill becomes, not here."""
    out = []
    for f in fills:
        if f.fee_buyer_usd > 0:
            out.append(Transfer(f.buyer_id, exchange_id, f.fee_buyer_usd, "exchange fee"))
        if f.fee_seller_usd > 0:
            out.append(Transfer(f.seller_id, exchange_id, f.fee_seller_usd, "exchange fee"))
    return out
