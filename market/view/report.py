"""The one writer of experiment results: tables, figures and the report, for every
experiment in ``experiments/`` and for ``compute-market validate``.

market.analysis.experiment plans and runs an experiment and turns its runs into plain
tables and sentences; this module draws the declared figures (market.view.experiment_figures,
market.view.validation_figures) and writes everything, each file replaced whole:

- an experiment's folder: run_metrics.csv, points.csv, differences.csv (two arms),
  figures/, report.md; its manifest says ``complete`` only once all of them exist
  (``reporting`` while they are written);
- a validation's folder, written whole or not at all: validation.md, patterns.csv,
  seeds.csv, figures/, runs/.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from market.analysis import experiment as ex
from market.analysis import validate
from market.io.atomic import replaced_folder, write_text
from market.io.params import ParameterError
from market.io.scenario import ScenarioError
from market.run.runner import OutputError, check_out_dir
from market.run.sweep import SweepMismatchError
from market.view import experiment_figures, validation_figures


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def draw_figures(data: ex.Data, folder: Path, diffs: pd.DataFrame | None = None) -> list[Path]:
    """Every declared figure, drawn into a fresh ``folder`` that replaces the old one whole
    (a failure leaves the old figures and no temporary folder)."""
    with replaced_folder(folder) as tmp:
        drawn = []
        if len(data.runs):
            for fig in data.plan.experiment.figures:
                path = experiment_figures.draw(data, fig, tmp, diffs)
                if path is not None:
                    drawn.append(path)
    return [folder / p.name for p in drawn]


def write_outputs(data: ex.Data) -> list[Path]:
    """run_metrics.csv, points.csv, differences.csv (two arms), figures/ and report.md.
    The manifest says ``reporting`` meanwhile, ``complete`` once they all exist."""
    plan, out = data.plan, data.plan.out
    exp = plan.experiment
    ex.mark_manifest(out, "reporting")
    try:
        write_text(out / "run_metrics.csv", _csv(data.runs))
        if len(data.runs):
            write_text(
                out / "points.csv", _csv(ex.points_table(data.runs, plan.factors, exp.metrics))
            )
        diffs = None
        if exp.paired and [len(f.values) for f in plan.factors] == [2]:
            diffs = ex.paired_differences(data.runs, plan) if len(data.runs) else pd.DataFrame()
            write_text(out / "differences.csv", _csv(diffs))
        figures = draw_figures(data, out / "figures", diffs)
        notes = exp.notes(data) if (exp.notes and len(data.runs)) else []
        names = [f"figures/{p.name}" for p in figures]
        write_text(out / "report.md", ex.report_text(data, names, notes, diffs))
    except BaseException:
        ex.mark_manifest(out, "report failed")
        raise
    ex.mark_manifest(out, "complete", report="report.md", figures=names)
    return figures


def experiment_main(exp: ex.Experiment, argv: Sequence[str] | None = None) -> int:
    """Parse flags, run the sweep, write tables, figures and report. Returns the exit code:
    0 done, 1 some runs failed (the report covers the rest), 2 bad input, 130 interrupted."""
    prog = (
        f"python -m experiments.{exp.name}"
        if argv is None
        else f"compute-market experiment {exp.name}"
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    args = ex.build_parser(exp, prog).parse_args(argv)
    out = args.out
    try:
        plan = ex.make_plan(exp, args, argv)
        out = plan.out
        result = ex.run(plan, args)
    except (ex.ExperimentError, SweepMismatchError) as exc:
        hint = " (or pass --overwrite to replace it)" if isinstance(exc, SweepMismatchError) else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output folder that cannot be written, an unreachable scheduler
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"interrupted: finished runs are kept in {out}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130
    data = ex.collect(plan, result)
    figures = write_outputs(data)
    print(
        f"{exp.name}: {len(data.runs)} of {data.n_tasks} runs finished ({data.n_done} ran now, "
        f"{data.n_skipped} already done); wrote {len(figures)} figures and {plan.out / 'report.md'}",
        file=sys.stderr,
    )
    if data.n_failed:
        print(
            f"{exp.name}: {data.n_failed} runs failed; see {plan.out / 'failed'} and rerun to retry them",
            file=sys.stderr,
        )
        return 1
    return 0


# --------------------------------------------------------------------------- validation


def write_validation(v: validate.Validation, folder: Path) -> list[str]:
    """figures/, validation.md, patterns.csv and seeds.csv of a validation, into ``folder``."""
    outcomes = {o.pattern.target.key: o for o in v.outcomes}
    figures = validation_figures.write_figures(folder / "figures", v.timeseries, v.seeds, outcomes)
    write_text(folder / "validation.md", validate.report_markdown(v, figures))
    table = validate.outcomes_table(v.outcomes)
    table.to_csv(folder / "patterns.csv", index=False, float_format="%.6g")
    v.seeds.to_csv(folder / "seeds.csv", index=False, float_format="%.6g")
    return figures


def run_validation(
    scenario: str = validate.DEFAULT_SCENARIO,
    seeds: int = validate.DEFAULT_SEEDS,
    out: str | Path = validate.DEFAULT_OUT,
    overwrite: bool = False,
    workers: int | None = None,
    years: float | None = None,
    progress: bool = True,
) -> validate.Validation:
    """Validate ``scenario`` over ``seeds`` seeds and write the folder ``out`` whole (an
    error or an interruption leaves the old folder, or none). Bad input raises
    ValidationInputError, OutputError or ScenarioError before any run."""
    validate.check_inputs(scenario, seeds, workers, years)
    out = check_out_dir(out, overwrite)
    try:
        out.resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"output folder '{out}' cannot be created: {exc.strerror or exc}"
        raise OutputError(message) from None
    with replaced_folder(out) as tmp:
        v = validate.run_validation(scenario, seeds, tmp / "runs", workers, years, progress)
        write_validation(v, tmp)
    v.out = out
    return v


def validate_command(args: argparse.Namespace) -> int:
    """``compute-market validate``: run, write, print the outcome. Exit code 0 written,
    1 some runs failed, 2 bad input, 130 interrupted (nothing written)."""
    try:
        v = run_validation(
            args.scenario,
            args.seeds,
            args.out,
            overwrite=args.overwrite,
            workers=args.workers,
            years=getattr(args, "years", None),
            progress=not getattr(args, "quiet", False),
        )
    except (validate.ValidationInputError, ScenarioError, ParameterError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    validate.print_outcome(v)
    if v.n_failed:
        print(f"{v.n_failed} runs failed; see {v.out / 'runs' / 'failed'}", file=sys.stderr)
        return 1
    return 0
