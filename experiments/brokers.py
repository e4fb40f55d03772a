"""Brokers: what does a secondary market change in rationing, utilisation, price
volatility, concentration and exits?

Runs the ``baseline`` scenario (with its exchange) for every seed twice: once with
``secondary_market = false`` (no resale: the counterfactual) and once with it (labs
resell the unused part of their contracts through the exchange and labs short of
compute buy blocks there). Both arms use the same seeds, so the differences are
paired. 10 seeds, 5 years per run (20 runs); ``--quick``: 2 seeds, 2 years.

The dealer broker model, forwards and the arms with each broker model alone are not
built yet (docs/brokers.md, section 3).

Outcomes per run: users rationed and utilisation (run averages), the volatility of
the spot price index (standard deviation of its monthly log change times the square
root of 12), concentration of online capacity and of labs' compute at the horizon,
exits, the share of labs' compute delivered under resales and the capacity traded on
the exchange.

Writes, under --out (default runs/experiments/brokers): the sweep folder (manifest.json,
runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv, differences.csv (one
row per seed: with minus without), figures/ and report.md, which states each
difference with its spread across seeds.

    python -m experiments.brokers
    python -m experiments.brokers --quick
    compute-market experiment brokers --replicates 4 --years 3
"""

from __future__ import annotations

import sys

from market.analysis.experiment import (
    Differences,
    Experiment,
    Factor,
    Metric,
    Panels,
    annual_log_volatility,
    last,
    mean,
)
from market.view.report import experiment_main

QUESTION = (
    "What does a secondary market for contracted compute change in rationing, utilisation, "
    "price volatility, concentration and exits?"
)

LEVER = "secondary_market"
ARM_LABEL = {False: "without", True: "with"}

EXPERIMENT = Experiment(
    name="brokers",
    question=QUESTION,
    doc=__doc__,
    scenario="baseline",
    years=5.0,
    replicates=10,
    paired=True,
    factors=(Factor(LEVER, (False, True), "secondary market", lambda v: ARM_LABEL[bool(v)]),),
    metrics=(
        Metric(
            "rationed",
            "share of users rationed, run average (%)",
            mean("rationed_share"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
        Metric(
            "utilisation",
            "compute used over online capacity, run average (%)",
            mean("utilisation"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
        Metric(
            "spot_volatility",
            "spot price index volatility (annualised sd of monthly log change)",
            annual_log_volatility("spot_price_index_usd_per_h100e_hour"),
            fmt="{:.3f}",
        ),
        Metric(
            "capacity_hhi",
            "HHI of online capacity at the horizon",
            last("capacity_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "lab_compute_hhi",
            "HHI of labs' compute at the horizon",
            last("lab_compute_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "exits",
            "firms that left the market by the horizon",
            last("cumulative_exits"),
            fmt="{:.1f}",
        ),
        Metric(
            "resale_share",
            "labs' compute delivered under resales, run average (%)",
            mean("resale_share_of_used"),
            scale=0.01,
            fmt="{:.2f}",
            kind="share",
        ),
        Metric(
            "secondary_volume",
            "capacity traded on the exchange per month, run average (thousand H100e)",
            mean("secondary_volume_h100e"),
            scale=1e3,
            fmt="{:,.0f}",
        ),
    ),
    figures=(
        Panels(
            "secondary_market",
            "Rationing, resale and the two indices, with and without the secondary market",
            LEVER,
            (
                ("rationed_share", "share of users rationed", 1.0),
                ("resale_share_of_used", "share of lab compute resold", 1.0),
                ("spot_price_index_usd_per_h100e_hour", "spot index, USD per H100e-hour", 1.0),
            ),
        ),
        Differences(),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
