"""Every model parameter, declared once.

A declaration gives the name (with its unit), the default, the allowed range or
choices, a help line and the group it belongs to. From this one list come: the
model's defaults, the validation of scenario files and CLI overrides, the sliders
of the browser UI (``ui=True``) and the parameter table in ``docs/odd.md``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

TEXT_MAX_CHARS = 200  # longest text value a scenario or flag may give
SEED_MAX = 2**63 - 1  # TOML integers are 64-bit
# Sanity bound of money: no firm holds or owes more in a run whose parameters are within
# their declared ranges (about the world's yearly output; scripts/random_draws.py checks).
MONEY_SANITY_USD = 1e14
# Non-zero numbers are at least this large: smaller ones (down to subnormal floats) vanish
# when added to 1, e.g. in an annuity's discount factor, and mean nothing in any unit here.
NUMBER_MIN_SIZE = 1e-9
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_SEED = re.compile(r"[0-9]{1,19}")


class ParameterError(ValueError):
    """A value that a declaration does not allow. The message names the field,
    the value and what is allowed, so the CLI can print it as it is."""


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    unit: str
    help: str
    group: str
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    ui: bool = False
    integer: bool = False
    required: bool = False

    @property
    def kind(self) -> type:
        if self.choices is not None:
            return str
        if isinstance(self.default, bool):
            return bool
        if self.integer or isinstance(self.default, int):
            return int
        if isinstance(self.default, float):
            return float
        if isinstance(self.default, list):
            return list
        return str

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = self.kind
        if kind is bool:
            return "true or false"
        if kind in (int, float):
            word = "an integer" if kind is int else "a number"
            if self.min is not None and self.max is not None:
                return f"{word} from {_fmt(self.min)} to {_fmt(self.max)}"
            if self.min is not None:
                return f"{word} >= {_fmt(self.min)}"
            if self.max is not None:
                return f"{word} <= {_fmt(self.max)}"
            return word
        if kind is list:
            return "a list of names"
        return "a text value"

    def check(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to the declared type, or raise ParameterError."""
        unit = f" ({self.unit})" if self.unit and self.unit != "-" else ""
        bad = ParameterError(refusal(where, self.name, value, self.allowed() + unit))
        kind = self.kind
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise bad
        if kind in (int, float):
            value = _number(value)
            if value is None or (kind is int and float(value) != int(value)):
                raise bad
            value = int(value) if kind is int else float(value)
            if value != 0 and abs(value) < NUMBER_MIN_SIZE:
                raise ParameterError(
                    refusal(where, self.name, value, f"{self.allowed()}{unit}, and 0 or at least ")
                    + f"{NUMBER_MIN_SIZE:g} in size"
                )
            if self.min is not None and value < self.min:
                raise bad
            if self.max is not None and value > self.max:
                raise bad
            return value
        if kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad
            if any(len(v) > TEXT_MAX_CHARS for v in value):
                raise bad
            return list(value)
        if not isinstance(value, str) or len(value) > TEXT_MAX_CHARS:
            raise bad
        if self.choices is not None and value not in self.choices:
            raise bad
        return value


def _number(value: Any) -> int | float | None:
    """A finite number within float range from a number or ASCII text, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or len(text) > 40:
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    try:
        finite = math.isfinite(float(value))
    except OverflowError:  # an integer beyond float range
        return None
    return value if finite else None


def show(value: Any, limit: int = 200) -> str:
    """A value as an error message quotes it: its repr, shortened to ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an integer with more digits than Python prints
        text = "<an integer of more than 4000 digits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def refusal(where: str, field: str, value: Any, allowed: str) -> str:
    """The one wording of a refused value: where, the field, the value, what is allowed."""
    prefix = f"{where}: " if where else ""
    return f"{prefix}field '{field}' = {show(value)} is not allowed: expected {allowed}"


def suggest(key: Any, names) -> str:
    """' (did you mean 'x'?)' for the closest of ``names``, or ''."""
    if not isinstance(key, str) or len(key) > TEXT_MAX_CHARS:
        return ""
    close = difflib.get_close_matches(key, [str(n) for n in names], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


_suggest = suggest  # the name other modules import


def _fmt(x: float) -> str:
    return f"{x:g}"


def _p(*args, **kwargs) -> Param:
    return Param(*args, **kwargs)


# --------------------------------------------------------------------------------------
# Model-level parameters. Groups follow the stages of the month (see docs/odd.md).
# --------------------------------------------------------------------------------------
MODEL_PARAMS: tuple[Param, ...] = (
    # run
    _p("start_month", "2026-01", "YYYY-MM", "Calendar month of the first step.", "run"),
    _p("years", 10.0, "years", "Length of a run.", "run", 1 / 12, 50.0),
    # demand
    _p(
        "inference_demand_h100e_initial",
        8.0e6,
        "H100e",
        "Compute the AI services market would use in the first month if nobody were rationed "
        "(at most 1e8, about ten times the world's AI compute stock of 2026).",
        "demand",
        0.0,
        1e8,
    ),
    _p(
        "demand_growth_per_year",
        1.6,
        "x per year",
        "Expected growth factor of user demand (before the agentic shift) per year.",
        "demand",
        0.2,
        2.5,
        ui=True,
    ),
    _p(
        "demand_growth_halflife_years",
        4.0,
        "years",
        "Years after which the excess of yearly demand growth over 1 has halved (the market "
        "matures).",
        "demand",
        0.5,
        10.0,
    ),
    _p(
        "demand_volatility",
        0.15,
        "log sd per year",
        "Volatility of demand growth: standard deviation of the yearly log growth.",
        "demand",
        0.0,
        2.0,
    ),
    _p(
        "agentic_share_initial",
        0.10,
        "share",
        "Share of users running agentic (compute-heavy) workloads at the start.",
        "demand",
        0.0,
        1.0,
    ),
    _p(
        "agentic_share_growth_per_year",
        0.05,
        "share per year",
        "Yearly rise of the agentic share of users (capped at 1).",
        "demand",
        0.0,
        1.0,
    ),
    _p(
        "agentic_compute_multiplier",
        4.0,
        "x",
        "Compute per agentic user relative to a chat user.",
        "demand",
        1.0,
        10.0,
    ),
    _p(
        "revenue_usd_per_h100e_hour",
        3.0,
        "USD per H100e-hour",
        "What labs earn from users per H100e-hour of inference actually served.",
        "demand",
        0.5,
        6.0,
        ui=True,
    ),
    _p(
        "contest_intensity",
        1.5,
        "1 per decade of compute",
        "Logit contest: how strongly market share follows capability (0 = equal shares).",
        "demand",
        0.0,
        10.0,
        ui=True,
    ),
    _p(
        "share_inertia",
        0.92,
        "share per month",
        "Monthly inertia of market shares (1 = shares never move).",
        "demand",
        0.0,
        1.0,
    ),
    _p(
        "churn_per_rationed_share",
        0.5,
        "share",
        "Fraction of rationed users a lab loses to rivals the next month.",
        "demand",
        0.0,
        1.0,
    ),
    # training and the arms race
    _p(
        "race_ambition",
        2.0,
        "x",
        "A lab sizes its next frontier run at the strongest rival's last run times this "
        "(1 = match the leader, no escalation).",
        "training",
        0.5,
        10.0,
        ui=True,
    ),
    _p(
        "training_run_months",
        4,
        "months",
        "Duration of a frontier training run.",
        "training",
        1,
        24,
    ),
    _p(
        "training_run_max_months",
        0,
        "months",
        "Longest run a lab commits to: it trains as long as its run's goal needs, up to the "
        "longest run worth training (12 / ln of the yearly growth of what its training budget "
        "buys) and at most this (Epoch AI: frontier runs lengthen about 1.4x a year; runs "
        "longer than about 9 months are outclassed by later ones); 0 = every run lasts "
        "training_run_months.",
        "training",
        0,
        36,
    ),
    _p(
        "training_run_cap_h100e",
        0.0,
        "H100e",
        "Policy cap on the size of one training run (0 = no cap).",
        "training",
        0.0,
        1e10,
    ),
    _p(
        "training_budget_share_of_cash",
        0.4,
        "share",
        "At most this share of a lab's cash (plus a year of revenue) goes to one run.",
        "training",
        0.0,
        1.0,
    ),
    _p(
        "training_min_fill",
        0.5,
        "share",
        "A lab starts a run on a block this fraction of its plan or larger; otherwise it waits.",
        "training",
        0.05,
        1.0,
    ),
    _p(
        "training_min_gain",
        0.0,
        "x",
        "A lab also starts a run at once on a block smaller than training_min_fill of its "
        "plan when the run would beat the frontier it races against (its own best run and "
        "the strongest rival's last run) by this factor (0 = off: it waits for a block of "
        "training_min_fill of its plan).",
        "training",
        0.0,
        10.0,
    ),
    # contracting
    _p(
        "rfq_horizon_months",
        12,
        "months",
        "How far ahead labs compare secured with needed capacity.",
        "contracting",
        1,
        60,
    ),
    _p(
        "procurement_coverage",
        0.9,
        "share",
        "Share of forecast need a lab tries to lock up in contracts (the rest from spot).",
        "contracting",
        0.0,
        1.5,
    ),
    _p(
        "acquaintance_degree",
        4,
        "sellers",
        "Sellers each buyer knows at the start (network neighbours).",
        "contracting",
        0,
        50,
    ),
    _p(
        "discovered_sellers",
        3,
        "sellers",
        "Extra sellers, drawn at random, a buyer asks for quotes each time.",
        "contracting",
        0,
        50,
    ),
    _p(
        "preferred_term_months",
        0,
        "months",
        "Term every lab asks for in every request, renewal and circular deal (0: each lab "
        "chooses the term per request from the menu of standard terms).",
        "contracting",
        0,
        120,
        ui=True,
    ),
    _p(
        "base_margin",
        0.15,
        "share",
        "Seller margin over the cost floor in a slack market.",
        "contracting",
        0.0,
        2.0,
    ),
    _p(
        "scarcity_markup_slope",
        2.0,
        "x per unit tightness",
        "How fast asks rise with market tightness (the share of demand that found no capacity).",
        "contracting",
        0.0,
        20.0,
    ),
    _p(
        "max_scarcity_markup",
        6.0,
        "x",
        "Upper bound of the scarcity markup, on sellers' asks and on the token price "
        "labs charge users when they ration them.",
        "contracting",
        1.0,
        50.0,
    ),
    _p(
        "short_term_premium",
        0.4,
        "share",
        "Extra price for a term of one month, falling linearly to 0 at 36 months.",
        "contracting",
        0.0,
        5.0,
    ),
    _p(
        "cancellation_premium",
        0.10,
        "share",
        "Extra price for a contract the buyer may cancel on notice.",
        "contracting",
        0.0,
        2.0,
    ),
    _p(
        "cancellation_notice_months",
        3,
        "months",
        "Notice a buyer must give to cancel (0 = not cancellable).",
        "contracting",
        0,
        36,
    ),
    _p(
        "exclusivity_premium",
        0.10,
        "share",
        "Extra price for a whole-site exclusive lease.",
        "contracting",
        0.0,
        2.0,
    ),
    _p(
        "ramp_months",
        2,
        "months",
        "Months at a reduced rate at the start of a contract.",
        "contracting",
        0,
        12,
    ),
    _p(
        "ramp_discount",
        0.3,
        "share",
        "Price discount during the ramp months.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "take_or_pay_share",
        0.8,
        "share",
        "Share of a contract's payment owed even for capacity the buyer leaves idle.",
        "contracting",
        0.0,
        1.0,
        ui=True,
    ),
    _p(
        "seller_bargaining_base",
        0.5,
        "share",
        "Seller's share of the surplus in a balanced market.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "bargaining_tightness_slope",
        0.3,
        "share per unit tightness",
        "How much the seller's share of the surplus rises with tightness.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "outside_option_markup",
        1.5,
        "x",
        "Buyers pay up to this multiple of the spot price index for secured capacity.",
        "contracting",
        1.0,
        10.0,
    ),
    _p(
        "training_value_multiplier",
        1.5,
        "x",
        "How much more a lab will pay for contiguous training capacity than for inference.",
        "contracting",
        0.5,
        10.0,
    ),
    _p(
        "spot_ask_share_of_floor",
        0.5,
        "share",
        "Idle capacity is offered on the spot market at this share of its cost floor.",
        "contracting",
        0.0,
        5.0,
    ),
    _p(
        "lease_to_rival_labs",
        True,
        "-",
        "Whether a lab may lease its surplus capacity to another lab.",
        "contracting",
        ui=True,
    ),
    # supply
    _p(
        "chip_supply_multiplier",
        1.0,
        "x",
        "Scales every chip supplier's production (export controls, fab shocks).",
        "supply",
        0.0,
        4.0,
        ui=True,
    ),
    _p(
        "chip_allocation_policy",
        "lta_priority",
        "-",
        "How a supplier allocates scarce output among orders.",
        "supply",
        choices=("pro_rata", "lta_priority", "fifo"),
    ),
    _p(
        "chip_target_backlog_months",
        3.0,
        "months",
        "Backlog a supplier regards as normal; above it, it raises price and expands output.",
        "supply",
        0.1,
        24.0,
    ),
    _p(
        "chip_price_backlog_slope",
        0.25,
        "share per month of backlog",
        "List price rise per month of backlog beyond the target. At most 1: a steeper "
        "scarcity rent has no precedent (2023 H100 lead times near a year with street "
        "prices about twice list) and, once a supplier's output falls to its floor, "
        "prices chips at millions of dollars an H100e and takes buyers' cash past any "
        "sanity bound within ten years.",
        "supply",
        0.0,
        1.0,
    ),
    _p(
        "chip_expansion_lag_months",
        6,
        "months",
        "Delay between a supplier's decision to expand output and the new output.",
        "supply",
        0,
        48,
    ),
    _p(
        "chip_max_expansion_per_month",
        0.08,
        "share",
        "Largest monthly rise of a supplier's output.",
        "supply",
        0.0,
        1.0,
    ),
    _p(
        "h100e_per_mw_initial",
        700.0,
        "H100e per MW",
        "H100e that fit in one MW of IT load with the generation on sale at the start "
        "(an H100 draws about 1.4 kW all-in).",
        "supply",
        500.0,
        5000.0,
    ),
    _p(
        "chip_useful_life_months",
        60,
        "months",
        "Months before installed chips retire.",
        "supply",
        12,
        180,
    ),
    _p(
        "next_generation_month",
        24,
        "months from start",
        "Month the next chip generation ships; later ones follow every generation_interval_months.",
        "supply",
        0,
        240,
    ),
    _p(
        "generation_interval_months",
        24,
        "months",
        "Months between chip generations.",
        "supply",
        6,
        120,
    ),
    _p(
        "generation_density_gain",
        1.6,
        "x",
        "H100e per MW of each generation relative to the previous one.",
        "supply",
        1.0,
        5.0,
    ),
    _p(
        "generation_cost_gain",
        1.3,
        "x",
        "Fall in cost per H100e from one generation to the next (divisor).",
        "supply",
        1.0,
        5.0,
    ),
    # facilities and power
    _p(
        "facility_cost_usd_per_mw",
        12.0e6,
        "USD per MW",
        "Cost of building a datacenter shell, power and cooling per MW of IT load.",
        "facilities",
        0.0,
        5e7,
    ),
    _p(
        "facility_life_months",
        180,
        "months",
        "Depreciation life of a building.",
        "facilities",
        12,
        600,
    ),
    _p(
        "other_opex_usd_per_mw_month",
        100_000.0,
        "USD per MW-month",
        "Running cost of a facility besides energy (staff, maintenance, network).",
        "facilities",
        0.0,
        1e6,
    ),
    _p(
        "pue",
        1.2,
        "-",
        "Power usage effectiveness: facility power over IT power.",
        "facilities",
        1.0,
        3.0,
    ),
    _p(
        "grid_capacity_multiplier",
        1.0,
        "x",
        "Scales every region's grid connections per year (faster or slower permitting).",
        "facilities",
        0.0,
        5.0,
        ui=True,
    ),
    _p(
        "grid_growth_per_year",
        1.0,
        "x per year",
        "Yearly growth of every region's new grid connections (1 = the same MW every year; "
        "utilities and on-site power catching up).",
        "facilities",
        0.5,
        3.0,
    ),
    _p(
        "grid_min_wait_months",
        0,
        "months",
        "Minimum wait for a new grid connection, on top of any queue.",
        "facilities",
        0,
        120,
    ),
    _p(
        "build_months_hyperscaler",
        24,
        "months",
        "Build time of a hyperscaler campus.",
        "facilities",
        1,
        72,
    ),
    _p(
        "build_months_neocloud",
        8,
        "months",
        "Build or conversion time of a neocloud site.",
        "facilities",
        1,
        72,
    ),
    _p(
        "build_months_lab",
        14,
        "months",
        "Build time of a lab's own datacenter.",
        "facilities",
        1,
        72,
    ),
    _p(
        "max_site_share_of_fleet",
        1.0,
        "share",
        "A builder's largest new site is its declared size or this share of the power it "
        "already runs, whichever is larger.",
        "facilities",
        0.0,
        5.0,
    ),
    # finance
    _p("base_rate", 0.045, "per year", "Risk-free interest rate (SOFR).", "finance", 0.0, 0.5),
    _p(
        "hyperscaler_cash_flow_growth_per_year",
        1.0,
        "x per year",
        "Yearly growth of hyperscalers' outside cash flow, which funds their capex (1 = the "
        "scenario's figure every month; big-4 capex grew about 1.7x a year in 2024-26).",
        "finance",
        0.5,
        1.7,
    ),
    _p(
        "hyperscaler_spread",
        0.02,
        "per year",
        "Hyperscalers' borrowing spread.",
        "finance",
        0.0,
        0.5,
    ),
    _p(
        "lab_cost_of_capital",
        0.15,
        "per year",
        "Labs' cost of capital for own builds.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "neocloud_spread_investment_grade",
        0.03,
        "per year",
        "Neocloud debt spread when its buyers are investment grade.",
        "finance",
        0.0,
        0.5,
        ui=True,
    ),
    _p(
        "neocloud_spread_speculative",
        0.09,
        "per year",
        "Neocloud debt spread when its buyers are speculative grade.",
        "finance",
        0.0,
        0.5,
    ),
    _p(
        "debt_advance_rate",
        0.8,
        "share",
        "Share of contracted revenue lenders will lend against.",
        "finance",
        0.0,
        1.0,
    ),
    _p("debt_term_months", 60, "months", "Amortisation term of neocloud debt.", "finance", 6, 240),
    _p(
        "sentiment_initial",
        "normal",
        "-",
        "Investor sentiment in the first month.",
        "finance",
        choices=("boom", "normal", "winter"),
        ui=True,
    ),
    _p(
        "sentiment_persistence",
        0.95,
        "per month",
        "Probability that investor sentiment keeps its state from one month to the next.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "fundraise_runway_months",
        9.0,
        "months",
        "A lab tries to raise money when its cash covers fewer months of burn than this.",
        "finance",
        0.0,
        24.0,
    ),
    _p(
        "fundraise_months_of_burn",
        24.0,
        "months",
        "Size of a successful raise, in months of the lab's burn.",
        "finance",
        1.0,
        60.0,
    ),
    _p(
        "valuation_revenue_multiple",
        20.0,
        "x annual revenue",
        "Investors value a lab at this multiple of its annual revenue (normal sentiment); "
        "one raise sells at most a quarter of that value. At most 30 in normal times: the "
        "richest multiples on record for AI labs (40 to 60 times run-rate revenue in "
        "2025) came in a boom, which sentiment_multiplier_boom adds on top.",
        "finance",
        1.0,
        30.0,
    ),
    _p(
        "strategic_investment_share",
        0.3,
        "share",
        "Share of a raise a strategic investor may take in exchange for a compute commitment.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "archetype_jitter",
        0.2,
        "log sd",
        "Spread of size and cash among firms generated from one archetype (count > 1).",
        "run",
        0.0,
        2.0,
    ),
    # consolidation
    _p(
        "merger_review",
        "hhi",
        "-",
        "Merger review: 'off', or block deals that push segment HHI over the threshold by "
        "more than the delta.",
        "consolidation",
        choices=("off", "hhi"),
        ui=True,
    ),
    _p(
        "merger_hhi_threshold",
        1800.0,
        "HHI points",
        "Post-merger HHI above which a deal may be blocked (2023 US guidelines).",
        "consolidation",
        0.0,
        10000.0,
    ),
    _p(
        "merger_hhi_delta",
        100.0,
        "HHI points",
        "HHI rise above which a deal in a concentrated segment is blocked.",
        "consolidation",
        0.0,
        10000.0,
    ),
    _p(
        "acquisition_rate",
        0.05,
        "per month",
        "Monthly probability that the strongest firm of a type bids for a distressed rival.",
        "consolidation",
        0.0,
        1.0,
    ),
    _p(
        "distressed_asset_discount",
        0.5,
        "share",
        "Discount to replacement value at which distressed facilities sell.",
        "consolidation",
        0.0,
        1.0,
    ),
    # ==================================================================================
    # Behavioural rules once written as numbers in the code (agents, core, stages):
    # declared here so that they appear in the ODD's parameter table. Keep new ones
    # of this kind in this block.
    # ==================================================================================
    _p(
        "credit_premium_per_credit_gap",
        0.1,
        "share",
        "A seller's cost floor rises by this share times (1 - the buyer's credit "
        "rating): the premium for a buyer's credit risk.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "whole_site_offer_share",
        0.95,
        "share",
        "A lab offers a site it does not need as a whole-site lease when the capacity "
        "free there over the term is at least this share of the site's.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "min_request_share_of_need",
        0.02,
        "share",
        "A lab asks for an inference gap only when it is at least this share of its "
        "need (and at least 1 H100e).",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "max_whole_site_ratio",
        1.5,
        "x",
        "A lab declines a whole-site quote larger than this multiple of what the site would "
        "serve for it: the request plus the users it expects to turn away over the term.",
        "contracting",
        1.0,
        1000.0,
    ),
    _p(
        "renewal_min_share",
        0.99,
        "share",
        "A lab renews an expiring contract only on a quote from the same site for at "
        "least this share of the contract's capacity.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "rationing_value_multiplier",
        2.0,
        "-",
        "A lab values inference compute at revenue_usd_per_h100e_hour x (1 + this x "
        "last month's rationed share). At most 10: a rationed user is worth at most the "
        "revenue of the months it would stay (churn_per_rationed_share of them leave the "
        "next month, and users stay a year or two); at 100 a lab short of a tenth of its "
        "compute bids eleven times what an H100e-hour earns it, and the burn that sizes "
        "its rounds runs away with the bids.",
        "contracting",
        0.0,
        10.0,
    ),
    _p(
        "unquoted_memory",
        0.5,
        "share per month",
        "Share of the requests a seller could not serve that it still counts a month "
        "later (its signal to build).",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "training_patience_months",
        2,
        "months",
        "Training requests in a row that find no block before a lab asks for a block to "
        "be ready later, or starts on a partial block.",
        "training",
        0,
        120,
        integer=True,
    ),
    _p(
        "training_forward_start_share",
        0.75,
        "share",
        "A block asked for ahead starts this share of rfq_horizon_months after next month.",
        "training",
        0.0,
        1.0,
    ),
    _p(
        "training_max_wait_months",
        24,
        "months",
        "A block asked for ahead may start up to this many months after its asked start "
        "(time to build a site).",
        "training",
        0,
        240,
        integer=True,
    ),
    _p(
        "training_min_price_usd_per_h100e_hour",
        0.1,
        "USD per H100e-hour",
        "Lowest price per H100e-hour a lab assumes when it sizes the run it can afford.",
        "training",
        0.001,
        100.0,
    ),
    _p(
        "build_cooldown_months",
        3,
        "months",
        "A firm starts no new site while one it started fewer than this many months ago "
        "is still under construction.",
        "facilities",
        0,
        120,
        integer=True,
    ),
    _p(
        "min_build_share_of_site",
        0.1,
        "share",
        "A firm does not start a new site smaller than this share of the largest site "
        "it would start.",
        "facilities",
        0.0,
        1.0,
    ),
    _p(
        "build_reserve_months_of_burn",
        3.0,
        "months",
        "A firm starts a site only with cash for it on top of this many months of its burn.",
        "facilities",
        0.0,
        120.0,
    ),
    _p(
        "lab_build_min_gap_share",
        0.1,
        "share",
        "A lab with a building program builds when its gap is more than this share of "
        "the capacity it expects.",
        "facilities",
        0.0,
        10.0,
    ),
    _p(
        "chip_top_up_min_share",
        0.05,
        "share",
        "An owner fills spare power at a site with chips when the spare power is at "
        "least this share of the site's.",
        "facilities",
        0.0,
        1.0,
    ),
    _p(
        "chip_backlog_cost_per_month",
        0.1,
        "share per month",
        "A buyer counts each month of a supplier's backlog (in months of its output) as "
        "this share on its price when choosing a supplier. At most 0.5: a month's wait "
        "for chips costs a buyer about the rent they would have earned in it, under a "
        "tenth of their price at the default prices (3 USD an hour for 730 hours on about "
        "27,000 USD); at more, buyers pay many times the cheapest price to skip a queue.",
        "supply",
        0.0,
        0.5,
    ),
    _p(
        "captive_chip_price_factor",
        1.1,
        "x unit cost",
        "A captive chip program charges its parent and partners its unit cost times this. "
        "From 1 to 3: below 1 the program pays its parent to take chips (at 0 they are "
        "free), and at 3 it charges about what a merchant GPU costs over its making (the "
        "built-in merchants sell at 2.8 times unit cost), past which no parent would run "
        "its own program.",
        "supply",
        1.0,
        3.0,
    ),
    _p(
        "neocloud_equity_share",
        0.2,
        "share",
        "Share of a neocloud's build (chips included) paid from its own cash; lenders "
        "advance the rest, within debt_advance_rate of the contract.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "burn_smoothing",
        0.5,
        "share",
        "Weight of this month's net payments in a firm's smoothed burn (the rest is "
        "last month's burn).",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "fundraise_cooldown_months",
        3,
        "months",
        "A lab tries to raise money at most once in this many months.",
        "finance",
        0,
        120,
        integer=True,
    ),
    _p(
        "raise_max_share_of_valuation",
        0.25,
        "share",
        "A lab raises at most this share of its valuation in one round. At most half: a "
        "round selling more of the lab than its owners keep is a sale of control, not a "
        "raise (venture rounds sell 10-25%).",
        "finance",
        0.0,
        0.5,
    ),
    _p(
        "raise_min_burn_share_of_revenue",
        0.02,
        "share",
        "A round is sized on at least this share of the lab's monthly revenue as burn "
        "(revenue taken as at least raise_revenue_floor_usd_per_month).",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "raise_revenue_floor_usd_per_month",
        1e8,
        "USD per month",
        "Revenue assumed at least, when sizing a round on a share of revenue.",
        "finance",
        0.0,
        1e12,
    ),
    _p(
        "sentiment_multiplier_winter",
        0.35,
        "x",
        "Investors' mood in a winter: scales round sizes and valuations. At most 1 (above "
        "it a winter is a boom); software companies' revenue multiples fell to about a "
        "third of their 2021 peak in 2022.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "sentiment_multiplier_boom",
        1.6,
        "x",
        "Investors' mood in a boom: scales round sizes and valuations (normal: 1). From 1 "
        "to 3: below 1 a boom is a winter, and in the booms on record revenue multiples "
        "rose two to three times their norm (software companies' from about 7 to about "
        "20 in 2021); at 10 a lab with 10 billion USD of yearly revenue raises half a "
        "trillion in one round.",
        "finance",
        1.0,
        3.0,
    ),
    _p(
        "strategic_investor_cash_multiple",
        3.0,
        "x",
        "A hyperscaler invests strategically only if its cash is more than this "
        "multiple of the investment.",
        "finance",
        0.0,
        1000.0,
    ),
    _p(
        "circular_deal_value_markup",
        1.5,
        "x",
        "A lab pays up to this multiple of its value of inference compute in a circular deal.",
        "finance",
        0.0,
        100.0,
    ),
    _p(
        "circular_deal_min_price_usd_per_h100e_hour",
        0.5,
        "USD per H100e-hour",
        "Lowest spot price assumed when sizing a circular deal's commitment.",
        "finance",
        0.001,
        100.0,
    ),
    _p(
        "site_building_value_share",
        0.8,
        "share",
        "A site's building is valued at this share of its replacement cost (its chips "
        "at today's price, written down).",
        "consolidation",
        0.0,
        1.0,
    ),
    _p(
        "auction_bid_min_share",
        0.7,
        "share",
        "Bids at a distressed-asset auction are the discounted value times a uniform "
        "draw from this share ...",
        "consolidation",
        0.0,
        10.0,
    ),
    _p(
        "auction_bid_spread",
        0.6,
        "share",
        "... up to this much more (the draw is auction_bid_min_share + this x uniform).",
        "consolidation",
        0.0,
        10.0,
    ),
    _p(
        "auction_reserve_share",
        0.3,
        "share",
        "The auction's reserve price, as a share of the discounted value.",
        "consolidation",
        0.0,
        10.0,
    ),
    _p(
        "acquisition_cash_cover",
        1.5,
        "x",
        "An acquirer bids only if its free cash covers this multiple of the price ...",
        "consolidation",
        0.0,
        100.0,
    ),
    _p(
        "acquisition_cash_buffer_usd",
        1e8,
        "USD",
        "... plus this much.",
        "consolidation",
        0.0,
        1e12,
    ),
    _p(
        "distressed_runway_share",
        0.5,
        "share",
        "A rival is distressed when its runway is below this share of fundraise_runway_months.",
        "consolidation",
        0.0,
        10.0,
    ),
    _p(
        "spot_index_smoothing",
        0.5,
        "share",
        "Weight of this month's clearing price in the spot price index (the rest is "
        "last month's index).",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "opening_served_share",
        0.85,
        "share",
        "A lab without a stated opening revenue earns its share of demand served at this share.",
        "demand",
        0.0,
        1.0,
    ),
    _p(
        "frontier_growth_max_per_year",
        10.0,
        "x per year",
        "Labs extrapolate the frontier's growth over the last year, at most this factor a year.",
        "training",
        1.0,
        1000.0,
    ),
    _p(
        "raise_odds_intercept",
        -0.5,
        "log-odds",
        "Log-odds that a lab's round closes, for flat revenue, the last-ranked lab and a normal market.",
        "finance",
        -20.0,
        20.0,
    ),
    _p(
        "raise_odds_per_log_growth",
        1.2,
        "log-odds",
        "Added to the log-odds of a round per unit of ln(yearly revenue growth).",
        "finance",
        -20.0,
        20.0,
    ),
    _p(
        "raise_odds_per_rank",
        1.5,
        "log-odds",
        "Added to the log-odds of a round for the most capable lab (rank score 1; the last: 0).",
        "finance",
        -20.0,
        20.0,
    ),
    _p(
        "raise_odds_winter",
        -1.8,
        "log-odds",
        "Added to the log-odds of a round in a winter.",
        "finance",
        -20.0,
        20.0,
    ),
    _p(
        "raise_odds_boom",
        1.0,
        "log-odds",
        "Added to the log-odds of a round in a boom.",
        "finance",
        -20.0,
        20.0,
    ),
    _p(
        "chip_price_adjust_per_month",
        0.2,
        "share per month",
        "A supplier's list price moves this share of the way to its target price each month.",
        "supply",
        0.0,
        1.0,
    ),
    _p(
        "chip_output_adjust_share",
        0.25,
        "share",
        "A supplier moves its planned output this share of the way to the output that clears its backlog in chip_target_backlog_months.",
        "supply",
        0.0,
        1.0,
    ),
    _p(
        "chip_min_output_share_per_month",
        0.98,
        "share per month",
        "A supplier's planned output never falls below this share of today's. At least "
        "0.96: a chip maker cuts output by at most about 4% a month (the deepest cuts on "
        "record, memory makers' in 2023, took wafer starts down a quarter to a third over "
        "six to nine months). Faster cuts, kept up through years without orders, shrink a "
        "supplier to a few chips a month, and when orders return its backlog, counted in "
        "months of that output, prices chips at tens of millions of dollars an H100e "
        "(random draws with this share from 0.9 to 1: above 1e7 USD in 56 of 268 runs "
        "below 0.96, in 1 of 182 above).",
        "supply",
        0.96,
        1.0,
    ),
    _p(
        "tightness_max",
        10.0,
        "share",
        "Upper bound of market tightness (unmet demand as a share of demand).",
        "contracting",
        0.0,
        1000.0,
    ),
    _p(
        "full_term_months",
        36,
        "months",
        "Term from which a contract carries no short-term premium (the premium falls linearly from one month to this).",
        "contracting",
        2,
        600,
        integer=True,
    ),
    _p(
        "seller_power_min",
        0.05,
        "share",
        "Least share of the surplus a seller gets in a bargain.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "seller_power_max",
        0.95,
        "share",
        "Largest share of the surplus a seller gets in a bargain.",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "quote_delay_cost_per_month",
        0.03,
        "share per month",
        "A buyer counts a quote starting later than asked as dearer by this share per month of delay.",
        "contracting",
        0.0,
        1.0,
    ),
    # ==================================================================================
    # Brokers and the secondary market (resale of contracted capacity through
    # exchanges; docs/brokers.md). Keep the secondary market's parameters in this block.
    # ==================================================================================
    _p(
        "secondary_market",
        True,
        "-",
        "The secondary market runs: holders resell the unused part of their contracts "
        "through the scenario's exchanges (false: the counterfactual: no brokers at all).",
        "brokers",
    ),
    _p(
        "resale_block_months",
        1,
        "months",
        "Length of the blocks labs short of compute bid for on an exchange (and of "
        "the second block a holder offers); blocks start next month. One month, the "
        "model's step, is the shortest a marketplace's blocks of hours to months allow.",
        "brokers",
        1,
        36,
        integer=True,
    ),
    _p(
        "resale_offer_months",
        6,
        "months",
        "How far ahead a holder offers the unused part of a contract: first one block "
        "of this length, then a block of resale_block_months from what is left.",
        "brokers",
        1,
        36,
        integer=True,
    ),
    _p(
        "resale_min_block_h100e",
        1000.0,
        "H100e",
        "Smallest block worth posting on an exchange (asks and bids).",
        "brokers",
        0.0,
        1e6,
    ),
    _p(
        "resale_reserve_share",
        0.5,
        "share of parent price",
        "A holder's lowest resale price relative to what it pays under the parent "
        "contract (0: any price beats idling).",
        "brokers",
        0.0,
        2.0,
    ),
    _p(
        "exclusive_lease_resale_allowed",
        False,
        "-",
        "Exclusive whole-site leases may be resold too.",
        "brokers",
    ),
    _p(
        "broker_opex_usd_per_month",
        2e6,
        "USD per month",
        "A broker's running costs.",
        "brokers",
        0.0,
        1e9,
    ),
    _p(
        "broker_models",
        "both",
        "-",
        "Which broker models trade (with secondary_market on): both, the exchange only "
        "(dealers hold nothing), the dealer only (holders do not resell; labs buy only "
        "the dealers' blocks, fee-free), or none (as secondary_market = false).",
        "brokers",
        choices=("both", "exchange", "dealer", "none"),
    ),
    _p(
        "dealer_long_term_months",
        24,
        "months",
        "Term of the contracts a dealer buys to resell in shorter blocks.",
        "brokers",
        6,
        60,
        integer=True,
    ),
    _p(
        "dealer_margin",
        0.08,
        "share",
        "A dealer's margin over its break-even price (unless its [[broker]] row names one).",
        "brokers",
        0.0,
        1.0,
    ),
    _p(
        "dealer_risk_aversion",
        0.5,
        "-",
        "Weight of the coefficient of variation of a dealer's utilisation in its ask.",
        "brokers",
        0.0,
        5.0,
    ),
    _p(
        "reference_index",
        "vwap",
        "-",
        "The index dealers price from and forwards settle on: the exchange's trade "
        "VWAP or the survey of providers' list prices (the spot index until it has a value).",
        "brokers",
        choices=("vwap", "list_survey"),
    ),
    _p(
        "forwards",
        True,
        "-",
        "Cash-settled forwards on the reference index are traded on the exchange.",
        "brokers",
    ),
    _p(
        "forward_hedge_share",
        0.25,
        "share",
        "Share of a lab's forecast need (long) or a provider's uncontracted capacity "
        "(short) it hedges with a forward.",
        "brokers",
        0.0,
        1.0,
    ),
    _p(
        "forward_months",
        12,
        "months",
        "Term of a forward; a firm signs a new one when its last has run out.",
        "brokers",
        1,
        36,
        integer=True,
    ),
    _p(
        "forward_hedge_premium",
        0.03,
        "share",
        "What a hedger gives up to lock a price: longs bid this share above the expected "
        "index, shorts ask this share below it.",
        "brokers",
        0.0,
        0.5,
    ),
    _p(
        "forward_fee_bps",
        10.0,
        "bps of notional per side",
        "Exchange fee on a forward's strike notional over its term, from each side.",
        "brokers",
        0.0,
        1000.0,
    ),
    # ---- contracts that bind: spot cost, terms, cancellation (docs/contracts-and-money.md)
    _p(
        "variable_opex_share",
        1.0,
        "share",
        "Share of other running costs (staff, maintenance, network) that counts in the "
        "short-run marginal cost of an H100e-hour, below which no spot ask goes; energy "
        "always counts (C4: energy about $0.6B of $8.5B a GW-year).",
        "contracting",
        0.0,
        1.0,
    ),
    # ---- default has consequences: claims on an exiting firm's estate, loan covenants,
    # declared interventions (market/core/estate.py, market/core/covenants.py,
    # market/mechanisms/default_claims.py; docs/odd.md 7.10)
    _p(
        "claim_cap_months",
        12,
        "months",
        "A seller's claim on a defaulted buyer's estate covers at most this many months of "
        "payments or claim_cap_share of the rest of the term, whichever is more (the lease-"
        "rejection cap of 11 U.S.C. 502(b)(6): one year or 15 %, at most three years).",
        "finance",
        0,
        120,
        integer=True,
    ),
    _p(
        "claim_cap_share",
        0.15,
        "share",
        "Share of the remaining term a contract claim may cover when that exceeds "
        "claim_cap_months (11 U.S.C. 502(b)(6)).",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "covenant_min_contract_cover",
        1.0,
        "x",
        "Neocloud loan covenant: take-or-pay payments still due under its signed contracts "
        "(within debt_term_months) must be at least this multiple of the debt it is repaying "
        "(K3: debt secured on the contract; C8). 0 switches the test off.",
        "finance",
        0.0,
        5.0,
    ),
    _p(
        "covenant_max_leverage",
        1.0,
        "share",
        "Neocloud loan covenant: the debt it is repaying at most this share of the value "
        "of its sites (C3 replacement cost; a loan-to-value limit above the 1 - "
        "neocloud_equity_share a build is financed at). 0 switches the test off.",
        "finance",
        0.0,
        2.0,
    ),
    _p(
        "apply_interventions",
        True,
        "-",
        "The scenario's declared interventions ([[intervention]] rows, run --force-exit) "
        "take place (false: the unforced control run of an experiment).",
        "consolidation",
    ),
    # ==================================================================================
    # Disciplined investment, demand that answers price and technology, and a slowing
    # path of chip efficiency (docs/contracts-and-money.md B4, B7, B8). Keep the
    # parameters of these submodels in this block.
    # ==================================================================================
    _p(
        "generation_gain_halving_generations",
        3.0,
        "generations",
        "The excess over 1 of each generation's density and cost gain halves every this "
        "many generations, so the cumulative gain converges (C2: GB200 about 1.6x H100 per "
        "MW; G2: per-chip gains 1.6x a year to 2025; the slowdown is an assumption; a "
        "large value = no slowdown).",
        "supply",
        0.5,
        1000.0,
    ),
    _p(
        "generation_interval_growth",
        1.0,
        "x per generation",
        "Each gap between chip generations is this factor longer than the last "
        "(1 = a steady cadence).",
        "supply",
        1.0,
        3.0,
    ),
    _p(
        "token_price_elasticity",
        1.2,
        "-",
        "Elasticity of users' token demand to the token price (above 1: cheaper tokens "
        "raise spending, the Jevons effect). No calibration row: an assumption to vary; "
        "above 2.5 users' spending compounds past any firm's means within ten years.",
        "demand",
        0.0,
        2.5,
    ),
    _p(
        "cost_pass_through",
        0.8,
        "share",
        "Share of a change in the cost of serving a token (the rental index over tokens "
        "per H100e-hour) that competing labs pass on to users' token price (1: prices "
        "follow cost; 0: prices fixed). Assumption; at least half, since labs compete for "
        "users (below it, labs keep every serving gain and revenue runs away).",
        "demand",
        0.5,
        1.0,
    ),
    _p(
        "serving_efficiency_gain_per_year",
        1.3,
        "x per year",
        "Yearly growth of tokens served per H100e-hour from better models and software "
        "(hardware gains are already in H100e). Assumption; 1 = none; at most 2x a year "
        "sustained for a decade.",
        "demand",
        1.0,
        2.0,
    ),
    _p(
        "investment_hurdle",
        0.15,
        "share of capex",
        "A builder starts a site only when the net present value of its expected margin "
        "exceeds this share of the capex (a hurdle over the cost of capital; C3, C4, C5).",
        "facilities",
        0.0,
        2.0,
    ),
    _p(
        "utilisation_forecast_weight",
        0.5,
        "share",
        "Weight of the builder's own recent utilisation, against the market's forecast "
        "demand over capacity (online, under construction and on order), in the "
        "utilisation it expects for a new site.",
        "facilities",
        0.0,
        1.0,
    ),
    _p(
        "construction_pause_penalty_share",
        0.05,
        "share of remaining capex",
        "What stopping a build costs (contractors' break fees, site holding), as a share "
        "of the capex not yet spent (C6: 4-30 month builds).",
        "facilities",
        0.0,
        1.0,
    ),
    _p(
        "chip_order_cancel_penalty_share",
        0.2,
        "share of order value",
        "What cancelling an undelivered chip order costs (a forfeited deposit paid to the "
        "supplier), as a share of its value; deferring costs nothing but time (C1; K10: "
        "headline chip deals are options).",
        "supply",
        0.0,
        1.0,
    ),
    _p(
        "chip_order_defer_utilisation",
        0.7,
        "share",
        "A builder defers deliveries of undelivered chips when the utilisation it expects "
        "is below this share.",
        "supply",
        0.0,
        1.0,
    ),
    # ==================================================================================
    # Money bounded by value (docs/contracts-and-money.md, B5; market.core.credit): raises
    # bounded by a valuation, borrowing against owned sites and contracted revenue, build
    # loans drawn as the money is spent. Keep the credit parameters in this block.
    # ==================================================================================
    _p(
        "site_loan_to_value",
        0.6,
        "share",
        "Share of the replacement value of the sites a lab or neocloud owns that lenders "
        "lend against when it runs short of cash (C3 replacement cost; secured lending on "
        "datacenters); added to debt_advance_rate of the revenue its signed contracts "
        "still owe it, less the debt it has and has been promised.",
        "finance",
        0.0,
        1.0,
    ),
    _p(
        "secured_borrow_months_of_burn",
        3.0,
        "months",
        "A firm that borrows against its sites borrows enough to cover its cash gap and "
        "this many months of its burn, within its borrowing capacity.",
        "finance",
        0.0,
        24.0,
    ),
    # ---- contract terms chosen by both sides, and cancellation within notice
    # (docs/contracts-and-money.md, B1 and B2; market/mechanisms/terms.py, cancellation.py)
    _p(
        "longest_term_months",
        60,
        "months",
        "Longest standard term on offer; the menu is a monthly rental, a one-year "
        "reservation, a 3-year deal and this (B8 blocks up to 6 months, B10 terms 1-60 "
        "months, S4 36, K1-K5 60).",
        "contracting",
        36,
        180,
    ),
    _p(
        "buyer_firm_horizon_months",
        12.0,
        "months",
        "How far ahead a lab's need for compute counts as firm (the users it already "
        "serves), counted from now, and never beyond the months its cash lasts; beyond it "
        "a commitment carries forecast risk (S5, S7: usage swings within a year).",
        "contracting",
        1.0,
        60.0,
    ),
    _p(
        "forecast_uncertainty_per_year",
        0.35,
        "share per sqrt(year)",
        "Least standard deviation of a lab's need, as a share, one year beyond its firm "
        "horizon (a lab whose revenue swings more uses its own swings); it grows with the "
        "square root of time (S5 usage down at xAI, S7 up 3x at Anthropic).",
        "contracting",
        0.0,
        2.0,
    ),
    _p(
        "renewal_cost_months",
        0.25,
        "months of payment",
        "What re-contracting costs a buyer each time a term ends (search, negotiation, the "
        "risk of a gap), in months of the contract's payment.",
        "contracting",
        0.0,
        6.0,
    ),
    _p(
        "buyer_term_tolerance",
        0.1,
        "share",
        "A buyer accepts a longer term than its preferred one when it costs at most this "
        "share more per used H100e-hour (how far it stretches to meet a seller).",
        "contracting",
        0.0,
        2.0,
    ),
    _p(
        "cancellation_fee_share",
        0.25,
        "share",
        "Termination fee as a share of the take-or-pay payments due after the notice "
        "period (S4: Colossus 1 reportedly cancellable on 90 days' notice; no fee reported, "
        "so a quarter is an assumption to vary).",
        "contracting",
        0.0,
        1.0,
    ),
    _p(
        "cancel_min_saving_share",
        0.2,
        "share",
        "A buyer cancels only when the saving net of the fee exceeds this share of what "
        "the rest of the contract would cost (moving workloads between sellers costs "
        "engineering and risk; avoids churning on noise).",
        "contracting",
        0.0,
        1.0,
    ),
    # ---------------------------------------------------------------------------------
    # A lab's own demand growth
    _p(
        "lab_demand_growth_halflife_months",
        3.0,
        "months",
        "Months after which the logarithm of a lab's own yearly user growth (the lab "
        "table's own_demand_growth_per_year) has halved: an adoption wave that fades (no row).",
        "demand",
        0.5,
        120.0,
    ),
    # ---------------------------------------------------------------------------------
    # Frontier runs: when a lab starts a run, how long it trains and how large a cluster
    # it assembles (docs/odd.md, "Training runs"; docs/calibration.md, "Training runs")
    _p(
        "training_linked_site_efficiency",
        0.0,
        "share",
        "A lab may train one run on all the sites it holds in one region, linked by the "
        "region's network; the run gets this share of their compute (synchronising across "
        "buildings costs throughput). 0 = a run stays at one site.",
        "training",
        0.0,
        1.0,
    ),
    # ---------------------------------------------------------------------------------
    # Chip supply planned ahead: builders that spread a large order over several
    # suppliers (docs/odd.md, "Chip supply"; docs/calibration.md, "The stock of chips
    # delivered")
    _p(
        "chip_order_lots",
        1,
        "lots",
        "A builder places a chip order in this many equal lots, each with the supplier "
        "that is cheapest once its backlog, the lots of this order already placed with it "
        "included, is counted (chip_backlog_cost_per_month): a large order is spread over "
        "several suppliers instead of waiting at one. 1 = one supplier takes the whole order.",
        "supply",
        1,
        20,
    ),
    _p(
        "chip_guidance_weight",
        0.0,
        "share",
        "Share of the growth its buyers forecast for the demand they serve (over the year "
        "after chip_expansion_lag_months) that a supplier books in output ahead, whatever "
        "its backlog, within chip_max_expansion_per_month. 0 = output follows the backlog "
        "only; 1 = output also grows as fast as the demand buyers forecast.",
        "supply",
        0.0,
        1.0,
    ),
)

PARAMS: dict[str, Param] = {p.name: p for p in MODEL_PARAMS}


def defaults() -> dict[str, Any]:
    return {p.name: p.default for p in MODEL_PARAMS}


def resolve(overrides: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Defaults updated by ``overrides``, every value checked against its declaration."""
    values = defaults()
    for key, value in overrides.items():
        if key not in PARAMS:
            raise ParameterError(
                f"{where + ': ' if where else ''}unknown parameter {show(key)}"
                f"{suggest(key, PARAMS)}; see 'compute-market params' for the list"
            )
        values[key] = PARAMS[key].check(value, where)
    check_month(values["start_month"], where)
    return values


def check_month(text: Any, where: str, field: str = "start_month") -> str:
    """A calendar month written YYYY-MM in ASCII digits, or ParameterError."""
    if not isinstance(text, str) or not _MONTH.fullmatch(text):
        raise ParameterError(
            refusal(where, field, text, "a calendar month written YYYY-MM, e.g. '2026-01'")
        )
    return text


def check_seed(value: Any, where: str, field: str = "seed") -> int:
    """A seed: an integer from 0 to SEED_MAX, given as an integer or ASCII digits."""
    if isinstance(value, str) and _SEED.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise ParameterError(refusal(where, field, value, f"an integer from 0 to {SEED_MAX}"))
    return value


def ui_params() -> list[Param]:
    return [p for p in MODEL_PARAMS if p.ui]
