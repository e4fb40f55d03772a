"""Speed benchmark: how much does a simulated month cost, and how does it grow with agents?

Question: how many seconds does one simulated month take, and how many microseconds
per agent-month, for the baseline scenario and for generated markets of about 100,
1,000 and 10,000 agents; how does that compare with the cheapest agent step Mesa
offers (its Boltzmann wealth example, measured in the same run at the same agent
counts); and does the time per month grow no faster than linearly with agents?

What it varies: the number of agents. A generated market is the baseline scenario
copied ``k`` times into one market: the ``count`` of every lab, neocloud and
hyperscaler archetype is multiplied by ``k`` (a single named firm becomes ``k``
firms), each copy keeps its own opening contracts, named sites and captive chip
program, and the market-size parameters (initial inference demand, each region's
grid connections per year and queue) are multiplied by ``k``. Merchant chip
suppliers serve the whole market, as they do in reality: they stay as many and make
``k`` times the output. Per agent the market stays as it was: the same demand,
power and chips per firm. An agent is a Mesa agent of the model
(a lab, neocloud, hyperscaler or chip supplier); sites and contracts are records.

How it measures: each model is built and run for a few warm-up months that are not
timed (set-up, first contracts, caches); then ``--months`` months are timed with
``time.perf_counter``. That is repeated ``--repeats`` times with fresh models of the
same seed, and the median is reported. The reference runs Mesa's
``BoltzmannWealth`` with the same number of agents at one agent per grid cell (the
density of Mesa's own default, 100 agents on 10 x 10), timed the same way.

Targets (project issue 2): per agent-month within 10x the reference's per
agent-step, and the time per month growing no faster than linearly from about 1,000
to about 10,000 agents (10x the agents, at most 10x the time).

What it writes: a table printed to the terminal, and ``benchmark.md`` and
``benchmark.csv`` in ``--out``; with ``--profile``, also ``profile.txt`` (where the
time goes in the largest generated market, from cProfile).

    python -m experiments.benchmark                       # 100, 1,000, 10,000 agents
    python -m experiments.benchmark --sizes 100,1000 --months 6 --repeats 3 --out runs/bench
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import csv
import io
import math
import os
import platform
import pstats
import statistics
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUESTION = (
    "How many seconds per simulated month and microseconds per agent-month does the "
    "engine take at about 100, 1,000 and 10,000 agents, against Mesa's Boltzmann "
    "wealth example, and does time grow no faster than linearly with agents?"
)

DEFAULT_SIZES = (100, 1000, 10000)
DEFAULT_MONTHS = 6
DEFAULT_WARMUP_MONTHS = 2
DEFAULT_REPEATS = 3
DEFAULT_SEED = 7
DEFAULT_OUT = "runs/experiments/benchmark"
QUICK = {"sizes": [100, 1000], "months": 3, "warmup": 1, "repeats": 1}
REFERENCE_MIN_STEPS = 20  # a Boltzmann step is short: time enough of them to beat timer noise

TARGET_RATIO = 10.0
# Timing noise on a shared machine is a few per cent; growth within 15% of linear
# counts as linear rather than failing on jitter.
LINEAR_ALLOWANCE = 1.15

FIRM_SECTIONS = ("chip_supplier", "hyperscaler", "neocloud", "lab")
COLUMNS = (
    "size",
    "agents",
    "s_per_month",
    "us_per_agent_month",
    "reference_us_per_agent_step",
    "ratio_to_reference",
    "growth_vs_previous_size",
    "agents_vs_previous_size",
    "setup_s",
)
HEADERS = (
    "size",
    "agents",
    "s per month",
    "µs per agent-month",
    "reference µs per agent-step",
    "ratio to reference",
    "time growth vs previous",
    "agents vs previous",
    "set-up s",
)


class BenchmarkError(ValueError):
    """Bad input to the benchmark; the message names the flag, the value and what is allowed."""


# ------------------------------------------------------------------ generated markets


def baseline_dict() -> dict[str, Any]:
    """The baseline scenario file as plain data."""
    from market.io.scenario import builtin_dir

    return tomllib.loads((builtin_dir() / "baseline.toml").read_text(encoding="utf-8"))


def _default(section: str, field: str) -> Any:
    from market.io.scenario import SECTIONS

    return next(f.default for f in SECTIONS[section] if f.name == field)


def firm_count(data: dict[str, Any]) -> int:
    """Agents a scenario dict creates: one per firm, archetypes counted ``count`` times,
    and one per broker."""
    firms = sum(row.get("count", 1) for s in FIRM_SECTIONS for row in data.get(s, []))
    return firms + len(data.get("broker", []))


def fixed_agent_count(data: dict[str, Any]) -> int:
    """Agents every copy of a market shares: merchant chip suppliers and brokers."""
    return merchant_supplier_count(data) + len(data.get("broker", []))


def _merchant(row: dict[str, Any]) -> bool:
    return not row.get("captive_parent")


def merchant_supplier_count(data: dict[str, Any]) -> int:
    return sum(row.get("count", 1) for row in data.get("chip_supplier", []) if _merchant(row))


def _member_names(name: str, count: int) -> list[str]:
    return [name] if count == 1 else [f"{name} {j + 1}" for j in range(count)]


def scaled_scenario(base: dict[str, Any], copies: int) -> dict[str, Any]:
    """``base`` copied ``copies`` times into one market (see the module docstring).

    Labs, neoclouds and hyperscalers are multiplied; merchant chip suppliers serve the
    whole market, so they keep their number and multiply their output and cash; a
    captive chip program belongs to its parent, so each copy gets its own. Firms
    named in other tables (contract parties, a captive program's parent and partners,
    a site owned by one member of an archetype) are renamed to the copy's firm."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    k = copies
    out = copy.deepcopy(base)
    rename: dict[str, list[str]] = {}  # a firm of the base -> that firm in copy 1..k
    for section in ("hyperscaler", "neocloud", "lab"):
        for row in out.get(section, []):
            c = row.get("count", 1)
            new = _member_names(row["name"], c * k)
            for j, name in enumerate(_member_names(row["name"], c)):
                rename[name] = [new[i * c + j] for i in range(k)]
            row["count"] = c * k

    suppliers = []
    for row in base.get("chip_supplier", []):
        if _merchant(row):
            r = copy.deepcopy(row)
            for field in ("production_h100e_per_month", "cash_usd"):
                r[field] = r.get(field, _default("chip_supplier", field)) * k
            suppliers.append(r)
            continue
        for i in range(k):
            r = copy.deepcopy(row)
            r["name"] = row["name"] if k == 1 else f"{row['name']} {i + 1}"
            r["captive_parent"] = rename[row["captive_parent"]][i]
            r["partners"] = [rename[p][i] for p in row.get("partners", [])]
            suppliers.append(r)
    if "chip_supplier" in base:
        out["chip_supplier"] = suppliers

    archetypes = {
        row["name"] for s in ("hyperscaler", "neocloud", "lab") for row in base.get(s, [])
    }
    if "facility" in base:
        out["facility"] = [
            {**copy.deepcopy(row), "owner": rename[row["owner"]][i]}
            if row["owner"] not in archetypes
            else copy.deepcopy(row)  # archetype: every member
            for row in base["facility"]
            for i in (range(k) if row["owner"] not in archetypes else range(1))
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

    for region in out.get("region", []):
        for field in ("grid_mw_per_year", "queue_mw"):
            region[field] = region.get(field, _default("region", field)) * k

    from market.io.params import PARAMS

    params = out.setdefault("params", {})
    demand = "inference_demand_h100e_initial"
    params[demand] = params.get(demand, PARAMS[demand].default) * k

    head = out.setdefault("scenario", {})
    name = head.get("name", "baseline")
    head["name"] = f"{name}-x{k}"
    head["description"] = f"{k} copies of {name} in one market ({firm_count(out)} firms)"
    return out


def market_for_size(base: dict[str, Any], agents: int) -> tuple[dict[str, Any], int]:
    """A generated market with about ``agents`` agents, and its number of copies."""
    fixed = fixed_agent_count(base)
    per_copy = firm_count(base) - fixed
    copies = max(1, round((agents - fixed) / per_copy))
    return scaled_scenario(base, copies), copies


# ------------------------------------------------------------------ timing


@dataclass
class Timing:
    agents: int
    s_per_step: float  # median over repeats
    setup_s: float
    repeats: list[float]


def _with_horizon(scenario: dict[str, Any], months: int) -> dict[str, Any]:
    """Make the scenario's horizon at least ``months`` so the model never runs past it."""
    s = copy.deepcopy(scenario)
    params = s.setdefault("params", {})
    params["years"] = max(float(params.get("years", 10.0)), math.ceil(months / 12) + 1.0)
    return s


def time_market(
    scenario: dict[str, Any], months: int, warmup: int, repeats: int, seed: int
) -> Timing:
    from market.core.model import ComputeMarket

    scenario = _with_horizon(scenario, months + warmup)
    per_month, setups, agents = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = ComputeMarket(scenario=scenario, rng=seed)
        setups.append(time.perf_counter() - t0)
        agents = len(model.agents)
        model.run_months(warmup)
        t0 = time.perf_counter()
        model.run_months(months)
        per_month.append((time.perf_counter() - t0) / months)
    return Timing(agents, statistics.median(per_month), statistics.median(setups), per_month)


def boltzmann(agents: int, seed: int):
    """Mesa's Boltzmann wealth example with ``agents`` agents, one per grid cell."""
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

    side = max(1, math.ceil(math.sqrt(agents)))
    return BoltzmannWealth(BoltzmannScenario(rng=seed, n=agents, width=side, height=side))


def time_reference(agents: int, steps: int, warmup: int, repeats: int, seed: int) -> Timing:
    steps = max(steps, REFERENCE_MIN_STEPS)
    per_step, setups = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = boltzmann(agents, seed)
        setups.append(time.perf_counter() - t0)
        for _ in range(warmup):
            model.step()
        t0 = time.perf_counter()
        for _ in range(steps):
            model.step()
        per_step.append((time.perf_counter() - t0) / steps)
    return Timing(agents, statistics.median(per_step), statistics.median(setups), per_step)


# ------------------------------------------------------------------ the table


def build_rows(markets: list[tuple[str, Timing]], references: dict[int, Timing]) -> list[dict]:
    rows, previous = [], None
    for size, t in markets:
        us = t.s_per_step / t.agents * 1e6
        ref = references[t.agents]
        ref_us = ref.s_per_step / ref.agents * 1e6
        row = {
            "size": size,
            "agents": t.agents,
            "s_per_month": t.s_per_step,
            "us_per_agent_month": us,
            "reference_us_per_agent_step": ref_us,
            "ratio_to_reference": us / ref_us,
            "growth_vs_previous_size": math.nan,
            "agents_vs_previous_size": math.nan,
            "setup_s": t.setup_s,
        }
        if size != "baseline":
            if previous is not None:
                row["growth_vs_previous_size"] = t.s_per_step / previous.s_per_step
                row["agents_vs_previous_size"] = t.agents / previous.agents
            previous = t
        rows.append(row)
    return rows


def verdicts(rows: list[dict]) -> list[str]:
    """One line per target: the figure, the target and whether it is met."""
    lines = []
    worst = max(rows, key=lambda r: r["ratio_to_reference"])
    met = all(r["ratio_to_reference"] <= TARGET_RATIO for r in rows)
    lines.append(
        f"per agent-month vs reference per agent-step: worst {worst['ratio_to_reference']:.1f}x "
        f"at {worst['size']} ({worst['agents']} agents); target <= {TARGET_RATIO:g}x: "
        + ("met" if met else "MISSED")
    )
    generated = [r for r in rows if r["size"] != "baseline"]
    if len(generated) >= 2:
        a, b = generated[-2], generated[-1]
        growth = b["s_per_month"] / a["s_per_month"]
        ratio = b["agents"] / a["agents"]
        exponent = math.log(growth) / math.log(ratio) if ratio > 1 and growth > 0 else math.nan
        ok = growth <= ratio * LINEAR_ALLOWANCE
        lines.append(
            f"time per month from {a['agents']:,} to {b['agents']:,} agents: x{growth:.1f} "
            f"for x{ratio:.1f} agents (exponent {exponent:.2f}; linear = 1); target: no "
            f"faster than linear (within {LINEAR_ALLOWANCE - 1:.0%}): "
            + ("met" if ok else "MISSED")
        )
    return lines


def _fmt(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "-"
    if key == "s_per_month":
        return f"{value:.4g}"
    if key in ("us_per_agent_month", "reference_us_per_agent_step"):
        return f"{value:,.1f}"
    if key == "setup_s":
        return f"{value:.3g}"
    return f"{value:.1f}x"


def format_table(rows: list[dict], markdown: bool = False) -> str:
    cells = [[_fmt(k, r[k]) for k in COLUMNS] for r in rows]
    if markdown:
        lines = [
            "| " + " | ".join(HEADERS) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(HEADERS))) + "|",
        ]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(HEADERS, widths, strict=False))
        )
    ]
    lines += [
        "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(c, widths, strict=False))
        )
        for c in cells
    ]
    return "\n".join(lines)


def environment() -> str:
    import mesa

    return (
        f"Python {platform.python_version()}, Mesa {mesa.__version__}, "
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs"
    )


# ------------------------------------------------------------------ profiling


def profile_market(
    scenario: dict[str, Any], months: int, warmup: int, seed: int, limit: int = 30
) -> str:
    """cProfile of ``months`` timed months: the share of each stage of the month, then
    functions by own time, by cumulative time, and who calls the costliest ones."""
    from market.core.model import ComputeMarket

    model = ComputeMarket(scenario=_with_horizon(scenario, months + warmup), rng=seed)
    agents = len(model.agents)
    model.run_months(warmup)
    prof = cProfile.Profile()
    prof.enable()
    model.run_months(months)
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    total = max(stats.total_tt, 1e-12)
    text.write(
        f"{agents} agents at the start, {months} months after {warmup} warm-up months, "
        f"{total:.1f} s under the profiler\n\nTime by stage of the month (cumulative):\n"
    )
    stages = sorted(
        (
            (ct, func)
            for (_, _, func), (_, _, _, ct, _) in stats.stats.items()
            if func.startswith("stage_")
        ),
        reverse=True,
    )
    for ct, func in stages:
        text.write(f"  {func:<24} {ct:9.2f} s  {ct / total:6.1%}\n")
    text.write("\n")
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("cumulative").print_callers(limit)
    return text.getvalue()


# ------------------------------------------------------------------ command line


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed: expected agent counts >= 1 separated by commas, "
            "e.g. 100,1000,10000"
        )
    return sorted(set(sizes))


def _whole(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not allowed: expected a whole number >= {minimum}"
            )
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m experiments.benchmark",
        description=QUESTION,
        epilog="Writes benchmark.md and benchmark.csv (and profile.txt with --profile) to --out.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="100 and 1,000 agents, 3 months, 1 repeat: a rough figure in seconds "
        "(flags given explicitly still win)",
    )
    p.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="approximate agent counts of the generated markets (default: 100,1000,10000)",
    )
    p.add_argument(
        "--months",
        type=_whole(1),
        default=None,
        help=f"timed months per repeat (default: {DEFAULT_MONTHS})",
    )
    p.add_argument(
        "--warmup",
        type=_whole(0),
        default=None,
        help=f"untimed months before timing (default: {DEFAULT_WARMUP_MONTHS})",
    )
    p.add_argument(
        "--repeats",
        type=_whole(1),
        default=None,
        help=f"fresh models per size; the median is reported (default: {DEFAULT_REPEATS})",
    )
    p.add_argument(
        "--seed",
        type=_whole(0),
        default=DEFAULT_SEED,
        help=f"seed of every model (default: {DEFAULT_SEED})",
    )
    p.add_argument(
        "--out",
        default=None,
        help=f"folder for benchmark.md and benchmark.csv (default: {DEFAULT_OUT}, "
        f"with --quick {DEFAULT_OUT}-quick)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace --out if it exists and is not empty"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile the largest generated market and write profile.txt",
    )
    return p


def write_outputs(
    out: Path, overwrite: bool, rows: list[dict], notes: list[str], profile: str | None
) -> None:
    """All files into a temporary sibling folder, then moved into place."""
    from market.io.atomic import replaced_folder
    from market.run.runner import check_out_dir

    out = check_out_dir(out, overwrite)
    with replaced_folder(out) as tmp:
        with open(tmp / "benchmark.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            for r in rows:
                w.writerow(
                    {
                        k: (
                            ""
                            if isinstance(r[k], float) and math.isnan(r[k])
                            else f"{r[k]:.6g}"
                            if isinstance(r[k], float)
                            else r[k]
                        )
                        for k in COLUMNS
                    }
                )
        md = [
            "# Speed benchmark",
            "",
            QUESTION,
            "",
            format_table(rows, markdown=True),
            "",
            *[f"- {n}" for n in notes],
            "",
        ]
        (tmp / "benchmark.md").write_text("\n".join(md), encoding="utf-8")
        if profile is not None:
            (tmp / "profile.txt").write_text(profile, encoding="utf-8")


def run(
    sizes: list[int], months: int, warmup: int, repeats: int, seed: int, log=None
) -> tuple[list[dict], dict[str, dict]]:
    """Measure the baseline, a generated market per size and the reference; return the
    table rows and the scenario dict of each generated market by size."""
    log = log or (lambda msg: None)
    base = baseline_dict()
    markets: list[tuple[str, Timing]] = []
    scenarios: dict[str, dict] = {}
    for label, scenario in [
        ("baseline", base),
        *[(str(n), market_for_size(base, n)[0]) for n in sizes],
    ]:
        log(f"{label}: {firm_count(scenario)} agents, {repeats} x ({warmup} + {months} months)")
        markets.append((label, time_market(scenario, months, warmup, repeats, seed)))
        scenarios[label] = scenario
    references = {}
    for agents in sorted({t.agents for _, t in markets}):
        log(f"reference: Boltzmann wealth, {agents} agents")
        references[agents] = time_reference(agents, months, warmup, repeats, seed)
    return build_rows(markets, references), scenarios


def main(argv: list[str] | None = None) -> int:
    args_parser = parser()
    args = args_parser.parse_args(argv)
    defaults = (
        QUICK
        if args.quick
        else {
            "sizes": list(DEFAULT_SIZES),
            "months": DEFAULT_MONTHS,
            "warmup": DEFAULT_WARMUP_MONTHS,
            "repeats": DEFAULT_REPEATS,
        }
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = DEFAULT_OUT + ("-quick" if args.quick else "")
    from market.run.runner import OutputError, check_out_dir

    try:
        check_out_dir(args.out, args.overwrite)  # refuse before minutes of measuring
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(f"measuring {msg}", file=sys.stderr, flush=True)

    rows, scenarios = run(args.sizes, args.months, args.warmup, args.repeats, args.seed, log)
    notes = verdicts(rows)
    notes += [
        f"{args.months} timed months after {args.warmup} warm-up months; median of "
        f"{args.repeats} repeats; seed {args.seed}; reference: Mesa BoltzmannWealth, one "
        "agent per grid cell, at least "
        f"{REFERENCE_MIN_STEPS} timed steps",
        "agents = firms (labs, neoclouds, hyperscalers, chip suppliers); generated markets "
        "are copies of the baseline (see experiments/benchmark.py)",
        environment(),
    ]
    profile = None
    generated = [r for r in rows if r["size"] != "baseline"]
    if args.profile and generated:
        largest = generated[-1]["size"]
        log(f"profile of {largest} ({generated[-1]['agents']} agents)")
        profile = profile_market(scenarios[largest], args.months, args.warmup, args.seed)
    print(format_table(rows))
    print()
    for n in notes:
        print(n)
    write_outputs(Path(args.out), args.overwrite, rows, notes, profile)
    print(
        f"\nwrote {Path(args.out) / 'benchmark.md'} and benchmark.csv"
        + (" and profile.txt" if profile else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
