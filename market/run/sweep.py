"""The one sweep runner every experiment uses: a list of run tasks in, a folder of results out.

A run task is a plain JSON-serialisable dict::

    {"run_id": "p003-r07", "scenario": "baseline", "seed": 7, "years": 10.0,
     "overrides": {"demand_growth": 1.4}, ...any extra keys, e.g. "point": 3}

A run function is a module-level callable ``fn(task) -> (per_month_frame, summary_dict)``,
named by a path such as ``"market.run.runner:run_task"`` so that spawned processes and Dask
workers import it themselves instead of receiving a pickled closure.

Output folder::

    out_dir/manifest.json         tasks, seeds, backend, package version, command line
    out_dir/runs/<run_id>.csv     per-month rows, the task's parameters as leading columns
    out_dir/runs/<run_id>.json    {"status": "ok", "task": ..., "summary": ...}
    out_dir/failed/<run_id>.json  task, error type, message, traceback
    out_dir/timeseries.csv        every ok run, sorted by run_id then month
    out_dir/summary.csv           one row per run: task fields, summary scalars, status
    out_dir/dataset/experiment=<name>/arm=<arm>/seed=<seed>/<run_id>.parquet
                                  the per-month rows of every ok run as one Parquet dataset
                                  (hive partitions), for DuckDB, pandas or pyarrow:
                                  ``pd.read_parquet(out_dir / "dataset")``;
                                  ``duckdb.sql("from read_parquet('out_dir/dataset/**/*.parquet',
                                  hive_partitioning = true)")``

Per-run files hold no timestamps and are rendered on the worker by the same code for every
backend, so serial, process and Dask sweeps write identical bytes. ``runs/<run_id>.json`` is
written after the CSV and marks the run complete: a rerun into the same folder skips runs
whose marker holds the same task and retries everything else.

The arm of a run is its parameter point (``p003`` for a task with ``"point": 3``; the run id
when a task has no point); the experiment is the ``experiment`` argument of ``run_sweep``
(default: the output folder's name).

Process backend: workers are forked from the parent once the run function is imported (on
Linux; spawned elsewhere), so none of them imports the model again; each receives a task
dict and returns its rendered CSV, Parquet bytes and JSON. A worker whose parent dies (even
by SIGKILL) notices within a second and exits, so a killed sweep leaves no process behind.

Seeds: replicate ``r`` gets seed ``base_seed + r`` at every parameter point (common random
numbers), so differences between points are not differences between seeds.
"""

from __future__ import annotations

import argparse
import copy
import functools
import importlib
import importlib.metadata
import io
import itertools
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from market.io.atomic import write_text
from market.io.outputs import OUTPUTS

BACKENDS = ("serial", "processes", "dask")
SAMPLERS = ("grid", "random", "lhs")
DEFAULT_RUN_FN = "market.run.runner:run_task"
DATASET = "dataset"  # the Parquet dataset's folder inside a sweep's output folder
PARENT_CHECK_S = 0.5  # how often a pool worker checks that its parent is alive
TASK_KEYS = ("run_id", "scenario", "seed", "years", "overrides")
# pandas < 3.1 parses floats with a fast converter that can change the last digit; 3.1 made
# every mode exact and deprecated the option.
_READ_CSV_EXACT = (
    {}
    if tuple(map(int, pd.__version__.split(".")[:2])) >= (3, 1)
    else {"float_precision": "round_trip"}
)
OUTPUT_NAMES = frozenset(o.name for o in OUTPUTS)  # the model's monthly outputs
_SAFE_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class _Bar(tqdm):
    monitor_interval = 0  # no monitor thread: pool workers may be forked while the bar runs


class SweepMismatchError(ValueError):
    """The output folder already holds a sweep of other tasks."""


@dataclass
class SweepResult:
    out_dir: Path
    n_done: int  # runs that finished ok in this call
    n_skipped: int  # runs already done by an earlier call
    n_failed: int  # runs that raised in this call
    summary: pd.DataFrame
    timeseries: pd.DataFrame


# --------------------------------------------------------------------------- tasks


def make_tasks(
    scenario: str,
    grid: dict[str, list] | None = None,
    replicates: int = 1,
    base_seed: int = 0,
    years: float = 10.0,
    *,
    samples: dict[str, tuple[float, float]] | None = None,
    sampler: str = "grid",
    n_samples: int = 0,
    rng_seed: int | None = None,
) -> list[dict]:
    """Tasks for every parameter point times ``replicates`` seeds.

    Points are the full factorial of ``grid``; with ``sampler="random"`` or ``"lhs"`` they are
    additionally crossed with ``n_samples`` draws over ``samples`` = {param: (low, high)}
    (integers when both bounds are ints), drawn from ``numpy.random.default_rng(rng_seed)``,
    ``rng_seed`` defaulting to ``base_seed``. Each task also carries ``point`` and
    ``replicate`` indices; run ids read ``p<point>-r<replicate>``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    grid = dict(grid or {})
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or len(values) == 0:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values")
    points = [
        {name: _plain(v) for name, v in zip(grid, combo, strict=False)}
        for combo in itertools.product(*grid.values())
    ]
    if sampler == "grid":
        if samples or n_samples:
            raise ValueError("samples and n_samples need sampler='random' or 'lhs'")
    else:
        seed = base_seed if rng_seed is None else rng_seed
        points = _sampled_points(points, grid, samples, n_samples, sampler, seed)

    p_width = max(3, len(str(len(points) - 1)))
    r_width = max(2, len(str(replicates - 1)))
    return [
        {
            "run_id": f"p{p:0{p_width}d}-r{r:0{r_width}d}",
            "scenario": scenario,
            "seed": int(base_seed) + r,
            "years": float(years),
            "overrides": dict(overrides),
            "point": p,
            "replicate": r,
        }
        for p, overrides in enumerate(points)
        for r in range(replicates)
    ]


def _sampled_points(
    points: list[dict], grid: dict, samples: dict | None, n_samples: int, sampler: str, seed: int
) -> list[dict]:
    """The grid's points crossed with ``n_samples`` draws over ``samples``."""
    if not samples or n_samples < 1:
        raise ValueError(
            f"sampler={sampler!r} needs samples={{param: (low, high)}} and n_samples >= 1"
        )
    if set(samples) & set(grid):
        raise ValueError(f"parameters both in grid and samples: {sorted(set(samples) & set(grid))}")
    drawn = _draw(samples, n_samples, sampler, np.random.default_rng(seed))
    return [{**p, **d} for p in points for d in drawn]


def _draw(ranges: dict, n: int, sampler: str, rng: np.random.Generator) -> list[dict]:
    columns: dict[str, list[int] | list[float]] = {}
    for name, (low, high) in ranges.items():
        if not low <= high:
            raise ValueError(f"samples[{name!r}]: low {low} is above high {high}")
        if sampler == "lhs":
            # One draw in each of n equal strata, strata shuffled independently per parameter.
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        if isinstance(low, int) and isinstance(high, int):
            columns[name] = [min(high, int(low + x * (high - low + 1))) for x in u]
        else:
            columns[name] = [float(low + x * (high - low)) for x in u]
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


# --------------------------------------------------------------------------- running


def run_sweep(
    tasks: list[dict],
    out_dir: str | os.PathLike,
    run_fn: str | Callable = DEFAULT_RUN_FN,
    backend: str = "serial",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    extra_manifest: dict | None = None,
    experiment: str | None = None,
) -> SweepResult:
    """Run every task not already done in ``out_dir`` and collect the results.

    A run that raises is written to ``failed/`` and the sweep goes on. KeyboardInterrupt
    cancels pending runs, shuts the pool or cluster down, leaves finished runs in place and
    propagates; rerunning the same call resumes.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if scheduler and backend != "dask":
        raise ValueError("a scheduler address needs backend='dask'")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    run_fn = _run_fn_path(run_fn)
    _load_run_fn(run_fn)  # a typo fails here, not once per run on every worker
    tasks = _validate_tasks(tasks)

    out = Path(out_dir)
    experiment = experiment or out.resolve().name
    _check_partition_value("experiment", experiment)
    _check_manifest(out, tasks)
    _prepare_folder(out)
    pending = [t for t in tasks if not _is_done(out / "runs", t)]
    n_skipped = len(tasks) - len(pending)
    if n_skipped and progress:
        print(
            f"{out}: {n_skipped} of {len(tasks)} runs already done, skipping them", file=sys.stderr
        )
    manifest = _new_manifest(
        tasks, n_skipped, run_fn, backend, workers, scheduler, extra_manifest, experiment
    )
    write_text(out / "manifest.json", _dumps(manifest))
    execute = {"serial": _run_serial, "processes": _run_processes, "dask": _run_dask}[backend]
    _drive(
        out, execute(run_fn, pending, workers, scheduler, experiment), pending, manifest, progress
    )

    summary, timeseries = _collect(out, tasks, experiment)
    write_text(out / "summary.csv", summary.to_csv(index=False, lineterminator="\n"))
    write_text(out / "timeseries.csv", timeseries.to_csv(index=False, lineterminator="\n"))
    return SweepResult(
        out, manifest["n_done"], n_skipped, manifest["n_failed"], summary, timeseries
    )


def _new_manifest(
    tasks, n_skipped, run_fn, backend, workers, scheduler, extra_manifest, experiment
) -> dict:
    return {
        "status": "running",
        "run_fn": run_fn,
        "backend": backend,
        "workers": workers,
        "scheduler": scheduler,
        "package_version": _package_version(),
        "python": platform.python_version(),
        "argv": list(sys.argv),
        "started_at": _now(),
        "finished_at": None,
        "n_tasks": len(tasks),
        "n_skipped": n_skipped,
        "n_done": 0,
        "n_failed": 0,
        "seeds": sorted({t["seed"] for t in tasks}),
        "extra": extra_manifest or {},
        "experiment": experiment,
        "tasks": tasks,
    }


def _prepare_folder(out: Path) -> None:
    runs_dir, failed_dir, dataset_dir = out / "runs", out / "failed", out / DATASET
    runs_dir.mkdir(parents=True, exist_ok=True)
    failed_dir.mkdir(exist_ok=True)
    dataset_dir.mkdir(exist_ok=True)
    for stale in itertools.chain(
        out.glob(".*.tmp"),
        runs_dir.glob(".*.tmp"),
        failed_dir.glob(".*.tmp"),
        dataset_dir.rglob(".*.tmp"),
    ):
        stale.unlink()  # left by a write that was killed before its rename


def _drive(
    out: Path,
    outcomes: Generator[dict, None, None],
    pending: list[dict],
    manifest: dict,
    progress: bool,
) -> None:
    """Record each outcome as it arrives; keep the manifest's counts and status current.
    The backend has started (forked its workers) before the progress bar starts."""
    experiment = manifest["experiment"]
    by_id = {task["run_id"]: task for task in pending}
    bar = _Bar(
        total=manifest["n_tasks"],
        initial=manifest["n_skipped"],
        unit="run",
        file=sys.stderr,
        disable=not progress,
    )
    try:
        with closing(outcomes):
            for outcome in outcomes:
                parquet = out / DATASET / _parquet_path(experiment, by_id[outcome["run_id"]])
                if _record(out, outcome, parquet):
                    manifest["n_done"] += 1
                else:
                    manifest["n_failed"] += 1
                    bar.set_postfix(failed=manifest["n_failed"])
                bar.update()
        manifest["status"] = "complete"
    finally:
        bar.close()
        if manifest["status"] == "running":
            manifest["status"] = "interrupted"
        manifest["finished_at"] = _now()
        write_text(out / "manifest.json", _dumps(manifest))


def _run_serial(
    run_fn: str, tasks: list[dict], workers, scheduler, experiment
) -> Generator[dict, None, None]:
    for task in tasks:
        yield _execute(run_fn, task, experiment)


def _run_processes(
    run_fn: str, tasks: list[dict], workers, scheduler, experiment
) -> Generator[dict, None, None]:
    """Start the pool and submit every task now; yield outcomes as they finish."""
    if not tasks:
        return _no_outcomes()
    pool = ProcessPoolExecutor(
        max_workers=min(workers or os.cpu_count() or 1, len(tasks)),
        mp_context=_pool_context(),
        initializer=_worker_start,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(_execute, run_fn, task, experiment): task for task in tasks}
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return _pool_outcomes(pool, futures)


def _pool_context() -> multiprocessing.context.BaseContext:
    """fork where it is safe (Linux, no other thread alive): the workers start with the run
    function imported; the pool forks before its manager thread starts. Otherwise spawn
    (not a fork server, whose children would see its environment, not the parent's now)."""
    # Python threads only: the C libraries' idle pools (OpenBLAS, Arrow) re-create their
    # threads in a forked child through their own at-fork handlers.
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _no_outcomes() -> Generator[dict, None, None]:
    yield from ()


def _pool_outcomes(pool: ProcessPoolExecutor, futures: dict) -> Generator[dict, None, None]:
    try:
        for future in as_completed(futures):
            yield _outcome(future, futures[future])
    finally:
        # Runs already executing are waited for; a terminal's Ctrl-C interrupts those too.
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(parent_pid: int) -> None:
    """Pool-worker initializer: exit as soon as the parent process is gone."""
    thread = threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid,), name="parent-watch", daemon=True
    )
    thread.start()


def _exit_when_orphaned(parent_pid: int, interval_s: float = PARENT_CHECK_S) -> None:
    # An orphan is re-parented (to init or a subreaper), so its parent id changes.
    while os.getppid() == parent_pid:
        threading.Event().wait(interval_s)
    os._exit(1)


def _run_dask(
    run_fn: str, tasks: list[dict], workers, scheduler, experiment
) -> Generator[dict, None, None]:
    if not tasks:
        return
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers or 2, threads_per_worker=1, dashboard_address=None, processes=True
        )
        client = Client(cluster)
    futures = []
    try:
        # Unique keys: a shared scheduler may still hold results of an earlier sweep's runs.
        token = uuid.uuid4().hex[:8]
        for task in tasks:
            futures.append(
                client.submit(
                    _execute,
                    run_fn,
                    task,
                    experiment,
                    key=f"sweep-{token}-{task['run_id']}",
                    pure=False,
                )
            )
        by_key = {future.key: task for future, task in zip(futures, tasks, strict=False)}
        for future in dask_as_completed(futures):
            outcome = _outcome(future, by_key[future.key])
            future.release()  # the parent has the result; let the cluster free its copy
            yield outcome
    finally:
        client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()


def _outcome(future, task: dict) -> dict:
    """The future's result, or a failure record when the worker itself died."""
    try:
        return future.result()
    except Exception as exc:  # BrokenProcessPool, KilledWorker, ...: not raised by the run
        return _failure(task, exc)


def _execute(run_fn: str, task: dict, experiment: str) -> dict:
    """Run one task and render its files. Runs on the worker, the same code for every backend."""
    try:
        # A copy: a run function that edits its task must not change the task recorded as done.
        frame, summary = _load_run_fn(run_fn)(copy.deepcopy(task))
        csv_text = _render_frame(task, frame)
        record = {
            "run_id": task["run_id"],
            "status": "ok",
            "task": task,
            "summary": _plain_summary(task, summary),
        }
        return {
            "run_id": task["run_id"],
            "ok": True,
            "csv": csv_text,
            "parquet": _parquet_bytes(csv_text),
            "json": _dumps(record),
        }
    except Exception as exc:
        return _failure(task, exc)


def _failure(task: dict, exc: BaseException) -> dict:
    record = {
        "run_id": task["run_id"],
        "status": "failed",
        "task": task,
        "error_type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
    }
    return {"run_id": task["run_id"], "ok": False, "json": _dumps(record)}


def _record(out: Path, outcome: dict, parquet: Path) -> bool:
    run_id = outcome["run_id"]
    runs_dir, failed_dir = out / "runs", out / "failed"
    if outcome["ok"]:
        write_text(runs_dir / f"{run_id}.csv", outcome["csv"])
        _write_bytes(parquet, outcome["parquet"])
        write_text(runs_dir / f"{run_id}.json", outcome["json"])  # last: marks the run done
        (failed_dir / f"{run_id}.json").unlink(missing_ok=True)
    else:
        (runs_dir / f"{run_id}.json").unlink(missing_ok=True)
        (runs_dir / f"{run_id}.csv").unlink(missing_ok=True)
        parquet.unlink(missing_ok=True)
        write_text(failed_dir / f"{run_id}.json", outcome["json"])
    return outcome["ok"]


def _render_frame(task: dict, frame: Any) -> str:
    if not isinstance(frame, pd.DataFrame) or "month" not in frame.columns:
        raise TypeError("the run function must return a DataFrame with a 'month' column")
    columns = task_columns(task)
    clash = set(columns) & set(frame.columns)
    if clash:
        raise ValueError(f"run output columns clash with task parameters: {sorted(clash)}")
    frame = frame.copy()
    for i, (name, value) in enumerate(columns.items()):
        frame.insert(i, name, value)
    return frame.to_csv(index=False, lineterminator="\n")


def _plain_summary(task: dict, summary: Any) -> dict:
    if not isinstance(summary, dict):
        raise TypeError("the run function must return a summary dict")
    reserved = set(task_columns(task)) | {"status", "error_type", "message"}
    plain = {}
    for key, value in summary.items():
        if key in reserved:
            raise ValueError(f"summary key {key!r} clashes with a task parameter or status column")
        value = _plain(value)
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise TypeError(f"summary[{key!r}] is {type(value).__name__}, not a scalar")
        plain[key] = value
    return plain


def task_columns(task: dict) -> dict:
    """The task as flat columns: identity, overrides, then any extra keys."""
    columns = {key: task[key] for key in TASK_KEYS if key != "overrides"}
    columns.update(task["overrides"])
    columns.update((key, value) for key, value in task.items() if key not in TASK_KEYS)
    return {
        key: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v
        for key, v in columns.items()
    }


def _arm(task: dict) -> str:
    point = task.get("point")
    return f"p{point:03d}" if isinstance(point, int) else task["run_id"]


def _check_partition_value(name: str, value: str) -> None:
    if not value or not set(value) <= _SAFE_ID or value.startswith("."):
        raise ValueError(
            f"{name} {value!r} must be a file-name-safe string (letters, digits, '._-')"
        )


def _parquet_path(experiment: str, task: dict) -> Path:
    """Where a run's rows go in the dataset, relative to its root (hive partitions)."""
    return (
        Path(f"experiment={experiment}")
        / f"arm={_arm(task)}"
        / f"seed={task['seed']}"
        / f"{task['run_id']}.parquet"
    )


def _parquet_bytes(csv_text: str) -> bytes:
    """A run's rows as Parquet, read from its CSV so the two hold the same values. The
    partition columns live in the path; ``seed`` is dropped from the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(io.StringIO(csv_text), **_READ_CSV_EXACT).drop(columns="seed")
    # an output whole in every month of one run (e.g. a dealer that never held anything)
    # is read as integers: stored as floats, so every run's file has one schema
    whole = [
        c for c in frame.columns if c in OUTPUT_NAMES and pd.api.types.is_integer_dtype(frame[c])
    ]
    frame = frame.astype(dict.fromkeys(whole, "float64"))
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- folder state


def _validate_tasks(tasks: list[dict]) -> list[dict]:
    # Round-trip through JSON so tasks compare equal to the copies stored on disk.
    tasks = json.loads(json.dumps(list(tasks), default=_json_default))
    seen = set()
    for task in tasks:
        missing = [key for key in TASK_KEYS if key not in task]
        if missing:
            raise ValueError(f"task {task.get('run_id', task)!r} lacks {missing}")
        run_id = task["run_id"]
        if (
            not isinstance(run_id, str)
            or not run_id
            or not set(run_id) <= _SAFE_ID
            or run_id.startswith(".")
        ):
            raise ValueError(
                f"run_id {run_id!r} must be a file-name-safe string (letters, digits, '._-')"
            )
        if run_id in seen:
            raise ValueError(f"duplicate run_id {run_id!r}")
        seen.add(run_id)
        clash = set(task["overrides"]) & set(task)
        if clash:
            raise ValueError(f"task {run_id!r}: overrides clash with task keys {sorted(clash)}")
    return tasks


def _check_manifest(out: Path, tasks: list[dict]) -> None:
    path = out / "manifest.json"
    if not path.exists():
        if (out / "runs").is_dir() and any((out / "runs").iterdir()):
            raise SweepMismatchError(
                f"{out} holds runs but no manifest.json; choose another output folder"
            )
        return
    old = json.loads(path.read_text(encoding="utf-8")).get("tasks")
    if old != tasks:
        old = old or []
        first = next((a.get("run_id") for a, b in zip(old, tasks, strict=False) if a != b), None)
        detail = (
            f"first difference at run {first!r}"
            if first
            else f"{len(old)} tasks there, {len(tasks)} now"
        )
        raise SweepMismatchError(
            f"{out} holds a sweep of different tasks ({detail}); "
            "rerun with the same tasks to resume, or choose another output folder"
        )


def _is_done(runs_dir: Path, task: dict) -> bool:
    record = _read_json(runs_dir / f"{task['run_id']}.json")
    return record is not None and record.get("status") == "ok" and record.get("task") == task


def _collect(out: Path, tasks: list[dict], experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs_dir, failed_dir = out / "runs", out / "failed"
    rows, frames = [], []
    for task in sorted(tasks, key=lambda t: t["run_id"]):
        run_id = task["run_id"]
        columns = task_columns(task)
        record = _read_json(runs_dir / f"{run_id}.json")
        if record is not None and _is_done(runs_dir, task):
            rows.append({**columns, **record["summary"], "status": "ok"})
            csv_text = (runs_dir / f"{run_id}.csv").read_text(encoding="utf-8")
            frames.append(pd.read_csv(io.StringIO(csv_text), **_READ_CSV_EXACT))
            parquet = out / DATASET / _parquet_path(experiment, task)
            if not parquet.exists():  # a run recorded before the dataset existed
                _write_bytes(parquet, _parquet_bytes(csv_text))
            continue
        failure = _read_json(failed_dir / f"{run_id}.json") or {}
        status = "failed" if failure.get("task") == task else "missing"
        rows.append(
            {
                **columns,
                "status": status,
                "error_type": failure.get("error_type"),
                "message": failure.get("message"),
            }
        )
    summary = pd.DataFrame(rows)
    if not frames:
        return summary, pd.DataFrame()
    timeseries = pd.concat(frames, ignore_index=True).sort_values(
        ["run_id", "month"], kind="stable", ignore_index=True
    )
    return summary, timeseries


# --------------------------------------------------------------------------- helpers


def _run_fn_path(run_fn: str | Callable) -> str:
    if isinstance(run_fn, str):
        return run_fn
    path = f"{run_fn.__module__}:{run_fn.__qualname__}"
    if "<" in path or run_fn.__module__ == "__main__":
        raise ValueError(
            f"run_fn {path} is not importable by workers; pass a module-level function"
        )
    return path


@functools.cache
def _load_run_fn(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    if not name:
        module, _, name = path.rpartition(".")
    if not module or not name:
        raise ValueError(f"run_fn {path!r} must look like 'package.module:function'")
    target = importlib.import_module(module)
    fn: Any = target
    for part in name.split("."):
        fn = getattr(fn, part)
    return fn


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _package_version() -> str:
    try:
        return importlib.metadata.version("compute-market")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- command line


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_sweep_arguments(
    parser: argparse.ArgumentParser,
    *,
    replicates: int = 10,
    years: float = 10.0,
    out: str | None = None,
) -> argparse._ArgumentGroup:
    """The sweep flags every experiment script shares; the keyword arguments set its defaults."""
    group = parser.add_argument_group("sweep")
    group.add_argument(
        "--replicates",
        type=_positive_int,
        default=replicates,
        metavar="N",
        help="seeds per parameter point (default: %(default)s)",
    )
    group.add_argument(
        "--years", type=float, default=years, help="simulated years per run (default: %(default)s)"
    )
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="where runs execute (default: serial, or dask when --scheduler is given)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler address such as tcp://host:8786; workers need compute-market installed",
    )
    group.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="worker processes (default: CPU count for processes, 2 for a local Dask cluster)",
    )
    group.add_argument(
        "--out",
        type=Path,
        default=out,
        required=out is None,
        metavar="DIR",
        help="output folder; rerunning into it resumes"
        + (" (default: %(default)s)" if out else ""),
    )
    group.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    return group


def sweep_kwargs_from_args(args: argparse.Namespace) -> dict:
    """run_sweep keyword arguments from flags added by add_sweep_arguments."""
    return {
        "out_dir": args.out,
        "backend": args.backend or ("dask" if args.scheduler else "serial"),
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": args.progress,
    }
