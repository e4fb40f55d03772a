"""Speed benchmark: how much CPU does a simulated agent-month cost, against Mesa's floor,
and how does it grow with agents?

Question: how many microseconds of CPU per agent-month does the engine take at about
1,000 and 10,000 agents, against the cheapest agent step Mesa offers (its Boltzmann
wealth example: each agent gives one unit to a random other, stepped with
``shuffle_do``, at the same agent count), and does the time per month grow no faster
than linearly with agents (growth exponent at most 1)?

What it varies: the number of agents. A market of N agents is the scenario's
archetypes copied into one market (``market.run.scale``): labs, neoclouds and
hyperscalers multiplied, merchant chip suppliers kept and their output multiplied,
the market-size parameters multiplied, so that per agent the market stays as it was.

How it measures: CPU time (``time.process_time``), not the wall clock, so other
programs on a shared machine do not count. For each size one market and one Mesa
``BoltzmannWealth`` of the same agent count are built; ``--warmup`` months (and as
many blocks of reference steps) run untimed; then each of ``--months`` timed months
is followed at once by a timed block of reference steps, so the two alternate and see
the same machine. That is repeated ``--repeats`` times with fresh models of the same
seed, the sizes taking turns (one repeat of each size, then the next), so a change of
the machine's load during the run falls on every size alike; the figures are medians
over every timed month and every reference block.
Garbage collection: ``--gc freeze`` (the default) freezes everything built before
the first month (see ``market.run.scale``); ``--gc default`` leaves Python's settings.

What it writes: the table on the terminal (agents, µs per agent-month, reference µs
per agent-step, ratio) and the growth exponent from the smallest to the largest
size; with ``--json PATH`` the same figures as
``{"rows": [{"agents", "us_per_agent_month", "reference_us_per_agent_step", "ratio"}, ...],
"exponent": ..., "reference_exponent": ...}`` (the second is the same exponent for the
reference's own step, which is no less linear in its work: what it adds over 1 is the
machine's, e.g. its caches); with ``--profile PATH`` a cProfile of the largest market's
timed months (time by stage of the month, then functions by cumulative and own time).

    python -m experiments.benchmark                          # 1,000 and 10,000 agents
    python -m experiments.benchmark --sizes 1000,10000 --json runs/benchmark.json
    python -m experiments.benchmark --agents 100000 --months 2 --repeats 1
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from market.io.flags import whole_number
from market.run.scale import (
    GC_MODES,
    ScaleError,
    gc_tuned,
    market_for_size,
    scenario_dict,
    with_horizon,
)

if TYPE_CHECKING:
    from market.io.scenario import Scenario

QUESTION = (
    "How many microseconds of CPU per agent-month does the engine take at about 1,000 and "
    "10,000 agents, against Mesa's Boltzmann wealth example per agent-step, and does the "
    "time per month grow no faster than linearly with agents?"
)

DEFAULT_SIZES = (1000, 10000)
DEFAULT_MONTHS = 4
DEFAULT_WARMUP_MONTHS = 2
DEFAULT_REPEATS = 2
DEFAULT_SEED = 7
# A reference block lasts about this share of a market month (at least REFERENCE_MIN_STEPS
# steps): long enough to beat timer resolution, short enough to alternate often.
REFERENCE_BLOCK_SHARE = 0.5
REFERENCE_MIN_STEPS = 5
TARGET_RATIO = 10.0
TARGET_EXPONENT = 1.05

HEADERS = ("agents", "µs per agent-month", "reference µs per agent-step", "ratio")


@dataclass
class Sample:
    """Timed months of one market size and the reference blocks timed between them."""

    agents: int
    month_s: list[float] = field(default_factory=list)
    reference_step_s: list[float] = field(default_factory=list)
    build_s: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        us = statistics.median(self.month_s) / self.agents * 1e6
        ref = statistics.median(self.reference_step_s) / self.agents * 1e6
        return {
            "agents": self.agents,
            "us_per_agent_month": us,
            "reference_us_per_agent_step": ref,
            "ratio": us / ref,
        }


def boltzmann(agents: int, seed: int):
    """Mesa's Boltzmann wealth example with ``agents`` agents, one per grid cell."""
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

    side = max(1, math.ceil(math.sqrt(agents)))
    return BoltzmannWealth(BoltzmannScenario(rng=seed, n=agents, width=side, height=side))


def _cpu(fn, *args) -> float:
    t0 = time.process_time()
    fn(*args)
    return time.process_time() - t0


def _reference_steps(model, steps: int) -> None:
    for _ in range(steps):
        model.step()


def measure_repeat(
    sample: Sample, data: Scenario, months: int, warmup: int, seed: int, gc_mode: str
) -> None:
    """One repeat of one size into ``sample``: a fresh market and reference, ``warmup``
    untimed months, then ``months`` timed months each followed by a timed reference block."""
    from market.core.model import ComputeMarket

    t0 = time.process_time()
    model = ComputeMarket(scenario=data, rng=seed)
    sample.build_s.append(time.process_time() - t0)
    sample.agents = len(model.agents)
    reference = boltzmann(sample.agents, seed)
    steps = REFERENCE_MIN_STEPS
    with gc_tuned(gc_mode, sample.agents):
        for _ in range(warmup):
            model.step()
            _reference_steps(reference, steps)
        for _ in range(months):
            month_s = _cpu(model.step)
            # size the block to about half a month, from this month's own cost
            per_step = _cpu(_reference_steps, reference, steps) / steps
            steps = max(
                REFERENCE_MIN_STEPS,
                round(REFERENCE_BLOCK_SHARE * month_s / max(per_step, 1e-9)),
            )
            sample.month_s.append(month_s)
            sample.reference_step_s.append(per_step)
    del model, reference
    gc.collect()


def exponent(rows: list[dict[str, Any]], per_agent: str = "us_per_agent_month") -> float:
    """Growth exponent of the time per month from the smallest to the largest size:
    time ∝ agents ** exponent (1 = linear). NaN with fewer than two sizes. With
    ``per_agent="reference_us_per_agent_step"`` the same for the reference's step, whose
    work per agent does not grow with agents."""
    if len(rows) < 2 or rows[-1]["agents"] <= rows[0]["agents"]:
        return math.nan
    a, b = rows[0], rows[-1]
    time_ratio = (b[per_agent] * b["agents"]) / (a[per_agent] * a["agents"])
    return math.log(time_ratio) / math.log(b["agents"] / a["agents"])


def format_table(rows: list[dict[str, Any]]) -> str:
    cells = [
        [
            f"{r['agents']:,}",
            f"{r['us_per_agent_month']:,.1f}",
            f"{r['reference_us_per_agent_step']:,.2f}",
            f"{r['ratio']:,.1f}x",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(HEADERS, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)) for c in cells]
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]], exp: float) -> list[str]:
    worst = max(rows, key=lambda r: r["ratio"])
    lines = [
        f"ratio to the reference: worst {worst['ratio']:.1f}x at {worst['agents']:,} agents; "
        f"target <= {TARGET_RATIO:g}x: " + ("met" if worst["ratio"] <= TARGET_RATIO else "MISSED")
    ]
    if not math.isnan(exp):
        lines.append(
            f"growth exponent from {rows[0]['agents']:,} to {rows[-1]['agents']:,} agents: "
            f"{exp:.2f} (1 = linear); target <= {TARGET_EXPONENT:g}: "
            + ("met" if exp <= TARGET_EXPONENT else "MISSED")
        )
    return lines


def environment() -> str:
    import mesa

    return (
        f"Python {platform.python_version()}, Mesa {mesa.__version__}, "
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs"
    )


def profile_market(
    scenario: dict[str, Any],
    agents: int,
    months: int,
    warmup: int,
    seed: int,
    gc_mode: str,
    limit: int = 40,
) -> str:
    """cProfile of ``months`` months of the market of ``agents`` agents: the share of each
    stage of the month, then functions by cumulative and by own time."""
    from market.core.model import ComputeMarket

    data = with_horizon(market_for_size(scenario, agents)[0], warmup + months)
    model = ComputeMarket(scenario=data, rng=seed)
    n = len(model.agents)
    prof = cProfile.Profile()
    with gc_tuned(gc_mode, n):
        model.run_months(warmup)
        prof.enable()
        model.run_months(months)
        prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    total = max(stats.total_tt, 1e-12)  # type: ignore[attr-defined]
    text.write(
        f"{n} agents, {months} months after {warmup} warm-up months, "
        f"{total:.1f} s under the profiler\n\nTime by stage of the month (cumulative):\n"
    )
    stages = sorted(
        (
            (ct, func)
            for (_, _, func), (_, _, _, ct, _) in stats.stats.items()  # type: ignore[attr-defined]
            if func.startswith("stage_")
        ),
        reverse=True,
    )
    for ct, func in stages:
        text.write(f"  {func:<28} {ct:9.2f} s  {ct / total:6.1%}\n")
    text.write("\n")
    stats.sort_stats("cumulative").print_stats(limit)
    stats.sort_stats("tottime").print_stats(limit)
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
            "e.g. 1000,10000"
        )
    return sorted(set(sizes))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"error: {message}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m experiments.benchmark", description=QUESTION)
    sizes = p.add_mutually_exclusive_group()
    sizes.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="agent counts, comma-separated (default: 1000,10000)",
    )
    sizes.add_argument(
        "--agents", type=whole_number(1), default=None, metavar="N", help="one market of N agents"
    )
    p.add_argument(
        "--scenario", default="baseline", help="built-in scenario whose archetypes are copied"
    )
    p.add_argument(
        "--months",
        type=whole_number(1),
        default=DEFAULT_MONTHS,
        help="timed months per repeat (default: %(default)s)",
    )
    p.add_argument(
        "--warmup",
        type=whole_number(0),
        default=DEFAULT_WARMUP_MONTHS,
        help="untimed months first (default: %(default)s)",
    )
    p.add_argument(
        "--repeats",
        type=whole_number(1),
        default=DEFAULT_REPEATS,
        help="fresh models per size (default: %(default)s)",
    )
    p.add_argument("--seed", type=whole_number(0), default=DEFAULT_SEED, help="seed of every model")
    p.add_argument(
        "--gc", choices=GC_MODES, default="freeze", help="garbage collection (default: freeze)"
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="write the figures as JSON"
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="PATH",
        help="write a cProfile of the largest size",
    )
    return p


def run(args: argparse.Namespace, log=None) -> dict[str, Any]:
    """Measure every size; return ``{"rows": [...], "exponent": ...}`` plus the settings."""
    log = log or (lambda msg: None)
    scenario = scenario_dict(args.scenario)
    sizes = [args.agents] if args.agents else args.sizes
    # the sizes take turns, one repeat each, so a change of the machine's load over the
    # run falls on every size alike instead of on the size measured last
    data = {
        n: with_horizon(market_for_size(scenario, n)[0], args.warmup + args.months) for n in sizes
    }
    samples = {n: Sample(agents=0) for n in sizes}
    for repeat in range(args.repeats):
        for n in sizes:
            log(
                f"{n} agents, repeat {repeat + 1} of {args.repeats}: {args.warmup} + "
                f"{args.months} months, alternating with the reference"
            )
            measure_repeat(samples[n], data[n], args.months, args.warmup, args.seed, args.gc)
    rows = [samples[n].row() for n in sizes]
    return {
        "rows": rows,
        "exponent": exponent(rows),
        "reference_exponent": exponent(rows, "reference_us_per_agent_step"),
        "settings": {
            "scenario": args.scenario,
            "months": args.months,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "seed": args.seed,
            "gc": args.gc,
            "clock": "process_time",
            "environment": environment(),
        },
    }


def _check_writable(path: Path | None, flag: str) -> None:
    if path is None:
        return
    parent = path.resolve().parent
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ScaleError(
            f"{flag} {str(path)!r} is not allowed: expected a file in an existing, writable folder"
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        _check_writable(args.json, "--json")  # refuse before minutes of measuring
        _check_writable(args.profile, "--profile")
        scenario_dict(args.scenario)
    except ScaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run(args, lambda msg: print(f"measuring {msg}", file=sys.stderr, flush=True))
    print(format_table(result["rows"]))
    exp = result["exponent"]
    if not math.isnan(exp):
        print(
            f"growth exponent: {exp:.2f} (the reference's own: {result['reference_exponent']:.2f})"
        )
    print()
    for line in verdicts(result["rows"], exp):
        print(line)
    print(
        f"CPU time; {args.months} timed months after {args.warmup} warm-up, {args.repeats} "
        f"repeats, medians; gc {args.gc}; {result['settings']['environment']}"
    )
    if args.json is not None:
        out = {
            **result,
            **{
                key: None if math.isnan(result[key]) else result[key]
                for key in ("exponent", "reference_exponent")
            },
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    if args.profile is not None:
        n = args.agents or max(args.sizes)
        print(f"measuring profile of {n} agents", file=sys.stderr, flush=True)
        text = profile_market(
            scenario_dict(args.scenario), n, args.months, args.warmup, args.seed, args.gc
        )
        args.profile.write_text(text, encoding="utf-8")
        print(f"wrote {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
