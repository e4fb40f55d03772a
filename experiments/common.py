"""Shared machinery of the experiment scripts: flags, the sweep, per-run metrics, bands,
figures and the report.

An experiment module declares an ``Experiment`` (its question, the parameters it varies
as ``Factor``s and the per-run numbers it reports as ``Metric``s), a function that draws
its figures, and ``main(argv)`` that hands both to ``common.main``. Everything else is
here, so every experiment has the same flags, the same output folder and a report built
the same way::

    out/manifest.json, runs/, failed/, summary.csv, timeseries.csv   (market.run.sweep)
    out/run_metrics.csv   one row per finished run: the varied parameters, seed, metrics
    out/points.csv        one row per parameter point: each metric's mean, p10, p90, runs
    out/figures/*.png     means across seeds with a 10-90% band
    out/report.md         the answer, computed from run_metrics.csv

Effects in the report are paired: replicate ``r`` runs with the same seed at every
parameter point (market.run.sweep's common random numbers), so "higher in 7 of 8 paired
runs" compares runs that differ only in the parameter.
"""

from __future__ import annotations

import argparse
import difflib
import math
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market.cli import parse_seed
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

# Every experiment runs the model through the runner, the one way to run a model.
RUN_FN = "market.run.runner:run_task"
DEFAULT_OUT_ROOT = Path("runs") / "experiments"
QUICK_REPLICATES = 2
QUICK_YEARS = 2.0
# An effect counts as a rise or a fall when a two-sided sign test over the paired runs that
# differ rejects "up and down equally likely" at this level.
SIGN_TEST_ALPHA = 0.05
# Below this relative change a consistent effect is called slight.
SLIGHT_CHANGE = 0.05


class ExperimentError(ValueError):
    """Bad input to an experiment (a flag value, an output folder); the message says why."""


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Factor:
    """A declared model parameter the experiment varies."""

    param: str
    values: tuple
    label: str  # axis label and legend title, with the unit
    fmt: Callable[[Any], str] = str  # how one value reads in a legend or a sentence
    tick: Callable[[Any], str] | None = None  # axis tick text when the label already has the unit

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class Metric:
    """One number per run, computed from the run's monthly rows."""

    name: str
    label: str  # axis label, with the display unit
    fn: Callable[[pd.DataFrame], float]
    scale: float = 1.0  # displayed value = raw value / scale
    fmt: str = "{:,.2f}"  # format of a displayed value
    kind: str = (
        "level"  # "level": relative changes; "share": percentage points; "count": differences
    )
    log: bool = False  # log axis in figures

    def show(self, raw: float, unit: bool = False) -> str:
        """The displayed value; with ``unit``, followed by the unit from the label."""
        if raw is None or not math.isfinite(raw):
            return "n/a"
        text = self.fmt.format(raw / self.scale)
        u = self.unit
        if not unit or not u or u == "x":
            return text
        return text + u if u.startswith("%") else f"{text} {u}"

    @property
    def unit(self) -> str:
        if not self.label.endswith(")") or " (" not in self.label:
            return ""
        return self.label.rsplit(" (", 1)[1][:-1]


@dataclass(frozen=True)
class Experiment:
    name: str
    question: str
    factors: tuple[Factor, ...]
    metrics: tuple[Metric, ...]
    scenario: str = "baseline"
    years: float = 10.0
    replicates: int = 8
    doc: str = ""  # the module docstring, shown by --help

    def factor(self, param: str) -> Factor:
        return next(f for f in self.factors if f.param == param)

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)


@dataclass
class Plan:
    """What one invocation runs: the experiment with its factor values as chosen by flags."""

    experiment: Experiment
    factors: tuple[Factor, ...]
    reference: dict[str, Any]  # the level each factor is held at when another one varies
    fixed: dict[str, Any]  # --set overrides applied to every run
    scenario: str
    years: float
    replicates: int
    base_seed: int
    out: Path
    argv: list[str] = field(default_factory=list)

    def factor(self, param: str) -> Factor:
        return next(f for f in self.factors if f.param == param)

    def ref_label(self, params: Sequence[str]) -> str:
        """'held at: chip supply x1, neocloud spread 9%' for the factors a figure does not show."""
        shown = set(params)
        held = [
            f"{_short(f)} {f.fmt(self.reference[f.param])}"
            for f in self.factors
            if f.param not in shown and len(f.values) > 1
        ]
        return ("held at " + ", ".join(held)) if held else ""


@dataclass
class Data:
    """The results an experiment's figures and report are drawn from."""

    plan: Plan
    runs: pd.DataFrame  # one row per finished run: factor columns, seed, replicate, metrics
    timeseries: pd.DataFrame  # every finished run's monthly rows, factor columns first
    n_tasks: int
    n_failed: int


# --------------------------------------------------------------------------- running


# --------------------------------------------------------------------------- per-run metrics


def last(column: str) -> Callable[[pd.DataFrame], float]:
    def fn(run: pd.DataFrame) -> float:
        values = run[column].dropna()
        return float(values.iloc[-1]) if len(values) else math.nan

    return fn


def mean(column: str, from_month: int = 0) -> Callable[[pd.DataFrame], float]:
    """Mean over the run, from month index ``from_month`` on (all months if the run is shorter)."""

    def fn(run: pd.DataFrame) -> float:
        values = run[column].iloc[from_month:] if len(run) > from_month else run[column]
        values = values.dropna()
        return float(values.mean()) if len(values) else math.nan

    return fn


def growth_per_year(column: str, from_month: int = 12) -> Callable[[pd.DataFrame], float]:
    """Yearly growth factor from month index ``from_month`` to the end (compound)."""

    def fn(run: pd.DataFrame) -> float:
        values = run[column].to_numpy(dtype=float)
        if len(values) <= from_month + 1 or not values[from_month] > 0:
            return math.nan
        return float((values[-1] / values[from_month]) ** (12.0 / (len(values) - 1 - from_month)))

    return fn


def annual_log_volatility(column: str) -> Callable[[pd.DataFrame], float]:
    """Standard deviation of the monthly log change, times sqrt(12); months at or below 0 skipped."""

    def fn(run: pd.DataFrame) -> float:
        values = run[column].where(run[column] > 0).dropna().to_numpy(dtype=float)
        if len(values) < 3:
            return math.nan
        return float(np.std(np.diff(np.log(values)), ddof=1) * math.sqrt(12))

    return fn


def runs_with(runs: pd.DataFrame, column: str) -> str:
    """'12 of 72 runs' with a positive value of ``column``."""
    return f"{int((runs[column] > 0).sum())} of {len(runs)} runs"


def run_metrics(
    timeseries: pd.DataFrame, factors: Sequence[Factor], metrics: Sequence[Metric]
) -> pd.DataFrame:
    """One row per run: run_id, seed, replicate, point, the factor values, then each metric."""
    if timeseries.empty:
        return pd.DataFrame(
            columns=[
                "run_id",
                "seed",
                "replicate",
                "point",
                *[f.param for f in factors],
                *[m.name for m in metrics],
            ]
        )
    rows = []
    for run_id, run in timeseries.groupby("run_id", sort=True):
        run = run.sort_values("month")
        first = run.iloc[0]
        row = {
            "run_id": run_id,
            "seed": int(first["seed"]),
            "replicate": int(first["replicate"]),
            "point": int(first["point"]),
        }
        row.update({f.param: _native(first[f.param]) for f in factors})
        row.update({m.name: m.fn(run) for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def band_stats(df: pd.DataFrame, by: Sequence[str], column: str) -> pd.DataFrame:
    """Mean, 10th and 90th percentile and number of runs of ``column`` for each group of ``by``."""
    grouped = df.groupby(list(by), sort=False)[column]
    stats = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "p10": grouped.quantile(0.1),
            "p90": grouped.quantile(0.9),
            "runs": grouped.count(),
        }
    )
    return stats.reset_index()


def points_table(
    runs: pd.DataFrame, factors: Sequence[Factor], metrics: Sequence[Metric]
) -> pd.DataFrame:
    """One row per parameter point: for each metric its mean, p10 and p90 across seeds."""
    by = [f.param for f in factors]
    table = None
    for m in metrics:
        stats = band_stats(runs, by, m.name).rename(
            columns={"mean": f"{m.name}_mean", "p10": f"{m.name}_p10", "p90": f"{m.name}_p90"}
        )
        if table is None:
            table = stats
        else:
            table = table.merge(stats.drop(columns="runs"), on=by, how="outer")
    order = {f.param: {v: i for i, v in enumerate(f.values)} for f in factors}
    table = table.sort_values(by, key=lambda col: col.map(order[col.name]), kind="stable")
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------- effects


@dataclass
class Effect:
    """How a metric differs between two levels of one factor, paired by seed and the other factors."""

    factor: Factor
    metric: Metric
    low: Any
    high: Any
    mean_low: float
    mean_high: float
    n_pairs: int
    n_up: int
    n_down: int
    level_means: dict  # every level of the factor -> mean of the metric (over the same pairs)

    @property
    def difference(self) -> float:
        return self.mean_high - self.mean_low

    @property
    def relative(self) -> float | None:
        if abs(self.mean_low) <= _tolerance(self.mean_low, self.mean_high):
            return None
        return self.difference / abs(self.mean_low)

    @property
    def constant(self) -> bool:
        return self.n_up == 0 and self.n_down == 0

    @property
    def p_value(self) -> float:
        """Two-sided sign test over the paired runs that differ (ties left out)."""
        return sign_test(self.n_up, self.n_down)

    @property
    def direction(self) -> int:
        """+1 or -1 when the paired runs move that way more often than chance allows, else 0."""
        if self.p_value >= SIGN_TEST_ALPHA:
            return 0
        return 1 if self.n_up > self.n_down else -1

    def change_text(self) -> str:
        m = self.metric
        diff = self.difference / m.scale
        if m.kind == "share":
            return f"{self.difference * 100:+.1f} percentage points"
        rel = self.relative
        if m.kind == "level" and rel is not None:
            return f"{rel:+.1%}" if abs(rel) < 0.1 else f"{rel:+.0%}"
        text = m.fmt.format(diff) if diff < 0 else "+" + m.fmt.format(diff)
        return f"{text} {m.unit}" if m.unit and m.unit != "x" else text

    def verb(self) -> str:
        if self.n_pairs == 0:
            return "cannot be compared (no paired runs finished)"
        if self.constant:
            return "does not change"
        rel = self.relative
        if self.metric.kind == "share":
            slight = abs(self.difference) < 0.01
        else:
            slight = rel is not None and abs(rel) < SLIGHT_CHANGE
        if self.direction > 0:
            return "rises slightly" if slight else "rises"
        if self.direction < 0:
            return "falls slightly" if slight else "falls"
        if slight:
            return "barely changes"
        return "shows no consistent direction"


def sign_test(n_up: int, n_down: int) -> float:
    """Probability, if up and down were equally likely, of a split at least this lopsided."""
    n, k = n_up + n_down, min(n_up, n_down)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def effect(runs: pd.DataFrame, plan: Plan, factor: Factor, metric: Metric, low, high) -> Effect:
    """Compare ``metric`` at two levels of ``factor``, averaged over the other factors' levels."""
    others = [f.param for f in plan.factors if f.param != factor.param]
    keys = [*others, "replicate"]
    data = runs[[*keys, factor.param, metric.name]].dropna(subset=[metric.name])
    wide = data.pivot_table(index=keys, columns=factor.param, values=metric.name, aggfunc="first")
    levels = [v for v in factor.values if v in wide.columns]
    if low not in wide.columns or high not in wide.columns:
        return Effect(factor, metric, low, high, math.nan, math.nan, 0, 0, 0, {})
    pairs = wide[[low, high]].dropna()
    diff = pairs[high] - pairs[low]
    tol = _tolerance(*pairs.to_numpy().ravel()) if len(pairs) else 0.0
    level_means = {v: float(wide[v].dropna().mean()) for v in levels}
    return Effect(
        factor,
        metric,
        low,
        high,
        float(pairs[low].mean()) if len(pairs) else math.nan,
        float(pairs[high].mean()) if len(pairs) else math.nan,
        len(pairs),
        int((diff > tol).sum()),
        int((diff < -tol).sum()),
        level_means,
    )


def factor_effects(runs: pd.DataFrame, plan: Plan, factor: Factor, metric: Metric) -> list[Effect]:
    """Numeric factors: lowest against highest level. Categorical ones: each level against the
    reference level."""
    if len(factor.values) < 2:
        return []
    if factor.numeric:
        return [effect(runs, plan, factor, metric, min(factor.values), max(factor.values))]
    ref = plan.reference[factor.param]
    return [effect(runs, plan, factor, metric, ref, v) for v in factor.values if v != ref]


def _tolerance(*values) -> float:
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 1e-9 * max(finite, default=0.0) + 1e-12


def describe(e: Effect) -> str:
    """One sentence: the metric's change between two levels, with the evidence."""
    f, m = e.factor, e.metric
    if e.n_pairs == 0:
        return f"{_name(m)} cannot be compared between {f.fmt(e.low)} and {f.fmt(e.high)}: no paired runs finished."
    if e.constant:
        return (
            f"{_name(m)} is the same at {f.fmt(e.low)} and {f.fmt(e.high)} in each of the "
            f"{e.n_pairs} paired runs (mean {m.show(e.mean_low, unit=True)})."
        )
    text = (
        f"{_name(m)} {e.verb()} {_where(e)}: "
        f"{m.show(e.mean_low, unit=True)} against {m.show(e.mean_high, unit=True)} ({e.change_text()}); "
        f"higher in {e.n_up}, lower in {e.n_down} of {e.n_pairs} paired runs"
    )
    if f.numeric and len(e.level_means) > 2:
        text += "; " + _shape(e)
    return text + "."


def _shape(e: Effect) -> str:
    levels = list(e.level_means)
    means = [e.level_means[v] for v in levels]
    steps = np.diff(means)
    tol = _tolerance(*means)
    if (steps > tol).all():
        return "higher at every step"
    if (steps < -tol).all():
        return "lower at every step"
    if (np.abs(steps) <= tol).all():
        return "the same at every level"
    i_max, i_min = int(np.argmax(means)), int(np.argmin(means))
    f = e.factor
    if 0 < i_max < len(levels) - 1:
        return f"not monotonic: highest at {f.fmt(levels[i_max])} ({e.metric.show(means[i_max], unit=True)})"
    if 0 < i_min < len(levels) - 1:
        return f"not monotonic: lowest at {f.fmt(levels[i_min])} ({e.metric.show(means[i_min], unit=True)})"
    return "not monotonic: " + ", ".join(
        f"{f.fmt(v)}: {e.metric.show(x)}" for v, x in zip(levels, means, strict=False)
    )


def _name(m: Metric) -> str:
    text = m.label.split(" (")[0]
    return text[0].upper() + text[1:]


def _short(f: Factor) -> str:
    return f.label.split(" (")[0]


def _where(e: Effect) -> str:
    f = e.factor
    if f.numeric:
        return f"as {_short(f)} goes from {f.fmt(e.low)} to {f.fmt(e.high)}"
    return f"with {_short(f)} {f.fmt(e.high)} instead of {f.fmt(e.low)}"


def _clause(e: Effect, most: str = "", values: bool = True) -> str:
    """'rises most as X goes from a to b: A to B (+n%)', or 'with X b instead of a' for categories."""
    m = e.metric
    where = _where(e)
    if not values:
        return f"{e.verb()}{most} {where} ({e.change_text()})"
    return (
        f"{e.verb()}{most} {where}: {m.show(e.mean_low, unit=True)} against "
        f"{m.show(e.mean_high, unit=True)} ({e.change_text()})"
    )


def answer_for_metric(runs: pd.DataFrame, plan: Plan, metric: Metric) -> str:
    """Which varied parameter moves this metric most, among those that move it consistently."""
    name = f"**{_name(metric)}**"
    effects = [e for f in plan.factors for e in factor_effects(runs, plan, f, metric)]
    effects = [e for e in effects if e.n_pairs]
    if not effects:
        return f"{name}: no paired runs to compare."
    values = runs[metric.name].dropna()
    if len(values) and (values.max() - values.min()) <= _tolerance(values.max(), values.min()):
        return (
            f"{name} is {metric.show(float(values.iloc[0]), unit=True)} in every run: "
            "none of the varied parameters moves it in this range."
        )
    if all(e.constant for e in effects):
        return (
            f"{name} differs between seeds but not between parameter values: each pair of runs with "
            f"the same seed gives the same value (mean {metric.show(float(values.mean()), unit=True)})."
        )
    clear = sorted((e for e in effects if e.direction), key=lambda e: -abs(e.difference))
    if not clear:
        top = max(effects, key=lambda e: abs(e.difference) if math.isfinite(e.difference) else -1)
        if top.verb() == "barely changes":
            return (
                f"{name} barely changes with any varied parameter; the largest average change is "
                f"{top.change_text()}, {_where(top)}."
            )
        return (
            f"{name}: no varied parameter moves it consistently across seeds; the largest average "
            f"change is {top.change_text()}, {_where(top)}."
        )
    lead, rest = clear[0], clear[1:]
    several = sum(len(f.values) > 1 for f in plan.factors) > 1
    most = " most" if several and "slightly" not in lead.verb() else ""
    text = f"{name} {_clause(lead, most)}"
    if rest:
        text += "; it also " + "; ".join(_clause(e, values=False) for e in rest)
    quiet = [
        f
        for f in plan.factors
        if len(f.values) > 1 and f.param not in {e.factor.param for e in clear}
    ]
    if quiet:
        text += "; no consistent effect of " + " or ".join(_short(f) for f in quiet)
    return text + "."


# --------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib.pyplot as plt

    from market.view import figures as viz_figures  # sets the Agg backend before pyplot is imported

    return viz_figures, plt


SLIDE_STYLE = {
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


def _facet_figure(plt, n: int):
    width = min(4.6 * n + 3.4, 17)  # room on the right for the legend
    fig, axes = plt.subplots(1, n, figsize=(width, 4.6), dpi=120, sharey=True, squeeze=False)
    return fig, list(axes[0])


def _finish(fig, axes, title: str, subtitle: str, path: Path, legend_title: str | None) -> Path:
    _, plt = _pyplot()
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path


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
    viz, plt = _pyplot()
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
        fig, axes = _facet_figure(plt, len(panels))
        for ax, level in zip(axes, panels, strict=False):
            sub = df if ff is None else df[df[ff.param] == level]
            for lv in _levels(sub, fl):
                d = sub if fl is None else sub[sub[fl.param] == lv]
                viz.band_plot(ax, d, fx.param, "_y", label=None if fl is None else fl.fmt(lv))
                ax.lines[-1].set_marker("o")
            if fx.numeric:
                ax.set_xticks(list(fx.values), [(fx.tick or fx.fmt)(v) for v in fx.values])
            ax.set_xlabel(fx.label)
            if metric.log:
                _log_axis(ax)
            if ff is not None:
                ax.set_title(f"{_short(ff)}: {ff.fmt(level)}")
        axes[0].set_ylabel(metric.unit or metric.label)
        subtitle = _subtitle(data, plan.ref_label(shown))
        return _finish(fig, axes, title or _name(metric), subtitle, path, fl.label if fl else None)


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
    viz, plt = _pyplot()
    import matplotlib.dates as mdates

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
        fig, axes = _facet_figure(plt, len(panels))
        for ax, level in zip(axes, panels, strict=False):
            sub = df if ff is None else df[df[ff.param] == level]
            for lv in _levels(sub, fl):
                viz.band_plot(ax, sub[sub[fl.param] == lv], "month", "_y", label=fl.fmt(lv))
            if log:
                _log_axis(ax)
            ax.set_xlabel("month")
            locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            if ff is not None:
                ax.set_title(f"{_short(ff)}: {ff.fmt(level)}")
        axes[0].set_ylabel(ylabel)
        subtitle = _subtitle(data, plan.ref_label(shown))
        return _finish(fig, axes, title, subtitle, path, fl.label)


def _log_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    plain = FuncFormatter(lambda y, _: f"{y:,.3g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))


def _subtitle(data: Data, held: str) -> str:
    plan = data.plan
    seeds = data.runs["seed"].nunique() if len(data.runs) else 0
    parts = [f"{plan.scenario} scenario, mean of {seeds} seeds, band 10-90%"]
    if held:
        parts.append(held)
    return "; ".join(parts)


# --------------------------------------------------------------------------- report


def markdown_table(data: Data) -> str:
    plan = data.plan
    table = points_table(data.runs, plan.factors, plan.experiment.metrics)
    head = [f.label for f in plan.factors] + [m.label for m in plan.experiment.metrics] + ["runs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in table.iterrows():
        cells = [f.fmt(_native(row[f.param])) for f in plan.factors]
        for m in plan.experiment.metrics:
            cells.append(
                f"{m.show(row[f'{m.name}_mean'])} [{m.show(row[f'{m.name}_p10'])}, "
                f"{m.show(row[f'{m.name}_p90'])}]"
            )
        cells.append(str(int(row["runs"])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_text(data: Data, figures: Sequence[Path], notes: Sequence[str] = ()) -> str:
    plan, exp = data.plan, data.plan.experiment
    runs = data.runs
    n_ok = len(runs)
    out = [f"# {exp.name.replace('_', ' ').capitalize()}", "", f"**Question.** {exp.question}", ""]
    out += ["## Setup", ""]
    out.append(
        f"- Scenario `{plan.scenario}`, {plan.years:g} years per run, {plan.replicates} seeds per "
        f"parameter point (seeds {plan.base_seed} to {plan.base_seed + plan.replicates - 1}, the same "
        "seeds at every point)."
    )
    for f in plan.factors:
        ref = (
            f" (held at {f.fmt(plan.reference[f.param])} while another parameter varies)"
            if len(f.values) > 1
            else ""
        )
        out.append(
            f"- `{f.param}` — {f.label}: " + ", ".join(f.fmt(v) for v in f.values) + ref + "."
        )
    if plan.fixed:
        out.append(
            "- Fixed for every run: "
            + ", ".join(f"`{k}` = {v!r}" for k, v in plan.fixed.items())
            + "."
        )
    out.append(
        f"- {data.n_tasks} runs: {n_ok} finished, {data.n_failed} failed"
        + (" (see `failed/`; rerunning the same command retries them)." if data.n_failed else ".")
    )
    out.append(
        "- Numbers are means across seeds; brackets give the 10th to 90th percentile across seeds. "
        "Effects compare runs with the same seed and the same other parameters (paired runs), "
        "averaged over the other parameters' levels. An outcome is said to rise or fall only when "
        "the paired runs that differ move that way more often than chance allows (two-sided sign "
        f"test, p < {SIGN_TEST_ALPHA:g}); 'slightly' marks a change under {SLIGHT_CHANGE:.0%} "
        "(under 1 percentage point for shares). Which parameter matters most is judged over the "
        "ranges listed above."
    )
    out += ["", "## Answer", ""]
    if n_ok == 0:
        out.append("No run finished, so the data give no answer; see `failed/` for the errors.")
    else:
        out += [f"- {answer_for_metric(runs, plan, m)}" for m in exp.metrics]
        out += [f"- {note}" for note in notes]
        out += ["", "## Effect of each parameter", ""]
        for f in plan.factors:
            if len(f.values) < 2:
                continue
            out += [f"### {f.label}", ""]
            for m in exp.metrics:
                out += [f"- {describe(e)}" for e in factor_effects(runs, plan, f, m)]
            out.append("")
        out += ["## Every parameter point", "", markdown_table(data), ""]
    if figures:
        out += ["## Figures", ""]
        for path in figures:
            out += [f"![{path.stem.replace('_', ' ')}](figures/{path.name})", ""]
    out += [
        "## Reproduce",
        "",
        "```",
        _command_line(plan),
        "```",
        "",
        "Rerunning the command into the same folder skips finished runs and redraws the figures "
        "and this report.",
        "",
    ]
    return "\n".join(out)


def _command_line(plan: Plan) -> str:
    return (
        "python -m experiments."
        + plan.experiment.name
        + (" " + shlex.join(plan.argv) if plan.argv else "")
    )


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, like every bad input in this project
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _value_list(text: str) -> tuple[str, list[str]]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=V1,V2,..., e.g. contest_intensity=0.5,3"
        )
    name, values = text.split("=", 1)
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least one value after '='")
    return name.strip(), items


def _assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=VALUE, e.g. demand_growth_per_year=2"
        )
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


def build_parser(exp: Experiment, prog: str) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description=exp.doc or exp.question,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_sweep_arguments(
        parser, replicates=exp.replicates, years=exp.years, out=str(DEFAULT_OUT_ROOT / exp.name)
    )
    group = parser.add_argument_group("experiment")
    group.add_argument(
        "--scenario",
        default=exp.scenario,
        help="built-in scenario name or .toml path (default: %(default)s)",
    )
    group.add_argument(
        "--seed",
        type=parse_seed,
        default=0,
        help="first seed; replicate r runs with seed+r (default: 0)",
    )
    group.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke size: {QUICK_REPLICATES} seeds, {QUICK_YEARS:g} years, only the lowest and "
        "highest value of the first parameter, into <default out>-quick (explicit flags win)",
    )
    names = ", ".join(f.param for f in exp.factors)
    group.add_argument(
        "--values",
        type=_value_list,
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help=f"replace the values of a varied parameter ({names})",
    )
    group.add_argument(
        "--set",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fix another model parameter for every run (see 'compute-market params')",
    )
    group.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an earlier sweep in --out first (otherwise a different sweep there is refused)",
    )
    return parser


def _given(argv: Sequence[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _check(param: str, value: Any, where: str) -> Any:
    try:
        return PARAMS[param].check(value, where)
    except ParameterError as exc:
        raise ExperimentError(str(exc)) from None


def make_plan(exp: Experiment, args: argparse.Namespace, argv: Sequence[str]) -> Plan:
    if args.scheduler and args.backend not in (None, "dask"):
        raise ExperimentError(f"--scheduler needs --backend dask, not --backend {args.backend}")
    years = _check("years", args.years, "--years")

    fixed: dict[str, Any] = {}
    varied = {f.param for f in exp.factors}
    for name, value in args.set:
        if name not in PARAMS:
            raise ExperimentError(
                f"--set: unknown parameter '{name}'{_suggest(name, PARAMS)}; "
                "see 'compute-market params'"
            )
        if name in varied:
            raise ExperimentError(
                f"--set {name}: this experiment varies '{name}'; use --values {name}=V1,V2"
            )
        if name == "years":
            raise ExperimentError("--set years: use --years")
        fixed[name] = _check(name, value, "--set")

    chosen: dict[str, tuple] = {}
    for name, items in args.values:
        if name not in varied:
            raise ExperimentError(
                f"--values: '{name}' is not varied by this experiment"
                f"{_suggest(name, varied)}; allowed: {', '.join(sorted(varied))}"
            )
        values = [_check(name, v, "--values") for v in items]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            values = sorted(values)
        chosen[name] = tuple(dict.fromkeys(values))

    try:
        spec = load_scenario(args.scenario, fixed)
    except ScenarioError as exc:
        raise ExperimentError(str(exc)) from None

    factors, reference = [], {}
    for i, f in enumerate(exp.factors):
        values = chosen.get(f.param, f.values)
        current = spec.params.get(f.param, PARAMS[f.param].default)
        ref = current if current in values else values[len(values) // 2]
        if args.quick and f.param not in chosen:
            values = (
                (min(values), max(values))
                if (i == 0 and f.numeric)
                else (values[0], values[-1])
                if i == 0
                else (ref,)
            )
            values = tuple(dict.fromkeys(values))
            ref = ref if ref in values else values[0]
        factors.append(Factor(f.param, tuple(values), f.label, f.fmt, f.tick))
        reference[f.param] = ref

    replicates = args.replicates
    if args.quick and not _given(argv, "--replicates"):
        replicates = QUICK_REPLICATES
    if args.quick and not _given(argv, "--years"):
        years = QUICK_YEARS
    out = args.out
    if args.quick and not _given(argv, "--out"):  # a smoke sweep never collides with the full one
        out = DEFAULT_OUT_ROOT / f"{exp.name}-quick"
    return Plan(
        exp,
        tuple(factors),
        reference,
        fixed,
        args.scenario,
        float(years),
        replicates,
        args.seed,
        Path(out),
        list(argv),
    )


def _suggest(name: str, names) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def tasks_for(plan: Plan) -> list[dict]:
    grid = {f.param: list(f.values) for f in plan.factors}
    tasks = make_tasks(
        plan.scenario, grid, replicates=plan.replicates, base_seed=plan.base_seed, years=plan.years
    )
    for task in tasks:
        task["overrides"].update(plan.fixed)
    return tasks


def prepare_out(out: Path, overwrite: bool) -> None:
    """Refuse a folder that is a file or holds something other than a sweep; with ``overwrite``,
    remove an earlier sweep."""
    if out.exists() and not out.is_dir():
        raise ExperimentError(f"output folder '{out}' exists and is a file")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / "manifest.json").is_file():
        raise ExperimentError(
            f"output folder '{out}' is not empty and holds no sweep (no manifest.json); "
            "choose another --out"
        )
    if overwrite:
        shutil.rmtree(out)


def collect(plan: Plan, result) -> Data:
    ts = result.timeseries
    runs = run_metrics(ts, plan.factors, plan.experiment.metrics)
    status = result.summary["status"] if "status" in result.summary else pd.Series(dtype=str)
    return Data(plan, runs, ts, n_tasks=len(result.summary), n_failed=int((status != "ok").sum()))


def write_outputs(
    data: Data, draw: Callable[[Data, Path], list], notes: Callable[[Data], list] | None
) -> list[Path]:
    """run_metrics.csv, points.csv, figures/ and report.md, each replaced whole."""
    out = data.plan.out
    write_text(out / "run_metrics.csv", data.runs.to_csv(index=False, lineterminator="\n"))
    if len(data.runs):
        table = points_table(data.runs, data.plan.factors, data.plan.experiment.metrics)
        write_text(out / "points.csv", table.to_csv(index=False, lineterminator="\n"))
    final = out / "figures"
    with replaced_folder(final) as tmp:
        drawn = [p for p in (draw(data, tmp) if len(data.runs) else []) if p is not None]
    figures = [final / p.name for p in drawn]
    extra = notes(data) if (notes and len(data.runs)) else []
    write_text(out / "report.md", report_text(data, figures, extra))
    return figures


def main(
    exp: Experiment,
    argv: Sequence[str] | None,
    draw: Callable[[Data, Path], list],
    notes: Callable[[Data], list] | None = None,
) -> int:
    """Parse flags, run the sweep, write figures and report. Returns the exit code:
    0 done, 1 some runs failed (the report covers the rest), 2 bad input, 130 interrupted."""
    prog = (
        f"python -m experiments.{exp.name}"
        if argv is None
        else f"compute-market experiment {exp.name}"
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(exp, prog).parse_args(argv)
    out = args.out
    try:
        plan = make_plan(exp, args, argv)
        out = plan.out
        tasks = tasks_for(plan)
        prepare_out(plan.out, args.overwrite)
        kwargs = sweep_kwargs_from_args(args)
        kwargs["out_dir"] = plan.out
        extra = {
            "experiment": exp.name,
            "question": exp.question,
            "factors": {f.param: list(f.values) for f in plan.factors},
            "reference": plan.reference,
            "fixed": plan.fixed,
        }
        result = run_sweep(tasks, run_fn=RUN_FN, extra_manifest=extra, **kwargs)
    except (ExperimentError, SweepMismatchError) as exc:
        msg = str(exc)
        if isinstance(exc, SweepMismatchError):
            msg += " (or pass --overwrite to replace it)"
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except (
        OSError
    ) as exc:  # an output folder that cannot be written, a scheduler that cannot be reached
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: finished runs are kept in {out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    data = collect(plan, result)
    figures = write_outputs(data, draw, notes)
    print(
        f"{exp.name}: {len(data.runs)} of {data.n_tasks} runs finished ({result.n_done} ran now, "
        f"{result.n_skipped} already done); wrote {len(figures)} figures and {plan.out / 'report.md'}",
        file=sys.stderr,
    )
    if data.n_failed:
        print(
            f"{exp.name}: {data.n_failed} runs failed; see {plan.out / 'failed'} and rerun to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


def _native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
