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

from market.analysis.experiment import (
    Data,
    Experiment,
    Factor,
    Metric,
    Response,
    Series,
    last,
    runs_with,
)
from market.view.report import experiment_main

QUESTION = (
    "How do the cost-of-capital gap between neoclouds and hyperscalers, market sentiment and "
    "merger review shape concentration, survivors and exits over 10 years?"
)

SPREAD = "neocloud_spread_speculative"
SENTIMENT = "sentiment_initial"
REVIEW = "merger_review"
REVIEW_NAMES = {"off": "off", "hhi": "HHI screen"}


def notes(data: Data) -> list[str]:
    runs = data.runs
    return [
        f"For scale: exits happened in {runs_with(runs, 'exits')}, acquisitions in "
        f"{runs_with(runs, 'acquisitions')}, and merger review blocked a deal in "
        f"{runs_with(runs, 'blocked')}."
    ]


EXPERIMENT = Experiment(
    name="consolidation",
    question=QUESTION,
    doc=__doc__,
    notes=notes,
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
            last("capacity_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "lab_compute_hhi",
            "HHI of lab compute at the horizon (HHI points)",
            last("lab_compute_hhi"),
            fmt="{:,.0f}",
        ),
        Metric(
            "labs_left",
            "number of labs left at the horizon (firms)",
            last("active_labs"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "neoclouds_left",
            "number of neoclouds left at the horizon (firms)",
            last("active_neoclouds"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "exits",
            "number of exits over the run (firms)",
            last("cumulative_exits"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "acquisitions",
            "number of acquisitions over the run (deals)",
            last("cumulative_acquisitions"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "blocked",
            "number of mergers blocked by review (deals)",
            last("cumulative_blocked_mergers"),
            fmt="{:.1f}",
            kind="count",
        ),
        Metric(
            "hyperscaler_share",
            "hyperscalers' share of capacity at the horizon (% of capacity)",
            last("hyperscaler_share_of_capacity"),
            scale=0.01,
            fmt="{:.1f}",
            kind="share",
        ),
    ),
    figures=(
        *(
            Response(name, x=SPREAD, lines=SENTIMENT, facets=REVIEW)
            for name in (
                "capacity_hhi",
                "lab_compute_hhi",
                "labs_left",
                "neoclouds_left",
                "exits",
                "acquisitions",
                "hyperscaler_share",
            )
        ),
        Series(
            "capacity_hhi",
            "HHI points (0-10,000)",
            "Concentration of capacity ownership, by starting sentiment",
            lines=SENTIMENT,
            facets=REVIEW,
        ),
        Series(
            "cumulative_exits", "firms", "Exits so far, by starting sentiment", SENTIMENT, REVIEW
        ),
        Series(
            "active_neoclouds",
            "firms",
            "Neoclouds in the market, by neocloud spread",
            SPREAD,
            REVIEW,
        ),
    ),
)


def main(argv: list[str] | None = None) -> int:
    return experiment_main(EXPERIMENT, argv)


if __name__ == "__main__":
    sys.exit(main())
