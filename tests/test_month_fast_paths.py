"""The month's fast paths outside contracting give the answers of the plain
computation they stand for: each test runs the plain version next to the fast one
and compares (see "What keeps a month cheap" in docs/scaling.md)."""

import numpy as np
import pytest

from market import ComputeMarket
from market.core import secondary, stages
from market.core.stages import secondary as secondary_stage
from market.mechanisms import orderbook
from market.mechanisms.broker_records import BlockOrder, Side


def _plain_allocate_all(buys, asks, left):
    """Every buy looks through every ask: no list is pruned."""
    taken = {}
    for b in buys:
        t, _ = orderbook._allocate(b, asks, left)
        if t:
            taken[b.seq] = t
    return taken


def _random_book(seed: int) -> list[BlockOrder]:
    """Many asks and buys from few traders, over a few windows, with ties in price."""
    rng = np.random.default_rng(seed)
    orders = []
    for seq in range(1, 400):
        side = Side.SELL if rng.random() < 0.6 else Side.BUY
        start = int(rng.integers(1, 3))
        months = int(rng.choice([1, 3, 6]))
        price = float(rng.choice([1.0, 1.5, 2.0, 2.5, 3.0]))
        h100e = float(rng.choice([10.0, 100.0, 250.0, 1000.0]))
        aon = side == Side.BUY and rng.random() < 0.2
        orders.append(
            BlockOrder(side, int(rng.integers(1, 12)), h100e, start, months, price, seq, aon)
        )
    return orders


@pytest.mark.parametrize("rule", orderbook.RULES)
@pytest.mark.parametrize("seed", range(6))
def test_pruned_matching_equals_matching_through_every_ask(rule, seed, monkeypatch):
    orders = _random_book(seed)
    fast = orderbook.match(orders, now_month=1, rule=rule, fee_bps=5.0)
    monkeypatch.setattr(orderbook, "_allocate_all", _plain_allocate_all)
    plain = orderbook.match(orders, now_month=1, rule=rule, fee_bps=5.0)
    assert fast.fills, "the book should trade"
    assert fast == plain


def _run(scenario: str, seed: int, months: int, **overrides):
    m = ComputeMarket(scenario=scenario, rng=seed, **overrides)
    m.run_months(months)
    return m


def _outputs(m) -> tuple:
    ts = m.datacollector.get_model_vars_dataframe()
    return (ts.to_csv(), [e.text for e in m.events])


def _secondary_without_kept_quotes(model) -> None:
    model.secondary_month = secondary.run_month(model)


@pytest.mark.parametrize(
    ("scenario", "seed", "overrides"),
    [
        ("lesson-brokers", 3, {"demand_growth_per_year": 0.7}),
        ("lesson-brokers", 1, {"broker_models": "dealer"}),
    ],
)
def test_secondary_stage_with_kept_quotes_equals_without(scenario, seed, overrides, monkeypatch):
    fast = _outputs(_run(scenario, seed, 30, **overrides))
    plain_stages = tuple(
        stages.Stage(s.name, _secondary_without_kept_quotes) if s.name == "secondary" else s
        for s in stages.STAGES
    )
    monkeypatch.setattr(ComputeMarket, "stages", plain_stages)
    plain = _outputs(_run(scenario, seed, 30, **overrides))
    assert fast == plain


@pytest.mark.parametrize(
    ("scenario", "seed", "overrides"),
    [
        ("lesson-brokers", 3, {"demand_growth_per_year": 0.7}),
        ("lesson-brokers", 1, {"broker_models": "dealer"}),
        ("baseline", 2, {}),
    ],
)
def test_secondary_stage_reading_on_from_the_contract_round_equals_a_round_of_its_own(
    scenario, seed, overrides, monkeypatch
):
    reads_on, read = secondary_stage.reads_on, []
    monkeypatch.setattr(secondary_stage, "reads_on", lambda m: read.append(reads_on(m)) or read[-1])
    fast = _outputs(_run(scenario, seed, 24, **overrides))
    assert read and all(read)  # every month read on from the contract round
    monkeypatch.setattr(secondary_stage, "follows_contracting", lambda model: False)
    plain = _outputs(_run(scenario, seed, 24, **overrides))
    assert fast == plain


def test_a_labs_sums_worked_out_ahead_equal_those_worked_out_month_by_month():
    m = _run("lesson-brokers", 3, 14, demand_growth_per_year=0.7)
    checked = 0
    for lab in m.labs():
        months = range(m.month + 1, m.month + 8)
        lab.contract_sums_ahead(months)
        ahead = {t: lab._contract_sums(t) for t in months}
        lab._sums_version = -1  # forget them: each month on its own
        plain = {t: lab._contract_sums(t) for t in months}
        assert ahead == plain
        checked += sum(1 for b, s in plain.values() if b or s)
    assert checked > 0, "some lab should hold contracts"


def _auction_bids_one_draw_each(model, seller, value):
    """The plain auction: one draw per bidder, in turn."""
    p = model.p
    bids = []
    for firm in model.firms():
        if firm is seller or not firm.active or not firm.wants_sites():
            continue
        bid = value * (p.auction_bid_min_share + p.auction_bid_spread * float(model.rng.random()))
        if firm.cash_usd >= bid:
            bids.append((bid, firm.unique_id))
    return bids


def test_auction_bids_drawn_at_once_equal_one_draw_per_bidder(monkeypatch):
    from market.core import lifecycle

    calls = []
    batched = lifecycle.auction_bids

    def counted(model, seller, value):
        calls.append(value)
        return batched(model, seller, value)

    monkeypatch.setattr(lifecycle, "auction_bids", counted)
    fast = _outputs(_run("lesson-consolidation", 7, 120))
    assert calls, "the scenario should auction sites"
    monkeypatch.setattr(lifecycle, "auction_bids", _auction_bids_one_draw_each)
    plain = _outputs(_run("lesson-consolidation", 7, 120))
    assert fast == plain


def test_investment_with_kept_utilisation_equals_without(monkeypatch):
    from market.core.stages import investment

    def plain_investment(model):
        model.utilisation_kept = None
        investment.invest(model)

    fast = [_outputs(_run(s, seed, 48)) for s, seed in (("baseline", 1), ("colossus-2026", 2))]
    plain_stages = tuple(
        stages.Stage(s.name, plain_investment) if s.name == "investment" else s
        for s in stages.STAGES
    )
    monkeypatch.setattr(ComputeMarket, "stages", plain_stages)
    plain = [_outputs(_run(s, seed, 48)) for s, seed in (("baseline", 1), ("colossus-2026", 2))]
    assert fast == plain


def test_a_labs_needs_from_the_markets_forecast_equal_its_need_month_by_month(monkeypatch):
    from agents.lab import Lab

    needs = Lab.needs_h100e
    checked = []

    def checked_needs(lab, months, forecast):
        got = needs(lab, months, forecast)
        assert got == {t: lab.need_h100e(t) for t in months}
        checked.append(lab.unique_id)
        return got

    monkeypatch.setattr(Lab, "needs_h100e", checked_needs)
    _run("lesson-brokers", 3, 24, demand_growth_per_year=0.7)
    assert len(checked) > 80
