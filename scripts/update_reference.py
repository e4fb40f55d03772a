"""Regenerate the reference outputs that tests/test_reference.py compares against.

    .venv/bin/python scripts/update_reference.py            # all reference runs
    .venv/bin/python scripts/update_reference.py --check    # compare only, write nothing

Run it only when a change alters outputs on purpose, and say in the commit message
which fix changed them and why. Each reference run is a built-in scenario, a seed and a
horizon; its CSVs and summary.json are kept gzip-compressed under tests/reference/.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference"

# (scenario, seed, years): each built-in teaching/calibrated scenario, two seeds, a short
# and a long horizon.
RUNS = [
    ("classroom", 1, 3),
    ("classroom", 2, 10),
    ("baseline", 7, 3),
    ("baseline", 8, 10),
    ("colossus-2026", 2026, 3),
    ("colossus-2026", 2027, 10),
]
FILES = [
    "timeseries.csv",
    "contracts.csv",
    "raises.csv",
    "events.csv",
    "labs.csv",
    "providers.csv",
    "suppliers.csv",
    "summary.json",
]


def folder(scenario: str, seed: int, years: int) -> Path:
    return REFERENCE / f"{scenario}-seed{seed}-{years}y"


def fresh_outputs(scenario: str, seed: int, years: int) -> dict[str, bytes]:
    """Run the model through the one runner and return each output file's bytes."""
    from market.run.runner import run

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        run(scenario, seed=seed, years=years, out=out)
        return {name: (out / name).read_bytes() for name in FILES}


def stored_outputs(scenario: str, seed: int, years: int) -> dict[str, bytes]:
    base = folder(scenario, seed, years)
    return {name: gzip.decompress((base / f"{name}.gz").read_bytes()) for name in FILES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; write nothing")
    args = parser.parse_args(argv)
    differ = 0
    for scenario, seed, years in RUNS:
        fresh = fresh_outputs(scenario, seed, years)
        label = f"{scenario} seed {seed}, {years} years"
        if args.check:
            stored = stored_outputs(scenario, seed, years)
            bad = [n for n in FILES if fresh[n] != stored[n]]
            differ += bool(bad)
            print(f"{label}: {'differs in ' + ', '.join(bad) if bad else 'identical'}")
            continue
        base = folder(scenario, seed, years)
        base.mkdir(parents=True, exist_ok=True)
        for name, data in fresh.items():
            # mtime=0 keeps the compressed bytes themselves reproducible
            (base / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        print(f"{label}: written to {base.relative_to(ROOT)}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
