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
from pathlib import Path

from experiments import common
from experiments.common import Data, Experiment, Factor, Metric

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
            common.last("largest_run_h100e_months"),
            scale=1e6,
            fmt="{:,.2f}",
        ),
        Metric(
            "run_growth",
            "frontier-run growth a year, from the end of year one (x)",
            common.growth_per_year("largest_run_h100e_months", from_month=11),
            fmt="{:.2f}x",
        ),
        Metric(
            "capex_final_year",
            "capex in the final 12 months (billion USD)",
            common.last("capex_usd_12m_total"),
            scale=1e9,
            fmt="{:,.0f}",
        ),
        Metric(
            "spot_price",
            "spot rental price index, run average (USD per H100e-hour)",
            common.mean("spot_price_index_usd_per_h100e_hour"),
            fmt="{:.2f}",
        ),
        Metric(
            "rationed",
            "share of users rationed, run average (% of inference demand)",
            common.mean("rationed_share"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
    ),
)


def figures(data: Data, folder: Path) -> list[Path | None]:
    exp = data.plan.experiment
    paths = [
        common.response_figure(data, exp.metric(name), CONTEST, CHIPS, None, folder / f"{name}.png")
        for name in ("largest_run", "capex_final_year", "spot_price", "run_growth", "rationed")
    ]
    for column, label, title, scale, log in (
        (
            "largest_run_h100e_months",
            "million H100e-months (log)",
            "Largest training run so far",
            1e6,
            True,
        ),
        (
            "capex_usd_12m_total",
            "billion USD over the last 12 months",
            "Capex, all owners",
            1e9,
            False,
        ),
        (
            "spot_price_index_usd_per_h100e_hour",
            "USD per H100e-hour",
            "Spot rental price index",
            1.0,
            False,
        ),
    ):
        paths.append(
            common.series_figure(
                data,
                column,
                label,
                CONTEST,
                CHIPS,
                folder / f"{column}_over_time.png",
                f"{title}, by contest intensity",
                scale=scale,
                log=log,
            )
        )
    return paths


def main(argv: list[str] | None = None) -> int:
    return common.main(EXPERIMENT, argv, figures)


if __name__ == "__main__":
    sys.exit(main())
