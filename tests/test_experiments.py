"""The experiment scripts: catalogue, end-to-end smoke runs, flags, resume, and the report's
words chosen from the data."""

import dataclasses
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import experiments
from market import cli
from market.analysis import experiment as ex
from market.io.atomic import replaced_folder
from market.view import experiment_figures, report

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ["arms_race", "consolidation", "contract_terms", "power"]
SMOKE = ["--quick", "--years", "1", "--no-progress"]  # 2 parameter points x 2 seeds x 12 months


def smoke(name: str, out: Path, *extra: str) -> int:
    return experiments.run(name, [*SMOKE, "--out", str(out), *extra])


# --------------------------------------------------------------------------- catalogue


def test_catalogue_lists_every_experiment_module():
    listed = dict(experiments.catalogue())
    assert set(SWEEPS) <= set(listed)
    for name in SWEEPS:
        module = importlib.import_module(f"experiments.{name}")
        assert listed[name] == module.QUESTION and "\n" not in module.QUESTION
        assert module.QUESTION.endswith("?")
        assert module.__doc__.splitlines()[0].strip(), (
            "the module docstring opens with its question"
        )
    # Any module of the package that exposes QUESTION and main is an experiment, whoever wrote it.
    for info in pkgutil.iter_modules(experiments.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"experiments.{info.name}")
        is_experiment = isinstance(getattr(module, "QUESTION", None), str) and callable(
            getattr(module, "main", None)
        )
        assert (info.name in listed) == is_experiment, info.name
        declaration = getattr(module, "EXPERIMENT", None)
        if is_experiment and info.name != "benchmark":
            # one file each: the declaration carries the question the catalogue shows
            assert isinstance(declaration, ex.Experiment), info.name
            assert declaration.name == info.name and declaration.question == module.QUESTION


def test_cli_lists_experiments(capsys):
    assert cli.main(["experiment", "--list"]) == 0
    out = capsys.readouterr().out
    for name in SWEEPS:
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert importlib.import_module(f"experiments.{name}").QUESTION in line


def test_unknown_experiment_is_refused(capsys):
    assert experiments.run("arms-rase", []) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown experiment 'arms-rase'") and "arms_race" in err
    assert "\n" not in err


# --------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("name", SWEEPS)
def test_experiment_runs_end_to_end(name, tmp_path):
    out = tmp_path / name
    assert smoke(name, out) == 0

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["extra"]["experiment"] == name
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 and (summary["status"] == "ok").all()
    assert sorted(summary["seed"].unique()) == [0, 1]

    runs = pd.read_csv(out / "run_metrics.csv")
    points = pd.read_csv(out / "points.csv")
    module = importlib.import_module(f"experiments.{name}")
    first = module.EXPERIMENT.factors[0]
    assert len(runs) == 4 and len(points) == 2
    assert sorted(points[first.param]) == sorted([min(first.values), max(first.values)])
    for metric in module.EXPERIMENT.metrics:
        means = runs.groupby(first.param)[metric.name].mean()
        assert points.set_index(first.param)[f"{metric.name}_mean"].to_dict() == pytest.approx(
            means.to_dict(), nan_ok=True
        )

    figures = sorted((out / "figures").glob("*.png"))
    assert len(figures) >= 3
    assert all(p.stat().st_size > 10_000 for p in figures)
    report = (out / "report.md").read_text()
    assert module.QUESTION in report
    assert "## Answer" in report and "## Every parameter point" in report
    for path in figures:
        assert f"(figures/{path.name})" in report
    assert "4 runs: 4 finished, 0 failed" in report
    assert not list(out.rglob("*.tmp")) and not list(out.glob(".figures.*"))


@pytest.mark.slow
def test_dask_backend_gives_the_same_runs_as_serial(tmp_path):
    assert smoke("consolidation", tmp_path / "serial", "--replicates", "1") == 0
    assert (
        smoke(
            "consolidation",
            tmp_path / "dask",
            "--replicates",
            "1",
            "--backend",
            "dask",
            "--workers",
            "2",
        )
        == 0
    )
    runs = sorted((tmp_path / "serial" / "runs").glob("*"))
    assert len(runs) == 4
    for run in runs:
        assert (tmp_path / "dask" / "runs" / run.name).read_bytes() == run.read_bytes()


def test_python_dash_m_runs_an_experiment(tmp_path):
    out = tmp_path / "power"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.power", *SMOKE, "--replicates", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "report.md").is_file() and len(pd.read_csv(out / "summary.csv")) == 2


def test_processes_backend_gives_the_same_runs_as_serial(tmp_path):
    assert smoke("arms_race", tmp_path / "serial", "--replicates", "1") == 0
    assert (
        smoke(
            "arms_race",
            tmp_path / "processes",
            "--replicates",
            "1",
            "--backend",
            "processes",
            "--workers",
            "2",
        )
        == 0
    )
    for run in sorted((tmp_path / "serial" / "runs").glob("*.csv")):
        assert (tmp_path / "processes" / "runs" / run.name).read_bytes() == run.read_bytes()
    assert (tmp_path / "processes" / "report.md").read_text().split("## Reproduce")[0] == (
        tmp_path / "serial" / "report.md"
    ).read_text().split("## Reproduce")[0]


def test_rerun_resumes_and_a_different_sweep_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "terms"
    assert smoke("contract_terms", out) == 0
    before = {p.name: p.read_bytes() for p in (out / "runs").iterdir()}
    (out / "report.md").unlink()
    capsys.readouterr()

    assert smoke("contract_terms", out) == 0
    assert "(0 ran now, 4 already done)" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (out / "runs").iterdir()} == before
    assert (out / "report.md").is_file()

    assert smoke("contract_terms", out, "--replicates", "3") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--overwrite" in err and "\n" not in err
    assert smoke("contract_terms", out, "--replicates", "3", "--overwrite") == 0
    assert len(pd.read_csv(out / "summary.csv")) == 6


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--replicates", "0"], ["--replicates", "at least 1"]),
        (["--backend", "threads"], ["--backend", "threads"]),
        (["--bogus"], ["--bogus"]),
        (["--years", "-1"], ["years", "-1"]),
        (["--values", "contest_intensity=high"], ["contest_intensity", "high"]),
        (["--values", "race_ambition=1,2"], ["race_ambition", "contest_intensity"]),
        (["--set", "no_such_param=1"], ["no_such_param"]),
        (["--set", "contest_intensity=2"], ["contest_intensity", "--values"]),
        (["--scenario", "nowhere"], ["nowhere"]),
        (["--backend", "processes", "--scheduler", "tcp://127.0.0.1:1"], ["--scheduler", "dask"]),
    ],
)
def test_bad_flags_exit_2_with_one_clear_line(flags, words, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["experiment", "arms_race", *flags, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    for word in words:
        assert word in err
    assert not out.exists()


def test_a_folder_that_is_not_a_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert smoke("power", out) == 2
    assert "holds no sweep" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_an_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert smoke("arms_race", out) == 2
    assert "is a file" in capsys.readouterr().err
    assert out.read_text() == "x"


def test_help_exits_0(capsys):
    assert experiments.run("consolidation", ["--help"]) == 0
    out = capsys.readouterr().out
    assert "--replicates" in out and "--scheduler" in out and "sentiment_initial" in out


# --------------------------------------------------------------------------- the report's words


def _plan(values=(1.0, 2.0, 3.0), other=("a", "b")):
    exp = ex.Experiment(
        name="toy",
        question="Does x move y?",
        factors=(
            ex.Factor("x", tuple(values), "lever x (units)", lambda v: f"{v:g}"),
            ex.Factor("c", tuple(other), "category c (kind)", str),
        ),
        metrics=(ex.Metric("y", "outcome y (widgets)", ex.last("y")),),
    )
    return ex.Plan(
        exp, exp.factors, {"x": values[1], "c": other[0]}, {}, "baseline", 1.0, 4, 0, Path(".")
    )


def _runs(y):
    rows = []
    for x in (1.0, 2.0, 3.0):
        for c in ("a", "b"):
            for r in range(4):
                rows.append({"x": x, "c": c, "replicate": r, "seed": r, "y": y(x, c, r)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "y, verb",
    [
        (lambda x, c, r: 10 * x + r, "rises"),
        (lambda x, c, r: 100 - 10 * x + r, "falls"),
        (lambda x, c, r: 100 + 0.01 * x + r, "rises slightly"),
        (lambda x, c, r: 50 + (10 * x if r > 0 else 0), "rises"),  # 6 pairs up, 2 ties
        (lambda x, c, r: 50 + r, "does not change"),
        (lambda x, c, r: 50 + x * (10 if r == 0 else -1), "shows no consistent direction"),
    ],
)
def test_effect_words_follow_the_numbers(y, verb):
    plan = _plan()
    runs = _runs(y)
    (effect,) = ex.factor_effects(runs, plan, plan.factors[0], plan.experiment.metrics[0])
    assert effect.n_pairs == 8
    assert effect.verb() == verb
    assert effect.mean_low == pytest.approx(runs[runs.x == 1.0].y.mean())
    assert effect.mean_high == pytest.approx(runs[runs.x == 3.0].y.mean())
    sentence = ex.describe(effect)
    if verb != "does not change":
        assert sentence.startswith(f"Outcome y {verb} as lever x goes from 1 to 3")
        assert f"{effect.mean_low:,.2f} widgets" in sentence


def test_sign_test():
    assert ex.sign_test(0, 0) == 1.0
    assert ex.sign_test(8, 0) == pytest.approx(2 / 256)
    assert ex.sign_test(2, 6) == pytest.approx(2 * (1 + 8 + 28) / 256)
    assert ex.sign_test(5, 5) == 1.0


def test_answer_names_the_lever_that_moves_the_outcome():
    plan = _plan()
    runs = _runs(lambda x, c, r: 10 * x + (30 if c == "b" else 0) + r)
    text = ex.answer_for_metric(runs, plan, plan.experiment.metrics[0])
    assert text.startswith("**Outcome y** rises most with category c b instead of a")
    assert "as lever x goes from 1 to 3" in text

    flat = _runs(lambda x, c, r: 7.0)
    assert "is 7.00 widgets in every run" in ex.answer_for_metric(
        flat, plan, plan.experiment.metrics[0]
    )


def test_band_stats_give_mean_and_percentiles_across_seeds():
    df = pd.DataFrame({"g": ["a"] * 11 + ["b"] * 2, "v": [*list(range(11)), 5.0, 7.0]})
    stats = ex.band_stats(df, ["g"], "v").set_index("g")
    assert (
        stats.loc["a", "mean"] == 5
        and stats.loc["a", "p10"] == pytest.approx(1)
        and stats.loc["a", "p90"] == 9
    )
    assert stats.loc["b", "runs"] == 2 and stats.loc["b", "mean"] == 6


def test_growth_per_year_compounds_from_the_given_month():
    run = pd.DataFrame({"x": [1.0, 2.0, 4.0, 8.0, 16.0]})
    # from month 1 (2.0) to month 4 (16.0): x8 in 3 months, i.e. x2 a month, x4096 a year
    assert ex.growth_per_year("x", from_month=1)(run) == pytest.approx(2.0**12)
    assert pd.isna(ex.growth_per_year("x", from_month=4)(run))  # nothing after it
    assert pd.isna(ex.growth_per_year("x", from_month=1)(pd.DataFrame({"x": [1, 0, 3]})))


# --------------------------------------------------------------------------- the shared framework


def _toy(**changes):
    """A small declaration on the classroom scenario: two arms, one metric, two figures."""
    exp = ex.Experiment(
        name="toy",
        question="Does contest intensity move the spot price in the classroom market?",
        scenario="classroom",
        years=0.5,
        replicates=1,
        factors=(ex.Factor("contest_intensity", (0.5, 3.0), "contest intensity (x)"),),
        metrics=(
            ex.Metric(
                "spot_price",
                "spot price index, run average (USD per H100e-hour)",
                ex.mean("spot_price_index_usd_per_h100e_hour"),
            ),
        ),
        figures=(
            ex.Response("spot_price", x="contest_intensity"),
            ex.Series(
                "spot_price_index_usd_per_h100e_hour",
                "USD per H100e-hour",
                "Spot price index",
                lines="contest_intensity",
            ),
        ),
    )
    return dataclasses.replace(exp, **changes)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob(".*") if p.is_dir())


def test_a_declaration_runs_and_its_report_and_figures_appear(tmp_path, capsys):
    out = tmp_path / "toy"
    assert report.experiment_main(_toy(), ["--out", str(out), "--no-progress"]) == 0
    runs = pd.read_csv(out / "run_metrics.csv")
    assert sorted(runs["contest_intensity"]) == [0.5, 3.0] and runs["spot_price"].notna().all()
    text = (out / "report.md").read_text()
    assert "**Question.** Does contest intensity move the spot price" in text
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["spot_price.png", "spot_price_index_usd_per_h100e_hour_over_time.png"]
    for name in figures:
        assert f"(figures/{name})" in text
    manifest = _manifest(out)
    assert manifest["status"] == "complete" and manifest["report"] == "report.md"
    assert sorted(manifest["figures"]) == [f"figures/{n}" for n in figures]
    assert _hidden(out) == []


@pytest.mark.parametrize(
    "changes, words",
    [
        (
            {"figures": (ex.Response("spot_prize", x="contest_intensity"),)},
            ["metric 'spot_prize'", "spot_price"],
        ),
        (
            {"figures": (ex.Response("spot_price", x="race_ambition"),)},
            ["factor 'race_ambition'", "contest_intensity"],
        ),
        (
            {"factors": (ex.Factor("contest_intensty", (0.5, 3.0), "typo (x)"),), "figures": ()},
            ["'contest_intensty' is not a model parameter", "contest_intensity"],
        ),
        ({"paired": True, "factors": (), "figures": ()}, ["paired comparison"]),
    ],
)
def test_a_declaration_with_an_unknown_name_gives_one_error_line(changes, words, tmp_path, capsys):
    out = tmp_path / "toy"
    assert report.experiment_main(_toy(**changes), ["--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: experiment 'toy': ") and "\n" not in err
    for word in words:
        assert word in err
    assert not out.exists()


@pytest.mark.parametrize(
    "flags, words",
    [
        (
            ["--values", "contest_intensty=1,2"],
            ["'contest_intensty' is not varied", "contest_intensity"],
        ),
        (["--values", "contest_intensity=high"], ["contest_intensity", "high"]),
    ],
)
def test_a_bad_arm_gives_one_error_line(flags, words, tmp_path, capsys):
    out = tmp_path / "toy"
    assert report.experiment_main(_toy(), [*flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    for word in words:
        assert word in err
    assert not out.exists()


def test_a_failure_while_figures_are_drawn_leaves_the_manifest_incomplete(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "toy"
    argv = ["--out", str(out), "--no-progress"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(experiment_figures, "draw", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            report.experiment_main(_toy(), argv)
    assert _manifest(out)["status"] == "report failed"
    assert not (out / "report.md").exists() and _hidden(out) == []

    assert report.experiment_main(_toy(), argv) == 0
    assert _manifest(out)["status"] == "complete" and (out / "report.md").is_file()


KILLED_WHILE_DRAWING = """
import os, signal, sys
from market.view import experiment_figures
drawn = []
real = experiment_figures.draw
def draw(*args, **kwargs):
    drawn.append(real(*args, **kwargs))
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the first figure, before the report
experiment_figures.draw = draw
import experiments
sys.exit(experiments.run("power", sys.argv[1:]))
"""


def test_a_kill_while_figures_are_drawn_is_cleaned_up_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "power"
    argv = [*SMOKE, "--replicates", "1", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_DRAWING, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr
    # what the kill leaves: a half-drawn hidden folder, no report, a manifest that says so
    assert [n for n in _hidden(out) if n.startswith(".figures.")]
    assert not (out / "report.md").exists()
    assert _manifest(out)["status"] == "reporting"

    assert experiments.run("power", argv) == 0
    assert _hidden(out) == []
    manifest = _manifest(out)
    assert manifest["status"] == "complete" and (out / "report.md").is_file()
    assert manifest["figures"] and all((out / f).is_file() for f in manifest["figures"])
    assert sorted(f"figures/{p.name}" for p in (out / "figures").iterdir()) == sorted(
        manifest["figures"]
    )


def test_replaced_folder_removes_what_a_killed_writer_left_and_spares_a_live_one(tmp_path):
    out = tmp_path / "figures"
    dead = tmp_path / ".figures.999999999.abc"  # no such process
    old = tmp_path / ".figures.k2j4x9"  # written before temporary names carried a process id
    live = tmp_path / f".figures.{os.getpid()}.def"  # another writer in this process
    for folder in (dead, old, live):
        folder.mkdir()
    with replaced_folder(out) as tmp:
        (tmp / "a.png").write_bytes(b"png")
    assert (out / "a.png").read_bytes() == b"png"
    assert not dead.exists() and not old.exists() and live.is_dir()
