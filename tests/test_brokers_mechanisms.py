"""The secondary market's mechanisms on plain records, without a model: the block
order book and its matching rules, resale caps, price indices, cash-settled
forwards and the dealer's pricing."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.io.records import HOURS_PER_MONTH
from market.mechanisms import dealer, forwards, indices, orderbook, resale
from market.mechanisms.broker_records import (
    BlockOrder,
    Fill,
    Forward,
    PricePoint,
    Side,
)

BUY, SELL = Side.BUY, Side.SELL


def ask(seq, trader, h100e, price, start=0, months=6, **kw):
    return BlockOrder(SELL, trader, h100e, start, months, price, seq, **kw)


def bid(seq, trader, h100e, price, start=0, months=6, aon=False, **kw):
    return BlockOrder(BUY, trader, h100e, start, months, price, seq, all_or_none=aon, **kw)


def by_ask(fills: list[Fill]) -> dict[int, float]:
    out: dict[int, float] = {}
    for f in fills:
        out[f.ask_seq] = out.get(f.ask_seq, 0.0) + f.capacity_h100e
    return out


# ====================================================================== matching


@pytest.mark.parametrize("rule", orderbook.RULES)
def test_three_sellers_combine_to_fill_one_buy(rule):
    orders = [
        ask(1, trader=1, h100e=40_000, price=2.00),
        ask(2, trader=2, h100e=30_000, price=2.10, start=0, months=12),
        ask(3, trader=3, h100e=50_000, price=2.30),
        ask(4, trader=4, h100e=50_000, price=2.90),  # dearer than needed
        bid(5, trader=9, h100e=100_000, price=2.50, aon=True),
    ]
    r = orderbook.match(orders, now_month=0, rule=rule)
    assert {f.seller_id for f in r.fills} == {1, 2, 3}
    assert by_ask(r.fills) == {1: 40_000, 2: 30_000, 3: 30_000}
    assert r.unfilled_h100e == {5: 0.0}
    assert all((f.start_month, f.duration_months) == (0, 6) for f in r.fills)
    # ask 2 runs 12 months: only its first 6 are sold, the rest stays on offer
    assert r.ask_left_h100e_months[2] == pytest.approx(30_000 * 6)
    assert r.ask_left_h100e_months[3] == pytest.approx(20_000 * 6)
    prices = sorted(f.price_usd_per_h100e_hour for f in r.fills)
    if rule == "price_time":
        assert prices == [2.00, 2.10, 2.30]  # each seller's own ask
    else:
        assert prices == [2.30] * 3 and r.clearing_price == {(0, 6): 2.30}


@pytest.mark.parametrize("aon", [True, False])
def test_buy_not_fillable_when_no_combination_covers_its_window(aon):
    orders = [
        ask(1, trader=1, h100e=100, price=2.0, start=0, months=3),
        ask(2, trader=2, h100e=100, price=2.0, start=3, months=3),
        ask(3, trader=3, h100e=100, price=2.0, start=1, months=12),  # starts a month late
        bid(4, trader=9, h100e=100, price=5.0, start=0, months=6, aon=aon),
    ]
    r = orderbook.match(orders, now_month=0)
    assert r.fills == []
    assert r.unfilled_h100e == {4: 100}
    assert r.ask_left_h100e_months == {1: 300, 2: 300, 3: 1200}


def test_all_or_none_buy_takes_nothing_when_short_and_leaves_it_to_the_next():
    orders = [
        ask(1, trader=1, h100e=60, price=2.0),
        bid(2, trader=8, h100e=100, price=4.0, aon=True),  # first in priority, too big
        bid(3, trader=9, h100e=50, price=3.0, aon=True),
    ]
    r = orderbook.match(orders, now_month=0)
    assert [(f.buy_seq, f.capacity_h100e) for f in r.fills] == [(3, 50)]
    assert r.unfilled_h100e == {2: 100, 3: 0.0}


def test_divisible_buy_is_filled_in_part():
    r = orderbook.match(
        [ask(1, 1, 60, 2.0), bid(2, 9, 100, 3.0, aon=False)], now_month=0, rule="price_time"
    )
    assert [f.capacity_h100e for f in r.fills] == [60]
    assert r.unfilled_h100e == {2: pytest.approx(40)}


def test_price_time_priority_ties_go_to_the_earlier_order():
    orders = [
        ask(7, trader=1, h100e=50, price=2.0),
        ask(3, trader=2, h100e=50, price=2.0),  # same price, submitted earlier
        bid(9, trader=8, h100e=50, price=3.0),
        bid(4, trader=9, h100e=50, price=3.0),  # same price, submitted earlier
    ]
    r = orderbook.match(orders, now_month=0)
    assert [(f.buy_seq, f.ask_seq) for f in r.fills] == [(4, 3), (9, 7)]
    # the outcome does not depend on the order the list is given in
    again = orderbook.match(list(reversed(orders)), now_month=0)
    assert again == r


def test_higher_bid_goes_first_and_no_trade_above_the_limit():
    orders = [ask(1, 1, 50, 2.5), bid(2, 8, 50, 2.4), bid(3, 9, 50, 2.6)]
    r = orderbook.match(orders, now_month=0)
    assert [f.buy_seq for f in r.fills] == [3]
    assert r.unfilled_h100e[2] == 50


def test_a_trader_never_trades_with_itself():
    r = orderbook.match([ask(1, 5, 50, 2.0), bid(2, 5, 50, 3.0)], now_month=0)
    assert r.fills == []


def test_one_ask_serves_buys_in_different_windows_but_never_a_month_twice():
    orders = [
        ask(1, trader=1, h100e=100, price=2.0, start=0, months=12),
        bid(2, trader=8, h100e=100, price=3.0, start=0, months=6),
        bid(3, trader=9, h100e=100, price=3.0, start=6, months=6),
        bid(4, trader=7, h100e=10, price=2.9, start=3, months=6),  # overlaps both
    ]
    r = orderbook.match(orders, now_month=0)
    assert [f.buy_seq for f in r.fills] == [2, 3]
    assert r.unfilled_h100e[4] == 10
    assert r.ask_left_h100e_months[1] == pytest.approx(0.0)


def test_uniform_rule_drops_a_buy_priced_below_its_shapes_price():
    # buyer 9 cannot take its own cheap ask, so it clears at 4.5; buyer 7 (limit 3)
    # would have used that cheap ask, but the shape's uniform price is above its limit
    orders = [
        ask(1, trader=9, h100e=10, price=2.5),
        ask(2, trader=1, h100e=5, price=2.0),
        ask(3, trader=2, h100e=5, price=4.5),
        bid(4, trader=9, h100e=10, price=5.0, aon=True),
        bid(5, trader=7, h100e=10, price=3.0),
    ]
    pt = orderbook.match(orders, now_month=0, rule="price_time")
    assert {f.buy_seq for f in pt.fills} == {4, 5}
    uni = orderbook.match(orders, now_month=0, rule="uniform_per_shape")
    assert {f.buy_seq for f in uni.fills} == {4}
    assert uni.clearing_price == {(0, 6): 4.5}
    assert uni.unfilled_h100e[5] == 10


def test_uniform_price_is_set_per_block_shape():
    orders = [
        ask(1, trader=1, h100e=100, price=2.0, months=12),
        ask(2, trader=2, h100e=100, price=3.0, months=12),
        bid(3, trader=8, h100e=100, price=4.0, months=12),
        bid(4, trader=9, h100e=100, price=3.5, months=1),
    ]
    r = orderbook.match(orders, now_month=0, rule="uniform_per_shape")
    assert r.clearing_price == {(0, 12): 2.0, (0, 1): 3.0}


def test_fees_are_charged_on_notional_from_each_side_and_conserved():
    orders = [ask(1, 1, 1000, 2.0), ask(2, 2, 1000, 2.2), bid(3, 9, 1500, 3.0, aon=True)]
    r = orderbook.match(orders, now_month=0, fee_bps=25)
    for f in r.fills:
        notional = f.capacity_h100e * HOURS_PER_MONTH * 6 * f.price_usd_per_h100e_hour
        assert f.notional_usd == pytest.approx(notional)
        assert f.fee_buyer_usd == pytest.approx(notional * 0.0025)
        assert f.fee_seller_usd == pytest.approx(notional * 0.0025)
    paid = sum(f.buyer_pays_usd for f in r.fills)
    received = sum(f.seller_receives_usd for f in r.fills)
    assert paid == pytest.approx(received + r.fees_usd)
    assert r.fees_usd == pytest.approx(2 * 0.0025 * (1000 * 2.0 + 500 * 2.2) * 730 * 6)


@pytest.mark.parametrize(
    "order,words",
    [
        (ask(1, 1, 0.0, 2.0), "capacity_h100e = 0 is not a positive size"),
        (bid(1, 1, -5.0, 2.0), "capacity_h100e = -5 is not a positive size"),
        (bid(1, 1, math.nan, 2.0), "is not a positive size"),
        (ask(1, 1, 10, 2.0, months=0), "ends before it starts"),
        (ask(1, 1, 10, 2.0, months=-3), "ends before it starts"),
        (bid(1, 1, 10, 2.0, start=2), "starts in month 2, before the current month 3"),
        (ask(1, 1, 10, math.inf, start=3), "price_usd_per_h100e_hour = inf"),
        (bid(1, 1, 10, math.nan, start=3), "price_usd_per_h100e_hour = nan"),
        (ask(1, 1, 10, 0.0, start=3), "is not a positive price"),
        (ask(1, 1, 10, 2.0, start=3, all_or_none=True), "all-or-none is for buys"),
        (bid(1, 1, 10, 2.0, start=3, parent_contract_id=4), "a buy cannot resell contract 4"),
        (ask(1, 1, 10, 2.0, start=3, parent_contract_id=4), "does not give the contract's window"),
        (
            ask(
                1,
                1,
                10,
                2.0,
                start=3,
                parent_contract_id=4,
                parent_start_month=0,
                parent_end_month=8,
            ),
            "months [3, 9) lie outside contract 4's window [0, 8)",
        ),
    ],
)
def test_bad_orders_are_rejected_with_a_reason(order, words):
    r = orderbook.match([order, bid(2, 99, 10, 9.0, start=3)], now_month=3)
    assert [rej.order for rej in r.rejected] == [order]
    assert words in r.rejected[0].reason
    assert r.fills == []


def test_duplicate_sequence_rejects_the_second_order():
    first, second = ask(1, 1, 10, 2.0), bid(1, 2, 10, 3.0)
    r = orderbook.match([first, second], now_month=0)
    assert len(r.rejected) == 1 and "sequence number 1 is used twice" in r.rejected[0].reason
    assert r.fills == []


def test_unknown_rule_and_bad_fee_raise():
    with pytest.raises(ValueError, match="rule = 'pro_rata'"):
        orderbook.match([], now_month=0, rule="pro_rata")
    with pytest.raises(ValueError, match="fee_bps"):
        orderbook.match([], now_month=0, fee_bps=-1)


# ====================================================================== resale


def test_resale_cap_is_the_least_unused_capacity_over_the_window():
    use = {10: 60_000, 11: 20_000, 12: 90_000, 13: 0}
    lim = resale.resale_limit(
        capacity_h100e=100_000,
        parent_start_month=0,
        parent_end_month=36,
        window_start_month=10,
        window_end_month=12,
        own_use_h100e=use,
    )
    assert lim.cap_h100e == 40_000 and lim.binding_month == 10
    wider = resale.resale_limit(
        capacity_h100e=100_000,
        parent_start_month=0,
        parent_end_month=36,
        window_start_month=10,
        window_end_month=14,
        own_use_h100e=use,
    )
    assert wider.cap_h100e == 10_000 and wider.binding_month == 12


def test_resales_already_made_reduce_the_cap_and_the_book_invariant_catches_excess():
    use = dict.fromkeys(range(0, 12), 50.0)
    made = [(2, 6, 30.0)]
    lim = resale.resale_limit(
        capacity_h100e=100,
        parent_start_month=0,
        parent_end_month=12,
        window_start_month=4,
        window_end_month=8,
        own_use_h100e=use,
        resold=made,
    )
    assert lim.cap_h100e == pytest.approx(20.0)
    assert resale.over_resold(100, use, [*made, (4, 8, lim.cap_h100e)]) == []
    excess = resale.over_resold(100, use, [*made, (4, 8, lim.cap_h100e + 5)])
    assert [m for m, _ in excess] == [4, 5] and excess[0][1] == pytest.approx(5.0)


def test_resale_forbidden_or_outside_the_parent_gives_zero_with_a_reason():
    kw = {
        "capacity_h100e": 100,
        "parent_start_month": 5,
        "parent_end_month": 17,
        "own_use_h100e": {},
    }
    no = resale.resale_limit(window_start_month=6, window_end_month=8, allowed=False, **kw)
    assert no.cap_h100e == 0 and "forbids resale" in no.reason
    out = resale.resale_limit(window_start_month=15, window_end_month=19, **kw)
    assert out.cap_h100e == 0 and "outside" in out.reason
    full = resale.resale_limit(
        window_start_month=6, window_end_month=8, **(kw | {"own_use_h100e": {7: 100.0}})
    )
    assert full.cap_h100e == 0 and "uses all of it in month 7" in full.reason
    idle = resale.resale_limit(window_start_month=6, window_end_month=8, **kw)
    assert idle.cap_h100e == 100


def test_exclusive_leases_may_forbid_resale():
    assert resale.resale_allowed(exclusive=False, resale_right=True, exclusive_resale_allowed=False)
    assert not resale.resale_allowed(
        exclusive=True, resale_right=True, exclusive_resale_allowed=False
    )
    assert resale.resale_allowed(exclusive=True, resale_right=True, exclusive_resale_allowed=True)
    assert not resale.resale_allowed(
        exclusive=False, resale_right=False, exclusive_resale_allowed=True
    )


def test_resale_ask_beyond_its_cap_is_rejected_and_within_it_trades_with_its_parent():
    parent = {"parent_contract_id": 42, "parent_start_month": 0, "parent_end_month": 24}
    use = {3: 60_000.0, 4: 70_000.0}
    unused = {m: resale.unused_h100e(100_000, m, use) for m in range(0, 24)}
    too_big = ask(1, trader=5, h100e=40_000, price=2.4, start=3, months=2, **parent)
    ok = ask(2, trader=5, h100e=30_000, price=2.4, start=3, months=2, **parent)
    buy = bid(3, trader=9, h100e=30_000, price=3.0, start=3, months=2)
    r = orderbook.match([too_big, ok, buy], now_month=3, resellable={(5, 42): unused})
    assert [x.order.seq for x in r.rejected] == [1]
    assert "only 30,000 are unused" in r.rejected[0].reason
    assert [(f.ask_seq, f.parent_contract_id, f.capacity_h100e) for f in r.fills] == [
        (2, 42, 30_000)
    ]


def test_several_resale_asks_of_one_contract_are_capped_together():
    parent = {"parent_contract_id": 42, "parent_start_month": 0, "parent_end_month": 24}
    unused = dict.fromkeys(range(24), 100.0)
    orders = [
        ask(1, trader=5, h100e=60, price=2.0, start=0, months=3, **parent),
        ask(2, trader=5, h100e=50, price=2.0, start=2, months=3, **parent),  # month 2: 110
        ask(3, trader=5, h100e=40, price=2.0, start=2, months=3, **parent),  # fits: 100
    ]
    r = orderbook.match(orders, now_month=0, resellable={(5, 42): unused})
    assert [(x.order.seq, "only 40 are unused" in x.reason) for x in r.rejected] == [(2, True)]
    assert sorted(r.ask_left_h100e_months) == [1, 3]
    # a contract without a resale right, and a firm reselling a contract it does not hold
    no_right = ask(4, trader=5, h100e=10, price=2.0, **(parent | {"parent_contract_id": 7}))
    not_held = ask(5, trader=6, h100e=10, price=2.0, **parent)
    r2 = orderbook.match([no_right, not_held], now_month=0, resellable={(5, 42): unused})
    assert [x.reason for x in r2.rejected] == [
        "firm 5 holds no resale right on contract 7",
        "firm 6 holds no resale right on contract 42",
    ]


# ====================================================================== indices


def pts(*pairs, months=1):
    return [PricePoint(p, v, months) for p, v in pairs]


def test_vwap_weights_trades_by_volume():
    r = indices.vwap(pts((2.0, 300.0), (3.0, 100.0)))
    assert r.value_usd_per_h100e_hour == pytest.approx(2.25)
    assert (r.method, r.n_inputs, r.volume_h100e_hours, r.carried) == ("vwap", 2, 400.0, False)


def test_index_carries_its_last_value_over_a_month_without_trades():
    first = indices.vwap(pts((2.0, 100.0)))
    second = indices.vwap([], first)
    third = indices.vwap([], second)
    assert second.value_usd_per_h100e_hour == 2.0 and second.carried
    assert (second.months_stale, third.months_stale, second.n_inputs) == (1, 2, 0)
    assert indices.vwap(pts((3.0, 1.0)), third).carried is False
    never = indices.vwap([], None)
    assert never.value_usd_per_h100e_hour is None and never.carried


def test_list_survey_is_the_median_of_sellers_lowest_asks():
    asks = [
        ask(1, 1, 10, 2.9),
        ask(2, 1, 10, 2.6),  # seller 1 lists 2.6
        ask(3, 2, 10, 2.7),
        ask(4, 3, 10, 3.5),
        bid(5, 4, 10, 9.0),  # a buy is no list price
    ]
    r = indices.list_survey(asks)
    assert r.value_usd_per_h100e_hour == pytest.approx(2.7) and r.n_inputs == 3
    resold = ask(6, 5, 10, 1.2, parent_contract_id=1, parent_start_month=0, parent_end_month=9)
    assert indices.list_survey([*asks, resold]).value_usd_per_h100e_hour == pytest.approx(2.7)
    with_resales = indices.list_survey([*asks, resold], include_resales=True)
    assert with_resales.value_usd_per_h100e_hour == pytest.approx(2.65)


def test_trimmed_vwap_cuts_a_fire_sale_that_moves_the_plain_vwap():
    trades = pts((0.5, 100.0), (2.5, 400.0), (2.6, 400.0), (2.7, 100.0))
    plain = indices.vwap(trades).value_usd_per_h100e_hour
    trimmed = indices.trimmed_vwap(trades, 0.1)
    assert plain == pytest.approx((50 + 1000 + 1040 + 270) / 1000)
    assert trimmed.value_usd_per_h100e_hour == pytest.approx((2.5 * 400 + 2.6 * 400) / 800)
    assert trimmed.volume_h100e_hours == pytest.approx(800) and trimmed.n_inputs == 2
    with pytest.raises(ValueError):
        indices.trimmed_vwap(trades, 0.5)


def test_term_adjusted_index_removes_the_mix_of_terms():
    prem = 0.4

    def month_of(term):  # trades priced on the term curve around a 2.0 base
        from market.mechanisms.pricing import term_factor

        return pts((2.0 * term_factor(term, prem, full_term_months=36), 1000.0), months=term)

    short, long_ = month_of(1), month_of(36)
    adj = {
        name: indices.term_adjusted_vwap(
            p, reference_term_months=36, short_term_premium=prem, full_term_months=36
        ).value_usd_per_h100e_hour
        for name, p in (("short", short), ("long", long_))
    }
    assert adj["short"] == pytest.approx(adj["long"]) == pytest.approx(2.0)
    assert indices.vwap(short).value_usd_per_h100e_hour == pytest.approx(2.8)


def test_indices_disagree_because_of_their_inputs():
    # the same month: asks listed above where trades happened
    orders = [ask(1, 1, 100, 2.2), ask(2, 2, 100, 2.6), ask(3, 3, 100, 3.1), bid(4, 9, 150, 3.0)]
    r = orderbook.match(orders, now_month=0)
    trades = indices.points_from_fills(r.fills)
    v = indices.publish("vwap", points=trades)
    s = indices.publish("list_survey", asks=orders)
    assert v.value_usd_per_h100e_hour == pytest.approx((2.2 * 100 + 2.6 * 50) / 150)
    assert s.value_usd_per_h100e_hour == pytest.approx(2.6)
    # with no asks above the trades the two agree: the spread is not a constant
    same = [ask(1, 1, 100, 2.2), bid(4, 9, 100, 3.0)]
    r2 = orderbook.match(same, now_month=0)
    v2 = indices.publish("vwap", points=indices.points_from_fills(r2.fills))
    s2 = indices.publish("list_survey", asks=same)
    assert v2.value_usd_per_h100e_hour == pytest.approx(s2.value_usd_per_h100e_hour)
    with pytest.raises(ValueError, match="method"):
        indices.publish("median_of_tweets")


# ====================================================================== forwards


def fwd(fid=1, buyer=10, seller=20, notional=1_000_000.0, strike=2.5, start=0, months=12):
    return Forward(fid, buyer, seller, "vwap", notional, strike, start, months)


def test_forward_settles_index_minus_strike_times_notional_by_side():
    f = fwd()
    up = forwards.settle(f, 3, 2.8)
    assert up.buyer_usd == pytest.approx(0.3 * 1_000_000) and up.seller_usd == -up.buyer_usd
    down = forwards.settle(f, 3, 2.1)
    assert down.buyer_usd == pytest.approx(-0.4 * 1_000_000)
    assert down.buyer_usd + down.seller_usd == 0.0
    assert forwards.settle(f, 12, 9.0).buyer_usd == 0.0  # after its term
    assert forwards.settle(f, 3, None).buyer_usd == 0.0  # no index yet


def test_settlements_sum_to_zero_across_sides_and_firms():
    book = [
        fwd(1, buyer=10, seller=20),
        fwd(2, buyer=11, seller=20, strike=2.0, notional=5e5),
        Forward(3, 20, 10, "list_survey", 2e5, 3.0, 0, 6),
    ]
    flows = forwards.settle_all(book, 2, {"vwap": 2.7, "list_survey": 2.9})
    assert len(flows) == 3
    cash = forwards.cash_by_firm(book, flows)
    assert sum(cash.values()) == pytest.approx(0.0, abs=1e-6)
    assert cash[11] == pytest.approx(0.7 * 5e5)
    assert cash[10] == pytest.approx(0.2 * 1e6 + 0.1 * 2e5)


def test_exposure_pnl_basis_and_hedged_price():
    f = fwd(start=0, months=12)
    assert forwards.exposure_h100e_hours([f], 10, 4) == pytest.approx(8 * 1_000_000)
    assert forwards.exposure_h100e_hours([f], 20, 4) == pytest.approx(-8 * 1_000_000)
    assert forwards.exposure_h100e_hours([f], 10, 12) == 0.0
    assert forwards.mark_to_market_usd(f, 4, 2.75) == pytest.approx(0.25 * 8 * 1_000_000)
    # a lab paying the index is fully hedged at the strike; its basis is not hedged
    assert forwards.hedged_price_usd_per_h100e_hour(3.1, 3.1, 2.5) == pytest.approx(2.5)
    assert forwards.basis_usd_per_h100e_hour(3.4, 3.1) == pytest.approx(0.3)
    assert forwards.hedged_price_usd_per_h100e_hour(3.4, 3.1, 2.5) == pytest.approx(2.8)


def test_forward_fees_come_from_each_side():
    f = fwd(notional=1e6, strike=2.5, months=12)
    b, s = forwards.fees_usd(f, 10)
    assert b == s == pytest.approx(2.5 * 1e6 * 12 * 0.001)


# ====================================================================== dealer


DEALER = {
    "long_term_months": 36,
    "short_term_premium": 0.4,
    "full_term_months": 36,
    "risk_aversion": 0.5,
    "margin": 0.05,
}


def test_dealer_ask_covers_cost_over_utilisation_term_and_risk():
    q = dealer.dealer_ask(
        cost_usd_per_h100e_hour=2.0, block_months=1, utilisation=0.8, utilisation_sd=0.1, **DEALER
    )
    assert q.breakeven_usd_per_h100e_hour == pytest.approx(2.5)
    assert q.term_factor == pytest.approx(1.4)
    assert q.risk_factor == pytest.approx(1 + 0.5 * 0.1 / 0.8)
    assert q.ask_usd_per_h100e_hour == pytest.approx(2.5 * 1.4 * q.risk_factor * 1.05)
    base = {"cost_usd_per_h100e_hour": 2.0, **DEALER}
    steady = dealer.dealer_ask(block_months=1, utilisation=0.8, utilisation_sd=0.0, **base)
    idle = dealer.dealer_ask(block_months=1, utilisation=0.5, utilisation_sd=0.1, **base)
    longer = dealer.dealer_ask(block_months=12, utilisation=0.8, utilisation_sd=0.1, **base)
    assert steady.ask_usd_per_h100e_hour < q.ask_usd_per_h100e_hour
    assert idle.ask_usd_per_h100e_hour > q.ask_usd_per_h100e_hour
    assert longer.ask_usd_per_h100e_hour < q.ask_usd_per_h100e_hour
    flat = dealer.dealer_ask(
        cost_usd_per_h100e_hour=2.0,
        block_months=36,
        utilisation=1.0,
        utilisation_sd=0.0,
        **(DEALER | {"margin": 0.0}),
    )
    assert flat.ask_usd_per_h100e_hour == pytest.approx(2.0)


def test_dealer_bid_is_the_inverse_of_its_ask():
    kw = {"block_months": 3, "utilisation": 0.7, "utilisation_sd": 0.2, **DEALER}
    top = dealer.dealer_bid(resale_usd_per_h100e_hour=3.0, **kw)
    assert top < 3.0
    back = dealer.dealer_ask(cost_usd_per_h100e_hour=top, **kw)
    assert back.ask_usd_per_h100e_hour == pytest.approx(3.0)


def test_dealer_utilisation_history():
    mean, sd = dealer.utilisation_stats([50, 100, 0], [100, 100, 0])
    assert mean == pytest.approx(0.75) and sd == pytest.approx(0.25)
    assert dealer.utilisation_stats([], []) == (1.0, 0.0)


# ====================================================================== properties

months_st = st.integers(0, 5)
order_st = st.tuples(
    st.sampled_from([BUY, SELL]),
    st.integers(1, 4),  # trader
    st.sampled_from([10.0, 25.0, 40.0, 70.0]),
    months_st,
    st.integers(1, 6),
    st.sampled_from([1.5, 2.0, 2.5, 3.0]),
    st.booleans(),
)


def build(raw):
    out = []
    for seq, (side, trader, q, start, months, price, aon) in enumerate(raw):
        out.append(BlockOrder(side, trader, q, start, months, price, seq, aon and side == BUY))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(order_st, max_size=14), st.sampled_from(orderbook.RULES), st.floats(0, 100))
def test_matching_conserves_capacity_and_money(raw, rule, fee_bps):
    orders = build(raw)
    r = orderbook.match(orders, now_month=0, rule=rule, fee_bps=fee_bps)
    by_seq = {o.seq: o for o in orders}
    tol = 1e-6
    for f in r.fills:
        b, a = by_seq[f.buy_seq], by_seq[f.ask_seq]
        assert a.covers(b) and (f.start_month, f.duration_months) == b.shape
        assert a.price_usd_per_h100e_hour - tol <= f.price_usd_per_h100e_hour
        assert f.price_usd_per_h100e_hour <= b.price_usd_per_h100e_hour + tol
        assert f.buyer_id != f.seller_id and f.capacity_h100e > 0
    for a in (o for o in orders if o.side == SELL):
        for m in range(a.start_month, a.end_month):
            sold = sum(
                f.capacity_h100e
                for f in r.fills
                if f.ask_seq == a.seq and f.start_month <= m < f.start_month + f.duration_months
            )
            assert sold <= a.capacity_h100e + tol
        sold_months = sum(
            f.capacity_h100e * f.duration_months for f in r.fills if f.ask_seq == a.seq
        )
        assert sold_months + r.ask_left_h100e_months[a.seq] == pytest.approx(
            a.capacity_h100e * a.duration_months
        )
    for b in (o for o in orders if o.side == BUY):
        got = sum(f.capacity_h100e for f in r.fills if f.buy_seq == b.seq)
        assert got + r.unfilled_h100e[b.seq] == pytest.approx(b.capacity_h100e)
        if b.all_or_none:
            assert got == 0 or got == pytest.approx(b.capacity_h100e)
    paid = sum(f.buyer_pays_usd for f in r.fills)
    got_paid = sum(f.seller_receives_usd for f in r.fills)
    assert paid == pytest.approx(got_paid + r.fees_usd, rel=1e-12, abs=1e-6)
    if rule == "uniform_per_shape":
        for f in r.fills:
            assert (
                f.price_usd_per_h100e_hour == r.clearing_price[(f.start_month, f.duration_months)]
            )
    assert orderbook.match(list(reversed(orders)), now_month=0, rule=rule, fee_bps=fee_bps) == r


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 5),
            st.integers(1, 5),
            st.floats(1.0, 1e7),
            st.floats(0.5, 10.0),
            st.integers(0, 6),
            st.integers(1, 12),
        ),
        max_size=10,
    ),
    st.floats(0.1, 20.0),
    st.integers(0, 20),
)
def test_forward_settlement_conserves_money(raw, index, month):
    book = [
        Forward(i, b, s, "vwap", n, k, start, months)
        for i, (b, s, n, k, start, months) in enumerate(raw)
    ]
    flows = forwards.settle_all(book, month, {"vwap": index})
    for s in flows:
        assert s.buyer_usd + s.seller_usd == 0.0
    cash = forwards.cash_by_firm(book, flows)
    scale = 1.0 + sum(abs(v) for v in cash.values())
    assert abs(sum(cash.values())) <= 1e-9 * scale
    assert len(flows) == sum(f.live(month) for f in book)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.integers(0, 11), st.floats(0, 150), max_size=12),
    st.lists(st.tuples(st.integers(0, 11), st.integers(1, 6), st.floats(0, 50)), max_size=4),
    st.integers(0, 11),
    st.integers(1, 6),
)
def test_a_resale_at_its_cap_never_exceeds_the_unused_part(use, made, start, months):
    made = [(s, min(12, s + d), q) for s, d, q in made]
    end = min(12, start + months)
    lim = resale.resale_limit(
        capacity_h100e=100.0,
        parent_start_month=0,
        parent_end_month=12,
        window_start_month=start,
        window_end_month=end,
        own_use_h100e=use,
        resold=made,
    )
    assert lim.cap_h100e >= 0
    for m in range(start, end):
        assert lim.cap_h100e <= resale.unused_h100e(100.0, m, use, made) + 1e-9
    if lim.cap_h100e > 0:
        before = resale.over_resold(100.0, use, made)
        after = resale.over_resold(100.0, use, [*made, (start, end, lim.cap_h100e)])
        assert {m for m, _ in after} <= {m for m, _ in before}


def test_free_capacity_is_cut_into_blocks_that_never_oversell_a_month():
    free = {0: 100.0, 1: 100.0, 2: 40.0, 3: 100.0}
    blocks = resale.cut_blocks(free, [(0, 2), (0, 4), (2, 2), (3, 1), (5, 1)], min_block_h100e=1)
    assert blocks == [(0, 2, 100.0), (2, 2, 40.0), (3, 1, 60.0)]


def test_forwards_traded_on_the_book_become_cash_settled_forwards():
    orders = [ask(1, trader=20, h100e=1000, price=2.5, months=12), bid(2, 10, 1000, 2.6, months=12)]
    r = orderbook.match(orders, now_month=0, fee_bps=5)
    (f,) = forwards.forwards_from_fills(r.fills, "vwap", first_id=7, signed_month=0)
    assert (f.forward_id, f.buyer_id, f.seller_id, f.months) == (7, 10, 20, 12)
    assert f.notional_h100e_hours_per_month == pytest.approx(730_000)
    assert f.strike_usd_per_h100e_hour == 2.5
    assert forwards.settle(f, 0, 2.7).buyer_usd == pytest.approx(0.2 * 730_000)
    assert forwards.fees_usd(f, 5)[0] == pytest.approx(r.fills[0].fee_buyer_usd)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.integers(0, 8), st.floats(0, 100), max_size=9),
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(1, 4), st.floats(1, 120), st.booleans()),
        max_size=8,
    ),
)
def test_accepted_resale_asks_never_exceed_the_unused_part_together(unused, raw):
    parent = {"parent_contract_id": 1, "parent_start_month": 0, "parent_end_month": 12}
    orders = [ask(i, 5, q, 2.0, start=s, months=d, **parent) for i, (s, d, q, _) in enumerate(raw)]
    buys = [bid(100 + i, 9, q, 3.0, start=s, months=d) for i, (s, d, q, b) in enumerate(raw) if b]
    r = orderbook.match(orders + buys, now_month=0, resellable={(5, 1): unused})
    accepted = [o for o in orders if o.seq in r.ask_left_h100e_months]
    for m in range(12):
        offered = sum(o.capacity_h100e for o in accepted if o.start_month <= m < o.end_month)
        assert offered <= unused.get(m, 0.0) + 1e-6
    for f in r.fills:
        assert f.parent_contract_id == 1


def test_fees_and_settlements_as_payments_leave_total_cash_unchanged():
    orders = [ask(1, 1, 1000, 2.0), ask(2, 2, 1000, 2.2), bid(3, 9, 1500, 3.0, aon=True)]
    r = orderbook.match(orders, now_month=0, fee_bps=25)
    book = [fwd(1, buyer=9, seller=1), fwd(2, buyer=2, seller=9, strike=3.5)]
    flows = forwards.settle_all(book, 0, {"vwap": 2.9})
    payments = orderbook.fee_transfers(r.fills, exchange_id=50)
    payments += forwards.settlement_transfers(book, flows)
    cash = dict.fromkeys([1, 2, 9, 50], 1e9)
    for t in payments:
        assert t.usd > 0
        cash[t.payer_id] -= t.usd
        cash[t.payee_id] += t.usd
    assert sum(cash.values()) == pytest.approx(4e9)
    assert cash[50] - 1e9 == pytest.approx(r.fees_usd)
    net = forwards.cash_by_firm(book, flows)
    fee_paid = {9: sum(f.fee_buyer_usd for f in r.fills)}
    assert cash[9] - 1e9 == pytest.approx(net[9] - fee_paid[9])


# ====================================================================== the doc's example

DOC = Path(__file__).resolve().parents[1] / "docs" / "brokers.md"


def test_the_worked_examples_in_docs_brokers_run():
    blocks = re.findall(
        r"^```python\n# test\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S
    )
    assert blocks, "docs/brokers.md has no runnable example"
    for body in blocks:
        proc = subprocess.run(
            [sys.executable, "-c", body],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(DOC.parents[1])},
        )
        assert proc.returncode == 0, proc.stderr
