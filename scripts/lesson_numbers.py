"""Print every number the lessons in docs/teaching/ rely on, measured now.

For each lesson: every median its answer table quotes (the page's text, the fresh
median and range, and whether it is still inside the test's band), then every check
of every claim (the measured value, usually a paired count "in N of 10 seeds", next to
the bound tests/test_lessons.py asserts), then each arm's median and range of every
number a run gives. After a change to the model, run this, update the pages' numbers
and the bounds that moved, and run tests/test_lessons.py.

    python scripts/lesson_numbers.py                        # every lesson
    python scripts/lesson_numbers.py --lesson brokers --jobs 2
    python scripts/lesson_numbers.py --failing              # only what is off
    python scripts/lesson_numbers.py --save numbers.json    # keep the runs' numbers ...
    python scripts/lesson_numbers.py --load numbers.json    # ... to try new bounds at once

The claims, the quoted medians and the runs are those of tests/test_lessons.py, which
this script imports, so the two never disagree. Exit status 1 when a quoted median is
off its band or a check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def load_lessons():
    """tests/test_lessons.py as a module (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "test_lessons", REPO / "tests" / "test_lessons.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["test_lessons"] = module  # the worker processes import it by this name
    spec.loader.exec_module(module)
    return module


L = load_lessons()


def _one(task: tuple[str, str, int]) -> dict[str, float]:
    return L.measure_one(*task)


def measure_all(lessons: list[str], jobs: int) -> dict[str, dict[str, list[dict[str, float]]]]:
    """{lesson: {arm: [numbers by seed]}}, the runs spread over ``jobs`` processes."""
    tasks = [
        (lesson, arm, seed)
        for lesson in lessons
        for arm in L.LESSONS[lesson].arms
        for seed in L.LESSONS[lesson].seeds
    ]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_one, tasks))
    else:
        rows = [_one(t) for t in tasks]
    out: dict[str, dict[str, list[dict[str, float]]]] = {}
    for (lesson, arm, _), row in zip(tasks, rows, strict=True):
        out.setdefault(lesson, {}).setdefault(arm, []).append(row)
    return out


def spread(v: np.ndarray) -> str:
    """Median [lowest–highest] over the seeds that have the number, and how many do."""
    have = v[~np.isnan(v)]
    if len(have) == 0:
        return "none"
    some = f" ({len(have)} of {len(v)} seeds)" if len(have) < len(v) else ""
    return f"{np.median(have):.4g} [{have.min():.4g}–{have.max():.4g}]{some}"


def report(lesson: str, runs, failing: bool) -> int:
    """Print one lesson's numbers; return how many are off or fail."""
    spec = L.LESSONS[lesson]
    seeds = f"seeds {spec.seeds[0]}–{spec.seeds[-1]}"
    print(f"\n## {lesson} ({spec.scenario}, {seeds})")
    page = (L.TEACHING / f"lesson-{lesson}.md").read_text(encoding="utf-8")
    bad = 0
    print("\n  quoted medians (page → now, median [range]; band of the test)")
    for arm, key, shown in L.QUOTED.get(lesson, []):
        low, high = L.quoted_band(key, shown)
        got = L.median(runs, arm, key)
        ok = low <= got <= high and shown in page
        bad += not ok
        if ok and failing:
            continue
        flag = "ok " if ok else "OFF"
        missing = "" if shown in page else "  (not on the page)"
        now = spread(L.values(runs, arm, key))
        print(f"  {flag} {arm} / {key}: {shown} → {now}; band {low:.4g}–{high:.4g}{missing}")
    print("\n  claims (measured value, bound)")
    for fn in L.CLAIMS.get(lesson, []):
        c = L.Claims(runs)
        fn(c)
        bad += len(c.failed)
        shown = [x for x in c.checks if not (failing and x.ok)]
        if shown:
            print(f"  {fn.__name__}")
        for x in shown:
            print(f"    {'ok ' if x.ok else 'FAIL'} {x}")
    if not failing:
        print("\n  every number, median [range] by arm")
        for key in runs[next(iter(runs))][0]:
            cells = " | ".join(f"{arm}: {spread(L.values(runs, arm, key))}" for arm in runs)
            print(f"    {key}: {cells}")
        for a, b in spec.pairs:
            print(f"\n  {a} against {b}, same seed: higher in N, lower in M of {len(spec.seeds)}")
            for key in runs[a][0]:
                above, below = L.paired(runs, a, b, key)
                print(f"    {key}: higher {above}, lower {below}")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lesson",
        action="append",
        choices=list(L.LESSONS),
        help="a lesson to measure (repeat for several; default: all)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes to run the runs in")
    parser.add_argument(
        "--failing", action="store_true", help="print only the quoted medians and checks that fail"
    )
    parser.add_argument("--save", type=Path, help="also write the runs' numbers to this JSON file")
    parser.add_argument(
        "--load",
        type=Path,
        help="read the runs' numbers from a file --save wrote instead of running the model "
        "(to try new bounds; the numbers are as old as the file)",
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs = {args.jobs}: give a whole number of processes >= 1")
    lessons = args.lesson or list(L.LESSONS)
    if args.load:
        measured = json.loads(args.load.read_text(encoding="utf-8"))
        missing = [lesson for lesson in lessons if lesson not in measured]
        if missing:
            parser.error(f"--load {args.load}: no runs of the lesson(s) {', '.join(missing)}")
    else:
        measured = measure_all(lessons, args.jobs)
    if args.save:
        args.save.write_text(json.dumps(measured), encoding="utf-8")
    bad = sum(report(lesson, measured[lesson], args.failing) for lesson in lessons)
    print(f"\n{bad} quoted median(s) off or check(s) failing" if bad else "\nall numbers hold")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
