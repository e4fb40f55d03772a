"""Fuzzed scenario files through the CLI, counted: how many ran, how many were refused
cleanly, how many failed (a traceback, a second stderr line, output left behind, or no
answer within 60 s), and the slowest file.

    python scripts/fuzz_scenarios.py --examples 1000

The files are those of tests/test_fuzz.py (the same derandomized strategy), so a failure
here is one that test finds too; the first few failures are printed with their labels.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import given, settings

from tests import test_fuzz


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=1000)
    args = ap.parse_args(argv)
    outcomes: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    seconds: list[float] = []

    @settings(max_examples=args.examples, **test_fuzz.FUZZ_SETTINGS)
    @given(test_fuzz.fuzzed_file())
    def probe(case):
        files, label = case
        start = time.time()
        try:
            outcomes[test_fuzz.check_file(files, label=label)] += 1
        except Exception as exc:  # an assertion of check_file, a Hang, or a traceback
            outcomes["failed"] += 1
            failures.append((label, "".join(traceback.format_exception_only(exc))[-400:]))
        seconds.append(time.time() - start)

    probe()
    print(
        f"{sum(outcomes.values())} fuzzed files: {outcomes['ran']} ran, {outcomes['refused']} "
        f"refused with one error line, {outcomes['failed']} failed; slowest "
        f"{max(seconds, default=0):.1f} s, all {sum(seconds):.0f} s"
    )
    for label, text in failures[:10]:
        print(f"- {label}: {text}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
