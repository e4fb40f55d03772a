"""Money bounded by value, wired into the model: every raise within its bound, build
loans drawn as the money is spent, borrowing against owned sites."""

from __future__ import annotations

import pandas as pd
import pytest

from agents import Lab, Neocloud
from market.core import credit
from market.core.model import ComputeMarket
from market.io.records import EndReason, FacilityStatus
from market.run import runner


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("money") / "run"
    runner.run("baseline", seed=3, years=6, out=out)
    return out


def test_raises_csv_lists_every_round_and_none_is_above_its_bound(baseline_run):
    raises = pd.read_csv(baseline_run / "raises.csv")
    events = pd.read_csv(baseline_run / "events.csv")
    equity = raises[raises.kind == "equity"]
    assert len(equity) == events.text.str.contains(" raises [$]").sum() > 0
    assert (raises.amount_usd <= raises.bound_usd * (1 + 1e-9)).all()
    assert (raises.amount_usd > 0).all()
    assert set(raises.kind) <= {"equity", "build loan", "secured loan"}
    assert set(raises.sentiment) <= {"winter", "normal", "boom"}
    # an equity round's bound is the declared share of its pre-money valuation
    from market.io.params import PARAMS

    share = PARAMS["raise_max_share_of_valuation"].default
    assert equity.bound_usd.to_numpy() == pytest.approx(share * equity.valuation_usd.to_numpy())


def test_a_round_is_cut_to_its_bound_when_the_lab_wants_more():
    m = ComputeMarket(scenario="classroom", rng=1)
    lab = m.labs()[0]
    lab.cash_usd = -1e9  # short of cash: wants to raise
    lab.burn_usd_per_month = 1e12  # asks for far more than it is worth
    lab.revenue_usd = 1e8
    m.p["raise_odds_intercept"] = 20.0  # the round closes
    before = len(m.ledger.raises)
    from market.core import lifecycle

    lifecycle.fundraise(m, lab, 1.0)
    r = m.ledger.raises[before]
    value = 12 * 1e8 * m.p.valuation_revenue_multiple * lifecycle.mood(m)
    assert r.valuation_usd == pytest.approx(value)
    assert r.amount_usd == pytest.approx(m.p.raise_max_share_of_valuation * value)
    assert r.amount_usd == pytest.approx(r.bound_usd)


def test_recording_a_raise_above_its_bound_fails():
    m = ComputeMarket(scenario="classroom", rng=1)
    with pytest.raises(AssertionError, match="above its bound"):
        credit.record(m, m.labs()[0], "equity", 2e9, 4e9, 1e9)


def _neocloud_build(m: ComputeMarket):
    neo = m.of_type(Neocloud)[0]
    site = next(f for f in neo.facilities if f.status == FacilityStatus.ONLINE)
    return neo, site


def test_a_build_loan_is_drawn_as_the_site_is_paid_for_not_at_signing():
    m = ComputeMarket(scenario="classroom", rng=1)
    neo, site = _neocloud_build(m)
    neo.loans.clear()
    cash = neo.cash_usd
    loan = neo.open_build_loan(site, committed_usd=800.0, total_capex_usd=1000.0, annual_rate=0.1)
    assert loan.principal_usd == 0.0 and loan.undrawn_usd == 800.0
    assert neo.cash_usd == cash and neo.debt_usd == 0.0  # nothing paid out at signing
    assert neo.draw_loans(site.facility_id, 100.0) == pytest.approx(80.0)
    assert neo.cash_usd == pytest.approx(cash + 80.0)
    assert neo.debt_usd == pytest.approx(80.0) and loan.undrawn_usd == pytest.approx(720.0)
    assert neo.draw_loans(site.facility_id + 10**6, 100.0) == 0.0  # another site: no draw
    assert neo.draw_loans(site.facility_id, 10_000.0) == pytest.approx(720.0)  # used up
    assert neo.undrawn_usd() == 0.0 and neo.debt_usd == pytest.approx(800.0)


def test_interest_runs_on_the_drawn_part_only_and_an_idle_commitment_lapses():
    m = ComputeMarket(scenario="classroom", rng=1)
    neo, site = _neocloud_build(m)
    neo.loans.clear()
    neo.open_build_loan(site, committed_usd=1.2e9, total_capex_usd=1.5e9, annual_rate=0.12)
    neo.draw_loans(site.facility_id, 0.5e9)  # 0.4e9 drawn
    m.ledger.start_month()
    neo.service_debt()
    assert m.ledger.flows["debt service"] == pytest.approx(0.4e9 * 0.12 / 12)
    # the site is online with no chips on order: nothing left to draw for
    assert site.pending_h100e <= 0
    assert neo.undrawn_usd() == 0.0 and neo.debt_usd == pytest.approx(0.4e9)


def test_build_loans_are_drawn_during_a_run_and_money_is_conserved():
    m = ComputeMarket(scenario="baseline", rng=3, years=6)
    drawn = 0.0
    for _ in range(36):
        before = {f.unique_id: f.debt_usd for f in m.of_type(Neocloud)}
        m.step()
        m.ledger.check(m.agents)
        drawn += sum(
            max(0.0, f.debt_usd - before.get(f.unique_id, 0.0)) for f in m.of_type(Neocloud)
        )
    loans = [r for r in m.ledger.raises if r.kind == "build loan"]
    assert loans, "no neocloud financed a build in three years"
    assert drawn > 0


def test_a_lab_short_of_cash_borrows_against_its_sites_instead_of_exiting():
    m = ComputeMarket(scenario="baseline", rng=3)
    lab = next(x for x in m.labs() if x.facilities)
    sites, room = credit.borrowing_capacity_usd(m, lab)
    assert room > 0 and sites > 0
    lab.cash_usd = -0.5 * room
    lab.burn_usd_per_month = 0.0
    lent = credit.borrow_against_assets(m, lab)
    assert lent == pytest.approx(0.5 * room)
    assert lab.cash_usd == pytest.approx(0.0, abs=1.0)
    assert lab.debt_usd >= lent
    assert m.ledger.raises[-1].kind == "secured loan"
    assert credit.borrowing_capacity_usd(m, lab)[1] == pytest.approx(0.5 * room)
    # beyond its room, lenders do not lend: the lab will exit
    lab.cash_usd = -10 * room
    assert credit.borrow_against_assets(m, lab) == 0.0


def test_a_lab_without_sites_or_contracts_cannot_borrow():
    m = ComputeMarket(scenario="baseline", rng=3)
    lab = next((x for x in m.labs() if not x.facilities and not m.book.sold_by(x.unique_id)), None)
    if lab is None:
        pytest.fail("baseline has no lab without sites")
    assert isinstance(lab, Lab)
    assert credit.borrowing_capacity_usd(m, lab)[1] == 0.0
    lab.cash_usd = -1e6
    assert credit.borrow_against_assets(m, lab) == 0.0


def test_settlement_lets_a_lab_with_sites_borrow_rather_than_exit():
    from market.core import lifecycle

    m = ComputeMarket(scenario="baseline", rng=3)
    lab = next(x for x in m.labs() if x.facilities)
    _, room = credit.borrowing_capacity_usd(m, lab)
    lab.cash_usd = -0.3 * room
    lab.last_raise_month = m.month  # no round this month: only lenders can save it
    lifecycle.settle(m)
    assert lab in m.labs()
    assert lab.cash_usd >= 0
    assert any(e.kind == "loan" and lab.name in e.actors for e in m.events)
    # the same lab with no sites to borrow against runs out of cash and exits
    m = ComputeMarket(scenario="baseline", rng=3)
    lab = next(x for x in m.labs() if x.facilities)
    lab.facilities.clear()
    for c in m.book.sold_by(lab.unique_id):
        m.book.end(c, EndReason.EXPIRED, m.month)
    lab.cash_usd = -1e9
    lab.last_raise_month = m.month
    lifecycle.settle(m)
    assert lab not in m.labs()


def test_a_chip_delivery_draws_the_loans_share_of_its_price():
    m = ComputeMarket(scenario="classroom", rng=1)
    neo, site = _neocloud_build(m)
    neo.loans.clear()
    m.order_chips(neo, site, 1_000.0)
    supplier, order = next(
        (s, o)
        for s in m.tech.suppliers_for(neo)
        for o in s.orders
        if o.facility_id == site.facility_id
    )
    neo.open_build_loan(site, committed_usd=6e9, total_capex_usd=10e9, annual_rate=0.1)
    cash, paid = neo.cash_usd, 500.0 * order.price_usd_per_h100e
    m.deliver_chips(supplier, order, 500.0)
    assert neo.debt_usd == pytest.approx(0.6 * paid)
    assert neo.cash_usd == pytest.approx(cash - 0.4 * paid)  # the rest from cash


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_no_raise_is_above_its_bound_in_ten_years_of_baseline(seed):
    m = ComputeMarket(scenario="baseline", rng=seed, years=10)
    for _ in range(120):
        m.step()
    equity = [r for r in m.ledger.raises if r.kind == "equity"]
    assert equity
    for r in m.ledger.raises:
        assert 0 < r.amount_usd <= r.bound_usd * (1 + 1e-9), r
    for r in equity:
        assert r.bound_usd == pytest.approx(m.p.raise_max_share_of_valuation * r.valuation_usd)
