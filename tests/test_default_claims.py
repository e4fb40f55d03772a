"""Default has consequences: an exiting firm's estate paid out by priority, loan covenants
and their acceleration, the declared forced exit (CLI, scenario table, Python API) and
the contagion experiment."""

import json

import pandas as pd
import pytest

import experiments
from market.cli import main
from market.core import covenants, estate, lifecycle
from market.core.model import ComputeMarket
from market.io.records import ContractState, EndReason, Loan
from market.io.scenario import ScenarioError, load_scenario
from market.run import runner


def cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code, err, *needles):
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} missing from: {lines[0]}"


def buyer_with_contracts(m):
    """The lab that buys the most open contracts from other firms."""
    labs = [lab for lab in m.labs() if m.book.bought_by(lab.unique_id)]
    return max(labs, key=lambda lab: (len(m.book.bought_by(lab.unique_id)), -lab.unique_id))


# --------------------------------------------------------------------------- the estate


def test_an_exit_pays_its_sellers_claims_pro_rata_and_they_write_off_the_rest():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_months(3)
    lab = buyer_with_contracts(m)
    bought = [c for c in m.book.bought_by(lab.unique_id) if c.state != ContractState.ENDED]
    claims = {c.contract_id: estate.termination_claim_usd(m, c) for c in bought}
    total = sum(claims.values())
    assert total > 0
    # leave the lab a tenth of its claims in cash: sellers share it pro rata, owners get 0
    m.ledger.pay(lab, None, lab.cash_usd - 0.1 * total, "opex")
    sellers = {c.seller_id: m.firm(c.seller_id) for c in bought}
    before = {i: (s.cash_usd, s.claims_written_off_usd) for i, s in sellers.items()}
    lifecycle.exit_firm(m, lab, "exits (test)")
    m.ledger.check(m.agents)
    for c in bought:
        assert c.end_reason == EndReason.BUYER_EXIT
        assert c.claim_usd == pytest.approx(claims[c.contract_id])
        if c.claim_usd > 0:
            assert c.recovered_usd == pytest.approx(0.1 * c.claim_usd, rel=1e-6)
    for i, s in sellers.items():
        own = [c for c in bought if c.seller_id == i]
        cash0, off0 = before[i]
        got = sum(c.recovered_usd for c in own)
        assert s.cash_usd == pytest.approx(cash0 + got)
        assert s.claims_written_off_usd - off0 == pytest.approx(
            sum(c.claim_usd - c.recovered_usd for c in own)
        )
    assert m.counters["claims_written_off_usd"] == pytest.approx(0.9 * total, rel=1e-6)
    assert any(e.kind == "estate" and lab.name in e.text for e in m.events)


def test_lenders_are_paid_from_the_sites_before_sellers_and_owners_get_the_rest():
    # no merger review, so the site finds a buyer (a review may block every bidder)
    m = ComputeMarket(scenario="classroom", rng=1, merger_review="off")
    m.run_months(2)
    neo = next(f for f in m.providers() if f.kind == "neocloud" and f.facilities)
    neo.loans = [Loan(principal_usd=1e9, annual_rate=0.1, repay_from_month=0)]
    m.ledger.pay(neo, None, neo.cash_usd, "opex")  # no cash: the estate is the auctions
    lifecycle.exit_firm(m, neo, "exits (test)")
    m.ledger.check(m.agents)
    proceeds = m.flows["asset purchase"]
    assert proceeds > 0
    assert m.flows["estate to lenders"] == pytest.approx(min(1e9, proceeds))
    assert m.flows.get("estate to equity", 0.0) == pytest.approx(max(0.0, proceeds - 1e9))


def test_an_overdraft_ranks_behind_the_lenders_secured_on_the_sites():
    m = ComputeMarket(scenario="classroom", rng=1, merger_review="off")
    m.run_months(2)
    neo = next(f for f in m.providers() if f.kind == "neocloud" and f.facilities)
    neo.loans = [Loan(principal_usd=1e13, annual_rate=0.1, repay_from_month=0)]
    m.ledger.pay(neo, None, neo.cash_usd + 1e9, "opex")  # $1B overdrawn
    lifecycle.exit_firm(m, neo, "exits (test)")
    m.ledger.check(m.agents)
    proceeds = m.flows["asset purchase"]
    assert proceeds > 0
    # the lenders' claim exceeds the sites' value: they take all of it, the overdraft none
    assert m.flows["estate to lenders"] == pytest.approx(proceeds)
    assert m.written_off_usd <= -1e9 + 1.0


def test_contracts_csv_shows_the_claim_and_the_recovery_of_a_buyer_exit():
    r = runner.run("classroom", seed=1, years=0.5, interventions=["Lumen AI@2026-03"])
    book = r.contracts
    assert {"claim_usd", "recovered_usd"} <= set(book.columns)
    exits = book[book.end_reason == "buyer exit"]
    assert len(exits) and (exits.claim_usd > 0).any()
    assert (exits.recovered_usd <= exits.claim_usd + 1e-6).all()
    assert (book.loc[book.end_reason != "buyer exit", "claim_usd"] == 0).all()


# --------------------------------------------------------------------------- covenants


def _levered_neocloud(m, cash_usd):
    neo = next(f for f in m.providers() if f.kind == "neocloud" and f.facilities)
    assets = sum(lifecycle.site_value_usd(m, f) for f in neo.facilities)
    debt = 2.0 * assets + 1e9  # leverage 2 > 1
    neo.loans = [Loan(principal_usd=debt, annual_rate=0.1, repay_from_month=0)]
    m.ledger.pay(None, neo, max(0.0, cash_usd - neo.cash_usd), "loan")
    m.ledger.pay(neo, None, max(0.0, neo.cash_usd - cash_usd), "opex")
    return neo, debt


def test_a_leverage_breach_accelerates_the_loans_and_cash_repays_them():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_months(2)
    neo, debt = _levered_neocloud(m, cash_usd=0.0)
    m.ledger.pay(None, neo, debt * 1.5, "loan")
    test = covenants.covenant_test(m, neo)
    assert test.breached and "leverage" in test.breaches
    cash = neo.cash_usd
    covenants.review(m)
    assert m.counters["covenant_breaches"] == 1
    assert neo.active and neo.debt_usd == 0.0
    assert neo.cash_usd == pytest.approx(cash - debt)
    assert any(e.kind == "covenant" and "repays" in e.text for e in m.events)
    m.ledger.check(m.agents)


def test_a_breach_the_firm_cannot_pay_makes_it_default_and_exit():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_months(2)
    neo, _ = _levered_neocloud(m, cash_usd=0.0)
    defaults = m.counters["defaults"]
    covenants.review(m)
    assert not neo.active and m.firm(neo.unique_id) is None
    assert m.counters["defaults"] == defaults + 1
    texts = [e.text for e in m.events if e.kind == "covenant"]
    assert texts and "defaults" in texts[-1] and "leverage" in texts[-1]
    m.ledger.check(m.agents)


def test_thin_contract_cover_breaches_and_untested_loans_do_not():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_months(2)
    neo = next(f for f in m.providers() if f.kind == "neocloud")
    revenue = covenants.contracted_revenue_usd(m, neo)
    debt = 2.0 * revenue + 1e9
    neo.loans = [Loan(principal_usd=debt, annual_rate=0.1, repay_from_month=0)]
    m.p["covenant_max_leverage"] = 0.0  # only the cover test
    assert covenants.covenant_test(m, neo).breaches == ("contract cover",)
    # a loan still in its grace, or one a scenario starts with, is not tested
    neo.loans = [Loan(principal_usd=debt, annual_rate=0.1, repay_from_month=m.month + 5)]
    assert covenants.covenant_test(m, neo) is None
    neo.loans = [Loan(principal_usd=debt, annual_rate=0.1, repay_from_month=0, covenanted=False)]
    assert covenants.covenant_test(m, neo) is None


# --------------------------------------------------------------------------- the intervention


def test_a_declared_forced_exit_happens_in_its_month_and_can_be_switched_off():
    forced = ComputeMarket(scenario="classroom", rng=1, interventions=["Lumen AI@2026-03"])
    forced.run_months(3)
    assert "Lumen AI" not in [lab.name for lab in forced.labs()]
    assert forced.counters["forced_exits"] == 1
    assert any("2026-03 Lumen AI is forced out" in e.text for e in forced.events)
    control = ComputeMarket(
        scenario="classroom",
        rng=1,
        interventions=[{"firm": "Lumen AI", "month": "2026-03"}],
        apply_interventions=False,
    )
    control.run_months(3)
    assert "Lumen AI" in [lab.name for lab in control.labs()]


def test_a_scenario_table_declares_the_intervention(tmp_path):
    path = tmp_path / "forced.toml"
    path.write_text(
        '[scenario]\nbase = "classroom"\n\n[[intervention]]\nfirm = "Rapid GPU"\n'
        'month = "2026-02"\n'
    )
    spec = load_scenario(str(path))
    assert spec.tables["intervention"] == [
        {"firm": "Rapid GPU", "month": "2026-02", "action": "force_exit"}
    ]
    m = ComputeMarket(scenario=str(path), rng=1)
    m.run_months(2)
    assert m.firm(m.firms_by_name["Rapid GPU"].unique_id) is None


BAD_FORCE_EXIT = {
    "unknown firm": ("Nobody@2026-03", ["'firm'", "'Nobody'", "Lumen AI"]),
    "no month": ("Lumen AI", ["--force-exit", "'Lumen AI'", "NAME@YYYY-MM"]),
    "bad month": ("Lumen AI@2026-13", ["'month'", "'2026-13'", "YYYY-MM"]),
    "before the start": ("Lumen AI@2025-12", ["'month'", "'2025-12'", "from 2026-01 to 2026-12"]),
    "after the run": ("Lumen AI@2027-01", ["'month'", "'2027-01'", "from 2026-01 to 2026-12"]),
    "a chip maker": ("Verdant GPUs@2026-03", ["'firm'", "'Verdant GPUs'"]),
    "empty name": ("@2026-03", ["'firm'", "''"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FORCE_EXIT))
def test_bad_force_exit_gives_one_error_line_and_writes_nothing(case, tmp_path, capsys):
    text, needles = BAD_FORCE_EXIT[case]
    out = tmp_path / "runs"
    out.mkdir()
    argv = ["run", "--scenario", "classroom", "--years", "1", "--quiet", "--no-figures"]
    code, stdout, err = cli([*argv, "--out", str(out / "o"), "--force-exit", text], capsys)
    one_error_line(code, err, *needles)
    assert stdout == "" and list(out.iterdir()) == []


def test_bad_intervention_rows_are_refused_by_the_loader(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scenario]\nbase = "classroom"\n\n[[intervention]]\nfirm = "Lumen AI"\n'
        'month = "2026-03"\naction = "nationalise"\n'
    )
    with pytest.raises(ScenarioError, match=r"'action' = 'nationalise'.*'force_exit'"):
        load_scenario(str(path))
    with pytest.raises(ScenarioError, match="'firm' = 'Nobody'"):
        ComputeMarket(scenario="classroom", interventions=[{"firm": "Nobody", "month": "2026-03"}])


def test_the_cli_runs_a_forced_exit(tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["run", "--scenario", "classroom", "--years", "0.5", "--quiet", "--no-figures"]
    code, _, err = cli([*argv, "--out", str(out), "--force-exit", "Lumen AI@2026-03"], capsys)
    assert code == 0, err
    events = pd.read_csv(out / "events.csv")
    assert events.text.str.contains("Lumen AI is forced out of the market").any()
    assert events.text.str.contains("Lumen AI's estate").any()
    ts = pd.read_csv(out / "timeseries.csv")
    assert ts.cumulative_forced_exits.iloc[-1] == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_tables"]["intervention"][0]["firm"] == "Lumen AI"


# --------------------------------------------------------------------------- the experiment


@pytest.mark.slow
def test_the_contagion_quick_experiment_writes_its_report_and_figures(tmp_path):
    out = tmp_path / "contagion"
    code = experiments.run("contagion", ["--quick", "--no-progress", "--out", str(out)])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    runs = pd.read_csv(out / "run_metrics.csv")
    assert len(runs) == 4 and set(runs.apply_interventions) == {True, False}
    assert (runs.counterparties > 0).all()
    diffs = pd.read_csv(out / "differences.csv")
    assert len(diffs) == 2 and (diffs.counterparties_difference == 0).all()
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figures == ["counterparties.png", "differences.png", "market.png"]
    report = (out / "report.md").read_text()
    assert "The forced exit: " in report and "bootstrap intervals" in report
    # the forced exit is read against the control, never the other way round
    assert "with intervention forced exit instead of control" in report
    assert "control instead of forced exit" not in report
    forced = pd.read_csv(out / "timeseries.csv")
    forced = forced[forced.apply_interventions == True]  # noqa: E712
    assert (forced.groupby("run_id").cumulative_forced_exits.max() == 1).all()
