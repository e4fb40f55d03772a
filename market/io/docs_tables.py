"""The generated tables of ``docs/odd.md``: model parameters, scenario fields, outputs.

The tables come from the declarations (``market.io.params.MODEL_PARAMS``,
``market.io.scenario.SECTIONS``, ``market.io.outputs.OUTPUTS``) and live in the document
between marker comments::

    <!-- params:begin -->
    ...generated...
    <!-- params:end -->

  python -m market.io.docs_tables            rewrite the marked regions in place
  python -m market.io.docs_tables --check    exit 1 if any region is stale, 0 if current

Text outside the markers is never touched.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from market.io.outputs import OUTPUTS, RAISE_COLUMNS
from market.io.params import MODEL_PARAMS, Param
from market.io.scenario import SECTIONS

DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "odd.md"
COMMAND = "python -m market.io.docs_tables"

GROUP_TITLES = {
    "run": "Run",
    "demand": "Demand",
    "training": "Training and the arms race",
    "contracting": "Contracting",
    "supply": "Chip supply and technology",
    "facilities": "Facilities and power",
    "finance": "Finance",
    "consolidation": "Consolidation",
}


class DocsError(ValueError):
    """A document whose markers are missing or out of order."""


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(value) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{v}"' for v in value) + "]`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def params_table() -> str:
    """Every model parameter, grouped as declared: name, unit, default, allowed, help."""
    groups: dict[str, list[Param]] = {}
    for p in MODEL_PARAMS:
        groups.setdefault(p.group, []).append(p)
    out: list[str] = []
    for group, params in groups.items():
        if out:
            out.append("")
        out.append(f"**{GROUP_TITLES.get(group, group.capitalize())}**")
        out.append("")
        out += _table(
            ("Parameter", "Unit", "Default", "Allowed", "Slider", "Meaning"),
            (
                (
                    f"`{p.name}`",
                    p.unit,
                    _value(p.default),
                    p.allowed(),
                    "yes" if p.ui else "",
                    p.help,
                )
                for p in params
            ),
        )
    return "\n".join(out)


def scenario_table() -> str:
    """Every field of every table a scenario file may contain."""
    out: list[str] = []
    for section, fields in SECTIONS.items():
        if out:
            out.append("")
        out.append(f"**`[[{section}]]`**")
        out.append("")
        out += _table(
            ("Field", "Unit", "Default", "Allowed", "Meaning"),
            (
                (
                    f"`{f.name}`",
                    f.unit,
                    "required" if f.required else _value(f.default),
                    f.allowed(),
                    f.help,
                )
                for f in fields
            ),
        )
    return "\n".join(out)


def outputs_table() -> str:
    """Every column of timeseries.csv besides ``month``."""
    return "\n".join(_table(("Column", "Meaning"), ((f"`{o.name}`", o.help) for o in OUTPUTS)))


def raises_table() -> str:
    """Every column of raises.csv."""
    return "\n".join(
        _table(("Column", "Meaning"), ((f"`{o.name}`", o.help) for o in RAISE_COLUMNS))
    )


REGIONS: dict[str, Callable[[], str]] = {
    "params": params_table,
    "scenario": scenario_table,
    "outputs": outputs_table,
    "raises": raises_table,
}


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- {name}:begin -->\n)(.*?)(<!-- {name}:end -->)", re.DOTALL)


def render(text: str, source: str = "the document") -> str:
    """``text`` with every marked region replaced by its generated table."""
    for name, make in REGIONS.items():
        pattern = _pattern(name)
        found = pattern.findall(text)
        if len(found) != 1:
            raise DocsError(
                f"{source}: expected one region '<!-- {name}:begin -->' ... "
                f"'<!-- {name}:end -->', found {len(found)}"
            )
        body = make()

        def replace(m: re.Match[str], body: str = body) -> str:
            return m.group(1) + body + "\n" + m.group(3)

        text = pattern.sub(replace, text)
    return text


def stale_regions(text: str, source: str = "the document") -> list[str]:
    """Names of the regions whose content differs from what would be generated."""
    fresh = render(text, source)
    return [name for name in REGIONS if _region(name, text) != _region(name, fresh)]


def _region(name: str, text: str) -> str:
    found = _pattern(name).search(text)
    if found is None:
        raise DocsError(f"no region '<!-- {name}:begin -->' ... '<!-- {name}:end -->'")
    return found.group(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the tables are stale; change nothing"
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=DEFAULT_DOC,
        help=f"document to update (default: {DEFAULT_DOC})",
    )
    args = parser.parse_args(argv)
    path: Path = args.file
    if not path.is_file():
        print(f"error: '{path}' does not exist", file=sys.stderr)
        return 2
    text = path.read_text(encoding="utf-8")
    try:
        stale = stale_regions(text, str(path))
        fresh = render(text, str(path))
    except DocsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if stale:
            print(
                f"{path}: stale tables: {', '.join(stale)}; regenerate with: {COMMAND}",
                file=sys.stderr,
            )
            return 1
        print(f"{path}: tables are current")
        return 0
    if fresh != text:
        path.write_text(fresh, encoding="utf-8")
        print(f"{path}: updated {', '.join(stale)}")
    else:
        print(f"{path}: tables are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
