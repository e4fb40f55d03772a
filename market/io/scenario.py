"""Scenarios: named TOML files shipped with the package, or a user's own file.

A scenario has a ``[scenario]`` table (name, description, seed), ``[params]`` (model
parameters, see ``market.io.params``) and arrays of tables for the actors and their
starting state: ``[[region]]``, ``[[chip_supplier]]``, ``[[hyperscaler]]``,
``[[neocloud]]``, ``[[lab]]``, ``[[facility]]`` and ``[[contract]]`` (the opening
contract book). Every field of every table is declared below; a file is checked
against these declarations before a model is built from it.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from market.io.params import (
    PARAMS,
    Param,
    ParameterError,
    check_month,
    check_seed,
    refusal,
    resolve,
    show,
    suggest,
)


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message says where and why."""


def _f(name, default, unit, help, min=None, max=None, choices=None, required=False, integer=False):
    return Param(
        name, default, unit, help, "scenario", min, max, choices, required=required, integer=integer
    )


# Size limits. Run time grows faster than the number of firms and, as the market fills,
# with every simulated year (see FIRMS_NOTE and the CLI's note on large scenarios).
COUNT_MAX = 10_000  # firms (or sites) one row may stand for
FIRMS_MAX = 120_000  # firms in a scenario, members counted one by one (scale runs reach 100,000)
SITES_MAX = 500_000  # opening sites, counts and owners' members multiplied out
FIRMS_NOTE = 1_000  # above this many firms the CLI says how long a run may take
FILE_MAX_BYTES = 1_000_000  # a scenario file (colossus-2026, the largest built in: 29 kB)
BASE_MAX_DEPTH = 8  # scenarios in a chain of bases, the first one's included
DESCRIPTION_MAX_CHARS = 2000
ROUNDING = 0.005  # an opening contract may exceed its capacity by this share (rounded figures)
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SAFE_NAME_ALLOWED = (
    "a name of 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter "
    "or digit (it names the output folder)"
)

_COUNT = _f(
    "count",
    1,
    "firms",
    "How many firms this archetype stands for (names get 1, 2, ...).",
    1,
    COUNT_MAX,
)
_NAME = _f("name", "", "-", "Display name (unique).", required=True)
BROKER_MODELS = ("exchange", "dealer")  # the business models a [[broker]] may have
MATCHING_RULES = ("price_time", "uniform_per_shape")  # market.mechanisms.orderbook.RULES
INTERVENTION_ACTIONS = ("force_exit",)  # what an [[intervention]] may do
FORCE_EXIT_ALLOWED = "NAME@YYYY-MM, a firm of the scenario and a month of the run"
_REGION = _f("region", "", "-", "Region of new builds (empty: the first region).")
_CASH = _f("cash_usd", 0.0, "USD", "Cash at the start.", 0.0, 1e14)
_CREDIT = _f(
    "credit_rating",
    0.5,
    "0-1",
    "Creditworthiness: 1 = investment grade, 0 = distressed. Sets lenders' spreads.",
    0.0,
    1.0,
)
_BUILD = _f(
    "max_build_mw", 0.0, "MW", "Largest site this firm starts at once (0: never builds).", 0.0, 1e6
)

SECTIONS: dict[str, tuple[Param, ...]] = {
    "region": (
        _NAME,
        _f(
            "grid_mw_per_year",
            2000.0,
            "MW per year",
            "New grid connections the region grants per year.",
            0.0,
            1e7,
        ),
        _f("power_price_usd_per_mwh", 70.0, "USD per MWh", "Price of grid power.", 0.0, 1e4),
        _f("queue_mw", 0.0, "MW", "Connection requests already waiting at the start.", 0.0, 1e7),
    ),
    "chip_supplier": (
        _NAME,
        _COUNT,
        _CASH,
        _f(
            "production_h100e_per_month",
            100_000.0,
            "H100e per month",
            "Accelerator output at the start.",
            0.0,
            1e10,
            required=True,
        ),
        _f("price_usd_per_h100e", 30_000.0, "USD per H100e", "List price at the start.", 0.0, 1e8),
        _f(
            "unit_cost_usd_per_h100e",
            12_000.0,
            "USD per H100e",
            "Cost to make one H100e.",
            0.0,
            1e8,
        ),
        _f(
            "margin",
            0.6,
            "share",
            "Markup over cost the price tends to when orders are thin.",
            0.0,
            20.0,
        ),
        _f(
            "captive_parent",
            "",
            "-",
            "For a captive ASIC program: the firm that owns it (empty: merchant supplier).",
        ),
        _f("partners", [], "-", "Firms besides the parent a captive program sells to."),
    ),
    "hyperscaler": (
        _NAME,
        _COUNT,
        _CASH,
        _CREDIT,
        _REGION,
        _BUILD,
        _f(
            "outside_cash_flow_usd_per_month",
            0.0,
            "USD per month",
            "Cash from other businesses available for capex.",
            0.0,
            1e13,
        ),
    ),
    "neocloud": (
        _NAME,
        _COUNT,
        _CASH,
        _CREDIT,
        _REGION,
        _BUILD,
        _f("debt_usd", 0.0, "USD", "Debt at the start.", 0.0, 1e13),
    ),
    "lab": (
        _NAME,
        _COUNT,
        _CASH,
        _CREDIT,
        _REGION,
        _BUILD,
        _f(
            "initial_share",
            0.1,
            "share",
            "Share of the AI services market at the start (shares are normalised).",
            0.0,
            1.0,
        ),
        _f(
            "capability_h100e_months",
            1e5,
            "H100e-months",
            "Size of the lab's best completed training run.",
            1.0,
            1e12,
        ),
        _f(
            "strategy",
            "training_first",
            "-",
            "What a short lab cuts last.",
            choices=("training_first", "inference_first"),
        ),
        _f(
            "revenue_usd_per_month",
            -1.0,
            "USD per month",
            "Revenue in the month before the start, for growth (-1: from its share).",
            -1.0,
            1e13,
        ),
        _f(
            "preferred_term_months",
            0,
            "months",
            "Term this lab asks for (0: the model's).",
            0,
            120,
            integer=True,
        ),
        _f(
            "own_demand_growth_per_year",
            1.0,
            "x per year",
            "Yearly growth of this lab's users over and above the market's, at the start (1: "
            "it grows with the market); its logarithm halves every "
            "lab_demand_growth_halflife_months.",
            0.2,
            1000.0,
        ),
    ),
    "facility": (
        _f("owner", "", "-", "Firm (or archetype) that owns it.", required=True),
        _f("name", "", "-", "Site name (empty: generated)."),
        _COUNT,
        _f("region", "", "-", "Region (empty: the first region)."),
        _f("power_mw", 0.0, "MW", "IT power of the site.", 0.0, 1e6, required=True),
        _f(
            "capacity_h100e",
            -1.0,
            "H100e",
            "Chips installed at the start (-1: as many as the power allows).",
            -1.0,
            1e10,
        ),
        _f(
            "online_month",
            0,
            "months from start",
            "Month the site comes online (0 or less: already online).",
            -600,
            600,
            integer=True,
        ),
        _f(
            "chip_age_months",
            12,
            "months",
            "Average age of the installed chips at the start (installed in four batches "
            "aged from a quarter to one and three-quarters of it).",
            0,
            600,
            integer=True,
        ),
        _f(
            "chip_generation",
            0,
            "generation",
            "Generation of the installed chips (0: the H100 class; 1: the next, which "
            "fits generation_density_gain times the H100e in a MW). A site's power holds "
            "as many H100e as its generation allows.",
            0,
            20,
            integer=True,
        ),
    ),
    "contract": (
        _f("buyer", "", "-", "Buying firm.", required=True),
        _f("seller", "", "-", "Selling firm (capacity owner).", required=True),
        _f("facility", "", "-", "Seller's site (empty: the seller's largest site)."),
        _f("capacity_h100e", 0.0, "H100e", "Contracted capacity.", 1.0, 1e10, required=True),
        _f("start_month", "", "YYYY-MM", "First month of delivery.", required=True),
        _f("term_months", 36, "months", "Length of the contract.", 1, 240, integer=True),
        _f(
            "price_usd_per_h100e_hour",
            0.0,
            "USD per H100e-hour",
            "Contract price.",
            0.0,
            1000.0,
            required=True,
        ),
        _f(
            "take_or_pay_share",
            PARAMS["take_or_pay_share"].default,
            "share",
            "Share owed for idle capacity (default: the parameter take_or_pay_share).",
            0.0,
            1.0,
        ),
        _f("cancellation_notice_months", 0, "months", "0: not cancellable.", 0, 240, integer=True),
        _f("exclusive", False, "-", "Whole-site exclusive lease."),
        _f(
            "resale_right",
            True,
            "-",
            "The buyer may resell the unused part through an exchange (an exclusive lease "
            "only where exclusive_lease_resale_allowed).",
        ),
        _f(
            "purpose",
            "inference",
            "-",
            "What the buyer uses it for.",
            choices=("inference", "training"),
        ),
    ),
    # brokers of the secondary market (docs/brokers.md): an exchange matches limit
    # orders for blocks of compute and earns a fee from each side
    "broker": (
        _NAME,
        _f("model", "exchange", "-", "Business model of the broker.", choices=BROKER_MODELS),
        _CASH,
        _f(
            "matching_rule",
            "price_time",
            "-",
            "How the exchange prices its matches: each fill at the ask's price "
            "(price_time) or one price per block shape (uniform_per_shape).",
            choices=MATCHING_RULES,
        ),
        _f("fee_bps", 50.0, "bps of notional per side", "Exchange fee.", 0.0, 1000.0),
        _CREDIT,
        _f(
            "holding_h100e",
            0.0,
            "H100e",
            "Capacity a dealer aims to hold under long contracts to resell (dealers only).",
            0.0,
            1e9,
        ),
        _f(
            "margin",
            -1.0,
            "share",
            "A dealer's margin over break-even (-1: the parameter dealer_margin).",
            -1.0,
            1.0,
        ),
    ),
    # declared interventions (docs/odd.md 7.10): what happens to a firm at a month,
    # whatever the model's agents decide; the parameter apply_interventions switches them off
    "intervention": (
        _f(
            "firm",
            "",
            "-",
            "Firm it acts on: a hyperscaler, neocloud or lab (an archetype's firms by their "
            "numbered names).",
            required=True,
        ),
        _f(
            "month",
            "",
            "YYYY-MM",
            "Month it takes effect, in the settlement stage after the month's payments; "
            "within the run.",
            required=True,
        ),
        _f(
            "action",
            "force_exit",
            "-",
            "What happens: force_exit: the firm exits as if it had failed (its sellers claim "
            "on its estate, its sites are auctioned).",
            choices=INTERVENTION_ACTIONS,
        ),
    ),
}

HEADER_FIELDS = {"name", "description", "seed", "base"}


@dataclass
class Scenario:
    """A validated scenario: model parameters and actor tables with every field filled."""

    name: str
    description: str
    seed: int
    params: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    source: str = "<dict>"

    def firm_count(self) -> int:
        """Firms the scenario creates, archetype members counted one by one."""
        return sum(row["count"] for s in FIRM_SECTIONS for row in self.tables.get(s, []))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": {"name": self.name, "description": self.description, "seed": self.seed},
            "params": dict(self.params),
            **{k: [dict(r) for r in v] for k, v in self.tables.items()},
        }


def builtin_dir() -> Path:
    return Path(str(resources.files("market") / "scenarios"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def builtin_summaries() -> list[tuple[str, str]]:
    out = []
    for name in builtin_names():
        sc = load_scenario(name)
        out.append((name, sc.description))
    return out


def load_scenario(
    scenario: str | Path | dict | Scenario = "baseline",
    overrides: dict[str, Any] | None = None,
    interventions: Sequence[dict[str, Any] | str] = (),
) -> Scenario:
    """Load a scenario by built-in name, file path or dict, apply parameter overrides,
    add ``interventions`` (rows of [[intervention]], or ``"NAME@YYYY-MM"`` texts for a
    forced exit) and validate everything. Raises ScenarioError with a message naming the
    file, the field, the value and what is allowed."""
    folder = Path.cwd()  # where a base file may be (a dict's: the working folder and below)
    if isinstance(scenario, Scenario) and not overrides and not interventions:
        # validated when it was made; a market built of many copies of a scenario
        # (market.run.scale) has totals that may pass the ranges declared for files
        return replace(
            scenario,
            params=dict(scenario.params),
            tables={k: [dict(r) for r in v] for k, v in scenario.tables.items()},
        )
    if isinstance(scenario, Scenario):
        data, source = scenario.as_dict(), scenario.source
    elif isinstance(scenario, dict):
        data, source = copy.deepcopy(scenario), "<dict>"
    else:
        data, source, folder = _read(scenario)
    data = _with_base(data, source, folder, [source])
    rows = data.get("intervention", [])
    rows = [rows] if isinstance(rows, dict) else rows
    if interventions and isinstance(rows, list):  # any other table is refused below
        data = {**data, "intervention": [*rows, *_interventions(interventions)]}
    try:
        return _validate(data, source, overrides or {})
    except ParameterError as exc:
        raise ScenarioError(str(exc)) from None


def parse_force_exit(text: Any, where: str = "--force-exit") -> dict[str, str]:
    """``"NAME@YYYY-MM"`` as an [[intervention]] row forcing NAME's exit in that month;
    ScenarioError if it is not written so (the names and month are checked with the
    scenario)."""
    if not isinstance(text, str) or "@" not in text:
        raise ScenarioError(f"{where}: {show(text)} is not allowed; allowed: {FORCE_EXIT_ALLOWED}")
    firm, month = text.rsplit("@", 1)
    if not firm.strip():
        raise ScenarioError(refusal(where, "firm", firm, "the name of a firm before '@'"))
    check_month(month.strip(), where, "month")
    return {"firm": firm.strip(), "month": month.strip(), "action": "force_exit"}


def _interventions(items: Sequence[dict[str, Any] | str]) -> list:
    if isinstance(items, (str, dict)):
        items = [items]
    return [parse_force_exit(i, "interventions") if isinstance(i, str) else i for i in items]


def _read(scenario: str | Path) -> tuple[dict, str, Path]:
    """The raw table of a scenario named by built-in name or file path, its source
    and its folder."""
    text = str(scenario)
    path = Path(text)
    if text.endswith(".toml") or path.exists():
        if path.is_dir():
            raise ScenarioError(
                f"scenario {show(text)} is a folder: expected a built-in name or "
                "the path of a .toml file"
            )
        if not path.is_file():
            raise ScenarioError(f"scenario file {show(text)} does not exist")
        return _parse(path, text)
    if text in builtin_names():
        return _parse(builtin_dir() / f"{text}.toml", f"{text} (built in)")
    raise ScenarioError(
        f"unknown scenario {show(text)}{suggest(text, builtin_names())}: expected one of "
        + ", ".join(builtin_names())
        + " or the path of a .toml file"
    )


def _parse(path: Path, source: str) -> tuple[dict, str, Path]:
    """Read and parse one file of at most FILE_MAX_BYTES."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the file: {exc.strerror}") from None
    if len(raw) > FILE_MAX_BYTES:
        raise ScenarioError(
            f"{source}: the file is larger than {FILE_MAX_BYTES:,} bytes, the most a "
            "scenario file may have"
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # an overlong integer, deep nesting
        reason = "an integer of too many digits" if isinstance(exc, ValueError) else "nesting"
        raise ScenarioError(f"{source}: not valid TOML: {reason}") from None
    return data, source, path.resolve().parent


def _read_base(base: Any, folder: Path, source: str) -> tuple[dict, str, Path]:
    """The scenario a ``base`` names: a built-in name, or a .toml file in ``folder``
    (the folder of the scenario that names it) or below. Nothing outside that folder
    is opened, so a refusal says nothing about files elsewhere."""
    allowed = (
        "a built-in scenario name ("
        + ", ".join(builtin_names())
        + f") or the relative path of a .toml file in the scenario's folder '{folder}' "
        "or below"
    )
    where = f"{source}: [scenario]"
    if not isinstance(base, str) or not base:
        raise ScenarioError(refusal(where, "base", base, allowed))
    if base in builtin_names() and not base.endswith(".toml"):
        return _parse(builtin_dir() / f"{base}.toml", f"{base} (built in)")
    if not base.endswith(".toml") or "\0" in base:
        raise ScenarioError(refusal(where, "base", base, allowed) + suggest(base, builtin_names()))
    path = (folder / base).resolve()
    if Path(base).is_absolute() or not path.is_relative_to(folder.resolve()):
        raise ScenarioError(refusal(where, "base", base, allowed))
    if not path.is_file():
        raise ScenarioError(refusal(where, "base", base, allowed + "; there is no such file"))
    return _parse(path, str(folder / base))


def _with_base(data: dict, source: str, folder: Path, chain: list[str]) -> dict:
    """A scenario that names a ``base`` in its [scenario] table starts from that
    scenario: its own [params] are laid over the base's, and each actor table it
    declares (e.g. [[lab]]) replaces the base's table of that kind whole."""
    head = data.get("scenario")
    if not isinstance(head, dict):
        return data
    head = dict(head)
    base = head.pop("base", None)
    if base is None:
        return data
    parent, parent_source, parent_folder = _read_base(base, folder, source)
    names = [_identity(c) for c in chain]
    if _identity(parent_source) in names:
        cycle = " -> ".join([*chain, parent_source])
        raise _refuse(
            f"{source}: [scenario]",
            "base",
            base,
            f"a scenario that does not lead back "
            f"here; the scenarios name each other as base ({cycle})",
        )
    if len(chain) >= BASE_MAX_DEPTH:
        raise _refuse(
            f"{source}: [scenario]",
            "base",
            base,
            f"a shorter chain: a chain of "
            f"bases may hold at most {BASE_MAX_DEPTH} scenarios ({chain[0]} -> ... -> "
            f"{parent_source})",
        )
    parent = _with_base(parent, parent_source, parent_folder, [*chain, parent_source])
    merged = {key: value for key, value in parent.items() if key != "scenario"}
    for key, value in data.items():
        if key == "params" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key != "scenario":
            merged[key] = value
    parent_head: dict = p_head if isinstance(p_head := parent.get("scenario"), dict) else {}
    merged["scenario"] = {**{k: v for k, v in parent_head.items() if k in ("seed",)}, **head}
    return merged


def _identity(source: str) -> str:
    """What makes two sources the same scenario: a built-in's name, a file's real path."""
    if source.endswith(" (built in)"):
        return str((builtin_dir() / f"{source.removesuffix(' (built in)')}.toml").resolve())
    return str(Path(source).resolve()) if source != "<dict>" else source


def _validate(data: dict, source: str, overrides: dict) -> Scenario:
    allowed_top = {"scenario", "params", *SECTIONS}
    for key in data:
        if key not in allowed_top:
            raise ScenarioError(
                f"{source}: unknown table {show(key)}{suggest(key, allowed_top)}; allowed: "
                + ", ".join(sorted(allowed_top))
            )
    name, description, seed = _header(data.get("scenario", {}), source)
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise ScenarioError(f"{source}: 'params' must be a table")
    params = resolve(raw_params, f"{source}: [params]")
    params = resolve({**params, **overrides}, "override" if overrides else source)
    tables = {section: _table(data, section, source) for section in SECTIONS}
    _cross_check(tables, source, params)
    return Scenario(
        name=name, description=description, seed=seed, params=params, tables=tables, source=source
    )


def _header(head: Any, source: str) -> tuple[str, str, int]:
    """The [scenario] table: a safe name (default: the file's name, made safe), a
    description and a seed."""
    if not isinstance(head, dict):
        raise ScenarioError(f"{source}: 'scenario' must be a table")
    where = f"{source}: [scenario]"
    for key in head:
        if key not in HEADER_FIELDS:
            raise ScenarioError(
                f"{where}: unknown field {show(key)}{suggest(key, HEADER_FIELDS)}; allowed: "
                + ", ".join(sorted(HEADER_FIELDS))
            )
    seed = check_seed(head.get("seed", 0), where)
    if "name" in head:
        name = head["name"]
        if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
            raise ScenarioError(refusal(where, "name", name, SAFE_NAME_ALLOWED))
    else:
        name = safe_name(Path(source.removesuffix(" (built in)")).stem)
    description = head.get("description", "")
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_CHARS:
        allowed = f"a text value of at most {DESCRIPTION_MAX_CHARS} characters"
        raise ScenarioError(refusal(where, "description", description, allowed))
    return name, description, seed


def safe_name(text: str) -> str:
    """``text`` made a safe file name: runs of other characters become '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:64]
    return name or "scenario"


def _table(data: dict, section: str, source: str) -> list[dict[str, Any]]:
    """The rows of one actor table, each field checked and every missing one filled."""
    fields = SECTIONS[section]
    rows = data.get(section, [])
    if isinstance(rows, dict):
        rows = [rows]
    if not isinstance(rows, list):
        raise ScenarioError(f"{source}: '{section}' must be an array of tables [[{section}]]")
    decl = {f.name: f for f in fields}
    checked = []
    for i, row in enumerate(rows, start=1):
        where = f"{source}: [[{section}]] #{i}"
        if not isinstance(row, dict):
            raise ScenarioError(f"{where}: must be a table")
        for key in row:
            if key not in decl:
                raise ScenarioError(
                    f"{where}: unknown field {show(key)}{suggest(key, decl)}; allowed: "
                    + ", ".join(decl)
                )
        out = {}
        for f in fields:
            if f.name in row:
                out[f.name] = f.check(row[f.name], where)
            elif f.required:
                raise ScenarioError(f"{where}: required field '{f.name}' is missing ({f.help})")
            else:
                out[f.name] = copy.copy(f.default)
        checked.append(out)
    return checked


FIRM_SECTIONS = ("chip_supplier", "hyperscaler", "neocloud", "lab")


@dataclass
class _Names:
    """The names a scenario's tables may refer to."""

    regions: list[str]
    members: dict[str, list[str]]  # each archetype's firms (itself when count = 1)
    section_of: dict[str, str]  # firm (member) name -> its section

    def firms(self, *sections: str) -> set[str]:
        return {n for n, sec in self.section_of.items() if sec in sections}


def _cross_check(tables: dict, source: str, params: dict) -> None:
    """Checks across rows and tables: unique names, references that exist, the roles a
    market needs, sizes a machine can run, and an opening contract book that is possible."""
    names = _names(tables, source)
    for section, what in (
        ("region", "[[region]]"),
        ("chip_supplier", "[[chip_supplier]] (a chip maker)"),
        ("lab", "[[lab]]"),
    ):
        if not tables[section]:
            raise ScenarioError(f"{source}: at least one {what} is required")
    if not tables["hyperscaler"] and not tables["neocloud"]:
        raise ScenarioError(
            f"{source}: at least one provider ([[hyperscaler]] or [[neocloud]]) is required"
        )
    _check_references(tables, source, names)
    _check_brokers(tables, source, names)
    _check_interventions(tables, source, names, params)
    _check_contracts(tables, source, params, _sites(tables, source, names, params))


def _names(tables: dict, source: str) -> _Names:
    regions = [r["name"] for r in tables["region"]]
    for i, row in enumerate(tables["region"], start=1):
        if not row["name"].strip() or regions.index(row["name"]) < i - 1:
            used = "is empty" if not row["name"].strip() else "is used twice"
            raise ScenarioError(
                f"{source}: [[region]] #{i}: field 'name' = {show(row['name'])} {used}; "
                "each region needs its own name"
            )
    members: dict[str, list[str]] = {}
    section_of: dict[str, str] = {}
    total = 0
    for section in FIRM_SECTIONS:
        for i, row in enumerate(tables[section], start=1):
            n, base = row["count"], row["name"]
            where = f"{source}: [[{section}]] #{i}: field 'name' = {show(base)}"
            if not base.strip():
                raise ScenarioError(f"{where} is empty; each firm needs a name")
            if base in members:
                raise ScenarioError(f"{where} is used twice; each firm needs its own name")
            members[base] = [base] if n == 1 else [f"{base} {k + 1}" for k in range(n)]
            for member in members[base]:
                if member in section_of or (member != base and member in members):
                    raise ScenarioError(
                        f"{where}: the name {show(member)} of one of its {n} firms is used twice"
                    )
                section_of[member] = section
            total += n
            if total > FIRMS_MAX:
                raise _refuse(
                    f"{source}: [[{section}]] #{i}",
                    "count",
                    n,
                    f"a smaller count: a "
                    f"scenario may have at most {FIRMS_MAX:,} firms (counts added up)",
                )
    return _Names(regions, members, section_of)


def _refuse(where: str, field: str, value: Any, allowed: str, names=()) -> ScenarioError:
    return ScenarioError(refusal(where, field, value, allowed) + suggest(value, names))


def _listing(names) -> str:
    names = sorted(names)
    shown = ", ".join(show(n, 40) for n in names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def _check_references(tables: dict, source: str, names: _Names) -> None:
    """Every name a row gives refers to a firm or region of the scenario."""
    providers = names.firms("hyperscaler", "neocloud", "lab")
    archetypes = {a for a, m in names.members.items() if names.section_of[m[0]] != "chip_supplier"}
    owners = providers | archetypes
    for section in ("hyperscaler", "neocloud", "lab", "facility"):
        for i, row in enumerate(tables[section], start=1):
            if row["region"] and row["region"] not in names.regions:
                raise _refuse(
                    f"{source}: [[{section}]] #{i}",
                    "region",
                    row["region"],
                    "a region of this scenario: " + _listing(names.regions),
                    names.regions,
                )
    firm_kind = "a hyperscaler, neocloud or lab of this scenario"
    for i, row in enumerate(tables["facility"], start=1):
        if row["owner"] not in owners:
            raise _refuse(f"{source}: [[facility]] #{i}", "owner", row["owner"], firm_kind, owners)
    for i, row in enumerate(tables["contract"], start=1):
        for key in ("buyer", "seller"):
            if row[key] not in providers:
                raise _refuse(f"{source}: [[contract]] #{i}", key, row[key], firm_kind, providers)
    for i, row in enumerate(tables["chip_supplier"], start=1):
        where = f"{source}: [[chip_supplier]] #{i}"
        if row["captive_parent"] and row["captive_parent"] not in providers:
            raise _refuse(where, "captive_parent", row["captive_parent"], firm_kind, providers)
        for partner in row["partners"]:
            if partner not in providers:
                raise _refuse(where, "partners", partner, firm_kind, providers)


@dataclass(eq=False)
class _Site:
    name: str
    power_mw: float
    online_month: int  # months from the start; 0 or less: online at the start
    capacity_h100e: float  # at the declared size (archetype members vary around it)


def _sites(tables: dict, source: str, names: _Names, params: dict) -> dict[str, list[_Site]]:
    """Each firm's opening sites, named, ordered and sized as the model builds them."""
    sites: dict[str, list[_Site]] = {}
    total = 0
    density = params["h100e_per_mw_initial"]
    for i, row in enumerate(tables["facility"], start=1):
        owners = names.members.get(row["owner"], [row["owner"]])
        for owner in owners:
            base = row["name"] or f"{owner} site"
            most = row["power_mw"] * density
            cap = most if row["capacity_h100e"] < 0 else min(row["capacity_h100e"], most)
            cap = most if row["online_month"] > 0 else cap  # chips arrive as it is built
            for k in range(row["count"]):
                name = base if row["count"] == 1 else f"{base} {k + 1}"
                site = _Site(name, row["power_mw"], row["online_month"], cap)
                sites.setdefault(owner, []).append(site)
        total += row["count"] * len(owners)
        if total > SITES_MAX:
            raise _refuse(
                f"{source}: [[facility]] #{i}",
                "count",
                row["count"],
                f"a smaller "
                f"count: a scenario may have at most {SITES_MAX:,} opening sites "
                "(counts times the owner's firms, added up)",
            )
    return sites


def _month_index(label: str) -> int:
    return int(label[:4]) * 12 + int(label[5:]) - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _contract_site(row: dict, where: str, params: dict, sites: dict) -> _Site:
    """Check a contract's parties and term, and return the site it is on: the named
    one, or the seller's largest (the model's choice: most power, first declared)."""
    if row["buyer"] == row["seller"]:
        raise _refuse(where, "seller", row["seller"], "a firm other than the buyer")
    check_month(row["start_month"], where)
    end = _month_index(row["start_month"]) + row["term_months"]
    if end <= _month_index(params["start_month"]):
        raise _refuse(
            where,
            "start_month",
            row["start_month"],
            f"a start from which the contract ({row['term_months']} months) still runs "
            f"when the scenario starts in {params['start_month']}; it would end in "
            f"{_month_label(end)}",
        )
    own = sites.get(row["seller"], [])
    named = [(s.power_mw, -k, s) for k, s in enumerate(own) if s.name == row["facility"]]
    if not row["facility"]:
        named = [(s.power_mw, -k, s) for k, s in enumerate(own)]
    if not named:
        if not row["facility"]:
            raise _refuse(where, "seller", row["seller"], "a firm with a [[facility]]")
        allowed = f"a site of {row['seller']}: " + (_listing(s.name for s in own) or "none")
        raise _refuse(where, "facility", row["facility"], allowed, [s.name for s in own])
    return max(named, key=lambda t: t[:2])[2]


def _check_contracts(tables: dict, source: str, params: dict, sites: dict) -> None:
    """Each opening contract is possible, and fits its site's capacity at its start
    together with the other contracts running on the site then."""
    first = _month_index(params["start_month"])
    book = []
    for i, row in enumerate(tables["contract"], start=1):
        where = f"{source}: [[contract]] #{i}"
        site = _contract_site(row, where, params, sites)
        start = _month_index(row["start_month"]) - first
        book.append((where, row, site, start, start + row["term_months"]))
    on_site: dict[int, list[int]] = {}  # the contracts on each site, in book order
    for i, entry in enumerate(book):
        on_site.setdefault(id(entry[2]), []).append(i)
    for where, row, site, start, _ in book:
        if row["facility"]:
            _check_fits(where, row, [site], [book[i] for i in on_site[id(site)]], start, first)
        else:  # the model books it on one site; the seller's fleet must hold it
            own = sites[row["seller"]]
            at = sorted(i for key in {id(s) for s in own} for i in on_site.get(key, ()))
            _check_fits(where, row, own, [book[i] for i in at], start, first)


def _check_fits(where: str, row: dict, fleet: list, book: list, start: int, first: int) -> None:
    """The contracts in ``book`` running at ``start`` fit the capacity of ``fleet`` then:
    what a site online at the start has installed, or what a site under construction
    holds once it is online (its power's worth of chips)."""
    online = [s for s in fleet if s.online_month <= max(start, 0)]
    if not online:
        raise _refuse(
            where,
            "start_month",
            row["start_month"],
            f"a month when site {show(fleet[0].name)} is online (from "
            f"{_month_label(first + min(s.online_month for s in fleet))})",
        )
    room = sum(s.capacity_h100e for s in online)  # allowed: ROUNDING over it
    used = sum(r["capacity_h100e"] for _, r, _, a, b in book if a <= start < b)
    if used > room * (1 + ROUNDING):
        rest = used - row["capacity_h100e"]
        what = f"site {show(fleet[0].name)}" if len(fleet) == 1 else f"{row['seller']}'s sites"
        raise _refuse(
            where,
            "capacity_h100e",
            row["capacity_h100e"],
            f"at most {max(room * (1 + ROUNDING) - rest, 0.0):,.0f} H100e: {what} online in "
            f"{row['start_month']} hold {room:,.0f} H100e"
            + (f", of which {rest:,.0f} are under other contracts then" if rest else ""),
        )


def _check_brokers(tables: dict, source: str, names: _Names) -> None:
    """Each broker has a name of its own, shared with no firm and no other broker."""
    seen: set[str] = set()
    for i, row in enumerate(tables["broker"], start=1):
        name = row["name"]
        problem = None
        if not name.strip():
            problem = "is empty"
        elif name in seen or name in names.section_of or name in names.members:
            problem = "is used twice"
        if problem:
            raise ScenarioError(
                f"{source}: [[broker]] #{i}: field 'name' = {show(name)} {problem}; "
                "each broker needs its own name"
            )
        seen.add(name)
        _check_broker_row(row, f"{source}: [[broker]] {show(name)}")


def _check_broker_row(row: dict, where: str) -> None:
    """A dealer holds something; an exchange holds nothing; a margin is a share or -1."""
    dealer = row["model"] == "dealer"
    if dealer and row["holding_h100e"] <= 0:
        raise _refuse(where, "holding_h100e", row["holding_h100e"], "more than 0 for a dealer")
    if not dealer and row["holding_h100e"] != 0:
        raise _refuse(
            where, "holding_h100e", row["holding_h100e"], "0 for an exchange (it holds nothing)"
        )
    if row["margin"] != -1 and not 0 <= row["margin"] <= 1:
        raise _refuse(where, "margin", row["margin"], "a share from 0 to 1, or -1 (the default)")


def _check_interventions(tables: dict, source: str, names: _Names, params: dict) -> None:
    """Each intervention names a firm of the scenario and a month of the run."""
    firms = names.firms("hyperscaler", "neocloud", "lab")
    first = _month_index(params["start_month"])
    last = first + max(1, round(params["years"] * 12)) - 1
    within = (
        f"a month of the run, from {params['start_month']} to {_month_label(last)}, written YYYY-MM"
    )
    for i, row in enumerate(tables["intervention"], start=1):
        where = f"{source}: [[intervention]] #{i}"
        if row["firm"] not in firms:
            allowed = "a hyperscaler, neocloud or lab of this scenario: " + _listing(firms)
            raise _refuse(where, "firm", row["firm"], allowed, firms)
        month = row["month"]
        if not isinstance(month, str) or not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
            raise _refuse(where, "month", month, within)
        if not first <= _month_index(month) <= last:
            raise _refuse(where, "month", month, within)
