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
buyer's and owner's columns), run_metrics.csv (one row per run), differences.csv (one
row per seed: lease allowed minus barred), figures/ (means across seeds with 10-90%
bands, and the per-seed differences) and report.md (the differences and their spread
across seeds, computed from run_metrics.csv).

    python -m experiments.colossus_counterfactual
    python -m experiments.colossus_counterfactual --quick
    python -m experiments.colossus_counterfactual --replicates 20 --backend processes
    compute-market experiment colossus_counterfactual --replicates 2 --years 1 --out /tmp/cf
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market.io.atomic import replaced_folder, write_text
from market.io.params import PARAMS, ParameterError
from market.io.scenario import ScenarioError, load_scenario
from market.run.sweep import (
    SweepMismatchError,
    add_sweep_arguments,
    make_tasks,
    run_sweep,
    sweep_kwargs_from_args,
)

QUESTION = "What if the surplus lease were impossible: how do the buyer, the owner and prices fare when labs may not lease capacity to rival labs?"

SCENARIO = "colossus-2026"
BUYER = "Anthropic"
OWNER = "xAI"
LEVER = "lease_to_rival_labs"
DEFAULT_OUT = Path("runs") / "experiments" / "colossus_counterfactual"
RUN_FN = "experiments.colossus_counterfactual:run_task"
ARM_LABEL = {True: "lease allowed", False: "lease barred"}
QUICK_REPLICATES = 2
QUICK_YEARS = 2.0
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
        figures=False,
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


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metric:
    column: str
    label: str
    scale: float
    fmt: str
    kind: str = (
        "level"  # "level": difference with its relative size; "share": percentage points; "plain"
    )

    @property
    def share(self) -> bool:
        return self.kind == "share"

    def show(self, raw: float) -> str:
        if raw is None or not math.isfinite(raw):
            return "n/a"
        return self.fmt.format(raw / self.scale)


METRICS: tuple[Metric, ...] = (
    Metric(
        "buyer_rationed_mean",
        f"{BUYER}: users rationed, mean over the run (%)",
        0.01,
        "{:.2f}",
        "share",
    ),
    Metric(
        "buyer_rationed_first_year",
        f"{BUYER}: users rationed, first year (%)",
        0.01,
        "{:.2f}",
        "share",
    ),
    Metric(
        "buyer_revenue_usd_total", f"{BUYER}: revenue over the run (billion USD)", 1e9, "{:,.1f}"
    ),
    Metric(
        "buyer_capability_decades_final",
        f"{BUYER}: capability at the end (log10 H100e-months)",
        1.0,
        "{:.3f}",
        "plain",
    ),
    Metric("owner_cash_usd_final", f"{OWNER}: cash at the end (billion USD)", 1e9, "{:,.1f}"),
    Metric(
        "owner_revenue_usd_total",
        f"{OWNER}: revenue from its users over the run (billion USD)",
        1e9,
        "{:,.1f}",
    ),
    Metric(
        "owner_lease_income_usd_total",
        f"{OWNER}: income from capacity sold to labs (billion USD)",
        1e9,
        "{:,.2f}",
    ),
    Metric(
        "owner_leased_to_labs_h100e_mean",
        f"{OWNER}: capacity sold to labs, mean (thousand H100e)",
        1e3,
        "{:,.0f}",
    ),
    Metric(
        "spot_price_mean_usd_per_h100e_hour",
        "spot price index, mean (USD per H100e-hour)",
        1.0,
        "{:.3f}",
    ),
    Metric(
        "long_contract_price_mean_usd_per_h100e_hour",
        "new long-term contracts, mean price (USD per H100e-hour)",
        1.0,
        "{:.3f}",
    ),
    Metric("market_rationed_mean", "all labs: users rationed, mean (%)", 0.01, "{:.2f}", "share"),
    Metric(
        "surplus_leases_total", "whole-site leases between labs (count)", 1.0, "{:.1f}", "plain"
    ),
)


def paired_differences(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per seed that finished in both arms: allowed minus barred, for every metric."""
    allowed = runs[runs[LEVER] == True].set_index("seed")  # noqa: E712 - a column of booleans
    barred = runs[runs[LEVER] == False].set_index("seed")  # noqa: E712
    seeds = sorted(set(allowed.index) & set(barred.index))
    rows = []
    for s in seeds:
        row = {"seed": s}
        for m in METRICS:
            a, b = allowed.at[s, m.column], barred.at[s, m.column]
            row[f"{m.column}_barred"] = b
            row[f"{m.column}_allowed"] = a
            row[f"{m.column}_difference"] = a - b
        rows.append(row)
    return pd.DataFrame(rows)


def _difference_text(m: Metric, diffs: np.ndarray, base: np.ndarray) -> str:
    mean = float(np.mean(diffs))
    if m.share:
        return f"{100 * mean:+.2f} points"
    ref = float(np.mean(base))
    text = m.fmt.format(mean / m.scale)
    text = text if text.startswith("-") else "+" + text
    if (
        m.kind == "level" and abs(ref) > 1e-12 and abs(mean / ref) <= 10
    ):  # beyond 1000% a ratio says little
        text += f" ({mean / abs(ref):+.1%})"
    return text


def _spread_text(m: Metric, diffs: np.ndarray) -> str:
    lo, hi = np.percentile(diffs, [10, 90])
    if m.share:
        return f"{100 * lo:+.2f} to {100 * hi:+.2f} points"
    f = lambda v: (lambda t: t if t.startswith("-") else "+" + t)(m.fmt.format(v / m.scale))  # noqa: E731
    return f"{f(lo)} to {f(hi)}"


def report_markdown(
    runs: pd.DataFrame,
    diffs: pd.DataFrame,
    years: float,
    replicates: int,
    n_failed: int,
    figures: list[str],
) -> str:
    lines = ["# Colossus counterfactual", "", f"**Question.** {QUESTION}", ""]
    lines += ["## Setup", ""]
    seeds = sorted(runs["seed"].unique()) if len(runs) else []
    lines.append(
        f"- Scenario `{SCENARIO}`, {years:g} years per run; `{LEVER}` = false (lease barred) and "
        f"true (lease allowed, the scenario as calibrated), the same {replicates} seeds in both"
        + (f" ({seeds[0]} to {seeds[-1]})." if seeds else ".")
    )
    lines.append(
        f"- Buyer: {BUYER}; owner of the spare capacity: {OWNER}. Barring leases stops a lab from "
        "selling its capacity to another lab on contract or on the spot market; everything else is "
        "unchanged."
    )
    lines.append(
        f"- {len(runs)} runs finished, {n_failed} failed; {len(diffs)} seeds finished in both arms."
    )
    lines.append(
        "- Differences are paired: each seed's run with the lease allowed minus the same seed's run "
        "with it barred. 'Spread' is the 10th to 90th percentile of those differences across seeds."
    )
    lines += ["", "## Differences (lease allowed minus barred)", ""]
    if diffs.empty:
        lines.append("No seed finished in both arms.")
    else:
        lines.append(
            "| outcome | lease barred (mean) | lease allowed (mean) | difference (mean) | spread across seeds | seeds higher / lower / same |"
        )
        lines.append("|---|---|---|---|---|---|")
        for m in METRICS:
            d = diffs[f"{m.column}_difference"].to_numpy(dtype=float)
            b = diffs[f"{m.column}_barred"].to_numpy(dtype=float)
            a = diffs[f"{m.column}_allowed"].to_numpy(dtype=float)
            ok = np.isfinite(d)
            if not ok.any():
                lines.append(f"| {m.label} | n/a | n/a | n/a | n/a | - |")
                continue
            d, b, a = d[ok], b[ok], a[ok]
            tol = 1e-9 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))
            up, down = int((d > tol).sum()), int((d < -tol).sum())
            lines.append(
                f"| {m.label} | {m.show(float(np.mean(b)))} | {m.show(float(np.mean(a)))} | "
                f"{_difference_text(m, d, b)} | {_spread_text(m, d)} | {up} / {down} / {len(d) - up - down} |"
            )
        lines += ["", "## In words", ""]
        lines += _sentences(diffs)
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in figures]
    lines += [
        "",
        "Data: `run_metrics.csv` (one row per run), `differences.csv` (one row per seed), "
        "`timeseries.csv` (every month of every run).",
        "",
    ]
    return "\n".join(lines)


def _sentences(diffs: pd.DataFrame) -> list[str]:
    n = len(diffs)
    out = []

    def consistent(column: str) -> tuple[int, int, float]:
        d = diffs[f"{column}_difference"].to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        return int((d > 0).sum()), int((d < 0).sum()), float(np.mean(d)) if len(d) else math.nan

    leases = diffs["surplus_leases_total_allowed"].to_numpy(dtype=float)
    with_lease = int((leases > 0).sum())
    out.append(
        f"- With leases allowed, at least one whole-site lease between labs is signed in {with_lease} of "
        f"{n} seeds (none can be signed when they are barred)."
    )
    for column, subject in (
        ("buyer_rationed_mean", f"{BUYER}'s rationed share of users"),
        ("buyer_revenue_usd_total", f"{BUYER}'s revenue over the run"),
        ("owner_cash_usd_final", f"{OWNER}'s cash at the end"),
        ("owner_lease_income_usd_total", f"{OWNER}'s income from capacity sold to labs"),
        ("spot_price_mean_usd_per_h100e_hour", "the mean spot price index"),
    ):
        up, down, mean = consistent(column)
        m = next(x for x in METRICS if x.column == column)
        if up == 0 and down == 0:
            out.append(
                f"- {subject[0].upper() + subject[1:]} is the same in every seed whether or not "
                "leases are allowed."
            )
            continue
        unit = m.label.rsplit("(", 1)[-1].rstrip(")")
        amount = (
            f"{100 * abs(mean):.2f} percentage points"
            if m.share
            else f"{m.fmt.format(abs(mean) / m.scale)} {unit}"
        )
        same_way = up if mean > 0 else down
        out.append(
            f"- With leases allowed, {subject} is {'higher' if mean > 0 else 'lower'} by {amount} on "
            f"average; it moves that way in {same_way} of {n} seeds."
        )
    return out


# --------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib.pyplot as plt

    from market.view import figures as viz_figures  # selects the Agg backend before pyplot loads

    return viz_figures, plt


SERIES = (
    (
        "buyer",
        f"{BUYER}, the buyer",
        (
            ("buyer_rationed_share", "users rationed (%)", 0.01),
            ("buyer_revenue_usd_per_month", "revenue (billion USD per month)", 1e9),
            ("buyer_capability_decades", "capability (log10 H100e-months)", 1.0),
        ),
    ),
    (
        "owner",
        f"{OWNER}, the owner of spare capacity",
        (
            ("owner_cash_usd", "cash (billion USD)", 1e9),
            ("owner_revenue_usd_per_month", "revenue from users (billion USD per month)", 1e9),
            ("owner_leased_to_labs_h100e", "capacity sold to labs (thousand H100e)", 1e3),
        ),
    ),
    (
        "market",
        "The market",
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
)


def write_figures(folder: Path, ts: pd.DataFrame, diffs: pd.DataFrame) -> list[str]:
    viz, plt = _pyplot()
    import matplotlib.dates as mdates

    folder.mkdir(parents=True, exist_ok=True)
    out: list[str] = []
    if ts.empty:
        return out
    for name, title, panels in SERIES:
        fig, axes = plt.subplots(1, len(panels), figsize=(14, 4), dpi=110)
        for ax, (column, label, scale) in zip(axes, panels, strict=False):
            for arm in (False, True):
                d = ts[ts[LEVER] == arm].dropna(subset=[column])
                if d.empty:
                    continue
                viz.band_plot(
                    ax, d.assign(_y=d[column] / scale), "month", "_y", label=ARM_LABEL[arm]
                )
            ax.set_ylabel(label)
            locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axes[0].legend(fontsize=8, loc="best")
        fig.suptitle(f"{title}: mean across seeds, band 10-90%")
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", metadata={"Software": None})
        plt.close(fig)
        out.append(f"figures/{name}.png")
    if not diffs.empty:
        import textwrap

        cols = 4
        rows = math.ceil(len(METRICS) / cols)
        fig, grid = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), dpi=110)
        axes = list(grid.flat)
        for ax in axes[len(METRICS) :]:
            ax.axis("off")
        for ax, m in zip(axes, METRICS, strict=False):
            d = diffs[f"{m.column}_difference"].to_numpy(dtype=float) / m.scale
            d = d[np.isfinite(d)]
            ax.axhline(0, color="grey", lw=1)
            ax.plot(np.zeros_like(d), d, "o", alpha=0.6)
            if len(d):
                ax.plot([0], [np.mean(d)], "_", color="black", ms=24, mew=2)
            ax.set_xticks([])
            ax.set_title("\n".join(textwrap.wrap(m.label, 30)), fontsize=8)
        fig.suptitle("Lease allowed minus barred, one dot per seed (bar: mean)")
        fig.tight_layout()
        fig.savefig(folder / "differences.png", metadata={"Software": None})
        plt.close(fig)
        out.append("figures/differences.png")
    return out


# --------------------------------------------------------------------------- main


class CounterfactualError(ValueError):
    """Bad input; the message names the flag, the value and what is allowed."""


def build_parser(prog: str) -> argparse.ArgumentParser:
    from market.cli import _Parser

    parser = _Parser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring for what is written.",
    )
    add_sweep_arguments(parser, replicates=10, years=3.0, out=str(DEFAULT_OUT))
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke size: {QUICK_REPLICATES} seeds, {QUICK_YEARS:g} years, into "
        f"{DEFAULT_OUT}-quick (explicit flags win)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an earlier sweep in --out first (otherwise a different sweep there is refused)",
    )
    return parser


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CounterfactualError(f"output folder '{out}' exists and is a file")
    if out.is_dir() and any(out.iterdir()):
        if not (out / "manifest.json").is_file():
            raise CounterfactualError(
                f"output folder '{out}' is not empty and holds no sweep; choose another --out"
            )
        if overwrite:
            shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CounterfactualError(
            f"output folder '{out}' cannot be created: {exc.strerror or exc}"
        ) from None
    if not os.access(out, os.W_OK):
        raise CounterfactualError(f"output folder '{out}' is not writable")


def main(argv: list[str] | None = None) -> int:
    prog = (
        "python -m experiments.colossus_counterfactual"
        if argv is None
        else "compute-market experiment colossus_counterfactual"
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)

    def given(flag: str) -> bool:
        return any(a == flag or a.startswith(flag + "=") for a in argv)

    if args.quick:
        args.replicates = args.replicates if given("--replicates") else QUICK_REPLICATES
        args.years = args.years if given("--years") else QUICK_YEARS
        args.out = args.out if given("--out") else Path(f"{DEFAULT_OUT}-quick")
    try:
        years = PARAMS["years"].check(args.years, "--years")
        spec = load_scenario(SCENARIO, {LEVER: True})
        lab_names = {r["name"] for r in spec.tables["lab"]}
        if not {BUYER, OWNER} <= lab_names:
            raise CounterfactualError(f"scenario '{SCENARIO}' has no lab named {BUYER} or {OWNER}")
        kwargs = sweep_kwargs_from_args(args)
        out = Path(kwargs.pop("out_dir"))
        if kwargs["scheduler"] and kwargs["backend"] != "dask":
            raise CounterfactualError(
                f"--scheduler needs --backend dask, not --backend {kwargs['backend']}"
            )
        _prepare_out(out, args.overwrite)
        tasks = make_tasks(
            SCENARIO,
            {LEVER: [False, True]},
            replicates=args.replicates,
            base_seed=spec.seed,
            years=years,
        )
        result = run_sweep(
            tasks,
            out,
            run_fn=RUN_FN,
            extra_manifest={"experiment": "colossus_counterfactual", "question": QUESTION},
            **kwargs,
        )
    except (CounterfactualError, ParameterError, ScenarioError, SweepMismatchError) as exc:
        hint = " (or pass --overwrite to replace it)" if isinstance(exc, SweepMismatchError) else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: finished runs are kept in {args.out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130

    summary = result.summary
    runs = summary[summary["status"] == "ok"].copy() if "status" in summary else summary.iloc[0:0]
    if len(runs):
        runs[LEVER] = runs[LEVER].astype(str).str.lower() == "true"
    ts = result.timeseries.copy()
    if len(ts):
        ts[LEVER] = ts[LEVER].astype(str).str.lower() == "true"
    keep = ["run_id", "seed", LEVER, *[m.column for m in METRICS]]
    runs = runs[[c for c in keep if c in runs]].sort_values(["seed", LEVER]).reset_index(drop=True)
    diffs = paired_differences(runs) if len(runs) else pd.DataFrame()
    write_text(out / "run_metrics.csv", runs.to_csv(index=False, lineterminator="\n"))
    write_text(out / "differences.csv", diffs.to_csv(index=False, lineterminator="\n"))
    final = out / "figures"
    with replaced_folder(final) as tmp:
        figures = write_figures(tmp, ts, diffs)
    write_text(
        out / "report.md",
        report_markdown(runs, diffs, years, args.replicates, result.n_failed, figures),
    )
    print(
        f"colossus_counterfactual: {len(runs)} of {len(tasks)} runs finished; wrote {len(figures)} figures "
        f"and {out / 'report.md'}",
        file=sys.stderr,
    )
    if result.n_failed:
        print(
            f"colossus_counterfactual: {result.n_failed} runs failed; see {out / 'failed'} and rerun to retry",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
