"""The sweep runner: task generation, identical results on every backend, resume, failures."""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Workers import the fake run functions by name; spawned processes inherit sys.path.
TESTS_DIR = str(Path(__file__).resolve().parent)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

import fake_runs  # noqa: E402

from market.run.sweep import (  # noqa: E402
    SweepMismatchError,
    add_sweep_arguments,
    make_tasks,
    run_sweep,
    sweep_kwargs_from_args,
)

RUN = "fake_runs:run"
GRID = {"demand_growth": [0.5, 1.0, 2.0], "n_labs": [3, 6]}


def small_tasks(replicates=2):
    return make_tasks("baseline", GRID, replicates=replicates, base_seed=100, years=2)


def file_bytes(out: Path) -> dict[str, bytes]:
    """Every per-run file, the Parquet dataset and the two tables, by relative path (the
    manifest differs by design)."""
    paths = [
        *out.glob("runs/*"),
        *out.glob("failed/*"),
        *out.glob("dataset/**/*.parquet"),
        out / "summary.csv",
        out / "timeseries.csv",
    ]
    # the experiment partition is named after the output folder unless a name is given
    return {
        re.sub(r"experiment=[^/]+", "experiment=*", p.relative_to(out).as_posix()): p.read_bytes()
        for p in sorted(paths)
    }


def calls(calls_dir: Path) -> list[str]:
    return sorted(p.name.split(".")[0] for p in calls_dir.iterdir())


@pytest.fixture
def calls_dir(tmp_path, monkeypatch):
    path = tmp_path / "calls"
    path.mkdir()
    monkeypatch.setenv(fake_runs.CALLS_DIR_ENV, str(path))
    return path


# --------------------------------------------------------------------------- make_tasks


def test_grid_tasks_cross_points_with_common_seeds():
    tasks = small_tasks(replicates=3)
    assert tasks == small_tasks(replicates=3)
    assert len(tasks) == 6 * 3
    assert [t["run_id"] for t in tasks[:4]] == ["p000-r00", "p000-r01", "p000-r02", "p001-r00"]
    assert len({t["run_id"] for t in tasks}) == len(tasks)
    seeds_by_point = {}
    for t in tasks:
        seeds_by_point.setdefault(t["point"], []).append(t["seed"])
    assert all(seeds == [100, 101, 102] for seeds in seeds_by_point.values())
    assert {tuple(sorted(t["overrides"].items())) for t in tasks} == {
        (("demand_growth", g), ("n_labs", n)) for g in GRID["demand_growth"] for n in GRID["n_labs"]
    }


def test_lhs_tasks_are_deterministic_and_stratified():
    ranges = {"demand_growth": (0.5, 2.5), "n_labs": (2, 9)}
    tasks = make_tasks(
        "baseline",
        None,
        replicates=2,
        base_seed=1,
        years=1,
        samples=ranges,
        sampler="lhs",
        n_samples=8,
        rng_seed=42,
    )
    assert tasks == make_tasks(
        "baseline",
        None,
        replicates=2,
        base_seed=1,
        years=1,
        samples=ranges,
        sampler="lhs",
        n_samples=8,
        rng_seed=42,
    )
    other = make_tasks(
        "baseline",
        None,
        replicates=2,
        base_seed=1,
        years=1,
        samples=ranges,
        sampler="lhs",
        n_samples=8,
        rng_seed=43,
    )
    assert tasks != other
    points = [t["overrides"] for t in tasks if t["replicate"] == 0]
    growth = np.array([p["demand_growth"] for p in points])
    # Latin hypercube: exactly one sample in each of the 8 equal strata.
    assert sorted(((growth - 0.5) / 2.0 * 8).astype(int)) == list(range(8))
    labs = [p["n_labs"] for p in points]
    assert sorted(labs) == list(range(2, 10))  # 8 integer strata of width 1
    assert all(isinstance(n, int) for n in labs)


def test_random_tasks_cross_the_grid_and_stay_in_range():
    tasks = make_tasks(
        "baseline",
        {"n_labs": [3, 6]},
        replicates=1,
        base_seed=5,
        years=1,
        samples={"demand_growth": (0.5, 2.5)},
        sampler="random",
        n_samples=5,
    )
    assert tasks == make_tasks(
        "baseline",
        {"n_labs": [3, 6]},
        replicates=1,
        base_seed=5,
        years=1,
        samples={"demand_growth": (0.5, 2.5)},
        sampler="random",
        n_samples=5,
    )
    assert len(tasks) == 10
    assert all(0.5 <= t["overrides"]["demand_growth"] <= 2.5 for t in tasks)
    assert [t["overrides"]["demand_growth"] for t in tasks[:5]] == [
        t["overrides"]["demand_growth"] for t in tasks[5:]
    ]


def test_make_tasks_rejects_bad_input():
    with pytest.raises(ValueError, match="sampler"):
        make_tasks("baseline", GRID, sampler="sobol")
    with pytest.raises(ValueError, match="non-empty"):
        make_tasks("baseline", {"n_labs": []})
    with pytest.raises(ValueError, match="samples"):
        make_tasks("baseline", GRID, sampler="lhs")


# --------------------------------------------------------------------------- run_sweep


def test_serial_sweep_writes_the_folder(tmp_path):
    tasks = small_tasks()
    result = run_sweep(tasks, tmp_path / "out", RUN, progress=False, extra_manifest={"grid": GRID})
    out = tmp_path / "out"
    assert (result.n_done, result.n_skipped, result.n_failed) == (12, 0, 0)
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        f"{t['run_id']}.{ext}" for t in tasks for ext in ("csv", "json")
    )
    assert not list(out.rglob("*.tmp"))

    run = pd.read_csv(out / "runs" / "p001-r01.csv")
    assert list(run.columns[:8]) == [
        "run_id",
        "scenario",
        "seed",
        "years",
        "demand_growth",
        "n_labs",
        "point",
        "replicate",
    ]
    assert len(run) == 24 and (run["seed"] == 101).all() and (run["n_labs"] == 6).all()

    timeseries = pd.read_csv(out / "timeseries.csv")
    assert len(timeseries) == 12 * 24
    assert list(timeseries["run_id"]) == sorted(timeseries["run_id"])
    assert timeseries.groupby("run_id")["month"].apply(lambda m: m.is_monotonic_increasing).all()
    one_run = result.timeseries[result.timeseries["run_id"] == "p001-r01"]
    assert (
        one_run.to_csv(index=False, lineterminator="\n")
        == (out / "runs" / "p001-r01.csv").read_text()
    )
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 12 and (summary["status"] == "ok").all()
    assert {"mean_price_usd_per_h100e_hour", "final_capacity_h100e", "demand_growth"} <= set(
        summary.columns
    )
    pd.testing.assert_frame_equal(summary, result.summary, check_dtype=False)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["backend"] == "serial"
    assert manifest["run_fn"] == RUN and manifest["seeds"] == [100, 101]
    assert manifest["extra"] == {"grid": GRID} and len(manifest["tasks"]) == 12
    assert manifest["package_version"]


def test_results_form_one_parquet_dataset_partitioned_by_experiment_arm_and_seed(tmp_path):
    import duckdb

    tasks = small_tasks()
    out = tmp_path / "out"
    result = run_sweep(tasks, out, RUN, progress=False, experiment="demand_study")
    files = sorted(p.relative_to(out / "dataset").as_posix() for p in out.rglob("*.parquet"))
    assert files == sorted(
        f"experiment=demand_study/arm=p{t['point']:03d}/seed={t['seed']}/{t['run_id']}.parquet"
        for t in tasks
    )
    assert json.loads((out / "manifest.json").read_text())["experiment"] == "demand_study"

    # pandas reads the whole dataset with its partitions as columns: the same rows as the CSVs
    frame = pd.read_parquet(out / "dataset")
    assert set(frame["experiment"].astype(str)) == {"demand_study"}
    frame = frame.astype({"seed": int, "arm": str}).drop(columns="experiment")
    frame = frame.sort_values(["run_id", "month"], ignore_index=True)
    expected = result.timeseries
    pd.testing.assert_frame_equal(frame[list(expected.columns)], expected, check_dtype=False)
    assert (frame["arm"] == frame["point"].map(lambda p: f"p{p:03d}")).all()

    # DuckDB queries one arm without reading the others
    rows = duckdb.sql(
        f"select seed, count(*) as months, max(capacity_h100e) as top from read_parquet("
        f"'{out}/dataset/**/*.parquet', hive_partitioning = true) where arm = 'p004' "
        "group by seed order by seed"
    ).fetchall()
    arm = expected[expected["point"] == 4]
    assert rows == [(seed, len(g), g["capacity_h100e"].max()) for seed, g in arm.groupby("seed")]

    # the default experiment name is the output folder's; a run lost from the dataset is rebuilt
    again = tmp_path / "arms"
    run_sweep(tasks, again, RUN, progress=False)
    lost = again / "dataset" / "experiment=arms" / "arm=p002" / "seed=101" / "p002-r01.parquet"
    before = lost.read_bytes()
    lost.unlink()
    resumed = run_sweep(tasks, again, RUN, progress=False)
    assert resumed.n_skipped == len(tasks) and lost.read_bytes() == before


def test_common_seeds_give_the_same_draws_across_points(tmp_path):
    result = run_sweep(small_tasks(), tmp_path, RUN, progress=False)
    ts = result.timeseries
    # demand_growth scales the same standard-normal shocks: log price / growth is identical.
    shocks = np.log(ts["price_usd_per_h100e_hour"] / 2.0) / ts["demand_growth"]
    by_seed = shocks.groupby([ts["seed"], ts["month"]]).agg(["min", "max"])
    np.testing.assert_allclose(by_seed["min"], by_seed["max"], rtol=1e-12)


def test_processes_write_the_same_bytes_as_serial(tmp_path):
    tasks = small_tasks()
    run_sweep(tasks, tmp_path / "serial", RUN, progress=False)
    result = run_sweep(
        tasks, tmp_path / "processes", RUN, backend="processes", workers=2, progress=False
    )
    assert result.n_done == len(tasks)
    assert file_bytes(tmp_path / "processes") == file_bytes(tmp_path / "serial")


@pytest.mark.slow
def test_dask_writes_the_same_bytes_as_serial(tmp_path):
    tasks = small_tasks()
    run_sweep(tasks, tmp_path / "serial", RUN, progress=False)
    result = run_sweep(tasks, tmp_path / "dask", RUN, backend="dask", workers=2, progress=False)
    assert result.n_done == len(tasks)
    assert file_bytes(tmp_path / "dask") == file_bytes(tmp_path / "serial")


@pytest.mark.slow
def test_dask_through_a_scheduler_address(tmp_path):
    from dask.distributed import LocalCluster

    tasks = small_tasks(replicates=1)
    run_sweep(tasks, tmp_path / "serial", RUN, progress=False)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True
    ) as cluster:
        result = run_sweep(
            tasks,
            tmp_path / "remote",
            RUN,
            backend="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert result.n_done == len(tasks)
    assert file_bytes(tmp_path / "remote") == file_bytes(tmp_path / "serial")


def test_resume_skips_finished_runs(tmp_path, calls_dir):
    tasks = small_tasks()
    out = tmp_path / "out"
    run_sweep(tasks, out, RUN, progress=False)
    assert len(calls(calls_dir)) == len(tasks)
    before = file_bytes(out)

    again = run_sweep(tasks, out, RUN, backend="processes", workers=2, progress=False)
    assert (again.n_done, again.n_skipped, again.n_failed) == (0, len(tasks), 0)
    assert len(calls(calls_dir)) == len(tasks)
    assert file_bytes(out) == before

    # A run cut off between its CSV and its marker, and a stray temporary file, are redone/removed.
    (out / "runs" / "p002-r01.json").unlink()
    (out / "runs" / ".p002-r01.csv.abc.tmp").write_text("half")
    resumed = run_sweep(tasks, out, RUN, progress=False)
    assert (resumed.n_done, resumed.n_skipped) == (1, len(tasks) - 1)
    assert calls(calls_dir).count("p002-r01") == 2
    assert file_bytes(out) == before
    assert not list(out.rglob("*.tmp"))


def test_a_failing_run_is_recorded_and_retried(tmp_path, calls_dir):
    tasks = small_tasks()
    tasks[3]["fail"] = True
    bad = tasks[3]["run_id"]
    out = tmp_path / "out"
    result = run_sweep(
        tasks, out, "fake_runs:run_failing", backend="processes", workers=2, progress=False
    )
    assert (result.n_done, result.n_failed) == (len(tasks) - 1, 1)
    failure = json.loads((out / "failed" / f"{bad}.json").read_text())
    assert failure["error_type"] == "RuntimeError"
    assert failure["message"] == f"deliberate failure in {bad}"
    assert "run_failing" in failure["traceback"] and failure["task"]["run_id"] == bad
    assert not (out / "runs" / f"{bad}.json").exists()
    status = result.summary.set_index("run_id")["status"]
    assert status[bad] == "failed" and (status.drop(bad) == "ok").all()
    assert bad not in set(result.timeseries["run_id"])

    # Same tasks, fixed run function: only the failed run is redone.
    retry = run_sweep(tasks, out, "fake_runs:run", progress=False)
    assert (retry.n_done, retry.n_skipped, retry.n_failed) == (1, len(tasks) - 1, 0)
    assert not (out / "failed" / f"{bad}.json").exists()
    assert (retry.summary["status"] == "ok").all()
    assert len(calls(calls_dir)) == len(tasks)  # run_failing never reached run() for the bad task


def test_keyboard_interrupt_keeps_finished_runs(tmp_path):
    tasks = small_tasks()
    tasks[5]["interrupt"] = True
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(tasks, out, "fake_runs:run_interrupted", progress=False)
    assert len(list((out / "runs").glob("*.json"))) == 5
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    resumed = run_sweep(tasks, out, RUN, progress=False)
    assert (resumed.n_done, resumed.n_skipped) == (len(tasks) - 5, 5)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_a_different_task_list_is_refused(tmp_path):
    out = tmp_path / "out"
    run_sweep(small_tasks(), out, RUN, progress=False)
    with pytest.raises(SweepMismatchError, match=re.escape(str(out))) as excinfo:
        run_sweep(small_tasks(replicates=3), out, RUN, progress=False)
    assert isinstance(excinfo.value, ValueError)


def test_bad_arguments_fail_before_running(tmp_path):
    with pytest.raises(ModuleNotFoundError):
        run_sweep(small_tasks(), tmp_path, "no_such_module:run", progress=False)
    with pytest.raises(ValueError, match="duplicate"):
        run_sweep(small_tasks() * 2, tmp_path, RUN, progress=False)
    with pytest.raises(ValueError, match="scheduler"):
        run_sweep(
            small_tasks(), tmp_path, RUN, backend="processes", scheduler="tcp://x:1", progress=False
        )
    assert not (tmp_path / "manifest.json").exists()


def test_sweep_arguments():
    parser = argparse.ArgumentParser()
    add_sweep_arguments(parser, replicates=4, years=5.0, out="results/x")
    args = parser.parse_args([])
    assert (args.replicates, args.years) == (4, 5.0)
    assert sweep_kwargs_from_args(args) == {
        "out_dir": Path("results/x"),
        "backend": "serial",
        "workers": None,
        "scheduler": None,
        "progress": True,
    }
    args = parser.parse_args(
        ["--scheduler", "tcp://h:8786", "--workers", "8", "--no-progress", "--out", "o"]
    )
    assert sweep_kwargs_from_args(args) == {
        "out_dir": Path("o"),
        "backend": "dask",
        "workers": 8,
        "scheduler": "tcp://h:8786",
        "progress": False,
    }
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "0"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--backend", "threads"])


def test_run_task_gives_the_runs_own_timeseries_and_summary():
    """The sweep's run function builds only the per-month rows and the summary; both equal
    what a full run returns (the summary without the scenario and seed)."""
    from market.run.runner import run, run_task

    task = {"scenario": "baseline", "seed": 5, "years": 1.5, "overrides": {"contest_intensity": 3}}
    ts, summary = run_task(task)
    full = run("baseline", seed=5, years=1.5, overrides={"contest_intensity": 3})
    pd.testing.assert_frame_equal(ts, full.timeseries, check_exact=True)
    assert summary == {k: v for k, v in full.summary.items() if k not in ("scenario", "seed")}
    assert summary["contracts_signed"] > 0
