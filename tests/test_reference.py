"""Regression: the built-in scenarios' outputs stay byte-identical to tests/reference/.

A change that alters outputs on purpose regenerates the references with
``.venv/bin/python scripts/update_reference.py`` and names the fix in its commit.
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "update_reference", ROOT / "scripts" / "update_reference.py"
)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


@pytest.mark.parametrize(
    ("scenario", "seed", "years"),
    reference.RUNS,
    ids=[f"{s}-seed{n}-{y}y" for s, n, y in reference.RUNS],
)
def test_outputs_match_reference(scenario, seed, years):
    fresh = reference.fresh_outputs(scenario, seed, years)
    stored = reference.stored_outputs(scenario, seed, years)
    for name in reference.FILES:
        if fresh[name] != stored[name]:
            diff = difflib.unified_diff(
                stored[name].decode().splitlines(),
                fresh[name].decode().splitlines(),
                "reference",
                "fresh",
                n=0,
                lineterm="",
            )
            shown = "\n".join(list(diff)[:12])
            pytest.fail(
                f"{name} of {scenario} seed {seed} ({years} years) differs from "
                f"tests/reference:\n{shown}"
            )


def test_reference_runs_cover_every_calibrated_scenario():
    assert {s for s, _, _ in reference.RUNS} >= {"classroom", "baseline", "colossus-2026"}
    for scenario, seed, years in reference.RUNS:
        for name in reference.FILES:
            assert (reference.folder(scenario, seed, years) / f"{name}.gz").is_file()
