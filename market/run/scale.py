"""Markets of N agents built from a scenario's archetypes, and timed scale runs.

A scaled market is the scenario copied ``k`` times into one market: the ``count`` of
every lab, neocloud and hyperscaler archetype is multiplied by ``k`` (a single named
firm becomes ``k`` firms), each copy keeps its own opening contracts, named sites and
captive chip program, and the market-size parameters (initial inference demand, each
region's grid connections per year and queue) are multiplied by ``k``. Merchant chip
suppliers serve the whole market, as they do in reality: they stay as many and make
``k`` times the output. Per agent the market stays as it was: the same demand, power
and chips per firm. An agent is a Mesa agent of the model (a lab, neocloud,
hyperscaler or chip supplier); sites and contracts are records.

A scenario row stands for at most ``COUNT_MAX`` firms (``market.io.scenario``), so an
archetype multiplied past that becomes several rows of the same firms, ``"{name} part
1"``, ``"{name} part 2"``, ...; the archetype's own sites go to every part, and sites,
contracts and chip programs of one member go to that member's copy in whichever part
it falls.

The market is the same per agent at every size. The ranges declared for scenario
files are for what a user writes about one market: the initial inference demand is at
most 1e8 H100e, about ten times the world's compute of 2026, and a region grants at most
1e7 MW of connections a year. The builder checks each copy against them (the market
with its totals at one copy's values is validated as a scenario file is, rows, names,
sites and contracts included) and then multiplies the totals by ``k``, so a total of
the built market may pass a declared maximum by up to ``k`` times: the baseline's
demand (9e6 H100e a copy) passes 1e8 from 12 copies (about 300 agents). The result is
a validated ``Scenario`` that the model takes as it is.

    python -m market.run.scale --agents 100000 --months 24
    python -m market.run.scale --scenario classroom --agents 5000 --months 12 --gc default

Garbage collection: a market holds millions of long-lived objects (agents, sites,
contracts, the network). CPython's cyclic collector walks all of them on every
full collection although none of them is garbage. ``--gc freeze`` (the default)
moves everything alive after the build into the permanent generation
(``gc.freeze()``) and collects the young generation once the objects created since
the last collection reach ``GC_YOUNG_PER_AGENT`` per agent (at least
``GC_YOUNG_THRESHOLD``), so a month only walks what it created and a market of any
size collects as often per agent-month. (A threshold fixed at 200,000 objects made a
larger market collect more often per agent: about every month and a half at 10,000
agents, never in the first dozen months at 1,000.) ``--gc default`` leaves Python's
settings alone.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import gc
import json
import math
import resource
import sys
import time
import tomllib
from typing import TYPE_CHECKING, Any

from market.io.flags import whole_number

if TYPE_CHECKING:
    from market.io.scenario import Scenario

FIRM_SECTIONS = ("chip_supplier", "hyperscaler", "neocloud", "lab")
GC_MODES = ("freeze", "default")
# Young-generation threshold while a scaled market runs: a month allocates many short-lived
# records, and with everything long-lived frozen a young collection is the only cost left.
# It grows with the market (the threshold a 1,000-agent market had, per agent), so every
# size collects as often per agent-month; never below the least.
GC_YOUNG_THRESHOLD = 200_000
GC_YOUNG_PER_AGENT = 200
# Market-size totals: one copy's value is checked against its declared range, the market
# has ``k`` times it.
SCALED_PARAMS = ("inference_demand_h100e_initial",)
SCALED_REGION_FIELDS = ("grid_mw_per_year", "queue_mw")
SCALED_MERCHANT_FIELDS = ("production_h100e_per_month", "cash_usd")


class ScaleError(ValueError):
    """Bad input to a scale run; the message names the flag, the value and what is allowed."""


def scenario_dict(name: str = "baseline") -> dict[str, Any]:
    """A built-in scenario file as plain data."""
    from market.io.scenario import builtin_dir, builtin_names

    if name not in builtin_names():
        raise ScaleError(
            f"--scenario {name!r} is not allowed: expected a built-in scenario "
            f"({', '.join(builtin_names())})"
        )
    data = tomllib.loads((builtin_dir() / f"{name}.toml").read_text(encoding="utf-8"))
    if "base" in data.get("scenario", {}):
        raise ScaleError(f"--scenario {name!r} derives from another scenario; scale that one")
    return data


def firm_count(data: dict[str, Any]) -> int:
    """Agents a scenario dict creates: one per firm, archetypes counted ``count`` times,
    and one per broker."""
    firms = sum(row.get("count", 1) for s in FIRM_SECTIONS for row in data.get(s, []))
    return firms + len(data.get("broker", []))


def _merchant(row: dict[str, Any]) -> bool:
    return not row.get("captive_parent")


def merchant_supplier_count(data: dict[str, Any]) -> int:
    return sum(row.get("count", 1) for row in data.get("chip_supplier", []) if _merchant(row))


def shared_agent_count(data: dict[str, Any]) -> int:
    """Agents every copy of a market shares: merchant chip suppliers and brokers."""
    return merchant_supplier_count(data) + len(data.get("broker", []))


def _member_names(name: str, count: int) -> list[str]:
    return [name] if count == 1 else [f"{name} {j + 1}" for j in range(count)]


def _split_rows(row: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``row`` standing for ``count`` firms, as rows of at most ``COUNT_MAX`` firms each
    (one row, unchanged in name, when that is enough); part p of several is named
    ``"{name} part {p}"``."""
    from market.io.scenario import COUNT_MAX

    if count <= COUNT_MAX:
        return [{**row, "count": count}]
    parts = math.ceil(count / COUNT_MAX)
    sizes = [count // parts + (1 if p < count % parts else 0) for p in range(parts)]
    return [
        {**copy.deepcopy(row), "name": f"{row['name']} part {p + 1}", "count": size}
        for p, size in enumerate(sizes)
    ]


def _scale_firms(out: dict[str, Any], k: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Multiply every archetype's count, splitting a row that would stand for more than
    ``COUNT_MAX`` firms into parts; return each base firm's name in copy 1..k, and each
    archetype's rows after the split (its own name when it was not split)."""
    rename: dict[str, list[str]] = {}
    rows_of: dict[str, list[str]] = {}
    for section in ("hyperscaler", "neocloud", "lab"):
        rows = []
        for row in out.get(section, []):
            c = row.get("count", 1)
            parts = _split_rows(row, c * k)
            new = [m for part in parts for m in _member_names(part["name"], part["count"])]
            for j, name in enumerate(_member_names(row["name"], c)):
                rename[name] = [new[i * c + j] for i in range(k)]
            rows_of[row["name"]] = [part["name"] for part in parts]
            rows.extend(parts)
        if section in out:
            out[section] = rows
    return rename, rows_of


def _scale_suppliers(base: dict[str, Any], k: int, rename: dict[str, list[str]]) -> list[dict]:
    """Merchant suppliers as they are (their output is multiplied after the check);
    each copy's captive chip program, owned by that copy's firm."""
    suppliers = []
    for row in base.get("chip_supplier", []):
        if _merchant(row):
            suppliers.append(copy.deepcopy(row))
            continue
        for i in range(k):
            r = copy.deepcopy(row)
            r["name"] = row["name"] if k == 1 else f"{row['name']} {i + 1}"
            r["captive_parent"] = rename[row["captive_parent"]][i]
            r["partners"] = [rename[p][i] for p in row.get("partners", [])]
            suppliers.append(r)
    return suppliers


def scaled_scenario(base: dict[str, Any], copies: int) -> Scenario:
    """``base`` copied ``copies`` times into one market (see the module docstring), as a
    validated scenario: checked with each market-size total at one copy's value, which
    is then multiplied by ``copies``.

    Firms named in other tables (contract parties, a captive program's parent and
    partners, a site owned by one member of an archetype) are renamed to the copy's firm."""
    from market.io.scenario import ScenarioError, load_scenario

    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    out = _copied(base, copies)
    try:
        spec = load_scenario(out)
    except ScenarioError as exc:
        raise ScaleError(f"the scenario copied {copies} times is not valid: {exc}") from None
    return _times_totals(spec, copies)


def _times_totals(spec: Scenario, k: int) -> Scenario:
    """``spec`` with its market-size totals multiplied by ``k``."""
    params = {**spec.params}
    for name in SCALED_PARAMS:
        params[name] = params[name] * k
    tables = {section: [dict(row) for row in rows] for section, rows in spec.tables.items()}
    for region in tables.get("region", []):
        for name in SCALED_REGION_FIELDS:
            region[name] = region[name] * k
    for row in tables.get("chip_supplier", []):
        if _merchant(row):
            for name in SCALED_MERCHANT_FIELDS:
                row[name] = row[name] * k
    return dataclasses.replace(spec, params=params, tables=tables)


def _copied(base: dict[str, Any], k: int) -> dict[str, Any]:
    """The scenario file of ``k`` copies of ``base``, market-size totals as in one copy."""
    out = copy.deepcopy(base)
    rename, rows_of = _scale_firms(out, k)
    if "chip_supplier" in base:
        out["chip_supplier"] = _scale_suppliers(base, k, rename)
    archetypes = {
        row["name"] for s in ("hyperscaler", "neocloud", "lab") for row in base.get(s, [])
    }
    if "facility" in base:
        out["facility"] = [
            {**copy.deepcopy(row), "owner": owner}
            for row in base["facility"]
            # a member's site: that member in every copy; an archetype's: every member
            # of every row the archetype became
            for owner in (
                rows_of[row["owner"]] if row["owner"] in archetypes else rename[row["owner"]]
            )
        ]
    if "contract" in base:
        out["contract"] = [
            {
                **copy.deepcopy(row),
                "buyer": rename[row["buyer"]][i],
                "seller": rename[row["seller"]][i],
            }
            for i in range(k)
            for row in base["contract"]
        ]
    head = out.setdefault("scenario", {})
    name = head.get("name", "baseline")
    head["name"] = f"{name}-x{k}"
    head["description"] = f"{k} copies of {name} in one market ({firm_count(out)} firms)"
    return out


def market_for_size(base: dict[str, Any], agents: int) -> tuple[Scenario, int]:
    """A scaled market with about ``agents`` agents (a validated scenario), and its
    number of copies."""
    fixed = shared_agent_count(base)
    per_copy = firm_count(base) - fixed
    if per_copy < 1:
        raise ScaleError("the scenario has no labs, neoclouds or hyperscalers to multiply")
    copies = max(1, round((agents - fixed) / per_copy))
    return scaled_scenario(base, copies), copies


def with_horizon(scenario: Scenario, months: int) -> Scenario:
    """The scenario with a horizon of at least ``months`` so a model never runs past it."""
    years = max(float(scenario.params["years"]), math.ceil(months / 12) + 1.0)
    return dataclasses.replace(scenario, params={**scenario.params, "years": years})


def young_threshold(agents: int) -> int:
    """Young-generation threshold of ``--gc freeze`` for a market of ``agents`` agents."""
    return max(GC_YOUNG_THRESHOLD, GC_YOUNG_PER_AGENT * agents)


def tune_gc(mode: str, agents: int = 0) -> None:
    """Apply a garbage-collection mode (see the module docstring) after a model of
    ``agents`` agents is built."""
    if mode not in GC_MODES:
        raise ScaleError(f"--gc {mode!r} is not allowed: expected one of {', '.join(GC_MODES)}")
    if mode == "freeze":
        gc.collect()
        gc.freeze()
        gc.set_threshold(young_threshold(agents), *gc.get_threshold()[1:])


@contextlib.contextmanager
def gc_tuned(mode: str, agents: int = 0):
    """Apply a garbage-collection mode for a block of a model of ``agents`` agents;
    afterwards unfreeze (so the frozen cycles of a model that is gone can be collected)
    and restore the thresholds."""
    threshold = gc.get_threshold()
    tune_gc(mode, agents)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_run(
    agents: int,
    months: int,
    scenario: str = "baseline",
    seed: int = 7,
    gc_mode: str = "freeze",
    progress=None,
) -> dict[str, Any]:
    """Build a market of about ``agents`` agents, run ``months`` months; CPU time and memory.
    ``progress(month, cpu_s, peak_rss_mb)`` is called after each month, if given."""
    from market.core.model import ComputeMarket

    base = scenario_dict(scenario)
    data, copies = market_for_size(base, agents)
    t0 = time.process_time()
    model = ComputeMarket(scenario=with_horizon(data, months), rng=seed)
    build_s = time.process_time() - t0
    n = len(model.agents)
    tune_gc(gc_mode, n)
    per_month = []
    for month in range(months):
        t0 = time.process_time()
        model.step()
        per_month.append(time.process_time() - t0)
        if progress is not None:
            progress(month + 1, per_month[-1], peak_rss_mb())
    run_s = sum(per_month)
    return {
        "scenario": scenario,
        "agents": n,
        "copies": copies,
        "months": months,
        "gc": gc_mode,
        "build_s": round(build_s, 3),
        "run_s": round(run_s, 3),
        "us_per_agent_month": round(run_s / months / n * 1e6, 2),
        "s_per_month": [round(s, 3) for s in per_month],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other bad input
        self.exit(2, f"error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    p = _Parser(
        prog="python -m market.run.scale",
        description="Run a market of N agents built from a scenario's archetypes; print CPU "
        "time per agent-month and peak memory as JSON.",
    )
    p.add_argument("--agents", type=whole_number(1, "--agents"), required=True)
    p.add_argument("--months", type=whole_number(1, "--months"), default=24)
    p.add_argument("--scenario", default="baseline", help="built-in scenario to scale")
    p.add_argument("--seed", type=whole_number(0, "--seed"), default=7)
    p.add_argument("--gc", choices=GC_MODES, default="freeze", help="garbage collection")
    p.add_argument(
        "--progress", action="store_true", help="print each month's CPU time and memory to stderr"
    )
    args = p.parse_args(argv)

    def report(month: int, cpu_s: float, rss_mb: float) -> None:
        print(
            f"month {month}: {cpu_s:.2f} s CPU, peak {rss_mb:,.0f} MB", file=sys.stderr, flush=True
        )

    try:
        result = scale_run(
            args.agents,
            args.months,
            args.scenario,
            args.seed,
            args.gc,
            progress=report if args.progress else None,
        )
    except ScaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
