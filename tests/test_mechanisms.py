"""Every mechanism on plain records, without a model: chip allocation and pricing,
contract pricing and bargaining, spot clearing, demand, finance, metrics, the network."""

import math

import pytest

from market.core.network import MarketNetwork
from market.io.outputs import term_bucket
from market.io.records import (
    HOURS_PER_MONTH,
    ChipBatch,
    ChipOrder,
    Contract,
    ContractState,
    Facility,
    FacilityStatus,
    Quote,
)
from market.mechanisms import chips, demand, finance, metrics, pricing, spot


def order(oid, h100e, month=0, lta=False, delivered=0.0):
    return ChipOrder(
        oid,
        buyer_id=100 + oid,
        supplier_id=1,
        facility_id=oid,
        h100e=h100e,
        month_placed=month,
        price_usd_per_h100e=30_000.0,
        long_term_agreement=lta,
        delivered_h100e=delivered,
    )


def quote(seller, h100e, ask, facility=None):
    return make_quote(
        seller, facility if facility is not None else seller, h100e, 1, ask, ask * 0.8
    )


def make_quote(seller, facility, h100e, start, ask, floor):
    return Quote(
        seller_id=seller,
        facility_id=facility,
        capacity_h100e=h100e,
        start_month=start,
        term_months=36,
        ask_usd_per_h100e_hour=ask,
        floor_usd_per_h100e_hour=floor,
    )


def contract(**kw):
    base = {
        "contract_id": 1,
        "buyer_id": 1,
        "seller_id": 2,
        "facility_id": 3,
        "capacity_h100e": 1000.0,
        "start_month": 10,
        "term_months": 24,
        "price_usd_per_h100e_hour": 2.0,
        "price_usd_per_mw_month": 2.0 * HOURS_PER_MONTH * 700,
        "signed_month": 5,
        "take_or_pay_share": 1.0,
    }
    base.update(kw)
    return Contract(**base)


# ====================================================================== chips.allocate


@pytest.mark.parametrize("policy", chips.ALLOCATION_POLICIES)
def test_allocation_never_exceeds_supply_or_orders(policy):
    orders = [order(1, 500, month=3), order(2, 300, month=1, lta=True), order(3, 200, month=2)]
    got = chips.allocate(orders, 600, policy)
    assert sum(got.values()) == pytest.approx(600)
    for o in orders:
        assert 0 <= got[o.order_id] <= o.open_h100e + 1e-9


@pytest.mark.parametrize("policy", chips.ALLOCATION_POLICIES)
def test_allocation_fills_every_order_when_supply_is_ample(policy):
    orders = [order(1, 500), order(2, 300, lta=True), order(3, 200, delivered=50)]
    got = chips.allocate(orders, 10_000, policy)
    assert got == pytest.approx({1: 500, 2: 300, 3: 150})


@pytest.mark.parametrize("policy", chips.ALLOCATION_POLICIES)
def test_allocation_with_no_supply_gives_nothing(policy):
    got = chips.allocate([order(1, 500), order(2, 300)], 0.0, policy)
    assert got == {1: 0.0, 2: 0.0}


@pytest.mark.parametrize("policy", chips.ALLOCATION_POLICIES)
def test_allocation_with_no_orders_is_empty(policy):
    assert chips.allocate([], 1000.0, policy) == {}
    # fully delivered orders no longer take part
    assert chips.allocate([order(1, 500, delivered=500)], 1000.0, policy) == {}


def test_pro_rata_gives_everyone_the_same_fraction():
    got = chips.allocate([order(1, 400), order(2, 100, lta=True), order(3, 500)], 500, "pro_rata")
    assert got == pytest.approx({1: 200, 2: 50, 3: 250})


def test_pro_rata_uses_what_is_still_open():
    got = chips.allocate([order(1, 400, delivered=300), order(2, 100)], 100, "pro_rata")
    assert got == pytest.approx({1: 50, 2: 50})


def test_lta_priority_serves_long_term_agreements_first():
    orders = [order(1, 400), order(2, 300, lta=True), order(3, 300, lta=True)]
    got = chips.allocate(orders, 450, "lta_priority")
    assert got == pytest.approx({1: 0.0, 2: 225, 3: 225})
    got = chips.allocate(orders, 800, "lta_priority")
    assert got == pytest.approx({1: 200, 2: 300, 3: 300})


def test_fifo_serves_oldest_first_and_breaks_ties_by_order_id():
    orders = [order(3, 300, month=2), order(2, 300, month=1), order(1, 300, month=1)]
    got = chips.allocate(orders, 450, "fifo")
    assert got == pytest.approx({1: 300, 2: 150, 3: 0.0})


def test_allocation_rejects_unknown_policy_and_negative_supply():
    with pytest.raises(ValueError, match="unknown allocation policy 'random'"):
        chips.allocate([order(1, 10)], 10, "random")
    with pytest.raises(ValueError, match="supply_h100e"):
        chips.allocate([order(1, 10)], -1, "pro_rata")


def test_allocation_policies_match_the_declared_parameter():
    from market.io.params import PARAMS

    assert PARAMS["chip_allocation_policy"].choices == chips.ALLOCATION_POLICIES


# ====================================================================== chips pricing


def test_list_price_moves_toward_cost_plus_margin_when_backlog_is_normal():
    price = chips.list_price(
        30_000, 10_000, 0.5, backlog_months=1, target_backlog_months=3, slope=0.25, adjust=0.2
    )
    assert price == pytest.approx(30_000 + 0.2 * (15_000 - 30_000))
    # repeated, it converges to the target
    p = 30_000.0
    for _ in range(200):
        p = chips.list_price(p, 10_000, 0.5, 0, 3, 0.25, adjust=0.2)
    assert p == pytest.approx(15_000)


def test_list_price_rises_with_backlog_beyond_target():
    calm = chips.list_price(15_000, 10_000, 0.5, 3, 3, 0.25, adjust=0.2)
    tight = chips.list_price(15_000, 10_000, 0.5, 7, 3, 0.25, adjust=0.2)
    assert calm == pytest.approx(15_000)
    assert tight == pytest.approx(15_000 + 0.2 * (15_000 * 2.0 - 15_000))


def test_production_target_bounds():
    # long backlog: capped at the maximal expansion
    assert chips.production_target(
        100, 10_000, 3, 0.08, adjust=0.25, min_share=0.98
    ) == pytest.approx(108)
    # no backlog: never below 98% of today's output
    assert chips.production_target(100, 0, 3, 0.08, adjust=0.25, min_share=0.98) == pytest.approx(
        98
    )
    # in between: a quarter of the backlog-to-target rate plus three quarters of output
    assert chips.production_target(100, 1200, 3, 1.0, adjust=0.25, min_share=0.98) == pytest.approx(
        1200 / 3 / 4 + 75
    )


# ====================================================================== pricing


def test_annuity_repays_principal():
    assert pricing.annuity_usd_per_month(1200, 0.0, 12) == pytest.approx(100)
    pay = pricing.annuity_usd_per_month(1000, 0.12, 24)
    balance = 1000.0
    for _ in range(24):
        balance = balance * 1.01 - pay
    assert balance == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("months", [0, -3])
def test_annuity_rejects_zero_length_terms(months):
    with pytest.raises(ValueError, match="positive"):
        pricing.annuity_usd_per_month(1000, 0.1, months)


FLOOR_ARGS = {
    "chip_cost_usd_per_h100e": 30_000.0,
    "chip_life_months": 60,
    "facility_cost_usd_per_mw": 12e6,
    "facility_life_months": 180,
    "h100e_per_mw": 700.0,
    "other_opex_usd_per_mw_month": 100_000.0,
    "power_price_usd_per_mwh": 70.0,
    "pue": 1.2,
    "annual_rate": 0.065,
}


def test_cost_floor_is_the_sum_of_its_parts():
    a = FLOOR_ARGS
    chips_m = pricing.annuity_usd_per_month(30_000, 0.065, 60)
    building = pricing.annuity_usd_per_month(12e6, 0.065, 180) / 700
    energy = 70 * 1.2 * HOURS_PER_MONTH / 700
    other = 100_000 / 700
    want = (chips_m + building + energy + other) / HOURS_PER_MONTH
    assert pricing.cost_floor_usd_per_h100e_hour(**a) == pytest.approx(want)
    # an H100e-hour of a 2026 build costs a dollar or two: a sanity check on units
    assert 0.5 < want < 3.0


def test_cost_floor_rises_with_cost_of_capital_and_credit_risk():
    base = pricing.cost_floor_usd_per_h100e_hour(**FLOOR_ARGS)
    dearer = pricing.cost_floor_usd_per_h100e_hour(**{**FLOOR_ARGS, "annual_rate": 0.15})
    risky = pricing.cost_floor_usd_per_h100e_hour(**FLOOR_ARGS, credit_premium=0.1)
    assert dearer > base
    assert risky == pytest.approx(base * 1.1)


def test_tightness_edge_cases():
    assert pricing.tightness(0, 100, cap=10.0) == 0.0
    assert pricing.tightness(-5, 100, cap=10.0) == 0.0  # no demand
    assert pricing.tightness(50, 0, cap=10.0) == 10.0  # no supply: the bound
    assert pricing.tightness(50, 100, cap=10.0) == pytest.approx(0.5)
    assert pricing.tightness(1e9, 1, cap=10.0) == 10.0


def test_scarcity_markup_is_capped():
    assert pricing.scarcity_markup(0, 2.0, 6.0) == 1.0
    assert pricing.scarcity_markup(1.5, 2.0, 6.0) == pytest.approx(4.0)
    assert pricing.scarcity_markup(10, 2.0, 6.0) == 6.0


def test_term_factor_falls_to_one_at_36_months():
    assert pricing.term_factor(1, 0.4, full_term_months=36) == pytest.approx(1.4)
    assert pricing.term_factor(36, 0.4, full_term_months=36) == 1.0
    assert pricing.term_factor(60, 0.4, full_term_months=36) == 1.0
    assert (
        pricing.term_factor(12, 0.4, full_term_months=36)
        > pricing.term_factor(24, 0.4, full_term_months=36)
        > 1.0
    )


@pytest.mark.parametrize("term", [0, -1])
def test_zero_length_terms_are_rejected(term):
    with pytest.raises(ValueError, match="at least one month"):
        pricing.term_factor(term, 0.4, full_term_months=36)
    with pytest.raises(ValueError):
        pricing.ask_usd_per_h100e_hour(
            1.0,
            markup=1.0,
            base_margin=0.1,
            term_months=term,
            short_term_premium=0.4,
            full_term_months=36,
            cancellable=False,
            cancellation_premium=0.1,
            exclusive=False,
            exclusivity_premium=0.1,
        )


def test_ask_prices_term_cancellation_and_exclusivity():
    def ask(**kw):
        args = {
            "markup": 2.0,
            "base_margin": 0.15,
            "term_months": 36,
            "short_term_premium": 0.4,
            "full_term_months": 36,
            "cancellable": False,
            "cancellation_premium": 0.1,
            "exclusive": False,
            "exclusivity_premium": 0.2,
        }
        args.update(kw)
        return pricing.ask_usd_per_h100e_hour(1.0, **args)

    plain = ask()
    assert plain == pytest.approx(1.0 * 1.15 * 2.0)
    assert ask(term_months=1) == pytest.approx(plain * 1.4)
    assert ask(cancellable=True) == pytest.approx(plain * 1.1)
    assert ask(exclusive=True) == pytest.approx(plain * 1.2)
    assert ask(cancellable=True, exclusive=True) == pytest.approx(plain * 1.1 * 1.2)


def test_seller_power_is_bounded():
    assert pricing.seller_power(0.5, 0.3, 0.0, low=0.05, high=0.95) == 0.5
    assert pricing.seller_power(0.5, 0.3, 1.0, low=0.05, high=0.95) == pytest.approx(0.8)
    assert pricing.seller_power(0.5, 0.3, 10.0, low=0.05, high=0.95) == 0.95
    assert pricing.seller_power(0.0, 0.0, 0.0, low=0.05, high=0.95) == 0.05


def test_bargain_splits_the_surplus():
    assert pricing.bargain(2.0, 4.0, 0.5) == pytest.approx(3.0)
    assert pricing.bargain(2.0, 4.0, 0.0) == pytest.approx(2.0)
    assert pricing.bargain(2.0, 4.0, 1.0) == pytest.approx(4.0)
    assert pricing.bargain(2.0, 2.0, 0.7) == pytest.approx(2.0)  # no surplus: the ask
    assert pricing.bargain(2.0, 1.99, 0.5) is None  # reservation below the ask: no deal


def choose(*args, **kwargs):
    kwargs.setdefault("delay_cost_per_month", 0.03)
    return pricing.choose_quotes(*args, **kwargs)


def test_choose_quotes_multisources_cheapest_first():
    qs = [quote(1, 100, 3.0), quote(2, 100, 2.0), quote(3, 100, 2.5)]
    got = choose(qs, 150, contiguous=False)
    assert [(q.seller_id, take) for q, take in got] == [(2, 100), (3, 50)]


def test_choose_quotes_takes_what_there_is_when_short():
    qs = [quote(1, 100, 3.0), quote(2, 40, 2.0)]
    got = choose(qs, 1000, contiguous=False)
    assert [(q.seller_id, take) for q, take in got] == [(2, 40), (1, 100)]


def test_choose_quotes_ties_go_to_the_earlier_quote():
    qs = [quote(5, 100, 2.0), quote(1, 100, 2.0)]
    got = choose(qs, 100, contiguous=False)
    assert [q.seller_id for q, _ in got] == [5]
    got = choose(qs, 100, contiguous=True)
    assert [q.seller_id for q, _ in got] == [5]


def test_choose_quotes_counts_a_later_start_as_dearer():
    soon = make_quote(1, 1, 100, 1, 2.0, 1.6)
    late = make_quote(2, 2, 100, 11, 1.8, 1.4)
    # ten months late at 3% a month: 1.8 * 1.3 > 2.0
    got = choose([late, soon], 100, contiguous=True, wanted_start=1, delay_cost_per_month=0.03)
    assert [q.seller_id for q, _ in got] == [1]
    got = choose([late, soon], 100, contiguous=True, wanted_start=1, delay_cost_per_month=0.0)
    assert [q.seller_id for q, _ in got] == [2]
    # without a wanted start, only the ask counts
    assert [q.seller_id for q, _ in choose([late, soon], 100, False)] == [2]


def test_rfq_latest_start_is_never_before_the_start():
    from market.io.records import RFQ

    rfq = RFQ(
        buyer_id=1,
        capacity_h100e=100.0,
        start_month=10,
        term_months=36,
        contiguous=True,
        purpose="training",
        reservation_usd_per_h100e_hour=5.0,
        buyer_credit=0.5,
    )
    with pytest.raises(TypeError):
        RFQ(1, 100.0, 10, 36, True, "training", 5.0, 0.5)  # keyword-only: no bare booleans
    assert rfq.latest_start == 10
    rfq.latest_start_month = 34
    assert rfq.latest_start == 34
    rfq.latest_start_month = 3
    assert rfq.latest_start == 10


def test_choose_quotes_no_supply_or_no_need():
    assert choose([], 100, contiguous=False) == []
    assert choose([], 100, contiguous=True) == []
    assert choose([quote(1, 100, 2.0)], 0, contiguous=False) == []
    assert choose([quote(1, 100, 2.0)], -5, contiguous=True) == []


def test_training_needs_one_site_covering_the_need():
    qs = [quote(1, 60, 1.0), quote(2, 60, 1.5), quote(3, 120, 3.0), quote(4, 150, 2.0)]
    got = choose(qs, 100, contiguous=True)
    # the cheapest quote that covers the whole need, never a split across sites
    assert [(q.seller_id, take) for q, take in got] == [(4, 100)]


def test_training_falls_back_to_the_largest_block_above_min_fill():
    qs = [quote(1, 30, 1.0), quote(2, 70, 3.0), quote(3, 60, 2.0)]
    got = choose(qs, 100, contiguous=True, min_fill=0.5)
    assert [(q.seller_id, take) for q, take in got] == [(2, 70)]
    assert choose(qs, 100, contiguous=True, min_fill=0.8) == []


# ====================================================================== spot


def bid(agent, h100e, price):
    return spot.Order(agent, h100e, price)


def test_spot_uniform_price_is_the_midpoint_of_the_last_match():
    r = spot.clear([bid(1, 100, 5.0), bid(2, 100, 3.0)], [bid(10, 150, 1.0), bid(11, 100, 4.0)])
    # 100 trade to bidder 1 at asks of 1.0; bidder 2 (3.0) takes the rest of the 1.0 ask (50)
    assert r.volume_h100e == pytest.approx(150)
    assert r.price_usd_per_h100e_hour == pytest.approx((3.0 + 1.0) / 2)
    assert r.bought == pytest.approx({1: 100, 2: 50})
    assert r.sold == pytest.approx({10: 150})
    assert r.unmet_h100e == pytest.approx(50)
    assert r.unsold_h100e == pytest.approx(100)


def test_spot_volume_is_conserved():
    bids = [bid(i, 10 * i, 1.0 + i) for i in range(1, 6)]
    asks = [bid(100 + i, 7 * i, 0.5 * i) for i in range(1, 8)]
    r = spot.clear(bids, asks)
    assert sum(r.bought.values()) == pytest.approx(r.volume_h100e)
    assert sum(r.sold.values()) == pytest.approx(r.volume_h100e)
    assert r.volume_h100e + r.unmet_h100e == pytest.approx(sum(b.h100e for b in bids))
    assert r.volume_h100e + r.unsold_h100e == pytest.approx(sum(a.h100e for a in asks))


def test_spot_no_supply_prices_at_the_highest_bid():
    r = spot.clear([bid(1, 100, 5.0), bid(2, 50, 7.0)], [])
    assert r.volume_h100e == 0
    assert r.price_usd_per_h100e_hour == 7.0
    assert r.unmet_h100e == pytest.approx(150)
    assert r.bought == {} and r.sold == {}


def test_spot_no_demand_prices_at_the_lowest_ask():
    r = spot.clear([], [bid(10, 100, 2.0), bid(11, 100, 1.5)])
    assert r.volume_h100e == 0
    assert r.price_usd_per_h100e_hour == 1.5
    assert r.unsold_h100e == pytest.approx(200)


def test_spot_nothing_at_all_has_no_price():
    r = spot.clear([], [])
    assert r.price_usd_per_h100e_hour is None
    assert r.volume_h100e == 0
    # zero-size orders count as none
    assert spot.clear([bid(1, 0, 5.0)], [bid(2, 0, 1.0)]).price_usd_per_h100e_hour is None


def test_spot_no_trade_when_every_bid_is_below_every_ask():
    r = spot.clear([bid(1, 100, 1.0)], [bid(10, 100, 2.0)])
    assert r.volume_h100e == 0
    assert r.price_usd_per_h100e_hour == 2.0
    assert r.unmet_h100e == 100 and r.unsold_h100e == 100


def test_spot_ties_go_to_the_lower_agent_id_whatever_the_order():
    tied_asks = [bid(12, 100, 1.0), bid(11, 100, 1.0)]
    tied_bids = [bid(7, 100, 3.0), bid(3, 100, 3.0)]
    for asks in (tied_asks, tied_asks[::-1]):
        assert spot.clear([bid(3, 100, 3.0)], asks).sold == pytest.approx({11: 100})
    for bids in (tied_bids, tied_bids[::-1]):
        assert spot.clear(bids, [bid(11, 120, 1.0)]).bought == pytest.approx({3: 100, 7: 20})
    assert spot.clear(tied_bids, tied_asks) == spot.clear(tied_bids[::-1], tied_asks[::-1])


def test_spot_trades_at_equal_bid_and_ask():
    r = spot.clear([bid(1, 10, 2.0)], [bid(2, 10, 2.0)])
    assert r.volume_h100e == 10 and r.price_usd_per_h100e_hour == 2.0


# ====================================================================== demand


def test_demand_index_drift_without_shocks():
    x = 1.0
    for _ in range(12):
        x = demand.next_demand_index(x, 2.0, 0.5, 0.0)
    assert x == pytest.approx(2.0)
    assert demand.next_demand_index(1.0, 1.0, 0.0, 3.0) == 1.0  # no growth, no volatility


def test_demand_index_shock_scale():
    up = demand.next_demand_index(1.0, 1.0, 0.3, 1.0)
    assert up == pytest.approx(math.exp(0.3 / math.sqrt(12)))


def test_growth_excess_halves_every_halflife():
    assert demand.growth_at(0, 2.0, 4.0) == pytest.approx(2.0)
    assert demand.growth_at(48, 2.0, 4.0) == pytest.approx(1.5)
    assert demand.growth_at(96, 2.0, 4.0) == pytest.approx(1.25)
    assert demand.growth_at(48, 0.5, 4.0) == pytest.approx(0.75)  # shrinking markets recover
    assert demand.growth_at(600, 1.0, 4.0) == 1.0


def test_agentic_share_grows_and_caps_at_one():
    assert demand.agentic_share(0, 0.1, 0.1) == pytest.approx(0.1)
    assert demand.agentic_share(24, 0.1, 0.1) == pytest.approx(0.3)
    assert demand.agentic_share(1000, 0.1, 0.1) == 1.0


def test_compute_per_user():
    assert demand.compute_per_user(0.0, 4.0) == 1.0
    assert demand.compute_per_user(1.0, 4.0) == 4.0
    assert demand.compute_per_user(0.5, 3.0) == pytest.approx(2.0)


def test_logit_shares_follow_capability():
    s = demand.logit_shares({1: 6.0, 2: 5.0}, 1.5)
    assert sum(s.values()) == pytest.approx(1.0)
    assert s[1] / s[2] == pytest.approx(math.exp(1.5))


def test_logit_shares_ties_and_zero_intensity_are_equal():
    assert demand.logit_shares({1: 5.0, 2: 5.0, 3: 5.0}, 2.0) == pytest.approx(
        {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}
    )
    assert demand.logit_shares({1: 9.0, 2: 1.0}, 0.0) == pytest.approx({1: 0.5, 2: 0.5})
    assert demand.logit_shares({}, 1.0) == {}


def test_logit_shares_are_stable_for_large_gaps():
    s = demand.logit_shares({1: 1000.0, 2: 0.0}, 10.0)
    assert s[1] == pytest.approx(1.0) and s[2] >= 0.0
    assert all(math.isfinite(v) for v in s.values())


def test_update_shares_moves_with_inertia():
    got = demand.update_shares({1: 0.5, 2: 0.5}, {1: 0.9, 2: 0.1}, 0.9, {}, 0.5)
    assert got == pytest.approx({1: 0.54, 2: 0.46})
    assert demand.update_shares({1: 0.5, 2: 0.5}, {1: 0.9, 2: 0.1}, 1.0, {}, 0.5) == pytest.approx(
        {1: 0.5, 2: 0.5}
    )


def test_update_shares_rationing_costs_users():
    shares = {1: 0.5, 2: 0.5}
    targets = {1: 0.5, 2: 0.5}
    got = demand.update_shares(shares, targets, 1.0, {1: 0.4}, 0.5)
    # lab 1 loses 0.5 * 0.4 of its share; the pool is shared out by the targets
    lost = 0.5 * 0.5 * 0.4
    assert got[1] == pytest.approx(0.5 - lost + lost * 0.5)
    assert got[2] == pytest.approx(0.5 + lost * 0.5)
    assert sum(got.values()) == pytest.approx(1.0)


def test_update_shares_clamps_rationed_share():
    a = demand.update_shares({1: 0.5, 2: 0.5}, {1: 0.5, 2: 0.5}, 1.0, {1: 7.0}, 0.5)
    b = demand.update_shares({1: 0.5, 2: 0.5}, {1: 0.5, 2: 0.5}, 1.0, {1: 1.0}, 0.5)
    assert a == pytest.approx(b)
    c = demand.update_shares({1: 0.5, 2: 0.5}, {1: 0.5, 2: 0.5}, 1.0, {1: -3.0}, 0.5)
    assert c == pytest.approx({1: 0.5, 2: 0.5})


def test_update_shares_all_zero_gives_equal_shares():
    got = demand.update_shares({1: 0.0, 2: 0.0, 3: 0.0}, {1: 0.0, 2: 0.0, 3: 0.0}, 0.5, {}, 0.5)
    assert got == pytest.approx({1: 1 / 3, 2: 1 / 3, 3: 1 / 3})
    assert demand.update_shares({}, {}, 0.5, {}, 0.5) == {}


def test_update_shares_always_sum_to_one_and_stay_non_negative():
    import random

    rnd = random.Random(4)
    for _ in range(200):
        n = rnd.randint(1, 8)
        shares = {i: rnd.random() for i in range(n)}
        caps = {i: rnd.uniform(3, 8) for i in range(n)}
        targets = demand.logit_shares(caps, rnd.uniform(0, 5))
        rationed = {i: rnd.random() for i in range(n)}
        got = demand.update_shares(shares, targets, rnd.random(), rationed, rnd.random())
        assert sum(got.values()) == pytest.approx(1.0)
        assert min(got.values()) >= 0.0


# ====================================================================== finance


def test_sentiment_stays_with_probability_persistence():
    for state in finance.SENTIMENT_STATES:
        assert finance.next_sentiment(state, 0.9, 0.0) == state
        assert finance.next_sentiment(state, 0.9, 0.8999) == state


def test_sentiment_moves_one_step():
    assert finance.next_sentiment("normal", 0.9, 0.92) == "boom"
    assert finance.next_sentiment("normal", 0.9, 0.97) == "winter"
    assert finance.next_sentiment("boom", 0.9, 0.95) == "normal"
    assert finance.next_sentiment("winter", 0.9, 0.95) == "normal"
    # never jumps from boom straight to winter
    for u in [i / 100 for i in range(100)]:
        assert finance.next_sentiment("boom", 0.5, u) in ("boom", "normal")


def test_sentiment_with_zero_persistence_always_moves():
    assert finance.next_sentiment("boom", 0.0, 0.0) == "normal"
    assert finance.next_sentiment("normal", 0.0, 0.1) == "boom"
    assert finance.next_sentiment("normal", 0.0, 0.6) == "winter"


def _raise_probability(growth, rank, sentiment):
    from market.io.params import defaults

    odds = finance.RaiseOdds.from_params(defaults())
    return finance.raise_probability(growth, rank, sentiment, odds)


def test_raise_probability_follows_growth_rank_and_mood():
    p = _raise_probability
    assert 0.0 < p(1.0, 0.5, "winter") < p(1.0, 0.5, "normal") < p(1.0, 0.5, "boom") < 1.0
    assert p(3.0, 0.5, "normal") > p(1.0, 0.5, "normal") > p(0.5, 0.5, "normal")
    assert p(1.0, 1.0, "normal") > p(1.0, 0.0, "normal")
    # zero or negative growth does not break the log
    assert 0.0 < p(0.0, 0.0, "winter") < 0.05
    assert 0.0 < p(-1.0, 0.0, "winter") < 0.05


def test_raise_probability_rejects_unknown_sentiment():
    with pytest.raises(KeyError):
        _raise_probability(1.0, 0.5, "euphoria")


def test_neocloud_spread_interpolates_and_clamps():
    assert finance.neocloud_spread(1.0, 0.03, 0.09) == pytest.approx(0.03)
    assert finance.neocloud_spread(0.0, 0.03, 0.09) == pytest.approx(0.09)
    assert finance.neocloud_spread(0.5, 0.03, 0.09) == pytest.approx(0.06)
    assert finance.neocloud_spread(5.0, 0.03, 0.09) == pytest.approx(0.03)
    assert finance.neocloud_spread(-5.0, 0.03, 0.09) == pytest.approx(0.09)


def test_second_price_auction():
    assert finance.second_price([(10.0, 1), (7.0, 2), (3.0, 3)], reserve=5.0) == (1, 7.0)
    # one valid bid pays the reserve
    assert finance.second_price([(10.0, 1), (3.0, 3)], reserve=5.0) == (1, 5.0)
    # no bid meets the reserve; no bids at all
    assert finance.second_price([(4.0, 1)], reserve=5.0) is None
    assert finance.second_price([], reserve=0.0) is None
    # a bid equal to the reserve is valid
    assert finance.second_price([(5.0, 9)], reserve=5.0) == (9, 5.0)


def test_second_price_ties_go_to_the_lower_id():
    assert finance.second_price([(8.0, 4), (8.0, 2), (1.0, 1)], reserve=0.0) == (2, 8.0)


# ====================================================================== metrics


def test_hhi():
    assert metrics.hhi([1.0]) == pytest.approx(10_000)
    assert metrics.hhi([1, 1, 1, 1]) == pytest.approx(2_500)
    assert metrics.hhi([50, 30, 20]) == pytest.approx(50**2 + 30**2 + 20**2)
    assert metrics.hhi([]) == 0.0
    assert metrics.hhi([0, 0, 0]) == 0.0  # all-zero market
    assert metrics.hhi([-5, 10]) == pytest.approx(10_000)  # negative sizes count as zero
    assert metrics.hhi(x for x in [2, 2]) == pytest.approx(5_000)  # any iterable


def test_top_k_share():
    assert metrics.top_k_share([10, 1, 1, 1, 1, 6]) == pytest.approx(18 / 20)
    assert metrics.top_k_share([5, 5]) == 1.0  # fewer firms than k
    assert metrics.top_k_share([1, 1, 1, 1, 1], k=2) == pytest.approx(0.4)
    assert metrics.top_k_share([]) == 0.0
    assert metrics.top_k_share([0.0, 0.0]) == 0.0


def test_hhi_after_merger():
    before, after = metrics.hhi_after_merger({"a": 30, "b": 20, "c": 50}, "a", "b")
    assert before == pytest.approx(30**2 + 20**2 + 50**2)
    assert after == pytest.approx(50**2 + 50**2)


def test_merger_review_blocks_only_concentrating_deals():
    sizes = {"a": 30, "b": 20, "c": 50}
    blocked, after, rise = metrics.merger_blocked(sizes, "a", "b", threshold=1800, delta=100)
    assert blocked and after == pytest.approx(5000) and rise == pytest.approx(1200)
    # a tiny firm: the rise stays under the delta
    tiny = {"a": 60, "b": 0.1, "c": 39.9}
    assert not metrics.merger_blocked(tiny, "a", "b", 1800, 100)[0]
    # an unconcentrated market stays under the threshold
    many = dict.fromkeys(range(100), 1.0)
    assert not metrics.merger_blocked(many, 0, 1, 1800, 0)[0]


def test_degree_centralisation():
    assert metrics.degree_centralisation([4, 1, 1, 1, 1]) == pytest.approx(1.0)  # star
    assert metrics.degree_centralisation([2, 2, 2, 2]) == 0.0  # ring
    assert metrics.degree_centralisation([1, 1]) == 0.0
    assert metrics.degree_centralisation([]) == 0.0


def test_growth_factor():
    assert metrics.growth_factor(list(range(1, 14)), 12) == pytest.approx(13.0)
    assert math.isnan(metrics.growth_factor([1.0] * 12, 12))  # not enough history
    assert math.isnan(metrics.growth_factor([0.0] + [1.0] * 12, 12))  # from zero


# ====================================================================== network


def small_network():
    n = MarketNetwork()
    for i, kind in [
        (1, "lab"),
        (2, "lab"),
        (3, "neocloud"),
        (4, "hyperscaler"),
        (5, "chip_supplier"),
    ]:
        n.add_firm(i, f"F{i}", kind)
    return n


def test_network_acquaintance_and_neighbours():
    n = small_network()
    n.acquaint(1, 3)
    n.acquaint(1, 1)  # no self-ties
    n.acquaint(4, 1)
    assert n.neighbours(1) == [3, 4]
    assert n.neighbours(99) == []
    assert n.graph.number_of_edges() == 2
    assert n.graph.edges[1, 3]["acquainted"] is True
    assert n.graph.edges[1, 3]["contract_h100e"] == 0.0


def test_network_contracts_add_and_remove_weight():
    n = small_network()
    n.contract_started(1, 3, 100.0, 5e6)
    n.contract_started(2, 3, 300.0, 1e7)
    n.contract_started(1, 4, 100.0, 4e6)
    e = n.graph.edges[1, 3]
    assert e["acquainted"] and e["contract_h100e"] == 100.0 and e["contract_usd_per_month"] == 5e6
    m = n.metrics()
    assert m["network_contract_ties"] == 3
    assert m["largest_seller_share_of_contract_volume"] == pytest.approx(400 / 500)
    n.contract_ended(1, 3, 100.0, 5e6)
    assert n.graph.edges[1, 3]["contract_h100e"] == 0.0
    assert n.graph.has_edge(1, 3)  # the acquaintance stays
    assert n.metrics()["network_contract_ties"] == 2
    # ending more than was started never goes negative
    n.contract_ended(1, 4, 1e9, 1e12)
    assert n.graph.edges[1, 4]["contract_h100e"] == 0.0
    assert n.graph.edges[1, 4]["contract_usd_per_month"] == 0.0
    n.contract_ended(2, 5, 10.0, 1.0)  # no such tie: nothing happens
    assert not n.graph.has_edge(2, 5)


def test_network_supply_and_equity_edges():
    n = small_network()
    n.supplied(5, 4, 1000.0)
    n.supplied(5, 4, 500.0)
    n.invested(4, 1, 2e9)
    assert n.graph.edges[5, 4]["supply_h100e"] == 1500.0
    assert n.graph.edges[4, 1]["equity_usd"] == 2e9
    assert n.graph.edges[4, 1]["acquainted"] is False


def test_network_remove_and_merge():
    n = small_network()
    n.contract_started(1, 3, 100.0, 1.0)
    n.contract_started(2, 4, 50.0, 1.0)
    n.acquaint(2, 3)
    n.merge(keep=3, gone=4)
    assert 4 not in n.graph
    assert n.graph.edges[2, 3]["contract_h100e"] == 50.0
    assert n.graph.edges[2, 3]["acquainted"] is True
    assert n.metrics()["largest_seller_share_of_contract_volume"] == 1.0  # one seller left
    n.merge(keep=3, gone=99)  # unknown firm: nothing happens
    n.remove_firm(1)
    assert 1 not in n.graph and n.neighbours(3) == [2]
    n.remove_firm(1)  # twice is harmless


def test_network_metrics_edge_cases():
    empty = MarketNetwork().metrics()
    assert empty["network_firms"] == 0 and empty["network_density"] == 0.0
    assert empty["largest_seller_share_of_contract_volume"] == 0.0
    n = small_network()
    for other in (2, 3, 4, 5):
        n.acquaint(1, other)
    m = n.metrics()
    assert m["network_density"] == pytest.approx(4 / 10)
    assert m["network_degree_centralisation"] == pytest.approx(1.0)
    assert m["largest_seller_share_of_contract_volume"] == 0.0


def test_network_metrics_cover_declared_outputs():
    from market.io.outputs import OUTPUTS

    declared = {o.name for o in OUTPUTS}
    assert set(MarketNetwork().metrics()) <= declared


# ====================================================================== records


def test_contract_overlap_and_end():
    c = contract(start_month=10, term_months=24)
    assert c.end_month == 34
    assert c.overlaps(0, 11) and c.overlaps(33, 40)
    assert not c.overlaps(0, 10) and not c.overlaps(34, 50)
    c.state = ContractState.ENDED
    assert not c.overlaps(0, 100)


def test_contract_payment_ramp_and_take_or_pay():
    c = contract(
        start_month=10,
        ramp_months=2,
        ramp_discount=0.25,
        take_or_pay_share=0.8,
        price_usd_per_h100e_hour=2.0,
    )
    full = 1000 * 2.0 * HOURS_PER_MONTH
    assert c.monthly_payment_usd(12, 1000, 1.0) == pytest.approx(full)
    assert c.monthly_payment_usd(10, 1000, 1.0) == pytest.approx(full * 0.75)  # ramp
    assert c.monthly_payment_usd(11, 1000, 1.0) == pytest.approx(full * 0.75)
    assert c.monthly_payment_usd(20, 1000, 0.0) == pytest.approx(full * 0.8)  # idle: take-or-pay
    assert c.monthly_payment_usd(20, 1000, 0.5) == pytest.approx(full * 0.9)
    assert c.monthly_payment_usd(20, 0, 1.0) == 0.0  # nothing delivered, nothing owed


def test_contract_states_are_ordered():
    assert ContractState.SIGNED < ContractState.ACTIVE < ContractState.ENDED


def test_facility_capacity_only_when_online():
    f = Facility(
        1,
        "site",
        1,
        "East",
        100.0,
        FacilityStatus.UNDER_CONSTRUCTION,
        online_month=5,
        build_cost_usd=1e9,
        chips=[ChipBatch(0, 700.0, 0, 30_000.0)],
        pending_h100e=300.0,
    )
    assert f.capacity_h100e == 0.0
    assert f.installed_h100e == 700.0
    assert f.expected_capacity_h100e(4) == 0.0
    assert f.expected_capacity_h100e(5) == 1000.0
    f.status = FacilityStatus.ONLINE
    assert f.capacity_h100e == 700.0
    f.status = FacilityStatus.RETIRED
    assert f.capacity_h100e == 0.0 and f.expected_capacity_h100e(10) == 0.0


def test_facility_power_used_by_generation():
    f = Facility(
        1,
        "site",
        1,
        "East",
        10.0,
        FacilityStatus.ONLINE,
        0,
        0.0,
        chips=[ChipBatch(0, 700.0, 0, 1.0), ChipBatch(1, 1120.0, 0, 1.0)],
    )
    density = {0: 700.0, 1: 1120.0}
    assert f.power_used_mw(density.get) == pytest.approx(2.0)


def test_chip_order_open_amount():
    assert order(1, 100, delivered=30).open_h100e == 70
    assert order(1, 100, delivered=130).open_h100e == 0.0


@pytest.mark.parametrize(
    "term,bucket",
    [(1, "short"), (11, "short"), (12, "medium"), (35, "medium"), (36, "long"), (120, "long")],
)
def test_term_buckets(term, bucket):
    assert term_bucket(term) == bucket


# ---------------------------------------------------------------------- grid queue
def _region(growth, queue_mw=0.0, mw_per_year=1200.0):
    from market.core.model import Region

    return Region(
        {
            "name": "R",
            "power_price_usd_per_mwh": 50.0,
            "grid_mw_per_year": mw_per_year,
            "queue_mw": queue_mw,
        },
        1.0,
        growth,
    )


def test_a_constant_grid_connects_the_same_mw_every_month():
    r = _region(1.0, queue_mw=600.0)
    assert r.queue_clears_month == 6.0
    assert r.queue_mw(2) == pytest.approx(400.0)
    assert r.ready_month(0, 300.0) == 9.0
    assert r.book(0, 300.0) == 9
    assert r.queue_mw(0) == pytest.approx(900.0)


def test_a_growing_grid_connects_the_integral_of_its_rate():
    r = _region(2.0)  # 100 MW a month at first, doubling every year
    first_year = 100.0 * 12.0 / math.log(2.0)  # MW connected in the first 12 months
    assert r.finish(0.0, first_year) == pytest.approx(12.0)
    assert r.finish(12.0, 2 * first_year) == pytest.approx(24.0)
    assert r.rate_mw_per_month(24.0) == pytest.approx(400.0)
    # booking a year's worth at month 0 queues exactly that many MW ahead of the next
    assert r.book(0, first_year) == 12
    assert r.queue_mw(0) == pytest.approx(first_year)
    assert r.queue_mw(12) == pytest.approx(0.0, abs=1e-6)
    # the same MW wait less once the grid has grown
    assert _region(2.0).finish(24.0, 1000.0) - 24.0 < _region(2.0).finish(0.0, 1000.0)
    assert _region(1.0).finish(24.0, 1000.0) - 24.0 == _region(1.0).finish(0.0, 1000.0)


def test_a_shrinking_grid_never_connects_more_than_it_has_left():
    r = _region(0.5)  # 100 MW a month at first, halving every year
    total = 100.0 * 12.0 / math.log(2.0)  # all it will ever connect from month 0
    assert r.finish(0.0, 0.5 * total) == pytest.approx(12.0)
    assert r.finish(0.0, 1.01 * total) == math.inf
    assert r.finish(1e6, 1.0) == math.inf
    assert r.ready_month(0, 2 * total) == math.inf
    assert r.book(0, 2 * total) == 10**9


def test_raise_probability_is_nil_not_an_overflow_for_hopeless_odds():
    from market.mechanisms.finance import RaiseOdds, raise_probability

    odds = RaiseOdds(intercept=-800.0, per_log_growth=1.0, per_rank=1.0, winter=-1.0, boom=1.0)
    assert raise_probability(1.0, 0.0, "winter", odds) == 0.0


def test_a_labs_own_growth_fades_and_the_whole_wave_is_bounded():
    assert demand.own_growth_factor(5, 1.0, 3.0) == 1.0  # grows with the market
    assert demand.own_growth_factor(0, 225.0, 3.0) == 1.0  # the start is as set up
    first = demand.own_growth_factor(1, 225.0, 3.0)
    assert first == pytest.approx(225.0 ** (0.5 ** (1 / 3) / 12))
    # the logarithm of the yearly growth halves every half-life
    assert math.log(demand.own_growth_factor(4, 225.0, 3.0)) == pytest.approx(math.log(first) / 2)
    wave = math.prod(demand.own_growth_factor(t, 225.0, 3.0) for t in range(1, 600))
    # the whole wave is growth ** (half-life / (12 ln 2)), less month 0
    assert wave == pytest.approx(225.0 ** (3.0 / (12 * math.log(2))), rel=0.2)
    assert wave < 225.0 ** (3.0 / (12 * math.log(2)))


def test_a_labs_own_growth_adds_its_users_and_leaves_the_others_as_they_were():
    shares, market = demand.add_own_growth({1: 0.2, 2: 0.8}, {1: 2.0})
    assert market == pytest.approx(1.2)
    assert sum(shares.values()) == pytest.approx(1.0)
    # users: lab 1's doubled, lab 2's unchanged
    assert shares[1] * market == pytest.approx(0.4)
    assert shares[2] * market == pytest.approx(0.8)
    assert demand.add_own_growth({1: 0.5, 2: 0.5}, {}) == ({1: 0.5, 2: 0.5}, 1.0)
