"""The contract and money submodels (terms, cancellation, default claims, investment
discipline, valuation, spot cost, demand response, technology path) as plain
functions: their economics, bounds and conservation of money, without a model."""

import itertools
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from market.io.params import Param
from market.mechanisms import (
    cancellation,
    default_claims,
    demand_response,
    investment,
    spot_cost,
    technology,
    terms,
    valuation,
)

MODULES = (
    terms,
    cancellation,
    default_claims,
    investment,
    valuation,
    spot_cost,
    demand_response,
    technology,
)

money = st.floats(min_value=0.0, max_value=1e12, allow_nan=False)
BUYER = {
    "firm_horizon_months": 12.0,
    "uncertainty_per_year": 0.35,
    "take_or_pay_share": 0.8,
    "renewal_cost_months": 0.25,
}


# ------------------------------------------------------------------ declarations
def test_every_proposed_parameter_is_declared_once_with_its_default_allowed():
    names = [p.name for m in MODULES for p in m.PARAMS]
    assert len(names) == len(set(names))
    from market.io.params import MODEL_PARAMS

    existing = {p.name for p in MODEL_PARAMS}
    assert not existing & set(names), "a proposed parameter clashes with a declared one"
    for m in MODULES:
        for p in m.PARAMS:
            assert isinstance(p, Param)
            assert p.check(p.default) == p.default
            assert p.help and p.unit and p.group


# ------------------------------------------------------------------ terms
def test_the_menu_holds_monthly_yearly_and_multi_year_terms():
    assert terms.term_menu(60) == terms.TERM_MENU_MONTHS == (1, 12, 36, 60)
    assert terms.term_menu(36) == (1, 12, 36)


def test_idle_share_is_zero_within_the_firm_horizon_and_grows_beyond_it():
    assert terms.expected_idle_share(12, 12, 0.5) == 0.0
    shares = [terms.expected_idle_share(t, 12, 0.5) for t in (12, 24, 36, 60, 120)]
    assert shares == sorted(shares) and shares[-1] > shares[1] > 0
    assert terms.expected_idle_share(60, 12, 0.2) < terms.expected_idle_share(60, 12, 0.6)
    assert terms.expected_idle_share(60, 36, 0.4) < terms.expected_idle_share(60, 12, 0.4)


def test_a_term_longer_than_the_need_is_idle_for_the_months_beyond_it():
    assert terms.expected_idle_share(12, 60, 0.0, need_months=3) == pytest.approx(9 / 12)
    assert terms.expected_idle_share(1, 60, 0.0, need_months=3) == 0.0


@given(st.floats(0.0, 120.0), st.floats(0.0, 3.0), st.integers(1, 240), st.floats(0.0, 240.0))
def test_idle_share_is_a_share(horizon, unc, term, need):
    assert 0.0 <= terms.expected_idle_share(term, horizon, unc, need) <= 1.0


@settings(max_examples=300)
@given(
    st.sampled_from([0.0, 3.0, 10, 12.0, 35.5, 60]),
    st.floats(0.0, 5.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 3.0),
    st.sampled_from([math.inf, 0.0, 3, 7.5, 24]),
)
def test_the_costs_of_all_terms_at_once_are_each_terms_cost(firm, unc, top, renewal, need):
    prices = {1: 1.31, 12: 1.1, 24: 1.07, 36: 1.02, 60: 0.97}
    kw = {
        "firm_horizon_months": firm,
        "uncertainty_per_year": unc,
        "take_or_pay_share": top,
        "renewal_cost_months": renewal,
        "need_months": need,
    }
    each = {t: terms.buyer_cost_per_used_unit(t, p, **kw) for t, p in prices.items()}
    assert terms._costs_per_used_unit(prices, **kw) == each


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([0.0, 3.0, 10, 12.0, 35.5, 60, 200.0]),
    st.floats(0.0, 5.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 3.0),
    st.floats(0.0, 0.5),
    st.lists(st.floats(0.5, 2.0), min_size=4, max_size=4),
)
def test_the_buyers_terms_in_one_loop_are_the_same(firm, unc, top, renewal, tol, prices):
    rolled = dict(zip((1, 12, 36, 60), prices, strict=True))
    kw = {
        "firm_horizon_months": firm,
        "uncertainty_per_year": unc,
        "take_or_pay_share": top,
        "renewal_cost_months": renewal,
    }
    expected = terms.buyer_terms_of_rolled(rolled, tol, **kw)
    assert terms.buyer_terms_at(rolled, tol, firm, unc, top, renewal) == expected
    for shortest in (12, 36, 60):  # a training menu: no term shorter than the run
        menu = {t: p for t, p in rolled.items() if t >= shortest}
        expected = terms.buyer_terms_of_rolled(menu, tol, **kw)
        assert terms.buyer_terms_at(menu, tol, firm, unc, top, renewal) == expected


def test_short_terms_cost_more_unless_prices_are_expected_to_rise_fast():
    flat = terms.quoted_term_prices(
        2.0, (1, 12, 36, 60), seller_drift_per_year=0.0, relet_vacancy_months=0.5
    )
    assert flat[1] > flat[12] > flat[36] > flat[60] > 2.0
    falling = terms.quoted_term_prices(
        2.0, (1, 12, 36, 60), seller_drift_per_year=-0.3, relet_vacancy_months=0.5
    )
    assert falling[60] < 2.0 < falling[1]  # a long fixed price averages the fall
    rising = terms.quoted_term_prices(
        2.0, (1, 12, 36, 60), seller_drift_per_year=0.5, relet_vacancy_months=0.5
    )
    assert rising[60] > rising[12]


def test_expected_price_ratio_is_one_without_drift_and_monotone_in_drift():
    assert terms.expected_price_ratio(0.0, 36) == 1.0
    ratios = [terms.expected_price_ratio(d, 36) for d in (-0.5, -0.1, 0.0, 0.1, 0.5)]
    assert ratios == sorted(ratios)


def test_rolled_price_of_a_term_as_long_as_the_horizon_is_its_quote():
    assert (
        terms.rolled_price_usd_per_h100e_hour(3.0, 60, horizon_months=60, buyer_drift_per_year=-0.4)
        == 3.0
    )
    falling = terms.rolled_price_usd_per_h100e_hour(
        3.0, 12, horizon_months=60, buyer_drift_per_year=-0.4
    )
    assert falling < 3.0  # later renewals are expected cheaper


def test_buyer_with_a_firm_long_need_takes_a_long_term_and_an_unsure_one_a_short_one():
    quotes = terms.quoted_term_prices(
        2.0, terms.TERM_MENU_MONTHS, seller_drift_per_year=0.0, relet_vacancy_months=0.5
    )
    sure = dict(BUYER, firm_horizon_months=60, uncertainty_per_year=0.1)
    unsure = dict(BUYER, firm_horizon_months=1, uncertainty_per_year=0.8)
    assert terms.buyer_preferred_term(quotes, **sure) == 60
    assert terms.buyer_preferred_term(quotes, **unsure) == 12
    run = dict(sure, need_months=3)  # a three-month training burst
    assert terms.buyer_preferred_term(quotes, **run) == 1


def test_preferred_term_shortens_as_forecast_uncertainty_rises():
    quotes = terms.quoted_term_prices(
        2.0, terms.TERM_MENU_MONTHS, seller_drift_per_year=0.0, relet_vacancy_months=0.5
    )
    chosen = [
        terms.buyer_preferred_term(quotes, **dict(BUYER, uncertainty_per_year=u))
        for u in (0.0, 0.2, 0.5, 1.0, 2.0)
    ]
    assert chosen == sorted(chosen, reverse=True)
    assert chosen[0] > chosen[-1]


def test_a_dearer_short_term_pushes_the_buyer_to_a_longer_one():
    base = {12: 2.0, 36: 2.1}
    assert terms.buyer_preferred_term(base, **BUYER) == 12
    assert terms.buyer_preferred_term({12: 2.6, 36: 2.1}, **BUYER) == 36


def test_seller_minimum_term_for_existing_capacity_is_one_month():
    assert (
        terms.seller_minimum_term_months(
            new_build=False,
            capex_usd=1e9,
            monthly_revenue_usd=1.0,
            debt_share=0.8,
            lender_contract_cover=1.0,
            annual_rate=0.1,
            useful_life_months=60,
        )
        == 1.0
    )


def test_lender_cover_and_payback_set_a_new_build_s_minimum_term():
    kw = {
        "new_build": True,
        "capex_usd": 1.2e9,
        "monthly_revenue_usd": 40e6,
        "annual_rate": 0.12,
        "useful_life_months": 72,
    }
    levered = terms.seller_minimum_term_months(debt_share=0.8, lender_contract_cover=1.0, **kw)
    assert levered == pytest.approx(0.8 * 1.2e9 / 40e6)  # 24 months of revenue cover the debt
    stricter = terms.seller_minimum_term_months(debt_share=0.8, lender_contract_cover=1.5, **kw)
    assert stricter > levered
    # an all-equity build must pay back its capex with interest: longer than capex/revenue
    own = terms.seller_minimum_term_months(debt_share=0.0, lender_contract_cover=1.0, **kw)
    assert 1.2e9 / 40e6 < own <= 72
    poor = dict(kw, monthly_revenue_usd=5e6)
    assert (
        terms.seller_minimum_term_months(debt_share=0.0, lender_contract_cover=1.0, **poor)
        == math.inf
    )


def test_agreement_meets_the_seller_minimum_or_fails():
    assert terms.agree_term(12, 36, 1.0) == 12
    assert terms.agree_term(12, 60, 30.0) == 36
    assert terms.agree_term(12, 12, 30.0) is None
    assert terms.seller_preferred_term(-0.2, (1, 12, 60)) == 60
    assert terms.seller_preferred_term(0.2, (1, 12, 60)) == 1


def test_choose_term_gives_three_distinct_terms_for_three_kinds_of_need():
    quotes = terms.quoted_term_prices(
        2.0, terms.TERM_MENU_MONTHS, seller_drift_per_year=-0.2, relet_vacancy_months=0.5
    )
    common = {
        "seller_minimum": 1.0,
        "buyer_drift_per_year": -0.2,
        "horizon_months": 60,
        "tolerance": 0.1,
    }
    burst = terms.choose_term(quotes, **common, **dict(BUYER, need_months=3))
    year = terms.choose_term(quotes, **common, **BUYER)
    firm = terms.choose_term(
        quotes, **common, **dict(BUYER, firm_horizon_months=48, uncertainty_per_year=0.1)
    )
    got = {burst[0], year[0], firm[0]}
    assert len(got) == 3
    assert burst[1] > year[1] > firm[1]  # shorter terms at a higher price
    built = terms.choose_term(quotes, **dict(common, seller_minimum=40), **BUYER)
    assert built is not None and built[0] == 60


# ------------------------------------------------------------------ cancellation
def _cancel(**kw):
    base = {
        "month": 10,
        "end_month": 40,
        "notice_months": 3,
        "h100e": 1000.0,
        "needed_h100e": 1000.0,
        "price_usd_per_h100e_hour": 3.0,
        "replacement_usd_per_h100e_hour": 3.0,
        "take_or_pay_share": 0.8,
        "fee_share": 0.25,
        "min_saving_share": 0.05,
    }
    base.update(kw)
    return cancellation.decide_cancellation(**base)


def test_no_cancellation_when_need_and_prices_are_unchanged():
    d = _cancel()
    assert not d.cancel and d.saving_usd < 0


def test_cancel_when_need_falls_and_the_fee_is_the_declared_share():
    d = _cancel(needed_h100e=0.0)
    assert d.cancel
    after_notice = 40 - 10 - 3
    assert d.fee_usd == pytest.approx(0.25 * 1000 * 3.0 * 730 * 0.8 * after_notice)
    assert d.last_month == 13


def test_cancel_when_cheaper_capacity_exists_net_of_the_fee():
    assert not _cancel(replacement_usd_per_h100e_hour=2.9).cancel
    assert _cancel(replacement_usd_per_h100e_hour=1.5).cancel


def test_saving_rises_as_need_falls_and_as_the_alternative_gets_cheaper():
    by_need = [_cancel(needed_h100e=n).saving_usd for n in (1000, 700, 300, 0)]
    assert by_need == sorted(by_need)
    by_price = [_cancel(replacement_usd_per_h100e_hour=p).saving_usd for p in (4, 3, 2, 1)]
    assert by_price == sorted(by_price)


def test_no_cancellation_without_a_notice_right_or_inside_the_notice():
    no_right = _cancel(notice_months=-1, needed_h100e=0.0)
    assert not no_right.cancel and no_right.fee_usd == 0.0 and no_right.last_month == 40
    assert not _cancel(month=38, needed_h100e=0.0).cancel


def test_a_higher_fee_makes_cancelling_rarer():
    assert _cancel(needed_h100e=400.0, fee_share=0.1).cancel
    assert not _cancel(needed_h100e=400.0, fee_share=1.0).cancel


@settings(max_examples=300)
@given(
    st.integers(0, 60),
    st.integers(-1, 80),
    st.integers(-1, 12),
    st.floats(1.0, 1e6),
    st.floats(0.0, 1.0),
    st.floats(0.01, 20.0),
    st.floats(0.0, 30.0),
)
def test_the_cancel_test_by_replacement_price_answers_as_the_decision(
    month, end, notice, h100e, needed_share, price, replacement
):
    kw = {
        "month": month,
        "end_month": end,
        "notice_months": notice,
        "h100e": h100e,
        "needed_h100e": h100e * needed_share,
        "price_usd_per_h100e_hour": price,
        "take_or_pay_share": 0.8,
        "fee_share": 0.25,
        "min_saving_share": 0.05,
    }
    cancels = cancellation.cancels_at(**kw)
    for r in (replacement, price, price * (1 - 1e-12), 0.0):
        assert cancels(r) == _cancel(**kw, replacement_usd_per_h100e_hour=r).cancel


# ------------------------------------------------------------------ default claims
claims_st = st.lists(
    st.tuples(money, money).map(lambda t: default_claims.Claim("x", t[0], t[1])),
    max_size=8,
)


@settings(max_examples=200)
@given(money, claims_st)
# a claim paid in full: its secured and unsecured parts added up exceeded it by a float step
@example(
    estate=137438953475.0,
    claims=[default_claims.Claim("x", 137438953474.14584, 1.8384857177734375)],
)
def test_waterfall_conserves_money(estate, claims):
    w = default_claims.waterfall(estate, claims)
    total_claims = sum(c.amount_usd for c in claims)
    assert w.recovered_usd + w.written_off_usd == pytest.approx(total_claims, rel=1e-9, abs=1e-3)
    assert w.recovered_usd + w.equity_usd == pytest.approx(estate, rel=1e-9, abs=1e-3)
    assert w.equity_usd >= 0.0
    assert w.recovered_usd <= estate + 1e-3
    for p in w.payouts:
        assert 0.0 <= p.recovered_usd <= p.claim_usd + 1e-6


def test_equity_gets_only_what_is_left_after_every_claim():
    claims = [default_claims.Claim("lender", 50.0, 40.0), default_claims.Claim("seller", 30.0)]
    w = default_claims.waterfall(100.0, claims)
    assert w.written_off_usd == 0.0 and w.equity_usd == pytest.approx(20.0)
    poor = default_claims.waterfall(10.0, claims)
    assert poor.equity_usd == 0.0


def test_secured_lenders_are_paid_from_collateral_before_contract_claims():
    claims = [default_claims.Claim("lender", 100.0, 60.0), default_claims.Claim("seller", 100.0)]
    w = default_claims.waterfall(80.0, claims)
    lender, seller = w.payouts
    # 60 from collateral, the remaining 20 pro rata between 40 unsecured and 100
    assert lender.recovered_usd == pytest.approx(60.0 + 20.0 * 40 / 140)
    assert seller.recovered_usd == pytest.approx(20.0 * 100 / 140)
    assert lender.recovery_rate > seller.recovery_rate


def test_termination_claim_is_capped_and_mitigated_by_reletting():
    kw = {
        "h100e": 1000.0,
        "price_usd_per_h100e_hour": 3.0,
        "take_or_pay_share": 1.0,
        "cap_months": 12,
        "cap_share": 0.15,
    }
    full = default_claims.termination_claim_usd(months_left=30, relet_usd_per_h100e_hour=0.0, **kw)
    assert full == pytest.approx(1000 * 3.0 * 730 * 12)  # capped at a year
    long = default_claims.termination_claim_usd(months_left=120, relet_usd_per_h100e_hour=0.0, **kw)
    assert long == pytest.approx(1000 * 3.0 * 730 * 18)  # 15 % of 120 months
    short = default_claims.termination_claim_usd(months_left=5, relet_usd_per_h100e_hour=0.0, **kw)
    assert short == pytest.approx(1000 * 3.0 * 730 * 5)
    relet = default_claims.termination_claim_usd(months_left=30, relet_usd_per_h100e_hour=2.0, **kw)
    assert relet == pytest.approx(full / 3.0)
    assert (
        default_claims.termination_claim_usd(months_left=30, relet_usd_per_h100e_hour=5.0, **kw)
        == 0.0
    )


def test_covenants_breach_on_thin_cover_or_high_leverage():
    ok = default_claims.check_covenants(
        debt_usd=100.0,
        contracted_revenue_usd=150.0,
        asset_value_usd=200.0,
        min_contract_cover=1.0,
        max_leverage=0.8,
    )
    assert not ok.breached
    thin = default_claims.check_covenants(
        debt_usd=100.0,
        contracted_revenue_usd=50.0,
        asset_value_usd=200.0,
        min_contract_cover=1.0,
        max_leverage=0.8,
    )
    assert thin.breaches == ("contract cover",)
    levered = default_claims.check_covenants(
        debt_usd=100.0,
        contracted_revenue_usd=150.0,
        asset_value_usd=100.0,
        min_contract_cover=1.0,
        max_leverage=0.8,
    )
    assert levered.breaches == ("leverage",)
    assert not default_claims.check_covenants(
        debt_usd=0.0,
        contracted_revenue_usd=0.0,
        asset_value_usd=0.0,
        min_contract_cover=1.0,
        max_leverage=0.8,
    ).breached


def test_acceleration_defaults_only_when_cash_and_assets_fall_short():
    assert default_claims.accelerate(cash_usd=50.0, debt_usd=100.0, sellable_assets_usd=60.0) == (
        0.0,
        False,
    )
    unpaid, defaults = default_claims.accelerate(
        cash_usd=10.0, debt_usd=100.0, sellable_assets_usd=20.0
    )
    assert defaults and unpaid == pytest.approx(70.0)


# ------------------------------------------------------------------ investment
NPV = {
    "h100e": 100_000.0,
    "capex_usd": 4e9,
    "price_usd_per_h100e_hour": 2.5,
    "running_cost_usd_per_h100e_hour": 0.3,
    "annual_rate": 0.1,
    "life_months": 60,
    "build_months": 12,
}


def test_npv_rises_with_utilisation_and_price_and_falls_with_the_rate():
    by_u = [investment.build_npv_usd(**dict(NPV, utilisation=u)) for u in (0.3, 0.5, 0.8, 1.0)]
    assert by_u == sorted(by_u)
    by_r = [
        investment.build_npv_usd(**dict(NPV, utilisation=0.8, annual_rate=r))
        for r in (0.05, 0.1, 0.2)
    ]
    assert by_r == sorted(by_r, reverse=True)


def test_nobody_builds_into_idle_capacity():
    idle = investment.build_npv_usd(**dict(NPV, utilisation=0.4))
    busy = investment.build_npv_usd(**dict(NPV, utilisation=0.95))
    assert not investment.should_build(idle, NPV["capex_usd"], 0.15, 1e12)
    assert investment.should_build(busy, NPV["capex_usd"], 0.15, 1e12)
    assert not investment.should_build(busy, NPV["capex_usd"], 0.15, 1e9)  # no money, no build


def test_expected_utilisation_blends_own_and_market_and_is_bounded():
    assert investment.expected_utilisation(0.5, 80.0, 100.0, 0.5) == pytest.approx(0.65)
    assert investment.expected_utilisation(1.2, 300.0, 100.0, 0.5) == 1.0
    assert investment.expected_utilisation(0.0, 0.0, 100.0, 0.5) == 0.0


def test_annuity_factor_matches_the_sum_of_discounted_payments():
    r = 0.12
    direct = sum((1 + r / 12) ** -k for k in range(1, 61))
    assert investment.annuity_factor(r, 60) == pytest.approx(direct)
    assert investment.annuity_factor(0.0, 60) == 60


def test_construction_continues_pauses_or_cancels_on_what_is_left_to_spend():
    go = investment.construction_choice(
        remaining_capex_usd=1e9,
        completion_value_usd=2e9,
        penalty_share=0.05,
        funds_available_usd=5e9,
    )
    assert go.action == "continue" and go.penalty_usd == 0.0
    # sunk cost ignored: a site worth less than what is left to spend is paused
    pause = investment.construction_choice(
        remaining_capex_usd=1e9,
        completion_value_usd=0.8e9,
        penalty_share=0.05,
        funds_available_usd=5e9,
    )
    assert pause.action == "pause" and pause.penalty_usd == pytest.approx(0.05e9)
    broke = investment.construction_choice(
        remaining_capex_usd=1e9,
        completion_value_usd=2e9,
        penalty_share=0.05,
        funds_available_usd=1e8,
    )
    assert broke.action == "pause"
    dead = investment.construction_choice(
        remaining_capex_usd=1e9,
        completion_value_usd=-1.0,
        penalty_share=0.05,
        funds_available_usd=5e9,
    )
    assert dead.action == "cancel"


def test_chip_orders_are_taken_deferred_or_cancelled():
    kw = {"open_value_usd": 1e9, "defer_below_utilisation": 0.7, "cancel_penalty_share": 0.2}
    assert investment.chip_order_choice(
        expected_utilisation=0.9, value_if_delivered_usd=1.2e9, **kw
    ) == ("take", 0.0)
    assert investment.chip_order_choice(
        expected_utilisation=0.5, value_if_delivered_usd=1.2e9, **kw
    ) == ("defer", 0.0)
    action, penalty = investment.chip_order_choice(
        expected_utilisation=0.5, value_if_delivered_usd=0.5e9, **kw
    )
    assert action == "cancel" and penalty == pytest.approx(0.2e9)


# ------------------------------------------------------------------ valuation
def test_a_raise_never_exceeds_its_share_of_the_valuation():
    v = valuation.valuation_usd(10e9, 20.0, 1.0)
    assert v == 200e9
    assert valuation.raise_amount_usd(3_000e9, v, 0.25) == 50e9
    assert valuation.raise_amount_usd(10e9, v, 0.25) == 10e9
    assert valuation.valuation_usd(-5e9, 20.0, 1.6) == 0.0
    assert valuation.valuation_usd(10e9, 20.0, 0.35) < v < valuation.valuation_usd(10e9, 20, 1.6)


@given(money, st.floats(0.0, 100.0), st.floats(0.0, 2.0), money, st.floats(0.0, 1.0))
def test_raise_is_bounded_by_value(revenue, multiple, mood, wanted, share):
    v = valuation.valuation_usd(revenue, multiple, mood)
    amount = valuation.raise_amount_usd(wanted, v, share)
    assert 0.0 <= amount <= share * v + 1e-6 and amount <= wanted + 1e-6


def test_borrowing_capacity_comes_from_sites_and_contracts_less_debt():
    kw = {"loan_to_value": 0.6, "advance_rate": 0.8}
    assert valuation.borrowing_capacity_usd(
        owned_site_value_usd=10e9, contracted_revenue_usd=5e9, existing_debt_usd=2e9, **kw
    ) == pytest.approx(8e9)
    assert (
        valuation.borrowing_capacity_usd(
            owned_site_value_usd=1e9, contracted_revenue_usd=0.0, existing_debt_usd=5e9, **kw
        )
        == 0.0
    )


def test_a_credit_line_is_drawn_as_money_is_spent_and_never_beyond_its_commitment():
    line = valuation.CreditLine(committed_usd=800.0, debt_share=0.8)
    drawn, cash = line.draw(500.0)  # the building, this month
    assert (drawn, cash) == (400.0, 100.0)
    assert line.undrawn_usd == 400.0  # the rest waits for the chips
    drawn, cash = line.draw(1000.0)
    assert drawn == 400.0 and cash == 600.0 and line.undrawn_usd == 0.0
    assert line.draw(100.0) == (0.0, 100.0)


# ------------------------------------------------------------------ spot cost
SRMC = {
    "power_price_usd_per_mwh": 80.0,
    "pue": 1.2,
    "h100e_per_mw": 700.0,
    "other_opex_usd_per_mw_month": 60_000.0,
}


def test_srmc_is_energy_plus_variable_operations():
    energy_only = spot_cost.srmc_usd_per_h100e_hour(variable_opex_share=0.0, **SRMC)
    assert energy_only == pytest.approx(80 * 1.2 / 700)
    full = spot_cost.srmc_usd_per_h100e_hour(variable_opex_share=1.0, **SRMC)
    assert full == pytest.approx(energy_only + 60_000 / 730 / 700)
    denser = spot_cost.srmc_usd_per_h100e_hour(
        variable_opex_share=1.0, **dict(SRMC, h100e_per_mw=1400.0)
    )
    assert denser == pytest.approx(full / 2)


@given(st.floats(0.0, 20.0), st.floats(0.0, 5.0), st.floats(0.0, 5.0))
def test_spot_ask_is_never_below_srmc(floor, share, srmc):
    ask = spot_cost.spot_ask_usd_per_h100e_hour(floor, share, srmc)
    assert ask >= srmc and ask >= share * floor


def test_a_month_without_trade_carries_the_index_over_and_says_so():
    assert spot_cost.next_index(2.0, None, 0.5) == (2.0, spot_cost.INDEX_CARRIED)
    value, how = spot_cost.next_index(2.0, 3.0, 0.5)
    assert value == 2.5 and how == spot_cost.INDEX_TRADED


# ------------------------------------------------------------------ demand response
def _respond(cost, eff=1.0, elasticity=1.2, pass_through=0.8, **premium):
    return demand_response.respond(
        compute_cost_ratio=cost,
        efficiency=eff,
        elasticity=elasticity,
        pass_through=pass_through,
        reference_revenue_usd_per_h100e_hour=3.0,
        **premium,
    )


def test_reference_month_reproduces_the_reference():
    r = _respond(1.0)
    assert r.token_price_ratio == 1.0 and r.compute_demand_ratio == 1.0
    assert r.revenue_usd_per_h100e_hour == 3.0


def test_cheaper_compute_lowers_revenue_per_h100e_hour_and_raises_compute_demand():
    costs = (1.0, 0.5, 0.25)
    rs = [_respond(c) for c in costs]
    revenue = [r.revenue_usd_per_h100e_hour for r in rs]
    demand = [r.compute_demand_ratio for r in rs]
    assert revenue == sorted(revenue, reverse=True)  # not constant while costs fall
    assert demand == sorted(demand)


def test_spending_falls_with_price_when_inelastic_and_rises_when_elastic():
    inelastic = demand_response.users_spending_ratio(_respond(0.5, elasticity=0.5))
    elastic = demand_response.users_spending_ratio(_respond(0.5, elasticity=1.5))
    unit = demand_response.users_spending_ratio(_respond(0.5, elasticity=1.0))
    assert inelastic < 1.0 < elastic and unit == pytest.approx(1.0)


def test_serving_efficiency_cuts_compute_per_token_and_revenue_per_hour_rises_with_it():
    same_cost = _respond(1.0, eff=2.0, elasticity=0.5)
    assert same_cost.token_price_ratio < 1.0
    assert same_cost.compute_demand_ratio < 1.0  # inelastic users: fewer H100e needed
    assert same_cost.revenue_usd_per_h100e_hour > 3.0  # each H100e-hour serves more tokens


def test_no_pass_through_keeps_the_token_price():
    r = _respond(0.25, pass_through=0.0)
    assert r.token_price_ratio == 1.0 and r.compute_demand_ratio == 1.0


def test_elasticity_from_history_inverts_the_demand_curve():
    r = _respond(0.5, elasticity=1.3)
    e = demand_response.elasticity_from_history(r.token_price_ratio, r.token_demand_ratio)
    assert e == pytest.approx(1.3)


def test_the_clearing_price_rises_with_users_rationed_and_falls_with_idle_compute():
    same = demand_response.clearing_price_ratio(1.2, 10.0, 10.0, 1.2)
    short = demand_response.clearing_price_ratio(1.2, 20.0, 10.0, 1.0)
    slack = demand_response.clearing_price_ratio(1.2, 10.0, 15.0, 1.2)
    assert same == pytest.approx(1.2) and short == pytest.approx(2.4) and slack < 1.2
    # users who do not answer the price, or no demand seen: no clearing price
    assert demand_response.clearing_price_ratio(1.2, 20.0, 10.0, 0.0) == 0.0
    assert demand_response.clearing_price_ratio(1.2, 0.0, 10.0, 1.2) == 0.0
    assert demand_response.clearing_price_ratio(1.2, 5.0, 0.0, 1.2) == math.inf
    # users all but deaf to the price: no finite price clears, and nothing overflows
    assert demand_response.clearing_price_ratio(1.0, 1e8, 6e5, 6e-8) == math.inf
    assert demand_response.clearing_price_ratio(1.0, 6e5, 1e8, 6e-8) == 0.0


@given(
    st.floats(0.2, 5.0),  # cost ratio
    st.floats(1.0, 4.0),  # efficiency
    st.floats(0.3, 2.5),  # elasticity
    st.floats(1.0, 3.0),  # demand over the compute that could serve it
)
def test_pricing_at_the_clearing_price_matches_demand_to_the_compute_that_served_it(
    cost, eff, elasticity, short
):
    kw = {
        "compute_cost_ratio": cost,
        "efficiency": eff,
        "elasticity": elasticity,
        "pass_through": 0.8,
        "reference_revenue_usd_per_h100e_hour": 3.0,
    }
    seen = demand_response.respond(**kw)
    potential_h100e = 100.0
    demand_h100e = potential_h100e * seen.compute_demand_ratio
    servable_h100e = demand_h100e / short
    clearing = demand_response.clearing_price_ratio(
        seen.token_price_ratio, demand_h100e, servable_h100e, elasticity
    )
    priced = demand_response.respond(**kw, clearing_price=clearing, max_premium=50.0)
    assert potential_h100e * priced.compute_demand_ratio == pytest.approx(servable_h100e)
    assert priced.token_price_ratio >= seen.token_price_ratio
    assert priced.revenue_usd_per_h100e_hour >= seen.revenue_usd_per_h100e_hour
    # planners still see the demand at the cost-based price
    assert priced.compute_demand_ratio_at_cost == pytest.approx(seen.compute_demand_ratio)


def test_the_scarcity_premium_is_bounded_and_never_cuts_below_the_cost_based_price():
    cost_based = _respond(1.0).token_price_ratio
    low = _respond(1.0, clearing_price=0.5, max_premium=6.0)
    assert low.token_price_ratio == cost_based
    assert demand_response.scarcity_premium(1.0, 100.0, 6.0) == 6.0
    assert demand_response.scarcity_premium(2.0, 3.0, 6.0) == pytest.approx(1.5)
    assert demand_response.scarcity_premium(2.0, math.inf, 6.0) == 6.0


# ------------------------------------------------------------------ technology
def test_generation_gains_slow_and_the_cumulative_gain_is_bounded():
    gains = [technology.generation_gain(1.6, g, 3.0) for g in range(1, 26)]
    assert gains[0] == pytest.approx(1.6)
    assert all(a > b >= 1.0 for a, b in itertools.pairwise(gains))
    fifty_years = technology.cumulative_gain(1.6, 25, 3.0)
    assert fifty_years < technology.gain_limit(1.6, 3.0) < 1.6**25 / 1000
    path = [technology.cumulative_gain(1.6, g, 3.0) for g in range(26)]
    assert path == sorted(path) and path[0] == 1.0


def test_a_very_slow_halving_reproduces_the_steady_path_for_a_few_generations():
    assert technology.cumulative_gain(1.6, 4, 1e9) == pytest.approx(1.6**4, rel=1e-6)


def test_generation_at_matches_a_steady_cadence_and_slows_with_interval_growth():
    steady = [technology.generation_at(m, 24, 24) for m in (0, 23, 24, 47, 48, 72)]
    assert steady == [0, 0, 1, 1, 2, 3]
    for m in range(0, 600, 7):
        assert technology.generation_at(m, 24, 24) == (0 if m < 24 else 1 + (m - 24) // 24)
    assert technology.generation_at(600, 24, 24, 1.2) < technology.generation_at(600, 24, 24)


def test_the_contracts_and_money_page_lists_every_proposed_parameter():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "contracts-and-money.md").read_text(
        encoding="utf-8"
    )
    for m in MODULES:
        assert f"`{m.__name__.split('.')[-1]}.py`" in page
        for p in m.PARAMS:
            assert f"`{p.name}`" in page, p.name
