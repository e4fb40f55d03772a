"""The spot market: a uniform-price clearing of uncontracted capacity against
immediate unmet demand, for one month. Its price is the rental price index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

MIDPOINT = 0.5  # the price is halfway between the last matched bid and ask


@dataclass(frozen=True)
class Order:
    agent_id: int
    h100e: float
    price_usd_per_h100e_hour: float


@dataclass
class SpotResult:
    price_usd_per_h100e_hour: float | None  # None: no bids and no asks
    volume_h100e: float
    bought: dict[int, float] = field(default_factory=dict)
    sold: dict[int, float] = field(default_factory=dict)
    unmet_h100e: float = 0.0
    unsold_h100e: float = 0.0


def clear(bids: Sequence[Order], asks: Sequence[Order]) -> SpotResult:
    """Uniform-price double auction.

    Bids are sorted by price high to low and asks low to high (ties by agent id);
    units trade while the bid is at least the ask. The price is the midpoint of the
    last matched bid and ask. With no trade the price is the lowest ask (supply but
    no willing demand) or the highest bid (demand but no supply).
    """
    bids = sorted(
        (b for b in bids if b.h100e > 0), key=lambda o: (-o.price_usd_per_h100e_hour, o.agent_id)
    )
    asks = sorted(
        (a for a in asks if a.h100e > 0), key=lambda o: (o.price_usd_per_h100e_hour, o.agent_id)
    )
    total_bid = sum(b.h100e for b in bids)
    total_ask = sum(a.h100e for a in asks)
    bought: dict[int, float] = {}
    sold: dict[int, float] = {}
    i = j = 0
    bid_left = bids[0].h100e if bids else 0.0
    ask_left = asks[0].h100e if asks else 0.0
    last_bid = last_ask = None
    volume = 0.0
    while i < len(bids) and j < len(asks):
        b, a = bids[i], asks[j]
        if b.price_usd_per_h100e_hour < a.price_usd_per_h100e_hour:
            break
        q = min(bid_left, ask_left)
        bought[b.agent_id] = bought.get(b.agent_id, 0.0) + q
        sold[a.agent_id] = sold.get(a.agent_id, 0.0) + q
        volume += q
        last_bid, last_ask = b.price_usd_per_h100e_hour, a.price_usd_per_h100e_hour
        bid_left -= q
        ask_left -= q
        if bid_left <= 1e-9:
            i += 1
            bid_left = bids[i].h100e if i < len(bids) else 0.0
        if ask_left <= 1e-9:
            j += 1
            ask_left = asks[j].h100e if j < len(asks) else 0.0
    price: float | None
    if volume > 0 and last_bid is not None and last_ask is not None:
        price = MIDPOINT * (last_bid + last_ask)
    elif asks:
        price = asks[0].price_usd_per_h100e_hour
    elif bids:
        price = bids[0].price_usd_per_h100e_hour
    else:
        price = None
    return SpotResult(price, volume, bought, sold, total_bid - volume, total_ask - volume)
