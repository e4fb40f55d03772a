"""Runs with model parameters drawn at random within their declared ranges.

    python scripts/random_draws.py --runs 200 --years 10 --scenario classroom

For each run it reports the largest amount of money any firm holds or owes in any
month (against MONEY_SANITY_USD) with the firm and month, the highest chip list price
and lab revenue per H100e-hour (the prices that run away when money does), the
outputs that were empty (NaN) and in which months, and how often the model's
invariants fail (tests/test_properties.py holds the checks). The last line sums the
runs up, each run above the bound is listed before it; --jsonl writes one line per run.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from market import ComputeMarket
from market.io.params import MODEL_PARAMS, MONEY_SANITY_USD
from market.io.scenario import ScenarioError
from tests.test_properties import FIXED, MonthChecks

# prices whose runaway takes money past the bound: chips bought at it, or revenue
# (and the valuations that bound equity raises) earned at it
PRICES = ("chip_price_usd_per_h100e", "revenue_usd_per_h100e_hour")


def draw(rng: random.Random) -> dict:
    """Every parameter but the run's calendar, uniform within its declared range."""
    out = {}
    for p in MODEL_PARAMS:
        if p.name in FIXED:
            continue
        if p.choices is not None:
            out[p.name] = rng.choice(p.choices)
        elif p.kind is bool:
            out[p.name] = rng.random() < 0.5
        elif p.kind is int:
            out[p.name] = rng.randint(int(p.min), int(p.max))
        else:
            out[p.name] = rng.uniform(p.min, p.max)
    return out


def one_run(scenario: str, seed: int, months: int, params: dict) -> dict:
    try:
        m = ComputeMarket(scenario=scenario, rng=seed, **params)
    except ScenarioError as exc:  # e.g. an opening contract the drawn density cannot hold
        return {
            "seed": seed,
            "refused": str(exc),
            "money_usd": 0.0,
            "empty": {},
            "broken": {},
            "failed": [],
            "params": params,
        }
    checks = MonthChecks(m, strict=False)
    money = 0.0
    peak = {}  # the firm holding or owing the most money, and when
    highest = dict.fromkeys(PRICES, 0.0)
    for _ in range(months):
        m.step()
        checks.check()
        firm = max(m.agents, key=lambda a: abs(a.cash_usd), default=None)
        if firm is not None and abs(firm.cash_usd) > money:
            money = abs(firm.cash_usd)
            peak = {"firm": firm.name, "kind": str(firm.kind), "month": m.calendar_month}
        for name in PRICES:
            value = m.metrics.get(name, math.nan)
            if value > highest[name]:  # NaN (no price this month) never is
                highest[name] = value
    return {
        "seed": seed,
        "money_usd": money,
        "peak": peak,
        "highest": highest,
        "empty": checks.empty_outputs,
        "broken": dict(checks.broken),
        "failed": checks.failed,
        "params": params,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--years", type=float, default=10.0)
    ap.add_argument("--scenario", default="classroom")
    ap.add_argument("--seed", type=int, default=0, help="seed of the draws")
    ap.add_argument("--jsonl", default=None, help="write one JSON line per run here")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    months = round(args.years * 12)
    rows = []
    sink = open(args.jsonl, "w") if args.jsonl else None  # noqa: SIM115
    t0 = time.time()
    for i in range(args.runs):
        row = one_run(args.scenario, i, months, draw(rng))
        rows.append(row)
        if sink:
            sink.write(json.dumps(row) + "\n")
            sink.flush()
    over = [r for r in rows if not r["money_usd"] <= MONEY_SANITY_USD]
    broken: dict[str, int] = {}
    for r in rows:
        for name in r["broken"]:
            broken[name] = broken.get(name, 0) + 1
    top = max((r["money_usd"] for r in rows), default=0.0)
    for r in over:
        peak, highest = r["peak"], r["highest"]
        print(
            f"run {r['seed']}: {r['money_usd']:.3g} USD at {peak['kind']} {peak['firm']} in "
            f"{peak['month']}; highest chip price {highest[PRICES[0]]:.3g} USD per H100e, "
            f"revenue {highest[PRICES[1]]:.3g} USD per H100e-hour"
        )
    high = {
        name: max((r.get("highest", {}).get(name, 0.0) for r in rows), default=0.0)
        for name in PRICES
    }
    print(
        f"{len(rows)} runs of {args.scenario}, {months} months, {time.time() - t0:.0f} s: "
        f"largest money {top:.3g} USD; {len(over)} runs above {MONEY_SANITY_USD:.0e} USD; "
        f"highest chip price {high[PRICES[0]]:.3g} USD per H100e, highest revenue "
        f"{high[PRICES[1]]:.3g} USD per H100e-hour; "
        f"runs with a failed invariant: {broken or 'none'}; "
        f"runs with another failure: {sum(1 for r in rows if r['failed'])}; "
        f"refused at load: {sum(1 for r in rows if 'refused' in r)}; empty outputs: "
        f"{sorted({k for r in rows for k in r['empty']})}"
    )
    return 0 if math.isfinite(top) else 1


if __name__ == "__main__":
    sys.exit(main())
