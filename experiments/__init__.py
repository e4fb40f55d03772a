"""Experiment scripts: each module here answers one question about the market with a sweep.

An experiment is one file: a module of this package that declares ``EXPERIMENT`` (a
market.analysis.experiment.Experiment: its arms, replicates, metrics, target bands and
figures), ``QUESTION`` (one line) and ``main(argv=None) -> exit code``, which hands the
declaration to market.view.report.experiment_main. It is found by looking, not by a
list kept elsewhere, so a new script shows up in ``compute-market experiment --list``
as soon as it exists.

    compute-market experiment --list
    compute-market experiment arms_race --replicates 4 --backend processes
    python -m experiments.arms_race --quick
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import sys
from types import ModuleType

# Modules of this package that are helpers, not experiments.
_HELPERS: frozenset[str] = frozenset()


def _module_names() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules(__path__)
        if not m.ispkg and not m.name.startswith("_") and m.name not in _HELPERS
    )


def _load(name: str) -> ModuleType | None:
    """The module if it is an experiment; None if it is not. Import errors propagate."""
    module = importlib.import_module(f"{__name__}.{name}")
    question = getattr(module, "QUESTION", None)
    if isinstance(question, str) and question.strip() and callable(getattr(module, "main", None)):
        return module
    return None


def catalogue() -> list[tuple[str, str]]:
    """(name, question) of every experiment, sorted by name. A module that fails to import
    is left out with a warning on stderr, so one broken script does not hide the others."""
    out = []
    for name in _module_names():
        try:
            module = _load(name)
        except Exception as exc:
            print(
                f"warning: experiments.{name} cannot be imported ({type(exc).__name__}: {exc}); "
                "left out of the list",
                file=sys.stderr,
            )
            continue
        if module is not None:
            out.append((name, " ".join(module.QUESTION.split())))
    return out


def run(name: str, argv: list[str] | None = None) -> int:
    """Run experiment ``name`` with command-line flags ``argv``; returns its exit code
    (2 for an unknown name or bad flags)."""
    key = name.replace("-", "_")
    names = _module_names()
    module = _load(key) if key in names else None
    if module is None:
        known = [n for n, _ in catalogue()]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        print(
            f"error: unknown experiment '{name}'{hint}; available: {', '.join(known)}",
            file=sys.stderr,
        )
        return 2
    try:
        code = module.main(list(argv or []))
    except SystemExit as exc:  # argparse exits on --help and on bad flags
        code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
