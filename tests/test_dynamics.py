"""Behaviour tests: directions a modeller expects, across seeds, with tolerances.

Each test runs the same seeds under two settings of one lever and compares means,
so a test fails when the mechanism behind the lever stops working.
"""

from __future__ import annotations

import numpy as np
import pytest

from market.analysis.experiment import growth_per_year
from market.run.runner import run

SEEDS = range(10)


def _runs(scenario: str, years: float, **overrides):
    return [run(scenario, seed=s, years=years, overrides=overrides) for s in SEEDS]


def _frontier_growth_per_year(result) -> float:
    """Yearly growth of the largest completed run from the end of year one to the end."""
    return growth_per_year("largest_run_h100e_months", from_month=11)(result.timeseries)


def _race(scenario: str, **overrides) -> list[float]:
    return [_frontier_growth_per_year(r) for r in _runs(scenario, 5, **overrides)]


@pytest.mark.slow
def test_where_supply_keeps_up_the_race_grows_the_largest_run_several_fold_a_year():
    """In fast-growth (the baseline's firms, with grid, capex, chips and demand growing
    at 2024-26 rates) the largest site can grow as fast as labs ask for blocks: with the
    race on the frontier run grows three-fold a year or more on average over ten seeds;
    damped or capped, hardly at all."""
    on = _race("fast-growth")
    assert np.mean(on) >= 3.0, on
    assert min(on) > 2.0, on
    damped = _race("fast-growth", race_ambition=1.0)
    assert np.mean(damped) < 1.1, damped
    capped = _race("fast-growth", training_run_cap_h100e=400_000.0)
    assert np.mean(capped) < 1.2, capped


@pytest.mark.slow
def test_arms_race_grows_the_largest_run_and_damping_stops_it():
    """In the baseline, supply holds the race back (see docs/calibration.md): the
    frontier run still grows clearly faster with the race on than damped or capped."""
    on = _race("baseline")
    assert np.mean(on) >= 1.5, on
    assert min(on) > 1.2, on
    assert np.mean(_race("baseline", race_ambition=1.0)) < 1.1
    # labs that stretch runs to reach their goal do not ratchet the frontier up either
    assert np.mean(_race("baseline", race_ambition=1.0, training_run_max_months=12)) < 1.1
    capped = _race("baseline", training_run_cap_h100e=400_000.0)
    assert np.mean(capped) < np.mean(on) - 0.3, (capped, on)


def _raised_usd_b(result) -> float:
    """Billions of USD raised in all rounds, as the raise log tells them."""
    texts = result.events.loc[result.events["kind"] == "raise", "text"]
    amounts = texts.str.extract(r" raises \$([\d.,]+)B")[0].dropna()
    return float(amounts.str.replace(",", "").astype(float).sum())


@pytest.mark.slow
def test_a_sentiment_winter_cuts_funding_but_no_longer_raises_exits():
    """Classroom, 5 years, sentiment held (persistence 1), 10 seeds. A winter cuts what
    labs raise in every seed ($13B against $500B in all rounds on average) and more
    rounds fail (7 of 10 seeds, fewer in 1), but exits no longer rise by much: 0.5
    against 0.3 a run (more in 3 seeds, fewer in 2), and no lab runs out of cash in
    either setting. Labs that price their users to the capacity they hold live on
    users' revenue, and the exits that remain are neoclouds defaulting on their loans.
    Before, a winter raised exits by more than half an exit a run."""
    settings = {"sentiment_persistence": 1.0}
    winter = _runs("classroom", 5, sentiment_initial="winter", **settings)
    boom = _runs("classroom", 5, sentiment_initial="boom", **settings)
    raised = [(_raised_usd_b(w), _raised_usd_b(b)) for w, b in zip(winter, boom, strict=True)]
    assert sum(w < b for w, b in raised) >= 9, raised
    assert np.sum([w for w, _ in raised]) < 0.2 * np.sum([b for _, b in raised]), raised
    exits = [
        (w.timeseries["cumulative_exits"].iloc[-1], b.timeseries["cumulative_exits"].iloc[-1])
        for w, b in zip(winter, boom, strict=True)
    ]
    assert abs(np.mean([w - b for w, b in exits])) < 0.5, exits
    # the raise log tells the story in plain words
    texts = " ".join(winter[0].events["text"])
    assert "fails to raise money (winter market)" in texts


@pytest.mark.slow
def test_merger_review_blocks_deals_and_lowers_lab_concentration_on_average():
    """Frequent acquisitions and a weak contest for users, so that deals rather than the
    race decide who ends up large; baseline, 10 years, 20 seeds, since a lab's final
    share of compute varies a lot from seed to seed. Review blocks deals (5.5 a run, in
    19 of 20 seeds); acquisitions still go through almost as often (19.6 against 22.9 a
    run: a blocked buyer buys another firm). The mean final lab-compute HHI is lower
    with review (4,569 against 5,262), but seed by seed the effect is mixed: lower in 11
    seeds, higher in 8. Capacity HHI does not move (2,387 against 2,313; lower in 10
    seeds, higher in 9), and a few more labs are active at the end (3.5 against 3.1).
    Measured with builders valuing a site from when the grid connects it and labs
    pricing their users to the capacity they hold; the seed-by-seed count has gone
    either way as the model changed, the lower mean has not."""
    kwargs = {"acquisition_rate": 0.3, "contest_intensity": 0.5}
    seeds = range(20)
    off = [
        run("baseline", seed=s, years=10, overrides=dict(merger_review="off", **kwargs))
        for s in seeds
    ]
    on = [
        run("baseline", seed=s, years=10, overrides=dict(merger_review="hhi", **kwargs))
        for s in seeds
    ]

    def last(runs, column):
        return np.array([r.timeseries[column].iloc[-1] for r in runs])

    assert last(off, "cumulative_acquisitions").mean() >= 10, last(off, "cumulative_acquisitions")
    assert last(off, "cumulative_blocked_mergers").sum() == 0
    blocked = last(on, "cumulative_blocked_mergers")
    assert blocked.mean() >= 2 and (blocked > 0).sum() >= 14, blocked
    acquisitions = last(on, "cumulative_acquisitions") - last(off, "cumulative_acquisitions")
    assert abs(acquisitions.mean()) < 5, acquisitions
    lab_on, lab_off = last(on, "lab_compute_hhi"), last(off, "lab_compute_hhi")
    # lower on average, by less than a third; seed by seed mixed, not one-sided
    assert 0.67 < lab_on.mean() / lab_off.mean() < 0.97, (lab_on, lab_off)
    assert (lab_on < lab_off).sum() >= 8 and (lab_on > lab_off).sum() >= 4, (lab_on, lab_off)
    cap_on, cap_off = last(on, "capacity_hhi"), last(off, "capacity_hhi")
    assert abs(cap_on.mean() / cap_off.mean() - 1) < 0.1, (cap_on, cap_off)
    labs = last(on, "active_labs") - last(off, "active_labs")
    assert abs(labs.mean()) < 1, labs


@pytest.mark.slow
def test_cutting_chip_supply_raises_prices_and_demand_falls_with_capacity():
    """Chip output cut to 30% in classroom, 3 years, 10 seeds. Capacity grows less in
    every seed (21% lower on average); users' token price follows the full cost of an
    H100e-hour and rises toward the price that would have matched users to the capacity
    there is, so it is higher in every seed (1.78 against 1.60 of the first month's) and
    users ask for less in every seed (demand 21% lower), and the share of demand rationed
    does not rise (9.0% full, 9.3% cut; higher in 5 of 10 seeds). The price of chips
    itself no longer rises with the cut (higher in 5 of 10 seeds, $42,100 against
    $42,800 per H100e on average): with full supply labs priced to their capacity earn
    more, and the market orders more chips. Before demand answered the price, the cut
    raised rationing by 3 points or more."""
    cols = (
        "token_price_index",
        "capacity_h100e_total",
        "demand_h100e",
        "rationed_share",
    )

    def means(**overrides):
        runs = _runs("classroom", 3, **overrides)
        return {c: np.array([r.timeseries[c].mean() for r in runs]) for c in cols}

    full, cut = means(), means(chip_supply_multiplier=0.3)
    assert (cut["token_price_index"] > full["token_price_index"]).sum() >= 9
    assert (cut["capacity_h100e_total"] < full["capacity_h100e_total"]).sum() >= 9
    assert (cut["demand_h100e"] < full["demand_h100e"]).sum() >= 9, (cut, full)
    rationed = cut["rationed_share"].mean() - full["rationed_share"].mean()
    assert rationed < 0.01, (cut["rationed_share"], full["rationed_share"])


def test_event_log_and_outputs_tell_the_money_story():
    r = run("baseline", seed=3, years=4)
    kinds = set(r.events["kind"])
    assert {"contract", "build", "online", "training", "raise"} <= kinds, kinds
    ts = r.timeseries
    for column in (
        "largest_run_h100e_months",
        "largest_run_growth_12m",
        "capex_usd_12m_hyperscaler",
        "capex_usd_12m_neocloud",
        "capex_usd_12m_lab",
        "active_labs",
        "active_providers",
        "cumulative_exits",
        "cumulative_acquisitions",
        "lab_compute_hhi",
        "rationed_share",
        "sentiment_index",
    ):
        assert column in ts
    assert ts["capex_usd_12m_hyperscaler"].iloc[-1] > 0
    assert (ts["largest_run_h100e_months"].diff().dropna() >= 0).all()
    assert set(r.labs.columns) >= {"month", "name", "rationed_share", "share", "cash_usd"}


def _spells(shares, start, end, quiet):
    """(first month index, worst share) of each rationing spell in a lab's monthly series."""
    spells, current, below = [], None, 0
    for i, x in enumerate(shares):
        if current is None:
            if x >= start:
                current, below = [i, x], 0
            continue
        current[1] = max(current[1], x)
        below = below + 1 if x < end else 0
        if below >= quiet:
            spells.append(tuple(current))
            current = None
    return spells + ([tuple(current)] if current else [])


def test_rationing_spells_are_told_in_the_event_log():
    """Each lab's spells of rationing, as its monthly rationed share in labs.csv shows
    them, start and (when over) end with an event in plain words."""
    from agents.lab import SPELL_END_SHARE, SPELL_QUIET_MONTHS, SPELL_START_SHARE

    r = run("baseline", seed=7, years=5)
    events = r.events[r.events["kind"] == "rationing"]
    assert len(events) > 0
    for name, lab in r.labs.groupby("name"):
        spells = _spells(
            lab["rationed_share"].to_list(), SPELL_START_SHARE, SPELL_END_SHARE, SPELL_QUIET_MONTHS
        )
        told = events[events["actors"].apply(lambda a: name in a)]["text"].to_list()
        starts = [t for t in told if " rations its users: " in t]
        ends = [t for t in told if "months of rationing" in t]
        assert len(starts) == len(spells), (name, spells, told)
        assert len(ends) in (len(spells), len(spells) - 1), (name, spells, told)
        months = lab["month"].to_list()
        for (i, _worst), text in zip(spells, starts, strict=False):
            assert text.startswith(f"{months[i]} {name} rations its users: ")
        for (_i, worst), text in zip(spells, ends, strict=False):
            assert f"(at worst {worst:.0%} unserved)" in text, (text, worst)


def test_circular_deals_and_acquired_debt_are_told():
    r = run("baseline", seed=7)
    deals = r.contracts[r.contracts["origin"] == "circular deal"]
    told = r.events[r.events["text"].str.contains("a circular deal: ", regex=False)]
    assert len(deals) > 0 and len(told) == len(deals)
    assert r.events["text"].str.contains(r"acquires .* and takes on its \$[\d.,]+B of debt").any()


def test_a_lab_with_spare_capacity_leases_it_to_a_rival():
    """Role switch: a lab that owns more than it needs offers the surplus, including
    whole sites, and another lab takes it."""
    found = 0
    for seed in range(4):
        r = run("classroom", seed=seed, years=4)
        c = r.contracts
        lab_names = set(r.labs["name"])
        lab_to_lab = c[c["seller"].isin(lab_names) & c["buyer"].isin(lab_names)]
        found += len(lab_to_lab)
    assert found > 0


def test_barring_leases_to_rivals_stops_lab_to_lab_contracts():
    r = run("classroom", seed=1, years=4, overrides={"lease_to_rival_labs": False})
    c = r.contracts
    lab_names = set(r.labs["name"])
    assert not (c["seller"].isin(lab_names) & c["buyer"].isin(lab_names)).any()
