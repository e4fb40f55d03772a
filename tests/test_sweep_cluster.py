"""Sweeps beyond one process: a real Dask scheduler and workers, forked pool workers, and a
sweep whose parent is killed.

Processes started here send their output to files, are polled until ready with a bounded
timeout, and are stopped by their own pid in a ``finally``."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import fake_runs  # noqa: E402
from test_sweep import RUN, file_bytes, small_tasks  # noqa: E402

from market.run.sweep import run_sweep  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS_DIR)])}


def wait_for(condition, timeout_s: float, what: str, poll_s: float = 0.1):
    """Poll ``condition`` until it returns something true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_a_real_dask_scheduler_and_two_workers_write_the_serial_bytes(tmp_path):
    from dask.distributed import Client

    tasks = small_tasks(replicates=1)
    run_sweep(tasks, tmp_path / "serial", RUN, progress=False)

    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = []

    def start(name: str, *args: str) -> None:
        with open(logs / f"{name}.log", "w") as log:
            processes.append(
                subprocess.Popen(
                    [dask, *args], stdout=log, stderr=subprocess.STDOUT, env=ENV, cwd=tmp_path
                )
            )

    try:
        start(
            "scheduler",
            "scheduler",
            "--host", "127.0.0.1",
            "--port", "0",  # a free port, read back from the scheduler file
            "--no-dashboard",
            "--scheduler-file", str(scheduler_file),
        )  # fmt: skip
        for i in (1, 2):
            start(
                f"worker{i}",
                "worker",
                "--scheduler-file", str(scheduler_file),
                "--host", "127.0.0.1",
                "--nthreads", "1",
                "--no-nanny",
                "--no-dashboard",
                "--name", f"worker{i}",
            )  # fmt: skip

        def address():
            assert all(p.poll() is None for p in processes), "a dask process exited early"
            try:
                return json.loads(scheduler_file.read_text())["address"]
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                return None

        scheduler = wait_for(address, 60, "the scheduler file")
        assert scheduler.startswith("tcp://127.0.0.1:")
        with Client(scheduler, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2

        result = run_sweep(
            tasks, tmp_path / "remote", RUN, backend="dask", scheduler=scheduler, progress=False
        )
        assert result.n_done == len(tasks)
        assert file_bytes(tmp_path / "remote") == file_bytes(tmp_path / "serial")
        manifest = json.loads((tmp_path / "remote" / "manifest.json").read_text())
        assert manifest["scheduler"] == scheduler and manifest["status"] == "complete"
    finally:
        for process in reversed(processes):
            stop(process)


SWEEP_SCRIPT = """
import sys, threading
from market.run.sweep import make_tasks, run_sweep
if sys.argv[3] == "spawn":  # another thread alive: the pool spawns instead of forking
    threading.Thread(target=threading.Event().wait, daemon=True).start()
tasks = make_tasks("baseline", {"demand_growth": [0.5, 1.0]}, replicates=2, years=1)
run_sweep(tasks, sys.argv[1], sys.argv[2], backend="processes", workers=2, progress=False)
"""


def run_sweep_in_subprocess(tmp_path: Path, run_fn: str, start: str, env: dict):
    with open(tmp_path / "sweep.log", "w") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-c", SWEEP_SCRIPT, str(tmp_path / "out"), run_fn, start],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_killing_the_parent_leaves_no_worker_alive(tmp_path, start):
    started = tmp_path / "started"
    started.mkdir()
    env = {**ENV, fake_runs.STARTED_DIR_ENV: str(started)}
    parent = run_sweep_in_subprocess(tmp_path, "fake_runs:run_slow", start, env)
    try:
        # both workers are inside a run
        wait_for(lambda: len(list(started.iterdir())) >= 2, 60, "two runs to start")
        workers = {int(p.name.split(".")[0]) for p in started.iterdir()}
        children = {c.pid for c in psutil.Process(parent.pid).children(recursive=True)}
        assert workers <= children and len(workers) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = sorted(pid for pid in children if alive(pid))
        assert not left, [psutil.Process(pid).cmdline() for pid in left]
    finally:
        stop(parent)
        for pid in children if "children" in locals() else ():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_forked_workers_write_the_same_bytes_as_serial(tmp_path):
    """In a fresh process (one thread) the pool forks; its files equal a serial sweep's."""
    from market.run.sweep import make_tasks

    parent = run_sweep_in_subprocess(tmp_path, RUN, "fork", ENV)
    try:
        assert parent.wait(timeout=120) == 0, (tmp_path / "sweep.log").read_text()
    finally:
        stop(parent)
    tasks = make_tasks("baseline", {"demand_growth": [0.5, 1.0]}, replicates=2, years=1)
    run_sweep(tasks, tmp_path / "serial", RUN, progress=False)
    assert file_bytes(tmp_path / "out") == file_bytes(tmp_path / "serial")
