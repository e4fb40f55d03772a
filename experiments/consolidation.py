"""Consolidation: how do the cost-of-capital gap between neoclouds and hyperscalers, market
sentiment and merger review shape concentration, survivors and exits over 10 years?

Varies, on the baseline scenario over 10 years:

- ``neocloud_spread_speculative``: neoclouds' debt spread when their buyers are
  speculative grade, 3%, 9% (the default) or 18% a year. Hyperscalers borrow at
  ``hyperscaler_spread`` (2%) over the base rate, so this sets the cost-of-capital gap.
- ``sentiment_initial``: investor sentiment at the start, winter, normal or boom (it
  then follows its Markov chain, so the lever is the state the decade starts in).
- ``merger_review``: off, or block deals that push a segment's HHI over the threshold.

18 parameter points, 5 seeds each (90 runs, a couple of minutes serial).

Writes, under --out (default runs/experiments/consolidation): the sweep folder
(manifest.json, runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv,
figures/ (concentration of capacity and of lab compute, surviving labs and neoclouds,
exits, acquisitions and the hyperscalers' share against the spread, one line per
starting sentiment, one panel per merger-review rule; HHI, exits and neoclouds over
time) and report.md, which states what each lever does to each outcome.

    python -m experiments.consolidation
    python -m experiments.consolidation --replicates 20 --backend dask --workers 2
    python -m experiments.consolidation --values sentiment_initial=winter,boom --years 15
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments import common
from experiments.common import Data, Experiment, Factor, Metric

QUESTION = (
    "How do the cost-of-capital gap between neoclouds and hyperscalers, market sentiment and "
    "merger review shape concentration, survivors and exits over 10 years?"
)

SPREAD = "neocloud_spread_speculative"
SENTIMENT = "sentiment_initial"
REVIEW = "merger_review"
REVIEW_NAMES = {"off": "off", "hhi": "HHI screen"}

EXPERIMENT = Experiment(
    name="consolidation",
    question=QUESTION,
    doc=__doc__,
    scenario="baseline",
    years=10.0,
    replicates=5,
    factors=(
        Factor(
            SPREAD,
            (0.03, 0.09, 0.18),
            "neocloud debt spread (per year, speculative-grade buyers)",
            lambda v: f"{v:.0%}",
        ),
        Factor(SENTIMENT, ("winter", "normal", "boom"), "starting investor sentiment (state)", str),
        Factor(
            REVIEW, ("off", "hhi"), "merger review (rule)", lambda v: REVIEW_NAMES.get(v, str(v))
        ),
    ),
    metrics=(
        Metric(
            "capacity_hhi",
            "HHI of capacity ownership at the horizon (HHI points)",
            common.last("capacity_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "lab_compute_hhi",
            "HHI of lab compute at the horizon (HHI points)",
            common.last("lab_compute_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "labs_left",
            "number of labs left at the horizon (firms)",
            common.last("active_labs"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "neoclouds_left",
            "number of neoclouds left at the horizon (firms)",
            common.last("active_neoclouds"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "exits",
            "number of exits over the run (firms)",
            common.last("cumulative_exits"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "acquisitions",
            "number of acquisitions over the run (deals)",
            common.last("cumulative_acquisitions"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "blocked",
            "number of mergers blocked by review (deals)",
            common.last("cumulative_blocked_mergers"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "hyperscaler_share",
            "hyperscalers' share of capacity at the horizon (% of capacity)",
            common.last("hyperscaler_share_of_capacity"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
    ),
)


def figures(data: Data, folder: Path) -> list[Path | None]:
    exp = data.plan.experiment
    paths = [
        common.response_figure(
            data, exp.metric(name), SPREAD, SENTIMENT, REVIEW, folder / f"{name}.png"
        )
        for name in (
            "capacity_hhi",
            "lab_compute_hhi",
            "labs_left",
            "neoclouds_left",
            "exits",
            "acquisitions",
            "hyperscaler_share",
        )
    ]
    for column, label, title, lines in (
        ("capacity_hhi", "HHI points (0-10,000)", "Concentration of capacity ownership", SENTIMENT),
        ("cumulative_exits", "firms", "Exits so far", SENTIMENT),
        ("active_neoclouds", "firms", "Neoclouds in the market", SPREAD),
    ):
        name = {SENTIMENT: "starting sentiment", SPREAD: "neocloud spread"}[lines]
        paths.append(
            common.series_figure(
                data,
                column,
                label,
                lines,
                REVIEW,
                folder / f"{column}_over_time.png",
                f"{title}, by {name}",
            )
        )
    return paths


def notes(data: Data) -> list[str]:
    runs = data.runs
    return [
        f"For scale: exits happened in {common.runs_with(runs, 'exits')}, acquisitions in "
        f"{common.runs_with(runs, 'acquisitions')}, and merger review blocked a deal in "
        f"{common.runs_with(runs, 'blocked')}."
    ]


def main(argv: list[str] | None = None) -> int:
    return common.main(EXPERIMENT, argv, figures, notes)


if __name__ == "__main__":
    sys.exit(main())
