"""The one experiment framework: declarations, plan, runs, statistics and the report's words.

Every experiment is declared the same way, as an ``Experiment``: the question it answers,
the scenario, the arms (the ``Factor``s it varies; none for a validation), the replicates
(seeds per arm), the ``Metric``s it reports per run (with a ``Target`` band where the
answer is known) and the ``Figure``s to draw. The scripts in ``experiments/`` and
``compute-market validate`` (market.analysis.validate) are such declarations.

This module plans and runs them through market.run.sweep (each run through a run
function such as market.run.runner.run_task) and turns the runs into plain tables and
sentences. It draws nothing: market.view.report writes the figures and the report::

    out/manifest.json, runs/, failed/, summary.csv, timeseries.csv   (market.run.sweep)
    out/run_metrics.csv   one row per finished run: the varied parameters, seed, metrics
    out/points.csv        one row per parameter point: each metric's mean, p10, p90, runs
    out/differences.csv   two-arm experiments: one row per seed, second arm minus first
    out/figures/*.png     means across seeds with a 10-90% band
    out/report.md         the answer, computed from run_metrics.csv

Effects in the report are paired: replicate ``r`` runs with the same seed at every
parameter point (market.run.sweep's common random numbers), so "higher in 7 of 8 paired
runs" compares runs that differ only in the parameter.

The manifest's ``status`` is ``complete`` only once report.md and every figure exist;
while they are written it is ``reporting``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from market.io.atomic import write_text
from market.io.flags import Parser, parse_seed
from market.io.params import PARAMS, ParameterError, _suggest
from market.io.scenario import Scenario, ScenarioError, load_scenario
from market.run.sweep import (
    SweepResult,
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
    """A declared model parameter the experiment varies: its levels are the arms."""

    param: str
    values: tuple
    label: str  # axis label and legend title, with the unit
    fmt: Callable[[Any], str] = str  # how one value reads in a legend or a sentence
    tick: Callable[[Any], str] | None = None  # axis tick text when the label already has the unit
    # the level every other level is compared with; None: the scenario's value if it is a level
    reference: Any = None

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class Target:
    """What is known about a metric: the band its median across seeds should lie in, or,
    for an event (a 0/1 metric), the least share of seeds in which it should happen.
    A yearly target holds in a seed when every calendar year's value lies in
    ``yearly_band``; the yearly values are the per-run columns ``yearly_prefix + year``."""

    low: float
    high: float
    source: str  # the calibration rows the band comes from
    key: str = ""  # a short name (file names, the patterns table)
    event: bool = False
    yearly_band: tuple[float, float] | None = None
    yearly_prefix: str = ""

    def band_text(self, show: Callable[[float], str]) -> str:
        """The band in words, each bound written by ``show``."""
        if self.yearly_band is not None:
            lo, hi = self.yearly_band
            return f"every year {show(lo)} to {show(hi)}, in at least {self.low:.0%} of seeds"
        if self.event:
            return f"in at least {self.low:.0%} of seeds"
        if math.isinf(self.high):
            return f"at least {show(self.low)}"
        if math.isinf(self.low):
            return f"below {show(self.high)}"
        return f"{show(self.low)} to {show(self.high)}"


NO_TARGET = Target(math.nan, math.nan, "")


@dataclass(frozen=True)
class Metric:
    """One number per run, computed from the run's monthly rows by ``fn``, or, without
    ``fn``, the run function's summary value of the same name."""

    name: str
    label: str  # axis label, with the display unit
    fn: Callable[[pd.DataFrame], float] | None = None
    scale: float = 1.0  # displayed value = raw value / scale
    fmt: str | Callable[[float], str] = (
        "{:,.2f}"  # format string of the scaled value, or a function of the raw one
    )
    kind: str = (
        "level"  # "level": relative changes; "share": percentage points; "count": differences
    )
    log: bool = False  # log axis in figures
    target: Target = NO_TARGET  # no known answer
    measured: str = ""  # how the value is computed, for a validation report
    depends: str = ""  # which parts of the model drive it

    def show(self, raw: float, unit: bool = False) -> str:
        """The displayed value; with ``unit``, followed by the unit from the label."""
        if raw is None or not math.isfinite(raw):
            return "n/a"
        text = self.text(raw)
        if callable(self.fmt):
            return text
        u = self.unit
        if not unit or not u or u == "x":
            return text
        return text + u if u.startswith("%") else f"{text} {u}"

    def text(self, raw: float) -> str:
        """The value as ``fmt`` writes it (scaled for a format string), without a unit."""
        if callable(self.fmt):
            return self.fmt(raw)
        return self.fmt.format(raw / self.scale)

    def signed(self, raw: float) -> str:
        """The displayed value with its sign, '+' for zero and above."""
        text = self.show(raw)
        return text if text.startswith("-") else "+" + text

    @property
    def unit(self) -> str:
        if not self.label.endswith(")") or " (" not in self.label:
            return ""
        return self.label.rsplit(" (", 1)[1][:-1]


@dataclass(frozen=True)
class Response:
    """Figure: a metric against one varied parameter, one line per level of ``lines``, one
    panel per level of ``facets``; the other parameters at their reference level."""

    metric: str
    x: str
    lines: str | None = None
    facets: str | None = None

    @property
    def name(self) -> str:
        return self.metric


@dataclass(frozen=True)
class Series:
    """Figure: a monthly output over time, one line per level of ``lines``, one panel per
    level of ``facets``."""

    column: str
    ylabel: str
    title: str
    lines: str
    facets: str | None = None
    scale: float = 1.0
    log: bool = False

    @property
    def name(self) -> str:
        return f"{self.column}_over_time"


@dataclass(frozen=True)
class Panels:
    """Figure: several monthly outputs side by side, one line per level of ``lines``;
    ``panels`` holds (column, axis label, scale)."""

    name: str
    title: str
    lines: str
    panels: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class Differences:
    """Figure: a two-arm experiment's paired differences, one dot per seed and metric."""

    name: str = "differences"


Figure = Response | Series | Panels | Differences


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
    seed: int | None = 0  # first seed; None: the scenario's own seed
    run_fn: str = RUN_FN
    figures: tuple[Figure, ...] = ()
    notes: Callable[[Data], list[str]] | None = None  # extra sentences for the answer
    paired: bool = False  # two arms: report every seed's difference (differences.csv)
    check: Callable[[Scenario], str] | None = None  # a non-empty message refuses the scenario

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
            f"{short_label(f)} {f.fmt(self.reference[f.param])}"
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
    n_done: int = 0  # runs that ran in this invocation
    n_skipped: int = 0  # runs an earlier invocation had finished


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
    timeseries: pd.DataFrame,
    factors: Sequence[Factor],
    metrics: Sequence[Metric],
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per run: run_id, seed, replicate, point, the factor values, then each metric
    (a metric without ``fn`` is the run's value in ``summary``, the sweep's summary table)."""
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
    given = summary.set_index("run_id") if summary is not None and len(summary) else pd.DataFrame()
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
        row.update({m.name: _metric_value(m, run, given, run_id) for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def _metric_value(metric: Metric, run: pd.DataFrame, summary: pd.DataFrame, run_id) -> float:
    if metric.fn is not None:
        return metric.fn(run)
    if metric.name not in summary or run_id not in summary.index:
        return math.nan
    return float(summary.at[run_id, metric.name])


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
    table: pd.DataFrame | None = None
    for m in metrics:
        stats = band_stats(runs, by, m.name).rename(
            columns={"mean": f"{m.name}_mean", "p10": f"{m.name}_p10", "p90": f"{m.name}_p90"}
        )
        if table is None:
            table = stats
        else:
            table = table.merge(stats.drop(columns="runs"), on=by, how="outer")
    if table is None:
        raise ValueError("points_table needs at least one metric")
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
        text = m.text(self.difference)
        text = text if diff < 0 else "+" + text
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
    # columns by label one at a time: a list of two booleans would select rows
    pairs = pd.DataFrame({"low": wide[low], "high": wide[high]}).dropna()
    diff = pairs["high"] - pairs["low"]
    tol = _tolerance(*pairs.to_numpy().ravel()) if len(pairs) else 0.0
    level_means = {v: float(wide[v].dropna().mean()) for v in levels}
    return Effect(
        factor,
        metric,
        low,
        high,
        float(pairs["low"].mean()) if len(pairs) else math.nan,
        float(pairs["high"].mean()) if len(pairs) else math.nan,
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
        return f"{metric_name(m)} cannot be compared between {f.fmt(e.low)} and {f.fmt(e.high)}: no paired runs finished."
    if e.constant:
        return (
            f"{metric_name(m)} is the same at {f.fmt(e.low)} and {f.fmt(e.high)} in each of the "
            f"{e.n_pairs} paired runs (mean {m.show(e.mean_low, unit=True)})."
        )
    text = (
        f"{metric_name(m)} {e.verb()} {_where(e)}: "
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


def metric_name(m: Metric) -> str:
    """The label without its unit, starting with a capital (a name such as 'xAI' is kept)."""
    text = m.label.split(" (")[0]
    if text[1:2].isupper():
        return text
    return text[0].upper() + text[1:]


def short_label(f: Factor) -> str:
    return f.label.split(" (")[0]


def _where(e: Effect) -> str:
    f = e.factor
    if f.numeric:
        return f"as {short_label(f)} goes from {f.fmt(e.low)} to {f.fmt(e.high)}"
    return f"with {short_label(f)} {f.fmt(e.high)} instead of {f.fmt(e.low)}"


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
    name = f"**{metric_name(metric)}**"
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
        text += "; no consistent effect of " + " or ".join(short_label(f) for f in quiet)
    return text + "."


# --------------------------------------------------------------------------- two arms, paired


def arms(plan: Plan) -> tuple[Factor, Any, Any]:
    """The factor a two-arm experiment varies, and its first and second level."""
    factor = next(f for f in plan.factors if len(f.values) > 1)
    return factor, factor.values[0], factor.values[-1]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def paired_differences(runs: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """One row per seed that finished in both arms: each metric in the first arm, in the
    second, and the second minus the first."""
    factor, low, high = arms(plan)
    first = runs[runs[factor.param] == low].set_index("seed")
    second = runs[runs[factor.param] == high].set_index("seed")
    names = _slug(factor.fmt(low)), _slug(factor.fmt(high))
    rows = []
    for seed in sorted(set(first.index) & set(second.index)):
        row: dict[str, Any] = {"seed": seed}
        for m in plan.experiment.metrics:
            a, b = first.at[seed, m.name], second.at[seed, m.name]
            row[f"{m.name}_{names[0]}"] = a
            row[f"{m.name}_{names[1]}"] = b
            row[f"{m.name}_difference"] = b - a
        rows.append(row)
    return pd.DataFrame(rows)


def _difference_text(m: Metric, diffs: np.ndarray, base: np.ndarray) -> str:
    mean = float(np.mean(diffs))
    if m.kind == "share":
        return f"{100 * mean:+.2f} points"
    ref = float(np.mean(base))
    text = m.signed(mean)
    if m.kind == "level" and abs(ref) > 1e-12 and abs(mean / ref) <= 10:
        text += f" ({mean / abs(ref):+.1%})"  # beyond 1000% a ratio says little
    return text


def _spread_text(m: Metric, diffs: np.ndarray) -> str:
    lo, hi = np.percentile(diffs, [10, 90])
    if m.kind == "share":
        return f"{100 * lo:+.2f} to {100 * hi:+.2f} points"
    return f"{m.signed(lo)} to {m.signed(hi)}"


def _difference_row(m: Metric, diffs: pd.DataFrame, names: tuple[str, str]) -> str:
    d = diffs[f"{m.name}_difference"].to_numpy(dtype=float)
    a = diffs[f"{m.name}_{names[0]}"].to_numpy(dtype=float)
    b = diffs[f"{m.name}_{names[1]}"].to_numpy(dtype=float)
    ok = np.isfinite(d)
    if not ok.any():
        return f"| {m.label} | n/a | n/a | n/a | n/a | - |"
    d, a, b = d[ok], a[ok], b[ok]
    tol = 1e-9 * max(1.0, float(np.max(np.abs(np.concatenate([a, b])))))
    up, down = int((d > tol).sum()), int((d < -tol).sum())
    return (
        f"| {m.label} | {m.show(float(np.mean(a)))} | {m.show(float(np.mean(b)))} | "
        f"{_difference_text(m, d, a)} | {_spread_text(m, d)} | {up} / {down} / {len(d) - up - down} |"
    )


def differences_lines(data: Data, diffs: pd.DataFrame) -> list[str]:
    """The report's table of paired differences, second arm minus first, one row per metric."""
    factor, low, high = arms(data.plan)
    a, b = factor.fmt(low), factor.fmt(high)
    out = [f"## Differences ({b} minus {a}), seed by seed", ""]
    out.append(
        f"Each seed's run with {b} minus the same seed's run with {a}; 'spread' is the 10th to "
        f"90th percentile of those differences across the {len(diffs)} seeds that finished in both."
    )
    out.append("")
    if diffs.empty:
        return [*out, "No seed finished in both arms.", ""]
    out.append(
        f"| outcome | {a} (mean) | {b} (mean) | difference (mean) | spread across seeds | "
        "seeds higher / lower / same |"
    )
    out.append("|---|---|---|---|---|---|")
    names = _slug(a), _slug(b)
    out += [_difference_row(m, diffs, names) for m in data.plan.experiment.metrics]
    return [*out, ""]


# --------------------------------------------------------------------------- report text


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


def _setup_lines(data: Data) -> list[str]:
    plan = data.plan
    out = ["## Setup", ""]
    out.append(
        f"- Scenario `{plan.scenario}`, {plan.years:g} years per run, {plan.replicates} seeds per "
        f"parameter point (seeds {plan.base_seed} to {plan.base_seed + plan.replicates - 1}, the same "
        "seeds at every point)."
    )
    for f in plan.factors:
        ref = (
            f" (held at {f.fmt(plan.reference[f.param])} while another parameter varies)"
            if len(f.values) > 1 and len(plan.factors) > 1
            else ""
        )
        out.append(
            f"- `{f.param}` — {f.label}: " + ", ".join(f.fmt(v) for v in f.values) + ref + "."
        )
    if plan.fixed:
        fixed = ", ".join(f"`{k}` = {v!r}" for k, v in plan.fixed.items())
        out.append(f"- Fixed for every run: {fixed}.")
    out.append(
        f"- {data.n_tasks} runs: {len(data.runs)} finished, {data.n_failed} failed"
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
    return out


def _answer_lines(data: Data, notes: Sequence[str]) -> list[str]:
    plan, exp, runs = data.plan, data.plan.experiment, data.runs
    out = ["## Answer", ""]
    if len(runs) == 0:
        return [*out, "No run finished, so the data give no answer; see `failed/` for the errors."]
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
    return [*out, "## Every parameter point", "", markdown_table(data), ""]


def report_text(
    data: Data,
    figures: Sequence[str],
    notes: Sequence[str] = (),
    differences: pd.DataFrame | None = None,
) -> str:
    """The report: question, setup, answer, effects, every point, (the paired differences),
    figures (paths relative to the report) and the command that reproduces it."""
    exp = data.plan.experiment
    out = [f"# {exp.name.replace('_', ' ').capitalize()}", "", f"**Question.** {exp.question}", ""]
    out += _setup_lines(data)
    out += ["", *_answer_lines(data, notes)]
    if differences is not None and len(data.runs):
        out += differences_lines(data, differences)
    if figures:
        out += ["## Figures", ""]
        for path in figures:
            out += [f"![{Path(path).stem.replace('_', ' ')}]({path})", ""]
    out += ["## Reproduce", "", "```", command_line(data.plan), "```", ""]
    out += [
        "Rerunning the command into the same folder skips finished runs and redraws the figures "
        "and this report.",
        "",
    ]
    return "\n".join(out)


def command_line(plan: Plan) -> str:
    prog = f"python -m experiments.{plan.experiment.name}"
    return prog + (" " + shlex.join(plan.argv) if plan.argv else "")


# --------------------------------------------------------------------------- command line


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
    parser = Parser(
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
    first = "the scenario's seed" if exp.seed is None else str(exp.seed)
    group.add_argument(
        "--seed",
        type=parse_seed,
        default=exp.seed,
        help=f"first seed; replicate r runs with seed+r (default: {first})",
    )
    group.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke size: {QUICK_REPLICATES} seeds, {QUICK_YEARS:g} years, only the lowest and "
        "highest value of the first parameter, into <default out>-quick (explicit flags win)",
    )
    _add_choice_flags(group, exp)
    return parser


def _add_choice_flags(group: argparse._ArgumentGroup, exp: Experiment) -> None:
    if exp.factors:
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


def _given(argv: Sequence[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def check_param(param: str, value: Any, where: str) -> Any:
    """The value as the parameter declaration accepts it; ExperimentError if it does not."""
    try:
        return PARAMS[param].check(value, where)
    except ParameterError as exc:
        raise ExperimentError(str(exc)) from None


def _fixed(exp: Experiment, assignments: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """--set NAME=VALUE: parameters held fixed in every run."""
    fixed: dict[str, Any] = {}
    varied = {f.param for f in exp.factors}
    for name, value in assignments:
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
        fixed[name] = check_param(name, value, "--set")
    return fixed


def _chosen(exp: Experiment, lists: Sequence[tuple[str, list[str]]]) -> dict[str, tuple]:
    """--values NAME=V1,V2: levels that replace a factor's declared ones."""
    chosen: dict[str, tuple] = {}
    varied = {f.param for f in exp.factors}
    for name, items in lists:
        if name not in varied:
            raise ExperimentError(
                f"--values: '{name}' is not varied by this experiment"
                f"{_suggest(name, varied)}; allowed: {', '.join(sorted(varied))}"
            )
        values = [check_param(name, v, "--values") for v in items]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            values = sorted(values)
        chosen[name] = tuple(dict.fromkeys(values))
    return chosen


def _arms(
    exp: Experiment, spec: Scenario, chosen: dict[str, tuple], quick: bool
) -> tuple[list[Factor], dict[str, Any]]:
    """The factors with the levels this invocation runs, and each one's reference level
    (the factor's declared reference, else the scenario's value if it is a level, else the
    middle level). --quick keeps the
    lowest and highest level of the first factor and the reference level of the others."""
    factors, reference = [], {}
    for i, f in enumerate(exp.factors):
        values = chosen.get(f.param, f.values)
        current = spec.params.get(f.param, PARAMS[f.param].default)
        if f.reference is not None and f.reference in values:
            current = f.reference
        ref = current if current in values else values[len(values) // 2]
        if quick and f.param not in chosen:
            if i == 0:
                ends = (min(values), max(values)) if f.numeric else (values[0], values[-1])
                values = tuple(dict.fromkeys(ends))
            else:
                values = (ref,)
            ref = ref if ref in values else values[0]
        factors.append(replace(f, values=tuple(values)))
        reference[f.param] = ref
    return factors, reference


def load_spec(exp: Experiment, scenario: str, fixed: dict[str, Any]) -> Scenario:
    """The scenario with the fixed parameters, refused with ExperimentError if it cannot be
    loaded or the experiment's own check fails."""
    try:
        spec = load_scenario(scenario, fixed)
    except ScenarioError as exc:
        raise ExperimentError(str(exc)) from None
    problem = exp.check(spec) if exp.check else ""
    if problem:
        raise ExperimentError(problem)
    return spec


def _unknown(kind: str, name: str, known: Sequence[str], exp: Experiment, where: str) -> str:
    allowed = ", ".join(known) or "none"
    return (
        f"experiment '{exp.name}': {where} names {kind} '{name}'{_suggest(name, known)}, "
        f"which it does not declare; declared: {allowed}"
    )


def check_declaration(exp: Experiment) -> None:
    """ExperimentError naming the first name in the declaration that does not exist: a
    factor that is not a model parameter, a figure's metric or factor the experiment does
    not declare, a paired comparison without exactly one factor of two levels."""
    for f in exp.factors:
        if f.param not in PARAMS:
            raise ExperimentError(
                f"experiment '{exp.name}': factor '{f.param}' is not a model parameter"
                f"{_suggest(f.param, PARAMS)}; see 'compute-market params'"
            )
    metrics, factors = [m.name for m in exp.metrics], [f.param for f in exp.factors]
    for fig in exp.figures:
        where = f"figure '{fig.name}'"
        if isinstance(fig, Response) and fig.metric not in metrics:
            raise ExperimentError(_unknown("metric", fig.metric, metrics, exp, where))
        shown = [getattr(fig, a, None) for a in ("x", "lines", "facets")]
        for param in (p for p in shown if p):
            if param not in factors:
                raise ExperimentError(_unknown("factor", param, factors, exp, where))
    if exp.paired and [len(f.values) for f in exp.factors] != [2]:
        raise ExperimentError(
            f"experiment '{exp.name}': a paired comparison needs one factor with two levels"
        )


def make_plan(exp: Experiment, args: argparse.Namespace, argv: Sequence[str]) -> Plan:
    """The plan of one invocation from the parsed flags; ExperimentError on a bad value."""
    check_declaration(exp)
    if args.scheduler and args.backend not in (None, "dask"):
        raise ExperimentError(f"--scheduler needs --backend dask, not --backend {args.backend}")
    years = check_param("years", args.years, "--years")
    fixed = _fixed(exp, args.set)
    chosen = _chosen(exp, getattr(args, "values", []))
    spec = load_spec(exp, args.scenario, fixed)
    factors, reference = _arms(exp, spec, chosen, args.quick)
    replicates, out = args.replicates, args.out
    if args.quick and not _given(argv, "--replicates"):
        replicates = QUICK_REPLICATES
    if args.quick and not _given(argv, "--years"):
        years = QUICK_YEARS
    if args.quick and not _given(argv, "--out"):  # a smoke sweep never collides with the full one
        out = DEFAULT_OUT_ROOT / f"{exp.name}-quick"
    seed = spec.seed if args.seed is None else args.seed
    return Plan(
        exp,
        tuple(factors),
        reference,
        fixed,
        args.scenario,
        float(years),
        replicates,
        seed,
        Path(out),
        list(argv),
    )


# --------------------------------------------------------------------------- running


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


def run(plan: Plan, args: argparse.Namespace) -> SweepResult:
    """Run the plan's sweep into its folder (finished runs are kept and skipped)."""
    exp = plan.experiment
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
    return run_sweep(tasks, run_fn=exp.run_fn, extra_manifest=extra, **kwargs)


def collect(plan: Plan, result: SweepResult) -> Data:
    ts, summary = result.timeseries, result.summary
    ok = summary[summary["status"] == "ok"] if "status" in summary else summary.iloc[0:0]
    runs = run_metrics(ts, plan.factors, plan.experiment.metrics, ok)
    status = summary["status"] if "status" in summary else pd.Series(dtype=str)
    return Data(
        plan,
        runs,
        ts,
        n_tasks=len(summary),
        n_failed=int((status != "ok").sum()),
        n_done=result.n_done,
        n_skipped=result.n_skipped,
    )


def mark_manifest(out: Path, status: str, **fields: Any) -> None:
    """Set the sweep manifest's status (and extra fields): ``reporting`` while figures and
    the report are written, ``complete`` once they all exist."""
    path = Path(out) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["status"] = status
    manifest.update(fields)
    write_text(path, json.dumps(manifest, indent=2, default=str) + "\n")


def _native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
