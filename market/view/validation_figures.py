"""Figures of the validation report (PNG), one per pattern, drawn from the plain tables
of market.analysis.validate (only market.view imports matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from market.analysis.validate import (
    EARLY_MONTHS,
    LEASE_PRICE_REPORTED,
    Outcome,
    _plural,
    band_text,
)
from market.view.plotting import band_plot, date_axis, log_axis, plt, save


def _save(fig, path: Path) -> str:
    save(fig, path)
    return f"figures/{path.name}"


GROWTH_FIGURES = (
    (
        "compute_stock_growth",
        "delivered_stock_h100e",
        "chips delivered, online or not (million H100e, log)",
        1e6,
    ),
    (
        "frontier_run_growth",
        "largest_run_h100e_months",
        "largest completed run (million H100e-months, log)",
        1e6,
    ),
)


def _growth_figure(folder: Path, ts: pd.DataFrame, months, o: Outcome, column, label, scale):
    """A growth pattern: the model's mean and band against the target growth band."""
    p = o.pattern
    t = np.arange(len(months)) / 12.0
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    d = ts.assign(_y=ts[column] / scale)
    band_plot(ax, d, "month", "_y", label="model: mean, 10-90% band")
    start = float(d[d["month"] == d["month"].min()]["_y"].median())
    ax.fill_between(
        months,
        start * p.target.low**t,
        start * p.target.high**t,
        color="grey",
        alpha=0.15,
        label=f"target: {band_text(p)} ({p.target.source.split(' ')[0]})",
    )
    log_axis(ax)
    date_axis(ax)
    ax.set_ylabel(label)
    ax.set_title(p.label)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, folder / f"{p.target.key}.png")


def _vendor_figure(folder: Path, o: Outcome) -> str:
    """The yearly vendor share: one dot per seed and year, the median, the target band."""
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    lo, hi = o.pattern.target.yearly_band or (0.0, 1.0)
    table = o.yearly if o.yearly is not None else pd.DataFrame()
    years = list(table.columns)
    ax.axhspan(lo * 100, hi * 100, color="green", alpha=0.12, label="target band (C9)")
    for i, year in enumerate(years):
        v = table[year].dropna().to_numpy(dtype=float) * 100
        x = i + np.linspace(-0.15, 0.15, len(v)) if len(v) > 1 else np.full(len(v), float(i))
        ax.plot(x, v, "o", color="#1f77b4", alpha=0.6, label="one seed" if i == 0 else None)
        if len(v):
            median = [np.median(v)] * 2
            label = "median" if i == 0 else None
            ax.plot([i - 0.25, i + 0.25], median, color="black", lw=1.5, label=label)
    ax.set_xticks(range(len(years)), years)
    ax.set_xlim(-0.6, max(len(years), 1) - 0.4)
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of H100e delivered (%)")
    ax.set_title(o.pattern.label, fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, folder / "nvidia_share.png")


def _rationing_figure(folder: Path, ts: pd.DataFrame, seeds: pd.DataFrame, months, o: Outcome):
    """The capacity-short lab's rationing over time against the early target."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    d = ts.assign(_y=100 * ts["short_lab_rationed_share"])
    if d["_y"].notna().any():
        band_plot(ax, d.dropna(subset=["_y"]), "month", "_y", label="model: mean, 10-90% band")
    early = months[: EARLY_MONTHS + 1]
    ax.fill_between(
        early,
        o.pattern.target.low * 100,
        o.pattern.target.high * 100,
        color="green",
        alpha=0.15,
        label=f"target for the first {EARLY_MONTHS} months (S6)",
    )
    ax.plot(
        early, np.full(len(early), 7.0), color="green", lw=1, ls="--", label="reported: 7% (S6)"
    )
    names = seeds["short_lab"].replace("", np.nan).dropna() if len(seeds) else pd.Series(dtype=str)
    who = names.mode().iloc[0] if len(names) else "capacity-short lab"
    date_axis(ax)
    ax.set_ylabel(f"{who}: users rationed (% of its demand)")
    ax.set_title("The capacity-short lab's rationing (S6, S9)")
    ax.legend(fontsize=8, loc="upper right")
    return _save(fig, folder / "short_lab_rationing.png")


def _lease_figure(folder: Path, seeds: pd.DataFrame, months, o: Outcome) -> str:
    """The first lease between labs: its price per seed, and the month it was signed."""
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(9, 3.6), dpi=110, gridspec_kw={"width_ratios": [3, 2]}
    )
    low, high = o.pattern.target.low, o.pattern.target.high
    ax1.axvspan(low, high, color="green", alpha=0.12, label="within 2x of $7.8 (S3)")
    ax1.axvline(LEASE_PRICE_REPORTED, color="green", lw=1, ls="--")
    ax1.plot(o.values, np.zeros_like(o.values), "o", alpha=0.6, label="first lease, one seed")
    ax1.set_xscale("log")
    ax1.set_xlim(0.5, 40)
    ax1.set_yticks([])
    ax1.set_xlabel("lease price, USD per H100e-hour (log)")
    ax1.legend(fontsize=8, loc="upper left")
    ax1.set_title("Whole-site leases between labs")
    signed = (
        seeds.loc[seeds["lab_lease_first_year"] == 1, "lab_lease_signed_month"]
        if len(seeds)
        else pd.Series(dtype=str)
    )
    first_year = [m.strftime("%Y-%m") for m in months[:12]]
    counts = signed.value_counts().reindex(first_year, fill_value=0)
    ax2.bar([m[5:] for m in first_year], counts.values, color="#2ca02c")
    ax2.yaxis.get_major_locator().set_params(integer=True)
    ax2.set_ylabel("seeds")
    ax2.set_xlabel(f"month signed, {first_year[0][:4]}" if first_year else "month signed")
    ax2.set_title(
        f"First lease signed ({len(signed)} of {_plural(len(seeds), 'seed')})", fontsize=10
    )
    return _save(fig, folder / "lab_lease.png")


def write_figures(
    folder: Path, ts: pd.DataFrame, seeds: pd.DataFrame, outcomes: dict[str, Outcome]
) -> list[str]:
    """Every validation figure into ``folder``; paths relative to the report."""
    folder.mkdir(parents=True, exist_ok=True)
    if ts.empty:
        return []
    ts = ts.copy()  # one block per dtype: the runs' columns arrive one by one
    months = pd.to_datetime(sorted(ts["month"].unique()), format="%Y-%m")
    out = [
        _growth_figure(folder, ts, months, outcomes[key], column, label, scale)
        for key, column, label, scale in GROWTH_FIGURES
    ]
    out.append(_vendor_figure(folder, outcomes["nvidia_share"]))
    out.append(_rationing_figure(folder, ts, seeds, months, outcomes["short_lab_rations_early"]))
    out.append(_lease_figure(folder, seeds, months, outcomes["lab_lease_price"]))
    return out
