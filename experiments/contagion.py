"""Contagion: what follows for a firm's counterparties when it is forced out of the market?

Runs a scenario (default ``colossus-2026``) twice for every seed: once as it is (the
control, ``apply_interventions = false``) and once with a declared intervention forcing one
firm out at one month (``apply_interventions = true``). Both arms use the same seeds and are
identical up to that month, so the differences are paired.

The firm and month: the scenario's own [[intervention]] rows if it has any (write a
scenario with ``base = "colossus-2026"`` and an ``[[intervention]]`` table to choose
them, see docs/odd.md), else the lab or neocloud that buys the most contracted capacity
at the start, forced out 12 months after the start.

The arms draw the same random numbers up to the exit; from then on they part (the
auctions of the firm's sites draw bids), so later differences mix the exit's
consequences with another draw of sentiment and fundraising luck. Averaging over
seeds, and the spread across them, is what separates the two.

Its counterparties are the firms with an open contract with it (as seller or buyer) in
the month before the exit. Outcomes per run: their claims on its estate written off and
recovered, their cash at the end (0 once they exit), how many of them exit later,
covenant breaches and exits across the market after the month, users rationed (market
and counterparty labs) and the spot price index after the month.

Writes, under --out (default runs/experiments/contagion): the sweep folder (manifest.json,
runs/, summary.csv, timeseries.csv), run_metrics.csv, points.csv, differences.csv (one
row per seed: forced minus control), figures/ and report.md, which states each
difference with its spread across seeds and a 90% bootstrap interval of its mean.

    python -m experiments.contagion --quick
    compute-market experiment contagion
    compute-market experiment contagion --replicates 20 --backend processes
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

QUESTION = (
    "What follows for a firm's counterparties (write-offs, cash, exits, rationing) when it is "
    "forced out of the market, against the same seeds without the forced exit?"
)

LEVER = "apply_interventions"
ARM_LABEL = {False: "control", True: "forced exit"}
RUN_FN = "experiments.contagion:run_task"
DEFAULT_DELAY_MONTHS = 12  # the default exit: this many months after the start
INTERVAL = 0.90  # bootstrap interval of a mean paired difference
BOOTSTRAP_DRAWS = 2000


# --------------------------------------------------------------------------- the target


def default_target(spec: Scenario) -> dict[str, str]:
    """The lab or neocloud that buys the most opening contracted capacity, forced out
    DEFAULT_DELAY_MONTHS after the start (half-way through a shorter run)."""
    from market.core.calendar import month_label

    bought: dict[str, float] = {}
    kinds = {r["name"] for s in ("lab", "neocloud") for r in spec.tables[s] if r["count"] == 1}
    for row in spec.tables["contract"]:
        if row["buyer"] in kinds:
            bought[row["buyer"]] = bought.get(row["buyer"], 0.0) + row["capacity_h100e"]
    if not bought:
        return {}
    firm = max(sorted(bought), key=lambda n: bought[n])
    horizon = max(1, round(spec.params["years"] * 12))
    month = month_label(spec.params["start_month"], min(DEFAULT_DELAY_MONTHS, horizon // 2))
    return {"firm": firm, "month": month, "action": "force_exit"}


def target_of(spec: Scenario) -> dict[str, Any]:
    rows = spec.tables.get("intervention", [])
    return dict(rows[0]) if rows else default_target(spec)


# --------------------------------------------------------------------------- one run


def _counterparties(model, firm_id: int) -> set[int]:
    book = model.book
    ids = {c.seller_id for c in book.bought_view(firm_id)}
    ids |= {c.buyer_id for c in book.sold_view(firm_id)}
    return {i for i in ids if i != firm_id and model.firm(i) is not None}


def _step_and_record(model, target: dict, months: int) -> tuple[pd.DataFrame, set[int]]:
    """Run the model month by month; from the month before the exit on, note the
    counterparties' cash and write-offs each month."""
    from market.core.calendar import month_offset

    exit_index = month_offset(model.p.start_month, target["month"])
    firm = model.firms_by_name.get(target["firm"])
    parties: set[int] = set()
    last: dict[int, tuple[float, float]] = {}
    rows = []
    for i in range(months):
        if i == exit_index and firm is not None:
            parties = _counterparties(model, firm.unique_id)
        model.step()
        cash = written = 0.0
        alive = 0
        for pid in parties:
            f = model.firm(pid)
            if f is not None:
                last[pid] = (f.cash_usd, f.claims_written_off_usd)
                alive += 1
                cash += f.cash_usd
            written += last.get(pid, (0.0, 0.0))[1]
        rows.append(
            {
                "counterparty_cash_usd": cash if parties else math.nan,
                "counterparty_written_off_usd": written if parties else math.nan,
                "counterparties_active": float(alive) if parties else math.nan,
            }
        )
    return pd.DataFrame(rows), parties


def run_task(task: dict) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run function for market.run.sweep: the run, its market columns and the
    counterparties' columns, and the outcomes after the forced exit's month."""
    from market.core.calendar import month_offset
    from market.io.scenario import load_scenario
    from market.run import runner

    overrides = task.get("overrides") or {}
    spec = load_scenario(task["scenario"], {**overrides, "years": task["years"]})
    target = target_of(spec)
    extra = [] if spec.tables.get("intervention") else [target]
    model = runner.build_model(task["scenario"], task["seed"], task["years"], overrides, extra)
    own, parties = _step_and_record(model, target, model.horizon_months)
    result = runner.collect(model)
    ts = result.timeseries
    keep = [
        "month",
        "spot_price_index_usd_per_h100e_hour",
        "rationed_share",
        "cumulative_exits",
        "cumulative_covenant_breaches",
        "cumulative_claims_written_off_usd",
        "cumulative_forced_exits",
    ]
    frame = pd.concat([ts[keep].reset_index(drop=True), own], axis=1)
    names = {model.names_by_id[i] for i in parties}
    labs = result.labs[result.labs["name"].isin(names)]
    frame["counterparty_labs_rationed_share"] = (
        frame["month"].map(labs.groupby("month")["rationed_share"].mean()).to_numpy()
    )
    after = frame.iloc[month_offset(model.p.start_month, target["month"]) :]
    return frame, _summary(frame, after, parties, model)


def _summary(frame: pd.DataFrame, after: pd.DataFrame, parties: set, model) -> dict[str, Any]:
    def mean(col: str) -> float:
        values = after[col].dropna()
        return float(values.mean()) if len(values) else math.nan

    def rise(col: str) -> float:
        return float(after[col].iloc[-1] - after[col].iloc[0]) if len(after) else math.nan

    end = frame.iloc[-1]
    return {
        "counterparties": float(len(parties)),
        "counterparty_written_off_usd": float(end["counterparty_written_off_usd"]),
        "counterparty_cash_end_usd": float(end["counterparty_cash_usd"]),
        "counterparty_exits": float(len(parties) - end["counterparties_active"])
        if parties
        else math.nan,
        "claims_written_off_after_usd": rise("cumulative_claims_written_off_usd"),
        "covenant_breaches_after": rise("cumulative_covenant_breaches"),
        "other_exits_after": rise("cumulative_exits") - rise("cumulative_forced_exits"),
        "rationed_after": mean("rationed_share"),
        "counterparty_labs_rationed_after": mean("counterparty_labs_rationed_share"),
        "spot_index_after": mean("spot_price_index_usd_per_h100e_hour"),
    }


# --------------------------------------------------------------------------- declaration


def _usd_b(name: str, label: str) -> Metric:
    return Metric(name, f"{label} (billion USD)", scale=1e9, fmt="{:,.2f}", kind="count")


def _count(name: str, label: str) -> Metric:
    return Metric(name, label, fmt="{:.2f}", kind="count")


def _share(name: str, label: str) -> Metric:
    return Metric(name, f"{label} (%)", scale=0.01, fmt="{:.2f}", kind="share")


METRICS: tuple[Metric, ...] = (
    _count("counterparties", "counterparties of the firm in the month before its exit"),
    _usd_b("counterparty_written_off_usd", "counterparties: claims written off"),
    _usd_b("counterparty_cash_end_usd", "counterparties: cash at the end"),
    _count("counterparty_exits", "counterparties that exit after the month"),
    _usd_b("claims_written_off_after_usd", "all creditors: claims written off after the month"),
    _count("covenant_breaches_after", "covenant breaches after the month"),
    _count("other_exits_after", "exits after the month, the forced one left out"),
    _share("rationed_after", "users rationed after the month, market"),
    _share("counterparty_labs_rationed_after", "users rationed after the month, counterparty labs"),
    Metric(
        "spot_index_after",
        "spot price index after the month (USD per H100e-hour)",
        fmt="{:.3f}",
    ),
)

FIGURES = (
    Panels(
        "counterparties",
        "The forced-out firm's counterparties",
        LEVER,
        (
            ("counterparty_cash_usd", "cash (billion USD)", 1e9),
            ("counterparty_written_off_usd", "claims written off (billion USD)", 1e9),
            ("counterparties_active", "still in the market", 1.0),
        ),
    ),
    Panels(
        "market",
        "The market",
        LEVER,
        (
            ("rationed_share", "users rationed (share)", 1.0),
            ("spot_price_index_usd_per_h100e_hour", "spot index (USD per H100e-hour)", 1.0),
            ("cumulative_covenant_breaches", "covenant breaches (cumulative)", 1.0),
        ),
    ),
    Differences(),
)


def bootstrap_interval(diffs: np.ndarray, level: float = INTERVAL) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences (fixed draws)."""
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(0)
    means = rng.choice(diffs, size=(BOOTSTRAP_DRAWS, len(diffs))).mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def notes(data: Data) -> list[str]:
    runs = data.runs
    forced = runs[runs[LEVER] == True].set_index("seed")  # noqa: E712 - booleans
    control = runs[runs[LEVER] == False].set_index("seed")  # noqa: E712
    seeds = sorted(set(forced.index) & set(control.index))
    if not seeds:
        return []
    out = [
        f"{INTERVAL:.0%} bootstrap intervals of the mean difference (forced exit minus control) "
        f"over {len(seeds)} paired seeds:"
    ]
    plan = data.plan
    try:
        from market.io.scenario import load_scenario

        target = target_of(load_scenario(plan.scenario, {**plan.fixed, "years": plan.years}))
        forced_text = f"The forced exit: {target['firm']} in {target['month']}."
    except ValueError:  # the scenario changed since the runs: name no target
        forced_text = ""
    for m in METRICS[1:]:
        d = (forced.loc[seeds, m.name] - control.loc[seeds, m.name]).to_numpy(dtype=float)
        lo, hi = bootstrap_interval(d)
        mean = float(np.nanmean(d)) if np.isfinite(d).any() else math.nan
        if m.kind == "share":
            text = f"{100 * mean:+.2f} points [{100 * lo:+.2f}, {100 * hi:+.2f}]"
        else:
            text = f"{m.signed(mean)} [{m.signed(lo)}, {m.signed(hi)}]"
        out.append(f"  {m.label}: {text}")
    intervals = " ".join([out[0], "; ".join(s.strip() for s in out[1:])]) + "."
    intervals += (
        " From the exit on the two arms also draw different random numbers (the auctions "
        "of the firm's sites draw bids), so a difference mixes the exit's consequences with "
        "another draw of sentiment and fundraising luck; only its average over seeds speaks "
        "to the exit."
    )
    return [forced_text, intervals] if forced_text else [intervals]


def check(spec: Scenario) -> str:
    target = target_of(spec)
    if target:
        return ""
    return (
        f"scenario '{spec.name}' has no [[intervention]] and no lab or neocloud buying "
        "opening contracts to force out; add an [[intervention]] table (firm, month)"
    )


EXPERIMENT = Experiment(
    name="contagion",
    question=QUESTION,
    doc=__doc__,
    scenario="colossus-2026",
    years=5.0,
    replicates=10,
    seed=None,  # the scenario's seed and the next ones, the same in both arms
    factors=(
        Factor(
            LEVER,
            (False, True),
            "intervention (forced exit or control)",
            lambda v: ARM_LABEL[bool(v)],
            reference=False,  # the forced exit is read against the control
        ),
    ),
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
