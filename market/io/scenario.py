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
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from market.io.params import Param, ParameterError, _suggest, resolve


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message says where and why."""


def _f(name, default, unit, help, min=None, max=None, choices=None, required=False, integer=False):
    return Param(
        name, default, unit, help, "scenario", min, max, choices, required=required, integer=integer
    )


_COUNT = _f(
    "count",
    1,
    "firms",
    "How many firms this archetype stands for (names get 1, 2, ...).",
    1,
    100_000,
)
_NAME = _f("name", "", "-", "Display name (unique).", required=True)
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
        _f("take_or_pay_share", 0.8, "share", "Share owed for idle capacity.", 0.0, 1.0),
        _f("cancellation_notice_months", 0, "months", "0: not cancellable.", 0, 240, integer=True),
        _f("exclusive", False, "-", "Whole-site exclusive lease."),
        _f(
            "purpose",
            "inference",
            "-",
            "What the buyer uses it for.",
            choices=("inference", "training"),
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
    scenario: str | Path | dict | Scenario = "baseline", overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a scenario by built-in name, file path or dict, apply parameter overrides
    and validate everything. Raises ScenarioError with a message naming the file,
    the field, the value and what is allowed."""
    folder = None  # where a relative base is looked up first (a dict's: the working folder)
    if isinstance(scenario, Scenario):
        data, source = scenario.as_dict(), scenario.source
    elif isinstance(scenario, dict):
        data, source = copy.deepcopy(scenario), "<dict>"
    else:
        data, source, folder = _read(scenario)
    data = _with_base(data, source, folder, [source])
    try:
        return _validate(data, source, overrides or {})
    except ParameterError as exc:
        raise ScenarioError(str(exc)) from None


def _read(scenario: str | Path, folder: Path | None = None) -> tuple[dict, str, Path]:
    """The raw table of a scenario named by built-in name or file path (a relative path
    is looked up in ``folder`` first, when given), its source and its folder."""
    text = str(scenario)
    path = Path(text)
    if folder is not None and not path.is_absolute() and (folder / path).exists():
        path = folder / path
    if text.endswith(".toml") or path.exists():
        if path.is_dir():
            raise ScenarioError(
                f"scenario '{text}' is a folder: expected a built-in name or "
                "the path of a .toml file"
            )
        if not path.is_file():
            raise ScenarioError(f"scenario file '{text}' does not exist")
        source = str(path)
    elif text in builtin_names():
        path = builtin_dir() / f"{text}.toml"
        source = f"{text} (built in)"
    else:
        raise ScenarioError(
            f"unknown scenario '{text}'{_suggest(text, builtin_names())}: expected one of "
            + ", ".join(builtin_names())
            + " or the path of a .toml file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{source}: cannot read the file: {exc}") from None
    return data, source, path.resolve().parent


def _with_base(data: dict, source: str, folder: Path | None, chain: list[str]) -> dict:
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
    if not isinstance(base, str) or not base:
        raise ScenarioError(
            f"{source}: [scenario]: field 'base' = {base!r} is not allowed: "
            "expected a built-in scenario name or the path of a .toml file"
        )
    try:
        parent, parent_source, parent_folder = _read(base, folder)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: [scenario]: field 'base' = {base!r}: {exc}") from None
    if Path(parent_source).resolve() in [Path(c).resolve() for c in chain]:
        raise ScenarioError(
            f"{source}: [scenario]: field 'base' = {base!r} is not allowed: "
            "the scenarios name each other as base (" + " -> ".join([*chain, parent_source]) + ")"
        )
    parent = _with_base(parent, parent_source, parent_folder, [*chain, parent_source])
    merged = {key: value for key, value in parent.items() if key != "scenario"}
    for key, value in data.items():
        if key == "params" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif key != "scenario":
            merged[key] = value
    merged["scenario"] = {
        **{k: v for k, v in parent.get("scenario", {}).items() if k in ("seed",)},
        **head,
    }
    return merged


def _validate(data: dict, source: str, overrides: dict) -> Scenario:
    allowed_top = {"scenario", "params", *SECTIONS}
    for key in data:
        if key not in allowed_top:
            raise ScenarioError(
                f"{source}: unknown table '{key}'{_suggest(key, allowed_top)}; allowed: "
                + ", ".join(sorted(allowed_top))
            )
    head = data.get("scenario", {})
    if not isinstance(head, dict):
        raise ScenarioError(f"{source}: 'scenario' must be a table")
    for key in head:
        if key not in HEADER_FIELDS:
            raise ScenarioError(
                f"{source}: [scenario]: unknown field '{key}'; allowed: "
                + ", ".join(sorted(HEADER_FIELDS))
            )
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(
            f"{source}: [scenario]: field 'seed' = {seed!r} is not allowed: expected an integer >= 0"
        )
    name = head.get("name", Path(source.split(" ")[0]).stem)
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise ScenarioError(f"{source}: 'params' must be a table")
    params = resolve(raw_params, f"{source}: [params]")
    params = resolve({**params, **overrides}, "override" if overrides else source)

    tables: dict[str, list[dict[str, Any]]] = {}
    for section, fields in SECTIONS.items():
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
                        f"{where}: unknown field '{key}'{_suggest(key, decl)}; allowed: "
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
        tables[section] = checked
    _cross_check(tables, source)
    return Scenario(
        name=name,
        description=head.get("description", ""),
        seed=seed,
        params=params,
        tables=tables,
        source=source,
    )


def _cross_check(tables: dict, source: str) -> None:
    firms: set[str] = set()
    members: dict[str, str] = {}  # names of firms generated from an archetype (count > 1)
    for section in ("chip_supplier", "hyperscaler", "neocloud", "lab"):
        for row in tables[section]:
            if row["name"] in firms:
                raise ScenarioError(f"{source}: [[{section}]]: name '{row['name']}' is used twice")
            firms.add(row["name"])
            if row["count"] > 1:
                members.update({f"{row['name']} {i + 1}": section for i in range(row["count"])})
    if not tables["region"]:
        raise ScenarioError(f"{source}: at least one [[region]] is required")
    regions = {r["name"] for r in tables["region"]}
    suppliers = {r["name"] for r in tables["chip_supplier"]}
    archetypes = firms - suppliers
    singles = {
        r["name"]
        for sec in ("hyperscaler", "neocloud", "lab")
        for r in tables[sec]
        if r["count"] == 1
    }
    member_firms = {m for m, sec in members.items() if sec != "chip_supplier"}
    allowed = {"facility": archetypes | member_firms, "contract": singles | member_firms}
    for section, keys in (("facility", ("owner",)), ("contract", ("buyer", "seller"))):
        for i, row in enumerate(tables[section], start=1):
            for key in keys:
                if row[key] not in allowed[section]:
                    raise ScenarioError(
                        f"{source}: [[{section}]] #{i}: field '{key}' = {row[key]!r} is not a "
                        f"hyperscaler, neocloud or lab of this scenario"
                        f"{_suggest(row[key], allowed[section])}"
                    )
    for section in ("hyperscaler", "neocloud", "lab", "facility"):
        for i, row in enumerate(tables[section], start=1):
            if row["region"] and row["region"] not in regions:
                raise ScenarioError(
                    f"{source}: [[{section}]] #{i}: field 'region' = {row['region']!r} is not a "
                    f"region of this scenario; allowed: {', '.join(sorted(regions))}"
                )
    for i, row in enumerate(tables["chip_supplier"], start=1):
        for key in ("captive_parent",):
            if row[key] and row[key] not in singles | member_firms:
                raise ScenarioError(
                    f"{source}: [[chip_supplier]] #{i}: field '{key}' = {row[key]!r} is not a "
                    "firm of this scenario"
                )
    for i, row in enumerate(tables["contract"], start=1):
        resolve({"start_month": row["start_month"]}, f"{source}: [[contract]] #{i}")
    if not tables["lab"]:
        raise ScenarioError(f"{source}: at least one [[lab]] is required")
