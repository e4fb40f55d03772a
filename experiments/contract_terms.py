"""Contract terms: how do contract length and take-or-pay share change defaults, contagion
and price volatility?

Varies, on the baseline scenario over 10 years:

- ``preferred_term_months``: the term labs ask for, 12, 36 (the default) or 60 months.
- ``take_or_pay_share``: the share of a contract's payment owed for capacity the buyer
  leaves idle, 20%, 50%, 80% (the default) or 100%.

12 parameter points, 6 seeds each (72 runs, a minute or two serial).

Outcomes: neocloud defaults, lab exits, contagion (neocloud defaults in the 12 months
after a lab exit, counted from the monthly rows) and the volatility of the spot price
(standard deviation of its monthly log change, times the square root of 12).

Writes, under --out (default runs/experiments/contract_terms): the sweep folder
(manifest.json, runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv,
figures/ (each outcome against take-or-pay share, one line per term; defaults and the
spot price over time) and report.md, which states what each term does to each outcome.

    python -m experiments.contract_terms
    python -m experiments.contract_terms --replicates 20 --backend processes
    python -m experiments.contract_terms --values preferred_term_months=6,24,48 --set demand_volatility=0.4
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd

from market.analysis.experiment import (
    Data,
    Experiment,
    Factor,
    Metric,
    Response,
    Series,
    annual_log_volatility,
    last,
    mean,
    runs_with,
)
from market.view.report import experiment_main

QUESTION = (
    "How do contract length and take-or-pay share change defaults, contagion and price volatility?"
)

TERM = "preferred_term_months"
TAKE_OR_PAY = "take_or_pay_share"
CONTAGION_WINDOW_MONTHS = 12


def lab_exits(run: pd.DataFrame) -> float:
    """Exits that were not neocloud defaults: labs that ran out of cash."""
    return last("cumulative_exits")(run) - last("cumulative_defaults")(run)


def defaults_after_lab_exits(run: pd.DataFrame) -> float:
    """Neocloud defaults in a month with a lab exit or in the 12 months after one."""
    exits = run["cumulative_exits"].fillna(0).to_numpy(dtype=float)
    defaults = run["cumulative_defaults"].fillna(0).to_numpy(dtype=float)
    new_defaults = np.diff(defaults, prepend=0.0)
    new_lab_exits = np.diff(exits - defaults, prepend=0.0)
    exit_months = np.flatnonzero(new_lab_exits > 0)
    if len(exit_months) == 0:
        return 0.0
    covered = np.zeros(len(run), dtype=bool)
    for m in exit_months:
        covered[m : m + CONTAGION_WINDOW_MONTHS + 1] = True
    total = float(new_defaults[covered].sum())
    return total if math.isfinite(total) else math.nan


def notes(data: Data) -> list[str]:
    runs = data.runs
    return [
        f"For scale: lab exits happened in {runs_with(runs, 'lab_exits')}, neocloud defaults in "
        f"{runs_with(runs, 'defaults')}, and a default within {CONTAGION_WINDOW_MONTHS} months of a "
        f"lab exit in {runs_with(runs, 'contagion')}."
    ]


EXPERIMENT = Experiment(
    name="contract_terms",
    question=QUESTION,
    doc=__doc__,
    notes=notes,
    scenario="baseline",
    years=10.0,
    replicates=6,
    factors=(
        Factor(
            TAKE_OR_PAY,
            (0.2, 0.5, 0.8, 1.0),
            "take-or-pay share (% of payment owed when idle)",
            lambda v: f"{v:.0%}",
        ),
        Factor(
            TERM,
            (12, 36, 60),
            "requested contract term (months)",
            lambda v: f"{v} months",
            tick=str,
        ),
    ),
    metrics=(
        Metric(
            "defaults",
            "number of neocloud defaults over the run (firms)",
            last("cumulative_defaults"),
            fmt="{:.2f}",
            kind="count",
        ),
        Metric(
            "lab_exits",
            "number of lab exits over the run (firms)",
            lab_exits,
            fmt="{:.2f}",
            kind="count",
        ),
        Metric(
            "contagion",
            "number of neocloud defaults within 12 months of a lab exit (firms)",
            defaults_after_lab_exits,
            fmt="{:.2f}",
            kind="count",
        ),
        Metric(
            "spot_volatility",
            "spot price volatility, annualised (% a year)",
            annual_log_volatility("spot_price_usd_per_h100e_hour"),
            scale=0.01,
            fmt="{:.0f}",
        ),
        Metric(
            "spot_price",
            "spot rental price index, run average (USD per H100e-hour)",
            mean("spot_price_index_usd_per_h100e_hour"),
            fmt="{:.2f}",
        ),
    ),
    figures=(
        *(
            Response(name, x=TAKE_OR_PAY, lines=TERM)
            for name in ("defaults", "lab_exits", "contagion", "spot_volatility", "spot_price")
        ),
        Series(
            "cumulative_defaults",
            "firms",
            "Neocloud defaults so far, by take-or-pay share",
            TAKE_OR_PAY,
            TERM,
        ),
        Series(
            "spot_price_usd_per_h100e_hour",
            "USD per H100e-hour",
            "Spot clearing price, by take-or-pay share",
            TAKE_OR_PAY,
            TERM,
        ),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
