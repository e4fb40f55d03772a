"""The code keeps the shape docs/architecture.md describes: no import cycles, a small
model class, short functions. (The layer rules themselves are import-linter contracts
in pyproject.toml, checked by `make lint`.)"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import networkx as nx

REPO = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_MODEL_CLASS_LINES = 300


def _functions(folder: str):
    for path in sorted((REPO / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(REPO), node


def test_no_import_cycles():
    # imports made only for type checking do not run, so they cannot close a cycle
    graph = grimp.build_graph("market", "agents", "experiments", exclude_type_checking_imports=True)
    g = nx.DiGraph(
        (m, imported)
        for m in graph.modules
        for imported in graph.find_modules_directly_imported_by(m)
    )
    cycles = [c for c in nx.simple_cycles(g) if len(c) > 1]
    assert cycles == [], [" -> ".join(c) for c in cycles[:5]]


def test_no_function_in_market_or_agents_is_over_60_lines():
    long = [
        f"{path}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
        for folder in ("market", "agents")
        for path, fn in _functions(folder)
        if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_the_model_class_is_small():
    tree = ast.parse((REPO / "market" / "core" / "model.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ComputeMarket"]
    assert cls.end_lineno - cls.lineno + 1 < MAX_MODEL_CLASS_LINES
