"""The whole model: built-in scenarios run their horizon; runs are reproducible; and
invariants hold in every month of many seeded runs (capacity, money, contract states)."""

import json
import math

import pandas as pd
import pytest

from agents.broker import Broker
from market import STAGES, ComputeMarket
from market.core import lifecycle
from market.core.ledger import MEMOS, LedgerError
from market.core.stages import STAGE_NAMES
from market.io.outputs import OUTPUTS
from market.io.records import ContractState
from market.io.scenario import builtin_names
from market.run import runner

OUTPUT_NAMES = [o.name for o in OUTPUTS]
CAPACITY_COLUMNS = [n for n in OUTPUT_NAMES if "h100e" in n and "price" not in n]
EPS = 1e-6


# =========================================================================== the API


def test_the_month_is_nine_named_stages_in_order():
    assert [name for name, _ in STAGES] == list(STAGE_NAMES)
    assert all(callable(run) and run.__name__ == f"stage_{name}" for name, run in STAGES)
    assert STAGE_NAMES == (
        "supply",
        "demand",
        "contracting",
        "secondary",
        "investment",
        "spot",
        "use",
        "settlement",
        "observation",
    )


def test_the_readme_python_example():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_for(24)
    assert m.steps == 24
    assert m.calendar_month == "2027-12"
    assert set(OUTPUT_NAMES) <= set(m.metrics)
    ts = m.datacollector.get_model_vars_dataframe()
    assert len(ts) == 24 and list(ts.columns) == OUTPUT_NAMES


def test_keyword_only_construction():
    with pytest.raises(TypeError):
        ComputeMarket("classroom")  # Mesa tooling passes parameters by name


def test_firm_lookup_and_network():
    m = ComputeMarket(scenario="classroom", rng=1)
    firms = m.labs() + m.providers() + m.suppliers() + m.of_type(Broker)
    assert len(firms) == len(m.agents)
    for f in firms:
        assert m.firm(f.unique_id) is f
        assert f.unique_id in m.network.graph
    m.run_for(12)
    assert m.network.graph.number_of_edges() > 0
    assert all(isinstance(e.text, str) and e.text.startswith(e.month) for e in m.events)


# =========================================================================== full horizon


@pytest.mark.slow
@pytest.mark.parametrize("name", builtin_names())
def test_builtin_scenario_runs_ten_years(name):
    r = runner.run(name, years=10)
    months = r.model.horizon_months
    assert months == 120
    assert len(r.timeseries) == months
    assert r.timeseries["month"].iloc[0] == r.model.p["start_month"]
    assert r.summary["months"] == months
    assert r.summary["final_month"] == r.timeseries["month"].iloc[-1]
    assert (r.timeseries["capacity_h100e_total"] > 0).all()
    assert r.summary["contracts_signed"] > 0
    assert len(r.events) > 0


# =========================================================================== outputs


def test_outputs_of_a_run(tmp_path):
    from market.view.figures import write_run_figures

    r = runner.run("classroom", seed=2, years=2, out=tmp_path / "run", figures=write_run_figures)
    out = tmp_path / "run"
    expected = {
        "timeseries.csv",
        "contracts.csv",
        "raises.csv",
        "events.csv",
        "labs.csv",
        "providers.csv",
        "suppliers.csv",
        "summary.json",
        "manifest.json",
    }
    assert expected <= set(r.files)
    assert any(f.startswith("figures/") and f.endswith(".png") for f in r.files)
    for f in r.files:
        assert (out / f).stat().st_size > 0

    ts = pd.read_csv(out / "timeseries.csv")
    assert list(ts.columns) == ["month", *OUTPUT_NAMES]
    assert len(ts) == 24
    assert list(ts["month"][:3]) == ["2026-01", "2026-02", "2026-03"]
    assert ts["month"].is_unique

    book = pd.read_csv(out / "contracts.csv")
    for col in (
        "buyer",
        "seller",
        "facility",
        "capacity_h100e",
        "start_month",
        "term_months",
        "price_usd_per_h100e_hour",
        "price_usd_per_mw_month",
        "ramp_months",
        "take_or_pay_share",
        "cancellation_notice_months",
        "exclusive",
        "state",
        "end_reason",
    ):
        assert col in book.columns
    assert len(book) == len(r.model.contracts)
    assert set(book["state"]) <= {"signed", "active", "ended"}
    assert (book["term_months"] >= 1).all()
    assert (book["capacity_h100e"] > 0).all()
    ended = book[book["state"] == "ended"]
    assert ended["end_reason"].notna().all()

    events = pd.read_csv(out / "events.csv")
    assert list(events.columns) == ["month", "kind", "text", "actors"]
    assert (events["text"].str[:7] == events["month"]).all()

    labs = pd.read_csv(out / "labs.csv")
    for col in ("month", "name", "share", "rationed_share", "compute_h100e", "cash_usd"):
        assert col in labs.columns
    assert set(labs["month"]) == set(ts["month"])
    assert set(labs["name"]) <= {lab["name"] for lab in r.model.spec.tables["lab"]}

    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "classroom" and summary["seed"] == 2
    assert summary["final_month"] == "2027-12"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2 and manifest["scenario"] == "classroom"
    assert manifest["parameters"]["years"] == 2.0
    assert manifest["parameters"] == r.model.p


# =========================================================================== determinism


def output_bytes(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("name,years", [("classroom", 3), ("baseline", 2)])
def test_same_seed_gives_byte_identical_files(tmp_path, name, years):
    from market.view.figures import write_run_figures as figures

    runner.run(name, seed=11, years=years, out=tmp_path / "a", figures=figures)
    # another run in between: nothing may leak from one model to the next
    runner.run(name, seed=12, years=years, out=tmp_path / "other", figures=figures)
    runner.run(name, seed=11, years=years, out=tmp_path / "b", figures=figures)
    a, b = output_bytes(tmp_path / "a"), output_bytes(tmp_path / "b")
    assert sorted(a) == sorted(b)
    assert any(k.startswith("figures/") for k in a)
    differ = [k for k in a if a[k] != b[k]]
    assert differ == []
    other = output_bytes(tmp_path / "other")
    assert other["timeseries.csv"] != a["timeseries.csv"]


def test_different_seeds_differ():
    series = {seed: runner.run("classroom", seed=seed, years=3).timeseries for seed in (1, 2, 3)}
    for a, b in ((1, 2), (1, 3), (2, 3)):
        assert not series[a].equals(series[b])


def test_scenario_seed_is_the_default():
    r = runner.run("classroom", years=1)
    assert r.summary["seed"] == ComputeMarket(scenario="classroom").seed
    assert r.timeseries.equals(runner.run("classroom", seed=r.summary["seed"], years=1).timeseries)


# =========================================================================== invariants


class Invariants:
    """Checks one model after construction and after every month."""

    def __init__(self, model):
        self.m = model
        self.states: dict[int, ContractState] = {}
        self.check()

    def where(self):
        return f"{self.m.spec.name} seed {self.m.seed} month {self.m.calendar_month}"

    def check(self):
        m, where = self.m, self.where()
        # every contract: sane numbers, states only move forward, none disappears
        assert {c.contract_id for c in m.contracts} >= set(self.states), where
        delivered_at: dict[int, float] = {}
        for c in m.contracts:
            assert c.term_months >= 1, (where, c)
            assert math.isfinite(c.capacity_h100e) and c.capacity_h100e > 0, (where, c)
            assert math.isfinite(c.delivered_h100e) and c.delivered_h100e >= 0, (where, c)
            assert c.delivered_h100e <= c.capacity_h100e * (1 + EPS), (where, c)
            assert math.isfinite(c.price_usd_per_h100e_hour) and c.price_usd_per_h100e_hour >= 0
            before = self.states.get(c.contract_id)
            assert before is None or c.state >= before, (
                f"{where}: contract {c.contract_id} went from {ContractState(before).name} to "
                f"{ContractState(c.state).name}"
            )
            self.states[c.contract_id] = c.state
            if c.state == ContractState.ENDED:
                assert c.delivered_h100e == 0, (where, c)
                assert c.end_reason, (where, c)
            if c.state == ContractState.ACTIVE and c.parent_id is None:  # resales: inside
                delivered_at[c.facility_id] = (
                    delivered_at.get(c.facility_id, 0.0) + c.delivered_h100e
                )
        # every site: no NaN or negative capacity; never delivers more than it has online
        for f in m.facilities.values():
            for value in (f.capacity_h100e, f.installed_h100e, f.pending_h100e, f.power_mw):
                assert math.isfinite(value) and value >= 0, (where, f.name, value)
            sold = delivered_at.get(f.facility_id, 0.0)
            assert sold <= f.capacity_h100e * (1 + EPS) + EPS, (
                f"{where}: {f.name} delivers {sold} H100e under contract but has "
                f"{f.capacity_h100e} online"
            )
        for firm in m.labs() + m.providers():
            cap = firm.online_capacity_h100e()
            assert math.isfinite(cap) and cap >= 0, (where, firm.name)
        # money: every payment made is received, or crosses the model's boundary
        assert all(math.isfinite(a.cash_usd) for a in m.agents), where
        try:
            m.ledger.check(m.agents)
        except LedgerError as e:
            raise AssertionError(f"{where}: {e}") from None
        # the month's outputs
        if m.steps:
            for name in CAPACITY_COLUMNS:
                value = m.metrics[name]
                assert math.isfinite(value) and value >= -EPS, (where, name, value)
            assert 0 <= m.metrics["rationed_share"] <= 1 + EPS, where
            # compute used within online capacity; a site's excess sales are reported
            used = m.metrics["served_inference_h100e"] + m.metrics["training_h100e"]
            assert used <= m.online_at_use_h100e * (1 + EPS) + EPS, (where, used)
            assert m.metrics["utilisation"] <= 1 + EPS, where
            excess = sum(
                max(0.0, sold - m.facilities[fid].capacity_h100e)
                for fid, sold in active_sold(m).items()
            )
            assert excess <= m.metrics["shortfall_h100e"] * (1 + EPS) + 1.0, (where, excess)
            for name in ("capacity_hhi", "lab_compute_hhi", "chip_supply_hhi"):
                assert 0 <= m.metrics[name] <= 10_000 + EPS, (where, name)
        # lab shares sum to 1, in a month a lab leaves too
        if m.labs():
            assert abs(sum(lab.share for lab in m.labs()) - 1) <= EPS, where


def active_sold(m) -> dict[int, float]:
    """Capacity sold under active contracts, by site (a resale sits inside its parent)."""
    sold: dict[int, float] = {}
    for c in m.book.open():
        if c.state == ContractState.ACTIVE and c.parent_id is None:
            sold[c.facility_id] = sold.get(c.facility_id, 0.0) + c.capacity_h100e
    return sold


def test_a_lab_that_sells_on_spot_does_not_use_what_it_sold():
    """baseline seed 6 used 67.75M H100e against 63.60M online in 2031-06 when a lab's
    spot sales stayed in its own pool. Which seeds have a lab selling on spot moves with
    the model, so search a fixed list: every month of every seed run keeps the bound, and
    at least one seed has a lab selling on spot (on the current model seed 1 has none in
    six years and seed 2 has one from 2028-08)."""
    sold_in = []

    def use_then_check(model, use):
        use(model)  # the pool is checked in the use stage (settlement may end contracts)
        for lab in model.labs():
            if lab.spot_sold_h100e > 0 and model.seed not in sold_in:
                sold_in.append(model.seed)
            at_hand = lab.at_hand_h100e() + lab.spot_bought_h100e - lab.spot_sold_h100e
            assert lab.pool_h100e <= max(0.0, at_hand) + EPS, (model.calendar_month, lab.name)

    for seed in (1, 2, 3, 5):
        m = ComputeMarket(scenario="baseline", rng=seed)
        m.stages = [
            (name, (lambda model, run=run: use_then_check(model, run)) if name == "use" else run)
            for name, run in m.stages
        ]
        for _ in range(72):
            m.step()
            assert m.metrics["utilisation"] <= 1 + EPS, (seed, m.calendar_month)
        if sold_in:
            break  # the case is exercised (in a full 72 months of that seed)
    assert sold_in, "no lab sold on spot in any of the seeds"  # the case is exercised


def test_an_exiting_labs_users_go_to_its_rivals():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_for(3)
    labs = m.labs()
    before = {lab.name: lab.share for lab in labs[1:]}
    lifecycle.exit_firm(m, labs[0], "is forced out")
    assert abs(sum(lab.share for lab in m.labs()) - 1) <= EPS
    assert all(lab.share >= before[lab.name] for lab in m.labs())


def test_a_site_short_of_chips_reports_its_shortfall():
    m = ComputeMarket(scenario="baseline", rng=6)
    for _ in range(24):
        m.step()
        if m.metrics["shortfall_h100e"] > 0:
            break
    assert m.metrics["shortfall_h100e"] > 0
    assert any(e.kind == "shortfall" for e in m.events)
    excess = sum(
        max(0.0, sold - m.facilities[fid].capacity_h100e) for fid, sold in active_sold(m).items()
    )
    assert excess == pytest.approx(m.metrics["shortfall_h100e"], rel=1e-6)


def test_money_created_outside_the_ledger_is_caught():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.run_for(6)
    m.ledger.check(m.agents)
    lab = m.labs()[0]
    m.ledger.pay(None, lab, 5e9, "equity raise")  # through the ledger: conserved
    m.ledger.check(m.agents)
    lab.cash_usd += 5e6  # a payment that bypasses the ledger
    with pytest.raises(LedgerError, match="bypassed the ledger"):
        m.ledger.check(m.agents)


def test_every_payment_names_a_declared_memo():
    m = ComputeMarket(scenario="classroom", rng=1)
    with pytest.raises(ValueError, match="memo"):
        m.ledger.pay(m.labs()[0], None, 1.0, "gift")
    m.run_for(24)
    assert set(m.flows) - {f"capex:{k}" for k in ("hyperscaler", "neocloud", "lab")} <= set(MEMOS)


def run_checked(scenario, seed, months, **overrides):
    m = ComputeMarket(scenario=scenario, rng=seed, **overrides)
    inv = Invariants(m)
    for _ in range(months):
        m.step()
        inv.check()
    return m, inv


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_invariants_classroom(seed):
    _m, inv = run_checked("classroom", seed, 60)
    assert len(inv.states) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_invariants_baseline(seed):
    run_checked("baseline", seed, 120)


# Levers pushed to their edges: no supply, no demand, no grid, a frantic race, no
# merger review, no take-or-pay. The invariants must hold there too.
EDGE_CASES = {
    "no chips": {"chip_supply_multiplier": 0.0},
    "no demand": {"inference_demand_h100e_initial": 0.0},
    "shrinking volatile demand": {"demand_growth_per_year": 0.2, "demand_volatility": 2.0},
    "no grid": {"grid_capacity_multiplier": 0.0},
    "arms race": {"contest_intensity": 10.0, "race_ambition": 10.0},
    "winter, no review": {
        "sentiment_initial": "winter",
        "merger_review": "off",
        "acquisition_rate": 1.0,
    },
    "no take-or-pay": {"take_or_pay_share": 0.0, "cancellation_notice_months": 0},
    "fifo, no lab leases": {"chip_allocation_policy": "fifo", "lease_to_rival_labs": False},
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_invariants_at_the_edges(case):
    run_checked("classroom", 5, 60, **EDGE_CASES[case])


def test_every_declared_output_is_reported_each_month():
    m = ComputeMarket(scenario="classroom", rng=3)
    for _ in range(6):
        m.step()
        assert set(OUTPUT_NAMES) <= set(m.metrics)
    ts = runner.collect(m).timeseries
    assert list(ts.columns) == ["month", *OUTPUT_NAMES]
    assert ts.notna().all()["capacity_h100e_total"]


@pytest.mark.parametrize("contracting", [False, True])
def test_a_sale_shows_in_the_next_quote_at_once(contracting):
    """Sellers keep their free capacity per start month while the contracting stage
    runs; a sale must still take the sold capacity out of the very next quote."""
    from market.io.records import RFQ

    m = ComputeMarket(scenario="classroom", rng=1)
    m.step()
    lab = m.labs()[0]
    if contracting:
        m.quote_epoch = 999  # as during the contracting stage
    # the first seller and start month with capacity free on an existing site
    found = (
        (seller, rfq, [q for q in seller.quotes(rfq) if q.facility_id is not None])
        for start in range(m.month + 1, m.month + 61)
        for seller in m.providers()
        for rfq in [
            RFQ(
                buyer_id=lab.unique_id,
                capacity_h100e=1e9,
                start_month=start,
                term_months=12,
                contiguous=False,
                purpose="inference",
                reservation_usd_per_h100e_hour=1e3,
                buyer_credit=0.9,
            )
        ]
    )
    seller, rfq, before = next((s, r, b) for s, r, b in found if b)
    q = before[0]
    m.sign(
        lab, q, q.capacity_h100e / 2, q.ask_usd_per_h100e_hour, "inference", "negotiated", log=False
    )
    after = {
        a.facility_id: a.capacity_h100e for a in seller.quotes(rfq) if a.facility_id is not None
    }
    assert after.get(q.facility_id, 0.0) == pytest.approx(q.capacity_h100e / 2)
    m.sign(
        lab, q, q.capacity_h100e / 2, q.ask_usd_per_h100e_hour, "inference", "negotiated", log=False
    )
    assert q.facility_id not in {a.facility_id for a in seller.quotes(rfq)}


def test_a_run_without_compute_is_shelved_after_as_long_as_it_would_take():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.step()
    lab = m.labs()[0]
    lab.run_h100e, lab.run_months_done, lab.run_stalled_months = 1e12, 0, 0  # never fits
    for month in range(m.p["training_run_months"]):
        assert lab.run_h100e == 1e12, month
        lab.step_use()
    assert lab.run_h100e == 0 and lab.run_months_done == 0
    assert m.events[-1].kind == "training"
    assert "shelves its training run" in m.events[-1].text


def test_an_inference_first_lab_does_not_start_a_run_its_users_would_take():
    m = ComputeMarket(scenario="classroom", rng=1)
    m.step()
    lab = m.labs()[0]
    lab.run_h100e = 0.0
    lab.run_plan_h100e = 0.5 * lab.largest_block_h100e()
    assert lab.run_plan_h100e > 0
    lab.strategy = "inference_first"
    lab.share = 1.0  # every user: the compute at hand is all spoken for
    lab.try_start_run()
    assert lab.run_h100e == 0
    lab.strategy = "training_first"
    lab.try_start_run()
    assert lab.run_h100e == lab.run_plan_h100e


def test_a_lab_stretches_a_run_on_a_small_block_to_reach_its_goal():
    m = ComputeMarket(scenario="classroom", rng=1, training_run_max_months=12)
    m.step()
    lab = next(lab for lab in m.labs() if lab.largest_block_h100e() > 0)
    block = lab.largest_block_h100e()
    lab.run_h100e, lab.strategy = 0.0, "training_first"
    lab.run_goal_h100e_months = 7.5 * block  # beyond 4 months, within 12
    lab.run_plan_h100e = lab.run_goal_h100e_months / m.p["training_run_months"]
    lab.try_start_run()
    assert lab.run_months_planned == 8
    assert lab.run_h100e * lab.run_months_planned == pytest.approx(7.5 * block)
    assert lab.run_h100e <= block
    assert m.events[-1].text.endswith(" for 8 months")
    lab.run_h100e = 0.0
    lab.run_goal_h100e_months = 13 * block  # out of reach even in 12 months: wait
    lab.run_plan_h100e = lab.run_goal_h100e_months / m.p["training_run_months"]
    lab.training_misses = 0
    lab.try_start_run()
    assert lab.run_h100e == 0.0


def test_a_lab_starts_at_once_on_a_block_that_beats_the_frontier():
    """A block far below the plan still gets a run, without waiting, when the run beats
    the frontier the lab races against by ``training_min_gain``; a smaller one waits,
    and so does every block below ``training_min_fill`` of the plan with the rule off."""
    m = ComputeMarket(scenario="classroom", rng=1, training_min_gain=1.25)
    m.step()
    lab = next(lab for lab in m.labs() if lab.largest_block_h100e() > 0)
    block, months, gain = (
        lab.largest_block_h100e(),
        m.p["training_run_months"],
        m.p["training_min_gain"],
    )
    for other in m.labs():
        other.last_run_h100e_months = 1.0
    m.refresh_leaders()
    lab.run_h100e, lab.strategy, lab.training_misses = 0.0, "training_first", 0
    lab.run_plan_h100e = 10 * block  # far beyond the block: training_min_fill is not met
    lab.capability_h100e_months = 1.01 * block * months / gain  # the run would not beat it
    lab.try_start_run()
    assert lab.run_h100e == 0.0
    lab.capability_h100e_months = 0.99 * block * months / gain
    m.p["training_min_gain"] = 0.0  # off
    lab.try_start_run()
    assert lab.run_h100e == 0.0
    m.p["training_min_gain"] = gain
    lab.try_start_run()
    assert lab.run_h100e == pytest.approx(block)
    assert lab.run_months_planned == months


def test_hyperscalers_outside_cash_flow_grows_at_the_declared_rate():
    grown = ComputeMarket(scenario="classroom", rng=1, hyperscaler_cash_flow_growth_per_year=1.5)
    flat = ComputeMarket(scenario="classroom", rng=1)
    for m in (grown, flat):
        m.month = 18
    pick = [
        next(f for f in m.firms() if getattr(f, "outside_cash_flow_usd_per_month", 0) > 0)
        for m in (grown, flat)
    ]
    assert pick[0].cash_flow_growth() == pytest.approx(1.5**1.5)
    assert pick[1].cash_flow_growth() == 1.0


def test_spot_asks_respect_short_run_cost_and_a_month_without_trade_carries_the_index():
    # asks at no share of the floor: only the short-run cost holds them up
    m = ComputeMarket(scenario="classroom", rng=1, spot_ask_share_of_floor=0.0)
    asked = carried = 0
    for _ in range(36):
        before = m.spot_index
        m.step()
        for firm in m.firms():
            ask = firm.spot_ask()
            if ask is not None:
                asked += 1
                srmc = firm.spot_srmc_usd_per_h100e_hour()
                assert srmc > 0 and ask.price_usd_per_h100e_hour >= srmc * (1 - EPS)
        if m.spot_volume_h100e <= 0:
            carried += 1
            assert math.isnan(m.metrics["spot_price_usd_per_h100e_hour"])
            assert m.metrics["spot_index_traded"] == 0.0 and m.spot_index == before
        else:
            assert m.metrics["spot_index_traded"] == 1.0
    assert asked > 0 and carried > 0  # both cases are exercised


def test_a_lab_riding_its_own_wave_takes_users_the_market_did_not_have():
    """colossus-2026's Anthropic grows on its own (S7): its share and the market's users
    rise beyond the same seed without the wave, and the other labs keep their users."""
    grown = ComputeMarket(scenario="colossus-2026", rng=2026, years=1)
    flat = ComputeMarket(scenario="colossus-2026", rng=2026, years=1)
    flat.firms_by_name["Anthropic"].own_demand_growth_per_year = 1.0
    for m in (grown, flat):
        m.run_for(2)
    a, b = grown.firms_by_name["Anthropic"], flat.firms_by_name["Anthropic"]
    assert a.share > 1.2 * b.share
    assert grown.potential_demand_h100e > 1.05 * flat.potential_demand_h100e
    for name in ("OpenAI", "Google DeepMind"):
        users = grown.firms_by_name[name].share * grown.potential_demand_h100e
        assert users == pytest.approx(
            flat.firms_by_name[name].share * flat.potential_demand_h100e, rel=0.02
        )
