"""The secondary market in the model: labs resell the unused part of their contracts
through an exchange, the fills become sub-contracts linked to their parents, and the
book's and the ledger's invariants hold."""

import pytest

from market import ComputeMarket
from market.io.records import ContractState, Origin
from market.io.scenario import MATCHING_RULES
from market.mechanisms import orderbook
from tests.test_scenarios import assert_nothing_written, assert_user_error, cli

EXCHANGE = {"scenario": {"name": "x", "base": "baseline"}, "broker": [{"name": "Exchange Z"}]}


def run(seed, years=5, **overrides):
    m = ComputeMarket(scenario=EXCHANGE, rng=seed, years=years, **overrides)
    m.run_months(m.horizon_months)
    return m


def resales(m):
    return [c for c in m.contracts if c.origin == Origin.RESALE]


@pytest.mark.parametrize("seed", [0, 2])  # seeds whose labs resell in five years
def test_resales_link_to_parents_they_fit_inside_and_money_is_conserved(seed):
    m = run(seed)
    subs = resales(m)
    assert subs, "no lab resold anything in five years"
    by_id = {c.contract_id: c for c in m.contracts}
    for c in subs:
        parent = by_id[c.parent_id]
        assert parent.parent_id is None and parent.buyer_id == c.seller_id
        assert parent.start_month <= c.start_month and c.end_month <= parent.end_month
        assert c.signed_month < c.start_month  # blocks traded this month start next month
        assert parent.signed_month <= c.signed_month
        if parent.state == ContractState.ENDED and parent.ended_month < c.end_month:
            assert c.state == ContractState.ENDED and c.ended_month == parent.ended_month
    for parent_id in {c.parent_id for c in subs}:
        parent = by_id[parent_id]
        kids = [c for c in subs if c.parent_id == parent_id]
        for month in range(parent.start_month, parent.end_month):
            live = [k for k in kids if k.start_month <= month < k.end_month]
            assert sum(k.capacity_h100e for k in live) <= parent.capacity_h100e * (1 + 1e-9)
    kinds = {e.kind for e in m.events}
    assert {"resale", "exchange"} <= kinds
    m.ledger.check(m.agents)


def test_without_the_secondary_market_nothing_is_resold():
    m = run(1, secondary_market=False)
    assert resales(m) == []
    assert not [e for e in m.events if e.kind in ("resale", "exchange")]


def test_the_scenario_rules_are_the_order_books():
    assert MATCHING_RULES == orderbook.RULES


@pytest.mark.parametrize(
    ("row", "needles"),
    [
        ('name = "Z"\nmodel = "bank"', ["[[broker]]", "'model'", "'bank'", "exchange"]),
        ('name = "Z"\nfee_bps = -5', ["[[broker]]", "'fee_bps'", "-5"]),
        ('name = "Z"\nmatching_rule = "auction"', ["'matching_rule'", "uniform_per_shape"]),
        ('name = "Frontier Lab A"', ["[[broker]]", "'name'", "used twice"]),
        ('model = "exchange"', ["[[broker]]", "'name'", "missing"]),
        ('name = "D"\nmodel = "dealer"', ["[[broker]]", "'holding_h100e'", "more than 0"]),
        ('name = "E"\nholding_h100e = 5000', ["'holding_h100e'", "5000", "exchange"]),
        ('name = "D"\nmodel = "dealer"\nholding_h100e = 1e4\nmargin = -0.5', ["'margin'", "-0.5"]),
        ('name = "D"\nmodel = "dealer"\nholding_h100e = -3', ["'holding_h100e'", "-3"]),
    ],
)
def test_a_bad_broker_field_is_one_error_line_and_nothing_is_written(
    tmp_path, capsys, row, needles
):
    path = tmp_path / "b.toml"
    path.write_text(f'[scenario]\nname = "b"\nbase = "baseline"\n\n[[broker]]\n{row}\n')
    out = tmp_path / "runs"
    out.mkdir()
    argv = ["run", "--scenario", str(path), "--years", "1", "--out", str(out / "demo"), "--quiet"]
    code, _, err = cli(argv, capsys)
    assert_user_error(code, err, str(path), *needles)
    assert_nothing_written(out)


def test_the_trade_and_survey_indices_are_published_and_differ():
    m = ComputeMarket(scenario=EXCHANGE, rng=2, years=5)  # a seed whose labs resell
    vwap, survey = [], []
    for _ in range(m.horizon_months):
        m.step()
        vwap.append(m.metrics["price_index_vwap_usd_per_h100e_hour"])
        survey.append(m.metrics["price_index_list_survey_usd_per_h100e_hour"])
    both = [(v, s) for v, s in zip(vwap, survey, strict=True) if v == v and s == s]
    assert len(both) > 12, "the trade index never had a trade"
    assert any(abs(v - s) > 0.01 for v, s in both)
    assert m.metrics["secondary_volume_h100e"] >= 0
