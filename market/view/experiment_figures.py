"""Figures of an experiment's report (PNG), drawn from the plain tables of
market.analysis.experiment: each declared figure (Response, Series, Panels,
Differences) has one drawing function here."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market.analysis.experiment import (
    Data,
    Differences,
    Factor,
    Figure,
    Metric,
    Panels,
    Plan,
    Response,
    Series,
    arms,
    metric_name,
    short_label,
)
from market.view.plotting import band_plot, date_axis, log_axis, plt, save

SLIDE_STYLE: dict[Any, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 14,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _levels(df: pd.DataFrame, factor: Factor | None) -> list:
    if factor is None:
        return [None]
    present = set(df[factor.param].unique())
    return [v for v in factor.values if v in present]


def _select(df: pd.DataFrame, plan: Plan, shown: Sequence[str]) -> pd.DataFrame:
    """Rows at the reference level of every factor the figure does not show."""
    keep = pd.Series(True, index=df.index)
    for f in plan.factors:
        if f.param not in shown:
            keep &= df[f.param] == plan.reference[f.param]
    return df[keep]


def _facet_figure(n: int):
    width = min(4.6 * n + 3.4, 17)  # room on the right for the legend
    fig, axes = plt.subplots(1, n, figsize=(width, 4.6), dpi=120, sharey=True, squeeze=False)
    return fig, list(axes[0])


def _finish(fig, axes, title: str, subtitle: str, path: Path, legend_title: str | None) -> Path:
    from matplotlib.ticker import FuncFormatter

    for ax in axes:
        if ax.get_yscale() == "linear":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.6g}"))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        # Outside the last panel, so it never hides a line or a band.
        axes[-1].legend(
            handles,
            labels,
            title=legend_title,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
        )
    fig.suptitle(title + (f"\n{subtitle}" if subtitle else ""), fontsize=13 if subtitle else 14)
    return save(fig, path)


def response_figure(
    data: Data,
    metric: Metric,
    x: str,
    lines: str | None,
    facets: str | None,
    path: Path,
    title: str | None = None,
) -> Path | None:
    """The metric against one parameter: mean across seeds with a 10-90% band, one line per level
    of ``lines``, one panel per level of ``facets``; other factors at their reference level."""
    plan = data.plan
    shown = [p for p in (x, lines, facets) if p]
    df = _select(data.runs.dropna(subset=[metric.name]), plan, shown)
    if df.empty:
        return None
    df = df.assign(_y=df[metric.name] / metric.scale)
    fx = plan.factor(x)
    fl = plan.factor(lines) if lines else None
    ff = plan.factor(facets) if facets else None
    with plt.rc_context(SLIDE_STYLE):
        panels = _levels(df, ff)
        fig, axes = _facet_figure(len(panels))
        for ax, level in zip(axes, panels, strict=False):
            sub = df if ff is None else df[df[ff.param] == level]
            for lv in _levels(sub, fl):
                d = sub if fl is None else sub[sub[fl.param] == lv]
                band_plot(ax, d, fx.param, "_y", label=None if fl is None else fl.fmt(lv))
                ax.lines[-1].set_marker("o")
            if fx.numeric:
                ax.set_xticks(list(fx.values), [(fx.tick or fx.fmt)(v) for v in fx.values])
            ax.set_xlabel(fx.label)
            if metric.log:
                log_axis(ax)
            if ff is not None:
                ax.set_title(f"{short_label(ff)}: {ff.fmt(level)}")
        axes[0].set_ylabel(metric.unit or metric.label)
        subtitle = _subtitle(data, plan.ref_label(shown))
        return _finish(
            fig, axes, title or metric_name(metric), subtitle, path, fl.label if fl else None
        )


def series_figure(
    data: Data,
    column: str,
    ylabel: str,
    lines: str,
    facets: str | None,
    path: Path,
    title: str,
    scale: float = 1.0,
    log: bool = False,
) -> Path | None:
    """A monthly output over time: mean across seeds with a 10-90% band, one line per level of
    ``lines``, one panel per level of ``facets``; other factors at their reference level."""
    plan = data.plan
    shown = [p for p in (lines, facets) if p]
    ts = data.timeseries
    if ts.empty or column not in ts:
        return None
    df = _select(
        ts[["month", *[f.param for f in plan.factors], column]].dropna(subset=[column]), plan, shown
    )
    if df.empty:
        return None
    df = df.assign(_y=df[column] / scale)
    fl = plan.factor(lines)
    ff = plan.factor(facets) if facets else None
    with plt.rc_context(SLIDE_STYLE):
        panels = _levels(df, ff)
        fig, axes = _facet_figure(len(panels))
        for ax, level in zip(axes, panels, strict=False):
            sub = df if ff is None else df[df[ff.param] == level]
            for lv in _levels(sub, fl):
                band_plot(ax, sub[sub[fl.param] == lv], "month", "_y", label=fl.fmt(lv))
            if log:
                log_axis(ax)
            ax.set_xlabel("month")
            date_axis(ax, maxticks=7)
            if ff is not None:
                ax.set_title(f"{short_label(ff)}: {ff.fmt(level)}")
        axes[0].set_ylabel(ylabel)
        subtitle = _subtitle(data, plan.ref_label(shown))
        return _finish(fig, axes, title, subtitle, path, fl.label)


def _subtitle(data: Data, held: str) -> str:
    plan = data.plan
    seeds = data.runs["seed"].nunique() if len(data.runs) else 0
    parts = [f"{plan.scenario} scenario, mean of {seeds} seeds, band 10-90%"]
    if held:
        parts.append(held)
    return "; ".join(parts)


def panels_figure(data: Data, fig: Panels, path: Path) -> Path | None:
    """Several monthly outputs side by side, one line (mean, 10-90% band) per level."""
    ts = data.timeseries
    if ts.empty:
        return None
    ts = ts.copy()  # one block per dtype: the runs' columns arrive one by one
    factor = data.plan.factor(fig.lines)
    figure, axes = plt.subplots(1, len(fig.panels), figsize=(14, 4), dpi=110, squeeze=False)
    for ax, (column, label, scale) in zip(axes[0], fig.panels, strict=False):
        for level in factor.values:
            d = ts[ts[factor.param] == level].dropna(subset=[column])
            if d.empty:
                continue
            band_plot(ax, d.assign(_y=d[column] / scale), "month", "_y", label=factor.fmt(level))
        ax.set_ylabel(label)
        date_axis(ax, maxticks=6)
    axes[0][0].legend(fontsize=8, loc="best")
    figure.suptitle(f"{fig.title}: mean across seeds, band 10-90%")
    return save(figure, path)


def differences_figure(data: Data, diffs: pd.DataFrame, path: Path) -> Path | None:
    """A two-arm experiment: every seed's difference, one panel per metric, with the mean."""
    if diffs is None or diffs.empty:
        return None
    metrics = data.plan.experiment.metrics
    cols = 4
    rows = math.ceil(len(metrics) / cols)
    figure, grid = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), dpi=110, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(metrics) :]:
        ax.axis("off")
    for ax, m in zip(axes, metrics, strict=False):
        d = diffs[f"{m.name}_difference"].to_numpy(dtype=float) / m.scale
        d = d[np.isfinite(d)]
        ax.axhline(0, color="grey", lw=1)
        ax.plot(np.zeros_like(d), d, "o", alpha=0.6)
        if len(d):
            ax.plot([0], [np.mean(d)], "_", color="black", ms=24, mew=2)
        ax.set_xticks([])
        ax.set_title("\n".join(textwrap.wrap(m.label, 30)), fontsize=8)
    factor, low, high = arms(data.plan)
    figure.suptitle(f"{factor.fmt(high)} minus {factor.fmt(low)}, one dot per seed (bar: mean)")
    return save(figure, path)


def draw(data: Data, fig: Figure, folder: Path, diffs: pd.DataFrame | None = None) -> Path | None:
    """Draw one declared figure into ``folder``; None when there is nothing to draw."""
    path = folder / f"{fig.name}.png"
    if isinstance(fig, Response):
        metric = data.plan.experiment.metric(fig.metric)
        return response_figure(data, metric, fig.x, fig.lines, fig.facets, path)
    if isinstance(fig, Series):
        return series_figure(
            data, fig.column, fig.ylabel, fig.lines, fig.facets, path, fig.title, fig.scale, fig.log
        )
    if isinstance(fig, Panels):
        return panels_figure(data, fig, path)
    if isinstance(fig, Differences):
        return differences_figure(data, diffs, path)
    raise TypeError(f"unknown figure declaration {fig!r}")
