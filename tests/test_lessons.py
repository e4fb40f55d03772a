"""The lessons in docs/teaching/ say what the model does: every number, direction and
comparison an instructor's answer states is checked here over ten seeds, with
tolerances that reflect the spread across seeds.

Each lesson runs its preset (a built-in scenario ``lesson-<topic>``) through
``market.run.runner.run``: one run per seed per arm, cached and shared by the lesson's
tests. Each claim of an answer is a function that records its checks (the measured
value and its bound); ``scripts/lesson_numbers.py`` runs the same functions and prints
every quoted median and every check's measured value, to update the pages when the
model changes.

The lesson pages' marked commands (a fenced block whose first line is ``# test``) are
run as tests/test_docs.py runs the README's.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import subprocess
import sys
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
    pairs: tuple[tuple[str, str], ...] = ()  # the same-seed comparisons the answer makes

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
        (
            ("60 months", "12 months"),
            ("60 months, shrinking demand", "12 months, shrinking demand"),
        ),
    ),
    "arms-race": Lesson(
        "lesson-arms-race",
        {
            "ambition 1": {},
            "ambition 2": {"race_ambition": 2.0},
            "ambition 4": {"race_ambition": 4.0},
            "ambition 2, cap": {"race_ambition": 2.0, "training_run_cap_h100e": 200_000.0},
        },
        (
            ("ambition 2", "ambition 1"),
            ("ambition 4", "ambition 2"),
            ("ambition 2, cap", "ambition 2"),
        ),
    ),
    "consolidation": Lesson(
        "lesson-consolidation",
        {
            "winter": {},
            "normal": {"sentiment_initial": "normal"},
            "winter, no review": {"merger_review": "off"},
            "winter, 10 years": {"years": 10},
        },
        (("winter", "normal"), ("winter, no review", "winter"), ("winter, 10 years", "winter")),
    ),
    "power-grid": Lesson(
        "lesson-power-grid",
        {
            "grid x0.5": {},
            "grid x1": {"grid_capacity_multiplier": 1.0},
            "grid x2": {"grid_capacity_multiplier": 2.0},
            "grid x0.5, wait 48": {"grid_min_wait_months": 48},
        },
        (
            ("grid x1", "grid x0.5"),
            ("grid x2", "grid x1"),
            ("grid x0.5, wait 48", "grid x0.5"),
        ),
    ),
    "colossus-lease": Lesson(
        "lesson-colossus-lease",
        {
            "lease allowed": {},
            "lease barred": {"lease_to_rival_labs": False},
            "lease allowed, revenue 3.1": {"revenue_usd_per_h100e_hour": 3.1},
        },
        (("lease allowed", "lease barred"), ("lease allowed, revenue 3.1", "lease allowed")),
    ),
    "brokers": Lesson(
        "lesson-brokers",
        {
            "resale": {},
            "no resale": {"secondary_market": False},
            "resale, shrinking demand": {"demand_growth_per_year": 0.7},
            "no resale, shrinking demand": {
                "secondary_market": False,
                "demand_growth_per_year": 0.7,
            },
        },
        (
            ("resale", "no resale"),
            ("resale, shrinking demand", "no resale, shrinking demand"),
            ("resale, shrinking demand", "resale"),
        ),
    ),
}


# The medians the lesson pages quote in their answer tables: (arm, key, as printed on the
# page). Each must appear on its page and stay within a band around the fresh median:
# 25% of the value, or ABS_TOL of the key for small counts.
QUOTED: dict[str, list[tuple[str, str, str]]] = {
    "long-contracts": [
        ("12 months", "capacity_mh100e", "7.3"),
        ("60 months", "capacity_mh100e", "8.0"),
        ("12 months", "exits", "0"),
        ("60 months", "exits", "0"),
        ("12 months", "active_labs", "3"),
        ("60 months", "active_labs", "3.5"),
        ("12 months", "training_runs_completed", "12"),
        ("60 months", "training_runs_completed", "14"),
        ("12 months", "largest_run_mh100e_months", "2.0"),
        ("60 months", "largest_run_mh100e_months", "2.5"),
        ("12 months", "rationed_mean", "8.4%"),
        ("60 months", "rationed_mean", "7.2%"),
        ("12 months", "lab_cash_busd", "175"),
        ("60 months", "lab_cash_busd", "265"),
        ("12 months, shrinking demand", "capacity_mh100e", "2.6"),
        ("60 months, shrinking demand", "capacity_mh100e", "2.6"),
        ("12 months, shrinking demand", "utilisation_mean", "74%"),
        ("60 months, shrinking demand", "utilisation_mean", "76%"),
        ("12 months, shrinking demand", "lab_cash_busd", "67"),
        ("60 months, shrinking demand", "lab_cash_busd", "93"),
        ("12 months, shrinking demand", "rationed_mean", "3.6%"),
        ("60 months, shrinking demand", "rationed_mean", "3.9%"),
    ],
    "arms-race": [
        ("ambition 1", "largest_run_mh100e_months", "0.12"),
        ("ambition 2", "largest_run_mh100e_months", "17.3"),
        ("ambition 4", "largest_run_mh100e_months", "9.0"),
        ("ambition 2", "largest_run_growth_per_year", "1.51"),
        ("ambition 4", "largest_run_growth_per_year", "1.41"),
        ("ambition 1", "training_runs_completed", "77"),
        ("ambition 2", "training_runs_completed", "18"),
        ("ambition 4", "training_runs_completed", "12"),
        ("ambition 2, cap", "lab_cash_busd", "1,193"),
        ("ambition 2", "lab_cash_busd", "2,709"),
        ("ambition 2, cap", "rationed_mean", "7.8%"),
        ("ambition 2", "rationed_mean", "5.8%"),
    ],
    "consolidation": [
        ("winter", "exits", "1"),
        ("normal", "exits", "1"),
        ("winter", "active_labs", "10.5"),
        ("normal", "active_labs", "10"),
        ("winter", "acquisitions", "13.5"),
        ("normal", "acquisitions", "8.5"),
        ("winter", "capacity_mh100e", "56"),
        ("normal", "capacity_mh100e", "57"),
        ("winter", "capacity_hhi", "1,572"),
        ("normal", "capacity_hhi", "1,343"),
        ("winter", "lab_cash_busd", "3,201"),
        ("normal", "lab_cash_busd", "1,514"),
        ("winter", "blocked_mergers", "0"),
        ("winter, 10 years", "capacity_hhi", "2,043"),
        ("winter, 10 years", "acquisitions", "24.5"),
        ("winter, 10 years", "active_labs", "8"),
        ("winter, 10 years", "capacity_mh100e", "172"),
    ],
    "power-grid": [
        ("grid x0.5", "capacity_month60_mh100e", "4.6"),
        ("grid x1", "capacity_month60_mh100e", "7.6"),
        ("grid x2", "capacity_month60_mh100e", "9.4"),
        ("grid x0.5", "capacity_mh100e", "10.5"),
        ("grid x1", "capacity_mh100e", "21.6"),
        ("grid x2", "capacity_mh100e", "44.8"),
        ("grid x0.5", "spot_mean_usd", "5.32"),
        ("grid x1", "spot_mean_usd", "3.44"),
        ("grid x2", "spot_mean_usd", "3.35"),
        ("grid x0.5", "rationed_mean", "7.2%"),
        ("grid x1", "rationed_mean", "5.8%"),
        ("grid x2", "rationed_mean", "5.4%"),
        ("grid x0.5", "largest_run_mh100e_months", "5.4"),
        ("grid x1", "largest_run_mh100e_months", "17.3"),
        ("grid x2", "largest_run_mh100e_months", "23.1"),
        ("grid x0.5, wait 48", "capacity_month60_mh100e", "1.94"),
        ("grid x0.5, wait 48", "capacity_mh100e", "8.6"),
        ("grid x0.5, wait 48", "spot_mean_usd", "8.64"),
        ("grid x0.5, wait 48", "rationed_mean", "12.9%"),
    ],
    "colossus-lease": [
        ("lease allowed", "buyer_rationed_first_year", "7.3%"),
        ("lease barred", "buyer_rationed_first_year", "17.0%"),
        ("lease allowed", "buyer_revenue_busd", "223"),
        ("lease barred", "buyer_revenue_busd", "195"),
        ("lease allowed", "owner_user_revenue_busd", "123"),
        ("lease barred", "owner_user_revenue_busd", "127"),
        ("lease allowed", "owner_cash_busd", "827"),
        ("lease barred", "owner_cash_busd", "410"),
        ("lease allowed", "owner_sales_to_labs", "8"),
        ("lease allowed", "owner_buyers", "3.5"),
        ("lease allowed", "owner_lease_income_busd", "37"),
        ("lease allowed", "owner_sale_price_usd", "4.21"),
        ("lease allowed, revenue 3.1", "owner_sale_price_usd", "4.94"),
        ("lease allowed, revenue 3.1", "spot_mean_usd", "5.95"),
        ("lease allowed", "spot_mean_usd", "2.83"),
    ],
    "brokers": [
        ("resale", "resales", "5.5"),
        ("resale, shrinking demand", "resales", "180"),
        ("resale", "months_with_trades", "2"),
        ("resale, shrinking demand", "months_with_trades", "62"),
        ("resale", "resale_share_mean", "0.05%"),
        ("resale, shrinking demand", "resale_share_mean", "2.2%"),
        ("resale, shrinking demand", "resale_share_max", "16%"),
        ("resale", "fill_rate_mean", "0.12%"),
        ("resale, shrinking demand", "fill_rate_mean", "44%"),
        ("resale", "rationed_mean", "6.1%"),
        ("no resale", "rationed_mean", "5.8%"),
        ("resale", "utilisation_mean", "92.3%"),
        ("no resale", "utilisation_mean", "92.1%"),
        ("resale", "spot_mean_usd", "3.82"),
        ("no resale", "spot_mean_usd", "3.44"),
        ("resale", "vwap_minus_survey_usd", "+0.42"),
        ("resale, shrinking demand", "vwap_minus_survey_usd", "-0.69"),
        ("resale", "lab_cash_busd", "1,301"),
        ("no resale", "lab_cash_busd", "2,709"),
        ("resale, shrinking demand", "spot_mean_usd", "1.70"),
        ("no resale, shrinking demand", "spot_mean_usd", "1.68"),
        ("resale, shrinking demand", "lab_cash_busd", "93"),
        ("no resale, shrinking demand", "lab_cash_busd", "91"),
        ("resale, shrinking demand", "rationed_mean", "1.9%"),
        ("no resale, shrinking demand", "rationed_mean", "2.1%"),
        ("resale, shrinking demand", "utilisation_mean", "67%"),
        ("no resale, shrinking demand", "utilisation_mean", "70%"),
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
    "utilisation_mean": 0.02,
    "resales": 20.0,
    "months_with_trades": 5.0,
    "resale_share_mean": 0.005,
    "fill_rate_mean": 0.02,
    "vwap_minus_survey_usd": 0.15,
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
        "utilisation_mean": float(ts["utilisation"].mean()),
        # the index carries over a month without spot trade, so every month has a value
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


def secondary_numbers(result) -> dict[str, float]:
    """The brokers lesson: what the exchange traded and what its two indices read."""
    ts = result.timeseries
    vwap = ts["price_index_vwap_usd_per_h100e_hour"].astype(float)
    survey = ts["price_index_list_survey_usd_per_h100e_hour"].astype(float)
    traded = (ts["secondary_volume_h100e"] > 0) & vwap.notna() & survey.notna()
    book = result.contracts
    resales = book[book["origin"] == "resale"]
    gap = (vwap - survey)[traded]
    return {
        "resales": float(len(resales)),
        "resale_sellers": float(resales["seller"].nunique()),
        "resale_buyers": float(resales["buyer"].nunique()),
        "months_with_trades": float(traded.sum()),
        "resale_share_mean": float(ts["resale_share_of_used"].fillna(0).mean()),
        "resale_share_max": float(ts["resale_share_of_used"].fillna(0).max()),
        "exchange_fees_musd": float(ts["exchange_fees_usd"].sum()) / 1e6,
        "fill_rate_mean": float(ts["exchange_fill_rate"].mean()),
        "vwap_traded_mean_usd": float(vwap[traded].mean()) if traded.any() else math.nan,
        "survey_traded_mean_usd": float(survey[traded].mean()) if traded.any() else math.nan,
        "vwap_minus_survey_usd": float(gap.mean()) if len(gap) else math.nan,
        "vwap_below_survey_share": float((gap < 0).mean()) if len(gap) else math.nan,
        "spread_mean_usd": float(ts["price_index_spread_usd_per_h100e_hour"].mean()),
        "served_mh100e_months": float(ts["served_inference_h100e"].sum()) / 1e6,
    }


NUMBERS = {"colossus-lease": lease_numbers, "brokers": secondary_numbers}


def measure_one(lesson: str, arm: str, seed: int) -> dict[str, float]:
    """The numbers of one run: one lesson, one arm, one seed."""
    spec = LESSONS[lesson]
    result = runner.run(spec.scenario, seed=seed, overrides=spec.arms[arm])
    numbers = market_numbers(result)
    if lesson in NUMBERS:
        numbers |= NUMBERS[lesson](result)
    return numbers


@functools.cache
def measure(lesson: str) -> dict[str, list[dict[str, float]]]:
    """{arm: [numbers of the first seed, ..., the tenth]} for one lesson (cached: one run
    per seed per arm, shared by the lesson's tests)."""
    spec = LESSONS[lesson]
    return {arm: [measure_one(lesson, arm, s) for s in spec.seeds] for arm in spec.arms}


def values(runs, arm: str, key: str) -> np.ndarray:
    return np.array([row[key] for row in runs[arm]], dtype=float)


def median(runs, arm: str, key: str) -> float:
    """The median over the seeds that have the number (a price of trades that never
    happened is not a number)."""
    v = values(runs, arm, key)
    return float(np.median(v[~np.isnan(v)])) if (~np.isnan(v)).any() else math.nan


def paired(runs, a: str, b: str, key: str, rel: float = 0.0) -> tuple[int, int]:
    """(seeds where arm a is above arm b, seeds where it is below) for ``key``; a
    difference smaller than ``rel`` of b's value counts as neither."""
    x, y = values(runs, a, key), values(runs, b, key)
    tol = rel * np.abs(y)
    return int((x > y + tol).sum()), int((x < y - tol).sum())


@dataclass(frozen=True)
class Check:
    """One bound a claim puts on a measured value."""

    what: str
    got: float
    op: str  # ">=", "<=", ">", "<", or "in" (bound is (low, high), both included)
    bound: float | tuple[float, float]

    @property
    def ok(self) -> bool:
        if self.op == "in":
            low, high = self.bound
            return bool(low <= self.got <= high)
        return bool(OPS[self.op](self.got, self.bound))

    def __str__(self) -> str:
        bound = "[{:.4g}, {:.4g}]".format(*self.bound) if self.op == "in" else f"{self.bound:.4g}"
        return f"{self.what}: measured {self.got:.4g}, needs {self.op} {bound}"


OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


class Claims:
    """The checks of one lesson's claim over its runs. Every check is recorded, so a
    test reports all the bounds that fail at once and ``scripts/lesson_numbers.py``
    prints each measured value next to its bound."""

    def __init__(self, runs: dict[str, list[dict[str, float]]]) -> None:
        self.runs = runs
        self.checks: list[Check] = []

    def check(self, what: str, got: float, op: str, bound) -> None:
        self.checks.append(Check(what, float(got), op, bound))

    def values(self, arm: str, key: str) -> np.ndarray:
        return values(self.runs, arm, key)

    def median(self, arm: str, key: str) -> float:
        return median(self.runs, arm, key)

    def count(self, arm: str, key: str, test, what: str, op: str, bound: int) -> None:
        """How many seeds of ``arm`` pass ``test`` (a function of the array)."""
        self.check(f"{what} ({arm})", int(test(self.values(arm, key)).sum()), op, bound)

    def above(self, a: str, b: str, key: str, op: str, n: int, rel: float = 0.0) -> None:
        """Seeds where ``a`` is above ``b`` (by more than ``rel`` of b)."""
        by = f" by >{rel:.0%}" if rel else ""
        self.check(f"{key}: {a} above {b}{by}, seeds", paired(self.runs, a, b, key, rel)[0], op, n)

    def below(self, a: str, b: str, key: str, op: str, n: int, rel: float = 0.0) -> None:
        """Seeds where ``a`` is below ``b`` (by more than ``rel`` of b)."""
        by = f" by >{rel:.0%}" if rel else ""
        self.check(f"{key}: {a} below {b}{by}, seeds", paired(self.runs, a, b, key, rel)[1], op, n)

    def median_of(self, arm: str, key: str, op: str, bound) -> None:
        self.check(f"{key}: median of {arm}", self.median(arm, key), op, bound)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# The claims of each lesson's instructor's answer, in the page's order: a function that
# records its checks on a Claims (the docstring is the claim as the page states it).
CLAIMS: dict[str, list] = {}


def claim(lesson: str):
    def register(fn):
        CLAIMS.setdefault(lesson, []).append(fn)
        return fn

    return register


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
    "brokers": [],  # secondary_market is a scenario parameter, set with --set (not a control)
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


# Paired counts compare runs with the same seed; the bounds sit below what was measured
# (the lesson pages quote the measured counts) so that seed spread does not fail them,
# but a change that reverses a claim does.


@claim("long-contracts")
def long_contracts_get_more_capacity_built(c: Claims) -> None:
    """Lesson 1: with 60-month contracts a little more capacity is online after five years
    in most seeds (higher in 7 of 10, by more than 5% in 6; lower in 3, by more than 5% in
    1; median 8.0 vs 7.3 million H100e, with a wide spread). Long contracts also help the
    buyers in most seeds: labs end with more cash (6 of 10; 265 vs 175 billion USD). They
    no longer help labs survive: with 12-month contracts no lab exits in any seed, with
    60-month contracts a lab exits in 2 of 10 (never fewer exits), and about as many labs
    are still active (more in 2 of 10, fewer in 1)."""
    a, b = "60 months", "12 months"
    c.above(a, b, "capacity_mh100e", ">=", 5, rel=0.05)
    c.below(a, b, "capacity_mh100e", "<=", 3, rel=0.05)
    ratio = c.median(a, "capacity_mh100e") / c.median(b, "capacity_mh100e")
    c.check("capacity_mh100e: median 60 months over median 12 months", ratio, "in", (1.02, 1.4))
    c.above(a, b, "lab_cash_busd", ">=", 5)
    c.count(b, "exits", lambda v: v == 0, "no lab exits, seeds", ">=", 9)
    c.above(a, b, "exits", "<=", 4)
    c.below(a, b, "exits", "<=", 1)
    c.above(a, b, "active_labs", "<=", 4)
    c.below(a, b, "active_labs", "<=", 3)


@claim("long-contracts")
def long_contracts_add_training_runs_but_not_reliably_a_larger_frontier(c: Claims) -> None:
    """Lesson 1: with 60-month contracts labs complete more training runs (8 of 10; median
    14 vs 12) and more capacity is built, but the largest run is not reliably larger
    (larger in 6 of 10, smaller in 4; median 2.5 vs 2.0 million H100e-months); users are
    rationed less in 7 of 10 (7.2% vs 8.4%), a few percent either way, since labs raise
    their users' token price when compute is short."""
    a, b = "60 months", "12 months"
    c.above(a, b, "training_runs_completed", ">=", 7)
    c.median_of(a, "training_runs_completed", ">", c.median(b, "training_runs_completed"))
    c.above(a, b, "largest_run_mh100e_months", "<=", 8)
    c.below(a, b, "largest_run_mh100e_months", ">=", 2)
    c.below(a, b, "rationed_mean", ">=", 6)
    c.median_of(a, "rationed_mean", "<", c.median(b, "rationed_mean"))
    c.median_of(b, "rationed_mean", "<", 0.15)


@claim("long-contracts")
def long_contracts_cost_labs_their_survival_when_demand_is_weak(c: Claims) -> None:
    """Lesson 1, extension (demand_growth_per_year = 0.7): users' demand answers the
    token price, so as prices fall it no longer halves: by 2028-12 it is a median 1.2
    times its opening level, and it ends below 0.8 times it in only 2 of 10 seeds. With
    60-month contracts no more capacity is online (higher in 6 of 10, lower in 4; 2.6 vs
    2.6 million H100e) and it is used about as much (higher in 6, lower in 4; 76% vs 74%);
    more labs exit in 5 of 10 (fewer in 1) and fewer are still active in 3 of 10 (more in
    none; median 3 vs 3.5), although the labs' summed cash is higher in 7 of 10 (93 vs 67
    billion USD), and rationing shows no consistent change (higher in 6, lower in 4; 3.9%
    vs 3.6%)."""
    a, b = "60 months, shrinking demand", "12 months, shrinking demand"
    c.median_of(b, "demand_month36_over_start", "in", (0.9, 1.6))
    c.count(b, "demand_end_over_start", lambda v: v < 0.8, "demand ends below 0.8x", "<=", 4)
    c.above(a, b, "capacity_mh100e", "<=", 7)
    c.below(a, b, "capacity_mh100e", "<=", 7)
    ratio = c.median(a, "capacity_mh100e") / c.median(b, "capacity_mh100e")
    c.check("capacity_mh100e: median 60 over median 12, shrinking", ratio, "in", (0.85, 1.15))
    c.above(a, b, "utilisation_mean", "<=", 8)
    c.below(a, b, "utilisation_mean", "<=", 7)
    ratio = c.median(a, "utilisation_mean") / c.median(b, "utilisation_mean")
    c.check("utilisation_mean: median 60 over median 12, shrinking", ratio, "in", (0.95, 1.08))
    c.above(a, b, "exits", ">=", 4)
    c.below(a, b, "exits", "<=", 2)
    c.below(a, b, "active_labs", ">=", 2)
    c.above(a, b, "active_labs", "<=", 1)
    c.median_of(a, "active_labs", "<=", c.median(b, "active_labs"))
    c.above(a, b, "lab_cash_busd", ">=", 6)
    c.above(a, b, "rationed_mean", "<=", 7)
    c.below(a, b, "rationed_mean", "<=", 7)


@claim("arms-race")
def matching_the_leader_freezes_the_frontier(c: Claims) -> None:
    """Lesson 2: with race ambition 1 the largest run stays at the opening frontier
    (0.12 million H100e-months) in every seed; with ambition 2 it is larger in every seed
    (median 17.3, range 8.5-24 million by 2035-12), growing about 1.5x a year, and the
    race takes off in every seed (none ends below 2 million); with ambition 1 labs
    complete more (small) runs in 10 of 10 seeds."""
    one, two = "ambition 1", "ambition 2"
    opening = c.values(one, "largest_run_opening_mh100e_months")
    frozen = c.values(one, "largest_run_mh100e_months")
    c.check("ambition 1: largest run at the opening one, seeds",
            np.isclose(frozen, opening, rtol=0.01).sum(), ">=", 9)  # fmt: skip
    c.check(
        "opening frontier, million H100e-months (every seed)", opening.max(), "in", (0.119, 0.121)
    )
    c.above(two, one, "largest_run_mh100e_months", ">=", 9, rel=0.5)
    c.median_of(two, "largest_run_mh100e_months", "in", (8, 35))
    c.median_of(two, "largest_run_growth_per_year", "in", (1.3, 1.9))
    c.count(two, "largest_run_mh100e_months", lambda v: v < 2.0,
            "largest run below 2 million H100e-months, seeds", "<=", 1)  # fmt: skip
    c.above(one, two, "training_runs_completed", ">=", 9)


@claim("arms-race")
def more_ambition_does_not_buy_a_larger_run(c: Claims) -> None:
    """Lesson 2, the surprise: doubling ambition from 2 to 4 does not double the frontier;
    it shrinks it. The largest run by 2035-12 is less than 1.5 times ambition 2's in 9 of
    10 seeds and smaller in 7 (median 9.0 vs 17.3 million H100e-months; under 0.6 times it
    in 6), the frontier grows slower (slower in 7 of 10, faster in 3; median 1.41x vs
    1.51x a year) and labs complete fewer runs (fewer in 8 of 10, as many in 2; median 12
    vs 18)."""
    a, b = "ambition 4", "ambition 2"
    ratio = c.values(a, "largest_run_mh100e_months") / c.values(b, "largest_run_mh100e_months")
    c.check("largest run, ambition 4 under 1.5x ambition 2's, seeds", (ratio < 1.5).sum(), ">=", 6)
    c.check("largest run, ambition 4 over ambition 2's, median ratio", np.median(ratio), "<", 1.0)
    c.below(a, b, "largest_run_mh100e_months", ">=", 6)
    c.check("largest run, ambition 4 under 0.6x ambition 2's, seeds", (ratio < 0.6).sum(), ">=", 3)
    key = "largest_run_growth_per_year"
    c.below(a, b, key, ">=", 6)
    c.median_of(a, key, "<", c.median(b, key))
    c.below(a, b, "training_runs_completed", ">=", 7)
    c.above(a, b, "training_runs_completed", "<=", 3)
    c.median_of(a, "training_runs_completed", "<", c.median(b, "training_runs_completed"))


@claim("arms-race")
def a_cap_on_training_runs_damps_the_race(c: Claims) -> None:
    """Lesson 2, extension (training_run_cap_h100e = 200000): the largest run stops at the
    cap times the run length, 0.8 million H100e-months, in every seed; labs complete far
    more, small runs (10 of 10; 63 vs 18) and end with less cash (7 of 10; median 1,193
    vs 2,709 billion USD). Their users are rationed a little more (7.8% vs 5.8%; more in
    9 seeds, less in 1), compute costs more (spot index mean 4.28 vs 3.44; higher in 8 of
    10) and what is built is used a little less (lower in 8 of 10; 90.8% vs 92.1%): the
    cap neither saves the labs money nor frees compute for their users."""
    a, b = "ambition 2, cap", "ambition 2"
    c.count(a, "largest_run_mh100e_months", lambda v: np.isclose(v, 0.8, rtol=0.01),
            "largest run at 0.8 million H100e-months, seeds", ">=", 9)  # fmt: skip
    c.above(a, b, "training_runs_completed", ">=", 9)
    c.below(a, b, "lab_cash_busd", ">=", 6)
    c.median_of(a, "lab_cash_busd", "<", c.median(b, "lab_cash_busd"))
    c.above(a, b, "rationed_mean", ">=", 5)
    c.median_of(a, "rationed_mean", ">", c.median(b, "rationed_mean"))
    # the spot index is higher with the cap: labs short for their users bid for compute
    c.above(a, b, "spot_mean_usd", ">=", 6)
    c.median_of(a, "spot_mean_usd", ">", c.median(b, "spot_mean_usd"))
    c.below(a, b, "utilisation_mean", ">=", 5)
    c.median_of(a, "utilisation_mean", "<", c.median(b, "utilisation_mean"))


@claim("consolidation")
def a_funding_winter_leaves_no_lasting_mark_on_capacity_after_five_years(c: Claims) -> None:
    """Lesson 3: starting in a funding winter leaves no consistent difference in capacity
    five years later (lower in 5 of 10, higher in 5; median 56 vs 57 million H100e);
    ownership is more concentrated (HHI 1,572 vs 1,343; higher in 7 of 10). The labs
    end richer, not poorer: their cash is higher in 8 of 10 and lower in 2 (median
    3,201 vs 1,514 billion USD). Exits are few either way and not more frequent (more
    in 4, fewer in 5; median 1 vs 1), about as many labs are left (fewer in 3, more in
    3; 10.5 vs 10), and acquisitions differ in no consistent direction (more in 6,
    fewer in 4; median 13.5 vs 8.5)."""
    a, b = "winter", "normal"
    c.above(a, b, "exits", "<=", 6)
    c.below(a, b, "exits", "<=", 7)
    c.median_of(a, "exits", "<=", c.median(b, "exits"))
    c.median_of(a, "exits", "<=", 3)
    c.median_of(b, "exits", "<=", 3)
    c.below(a, b, "active_labs", "<=", 7)
    c.above(a, b, "active_labs", "<=", 7)
    c.above(a, b, "acquisitions", "<=", 8)
    c.below(a, b, "acquisitions", "<=", 7)
    c.above(a, b, "lab_cash_busd", ">=", 6)
    c.below(a, b, "lab_cash_busd", "<=", 4)
    c.median_of(a, "lab_cash_busd", ">", c.median(b, "lab_cash_busd"))
    c.below(a, b, "capacity_mh100e", "<=", 7)
    c.above(a, b, "capacity_mh100e", "<=", 7)
    ratio = c.median(a, "capacity_mh100e") / c.median(b, "capacity_mh100e")
    c.check("capacity_mh100e: median winter over median normal", ratio, "in", (0.85, 1.2))
    c.above(a, b, "capacity_hhi", ">=", 5)
    c.median_of(a, "capacity_hhi", ">", c.median(b, "capacity_hhi"))


@claim("consolidation")
def merger_review_rarely_binds_in_five_years(c: Claims) -> None:
    """Lesson 3: the HHI review blocks no deal in five years in 9 of 10 seeds (1 in the
    other); switching it off leaves the end's capacity HHI within 10% in 9 of 10 seeds."""
    blocked = c.values("winter", "blocked_mergers")
    c.check("blocked_mergers: most in a seed (winter)", blocked.max(), "<=", 3)
    c.median_of("winter", "blocked_mergers", "<=", 1)
    above, below = paired(c.runs, "winter, no review", "winter", "capacity_hhi", rel=0.10)
    c.check("capacity_hhi: no review differs from review by >10%, seeds", above + below, "<=", 3)


@claim("consolidation")
def a_longer_winter_thins_the_labs_and_concentrates_capacity(c: Claims) -> None:
    """Lesson 3, extension (years = 10): labs keep leaving (fewer by 2035-12 than at
    2030-12 in 9 of 10, more in none; median 8 vs 10.5) and acquisitions keep coming
    (more in 10 of 10; median 24.5 vs 13.5), and ownership of capacity concentrates:
    the HHI is higher than at 2030-12 in 9 of 10 and lower in 1 (median 2,043 vs
    1,572); 7 of 10 seeds end above the 1,800 line (3 of 10 at 2030-12). Capacity grows
    about threefold (10 of 10; 172 vs 56 million H100e)."""
    a, b = "winter, 10 years", "winter"
    c.below(a, b, "active_labs", ">=", 7)
    c.above(a, b, "active_labs", "<=", 1)
    c.above(a, b, "acquisitions", ">=", 8)
    c.above(a, b, "capacity_hhi", ">=", 7)
    c.below(a, b, "capacity_hhi", "<=", 3)
    c.median_of(a, "capacity_hhi", ">", c.median(b, "capacity_hhi"))
    c.count(a, "capacity_hhi", lambda v: v > 1800, "HHI above 1,800, seeds", ">=", 5)
    c.count(b, "capacity_hhi", lambda v: v > 1800, "HHI above 1,800, seeds", "<=", 4)
    ratio = c.median(a, "capacity_mh100e") / c.median(b, "capacity_mh100e")
    c.check("capacity_mh100e: median 2035 over median 2030", ratio, "in", (2.5, 4.0))
    c.above(a, b, "capacity_mh100e", ">=", 9)


@claim("power-grid")
def the_grid_sets_how_much_capacity_comes_online(c: Claims) -> None:
    """Lesson 4: with half the grid, capacity by 2035-12 is lower (8 of 10 by more than
    10%; median 10.5 vs 21.6 million H100e), the spot index higher (10 of 10; mean 5.32
    vs 3.44 USD per H100e-hour) and the largest run smaller (10 of 10; 5.4 vs 17.3
    million H100e-months); few users are rationed on any grid, and the half grid
    rations more in every seed but only a little more (7.2% vs 5.8%): short labs raise
    their users' price instead. Doubling the grid adds capacity by 2035 (10 of 10; 44.8
    million, about twice) and lowers the rationing (9 of 10; 5.4%), but not reliably
    the spot index (lower in 6 of 10, higher in 4; 3.35 vs 3.44); the largest run is
    larger in the median (23.1 vs 17.3 million) and in 8 of 10 seeds, but smaller in 2."""
    half, one, two = "grid x0.5", "grid x1", "grid x2"
    c.above(one, half, "capacity_mh100e", ">=", 7, rel=0.10)
    ratio = c.median(one, "capacity_mh100e") / c.median(half, "capacity_mh100e")
    c.check("capacity_mh100e: median x1 over median x0.5", ratio, "in", (1.4, 3.0))
    c.below(one, half, "spot_mean_usd", ">=", 8)
    for arm in (half, one, two):
        c.median_of(arm, "rationed_mean", "<", 0.12)
    c.below(one, half, "rationed_mean", ">=", 8)
    c.above(one, half, "rationed_mean", "<=", 2)
    gap = c.median(half, "rationed_mean") - c.median(one, "rationed_mean")
    c.check("rationed_mean: median x0.5 minus median x1", gap, "in", (0.0, 0.04))
    c.above(one, half, "largest_run_mh100e_months", ">=", 8)
    c.above(two, one, "capacity_mh100e", ">=", 8, rel=0.05)
    ratio = c.median(two, "capacity_mh100e") / c.median(one, "capacity_mh100e")
    c.check("capacity_mh100e: median x2 over median x1", ratio, "in", (1.5, 2.6))
    c.below(two, one, "spot_mean_usd", "<=", 8)
    c.above(two, one, "spot_mean_usd", ">=", 2)
    ratio = c.median(two, "spot_mean_usd") / c.median(one, "spot_mean_usd")
    c.check("spot_mean_usd: median x2 over median x1", ratio, "in", (0.85, 1.15))
    c.below(two, one, "rationed_mean", ">=", 7)
    above, below = paired(c.runs, two, one, "largest_run_mh100e_months")
    c.check("largest_run_mh100e_months: x2 above x1, seeds", above, ">=", 6)
    c.check("largest_run_mh100e_months: x2 below x1, seeds", below, ">=", 1)
    c.median_of(two, "largest_run_mh100e_months", ">", c.median(one, "largest_run_mh100e_months"))


@claim("power-grid")
def less_grid_bites_at_once_more_grid_pays_off_partly_at_once(c: Claims) -> None:
    """Lesson 4, the asymmetry: at 2030-12 half the grid has cut capacity (by more than
    10% in 9 of 10; median 4.6 vs 7.6 million H100e, about two fifths less), while
    double the grid has added less (higher by more than 10% in 8 of 10, lower by more
    than 10% in 1; median 9.4 vs 7.6, about a fifth more); by 2035-12 each step about
    doubles capacity."""
    half, one, two = "grid x0.5", "grid x1", "grid x2"
    key = "capacity_month60_mh100e"
    c.below(half, one, key, ">=", 8, rel=0.10)
    above, below = paired(c.runs, two, one, key, rel=0.10)
    c.check("capacity_month60_mh100e: x2 above x1 by >10%, seeds", above, ">=", 6)
    c.check("capacity_month60_mh100e: x2 below x1 by >10%, seeds", below, "<=", 2)
    gain = c.median(two, key) / c.median(one, key)
    loss = c.median(one, key) / c.median(half, key)
    c.check("capacity_month60_mh100e: median x2 over median x1", gain, "in", (1.1, 1.45))
    c.check("capacity_month60_mh100e: median x0.5 over median x1", 1 / loss, "in", (0.45, 0.75))
    c.check("capacity_month60_mh100e: what halving takes over what doubling adds",
            loss / gain, ">", 1.15)  # fmt: skip


@claim("power-grid")
def a_grid_queue_hurts_at_once_and_to_the_end(c: Claims) -> None:
    """Lesson 4, extension (grid_min_wait_months = 48 on the half grid): capacity at
    2030-12 is lower (10 of 10; 1.94 vs 4.6 million H100e), and over the whole run the
    spot index is higher (10 of 10; mean 8.64 vs 5.32) and more users are rationed (9
    of 10; 12.9% vs 7.2%); by 2035-12 capacity has not caught up (lower in 8 of 10,
    higher in 2; median 8.6 vs 10.5 million H100e, about a fifth less)."""
    a, b = "grid x0.5, wait 48", "grid x0.5"
    c.below(a, b, "capacity_month60_mh100e", ">=", 9, rel=0.05)
    c.median_of(a, "spot_mean_usd", ">", c.median(b, "spot_mean_usd"))
    c.above(a, b, "spot_mean_usd", ">=", 8)
    c.below(a, b, "spot_mean_usd", "<=", 2)
    c.median_of(a, "rationed_mean", ">", c.median(b, "rationed_mean"))
    c.above(a, b, "rationed_mean", ">=", 7)
    c.below(a, b, "rationed_mean", "<=", 3)
    ratio = c.median(a, "capacity_mh100e") / c.median(b, "capacity_mh100e")
    c.check("capacity_mh100e: median wait 48 over median no wait", ratio, "in", (0.6, 0.95))
    c.below(a, b, "capacity_mh100e", ">=", 6)
    c.above(a, b, "capacity_mh100e", "<=", 4)


@claim("colossus-lease")
def xai_turns_seller_and_anthropic_rations_less(c: Claims) -> None:
    """Lesson 5: xAI sells capacity to other labs in every seed, the first deal signed by
    2026-03 in 7 of 10 and by 2026-09 in every seed, to Anthropic in only 4 of 10 seeds
    (Google DeepMind 6, Meta 6); Anthropic's users, growing faster than the market (S7),
    are rationed in 2026 a median 17.0% with the lease barred and 7.3% with it, less than
    half (lower in 10 of 10), and its revenue over 2026-2028 rises (8 of 10; by a median
    31 billion USD). xAI also buys capacity in 2026 in every seed."""
    a, b = "lease allowed", "lease barred"
    c.count(a, "owner_sales_to_labs", lambda v: v > 0, "xAI sells to labs, seeds", ">=", 10)
    c.count(b, "owner_sales_to_labs", lambda v: v > 0, "xAI sells to labs, seeds", "<=", 0)
    c.count(a, "owner_first_sale_month_index", lambda v: v <= 2,
            "first sale by 2026-03, seeds", ">=", 5)  # fmt: skip
    c.count(a, "owner_first_sale_month_index", lambda v: v <= 8,
            "first sale by 2026-09, seeds", ">=", 10)  # fmt: skip
    # Anthropic is among xAI's buyers in some seeds only: its leases come as often from others
    c.count(a, "owner_sold_to_buyer", lambda v: v > 0, "xAI sells to Anthropic, seeds", ">=", 2)
    c.count(a, "owner_sold_to_buyer", lambda v: v > 0, "xAI sells to Anthropic, seeds", "<=", 6)
    # the buyers vary with the seed: Google DeepMind and Meta are among them in some
    c.count(a, "owner_sold_to_google_deepmind", lambda v: v > 0,
            "xAI sells to Google DeepMind, seeds", ">=", 3)  # fmt: skip
    c.count(a, "owner_sold_to_meta", lambda v: v > 0, "xAI sells to Meta, seeds", ">=", 3)
    c.below(a, b, "buyer_rationed_first_year", ">=", 9)
    c.median_of(a, "buyer_rationed_first_year", "in", (0.03, 0.12))
    c.median_of(b, "buyer_rationed_first_year", "in", (0.12, 0.25))
    ratio = c.median(a, "buyer_rationed_first_year") / c.median(b, "buyer_rationed_first_year")
    c.check("buyer_rationed_first_year: median allowed over median barred", ratio, "in",
            (0.25, 0.55))  # fmt: skip
    c.above(a, b, "buyer_revenue_busd", ">=", 8)
    gain = c.values(a, "buyer_revenue_busd") - c.values(b, "buyer_revenue_busd")
    c.check("Anthropic's revenue gain, median billion USD", np.median(gain), "in", (15, 60))
    # xAI buys as well as sells: it signs contracts as a buyer in 2026 in every seed
    c.count(a, "owner_bought_first_year", lambda v: v > 0, "xAI buys in 2026, seeds", ">=", 9)


@claim("colossus-lease")
def the_seller_keeps_its_users_and_adds_tenants(c: Claims) -> None:
    """Lesson 5, the surprise: leasing costs xAI no users: its revenue from its own users
    over 2026-2028 is about the same with the lease (higher in 6 of 10, lower in 4;
    medians 123 and 127 billion USD): it leases what its users and its own training runs
    leave, a median 37 billion USD of lease income, far less than its users bring.
    Leasing does not reliably make it richer: its cash at 2028-12 is higher in 6 of 10
    seeds, lower in 4 (medians 827 vs 410 billion USD), the same seed's cash differing by
    a median of about 820 billion USD either way against at most 51 of lease income. Its
    lease price, a median 4.21 USD per H100e-hour (2.8-5.0), is about half the
    reported 7.8 USD per GPU-hour and below it in every seed."""
    a, b = "lease allowed", "lease barred"
    # no lower with the lease: higher in at least half the seeds, lower in at most half
    c.above(a, b, "owner_user_revenue_busd", ">=", 5)
    c.below(a, b, "owner_user_revenue_busd", "<=", 5)
    c.median_of(a, "owner_lease_income_busd", "<", c.median(a, "owner_user_revenue_busd"))
    c.median_of(a, "owner_lease_income_busd", "in", (15, 50))
    # no consistent gain in cash: neither way in more than 7 of 10 seeds
    c.above(a, b, "owner_cash_busd", "<=", 7)
    c.below(a, b, "owner_cash_busd", "<=", 7)
    swing = np.median(np.abs(c.values(a, "owner_cash_busd") - c.values(b, "owner_cash_busd")))
    c.check("owner_cash_busd: median same-seed difference over highest lease income",
            swing / c.values(a, "owner_lease_income_busd").max(), ">", 3)  # fmt: skip
    c.median_of(a, "owner_sale_price_usd", "in", (3.0, 5.5))
    c.check(
        "owner_sale_price_usd: highest seed", c.values(a, "owner_sale_price_usd").max(), "<", 7.0
    )


@claim("colossus-lease")
def richer_users_raise_the_lease_price(c: Claims) -> None:
    """Lesson 5, extension (revenue_usd_per_h100e_hour = 3.1): xAI's lease price rises
    (7 of 10; median 4.94 vs 4.21 USD per H100e-hour) and the spot index with it (10 of
    10; 5.95 vs 2.83)."""
    a, b = "lease allowed, revenue 3.1", "lease allowed"
    c.above(a, b, "owner_sale_price_usd", ">=", 6)
    c.above(a, b, "spot_mean_usd", ">=", 8)


@claim("brokers")
def a_tight_market_leaves_little_to_resell(c: Claims) -> None:
    """Lesson 6: in the growing classroom market labs resell on the exchange in 7 of 10
    seeds (a median 5.5 resales, in 2 of 120 months), but resold capacity is a median
    0.05% of the labs' compute (1.1% in the busiest seed) and under 1% of the capacity bid
    is filled: almost every lab is short, so few have capacity to spare (short labs raise
    their users' price, so only about 6% of users go unserved, with or without resale).
    Rationing, the spot index and utilisation show no consistent change against the
    market without resale (higher in 5 or fewer seeds, lower in 5 or fewer; utilisation
    higher in 4, lower in 3); the seeds without resales run exactly as without the
    secondary market."""
    a, b = "resale", "no resale"
    c.count(a, "resales", lambda v: v > 0, "seeds with resales", ">=", 5)
    c.count(b, "resales", lambda v: v > 0, "seeds with resales", "<=", 0)
    c.median_of(a, "resale_share_mean", "<", 0.01)
    c.check("resale_share_mean: highest seed (resale)",
            c.values(a, "resale_share_mean").max(), "<", 0.02)  # fmt: skip
    c.median_of(a, "fill_rate_mean", "<", 0.01)
    # few users go unserved, with or without resale
    c.median_of(a, "rationed_mean", "<", 0.12)
    c.median_of(b, "rationed_mean", "<", 0.12)
    for key in ("rationed_mean", "spot_mean_usd", "utilisation_mean"):
        c.above(a, b, key, "<=", 5)
        c.below(a, b, key, "<=", 5)
    # a seed where nothing trades runs exactly as without the secondary market
    idle = c.values(a, "resales") == 0
    same = [
        np.array_equal(c.values(a, k)[idle], c.values(b, k)[idle])
        for k in ("rationed_mean", "utilisation_mean", "spot_mean_usd", "lab_cash_busd")
    ]
    c.check("numbers that differ from no resale in the seeds without resales",
            len(same) - sum(same), "<=", 0)  # fmt: skip


@claim("brokers")
def in_a_tight_market_trades_clear_above_list_prices(c: Claims) -> None:
    """Lesson 6, the indices: in the growing market, in the seeds with trades, the trade
    index (VWAP) reads above the survey of providers' list prices in 5 of 7 seeds, by a
    median 0.42 USD per H100e-hour over the months with trades: buyers short of compute
    pay more for a month's block than providers with room list."""
    gap = c.values("resale", "vwap_minus_survey_usd")
    traded = gap[~np.isnan(gap)]
    c.check("seeds with trades (resale)", len(traded), ">=", 5)
    c.check("trade index above the survey, seeds with trades", (traded > 0).sum(), ">=",
            len(traded) - 3)  # fmt: skip
    c.check("trade index minus survey, median of seeds with trades", np.median(traded), ">", 0.2)


@claim("brokers")
def idle_reservations_are_resold_but_do_not_leave_labs_richer(c: Claims) -> None:
    """Lesson 6, extension (demand_growth_per_year = 0.7): with demand shrinking, labs
    hold reservations they no longer need and resell them in every seed (a median 180
    resales, in 62 of 120 months; 2.2% of the labs' compute on average, 16% in the
    busiest month) and a median 44% of the capacity bid is filled. Resale does not leave
    labs consistently richer: they end with less cash than without it in 4 of 10 seeds
    and more in 6 (median 93 vs 91 billion USD; resales clear near a spot index far below
    what holders pay, and which labs exit changes with resale); users are rationed no
    less (lower in 5, higher in 5; 1.9% vs 2.1%) and no more of the capacity is used, if
    anything less (utilisation higher in 3 of 10, lower in 7; 67% vs 70%)."""
    a, b = "resale, shrinking demand", "no resale, shrinking demand"
    c.count(a, "resales", lambda v: v > 0, "seeds with resales", ">=", 10)
    c.median_of(a, "resale_share_mean", "in", (0.01, 0.08))
    c.median_of(a, "resale_share_max", ">", 0.1)
    c.median_of(a, "fill_rate_mean", "in", (0.3, 0.6))
    # no consistent change in cash: neither way in more than 7 of 10 seeds
    c.below(a, b, "lab_cash_busd", "<=", 7)
    c.above(a, b, "lab_cash_busd", "<=", 7)
    c.below(a, b, "rationed_mean", "<=", 7)
    c.above(a, b, "rationed_mean", "<=", 7)
    drop = c.median(b, "rationed_mean") - c.median(a, "rationed_mean")
    c.check("rationed_mean: median drop with resale, share points", drop, "<", 0.01)
    # no more of the capacity used, if anything less: higher in at most half the seeds,
    # the median with resale not above the median without by more than a point
    c.above(a, b, "utilisation_mean", "<=", 5)
    gap = c.median(a, "utilisation_mean") - c.median(b, "utilisation_mean")
    c.check("utilisation_mean: median gap with resale, share points", gap, "<", 0.01)


@claim("brokers")
def with_idle_reservations_trades_clear_below_list_prices(c: Claims) -> None:
    """Lesson 6, extension, the indices: with demand shrinking the trade index reads
    below the survey in 10 of 10 seeds (median gap -0.69 USD per H100e-hour, against
    +0.42 in the growing market), below it in a median 82% of the months with trades:
    resale asks follow the spot index, which in a glut falls far below the list prices
    providers still post."""
    gap = c.values("resale, shrinking demand", "vwap_minus_survey_usd")
    c.check("trade index below the survey, seeds", (gap < 0).sum(), ">=", 9)
    c.check("trade index minus survey, median, shrinking demand", np.median(gap), "in",
            (-1.0, -0.3))  # fmt: skip
    c.median_of("resale, shrinking demand", "vwap_below_survey_share", ">", 0.7)


ALL_CLAIMS = [(lesson, fn) for lesson, fns in CLAIMS.items() for fn in fns]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lesson", "claim_fn"), ALL_CLAIMS, ids=[f.__name__ for _, f in ALL_CLAIMS]
)
def test_an_answers_claim_holds(lesson, claim_fn):
    """Every bound of the claim holds over the lesson's ten seeds, run now."""
    c = Claims(measure(lesson))
    claim_fn(c)
    assert c.checks, "a claim checks something"
    failed = "\n".join(str(x) for x in c.failed)
    assert c.failed == [], f"lesson-{lesson}: {claim_fn.__doc__}\nfails:\n{failed}"


def shown_value(text: str) -> float:
    return float(text.rstrip("%").replace(",", "")) / (100.0 if text.endswith("%") else 1.0)


def quoted_band(key: str, shown: str) -> tuple[float, float]:
    """The band around a quoted median that a fresh median must fall in: 25% of the
    value, or ABS_TOL of the key for small counts and shares."""
    want = shown_value(shown)
    tol = max(0.25 * abs(want), ABS_TOL.get(key, 0.0))
    return want - tol, want + tol


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
        low, high = quoted_band(key, shown)
        got = median(runs, arm, key)
        if not low <= got <= high:
            off.append(f"{arm} / {key}: page says {shown}, the model gives {got:.4g}")
    assert off == [], "; ".join(off)


@pytest.mark.slow
def test_the_numbers_script_prints_every_quoted_median_and_check(tmp_path):
    """scripts/lesson_numbers.py reads the same claims: given this session's runs of a
    lesson it prints each quoted median and each check, and says that all hold."""
    saved = tmp_path / "numbers.json"
    saved.write_text(json.dumps({"brokers": measure("brokers")}), encoding="utf-8")
    script = REPO / "scripts" / "lesson_numbers.py"
    cmd = [sys.executable, str(script), "--load", str(saved), "--lesson", "brokers"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    for arm, key, shown in QUOTED["brokers"]:
        assert f"ok  {arm} / {key}: {shown} →" in done.stdout
    for fn in CLAIMS["brokers"]:
        assert f"  {fn.__name__}\n" in done.stdout
    assert "FAIL" not in done.stdout and done.stdout.rstrip().endswith("all numbers hold")


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
