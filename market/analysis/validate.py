"""Validation: run a calibrated scenario over many seeds and check it against what is known.

    compute-market validate [--scenario colossus-2026] [--seeds 20] [--out runs/validation]
                            [--overwrite] [--workers N] [--years Y]

The validation is declared like every experiment (market.analysis.experiment): one arm
(the scenario as calibrated), ``--seeds`` replicates, and one metric per known pattern
with its target band (``PATTERNS``); market.view.report writes its figures and report.
Each seed runs the scenario for the validation window (``VALIDATION_YEARS`` from its
start month, or ``--years``) through ``market.run.runner.run``, in parallel processes when
the machine has more than one core (``market.run.sweep``, with a progress bar). Every pattern
below is measured in every run; the report gives, per pattern, the target band and the
calibration row it comes from, the model's median and 90% interval across seeds, and
pass or fail. A pattern passes when the median across seeds lies in the band, or, for an
event, when it happens in at least half of the seeds. A yearly pattern (Nvidia's share of
supply) is an event that holds in a seed when its value for every calendar year of the
run lies in its band; the report also gives each year's median and 90% interval across
seeds. Nothing in the model knows these
targets: a miss is a finding about the model or its calibration, not something to tune
away here.

Output folder (written whole or not at all)::

    out/validation.md   the report
    out/patterns.csv    one row per pattern: band, median, 5th and 95th percentile, result
                        (a yearly pattern also: its band and the yearly values' percentiles)
    out/seeds.csv       one row per seed: every measured value
    out/figures/*.png   one figure per pattern
    out/runs/           the sweep folder (manifest.json, runs/, summary.csv, timeseries.csv)

Exit codes: 0 the report was written (whether or not patterns pass), 1 some runs failed
(the report covers the others), 2 bad input (unknown scenario, --seeds below 1, an
output folder that cannot be written), 130 interrupted.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market.analysis.experiment import Experiment, Metric, Plan, Target, tasks_for
from market.core.model import month_label
from market.io.scenario import ScenarioError, load_scenario
from market.run.sweep import run_sweep

DEFAULT_SCENARIO = "colossus-2026"
DEFAULT_SEEDS = 20
DEFAULT_OUT = "runs/validation"
VALIDATION_YEARS = 3.0  # 2026-2028 for colossus-2026: the years the calibration speaks about
RUN_FN = "market.analysis.validate:run_seed"

# Names of the seed story's actors; other scenarios fall back to rules (see run_seed).
SHORT_LAB = "Anthropic"
LEADING_VENDOR = "Nvidia"
VENDOR_BAND = (0.60, 0.85)  # C9: ~70-80% of accelerator revenue, widened for unit vs revenue share
VENDOR_PREFIX = "leading_vendor_share_"
EARLY_MONTHS = 4  # January to April: before the reported lease (S1, May 2026)
AFTER_MONTHS = 6  # how long "after it secures capacity" is measured
# rationed shares are 1 - served / demand, so a lab that rations nobody can show 1e-16;
# a fall smaller than this is rounding, not less rationing
RATIONING_TOLERANCE = 1e-6
LEASE_PRICE_REPORTED = 1.25e9 / (220_000 * 730.0)  # S3 over S2: 7.8 USD per H100e-hour


class ValidationInputError(ValueError):
    """A bad flag value; the message names the flag, the value and what is allowed."""


# --------------------------------------------------------------------------- patterns


def _pattern(
    key: str,
    title: str,
    source: str,
    column: str,
    low: float,
    high: float,
    fmt: Callable[[float], str],
    measured: str,
    depends: str,
    event: bool = False,
    share: bool = False,
    yearly_band: tuple[float, float] | None = None,
    yearly_prefix: str = "",
) -> Metric:
    """A known fact the model should reproduce, as a metric with a target.

    ``column`` names the per-seed value in seeds.csv (the run function's summary value).
    ``low``/``high`` bound the target for the median across seeds; for an event the
    per-seed value is 0 or 1 and the target is the share of seeds in which it happens. A
    yearly pattern is an event that holds when every calendar year's value lies within
    ``yearly_band``; the yearly values are the seeds.csv columns ``yearly_prefix + year``.
    A share's misses are told in percentage points, not as a factor.
    """
    target = Target(low, high, source, key, event, yearly_band, yearly_prefix)
    kind = "share" if share else "level"
    return Metric(
        column, title, None, fmt=fmt, kind=kind, target=target, measured=measured, depends=depends
    )


def band_text(pattern: Metric) -> str:
    return pattern.target.band_text(pattern.text)


def _x(v: float) -> str:
    return f"{v:.2f}x per year"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _usd(v: float) -> str:
    return f"${v:.2f}/H100e-hour"


PATTERNS: tuple[Metric, ...] = (
    _pattern(
        "compute_stock_growth",
        "AI compute stock grows 2.5-4x per year",
        "G4 (global stock 3.3x per year), G5 (Nvidia installed stock 2.3x per year)",
        "compute_stock_growth_per_year",
        2.5,
        4.0,
        _x,
        "the stock of chips delivered (delivered_stock_h100e: online capacity plus the "
        "chips delivered during the run to sites still waiting for their building or grid "
        "connection, less retirements; G4 and G5 count chips sold, powered or not), last "
        "month over first month, annualised. Online capacity (capacity_h100e_total) and "
        "every chip at a site (installed_h100e_total, the opening sites under construction "
        "included from the first month) are reported beside it",
        "chip output and its expansion, builders' orders and their funding, H100e per MW "
        "of each chip generation, providers' build decisions; online capacity also grid "
        "queues and build times",
    ),
    _pattern(
        "frontier_run_growth",
        "The largest training run grows 3-6x per year",
        "G1 (frontier training compute 4-5x per year)",
        "frontier_run_growth_per_year",
        3.0,
        6.0,
        _x,
        "largest completed run (largest_run_h100e_months), last month over first month, annualised",
        "race_ambition, training budgets, contiguous blocks labs can secure, run length",
    ),
    _pattern(
        "nvidia_share",
        "Nvidia's share of accelerator supply stays within 60-85% every year",
        "C9 (Nvidia ~70-80% of AI accelerator revenue; ASICs growing faster)",
        "leading_vendor_share_in_band_every_year",
        0.5,
        1.0,
        _pct,
        "for each calendar year of the run, the leading merchant vendor's H100e delivered "
        "over all suppliers' H100e delivered that year (suppliers.csv, delivered_h100e; "
        "a part year counts its months); 1 when every year's share lies within "
        f"{VENDOR_BAND[0]:.0%}-{VENDOR_BAND[1]:.0%}, else 0. The yearly shares are the "
        f"`{VENDOR_PREFIX}<year>` columns of seeds.csv",
        "which supplier each builder orders from (price and backlog), captive programs' "
        "output growth, who builds",
        event=True,
        share=True,
        yearly_band=VENDOR_BAND,
        yearly_prefix=VENDOR_PREFIX,
    ),
    _pattern(
        "short_lab_rations_early",
        "The capacity-short lab rations a few percent of demand in early 2026 (~7%)",
        "S6 (peak-hour limits hit ~7% of users)",
        "short_lab_rationed_early",
        0.02,
        0.15,
        _pct,
        f"the capacity-short lab's mean rationed share in the first {EARLY_MONTHS} months",
        "the lab's opening contracts against its demand, a training run's claim on its "
        "pool, how fast it can buy more",
        share=True,
    ),
    _pattern(
        "short_lab_rations_less_after",
        "... and less after it secures capacity",
        "S9 (usage limits doubled, peak-hour limits removed after the deal)",
        "short_lab_rationing_falls",
        0.5,
        1.0,
        _pct,
        f"1 when the lab's mean rationed share over the {AFTER_MONTHS} months after its "
        "first lease of a rival lab's whole site starts (without one: months 7-12) is below "
        "its early mean, else 0; the difference is in seeds.csv",
        "the same as above, and whether a lease happens",
        event=True,
    ),
    _pattern(
        "lab_lease_first_year",
        "A lab leases a rival lab's whole site in 2026",
        "S1, S5 (Anthropic leases xAI's Colossus 1, May 2026)",
        "lab_lease_first_year",
        0.5,
        1.0,
        _pct,
        "1 when an exclusive whole-site contract with a lab on both sides is signed in the "
        "first calendar year of the run",
        "lease_to_rival_labs, the owner's own need, whole-site quotes, the buyer's gap and "
        "reservation price",
        event=True,
    ),
    _pattern(
        "lab_lease_price",
        "Its price lies within a factor of two of $7.8/H100e-hour",
        "S3 over S2 ($1.25B a month / 220,000 GPUs / 730 h)",
        "lab_lease_price_usd_per_h100e_hour",
        LEASE_PRICE_REPORTED / 2,
        LEASE_PRICE_REPORTED * 2,
        _usd,
        "price of the first such lease (seeds without one are left out)",
        "the seller's cost floor and scarcity markup, the buyer's reservation price "
        "(the spot index times outside_option_markup for the part of the site other quotes "
        "could deliver; beyond it the users the buyer would turn away, or the block's race "
        "value), bargaining power",
    ),
)


# --------------------------------------------------------------------------- one seed


def _growth_per_year(series: pd.Series) -> float:
    values = series.to_numpy(dtype=float)
    if len(values) < 2 or not values[0] > 0 or not values[-1] > 0:
        return math.nan
    return float((values[-1] / values[0]) ** (12.0 / (len(values) - 1)))


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def _short_lab(model, labs: pd.DataFrame) -> str:
    """The story's buyer if the scenario has it, else the large lab rationing most early."""
    names = set(labs["name"]) if len(labs) else set()
    if SHORT_LAB in names:
        return SHORT_LAB
    shares = {r["name"]: r["initial_share"] for r in model.spec.tables["lab"] if r["count"] == 1}
    total = sum(r["initial_share"] * r["count"] for r in model.spec.tables["lab"]) or 1.0
    large = [n for n, s in shares.items() if s / total >= 0.05 and n in names]
    if not large:
        return ""
    early = (
        labs[labs["name"].isin(large)]
        .groupby("name", sort=True)["rationed_share"]
        .apply(lambda s: s.iloc[:EARLY_MONTHS].mean())
    )
    return str(early.idxmax())


def _leading_vendor(suppliers: pd.DataFrame) -> str:
    """The story's vendor if the scenario has it, else the merchant with the largest
    output in the first month."""
    if not len(suppliers):
        return ""
    if LEADING_VENDOR in set(suppliers["name"]):
        return LEADING_VENDOR
    first = suppliers[
        (suppliers["month"] == suppliers["month"].min()) & ~suppliers["captive"].astype(bool)
    ]
    if not len(first):
        return ""
    first = first.sort_values(["production_h100e_per_month", "agent_id"], ascending=[False, True])
    return str(first.iloc[0]["name"])


def yearly_vendor_shares(suppliers: pd.DataFrame, vendor: str) -> dict[str, float]:
    """The vendor's share of all H100e delivered in each calendar year of the run
    (years with no deliveries at all are left out)."""
    if not vendor or not len(suppliers):
        return {}
    year = suppliers["month"].str[:4]
    total = suppliers.groupby(year)["delivered_h100e"].sum()
    own = (
        suppliers[suppliers["name"] == vendor]
        .groupby(year[suppliers["name"] == vendor])["delivered_h100e"]
        .sum()
    )
    return {str(y): float(own.get(y, 0.0) / t) for y, t in total.items() if t > 0}


def rationing_falls(early: float, after: float) -> float:
    """1.0 when the later mean rationed share is below the early one by more than
    rounding, 0.0 when not, NaN when either is unknown."""
    if not (math.isfinite(early) and math.isfinite(after)):
        return math.nan
    return 1.0 if after < early - RATIONING_TOLERANCE else 0.0


def _short_lab_columns(frame: pd.DataFrame, labs: pd.DataFrame, short: str) -> None:
    """Add the capacity-short lab's monthly columns to ``frame``."""
    own = labs[labs["name"] == short].set_index("month") if short else pd.DataFrame()
    for col, src in (
        ("short_lab_rationed_share", "rationed_share"),
        ("short_lab_compute_h100e", "compute_h100e"),
        ("short_lab_demand_share", "share"),
    ):
        frame[col] = frame["month"].map(own[src]) if len(own) else math.nan


def _vendor_values(suppliers: pd.DataFrame) -> dict[str, Any]:
    """The leading vendor, its yearly shares, whether every year is in band, and each
    supplier's H100e delivered over the run."""
    vendor = _leading_vendor(suppliers)
    yearly = yearly_vendor_shares(suppliers, vendor)
    lo, hi = VENDOR_BAND
    in_band = (1.0 if all(lo <= v <= hi for v in yearly.values()) else 0.0) if yearly else math.nan
    values: dict[str, Any] = {
        "leading_vendor": vendor,
        "leading_vendor_share_in_band_every_year": in_band,
        "leading_vendor_share_min_year": min(yearly.values()) if yearly else math.nan,
        "leading_vendor_share_max_year": max(yearly.values()) if yearly else math.nan,
        **{f"{VENDOR_PREFIX}{y}": v for y, v in yearly.items()},
    }
    return values


def _lab_leases(model, labs: pd.DataFrame, book: pd.DataFrame) -> pd.DataFrame:
    """Exclusive whole-site contracts with a lab on both sides, signed during the run."""
    lab_names = {r["name"] for r in model.spec.tables["lab"]} | set(
        labs["name"] if len(labs) else []
    )
    leases = book[
        book["exclusive"].astype(bool)
        & book["buyer"].isin(lab_names)
        & book["seller"].isin(lab_names)
        & (book["origin"] != "opening book")
    ]
    return leases.sort_values(["signed_month", "contract_id"])


def _lease_values(lease) -> dict[str, Any]:
    """The first lease of the first year (None: there was none)."""
    none = lease is None
    return {
        "lab_lease_first_year": 0.0 if none else 1.0,
        "lab_lease_signed_month": "" if none else str(lease["signed_month"]),
        "lab_lease_buyer": "" if none else str(lease["buyer"]),
        "lab_lease_seller": "" if none else str(lease["seller"]),
        "lab_lease_facility": "" if none else str(lease["facility"]),
        "lab_lease_h100e": math.nan if none else float(lease["capacity_h100e"]),
        "lab_lease_term_months": -1 if none else int(lease["term_months"]),
        "lab_lease_purpose": "" if none else str(lease["purpose"]),
        "lab_lease_price_usd_per_h100e_hour": math.nan
        if none
        else float(lease["price_usd_per_h100e_hour"]),
    }


TERM_PREFIX = "terms_"  # seeds.csv: contracts signed by seller type and term
TERM_PRICE_PREFIX = "term_price_"  # seeds.csv: volume-weighted price by term


def _term_values(model, book: pd.DataFrame) -> dict[str, Any]:
    """Contracts signed during the run (no opening book, no resales) by the seller's
    type and term, and each term's volume-weighted price per H100e-hour."""
    signed = book[~book["origin"].isin(["opening book", "resale"])]
    kinds = {name: str(getattr(f, "kind", "other")) for name, f in model.firms_by_name.items()}
    out: dict[str, Any] = {}
    for (kind, term), n in (
        signed.groupby([signed["seller"].map(kinds).fillna("other"), "term_months"]).size().items()
    ):
        out[f"{TERM_PREFIX}{kind}_{int(term)}"] = float(n)
    for term, rows in signed.groupby("term_months"):
        h100e = rows["capacity_h100e"].sum()
        if h100e > 0:
            price = (rows["price_usd_per_h100e_hour"] * rows["capacity_h100e"]).sum() / h100e
            out[f"{TERM_PRICE_PREFIX}{int(term)}"] = float(price)
    return out


def _rationing_values(frame: pd.DataFrame, leases: pd.DataFrame, short: str) -> dict[str, Any]:
    """The short lab's early rationing and whether it falls after its first lease starts
    (without one: in months 7-12)."""
    series = frame["short_lab_rationed_share"]
    early = _mean(series.iloc[:EARLY_MONTHS])
    own_leases = leases[leases["buyer"] == short]
    if len(own_leases):
        start = own_leases.iloc[0]["start_month"]
        after_rows = series[frame["month"] >= start].iloc[:AFTER_MONTHS]
        after_from = str(start)
    else:
        after_rows = series.iloc[6:12]
        after_from = str(frame["month"].iloc[6]) if len(frame) > 6 else ""
    after = _mean(after_rows)
    known = math.isfinite(early) and math.isfinite(after)
    return {
        "short_lab": short,
        "short_lab_rationed_early": early,
        "short_lab_rationed_after": after,
        "short_lab_after_from": after_from,
        "short_lab_rationing_change": after - early if known else math.nan,
        "short_lab_rationing_falls": rationing_falls(early, after),
    }


def _growth_values(ts: pd.DataFrame) -> dict[str, Any]:
    return {
        "compute_stock_growth_per_year": _growth_per_year(ts["delivered_stock_h100e"]),
        "delivered_stock_h100e_first": float(ts["delivered_stock_h100e"].iloc[0]),
        "delivered_stock_h100e_last": float(ts["delivered_stock_h100e"].iloc[-1]),
        "online_capacity_growth_per_year": _growth_per_year(ts["capacity_h100e_total"]),
        "installed_growth_per_year": _growth_per_year(ts["installed_h100e_total"]),
        "installed_h100e_first": float(ts["installed_h100e_total"].iloc[0]),
        "installed_h100e_last": float(ts["installed_h100e_total"].iloc[-1]),
        "capacity_h100e_first": float(ts["capacity_h100e_total"].iloc[0]),
        "capacity_h100e_last": float(ts["capacity_h100e_total"].iloc[-1]),
        "frontier_run_growth_per_year": _growth_per_year(ts["largest_run_h100e_months"]),
        "largest_run_h100e_months_first": float(ts["largest_run_h100e_months"].iloc[0]),
        "largest_run_h100e_months_last": float(ts["largest_run_h100e_months"].iloc[-1]),
    }


def measure(result) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-month rows (the run's time series plus the capacity-short lab's columns) and
    every per-seed value the patterns need, from one finished run."""
    model, ts, labs, book = result.model, result.timeseries, result.labs, result.contracts
    frame = ts.copy()
    short = _short_lab(model, labs)
    _short_lab_columns(frame, labs, short)
    suppliers = result.suppliers
    leases = _lab_leases(model, labs, book)
    in_year = leases[leases["signed_month"].str[:4] == model.p["start_month"][:4]]
    rationing = _rationing_values(frame, leases, short)
    summary = {
        **_growth_values(ts),
        **_vendor_values(suppliers),
        "merchant_share_12m": float(ts["merchant_share_of_chip_supply"].iloc[-1]),
        **rationing,
        "lab_leases_whole_site": len(leases),
        **_term_values(model, book),
        **_lease_values(in_year.iloc[0] if len(in_year) else None),
        "spot_price_index_mean_usd_per_h100e_hour": float(
            ts["spot_price_index_usd_per_h100e_hour"].mean()
        ),
    }
    if len(suppliers):
        delivered = suppliers.groupby("name", sort=True)["delivered_h100e"].sum().to_dict()
        for name, value in delivered.items():
            summary[f"delivered_h100e_{name}"] = float(value)
    return frame, summary


def run_seed(task: dict) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run function for market.run.sweep: one seed of the scenario through market.run.runner.run."""
    from market.run import runner

    result = runner.run(
        task["scenario"],
        seed=task["seed"],
        years=task["years"],
        overrides=task.get("overrides") or {},
    )
    return measure(result)


# --------------------------------------------------------------------------- statistics


@dataclass
class Outcome:
    pattern: Metric
    values: np.ndarray  # finite per-seed values
    n_seeds: int
    median: float
    p5: float
    p95: float
    passed: bool
    miss: str  # "" when passed
    yearly: pd.DataFrame | None = None  # seed x calendar year values of a yearly pattern

    @property
    def result(self) -> str:
        return "pass" if self.passed else "FAIL"


def yearly_table(pattern: Metric, seeds: pd.DataFrame) -> pd.DataFrame:
    """Seeds x calendar years: the yearly values of a yearly pattern."""
    cols = sorted(
        c
        for c in seeds.columns
        if c.startswith(pattern.target.yearly_prefix)
        and c[len(pattern.target.yearly_prefix) :].isdigit()
    )
    table = seeds[cols].apply(pd.to_numeric, errors="coerce")
    table.columns = [c[len(pattern.target.yearly_prefix) :] for c in cols]
    return table


def _yearly_miss(pattern: Metric, table: pd.DataFrame) -> str:
    if pattern.target.yearly_band is None:
        return ""
    lo, hi = pattern.target.yearly_band
    parts = []
    for year in table.columns:
        v = table[year].dropna()
        if not len(v):
            continue
        inside = int(((v >= lo) & (v <= hi)).sum())
        parts.append(
            f"{year}: median {pattern.text(float(v.median()))}, {inside} of {_plural(len(v), 'seed')} in band"
        )
    return "; ".join(parts)


def _event_outcome(pattern: Metric, seeds: pd.DataFrame, values: np.ndarray) -> Outcome:
    """An event (or a yearly pattern): passes when it holds in enough seeds."""
    target, n = pattern.target, len(seeds)
    share = float(values.sum()) / n if n else math.nan
    passed = n > 0 and share >= target.low
    table = yearly_table(pattern, seeds) if target.yearly_band is not None else None
    miss = ""
    if not passed and table is not None:
        miss = (
            f"every year in band in {int(values.sum())} of {_plural(n, 'seed')} "
            f"({share:.0%}; the target is at least {target.low:.0%}); "
            + _yearly_miss(pattern, table)
        )
    elif not passed:
        miss = (
            f"happens in {int(values.sum())} of {_plural(n, 'seed')} ({share:.0%}); "
            f"the target is at least {target.low:.0%}"
        )
    return Outcome(pattern, values, n, share, math.nan, math.nan, passed, miss, table)


def _miss_text(pattern: Metric, values: np.ndarray, med: float) -> str:
    """How far the median lies outside the band."""
    low, high = pattern.target.low, pattern.target.high
    edge = low if med < low else high
    side = "below" if med < low else "above"
    if pattern.kind == "share":
        by = f"by {100 * abs(edge - med):.1f} percentage points"
    elif med > 0 and edge > 0:
        by = f"by a factor of {max(edge / med, med / edge):.2f}"
    else:
        by = f"by {pattern.text(abs(edge - med))}"
    inside = int(((values >= low) & (values <= high)).sum())
    return (
        f"median {pattern.text(med)} is {side} the band {band_text(pattern)} {by}; "
        f"{inside} of {_plural(len(values), 'seed')} inside it"
    )


def evaluate(pattern: Metric, seeds: pd.DataFrame) -> Outcome:
    """The pattern's statistics across seeds and whether it passes."""
    raw = (
        pd.to_numeric(seeds[pattern.name], errors="coerce")
        if pattern.name in seeds
        else pd.Series(dtype=float)
    )
    values = raw[np.isfinite(raw)].to_numpy(dtype=float)
    n = len(seeds)
    if pattern.target.event or pattern.target.yearly_band is not None:
        return _event_outcome(pattern, seeds, values)
    if len(values) == 0:
        nothing = "no seed produced a value (see the definition)"
        return Outcome(pattern, values, n, math.nan, math.nan, math.nan, False, nothing)
    med = float(np.median(values))
    p5, p95 = (float(np.percentile(values, q)) for q in (5, 95))
    passed = pattern.target.low <= med <= pattern.target.high
    miss = "" if passed else _miss_text(pattern, values, med)
    return Outcome(pattern, values, n, med, p5, p95, passed, miss)


# --------------------------------------------------------------------------- report


def outcomes_table(outcomes: list[Outcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        p = o.pattern
        flat = _yearly_values(o)
        y5, y50, y95 = (
            (float(np.percentile(flat, q)) for q in (5, 50, 95)) if len(flat) else (math.nan,) * 3
        )
        rows.append(
            {
                "pattern": p.target.key,
                "title": p.label,
                "source": p.target.source,
                "event": p.target.event,
                "target_low": p.target.low,
                "target_high": p.target.high,
                "median": o.median,
                "p5": o.p5,
                "p95": o.p95,
                "seeds_with_value": len(o.values),
                "seeds": o.n_seeds,
                "result": o.result,
                "yearly_low": p.target.yearly_band[0] if p.target.yearly_band else math.nan,
                "yearly_high": p.target.yearly_band[1] if p.target.yearly_band else math.nan,
                "yearly_median": y50,
                "yearly_p5": y5,
                "yearly_p95": y95,
            }
        )
    return pd.DataFrame(rows)


def _yearly_values(o: Outcome) -> np.ndarray:
    if o.yearly is None:
        return np.array([])
    flat = o.yearly.to_numpy(dtype=float).ravel()
    return flat[np.isfinite(flat)]


def _value_text(o: Outcome) -> tuple[str, str]:
    """(median, 90% interval) as the report prints them; for a yearly pattern the
    number of seeds in which it holds, and the median and interval of the yearly values
    over all seeds and years."""
    p = o.pattern
    if p.target.yearly_band is not None:
        if not o.n_seeds:
            return "n/a", ""
        flat = _yearly_values(o)
        held = f"{int(o.values.sum())} of {_plural(o.n_seeds, 'seed')} ({o.median:.0%})"
        if not len(flat):
            return held, ""
        y5, y50, y95 = (float(np.percentile(flat, q)) for q in (5, 50, 95))
        return (
            f"{held}; yearly values: median {p.text(y50)}",
            f"{p.text(y5)} to {p.text(y95)} (yearly values)",
        )
    if p.target.event:
        if not o.n_seeds:
            return "n/a", ""
        return f"{int(o.values.sum())} of {_plural(o.n_seeds, 'seed')} ({o.median:.0%})", ""
    if not len(o.values):
        return "n/a", ""
    return p.text(o.median), f"{p.text(o.p5)} to {p.text(o.p95)}"


def _head_lines(scenario, seeds, outcomes, years, start, end, n_tasks, n_failed) -> list[str]:
    n_pass = sum(o.passed for o in outcomes)
    lines = [f"# Validation of scenario `{scenario}`", ""]
    first, last = (int(seeds["seed"].min()), int(seeds["seed"].max())) if len(seeds) else (0, 0)
    which = f"{first}" if first == last else f"{first} to {last}"
    lines.append(
        f"{_plural(len(seeds), 'seed')} ({which}), "
        f"{years:g} {'year' if years == 1 else 'years'} each ({start} to {end}); "
        f"{_plural(n_tasks, 'run')}, {n_failed} failed."
        if len(seeds)
        else f"No run finished ({_plural(n_tasks, 'run')}, {n_failed} failed)."
    )
    lines += [
        "",
        f"**{n_pass} of {len(outcomes)} patterns pass.** A pattern passes when the median across "
        "seeds lies in the target band (for an event: when it happens in at least the stated share "
        "of seeds). The 90% interval runs from the 5th to the 95th percentile across seeds.",
        "",
        "| pattern | source | target | model median | 90% interval | result |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        med, interval = _value_text(o)
        lines.append(
            f"| {o.pattern.label} | {o.pattern.target.source} | {band_text(o.pattern)} | {med} | "
            f"{interval or '-'} | **{o.result}** |"
        )
    failed = [o for o in outcomes if not o.passed]
    lines += ["", "## What fails and by how much", ""]
    if failed:
        return lines + [f"- **{o.pattern.label}**: {o.miss}." for o in failed]
    return [*lines, "Nothing: every pattern passes."]


def _yearly_lines(o: Outcome) -> list[str]:
    """A yearly pattern's table: each year's median, interval and seeds in band."""
    band = o.pattern.target.yearly_band
    if o.yearly is None or not o.yearly.shape[1] or band is None:
        return []
    lo, hi = band
    fmt = o.pattern.text
    lines = [
        "",
        f"## {o.pattern.label}: year by year",
        "",
        "| year | median across seeds | 90% interval | seeds in band |",
        "|---|---|---|---|",
    ]
    for year in o.yearly.columns:
        v = o.yearly[year].dropna().to_numpy(dtype=float)
        if not len(v):
            continue
        inside = int(((v >= lo) & (v <= hi)).sum())
        lines.append(
            f"| {year} | {fmt(float(np.median(v)))} | {fmt(float(np.percentile(v, 5)))} to "
            f"{fmt(float(np.percentile(v, 95)))} | {inside} of {len(v)} |"
        )
    return lines


def _stock_lines(seeds: pd.DataFrame) -> list[str]:
    """The stock of chips delivered beside online capacity: first and last month and
    growth a year (medians and 90% intervals across seeds)."""
    cols = ("delivered_stock_h100e_first", "installed_h100e_first", "capacity_h100e_first")
    if not len(seeds) or any(c not in seeds for c in cols):
        return []

    def cell(column: str, scale: float, fmt: str) -> str:
        v = pd.to_numeric(seeds[column], errors="coerce").dropna().to_numpy(dtype=float)
        if not len(v):
            return "-"
        lo, mid, hi = np.percentile(v, [5, 50, 95]) / scale
        return f"{mid:{fmt}} ({lo:{fmt}} to {hi:{fmt}})"

    lines = ["", "## The compute stock: chips delivered, capacity online, chips at sites", ""]
    lines += [
        "| measure | first month (M H100e) | last month (M H100e) | growth per year |",
        "|---|---|---|---|",
    ]
    for label, first, last, growth in (
        (
            "chips delivered (the pattern)",
            "delivered_stock_h100e_first",
            "delivered_stock_h100e_last",
            "compute_stock_growth_per_year",
        ),
        (
            "capacity online",
            "capacity_h100e_first",
            "capacity_h100e_last",
            "online_capacity_growth_per_year",
        ),
        (
            "every chip at a site",
            "installed_h100e_first",
            "installed_h100e_last",
            "installed_growth_per_year",
        ),
    ):
        lines.append(
            f"| {label} | {cell(first, 1e6, '.2f')} | {cell(last, 1e6, '.2f')} | "
            f"{cell(growth, 1.0, '.2f')}x |"
        )
    return lines


def _actors_lines(seeds: pd.DataFrame) -> list[str]:
    """Who the capacity-short lab and the leading vendor were, and the first leases."""
    if not len(seeds):
        return []
    lines = ["", "## The actors", ""]
    short = seeds["short_lab"].replace("", np.nan).dropna()
    if len(short):
        names = short.value_counts()
        who = ", ".join(f"{k} ({_plural(v, 'seed')})" for k, v in names.items())
        lines.append(f"- Capacity-short lab: {who}.")
    vendor = seeds["leading_vendor"].replace("", np.nan).dropna()
    if len(vendor):
        lines.append(f"- Leading merchant vendor: {vendor.iloc[0]}.")
    return lines + _lease_lines(seeds[seeds["lab_lease_first_year"] == 1])


def _lease_lines(leased: pd.DataFrame) -> list[str]:
    if not len(leased):
        return []
    pairs = (
        leased["lab_lease_buyer"]
        + " leases "
        + leased["lab_lease_facility"]
        + " from "
        + leased["lab_lease_seller"]
    ).value_counts()
    lines = [
        "- First whole-site lease between labs in the first year: "
        + "; ".join(f"{k} ({_plural(v, 'seed')})" for k, v in pairs.items())
        + ".",
        "",
        "| seed | signed | buyer | seller | site | H100e | term (months) | purpose | "
        "USD per H100e-hour |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in leased.sort_values("seed").iterrows():
        lines.append(
            f"| {int(r['seed'])} | {r['lab_lease_signed_month']} | {r['lab_lease_buyer']} | "
            f"{r['lab_lease_seller']} | {r['lab_lease_facility']} | "
            f"{r['lab_lease_h100e']:,.0f} | {int(r['lab_lease_term_months'])} | "
            f"{r['lab_lease_purpose']} | {r['lab_lease_price_usd_per_h100e_hour']:.2f} |"
        )
    return lines


def _term_lines(seeds: pd.DataFrame) -> list[str]:
    """Contracts signed during the run by seller type and term (mean per seed), and the
    price by term (median over seeds of the volume-weighted price)."""
    counts = [c for c in seeds.columns if c.startswith(TERM_PREFIX)]
    if not counts:
        return []
    table = seeds[counts].apply(pd.to_numeric, errors="coerce").fillna(0.0).mean()
    cells: dict[str, dict[int, float]] = {}
    for col, n in table.items():
        kind, term = col[len(TERM_PREFIX) :].rsplit("_", 1)
        cells.setdefault(kind, {})[int(term)] = float(n)
    terms = sorted({t for row in cells.values() for t in row})
    lines = [
        "",
        "## Contract terms",
        "",
        "Contracts signed during the run (opening book and resales aside), mean per seed, "
        "by the seller's type and term (months):",
        "",
        "| seller | " + " | ".join(str(t) for t in terms) + " |",
        "|---|" + "---|" * len(terms),
    ]
    for kind in sorted(cells):
        row = " | ".join(f"{cells[kind].get(t, 0.0):,.1f}" for t in terms)
        lines.append(f"| {kind} | {row} |")
    prices = [f"{TERM_PRICE_PREFIX}{t}" for t in terms if f"{TERM_PRICE_PREFIX}{t}" in seeds]
    if prices:
        lines += ["", "| term (months) | USD per H100e-hour (median over seeds) |", "|---|---|"]
        for col in prices:
            med = float(pd.to_numeric(seeds[col], errors="coerce").median())
            lines.append(f"| {col[len(TERM_PRICE_PREFIX) :]} | {med:.2f} |")
    return lines


def report_markdown(v: Validation, figures: list[str]) -> str:
    """The validation report: every pattern with its target, the model's numbers and the
    result, the misses, the yearly tables, how each is measured and who the actors were."""
    lines = _head_lines(
        v.scenario, v.seeds, v.outcomes, v.years, v.start, v.end, v.n_tasks, v.n_failed
    )
    for o in v.outcomes:
        lines += _yearly_lines(o)
    lines += _stock_lines(v.seeds)
    lines += ["", "## How each pattern is measured", ""]
    for p in v.outcomes:
        m = p.pattern
        lines.append(
            f"- **{m.label}** (`{m.name}` in seeds.csv): {m.measured}. Driven by: {m.depends}."
        )
    lines += _actors_lines(v.seeds)
    lines += _term_lines(v.seeds)
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in figures]
    lines += [
        "",
        "Per-seed values: `seeds.csv`; per-pattern statistics: `patterns.csv`; the runs: "
        "`runs/` (market.run.sweep folder).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


QUESTION = (
    "Does the calibrated scenario reproduce what is known about the market of 2026-2028 "
    "(growth, supply shares, the capacity-short lab and the lease between labs)?"
)

EXPERIMENT = Experiment(
    name="validation",
    question=QUESTION,
    factors=(),  # one arm: the scenario as calibrated
    metrics=PATTERNS,
    scenario=DEFAULT_SCENARIO,
    years=VALIDATION_YEARS,
    replicates=DEFAULT_SEEDS,
    doc=__doc__,
    seed=None,  # the scenario's own seed, then the next ones
    run_fn=RUN_FN,
)


@dataclass
class Validation:
    """What a validation found: one outcome per pattern, the per-seed table and the runs."""

    out: Path
    outcomes: list[Outcome]
    seeds: pd.DataFrame
    n_failed: int
    seconds: float
    timeseries: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenario: str = ""
    years: float = VALIDATION_YEARS
    start: str = ""
    end: str = ""
    n_tasks: int = 0

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)


def check_inputs(scenario: str, seeds: int, workers: int | None, years: float | None):
    """The scenario spec; ValidationInputError naming the flag on a bad value."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValidationInputError(f"--seeds {seeds!r} is not allowed: expected an integer >= 1")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValidationInputError(
            f"--workers {workers!r} is not allowed: expected an integer >= 1"
        )
    overrides = {} if years is None else {"years": years}
    try:
        return load_scenario(scenario, overrides)
    except ScenarioError as exc:
        raise ValidationInputError(str(exc).replace("override: ", "--years: ")) from None


def per_seed_table(summary: pd.DataFrame) -> pd.DataFrame:
    """seeds.csv: one row per finished seed with every measured value."""
    ok = summary[summary["status"] == "ok"] if "status" in summary else summary.iloc[0:0]
    table = ok.drop(columns=[c for c in ("status", "point", "replicate", "overrides") if c in ok])
    return table.sort_values("seed").reset_index(drop=True)


def run_validation(
    scenario: str = DEFAULT_SCENARIO,
    seeds: int = DEFAULT_SEEDS,
    runs_dir: str | Path = DEFAULT_OUT,
    workers: int | None = None,
    years: float | None = None,
    progress: bool = True,
) -> Validation:
    """Run ``seeds`` seeds of ``scenario`` into the sweep folder ``runs_dir`` and evaluate
    every pattern. Raises ValidationInputError on bad input, before any run.
    market.view.report writes the report."""
    years = VALIDATION_YEARS if years is None else years
    spec = check_inputs(scenario, seeds, workers, years)
    if workers is None:
        workers = max(1, min(seeds, os.cpu_count() or 1))
    backend = "processes" if workers > 1 and seeds > 1 else "serial"
    plan = Plan(EXPERIMENT, (), {}, {}, scenario, float(years), seeds, spec.seed, Path(runs_dir))
    tasks = tasks_for(plan)
    for task in tasks:
        task["run_id"] = f"seed{task['seed']}"
    began = time.perf_counter()
    result = run_sweep(
        tasks,
        plan.out,
        run_fn=EXPERIMENT.run_fn,
        backend=backend,
        workers=workers if backend == "processes" else None,
        progress=progress,
        extra_manifest={"validation": scenario, "years": years},
    )
    table = per_seed_table(result.summary)
    start = spec.params["start_month"]
    return Validation(
        out=plan.out,
        outcomes=[evaluate(p, table) for p in EXPERIMENT.metrics],
        seeds=table,
        n_failed=result.n_failed,
        seconds=time.perf_counter() - began,
        timeseries=result.timeseries,
        scenario=spec.name,
        years=years,
        start=start,
        end=month_label(start, round(years * 12) - 1),
        n_tasks=len(tasks),
    )


def print_outcome(v: Validation, stream=None) -> None:
    stream = stream or sys.stdout
    width = max(len(o.pattern.label) for o in v.outcomes)
    print(
        f"{v.passed} of {len(v.outcomes)} patterns pass ({len(v.seeds)} seeds, {v.seconds:.0f} s)",
        file=stream,
    )
    for o in v.outcomes:
        med, interval = _value_text(o)
        extra = f"  [90%: {interval}]" if interval else ""
        print(f"  {o.result:<4}  {o.pattern.label:<{width}}  {med}{extra}", file=stream)
    failed = [o for o in v.outcomes if not o.passed]
    if failed:
        print("what fails and by how much:", file=stream)
        for o in failed:
            print(f"  - {o.pattern.label}: {o.miss}", file=stream)
    print(f"wrote {v.out / 'validation.md'}, patterns.csv, seeds.csv, figures/, runs/", file=stream)
