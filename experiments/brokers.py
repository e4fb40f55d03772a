"""Brokers: what does a secondary market change in rationing, utilisation, price
volatility, concentration and exits?

Runs the ``baseline`` scenario (one exchange, one dealer) for every seed in four
arms of ``broker_models``: ``none`` (no secondary market: the counterfactual),
``exchange`` (holders resell the unused part of their contracts through the exchange;
the dealer buys nothing), ``dealer`` (holders do not resell; labs short of compute
buy only the dealer's blocks, which it sells itself) and ``both``. Every arm uses
the same seeds, so the differences are paired. 10 seeds, 5 years per run (40 runs);
``--quick``: 2 seeds, 2 years, all four arms.

Outcomes per run: users rationed and utilisation (run averages), the volatility of
the spot price index (standard deviation of its monthly log change times the square
root of 12), the price of new long-term contracts, concentration of online capacity
and of labs' compute at the horizon, exits, the share of labs' compute delivered
under resales, the capacity traded on the exchange, the spread between the two
indices and the dealers' cumulative profit.

Writes, under --out (default runs/experiments/brokers): the sweep folder (manifest.json,
runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv, figures/ and
report.md, which compares each arm with ``both`` by a sign test over paired seeds and
states each arm's mean difference from ``none`` with its 95% interval.

    python -m experiments.brokers
    python -m experiments.brokers --quick
    compute-market experiment brokers --replicates 4 --years 3
"""

from __future__ import annotations

import math
import sys

import numpy as np

from market.analysis.experiment import (
    Data,
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

LEVER = "broker_models"
ARMS = ("none", "exchange", "dealer", "both")
ARM_LABEL = {
    "none": "no secondary market",
    "exchange": "exchange only",
    "dealer": "dealer only",
    "both": "exchange and dealer",
}
# the metrics whose paired difference from "none" the report states with an interval
INTERVAL_METRICS = (
    "rationed",
    "utilisation",
    "spot_volatility",
    "long_price",
    "lab_compute_hhi",
    "exits",
)
Z_95 = 1.96  # normal quantile of a two-sided 95% interval

EXPERIMENT = Experiment(
    name="brokers",
    question=QUESTION,
    doc=__doc__,
    scenario="baseline",
    years=5.0,
    replicates=10,
    factors=(Factor(LEVER, ARMS, "broker models", lambda v: ARM_LABEL[str(v)]),),
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
            "long_price",
            "price of new long-term contracts, run average (USD per H100e-hour)",
            mean("contract_price_long_usd_per_h100e_hour"),
            fmt="{:.2f}",
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
        Metric(
            "index_spread",
            "gap between the list-price survey and the trade VWAP, run average "
            "(USD per H100e-hour)",
            mean("price_index_spread_usd_per_h100e_hour"),
            fmt="{:.2f}",
        ),
        Metric(
            "dealer_profit",
            "dealers' resale revenue less their holdings' cost by the horizon (million USD)",
            last("dealer_cumulative_profit_usd"),
            scale=1e6,
            fmt="{:,.0f}",
        ),
    ),
    figures=(
        Panels(
            "secondary_market",
            "Rationing, resale and the spot index by broker model",
            LEVER,
            (
                ("rationed_share", "share of users rationed", 1.0),
                ("resale_share_of_used", "share of lab compute resold", 1.0),
                ("spot_price_index_usd_per_h100e_hour", "spot index, USD per H100e-hour", 1.0),
            ),
        ),
    ),
    notes=lambda data: interval_notes(data),
)


def paired_interval(data: Data, metric: str, arm: str) -> tuple[float, float, int]:
    """Mean of (arm − none) over the seeds both finished, and the half-width of its 95%
    interval (normal approximation); n the number of pairs."""
    runs = data.runs
    wide = runs.pivot_table(index="replicate", columns=LEVER, values=metric, aggfunc="first")
    if arm not in wide.columns or "none" not in wide.columns:
        return math.nan, math.nan, 0
    diff = (wide[arm] - wide["none"]).dropna().to_numpy()
    if len(diff) == 0:
        return math.nan, math.nan, 0
    half = Z_95 * float(np.std(diff, ddof=1)) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
    return float(np.mean(diff)), half, len(diff)


def interval_notes(data: Data) -> list[str]:
    """One sentence per arm and metric: the mean paired difference from no secondary
    market with its 95% interval, and its sign only when the interval excludes zero."""
    out = []
    arms = [a for a in ARMS[1:] if a in set(data.runs[LEVER])]
    for name in INTERVAL_METRICS:
        m = EXPERIMENT.metric(name)
        parts = []
        for arm in arms:
            mid, half, n = paired_interval(data, name, arm)
            if n == 0 or not math.isfinite(mid):
                continue
            if not math.isfinite(half):
                parts.append(f"{ARM_LABEL[arm]} {m.text(mid)} (one seed, no interval)")
                continue
            lo, hi = mid - half, mid + half
            sign = "higher" if lo > 0 else "lower" if hi < 0 else "no clear difference"
            parts.append(
                f"{ARM_LABEL[arm]} {m.text(mid)} [{m.text(lo)}, {m.text(hi)}] ({sign}, {n} seeds)"
            )
        if parts:
            out.append(f"Against no secondary market, {m.label}: " + "; ".join(parts) + ".")
    return out


def main(argv: list[str] | None = None) -> int:
    """The experiment's command; ``--quick`` runs all four arms unless --values names some."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in args and not any(a.startswith("--values") for a in args):
        args += ["--values", f"{LEVER}={','.join(ARMS)}"]
    return experiment_main(EXPERIMENT, args)


if __name__ == "__main__":
    sys.exit(main())
