"""The lessons in docs/teaching/ say what the model does: every number, direction and
comparison an instructor's answer states is checked here over ten seeds, with
tolerances that reflect the spread across seeds.

Each lesson runs its preset (a built-in scenario ``lesson-<topic>``) through
``market.run.runner.run``: one run per seed per arm, shared by the lesson's tests
through a module-level fixture. ``python tests/test_lessons.py`` prints the numbers
the lessons quote (medians, ranges and paired counts over the same seeds).

The lesson pages' marked commands (a fenced block whose first line is ``# test``) are
run as tests/test_docs.py runs the README's.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from market.io.scenario import builtin_names, load_scenario
from market.run import runner

REPO = Path(__file__).resolve().parents[1]
TEACHING = REPO / "docs" / "teaching"
LESSON_PAGES = sorted(TEACHING.glob("lesson-*.md"))
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
BASH_PRELUDE = """\
set -euo pipefail
compute-market() { "$PY" -m market "$@"; }
python() { "$PY" "$@"; }
"""
TIMEOUT_S = 600
N_SEEDS = 10
BUYER, OWNER = "Anthropic", "xAI"  # the Colossus lesson's lease buyer and owner
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Lesson:
    scenario: str  # the preset: a built-in scenario
    arms: dict[str, dict]  # arm name -> parameter overrides on top of the preset

    @property
    def seeds(self) -> list[int]:
        first = load_scenario(self.scenario).seed
        return list(range(first, first + N_SEEDS))


LESSONS: dict[str, Lesson] = {
    "long-contracts": Lesson(
        "lesson-long-contracts",
        {
            "12 months": {},
            "60 months": {"preferred_term_months": 60},
            "12 months, shrinking demand": {"demand_growth_per_year": 0.7},
            "60 months, shrinking demand": {
                "preferred_term_months": 60,
                "demand_growth_per_year": 0.7,
            },
        },
    ),
    "arms-race": Lesson(
        "lesson-arms-race",
        {
            "ambition 1": {},
            "ambition 2": {"race_ambition": 2.0},
            "ambition 4": {"race_ambition": 4.0},
            "ambition 2, cap": {"race_ambition": 2.0, "training_run_cap_h100e": 200_000.0},
        },
    ),
    "consolidation": Lesson(
        "lesson-consolidation",
        {
            "winter": {},
            "normal": {"sentiment_initial": "normal"},
            "winter, no review": {"merger_review": "off"},
            "winter, 10 years": {"years": 10},
        },
    ),
    "power-grid": Lesson(
        "lesson-power-grid",
        {
            "grid x0.5": {},
            "grid x1": {"grid_capacity_multiplier": 1.0},
            "grid x2": {"grid_capacity_multiplier": 2.0},
            "grid x0.5, wait 48": {"grid_min_wait_months": 48},
        },
    ),
    "colossus-lease": Lesson(
        "lesson-colossus-lease",
        {
            "lease allowed": {},
            "lease barred": {"lease_to_rival_labs": False},
            "lease allowed, revenue 3.1": {"revenue_usd_per_h100e_hour": 3.1},
        },
    ),
}


# The medians the lesson pages quote in their answer tables: (arm, key, as printed on the
# page). Each must appear on its page and stay within a band around the fresh median:
# 25% of the value, or ABS_TOL of the key for small counts.
QUOTED: dict[str, list[tuple[str, str, str]]] = {
    "long-contracts": [
        ("12 months", "capacity_mh100e", "6.3"),
        ("60 months", "capacity_mh100e", "8.7"),
        ("12 months", "exits", "2"),
        ("60 months", "exits", "0"),
        ("12 months", "active_labs", "2"),
        ("60 months", "active_labs", "3"),
        ("12 months", "training_runs_completed", "6"),
        ("60 months", "training_runs_completed", "10"),
        ("12 months", "largest_run_mh100e_months", "2.5"),
        ("60 months", "largest_run_mh100e_months", "1.7"),
        ("12 months", "rationed_mean", "37%"),
        ("60 months", "rationed_mean", "33%"),
        ("12 months, shrinking demand", "lab_cash_busd", "46"),
        ("60 months, shrinking demand", "lab_cash_busd", "16"),
        ("12 months, shrinking demand", "rationed_mean", "7.0%"),
        ("60 months, shrinking demand", "rationed_mean", "4.8%"),
    ],
    "arms-race": [
        ("ambition 1", "largest_run_mh100e_months", "0.12"),
        ("ambition 2", "largest_run_mh100e_months", "17.5"),
        ("ambition 4", "largest_run_mh100e_months", "11.3"),
        ("ambition 2", "largest_run_growth_per_year", "1.58"),
        ("ambition 4", "largest_run_growth_per_year", "1.43"),
        ("ambition 1", "training_runs_completed", "60"),
        ("ambition 2", "training_runs_completed", "14.5"),
        ("ambition 4", "training_runs_completed", "6"),
        ("ambition 2, cap", "lab_cash_busd", "792"),
        ("ambition 2", "lab_cash_busd", "371"),
        ("ambition 2, cap", "rationed_mean", "19%"),
        ("ambition 2", "rationed_mean", "27%"),
    ],
    "consolidation": [
        ("winter", "exits", "11"),
        ("normal", "exits", "2"),
        ("winter", "active_labs", "3"),
        ("normal", "active_labs", "9.5"),
        ("winter", "acquisitions", "6"),
        ("normal", "acquisitions", "5"),
        ("winter", "capacity_mh100e", "33"),
        ("normal", "capacity_mh100e", "51"),
        ("winter", "capacity_hhi", "1,754"),
        ("normal", "capacity_hhi", "1,540"),
        ("winter", "lab_cash_busd", "366"),
        ("normal", "lab_cash_busd", "1,161"),
        ("winter", "blocked_mergers", "0.5"),
        ("winter, 10 years", "capacity_hhi", "2,174"),
        ("winter, 10 years", "acquisitions", "9.5"),
        ("winter, 10 years", "active_labs", "1.5"),
    ],
    "power-grid": [
        ("grid x0.5", "capacity_month60_mh100e", "4.0"),
        ("grid x1", "capacity_month60_mh100e", "7.6"),
        ("grid x2", "capacity_month60_mh100e", "7.3"),
        ("grid x0.5", "capacity_mh100e", "14.2"),
        ("grid x1", "capacity_mh100e", "30.1"),
        ("grid x2", "capacity_mh100e", "52.6"),
        ("grid x0.5", "spot_mean_usd", "3.97"),
        ("grid x1", "spot_mean_usd", "3.15"),
        ("grid x2", "spot_mean_usd", "2.91"),
        ("grid x0.5", "rationed_mean", "47%"),
        ("grid x1", "rationed_mean", "27%"),
        ("grid x2", "rationed_mean", "22%"),
        ("grid x0.5", "largest_run_mh100e_months", "7.0"),
        ("grid x1", "largest_run_mh100e_months", "17.5"),
        ("grid x2", "largest_run_mh100e_months", "30.6"),
        ("grid x0.5, wait 48", "capacity_month60_mh100e", "2.5"),
        ("grid x0.5, wait 48", "spot_mean_usd", "4.89"),
        ("grid x0.5, wait 48", "rationed_mean", "58%"),
    ],
    "colossus-lease": [
        ("lease allowed", "buyer_rationed_first_year", "0%"),
        ("lease barred", "buyer_rationed_first_year", "11.9%"),
        ("lease allowed", "buyer_revenue_busd", "69"),
        ("lease barred", "buyer_revenue_busd", "48"),
        ("lease allowed", "owner_user_revenue_busd", "5.5"),
        ("lease barred", "owner_user_revenue_busd", "44"),
        ("lease allowed", "owner_cash_busd", "35"),
        ("lease barred", "owner_cash_busd", "55"),
        ("lease allowed", "owner_sales_to_labs", "13"),
        ("lease allowed", "owner_buyers", "6"),
        ("lease allowed", "owner_lease_income_busd", "52"),
        ("lease allowed", "owner_sale_price_usd", "2.36"),
        ("lease allowed, revenue 3.1", "owner_sale_price_usd", "2.67"),
        ("lease allowed, revenue 3.1", "spot_mean_usd", "1.88"),
        ("lease allowed", "spot_mean_usd", "1.31"),
    ],
}
ABS_TOL = {
    "exits": 1.5,
    "active_labs": 1.5,
    "acquisitions": 2.0,
    "blocked_mergers": 1.0,
    "training_runs_completed": 2.0,
    "owner_sales_to_labs": 4.0,
    "owner_buyers": 2.0,
    "buyer_rationed_first_year": 0.02,
    "rationed_mean": 0.02,
}

# =========================================================================== measuring


def market_numbers(result) -> dict[str, float]:
    """What every lesson reads from a run: end-of-run levels and run averages."""
    ts = result.timeseries
    last = ts.iloc[-1]
    mid = ts.iloc[min(59, len(ts) - 1)]  # 2030-12 in a run that starts 2026-01
    growth_months = len(ts) - 12
    first_run = ts["largest_run_h100e_months"].iloc[11]
    return {
        "capacity_mh100e": last["capacity_h100e_total"] / 1e6,
        "capacity_month60_mh100e": mid["capacity_h100e_total"] / 1e6,
        "demand_month36_over_start": ts["demand_h100e"].iloc[min(35, len(ts) - 1)]
        / ts["demand_h100e"].iloc[0],
        "demand_end_over_start": last["demand_h100e"] / ts["demand_h100e"].iloc[0],
        "exits": float(last["cumulative_exits"]),
        "defaults": float(last["cumulative_defaults"]),
        "acquisitions": float(last["cumulative_acquisitions"]),
        "blocked_mergers": float(last["cumulative_blocked_mergers"]),
        "active_labs": float(last["active_labs"]),
        "capacity_hhi": float(last["capacity_hhi"]),
        "lab_cash_busd": last["lab_cash_usd"] / 1e9,
        "rationed_mean": float(ts["rationed_share"].mean()),
        "spot_mean_usd": float(ts["spot_price_index_usd_per_h100e_hour"].mean()),
        "largest_run_opening_mh100e_months": ts["largest_run_h100e_months"].iloc[0] / 1e6,
        "largest_run_mh100e_months": last["largest_run_h100e_months"] / 1e6,
        "largest_run_growth_per_year": (
            float((last["largest_run_h100e_months"] / first_run) ** (12.0 / growth_months))
            if growth_months > 0 and first_run > 0
            else math.nan
        ),
        "training_runs_completed": float(
            result.events["text"].str.contains("completes a training run").sum()
        ),
    }


def lease_numbers(result) -> dict[str, float]:
    """The Colossus lesson's buyer (Anthropic) and owner (xAI)."""
    labs = result.labs
    months = result.timeseries["month"]
    lab_names = {r["name"] for r in result.model.spec.tables["lab"]} | set(labs["name"])
    buyer = labs[labs["name"] == BUYER].set_index("month").reindex(months)
    owner = labs[labs["name"] == OWNER].set_index("month").reindex(months)
    book = result.contracts
    sold = book[(book["seller"] == OWNER) & book["buyer"].isin(lab_names - {OWNER})]
    first = sold["signed_month"].min() if len(sold) else ""
    bought = book[(book["buyer"] == OWNER) & (book["origin"] == "negotiated")]
    first_year = set(months.iloc[:12])
    size = sold["capacity_h100e"]
    return {
        "buyer_rationed_first_year": float(buyer["rationed_share"].iloc[:12].fillna(0).mean()),
        "buyer_revenue_busd": buyer["revenue_usd_per_month"].fillna(0).sum() / 1e9,
        "owner_user_revenue_busd": owner["revenue_usd_per_month"].fillna(0).sum() / 1e9,
        "owner_cash_busd": float(owner["cash_usd"].dropna().iloc[-1]) / 1e9,
        "owner_sales_to_labs": float(len(sold)),
        "owner_first_sale_month_index": (
            float(list(months).index(first)) if first in set(months) else math.nan
        ),
        "owner_sold_to_buyer": float((sold["buyer"] == BUYER).any()),
        "owner_buyers": float(sold["buyer"].nunique()),
        "owner_sold_to_google_deepmind": float((sold["buyer"] == "Google DeepMind").any()),
        "owner_sold_to_meta": float((sold["buyer"] == "Meta").any()),
        "owner_bought_first_year": float(bought["signed_month"].isin(first_year).sum()),
        "owner_sold_h100e_m": size.sum() / 1e6,
        "owner_lease_income_busd": sold["paid_usd"].sum() / 1e9,
        "owner_sale_price_usd": (
            float((sold["price_usd_per_h100e_hour"] * size).sum() / size.sum())
            if len(sold)
            else math.nan
        ),
    }


@functools.cache
def measure(lesson: str) -> dict[str, list[dict[str, float]]]:
    """{arm: [numbers of seed 1, ..., seed 10]} for one lesson (cached: one run per seed
    per arm)."""
    spec = LESSONS[lesson]
    out = {}
    for arm, overrides in spec.arms.items():
        rows = []
        for seed in spec.seeds:
            result = runner.run(spec.scenario, seed=seed, overrides=overrides)
            numbers = market_numbers(result)
            if lesson == "colossus-lease":
                numbers |= lease_numbers(result)
            rows.append(numbers)
        out[arm] = rows
    return out


def values(runs, arm: str, key: str) -> np.ndarray:
    return np.array([row[key] for row in runs[arm]], dtype=float)


def median(runs, arm: str, key: str) -> float:
    return float(np.median(values(runs, arm, key)))


def paired(runs, a: str, b: str, key: str, rel: float = 0.0) -> tuple[int, int]:
    """(seeds where arm a is above arm b, seeds where it is below) for ``key``; a
    difference smaller than ``rel`` of b's value counts as neither."""
    x, y = values(runs, a, key), values(runs, b, key)
    tol = rel * np.abs(y)
    return int((x > y + tol).sum()), int((x < y - tol).sum())


# =========================================================================== fixtures


@pytest.fixture(scope="module")
def long_contracts():
    return measure("long-contracts")


@pytest.fixture(scope="module")
def arms_race():
    return measure("arms-race")


@pytest.fixture(scope="module")
def consolidation():
    return measure("consolidation")


@pytest.fixture(scope="module")
def power_grid():
    return measure("power-grid")


@pytest.fixture(scope="module")
def colossus_lease():
    return measure("colossus-lease")


# =========================================================================== the presets


def test_every_lesson_has_a_preset_and_a_page():
    names = builtin_names()
    for lesson, spec in LESSONS.items():
        assert spec.scenario == f"lesson-{lesson}" and spec.scenario in names
        assert (TEACHING / f"lesson-{lesson}.md").exists(), lesson
    presets = {n for n in names if n.startswith("lesson-")}
    assert presets == {s.scenario for s in LESSONS.values()}


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_a_preset_changes_only_what_its_lesson_needs(lesson):
    """A preset names a built-in base and sets only a few parameters; its page names
    the preset and the command that runs it."""
    import tomllib

    spec = LESSONS[lesson]
    path = REPO / "market" / "scenarios" / f"{spec.scenario}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"scenario", "params"}, "a preset declares no firms of its own"
    assert data["scenario"]["base"] in builtin_names()
    assert len(data["params"]) <= 3
    page = (TEACHING / f"lesson-{lesson}.md").read_text(encoding="utf-8")
    assert f"compute-market run --scenario {spec.scenario}" in page
    for arm_overrides in spec.arms.values():
        for name in arm_overrides:
            assert f"`{name}`" in page or name in page, (lesson, name)


@pytest.mark.parametrize("page", LESSON_PAGES, ids=[p.stem for p in LESSON_PAGES])
def test_a_lesson_page_has_the_fixed_sections(page):
    text = page.read_text(encoding="utf-8")
    titles = re.findall(r"^## (.+)$", text, re.MULTILINE)
    wanted = [
        "The question",
        "Scenario and settings",
        "Steps",
        "What to notice",
        "Discussion questions",
        "Extension",
        "Instructor's answer",
    ]
    assert titles[: len(wanted)] == wanted, titles


# The controls of the page each lesson's steps move (the extension's lines are file edits).
LEVERS = {
    "long-contracts": ["preferred_term_months", "demand_growth_per_year"],
    "arms-race": ["race_ambition"],
    "consolidation": ["sentiment_initial", "merger_review"],
    "power-grid": ["grid_capacity_multiplier"],
    "colossus-lease": ["lease_to_rival_labs"],
}


@pytest.mark.parametrize("lesson", list(LEVERS))
def test_the_page_offers_each_lessons_levers_at_the_presets_values(lesson):
    """Choosing a preset in the page starts it with its own values, and every lever its
    steps name is a control on the page."""
    from market.view import app

    spec = load_scenario(LESSONS[lesson].scenario)
    controls = app.model_params(spec.name)
    assert controls["scenario_name"] == spec.name
    for name in LEVERS[lesson]:
        assert name in controls, f"{name} is not a control of the page"
        assert controls[name]["value"] == spec.params[name]
    assert spec.name in app.scenario_names()


# =========================================================================== commands


def test_every_lesson_page_has_a_marked_command():
    # tests/test_docs.py runs every marked block of the pages under docs/
    for path in LESSON_PAGES:
        blocks = list(FENCE.finditer(path.read_text(encoding="utf-8")))
        assert any(m.group(2).lstrip().startswith("# test") for m in blocks), path.name


# =========================================================================== the claims


# Each test names the lesson's claim it checks. Paired counts compare runs with the same
# seed; the thresholds sit below what was measured (see the lesson pages) so that seed
# spread does not fail them, but a change that reverses a claim does.


@pytest.mark.slow
def test_long_contracts_get_capacity_built_and_keep_labs_alive(long_contracts):
    """Lesson 1: with 60-month contracts more capacity is online after five years (10 of
    10 seeds, median 8.7 vs 6.3 million H100e), fewer labs exit (8 of 10; median 0 vs 2)
    and more are still active (7 of 10)."""
    r, a, b = long_contracts, "60 months", "12 months"
    above, _ = paired(r, a, b, "capacity_mh100e", rel=0.05)
    assert above >= 8
    assert 1.15 < median(r, a, "capacity_mh100e") / median(r, b, "capacity_mh100e") < 2.0
    above, below = paired(r, a, b, "exits")
    assert below >= 7 and above <= 2
    assert median(r, a, "exits") < median(r, b, "exits")
    above, below = paired(r, a, b, "active_labs")
    assert above >= 6 and below <= 2


@pytest.mark.slow
def test_long_contracts_do_not_make_the_frontier_run_larger(long_contracts):
    """Lesson 1, the surprise: with 60-month contracts labs complete more training runs
    (10 of 10; median 10 vs 6) but the largest run is smaller (7 of 10; median 1.7
    vs 2.5 million H100e-months), and the users rationed show no consistent change."""
    r, a, b = long_contracts, "60 months", "12 months"
    above, _ = paired(r, a, b, "training_runs_completed")
    assert above >= 8
    assert median(r, a, "largest_run_mh100e_months") < median(r, b, "largest_run_mh100e_months")
    _, below = paired(r, a, b, "largest_run_mh100e_months")
    assert below >= 6
    above, below = paired(r, a, b, "rationed_mean", rel=0.05)
    assert max(above, below) <= 7


@pytest.mark.slow
def test_long_contracts_cost_labs_cash_when_demand_shrinks(long_contracts):
    """Lesson 1, extension (demand_growth_per_year = 0.7): with 60-month contracts labs end
    with less cash (8 of 10; median 16 vs 46 billion USD) while their users are rationed
    less (9 of 10); no seed ends with more labs active. Users' compute demand falls to
    about half by 2028-12 and then levels off."""
    r, a, b = long_contracts, "60 months, shrinking demand", "12 months, shrinking demand"
    # users' compute demand falls to about half by 2028-12, then levels off
    halved = values(r, b, "demand_month36_over_start")
    assert 0.3 <= np.median(halved) <= 0.7
    assert (values(r, b, "demand_end_over_start") < 0.8).sum() >= 9
    _, below = paired(r, a, b, "lab_cash_busd")
    assert below >= 7
    assert median(r, a, "lab_cash_busd") < 0.6 * median(r, b, "lab_cash_busd")
    _, below = paired(r, a, b, "rationed_mean")
    assert below >= 7
    above, _ = paired(r, a, b, "active_labs")
    assert above <= 1


@pytest.mark.slow
def test_matching_the_leader_freezes_the_frontier(arms_race):
    """Lesson 2: with race ambition 1 the largest run stays at the opening frontier
    (0.12 million H100e-months) in every seed; with ambition 2 it is larger in every seed
    (median 17.5, range 3-34 million by 2035-12), growing about 1.6x a year; with
    ambition 1 labs complete more (small) runs in every seed."""
    r = arms_race
    opening = values(r, "ambition 1", "largest_run_opening_mh100e_months")
    frozen = values(r, "ambition 1", "largest_run_mh100e_months")
    assert (np.isclose(frozen, opening, rtol=0.01)).sum() >= 9
    assert np.allclose(opening, 0.12, rtol=0.01)
    above, _ = paired(r, "ambition 2", "ambition 1", "largest_run_mh100e_months", rel=0.5)
    assert above >= 9
    assert 8 <= median(r, "ambition 2", "largest_run_mh100e_months") <= 35
    assert 1.3 <= median(r, "ambition 2", "largest_run_growth_per_year") <= 1.9
    above, _ = paired(r, "ambition 1", "ambition 2", "training_runs_completed")
    assert above >= 9


@pytest.mark.slow
def test_more_ambition_does_not_buy_a_larger_run(arms_race):
    """Lesson 2, the surprise: with ambition 4 the median largest run is smaller than with
    ambition 2 (11.3 vs 17.5 million H100e-months; larger in only 4 of 10 seeds) and labs
    complete fewer runs (10 of 10; median 6 vs 14.5); the frontier grows more slowly
    (median 1.43x vs 1.58x a year)."""
    r, a, b = arms_race, "ambition 4", "ambition 2"
    assert median(r, a, "largest_run_mh100e_months") < median(r, b, "largest_run_mh100e_months")
    above, _ = paired(r, a, b, "largest_run_mh100e_months")
    assert above <= 5
    _, below = paired(r, a, b, "training_runs_completed")
    assert below >= 8
    growth = median(r, a, "largest_run_growth_per_year")
    assert 1.2 <= growth < median(r, b, "largest_run_growth_per_year")


@pytest.mark.slow
def test_a_cap_on_training_runs_damps_the_race(arms_race):
    """Lesson 2, extension (training_run_cap_h100e = 200000): the largest run stops at the
    cap times the run length, 0.8 million H100e-months, in every seed; labs end with more
    cash (10 of 10) and ration their users less (8 of 10)."""
    r, a, b = arms_race, "ambition 2, cap", "ambition 2"
    capped = values(r, a, "largest_run_mh100e_months")
    assert (np.isclose(capped, 0.8, rtol=0.01)).sum() >= 9
    above, _ = paired(r, a, b, "lab_cash_busd")
    assert above >= 8
    _, below = paired(r, a, b, "rationed_mean")
    assert below >= 7


@pytest.mark.slow
def test_a_funding_winter_thins_the_market(consolidation):
    """Lesson 3: starting in a funding winter, more firms exit in five years (10 of 10;
    median 11 vs 2), fewer labs are left (10 of 10; median 3 vs 9.5), more acquisitions
    happen (7 of 10, fewer in 1), labs hold less cash (9 of 10), less capacity is
    online (8 of 10; 33 vs 51 million H100e) and ownership is more concentrated (7 of 10;
    HHI 1,754 vs 1,540)."""
    r, a, b = consolidation, "winter", "normal"
    above, _ = paired(r, a, b, "exits")
    assert above >= 8
    assert median(r, a, "exits") >= 3 * max(median(r, b, "exits"), 1)
    _, below = paired(r, a, b, "active_labs")
    assert below >= 8
    above, below = paired(r, a, b, "acquisitions")
    assert above >= 6 and below <= 2
    _, below = paired(r, a, b, "lab_cash_busd")
    assert below >= 7
    _, below = paired(r, a, b, "capacity_mh100e")
    assert below >= 6
    above, _ = paired(r, a, b, "capacity_hhi")
    assert above >= 6
    assert median(r, a, "capacity_hhi") > median(r, b, "capacity_hhi")


@pytest.mark.slow
def test_merger_review_rarely_binds_in_five_years(consolidation):
    """Lesson 3: the HHI review blocks at most two deals in five years (none in half the
    seeds); switching it off leaves the end's capacity HHI within 10% in 9 of 10 seeds."""
    r = consolidation
    blocked = values(r, "winter", "blocked_mergers")
    assert blocked.max() <= 4 and np.median(blocked) <= 1
    above, below = paired(r, "winter, no review", "winter", "capacity_hhi", rel=0.10)
    assert above + below <= 2


@pytest.mark.slow
def test_a_longer_winter_concentrates_ownership(consolidation):
    """Lesson 3, extension (years = 10): by 2035-12 the capacity HHI is higher than at
    2030-12 (8 of 10; median 2,174, over the 1,800 threshold), acquisitions keep coming
    (9 of 10 have more; median 9.5 vs 6) and no seed has more labs left."""
    r, a, b = consolidation, "winter, 10 years", "winter"
    above, _ = paired(r, a, b, "capacity_hhi")
    assert above >= 7
    assert median(r, a, "capacity_hhi") > 1800
    above, _ = paired(r, a, b, "acquisitions")
    assert above >= 7
    above, _ = paired(r, a, b, "active_labs")
    assert above <= 1


@pytest.mark.slow
def test_the_grid_sets_how_much_capacity_comes_online(power_grid):
    """Lesson 4: with half the grid, capacity by 2035-12 is about half (14 vs 30 million
    H100e, 10 of 10), the spot index higher (10 of 10; mean 3.97 vs 3.15 USD per
    H100e-hour), more users rationed (9 of 10; 47% vs 27%) and the largest run smaller (10
    of 10; 7.0 vs 17.5 million H100e-months). Doubling the grid adds capacity by 2035 (9
    of 10; 53 million) and lowers the spot index (10 of 10)."""
    r, half, one, two = power_grid, "grid x0.5", "grid x1", "grid x2"
    above, _ = paired(r, one, half, "capacity_mh100e", rel=0.10)
    assert above >= 9
    assert 1.5 < median(r, one, "capacity_mh100e") / median(r, half, "capacity_mh100e") < 3.0
    _, below = paired(r, one, half, "spot_mean_usd")
    assert below >= 8
    _, below = paired(r, one, half, "rationed_mean")
    assert below >= 7
    above, _ = paired(r, one, half, "largest_run_mh100e_months")
    assert above >= 8
    above, _ = paired(r, two, one, "capacity_mh100e", rel=0.05)
    assert above >= 7
    _, below = paired(r, two, one, "spot_mean_usd")
    assert below >= 8


@pytest.mark.slow
def test_more_grid_helps_only_after_the_build_lag(power_grid):
    """Lesson 4, the asymmetry: at 2030-12 half the grid has already cut capacity (10 of
    10; 4.0 vs 7.6 million H100e) while double the grid has added almost nothing (within
    10% in 8 of 10 seeds)."""
    r = power_grid
    _, below = paired(r, "grid x0.5", "grid x1", "capacity_month60_mh100e", rel=0.10)
    assert below >= 9
    above, below = paired(r, "grid x2", "grid x1", "capacity_month60_mh100e", rel=0.10)
    assert above + below <= 3


@pytest.mark.slow
def test_a_grid_queue_hurts_at_once(power_grid):
    """Lesson 4, extension (grid_min_wait_months = 48 on the half grid): capacity at
    2030-12 is lower (10 of 10; 2.5 vs 4.0 million H100e), the spot index higher (10 of
    10; 4.89 vs 3.97) and more users rationed (9 of 10; 58% vs 47%)."""
    r, a, b = power_grid, "grid x0.5, wait 48", "grid x0.5"
    _, below = paired(r, a, b, "capacity_month60_mh100e", rel=0.05)
    assert below >= 9
    above, _ = paired(r, a, b, "spot_mean_usd")
    assert above >= 8
    above, _ = paired(r, a, b, "rationed_mean")
    assert above >= 7


@pytest.mark.slow
def test_xai_turns_seller_and_anthropic_stops_rationing(colossus_lease):
    """Lesson 5: xAI sells capacity to other labs in every seed, the first deal signed in
    2026-02 or 2026-03, to Anthropic in 8 of 10 seeds; Anthropic's users rationed in
    2026 fall from a median 11.9% (lease barred) to 0% (10 of 10), and its revenue over
    2026-2028 rises (10 of 10; by a median 20 billion USD). xAI also buys capacity in
    2026 in every seed."""
    r, a, b = colossus_lease, "lease allowed", "lease barred"
    assert (values(r, a, "owner_sales_to_labs") > 0).all()
    assert (values(r, b, "owner_sales_to_labs") == 0).all()
    first = values(r, a, "owner_first_sale_month_index")
    assert (first <= 2).sum() >= 9
    assert values(r, a, "owner_sold_to_buyer").sum() >= 6
    # the buyers vary with the seed: Google DeepMind and Meta are among them in some
    assert values(r, a, "owner_sold_to_google_deepmind").sum() >= 3
    assert values(r, a, "owner_sold_to_meta").sum() >= 3
    _, below = paired(r, a, b, "buyer_rationed_first_year")
    assert below >= 9
    assert median(r, a, "buyer_rationed_first_year") < 0.02
    assert 0.08 <= median(r, b, "buyer_rationed_first_year") <= 0.16
    above, _ = paired(r, a, b, "buyer_revenue_busd")
    assert above >= 9
    gain = values(r, a, "buyer_revenue_busd") - values(r, b, "buyer_revenue_busd")
    assert 10 <= np.median(gain) <= 35
    # xAI buys as well as sells: it signs contracts as a buyer in 2026 in every seed
    assert (values(r, a, "owner_bought_first_year") > 0).sum() >= 9


@pytest.mark.slow
def test_the_seller_trades_users_for_tenants(colossus_lease):
    """Lesson 5, the surprise: with the lease xAI's revenue from its own users over
    2026-2028 falls (9 of 10; median 5.5 vs 44 billion USD) while its lease income is a
    median 52 billion; it ends with less cash in 7 of 10 seeds. Its lease price, a median
    2.36 USD per H100e-hour (2.1-3.3), is far below the reported 7.8 USD per GPU-hour."""
    r, a, b = colossus_lease, "lease allowed", "lease barred"
    _, below = paired(r, a, b, "owner_user_revenue_busd")
    assert below >= 8
    income = median(r, a, "owner_lease_income_busd")
    assert income > median(r, a, "owner_user_revenue_busd")
    assert 25 <= income <= 100
    _, below = paired(r, a, b, "owner_cash_busd")
    assert below >= 6
    price = values(r, a, "owner_sale_price_usd")
    assert 1.5 <= np.median(price) <= 3.5 and price.max() < 5.0


@pytest.mark.slow
def test_richer_users_raise_the_lease_price(colossus_lease):
    """Lesson 5, extension (revenue_usd_per_h100e_hour = 3.1): xAI's lease price rises (8
    of 10; median 2.67 vs 2.36 USD per H100e-hour) and the spot index with it (9 of 10;
    1.88 vs 1.31)."""
    r, a, b = colossus_lease, "lease allowed, revenue 3.1", "lease allowed"
    above, _ = paired(r, a, b, "owner_sale_price_usd")
    assert above >= 7
    above, _ = paired(r, a, b, "spot_mean_usd")
    assert above >= 8


def _shown(text: str) -> float:
    return float(text.rstrip("%").replace(",", "")) / (100.0 if text.endswith("%") else 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", list(QUOTED))
def test_the_quoted_medians_are_what_the_model_gives(lesson):
    """Every median an answer table quotes is on its page and within its band of the
    median over the same ten seeds, run now."""
    runs = measure(lesson)
    page = (TEACHING / f"lesson-{lesson}.md").read_text(encoding="utf-8")
    off = []
    for arm, key, shown in QUOTED[lesson]:
        assert shown in page, f"lesson-{lesson}.md no longer quotes {shown} ({arm}, {key})"
        want, got = _shown(shown), median(runs, arm, key)
        tol = max(0.25 * abs(want), ABS_TOL.get(key, 0.0))
        if not abs(got - want) <= tol:
            off.append(f"{arm} / {key}: page says {shown}, the model gives {got:.4g}")
    assert off == [], "; ".join(off)


# =========================================================================== info.md

INFO = TEACHING / "info.md"
INFO_SECTIONS = [
    "WHAT IS IT?",
    "HOW IT WORKS",
    "HOW TO USE IT",
    "THINGS TO NOTICE",
    "THINGS TO TRY",
    "EXTENDING THE MODEL",
    "SOURCES",
]


def _info_sections() -> dict[str, str]:
    text = INFO.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def test_info_has_the_sections_in_order():
    assert list(_info_sections()) == INFO_SECTIONS


def test_info_draws_the_stages_in_order():
    from market.core.stages import STAGE_NAMES

    body = _info_sections()["HOW IT WORKS"]
    diagram = next(m.group(2) for m in FENCE.finditer(body))
    # the second row of boxes runs right to left, so order the boxes by their number
    boxes = sorted((int(n), name) for n, name in re.findall(r"\b(\d) ([a-z]+)\b", diagram))
    assert boxes == list(enumerate(STAGE_NAMES, start=1)), boxes


def test_info_names_only_declared_parameters_and_every_control():
    from market.io.params import MODEL_PARAMS, PARAMS

    text = INFO.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`", text))
    assert named, "info.md names no parameter"
    assert named <= set(PARAMS), f"not declared parameters: {sorted(named - set(PARAMS))}"
    use = _info_sections()["HOW TO USE IT"]
    missing = [p.name for p in MODEL_PARAMS if p.ui and f"`{p.name}`" not in use]
    assert missing == [], f"HOW TO USE IT does not explain the controls {missing}"
    threshold = PARAMS["merger_hhi_threshold"].default
    assert f"{threshold:,.0f} line" in text


def test_info_cites_calibration_rows_that_exist():
    calibration = (REPO / "docs" / "calibration.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| ([SGCK]\d+) \|", calibration, flags=re.MULTILINE))
    sources = _info_sections()["SOURCES"]
    cited = set()
    for a, b in re.findall(r"\b([SGCK]\d+)(?:–([SGCK]\d+))?\b", sources):
        cited |= {a, b} - {""}
    assert cited and cited <= rows, sorted(cited - rows)


def _report() -> None:
    """Print every lesson's numbers: median [min-max] per arm, over the same seeds."""
    for lesson, spec in LESSONS.items():
        runs = measure(lesson)
        print(f"\n## {lesson} ({spec.scenario}, seeds {spec.seeds[0]}-{spec.seeds[-1]})")
        keys = list(runs[next(iter(runs))][0])
        for key in keys:
            cells = []
            for arm in spec.arms:
                v = values(runs, arm, key)
                cells.append(f"{arm}: {np.median(v):.4g} [{v.min():.4g}-{v.max():.4g}]")
            print(f"  {key:36} " + " | ".join(cells))


if __name__ == "__main__":
    _report()
