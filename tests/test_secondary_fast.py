"""The secondary stage's fast paths give the answers of the plain computation they
stand for: each test runs the plain version next to the fast one and compares (see
"What keeps a month cheap" in docs/scaling.md)."""

import numpy as np
import pytest

from agents import broker
from market import ComputeMarket
from market.core import secondary
from market.mechanisms import indices, orderbook
from market.mechanisms.broker_records import BlockOrder, Fill, Side

RUNS = [
    ("lesson-brokers", 3, 30, {"demand_growth_per_year": 0.7}),
    ("baseline", 1, 30, {}),
]


def _outputs(scenario: str, seed: int, months: int, overrides: dict) -> tuple:
    m = ComputeMarket(scenario=scenario, rng=seed, **overrides)
    m.run_months(months)
    ts = m.datacollector.get_model_vars_dataframe()
    return (ts.to_csv(), [e.text for e in m.events])


@pytest.mark.parametrize(("scenario", "seed", "months", "overrides"), RUNS)
def test_resale_offers_with_the_no_spare_bound_equal_those_without(
    scenario, seed, months, overrides, monkeypatch
):
    skipped = []
    bound = broker.surely_nothing_spare

    def counted(lab, window, need):
        skip = bound(lab, window, need)
        skipped.append(skip)
        return skip

    monkeypatch.setattr(broker, "surely_nothing_spare", counted)
    fast = _outputs(scenario, seed, months, overrides)
    assert any(skipped), "some lab should be skipped by the bound"
    assert not all(skipped), "some lab should take the full computation"
    monkeypatch.setattr(broker, "surely_nothing_spare", lambda lab, window, need: False)
    plain = _outputs(scenario, seed, months, overrides)
    assert fast == plain


def test_a_lab_the_bound_skips_has_nothing_spare_in_any_month(monkeypatch):
    checked = []
    bound = broker.surely_nothing_spare

    def checking(lab, window, need):
        skip = bound(lab, window, need)
        if skip:
            checked.append(lab.unique_id)
            assert all(lab.secured_h100e(t) <= need[t] for t in window)
        return skip

    monkeypatch.setattr(broker, "surely_nothing_spare", checking)
    m = ComputeMarket(scenario="lesson-brokers", rng=3, demand_growth_per_year=0.7)
    m.run_months(24)
    assert checked, "the bound should skip some lab"


def _plain_forward_orders(model, now, price):
    """Every hedger's position worked out, asks posted whether or not any lab bids."""
    p, book = model.p, model.forward_book
    share, months, prem = p.forward_hedge_share, p.forward_months, p.forward_hedge_premium
    orders = []

    def post(side, firm, h100e, limit):
        if h100e > max(p.resale_min_block_h100e, 1.0) and not book.holds(firm.unique_id, now):
            orders.append(
                BlockOrder(side, firm.unique_id, h100e, now, months, limit, len(orders) + 1)
            )

    for lab in model.labs():
        post(Side.BUY, lab, share * lab.need_h100e(now), price * (1.0 + prem))
    for firm in model.providers():
        spare = firm.online_capacity_h100e() - firm.delivered_sold_h100e()
        post(Side.SELL, firm, share * spare, price * (1.0 - prem))
    return orders


def test_forward_trading_without_the_idle_months_equals_the_plain_book(monkeypatch):
    # 12-month forwards: every lab hedges in the first month, and again a year on
    run = ("lesson-brokers", 3, 30, {"forwards": True})
    fast = _outputs(*run)
    monkeypatch.setattr(secondary, "forward_orders", _plain_forward_orders)
    plain = _outputs(*run)
    assert fast == plain


def _random_fills(seed: int, n: int) -> list[Fill]:
    rng = np.random.default_rng(seed)
    return [
        Fill(
            buy_seq=i,
            ask_seq=i,
            buyer_id=1,
            seller_id=2,
            capacity_h100e=float(rng.choice([0.0, 1e-3, 7.5, 1234.567, 1e6])),
            start_month=1,
            duration_months=int(rng.choice([1, 3, 6])),
            price_usd_per_h100e_hour=float(rng.uniform(0.5, 4.0)),
            fee_buyer_usd=0.0,
            fee_seller_usd=0.0,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(5))
def test_vwap_of_fills_equals_the_vwap_of_their_price_points(seed):
    fills = _random_fills(seed, 200)
    previous = indices.vwap([])
    assert indices.vwap_of_fills(fills, previous) == indices.vwap(
        indices.points_from_fills(fills), previous
    )
    last = indices.vwap(indices.points_from_fills(fills))
    assert indices.vwap_of_fills([], last) == indices.vwap([], last)


def _random_book(seed: int) -> list[BlockOrder]:
    """Many asks and buys of few shapes, with ties in price: buys drop out of shapes."""
    rng = np.random.default_rng(seed)
    orders = []
    for seq in range(1, 300):
        side = Side.SELL if rng.random() < 0.5 else Side.BUY
        start = int(rng.integers(1, 3))
        months = int(rng.choice([1, 3]))
        price = float(rng.choice([1.0, 1.5, 2.0, 2.5, 3.0]))
        h100e = float(rng.choice([10.0, 100.0, 250.0]))
        aon = side == Side.BUY and rng.random() < 0.3
        orders.append(
            BlockOrder(side, int(rng.integers(1, 8)), h100e, start, months, price, seq, aon)
        )
    return orders


def _full_copy(left):
    return {seq: dict(months) for seq, months in left.items()}


@pytest.mark.parametrize("seed", range(6))
def test_a_trial_clearing_copying_on_read_equals_one_copying_every_ask(seed, monkeypatch):
    orders = _random_book(seed)
    fast = orderbook.match(orders, now_month=1, rule="uniform_per_shape", fee_bps=5.0)
    monkeypatch.setattr(orderbook, "_CopyOnRead", _full_copy)
    plain = orderbook.match(orders, now_month=1, rule="uniform_per_shape", fee_bps=5.0)
    assert fast.fills, "the book should trade"
    assert fast == plain


def test_the_running_forwards_are_those_of_the_whole_book_in_the_order_signed():
    from market.mechanisms.broker_records import Forward

    rng = np.random.default_rng(4)
    book = secondary.ForwardBook()
    for month in range(40):
        signed = [
            Forward(len(book.forwards) + i + 1, 1, 2, "vwap", 1.0, 2.0, month, int(k))
            for i, k in enumerate(rng.choice([1, 3, 12], size=int(rng.integers(0, 4))))
        ]
        book.add(signed)
        for asked in (month, month + 1, max(0, month - 5)):  # the last goes back in time
            assert book.live(asked) == [f for f in book.forwards if f.live(asked)]
            assert book.running_after(asked) == [f for f in book.forwards if f.end_month > asked]
