"""Arms race: how do contest intensity and chip-supply growth drive the largest training
run, capex and prices?

Varies ``contest_intensity`` (how strongly market share follows capability: 0.5, 1.5, 3)
and ``chip_supply_multiplier`` (every chip supplier's output: x0.5, x1, x2) on the
baseline scenario, 8 seeds per point, 10 years per run (72 runs, about a minute serial).

Writes, under --out (default runs/experiments/arms_race): the sweep folder
(manifest.json, runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv,
figures/ (the largest run, capex, spot price, run growth and rationing against contest
intensity, one line per chip supply; the largest run, capex and spot price over time)
and report.md, which states which lever moves each outcome and by how much.

    python -m experiments.arms_race
    python -m experiments.arms_race --replicates 20 --backend processes
    python -m experiments.arms_race --values contest_intensity=0,1,2,4 --set race_ambition=1
"""

from __future__ import annotations

import sys

from market.analysis.experiment import (
    Experiment,
    Factor,
    Metric,
    Response,
    Series,
    growth_per_year,
    last,
    mean,
)
from market.view.report import experiment_main

QUESTION = "How do contest intensity and chip-supply growth drive the largest training run, capex and prices?"

CONTEST = "contest_intensity"
CHIPS = "chip_supply_multiplier"

EXPERIMENT = Experiment(
    name="arms_race",
    question=QUESTION,
    doc=__doc__,
    scenario="baseline",
    years=10.0,
    replicates=8,
    factors=(
        Factor(
            CONTEST,
            (0.5, 1.5, 3.0),
            "contest intensity (share shift per decade of compute)",
            lambda v: f"{v:g}",
        ),
        Factor(CHIPS, (0.5, 1.0, 2.0), "chip supply (x baseline output)", lambda v: f"x{v:g}"),
    ),
    metrics=(
        Metric(
            "largest_run",
            "largest training run by the horizon (million H100e-months)",
            last("largest_run_h100e_months"),
            scale=1e6,
            fmt="{:,.2f}",
        ),
        Metric(
            "run_growth",
            "frontier-run growth a year, from the end of year one (x)",
            growth_per_year("largest_run_h100e_months", from_month=11),
            fmt="{:.2f}x",
        ),
        Metric(
            "capex_final_year",
            "capex in the final 12 months (billion USD)",
            last("capex_usd_12m_total"),
            scale=1e9,
            fmt="{:,.0f}",
        ),
        Metric(
            "spot_price",
            "spot rental price index, run average (USD per H100e-hour)",
            mean("spot_price_index_usd_per_h100e_hour"),
            fmt="{:.2f}",
        ),
        Metric(
            "rationed",
            "share of users rationed, run average (% of inference demand)",
            mean("rationed_share"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
    ),
    figures=(
        *(
            Response(name, x=CONTEST, lines=CHIPS)
            for name in ("largest_run", "capex_final_year", "spot_price", "run_growth", "rationed")
        ),
        Series(
            "largest_run_h100e_months",
            "million H100e-months (log)",
            "Largest training run so far, by contest intensity",
            lines=CONTEST,
            facets=CHIPS,
            scale=1e6,
            log=True,
        ),
        Series(
            "capex_usd_12m_total",
            "billion USD over the last 12 months",
            "Capex, all owners, by contest intensity",
            lines=CONTEST,
            facets=CHIPS,
            scale=1e9,
        ),
        Series(
            "spot_price_index_usd_per_h100e_hour",
            "USD per H100e-hour",
            "Spot rental price index, by contest intensity",
            lines=CONTEST,
            facets=CHIPS,
        ),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
