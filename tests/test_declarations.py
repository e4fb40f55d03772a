"""Every number that shapes behaviour is declared, and the ODD explains it by name.

The ODD's parameter table is generated from the declarations, so a number the prose
names by its parameter cannot drift from the code (it once said a supplier's backlog
cost "/ 24" per month while the code used 10%). These tests hold both ends: the code
writes no unexplained numbers in its rules, and the prose names every parameter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from market.io.params import MODEL_PARAMS

REPO = Path(__file__).resolve().parent.parent
ODD = REPO / "docs" / "odd.md"
# the folders whose functions hold the model's rules
RULE_FOLDERS = ("market/core", "market/core/stages", "agents", "market/mechanisms")
# numbers that are no behavioural choice: nothing, one, two (a pair), a year of
# months, and tolerances against float rounding
PLAIN_NUMBERS = {0, 1, 2, 12, 1e-9, 1e-6}


def inline_numbers(path: Path, root: Path = REPO) -> list[str]:
    """Numbers written inside functions, other than plain ones, in text formatting
    (f-strings) or in slices (text positions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.Slice)):
            skip |= {id(n) for n in ast.walk(node)}
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if (
                id(node) not in skip
                and isinstance(node, ast.Constant)
                and type(node.value) in (int, float)
                and node.value not in PLAIN_NUMBERS
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_rules_write_no_unexplained_numbers():
    """A behavioural number is a declared parameter (``market/io/params.py``) or a named
    module constant with its reason, never a literal inside a rule."""
    found = [
        hit
        for folder in RULE_FOLDERS
        for path in sorted((REPO / folder).rglob("*.py"))
        for hit in inline_numbers(path)
    ]
    assert not found, "numbers written inside rules; declare them:\n" + "\n".join(found)


def test_the_inline_number_check_can_fail(tmp_path):
    bad = tmp_path / "rule.py"
    bad.write_text(
        'LIMIT = 0.3  # named, with a reason\n\ndef rule(x):\n    return f"{x / 1e9}" + x * 1.1 + 2\n',
        encoding="utf-8",
    )
    assert inline_numbers(bad, tmp_path) == ["rule.py:4: 1.1"]


def odd_prose() -> str:
    text = ODD.read_text(encoding="utf-8")
    start, end = text.index("<!-- params:begin -->"), text.index("<!-- params:end -->")
    return text[:start] + text[end:]


@pytest.mark.parametrize("param", MODEL_PARAMS, ids=[p.name for p in MODEL_PARAMS])
def test_the_odd_prose_names_every_parameter(param):
    """Outside the generated table, the ODD explains each parameter by its name (its
    value is in the table), so the prose never restates a number the code may change."""
    assert f"`{param.name}`" in odd_prose(), (
        f"docs/odd.md does not explain `{param.name}`; say where it acts, by name"
    )


def test_the_odd_states_the_backlog_cost_by_its_parameter():
    prose = odd_prose()
    assert "/ 24" not in prose
    assert "`chip_backlog_cost_per_month`" in prose


def parameter_reads(path: Path) -> set[str]:
    """Names read as ``p.<name>`` or ``<x>.p.<name>`` in a module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            v = node.value
            if (isinstance(v, ast.Name) and v.id == "p") or (
                isinstance(v, ast.Attribute) and v.attr == "p"
            ):
                names.add(node.attr)
    return names


def test_every_parameter_the_rules_read_is_declared():
    from market.io.params import PARAMS

    read = {
        name
        for folder in RULE_FOLDERS
        for path in sorted((REPO / folder).rglob("*.py"))
        for name in parameter_reads(path)
    }
    assert len(read) > 80
    assert read <= set(PARAMS), sorted(read - set(PARAMS))


def test_parameters_read_as_attributes_and_refuse_undeclared_names():
    from market import ComputeMarket

    m = ComputeMarket(scenario="classroom", rng=1, contest_intensity=0.5)
    assert m.p.contest_intensity == 0.5 == m.p["contest_intensity"]
    with pytest.raises(AttributeError, match="not a declared parameter"):
        _ = m.p.contest_intensty
    from market.io.records import Parameters

    with pytest.raises(ValueError, match="not declared"):
        Parameters({**m.p, "contest_intensty": 1.0})
