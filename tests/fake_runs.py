"""Stand-in run functions with the shape of market.run.runner.run_task, for the sweep tests.

Worker processes import this module by name: they inherit the test process's sys.path
(spawn passes it on), on which test_sweep.py puts this folder.
"""

import os
import threading
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

CALLS_DIR_ENV = "SWEEP_TEST_CALLS_DIR"


def run(task: dict) -> tuple[pd.DataFrame, dict]:
    """A seeded random walk of a price and a capacity, one row per month."""
    calls_dir = os.environ.get(CALLS_DIR_ENV)
    if calls_dir:  # one file per call, so tests can count calls made in any process
        (Path(calls_dir) / f"{task['run_id']}.{uuid.uuid4().hex}").touch()
    rng = np.random.default_rng(task["seed"])
    months = round(task["years"] * 12)
    growth = task["overrides"].get("demand_growth", 1.0)
    price = 2.0 * np.exp(np.cumsum(rng.normal(0.0, 0.05, months)) * growth)
    capacity = np.cumsum(rng.poisson(100 * growth, months))
    frame = pd.DataFrame(
        {"month": np.arange(months), "price_usd_per_h100e_hour": price, "capacity_h100e": capacity}
    )
    summary = {
        "mean_price_usd_per_h100e_hour": price.mean(),
        "final_capacity_h100e": capacity[-1],
        "months": months,
    }
    return frame, summary


def run_failing(task: dict) -> tuple[pd.DataFrame, dict]:
    """Like run, but raises for tasks marked {"fail": True}."""
    if task.get("fail"):
        raise RuntimeError(f"deliberate failure in {task['run_id']}")
    return run(task)


def run_interrupted(task: dict) -> tuple[pd.DataFrame, dict]:
    """Like run, but a task marked {"interrupt": True} acts as if Ctrl-C were pressed."""
    if task.get("interrupt"):
        raise KeyboardInterrupt
    return run(task)


STARTED_DIR_ENV = "SWEEP_TEST_STARTED_DIR"


def run_slow(task: dict) -> tuple[pd.DataFrame, dict]:
    """Marks that it started (a file named after the worker's pid), then waits for minutes:
    a run that is still going when its sweep is killed."""
    (Path(os.environ[STARTED_DIR_ENV]) / f"{os.getpid()}.{task['run_id']}").touch()
    threading.Event().wait(300)
    return run(task)
