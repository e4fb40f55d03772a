"""Colossus counterfactual: what if the surplus lease were impossible?

In May 2026 Anthropic reportedly leased all of xAI's Colossus 1. This experiment runs
the calibrated ``colossus-2026`` scenario twice for every seed, once as it is and once
with ``lease_to_rival_labs = false`` (a lab may not lease its own capacity to another
lab, on contract or on the spot market), and compares:

- the buyer (Anthropic): users rationed, revenue, capability (best completed run);
- the owner (xAI): cash, revenue from its users, income from capacity it sells to other
  labs and how much it sells (with leases barred this is only what comes with sites it
  acquires, contracts and all);
- the market: spot price index, price of new long-term contracts, users rationed
  across all labs.

Parameters: ``lease_to_rival_labs`` in {false, true}; --replicates seeds (default 10,
the scenario's seed and the next ones; both arms use the same seeds, so differences
are paired), --years per run (default 3: 2026-2028).

Writes, under --out (default runs/experiments/colossus_counterfactual): the sweep folder
(manifest.json, runs/, failed/, summary.csv, timeseries.csv; one row per month with the
buyer's and owner's columns), run_metrics.csv (one row per run), points.csv (one row
per arm), differences.csv (one row per seed: lease allowed minus barred), figures/
(means across seeds with 10-90% bands, and the per-seed differences) and report.md (the
answer, the differences and their spread across seeds, computed from run_metrics.csv).

    python -m experiments.colossus_counterfactual
    python -m experiments.colossus_counterfactual --quick
    python -m experiments.colossus_counterfactual --replicates 20 --backend processes
    compute-market experiment colossus_counterfactual --replicates 2 --years 1 --out /tmp/cf
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from market.analysis.experiment import Data, Differences, Experiment, Factor, Metric, Panels
from market.io.scenario import Scenario
from market.view.report import experiment_main

QUESTION = "What if the surplus lease were impossible: how do the buyer, the owner and prices fare when labs may not lease capacity to rival labs?"

SCENARIO = "colossus-2026"
BUYER = "Anthropic"
OWNER = "xAI"
LEVER = "lease_to_rival_labs"
RUN_FN = "experiments.colossus_counterfactual:run_task"
ARM_LABEL = {True: "allowed", False: "barred"}
HOURS_PER_MONTH = 730.0


# --------------------------------------------------------------------------- one run


def _lab_columns(result, name: str, prefix: str) -> pd.DataFrame:
    labs = result.labs
    own = labs[labs["name"] == name].set_index("month")
    months = result.timeseries["month"]
    cols = {}
    for src, dst in (
        ("rationed_share", "rationed_share"),
        ("revenue_usd_per_month", "revenue_usd_per_month"),
        ("capability_decades", "capability_decades"),
        ("cash_usd", "cash_usd"),
        ("compute_h100e", "compute_h100e"),
        ("share", "demand_share"),
    ):
        cols[f"{prefix}_{dst}"] = (
            months.map(own[src]).to_numpy() if len(own) else np.full(len(months), math.nan)
        )
    return pd.DataFrame(cols)


def _leased_out(result, owner: str, lab_names: set[str]) -> tuple[np.ndarray, np.ndarray]:
    """Capacity the owner delivers to other labs under contract each month, and what those
    contracts are worth per month at their price (before ramp discounts and take-or-pay)."""
    book = result.contracts
    months = result.timeseries["month"].tolist()
    sold = book[(book["seller"] == owner) & book["buyer"].isin(lab_names - {owner})]
    h100e = np.zeros(len(months))
    usd = np.zeros(len(months))
    for _, c in sold.iterrows():
        stop = (
            c["ended_month"]
            if isinstance(c["ended_month"], str) and c["ended_month"]
            else c["end_month"]
        )
        live = np.array([c["start_month"] <= m < stop for m in months])
        h100e += live * c["capacity_h100e"]
        usd += live * c["capacity_h100e"] * c["price_usd_per_h100e_hour"] * HOURS_PER_MONTH
    return h100e, usd


def run_task(task: dict) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run function for market.run.sweep: market.run.runner.run plus the buyer's and owner's columns."""
    from market.run import runner

    result = runner.run(
        task["scenario"],
        seed=task["seed"],
        years=task["years"],
        overrides=task.get("overrides") or {},
    )
    ts = result.timeseries
    lab_names = {r["name"] for r in result.model.spec.tables["lab"]} | set(result.labs["name"])
    keep = [
        "month",
        "spot_price_index_usd_per_h100e_hour",
        "contract_price_long_usd_per_h100e_hour",
        "rationed_share",
        "capacity_h100e_total",
        "cumulative_surplus_leases",
    ]
    frame = ts[keep].reset_index(drop=True)
    frame = pd.concat(
        [frame, _lab_columns(result, BUYER, "buyer"), _lab_columns(result, OWNER, "owner")], axis=1
    )
    h100e, usd = _leased_out(result, OWNER, lab_names)
    frame["owner_leased_to_labs_h100e"] = h100e
    frame["owner_lease_value_usd_per_month"] = usd
    book = result.contracts
    paid = book.loc[
        (book["seller"] == OWNER) & book["buyer"].isin(lab_names - {OWNER}), "paid_usd"
    ].sum()
    long_price = frame["contract_price_long_usd_per_h100e_hour"].dropna()
    summary = {
        "buyer_rationed_mean": float(frame["buyer_rationed_share"].mean()),
        "buyer_rationed_first_year": float(frame["buyer_rationed_share"].iloc[:12].mean()),
        "buyer_revenue_usd_total": float(frame["buyer_revenue_usd_per_month"].sum()),
        "buyer_capability_decades_final": float(frame["buyer_capability_decades"].dropna().iloc[-1])
        if frame["buyer_capability_decades"].notna().any()
        else math.nan,
        "owner_cash_usd_final": float(frame["owner_cash_usd"].dropna().iloc[-1])
        if frame["owner_cash_usd"].notna().any()
        else math.nan,
        "owner_revenue_usd_total": float(frame["owner_revenue_usd_per_month"].sum()),
        "owner_lease_income_usd_total": float(paid),
        "owner_leased_to_labs_h100e_mean": float(h100e.mean()) if len(h100e) else math.nan,
        "spot_price_mean_usd_per_h100e_hour": float(
            frame["spot_price_index_usd_per_h100e_hour"].mean()
        ),
        "long_contract_price_mean_usd_per_h100e_hour": float(long_price.mean())
        if len(long_price)
        else math.nan,
        "market_rationed_mean": float(frame["rationed_share"].mean()),
        "surplus_leases_total": float(frame["cumulative_surplus_leases"].iloc[-1]),
    }
    return frame, summary


# --------------------------------------------------------------------------- declaration


def _share(name: str, label: str) -> Metric:
    return Metric(name, label, scale=0.01, fmt="{:.2f}", kind="share")


METRICS: tuple[Metric, ...] = (
    _share("buyer_rationed_mean", f"{BUYER}: users rationed, mean over the run (%)"),
    _share("buyer_rationed_first_year", f"{BUYER}: users rationed, first year (%)"),
    Metric(
        "buyer_revenue_usd_total",
        f"{BUYER}: revenue over the run (billion USD)",
        scale=1e9,
        fmt="{:,.1f}",
    ),
    Metric(
        "buyer_capability_decades_final",
        f"{BUYER}: capability at the end (log10 H100e-months)",
        fmt="{:.3f}",
        kind="count",
    ),
    Metric(
        "owner_cash_usd_final",
        f"{OWNER}: cash at the end (billion USD)",
        scale=1e9,
        fmt="{:,.1f}",
    ),
    Metric(
        "owner_revenue_usd_total",
        f"{OWNER}: revenue from its users over the run (billion USD)",
        scale=1e9,
        fmt="{:,.1f}",
    ),
    Metric(
        "owner_lease_income_usd_total",
        f"{OWNER}: income from capacity sold to labs (billion USD)",
        scale=1e9,
        fmt="{:,.2f}",
    ),
    Metric(
        "owner_leased_to_labs_h100e_mean",
        f"{OWNER}: capacity sold to labs, mean (thousand H100e)",
        scale=1e3,
        fmt="{:,.0f}",
    ),
    Metric(
        "spot_price_mean_usd_per_h100e_hour",
        "spot price index, mean (USD per H100e-hour)",
        fmt="{:.3f}",
    ),
    Metric(
        "long_contract_price_mean_usd_per_h100e_hour",
        "new long-term contracts, mean price (USD per H100e-hour)",
        fmt="{:.3f}",
    ),
    _share("market_rationed_mean", "all labs: users rationed, mean (%)"),
    Metric(
        "surplus_leases_total",
        "whole-site leases between labs (count)",
        fmt="{:.1f}",
        kind="count",
    ),
)

FIGURES = (
    Panels(
        "buyer",
        f"{BUYER}, the buyer",
        LEVER,
        (
            ("buyer_rationed_share", "users rationed (%)", 0.01),
            ("buyer_revenue_usd_per_month", "revenue (billion USD per month)", 1e9),
            ("buyer_capability_decades", "capability (log10 H100e-months)", 1.0),
        ),
    ),
    Panels(
        "owner",
        f"{OWNER}, the owner of spare capacity",
        LEVER,
        (
            ("owner_cash_usd", "cash (billion USD)", 1e9),
            ("owner_revenue_usd_per_month", "revenue from users (billion USD per month)", 1e9),
            ("owner_leased_to_labs_h100e", "capacity sold to labs (thousand H100e)", 1e3),
        ),
    ),
    Panels(
        "market",
        "The market",
        LEVER,
        (
            ("spot_price_index_usd_per_h100e_hour", "spot price index (USD per H100e-hour)", 1.0),
            (
                "contract_price_long_usd_per_h100e_hour",
                "new long-term contracts (USD per H100e-hour)",
                1.0,
            ),
            ("rationed_share", "all labs: users rationed (%)", 0.01),
        ),
    ),
    Differences(),
)


def notes(data: Data) -> list[str]:
    allowed = data.runs[data.runs[LEVER] == True]  # noqa: E712 - a column of booleans
    with_lease = int((allowed["surplus_leases_total"] > 0).sum())
    return [
        f"With leases allowed, at least one whole-site lease between labs is signed in "
        f"{with_lease} of {len(allowed)} seeds (none can be signed when they are barred)."
    ]


def check(spec: Scenario) -> str:
    labs = {r["name"] for r in spec.tables["lab"]}
    if {BUYER, OWNER} <= labs:
        return ""
    return f"scenario '{spec.name}' has no lab named {BUYER} or {OWNER}; use --scenario {SCENARIO}"


EXPERIMENT = Experiment(
    name="colossus_counterfactual",
    question=QUESTION,
    doc=__doc__,
    scenario=SCENARIO,
    years=3.0,
    replicates=10,
    seed=None,  # the scenario's seed (2026) and the next ones, the same in both arms
    factors=(Factor(LEVER, (False, True), "leases to rival labs (rule)", lambda v: ARM_LABEL[v]),),
    metrics=METRICS,
    run_fn=RUN_FN,
    figures=FIGURES,
    notes=notes,
    paired=True,
    check=check,
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
