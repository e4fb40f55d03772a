"""Power: what do grid-connection lead times do to rationing, prices and who builds?

Varies, on the baseline scenario over 10 years:

- ``grid_min_wait_months``: the least wait for a new grid connection, on top of any
  queue: 0 (the default), 24, 48 or 72 months.
- ``grid_capacity_multiplier``: every region's grid connections per year (slower or
  faster permitting), x0.5, x1 or x2.

12 parameter points, 6 seeds each (72 runs, a minute or two serial).

Outcomes: users rationed and the spot price (run averages), capacity online at the
horizon, power waiting for the grid or being built, and who builds: the hyperscalers'
share of capacity at the horizon and the neoclouds' and labs' shares of the decade's
capex.

Writes, under --out (default runs/experiments/power): the sweep folder (manifest.json,
runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv, figures/ (each
outcome against the minimum wait, one line per grid-capacity multiplier; rationing,
the spot price, power in the pipeline and the hyperscalers' share over time) and
report.md, which states what each lever does to each outcome.

    python -m experiments.power
    python -m experiments.power --replicates 20 --backend processes
    python -m experiments.power --values grid_min_wait_months=0,36,84 --set build_months_hyperscaler=30
"""

from __future__ import annotations

import math
import sys

import pandas as pd

from market.analysis.experiment import Experiment, Factor, Metric, Response, Series, last, mean
from market.view.report import experiment_main

QUESTION = "What do grid-connection lead times do to rationing, prices and who builds?"

WAIT = "grid_min_wait_months"
GRID = "grid_capacity_multiplier"


def capex_share(owner: str):
    """``owner``'s share of capex over the run, from the 12-month sums at each year's end."""

    def fn(run: pd.DataFrame) -> float:
        ends = list(range(11, len(run), 12)) or [len(run) - 1]
        total = float(run["capex_usd_12m_total"].iloc[ends].sum())
        part = float(run[f"capex_usd_12m_{owner}"].iloc[ends].sum())
        return part / total if total > 0 and math.isfinite(total) else math.nan

    return fn


EXPERIMENT = Experiment(
    name="power",
    question=QUESTION,
    doc=__doc__,
    scenario="baseline",
    years=10.0,
    replicates=6,
    factors=(
        Factor(
            WAIT,
            (0, 24, 48, 72),
            "minimum grid-connection wait (months)",
            lambda v: f"{v} months",
            tick=str,
        ),
        Factor(
            GRID, (0.5, 1.0, 2.0), "grid connections per year (x scenario)", lambda v: f"x{v:g}"
        ),
    ),
    metrics=(
        Metric(
            "rationed",
            "share of users rationed, run average (% of inference demand)",
            mean("rationed_share"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
        Metric(
            "spot_price",
            "spot rental price index, run average (USD per H100e-hour)",
            mean("spot_price_index_usd_per_h100e_hour"),
            fmt="{:.2f}",
        ),
        Metric(
            "capacity",
            "capacity online at the horizon (million H100e)",
            last("capacity_h100e_total"),
            scale=1e6,
            fmt="{:,.1f}",
        ),
        Metric(
            "pipeline",
            "power waiting for the grid or being built, run average (GW)",
            mean("power_mw_under_construction"),
            scale=1e3,
            fmt="{:,.1f}",
        ),
        Metric(
            "hyperscaler_share",
            "hyperscalers' share of capacity at the horizon (% of capacity)",
            last("hyperscaler_share_of_capacity"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
        Metric(
            "neocloud_capex_share",
            "neoclouds' share of the run's capex (% of capex)",
            capex_share("neocloud"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
        Metric(
            "lab_capex_share",
            "labs' share of the run's capex (% of capex)",
            capex_share("lab"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
    ),
    figures=(
        *(
            Response(name, x=WAIT, lines=GRID)
            for name in (
                "rationed",
                "spot_price",
                "capacity",
                "pipeline",
                "hyperscaler_share",
                "neocloud_capex_share",
                "lab_capex_share",
            )
        ),
        Series(
            "rationed_share",
            "% of inference demand",
            "Users rationed, by minimum grid wait",
            WAIT,
            GRID,
            scale=0.01,
        ),
        Series(
            "spot_price_index_usd_per_h100e_hour",
            "USD per H100e-hour",
            "Spot rental price index, by minimum grid wait",
            WAIT,
            GRID,
        ),
        Series(
            "power_mw_under_construction",
            "GW",
            "Power waiting for the grid or being built, by minimum grid wait",
            WAIT,
            GRID,
            scale=1e3,
        ),
        Series(
            "hyperscaler_share_of_capacity",
            "% of capacity",
            "Hyperscalers' share of capacity, by minimum grid wait",
            WAIT,
            GRID,
            scale=0.01,
        ),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
