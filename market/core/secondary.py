"""The secondary market's service: each month's block book on the exchange, the
dealers' purchases of long contracts, the fills turned into resale sub-contracts,
the forward book and its monthly cash settlement, the fees paid, and what the month
traded.

Blocks traded in month ``t`` start in ``t + 1``: this month's supply has already been
delivered, and this month's shortfall is the spot market's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.broker import Broker, Offer, list_price, resale_offers, shortfall_bid
from market.core import contracting
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    Contract,
    ContractState,
    Origin,
    Purpose,
)
from market.mechanisms import forwards, indices, orderbook, pricing
from market.mechanisms import metrics as market_metrics
from market.mechanisms.broker_records import (
    BlockOrder,
    Fill,
    Forward,
    IndexReading,
    MatchResult,
    Side,
)

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


@dataclass
class MonthBook:
    """What the secondary market did this month (for the outputs)."""

    asks: list[BlockOrder] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    bid_h100e: float = 0.0
    rejected: int = 0
    fees_usd: float = 0.0
    readings: dict[str, IndexReading] = field(default_factory=dict)
    forward_fills: list[Fill] = field(default_factory=list)
    forward_settlement_usd: float = 0.0  # paid to longs this month (negative: by them)


@dataclass
class ForwardBook:
    """Every forward signed and each firm's cumulative settlements (for the outputs)."""

    forwards: list[Forward] = field(default_factory=list)
    pnl_usd: dict[int, float] = field(default_factory=dict)
    reference_history: list[float] = field(default_factory=list)  # by month
    # each firm's forwards, in the order signed: a firm's questions never scan the book
    by_firm: dict[int, list[Forward]] = field(default_factory=dict)
    # the forwards not run out by month ``running_from``, in the order signed: the
    # monthly questions read these, not every forward ever signed
    running: list[Forward] = field(default_factory=list)
    running_from: int = 0

    def add(self, new: list[Forward]) -> None:
        self.forwards.extend(new)
        self.running.extend(new)
        for f in new:
            self.by_firm.setdefault(f.buyer_id, []).append(f)
            if f.seller_id != f.buyer_id:
                self.by_firm.setdefault(f.seller_id, []).append(f)

    def of_firm(self, firm_id: int) -> list[Forward]:
        return self.by_firm.get(firm_id, [])

    def running_after(self, month: int) -> list[Forward]:
        """The forwards that end after ``month``, in the order signed (months only go
        forward: those ended by an earlier question's month are dropped then)."""
        if month < self.running_from:
            return [f for f in self.forwards if f.end_month > month]
        self.running = [f for f in self.running if f.end_month > month]
        self.running_from = month
        return self.running

    def live(self, month: int) -> list[Forward]:
        return [f for f in self.running_after(month) if f.live(month)]

    def holds(self, firm_id: int, month: int) -> bool:
        """Whether the firm is party to a forward not yet run out at ``month``."""
        return any(f.end_month > month for f in self.of_firm(firm_id))

    def holders(self, month: int) -> set[int]:
        """The firms that ``holds`` at ``month``: the parties to the forwards not yet
        run out then (read, not dropped: an earlier month may still be asked about)."""
        ahead = self.running if month >= self.running_from else self.forwards
        return {i for f in ahead if f.end_month > month for i in (f.buyer_id, f.seller_id)}


# the index publishers: a volume-weighted average of the exchange's trades, and a
# survey of the providers' list prices for a block of ``resale_block_months``
INDEX_METHODS = ("vwap", "list_survey")


def exchanges(model: ComputeMarket) -> list[Broker]:
    return [b for b in model.of_type(Broker) if b.strategy.name == "exchange"]


def dealers(model: ComputeMarket) -> list[Broker]:
    return [b for b in model.of_type(Broker) if b.is_dealer]


def venue_of_the_month(model: ComputeMarket) -> tuple[Broker | None, float | None]:
    """(where the month's blocks trade, the fee override): the first exchange, unless
    only dealers trade (``broker_models = dealer``): then the first dealer sells its
    blocks itself, fee-free."""
    models = model.p.broker_models
    if models == "dealer":
        sellers = dealers(model)
        return (sellers[0], 0.0) if sellers else (None, None)
    venues = exchanges(model)
    return (venues[0], None) if venues else (None, None)


def orders_of_the_month(model: ComputeMarket, now: int):
    """Every lab's resale asks, then every dealer's asks, then every lab's bid, in id
    order (the submit sequence), with the holders' unused capacity by contract for the
    screen and their own use for the book's check. Holders resell only where an
    exchange trades (``broker_models`` both or exchange); dealers post only where
    they trade (both or dealer). Each lab's need by month is worked out once, for
    its asks and its bid."""
    orders: list[BlockOrder] = []
    offers: dict[int, Offer] = {}
    p = model.p
    labs = model.labs()
    months = range(now, now + max(p.resale_offer_months, p.resale_block_months))
    # the market's forecast is read once for every lab's need
    forecast = [model.demand_forecast_h100e(max(0, t - model.month)) for t in months]
    needs = [lab.needs_h100e(months, forecast) for lab in labs]
    posted: list[tuple[Any, list[Offer]]] = []
    if p.broker_models in ("both", "exchange"):
        posted = [
            (lab, resale_offers(lab, now, need)) for lab, need in zip(labs, needs, strict=True)
        ]
    if p.broker_models in ("both", "dealer"):
        price = reference_price(model)
        posted += [(d, d.offers(now, price)) for d in dealers(model)]
    for holder, holder_offers in posted:
        for offer in holder_offers:
            c = offer.contract
            offers[c.contract_id] = offer
            for start, n, h100e, price in offer.blocks:
                orders.append(
                    BlockOrder(
                        Side.SELL, holder.unique_id, h100e, start, n, price,
                        len(orders) + 1,
                        parent_contract_id=c.contract_id,
                        parent_start_month=c.start_month,
                        parent_end_month=c.end_month,
                    )
                )  # fmt: skip
    for lab, need in zip(labs, needs, strict=True):
        bid = shortfall_bid(lab, now, need)
        if bid is not None:
            h100e, limit = bid
            orders.append(
                BlockOrder(
                    Side.BUY, lab.unique_id, h100e, now, p.resale_block_months, limit,
                    len(orders) + 1,
                )
            )  # fmt: skip
    resellable = {(o.contract.buyer_id, cid): o.resellable_h100e() for cid, o in offers.items()}
    return orders, offers, resellable


def run_month(model: ComputeMarket) -> MonthBook:
    """Dealers buy long contracts; the venue clears the month's block book (one book a
    month); fills become sub-contracts; forwards trade and settle; the indices publish."""
    month = MonthBook()
    if not model.p.secondary_market or model.p.broker_models == "none":
        return month
    venue, fee = venue_of_the_month(model)
    if venue is None:
        return month
    now = model.month + 1
    if model.p.broker_models in ("both", "dealer"):
        for d in dealers(model):
            acquire(model, d, now)
    orders, offers, resellable = orders_of_the_month(model, now)
    result = venue.strategy.clear(orders, now, resellable, fee)
    month.asks = [o for o in orders if o.side == Side.SELL]
    month.bid_h100e = sum(o.capacity_h100e for o in orders if o.side == Side.BUY)
    month.rejected = len(result.rejected)
    month.fills = list(result.fills)
    month.fees_usd = result.fees_usd
    settle(model, venue, result, offers)
    publish_indices(model, month, now)
    model.secondary_month = month  # this month's readings are the reference from now on
    model.forward_book.reference_history.append(reference_price(model))
    if model.p.forwards and venue.strategy.name == "exchange":
        trade_forwards(model, venue, month, now)
    settle_forwards(model, month)
    return month


# ---------------------------------------------------------------------- dealers
# a dealer signs a long contract only with cash for this many months of its payments
DEALER_CASH_COVER_MONTHS = 6
# the yearly growth (or fall) of the reference index that dealers and hedgers
# extrapolate is clipped to this share either way
TREND_CLIP = 0.5


def reference_price(model: ComputeMarket) -> float:
    """The last reading of the reference index (``reference_index``); the spot index
    until it has one."""
    reading = model.secondary_month.readings.get(model.p.reference_index)
    if reading is not None and reading.value_usd_per_h100e_hour is not None:
        return reading.value_usd_per_h100e_hour
    return model.spot_index


def expected_price(model: ComputeMarket, months_ahead: float) -> float:
    """The reference index extrapolated ``months_ahead`` at its growth over the last 12
    months (clipped to ``TREND_CLIP`` a year either way; none before a year of history):
    what a dealer expects to resell at over a holding, and the forwards' expected index."""
    growth = market_metrics.growth_factor(model.forward_book.reference_history, 12)
    if not math.isfinite(growth):
        growth = 1.0
    growth = min(1.0 + TREND_CLIP, max(1.0 - TREND_CLIP, growth))
    return reference_price(model) * growth ** (months_ahead / 12.0)


def acquire(model: ComputeMarket, d: Broker, now: int) -> Contract | None:
    """A dealer below its target holding asks providers for a long block from ``now``
    and signs the cheapest quote on a standing site whose ask its bid covers, at the
    bargained price, if it has the cash for six months of the payments. Its bid
    (``dealer.dealer_bid``) starts from the price it expects to resell at, the
    reference index extrapolated to the middle of the holding."""
    p = model.p
    gap = d.strategy.holding_h100e - d.held_h100e(now)
    resale = expected_price(model, p.dealer_long_term_months / 2)
    if gap < max(p.resale_min_block_h100e, 1.0) or not resale > 0:
        return None
    bid = d.bid_usd_per_h100e_hour(resale)
    rfq = RFQ(
        buyer_id=d.unique_id,
        capacity_h100e=gap,
        start_month=now,
        term_months=p.dealer_long_term_months,
        contiguous=False,
        purpose=Purpose.INFERENCE,
        reservation_usd_per_h100e_hour=bid,
        buyer_credit=d.credit_rating,
        buyer_is_lab=False,
    )
    quotes = [
        q
        for firm in model.providers()
        for q in firm.quotes(rfq)
        if q.facility_id is not None
        and not q.exclusive
        and q.ask_usd_per_h100e_hour <= bid
        and q.capacity_h100e >= p.resale_min_block_h100e
    ]
    if not quotes:
        return None
    q = min(quotes, key=lambda q: (q.ask_usd_per_h100e_hour, q.facility_id))
    price = pricing.bargain(q.ask_usd_per_h100e_hour, bid, contracting.seller_power(model))
    take = min(gap, q.capacity_h100e)
    if price is None or d.cash_usd < DEALER_CASH_COVER_MONTHS * take * price * HOURS_PER_MONTH:
        return None
    c = contracting.sign(model, d, q, take, price, Purpose.INFERENCE, Origin.NEGOTIATED, log=False)
    c.ramp_months = 0
    model.log(
        "dealer",
        f"{d.name} leases {take:,.0f} H100e from {model.names_by_id[q.seller_id]} for "
        f"{c.term_months} months at ${price:.2f} to resell",
        d.name,
        model.names_by_id[q.seller_id],
    )
    return c


def publish_indices(model: ComputeMarket, month: MonthBook, now: int) -> None:
    """This month's reading of each index; a month without input repeats the last."""
    previous = model.secondary_month.readings
    months = model.p.resale_block_months
    survey: dict[int, float] = {}  # each provider's list price, asked once
    for firm in model.providers():
        price = list_price(firm, now, months)
        if price is not None:
            survey[firm.unique_id] = price
    month.readings = {
        "vwap": indices.vwap_of_fills(month.fills, previous.get("vwap")),
        "list_survey": indices.survey_of_lowest(survey, previous.get("list_survey")),
    }


# ---------------------------------------------------------------------- forwards
def forward_orders(model: ComputeMarket, now: int, price: float) -> list[BlockOrder]:
    """Hedgers without a forward running: each lab bids for ``forward_hedge_share`` of
    its need at the expected index plus the hedge premium (it locks a price); each
    provider asks for the same share of its uncontracted capacity at the expected
    index less the premium (it locks revenue). A forward order is a block order whose
    capacity is the notional per month (H100e) and whose price is the strike."""
    p, book = model.p, model.forward_book
    share, months, prem = p.forward_hedge_share, p.forward_months, p.forward_hedge_premium
    orders: list[BlockOrder] = []

    smallest = max(p.resale_min_block_h100e, 1.0)

    def post(side: Side, firm, h100e: float, limit: float) -> None:
        if h100e > smallest:
            orders.append(
                BlockOrder(side, firm.unique_id, h100e, now, months, limit, len(orders) + 1)
            )

    # a party to a running forward posts nothing, so its position is not worked out;
    # the providers' asks are worked out first (reading only): with none, no bid could
    # trade, so no lab's is; with no bid, no ask is posted (the asks come after the bids)
    holders = book.holders(now)
    asks = []
    for firm in model.providers():
        if firm.unique_id not in holders:
            spare = firm.online_capacity_h100e() - firm.delivered_sold_h100e()
            if share * spare > smallest:
                asks.append((firm, share * spare))
    if not asks:
        return orders
    for lab in model.labs():
        if lab.unique_id not in holders:
            post(Side.BUY, lab, share * lab.need_h100e(now), price * (1.0 + prem))
    if not orders:
        return orders
    for firm, h100e in asks:
        post(Side.SELL, firm, h100e, price * (1.0 - prem))
    return orders


def trade_forwards(model: ComputeMarket, venue: Broker, month: MonthBook, now: int) -> None:
    """The exchange matches the forward book (``forward_fee_bps`` from each side); each
    fill becomes a forward on the reference index."""
    p = model.p
    price = expected_price(model, p.forward_months / 2)
    if not price > 0:
        return
    orders = forward_orders(model, now, price)
    if not orders:  # nothing to match, sign or pay
        return
    result = orderbook.match(
        orders,
        now_month=now,
        rule=venue.strategy.matching_rule,
        fee_bps=p.forward_fee_bps,
        resellable={},
    )
    book = model.forward_book
    new = forwards.forwards_from_fills(
        result.fills, p.reference_index, len(book.forwards) + 1, model.month
    )
    book.add(new)
    month.forward_fills = list(result.fills)
    pay_fees(model, venue, result.fills)
    month.fees_usd += result.fees_usd
    label = f"{venue.name} {INDEX_LABELS[p.reference_index]}"
    for f in new:
        model.log(
            "forward",
            f"{model.names_by_id[f.buyer_id]} buys a {f.months}-month forward on the {label} "
            f"for {f.notional_h100e_hours_per_month / 1e6:,.1f}M H100e-hours a month at "
            f"${f.strike_usd_per_h100e_hour:.2f} from {model.names_by_id[f.seller_id]}",
            model.names_by_id[f.buyer_id],
            model.names_by_id[f.seller_id],
        )


INDEX_LABELS = {"vwap": "VWAP", "list_survey": "list-price survey"}


def settle_forwards(model: ComputeMarket, month: MonthBook) -> None:
    """Each live forward settles in cash against this month's reading of its index, one
    payment from the side that owes; a forward whose party has left the market lapses."""
    book = model.forward_book
    live = [
        f
        for f in book.live(model.month)
        if model.firm(f.buyer_id) is not None and model.firm(f.seller_id) is not None
    ]
    if not live:
        return
    readings = {
        name: r.value_usd_per_h100e_hour for name, r in month.readings.items() if r is not None
    }
    done = forwards.settle_all(live, model.month, readings)
    for t in forwards.settlement_transfers(live, done):
        model.ledger.pay(model.firm(t.payer_id), model.firm(t.payee_id), t.usd, t.kind)
    for firm_id, usd in forwards.cash_by_firm(live, done).items():
        book.pnl_usd[firm_id] = book.pnl_usd.get(firm_id, 0.0) + usd
    month.forward_settlement_usd = sum(x.buyer_usd for x in done)


def forward_exposure_h100e_hours(model: ComputeMarket, firm) -> float:
    """Notional the firm still has to settle from next month (long positive)."""
    return forwards.exposure_h100e_hours(
        model.forward_book.of_firm(firm.unique_id), firm.unique_id, model.month + 1
    )


def forward_pnl_usd(model: ComputeMarket, firm) -> float:
    """What the firm's forwards have paid it so far, net (negative: it paid)."""
    return model.forward_book.pnl_usd.get(firm.unique_id, 0.0)


def basis_usd_per_h100e_hour(model: ComputeMarket, lab) -> float:
    """What the lab pays per H100e-hour under its active contracts (capacity-weighted)
    less the reference index its forwards settle on: the basis they leave unhedged."""
    index = reference_price(model)
    if not index > 0:
        return math.nan
    active = [c for c in model.book.bought_view(lab.unique_id) if c.state == ContractState.ACTIVE]
    if not active:
        return math.nan
    held = sum(c.capacity_h100e for c in active)
    if held <= 0:
        return math.nan
    paid = sum(c.capacity_h100e * c.price_usd_per_h100e_hour for c in active) / held
    return forwards.basis_usd_per_h100e_hour(paid, index)


# ---------------------------------------------------------------------- outputs
def metrics(model: ComputeMarket) -> dict[str, float]:
    """The secondary market's outputs for this month (``market.io.outputs``)."""
    month = model.secondary_month
    fills = month.fills
    resale = sum(
        c.delivered_h100e
        for c in model.book.open()
        if c.parent_id is not None and c.state == ContractState.ACTIVE
    )
    used = sum(lab.pool_h100e for lab in model.labs())
    filled = sum(f.capacity_h100e for f in fills)
    out = {
        "secondary_volume_h100e": filled,
        "secondary_volume_h100e_months": sum(f.capacity_h100e * f.duration_months for f in fills),
        "resale_h100e": resale,
        "resale_share_of_used": resale / used if used > 0 else math.nan,
        "exchange_fees_usd": month.fees_usd,
        "exchange_fill_rate": filled / month.bid_h100e if month.bid_h100e > 0 else math.nan,
        "orders_rejected": float(month.rejected),
    }
    out.update(index_metrics(month))
    out.update(broker_metrics(model))
    out.update(forward_metrics(model, month))
    return out


def index_metrics(month: MonthBook) -> dict[str, float]:
    out = {}
    values = []
    for name in INDEX_METHODS:
        reading = month.readings.get(name)
        value = reading.value_usd_per_h100e_hour if reading else None
        out[f"price_index_{name}_usd_per_h100e_hour"] = math.nan if value is None else value
        out[f"price_index_{name}_carried"] = float(bool(reading and reading.carried))
        if value is not None:
            values.append(value)
    out["price_index_spread_usd_per_h100e_hour"] = (
        max(values) - min(values) if len(values) == len(INDEX_METHODS) else math.nan
    )
    return out


def broker_metrics(model: ComputeMarket) -> dict[str, float]:
    """Brokers' margins this month: dealers' resale revenue less their holdings' cost;
    exchanges' fees less their running costs."""
    brokers = model.of_type(Broker)
    books = [b.month_book for b in brokers if b.is_dealer]
    held = sum(b.held_h100e_by_month[-1] for b in brokers if b.is_dealer and b.held_h100e_by_month)
    sold = sum(b.sold_h100e_by_month[-1] for b in brokers if b.is_dealer and b.sold_h100e_by_month)
    venues = [b for b in brokers if not b.is_dealer]
    return {
        "brokers_active": float(len(brokers)),
        "dealer_holdings_h100e": held,
        "dealer_utilisation": sold / held if held > 0 else math.nan,
        "dealer_margin_usd": sum(x.margin_usd for x in books),
        "dealer_cumulative_profit_usd": sum(b.profit_usd_total for b in brokers if b.is_dealer),
        "exchange_margin_usd": model.secondary_month.fees_usd
        - sum(b.opex_usd_month for b in venues),
    }


def forward_metrics(model: ComputeMarket, month: MonthBook) -> dict[str, float]:
    fills = month.forward_fills
    volume = sum(f.capacity_h100e * f.duration_months for f in fills)
    strike = (
        sum(f.price_usd_per_h100e_hour * f.capacity_h100e * f.duration_months for f in fills)
        / volume
        if volume > 0
        else math.nan
    )
    nxt = model.month + 1
    open_interest = sum(
        f.notional_h100e_hours_per_month * forwards.remaining_months(f, nxt)
        for f in model.forward_book.running_after(nxt)
    )
    return {
        "forward_price_usd_per_h100e_hour": strike,
        "forward_open_interest_h100e_hours": open_interest,
        "forward_settlement_usd": month.forward_settlement_usd,
    }


def pay_fees(model: ComputeMarket, venue: Broker, fills) -> None:
    for t in orderbook.fee_transfers(fills, venue.unique_id):
        model.ledger.pay(model.firm(t.payer_id), venue, t.usd, "exchange fee")
        venue.fees_usd_total += t.usd


def settle(model: ComputeMarket, venue: Broker, result: MatchResult, offers: dict) -> None:
    for r in result.rejected:
        trader = model.names_by_id.get(r.order.trader_id, str(r.order.trader_id))
        model.log("exchange", f"{venue.name} rejects {trader}'s order: {r.reason}", venue.name)
    for f in result.fills:
        sub_contract(model, venue, f, offers[f.parent_contract_id])
    pay_fees(model, venue, result.fills)
    log_matches(model, venue, result.fills)


def sub_contract(model: ComputeMarket, venue: Broker, f: Fill, offer: Offer) -> Contract:
    """A fill of a resale ask becomes a sub-contract of the parent it resells."""
    parent = offer.contract
    per_mw = parent.price_usd_per_mw_month * f.price_usd_per_h100e_hour
    c = Contract(
        contract_id=model.new_id("contract"),
        buyer_id=f.buyer_id,
        seller_id=f.seller_id,
        facility_id=parent.facility_id,
        capacity_h100e=f.capacity_h100e,
        start_month=f.start_month,
        term_months=f.duration_months,
        price_usd_per_h100e_hour=f.price_usd_per_h100e_hour,
        price_usd_per_mw_month=per_mw / parent.price_usd_per_h100e_hour
        if parent.price_usd_per_h100e_hour > 0
        else 0.0,
        signed_month=model.month,
        take_or_pay_share=1.0,
        purpose=Purpose.INFERENCE,
        origin=Origin.RESALE,
        parent_id=parent.contract_id,
        resale_right=False,
        via_broker_id=venue.unique_id,
    )
    model.book.add_resale(c, offer.own_use_h100e)
    holder, owner = model.names_by_id[f.seller_id], model.names_by_id.get(parent.seller_id, "?")
    how = "directly" if venue.unique_id == f.seller_id else f"through {venue.name}"
    model.log(
        "resale",
        f"{holder} resells {f.capacity_h100e:,.0f} H100e of its {owner} reservation to "
        f"{model.names_by_id[f.buyer_id]} for {_months(f.duration_months)} {how} at "
        f"${f.price_usd_per_h100e_hour:.2f}",
        holder,
        venue.name,
    )
    return c


def log_matches(model: ComputeMarket, venue: Broker, fills: list[Fill]) -> None:
    by_buy: dict[int, list[Fill]] = {}
    for f in fills:
        by_buy.setdefault(f.buy_seq, []).append(f)
    for group in by_buy.values():
        buyer = model.names_by_id[group[0].buyer_id]
        prices = sorted(f.price_usd_per_h100e_hour for f in group)
        span = (
            f"${prices[0]:.2f}" if prices[0] == prices[-1] else f"${prices[0]:.2f}–{prices[-1]:.2f}"
        )
        sellers = len({f.seller_id for f in group})
        model.log(
            "exchange",
            f"{venue.name} matches {sum(f.capacity_h100e for f in group):,.0f} H100e for "
            f"{_months(group[0].duration_months)} for {buyer} from {sellers} "
            f"seller{'s' if sellers != 1 else ''} at {span}",
            venue.name,
            buyer,
        )


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"
