"""The ``compute-market`` command.

  compute-market run --scenario baseline --years 10 --seed 7 --out runs/demo
  compute-market run --scenario colossus-2026 --force-exit "CoreWeave@2027-06"
  compute-market scenarios
  compute-market params
  compute-market validate --scenario colossus-2026 --seeds 20
  compute-market ui --scenario classroom --port 8600
  compute-market experiment --list | NAME [flags]

Bad input ends with one line ``error: ...`` on stderr and exit code 2, never a
traceback, and never leaves a half-written output folder.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from market.io.flags import Parser as _Parser
from market.io.flags import parse_seed
from market.io.params import PARAMS, ParameterError, show, suggest
from market.io.scenario import FIRMS_NOTE, ScenarioError
from market.run.runner import OutputError

USER_ERRORS = (ScenarioError, ParameterError, OutputError)
# CPU time measured on a 2-core machine: the baseline copied (the benchmark's markets) and
# the baseline with 1,000 labs in one row (years 1 to 7: 6, 7, 18, 15, 35, 65, 110 s).
LARGE_RUNS = (
    "a large scenario runs slowly: a simulated month of 1,000 firms took 0.2 to 0.5 s in "
    "the first year and 9 s in the seventh, as contracts accumulate, and of 10,000 firms "
    "about 2.5 s in the first months (use --years for a shorter run)"
)


class CliError(ValueError):
    pass


def parse_set(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise CliError(
                f"--set {show(item)}: expected NAME=VALUE, e.g. --set contest_intensity=2"
            )
        key, value = item.split("=", 1)
        key = key.strip()
        if key not in PARAMS:
            raise CliError(
                f"--set: unknown parameter {show(key)}{suggest(key, PARAMS)}; "
                "see 'compute-market params'"
            )
        out[key] = PARAMS[key].check(value.strip(), "--set")
    return out


def _years(text: str) -> float:
    try:
        return PARAMS["years"].check(text, "--years")
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--years: ")) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="compute-market", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run one scenario and write its outputs")
    run.add_argument("--scenario", default="baseline", help="built-in name or path to a .toml file")
    run.add_argument(
        "--years", type=_years, default=None, help="length of the run (default: the scenario's)"
    )
    run.add_argument(
        "--seed", type=parse_seed, default=None, help="random seed (default: the scenario's)"
    )
    run.add_argument(
        "--out", default=None, help="output folder (default: runs/<scenario>-seed<seed>)"
    )
    run.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    run.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter")
    run.add_argument(
        "--force-exit",
        action="append",
        metavar="NAME@YYYY-MM",
        help="force the firm NAME out of the market in that month (a declared intervention)",
    )
    run.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    sub.add_parser("scenarios", help="list the built-in scenarios")
    sub.add_parser("params", help="list every parameter with unit, default and range")

    val = sub.add_parser("validate", help="check a scenario against known patterns over many seeds")
    val.add_argument("--scenario", default="colossus-2026")
    val.add_argument("--seeds", type=int, default=20)
    val.add_argument("--out", default="runs/validation")
    val.add_argument("--overwrite", action="store_true")
    val.add_argument("--workers", type=int, default=None)
    val.add_argument(
        "--years",
        type=_years,
        default=None,
        help="length of each run (default: the validator's horizon)",
    )
    val.add_argument("--quiet", action="store_true", help="no progress bar")

    ui = sub.add_parser("ui", help="open the browser page (Solara)")
    ui.add_argument("--scenario", default="baseline")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=8765)

    exp = sub.add_parser("experiment", help="run a named experiment script", add_help=False)
    exp.add_argument("--list", action="store_true")
    exp.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _run_figures(result, folder) -> None:
    from market.view import figures

    figures.write_run_figures(result, folder)


def cmd_run(args) -> int:
    from market.io.scenario import load_scenario, parse_force_exit
    from market.run import runner

    overrides = parse_set(args.set)
    forced = [parse_force_exit(text) for text in args.force_exit or []]
    years = {} if args.years is None else {"years": args.years}
    spec = load_scenario(args.scenario, {**overrides, **years}, forced)  # fail fast
    seed = spec.seed if args.seed is None else args.seed
    out = args.out or runner.default_out_dir(spec.name, seed)
    runner.check_out_dir(out, args.overwrite, create_parent=args.out is None)
    if spec.firm_count() > FIRMS_NOTE:
        print(f"note: {spec.firm_count():,} firms: {LARGE_RUNS}", file=sys.stderr)
    result = runner.run(
        args.scenario,
        seed=seed,
        years=args.years,
        overrides=overrides,
        out=out,
        overwrite=args.overwrite,
        progress=not args.quiet,
        figures=None if args.no_figures else _run_figures,
        interventions=forced,
    )
    print(format_summary(result.summary))
    listing = (
        "timeseries.csv contracts.csv events.csv labs.csv providers.csv suppliers.csv "
        "summary.json manifest.json"
    )
    if not args.no_figures:
        listing += " figures/"
    print(f"\nwrote {len(result.files)} files to {out}/: {listing}")
    return 0


def _num(x, fmt="{:,.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def format_summary(s: dict) -> str:
    rows = [
        ("scenario / seed", f"{s['scenario']} / {s['seed']}"),
        ("final month", s["final_month"]),
        (
            "active labs / neoclouds / hyperscalers",
            f"{_num(s['active_labs'])} / {_num(s['active_neoclouds'])} / {_num(s['active_hyperscalers'])}",
        ),
        (
            "capacity, million H100e: hyperscaler / neocloud / lab",
            " / ".join(
                _num(None if s[k] is None else s[k] / 1e6, "{:.2f}")
                for k in (
                    "capacity_h100e_hyperscaler",
                    "capacity_h100e_neocloud",
                    "capacity_h100e_lab",
                )
            ),
        ),
        (
            "spot price index, USD per H100e-hour",
            _num(s["spot_price_index_usd_per_h100e_hour"], "{:.2f}"),
        ),
        ("HHI of capacity ownership", _num(s["capacity_hhi"])),
        ("contracts signed (beyond the opening book)", _num(s["contracts_signed"])),
        (
            "rationed share of demand: final / mean",
            f"{_num(s['rationed_share'], '{:.1%}')} / {_num(s['mean_rationed_share'], '{:.1%}')}",
        ),
        ("largest training run, H100e-months", _num(s["largest_run_h100e_months"])),
        (
            "exits / acquisitions",
            f"{_num(s['cumulative_exits'])} / {_num(s['cumulative_acquisitions'])}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def cmd_scenarios(args) -> int:
    from market.io.scenario import builtin_summaries

    items = builtin_summaries()
    width = max(len(n) for n, _ in items)
    for name, desc in items:
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_params(args) -> int:
    from market.io.params import MODEL_PARAMS

    for p in MODEL_PARAMS:
        print(f"{p.name} = {p.default!r} [{p.unit}] ({p.allowed()}): {p.help}")
    return 0


def cmd_validate(args) -> int:
    from market.view import report

    return report.validate_command(args)


def cmd_ui(args) -> int:
    from market.view import launch_ui

    return launch_ui.main(args)


def cmd_experiment(args) -> int:
    import experiments

    if args.list or not args.rest:
        for name, question in experiments.catalogue():
            print(f"{name:<24} {question}")
        return 0
    name, rest = args.rest[0], args.rest[1:]
    return experiments.run(name, rest)


COMMANDS = {
    "run": cmd_run,
    "scenarios": cmd_scenarios,
    "params": cmd_params,
    "validate": cmd_validate,
    "ui": cmd_ui,
    "experiment": cmd_experiment,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (*USER_ERRORS, CliError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
