"""Dealers and forwards: a dealer's month and a forward's settlement without a model;
in the model, the dealer's book, its exit, the forwards' cash through the ledger,
the scenario fields; over 10 seeds (slow), what the brokers experiment compares."""

import math

import numpy as np
import pytest

from market import ComputeMarket
from market.io.records import HOURS_PER_MONTH, ContractState, EndReason, Origin
from market.mechanisms import dealer, forwards
from market.mechanisms.broker_records import Forward
from tests.test_scenarios import assert_nothing_written, assert_user_error, cli


# --------------------------------------------------------------------------- no model
def test_a_dealer_that_resells_everything_earns_the_spread():
    month = dealer.month_pnl([(10_000, 2.0, 0.8)], [(6_000, 3.0), (4_000, 2.5)], HOURS_PER_MONTH)
    assert month.utilisation == pytest.approx(1.0)
    assert month.cost_usd == pytest.approx(10_000 * 2.0 * HOURS_PER_MONTH)
    assert month.revenue_usd == pytest.approx((6_000 * 3.0 + 4_000 * 2.5) * HOURS_PER_MONTH)
    assert month.margin_usd == pytest.approx(8_000 * HOURS_PER_MONTH)


def test_an_idle_dealer_still_owes_take_or_pay_and_loses_money():
    idle = dealer.month_pnl([(10_000, 2.0, 0.8)], [], HOURS_PER_MONTH)
    assert idle.utilisation == 0.0 and idle.revenue_usd == 0.0
    assert idle.margin_usd == pytest.approx(-0.8 * 10_000 * 2.0 * HOURS_PER_MONTH)
    half = dealer.month_pnl([(10_000, 2.0, 0.8)], [(5_000, 2.2)], HOURS_PER_MONTH)
    # owes the half it resold in full and 80% of the idle half
    assert half.cost_usd == pytest.approx(10_000 * 2.0 * HOURS_PER_MONTH * (0.5 + 0.5 * 0.8))
    assert half.margin_usd < 0 < half.revenue_usd  # reselling at 2.20 does not cover 2.00/0.9


def test_nothing_held_is_nothing_owed():
    assert dealer.month_pnl([], [], HOURS_PER_MONTH).margin_usd == 0.0


def test_a_hedged_lab_pays_the_strike_plus_its_basis():
    fwd = Forward(1, 10, 20, "vwap", 1e6, 2.50, start_month=3, months=12)
    s = forwards.settle(fwd, 5, 3.10)  # the index rose: the short pays the long
    assert s.buyer_usd == pytest.approx(0.60 * 1e6) and s.seller_usd == pytest.approx(-0.60e6)
    paid = 3.40  # the lab rents above the index
    net = paid - s.buyer_usd / fwd.notional_h100e_hours_per_month
    assert net == pytest.approx(forwards.hedged_price_usd_per_h100e_hour(paid, 3.10, 2.50))
    assert net == pytest.approx(2.50 + forwards.basis_usd_per_h100e_hour(paid, 3.10))
    assert forwards.settle(fwd, 2, 3.10).buyer_usd == 0.0  # before its term
    assert forwards.settle(fwd, 15, 3.10).buyer_usd == 0.0  # after it
    assert forwards.settle(fwd, 5, None).buyer_usd == 0.0  # no index yet
    (t,) = forwards.settlement_transfers([fwd], [forwards.settle(fwd, 5, 2.0)])
    assert (t.payer_id, t.payee_id, t.usd) == (10, 20, pytest.approx(0.5e6))  # the long pays


# --------------------------------------------------------------------------- in the model
def run(seed=1, years=5, scenario="baseline", **overrides):
    m = ComputeMarket(scenario=scenario, rng=seed, years=years, **overrides)
    rows = []
    for _ in range(m.horizon_months):
        m.step()
        m.ledger.check(m.agents)  # money conserved every month, fees and settlements too
        rows.append(dict(m.metrics, forward_flow=m.flows.get("forward settlement", 0.0)))
    return m, rows


DEALER_SEEDS = range(1, 9)  # fixed; the first with a trading dealer ends the search


def test_the_dealer_leases_long_resells_short_and_its_margin_is_its_cash():
    """The dealer leases only when the index's trend beats its cost, so it stays out of
    most markets and which seeds it trades in moves with the model; search a fixed list
    of seeds, check the book in every seed whose dealer is still there, and require at
    least one where it leased and resold (1, 2 and 6 of 1-8 on the current model)."""
    traded = []
    for seed in DEALER_SEEDS:
        m, rows = run(seed=seed)
        dealers = [b for b in m.agents if getattr(b, "kind", "") == "broker" and b.is_dealer]
        if not dealers:  # it left; its exit is tested below
            continue
        (d,) = dealers
        holdings = [c for c in m.contracts if c.buyer_id == d.unique_id and c.parent_id is None]
        assert all(c.term_months == m.p.dealer_long_term_months for c in holdings), seed
        resold = [
            c for c in m.contracts if c.origin == Origin.RESALE and c.seller_id == d.unique_id
        ]
        assert all(c.term_months < m.p.dealer_long_term_months for c in resold), seed
        assert {c.parent_id for c in resold} <= {c.contract_id for c in holdings}, seed
        # the margin is what its resale buyers paid it less what it paid for its holdings
        paid_in = sum(c.paid_usd for c in resold)
        paid_out = sum(c.paid_usd for c in holdings)
        assert d.profit_usd_total == pytest.approx(paid_in - paid_out, rel=1e-9, abs=1.0), seed
        assert rows[-1]["dealer_cumulative_profit_usd"] == pytest.approx(d.profit_usd_total)
        if holdings and resold:
            assert any(e.kind == "dealer" and "to resell" in e.text for e in m.events), seed
            traded.append(seed)
            break  # the case is exercised; the seeds before it checked the idle book
    assert traded, f"the dealer leased and resold in none of seeds {list(DEALER_SEEDS)}"


def test_a_dealer_out_of_cash_exits_and_its_holdings_and_resales_end():
    spec = {
        "scenario": {"name": "poor-dealer", "base": "baseline"},
        "broker": [
            {"name": "Exchange", "model": "exchange", "cash_usd": 5e7},
            {"name": "Dealer", "model": "dealer", "cash_usd": 2.2e8, "holding_h100e": 40000},
        ],
    }
    m, _ = run(seed=1, scenario=spec, broker_opex_usd_per_month=3e7)
    exits = [
        e
        for e in m.events
        if e.kind == "exit" and e.text.endswith("Dealer runs out of cash and exits")
    ]
    assert exits, "the dealer never ran out of cash"
    dealer_id = next(i for i, n in m.names_by_id.items() if n == "Dealer")
    assert m.firm(dealer_id) is None
    for c in m.contracts:
        if c.buyer_id == dealer_id and c.parent_id is None:
            assert c.state == ContractState.ENDED
        if c.parent_id is not None and c.seller_id == dealer_id:
            assert c.state == ContractState.ENDED
            assert c.end_reason in (EndReason.PARENT_ENDED, EndReason.EXPIRED)


def test_forwards_settle_through_the_ledger_and_each_firms_pnl_adds_up():
    m, rows = run(seed=1)
    book = m.forward_book
    assert book.forwards, "no forward was signed in five years"
    assert sum(book.pnl_usd.values()) == pytest.approx(0.0, abs=1e-3 * max(book.pnl_usd.values()))
    assert any(abs(r["forward_settlement_usd"]) > 0 for r in rows)
    for r in rows:  # every settlement went through the ledger, one payment each
        assert r["forward_flow"] >= abs(r["forward_settlement_usd"]) * (1 - 1e-9) - 1e-6
    priced = [r["forward_price_usd_per_h100e_hour"] for r in rows]
    assert any(math.isfinite(x) and x > 0 for x in priced)
    labs = m.datacollector.get_agenttype_vars_dataframe(type(m.labs()[0]))
    assert {"forward_exposure_h100e_hours", "forward_pnl_usd", "basis_usd_per_h100e_hour"} <= set(
        labs.columns
    )
    assert (labs["forward_exposure_h100e_hours"] != 0).any()


def test_without_forwards_nothing_settles():
    m, rows = run(seed=1, years=2, forwards=False)
    assert m.forward_book.forwards == []
    assert all(r["forward_flow"] == 0 for r in rows)


def test_a_bad_resale_right_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(
        '[scenario]\nname = "r"\nbase = "classroom"\n\n[[contract]]\nbuyer = "Orbit Labs"\n'
        'seller = "Harbor Cloud"\ncapacity_h100e = 1000\nstart_month = "2026-01"\n'
        'term_months = 12\nprice_usd_per_h100e_hour = 2.0\nresale_right = "maybe"\n'
    )
    out = tmp_path / "runs"
    out.mkdir()
    argv = ["run", "--scenario", str(path), "--years", "1", "--out", str(out / "demo"), "--quiet"]
    code, _, err = cli(argv, capsys)
    assert_user_error(code, err, str(path), "'resale_right'", "maybe")
    assert_nothing_written(out)


def test_a_contract_without_resale_right_is_never_resold():
    spec = {"scenario": {"name": "no-right", "base": "classroom"}}
    m = ComputeMarket(scenario=spec, rng=1, years=3)
    for c in m.contracts:
        c.resale_right = False  # every opening contract forbids resale
    m.run_months(m.horizon_months)
    opening = {c.contract_id for c in m.contracts if c.origin == Origin.OPENING_BOOK}
    assert not [c for c in m.contracts if c.parent_id in opening]


# --------------------------------------------------------------------------- 10 seeds
SEEDS = range(10)
ARMS = ("none", "exchange", "dealer", "both")


@pytest.fixture(scope="module")
def arms():
    """Every arm of the brokers experiment, baseline, 5 years, seeds 0 to 9."""
    out = {}
    for arm in ARMS:
        for seed in SEEDS:
            m, rows = run(seed=seed, years=5, broker_models=arm)
            out[arm, seed] = (m, rows)
    return out


@pytest.mark.slow
def test_each_arm_trades_only_through_its_own_broker_model(arms):
    for seed in SEEDS:
        none, _ = arms["none", seed]
        assert [c for c in none.contracts if c.parent_id is not None] == []
        assert none.forward_book.forwards == []
        _, ex_rows = arms["exchange", seed]
        assert all(r["dealer_holdings_h100e"] == 0 for r in ex_rows)
        dl, _ = arms["dealer", seed]
        resellers = {dl.names_by_id[c.seller_id] for c in dl.contracts if c.parent_id is not None}
        assert resellers <= {"Dealer"}  # the dealer may have left: named among all firms ever
        assert dl.forward_book.forwards == []  # forwards trade on an exchange


@pytest.mark.slow
def test_with_an_exchange_resales_happen_and_link_to_live_parents(arms):
    """Holders resell only capacity they leave idle, and labs that price their users to
    the capacity they hold leave little idle: in baseline resales happen in 4 of seeds
    0-9 (0, 1, 2 and 6; 157 sub-contracts in all) and in 20 of seeds 0-39. Every
    sub-contract in every seed links to a parent live when it was signed."""
    with_resale = subs_total = 0
    for seed in SEEDS:
        m, rows = arms["both", seed]
        subs = [c for c in m.contracts if c.parent_id is not None]
        by_id = {c.contract_id: c for c in m.contracts}
        for c in subs:
            parent = by_id[c.parent_id]
            assert parent.signed_month <= c.signed_month
            assert parent.ended_month < 0 or parent.ended_month >= c.signed_month
        with_resale += bool(subs) and sum(r["secondary_volume_h100e"] for r in rows) > 0
        subs_total += len(subs)
    assert with_resale >= 3, f"resales in only {with_resale} of 10 seeds"
    assert subs_total >= 100, subs_total


@pytest.mark.slow
def test_the_dealer_makes_or_loses_money_in_some_seeds(arms):
    """It leases only when the index's trend beats its cost: it held capacity in 4 of 10
    seeds of baseline (0, 1, 2, 6; it made money in seed 0 and lost it in the others).
    Where it held capacity its profit is not zero, read in the last month it held any
    (a dealer that ran out of cash and left no longer counts in the month's dealer
    columns)."""
    held = 0
    for s in SEEDS:
        holding = [r for r in arms["both", s][1] if r["dealer_holdings_h100e"] > 0]
        if holding:
            held += 1
            assert holding[-1]["dealer_cumulative_profit_usd"] != 0, s
    assert held >= 3, f"the dealer held capacity in {held} of 10 seeds"


@pytest.mark.slow
def test_the_indices_differ_on_average(arms):
    """Both indices read only where resales trade (4 of 10 seeds, see above); there the
    highest and lowest index are $0.75 an H100e-hour apart on average ($0.32 to $1.12
    by seed's mean)."""
    spreads = []
    for seed in SEEDS:
        _, rows = arms["both", seed]
        spread = [r["price_index_spread_usd_per_h100e_hour"] for r in rows]
        finite = [x for x in spread if math.isfinite(x)]
        if finite:
            spreads.append(float(np.mean(finite)))
    assert len(spreads) >= 3, spreads
    assert min(spreads) > 0.2 and np.mean(spreads) > 0.4, spreads


@pytest.mark.slow
def test_the_experiment_reports_intervals_for_each_arm(tmp_path):
    import experiments

    out = tmp_path / "brokers"
    assert experiments.run("brokers", ["--quick", "--no-progress", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    for label in ("exchange only", "dealer only", "exchange and dealer"):
        assert f"{label} " in report
    assert "Against no secondary market" in report and "seeds)" in report
