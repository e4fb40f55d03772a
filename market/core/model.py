"""The Compute Market model: construction, the month's stage loop and the shared
services (contract book, ledger, technology, generator, parameters, event log).

One step is one month: the stages in ``market.core.stages.STAGES``, in order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import mesa

from agents import ChipSupplier, Firm, Hyperscaler, Lab, Neocloud
from market.core import building, contracting, setup
from market.core.book import ContractBook
from market.core.calendar import month_label, month_offset
from market.core.grid import Region
from market.core.ledger import Ledger
from market.core.network import MarketNetwork
from market.core.stages import STAGE_NAMES, STAGES, Stage
from market.core.technology import Technology
from market.io.params import check_seed
from market.io.records import (
    ChipOrder,
    Contract,
    EndReason,
    Event,
    EventLog,
    Facility,
    Origin,
    Parameters,
    Purpose,
    Quote,
    Sentiment,
)
from market.io.scenario import Scenario, load_scenario
from market.mechanisms import demand, metrics, pricing
from market.mechanisms.spot import SpotResult

# forecasts kept at once (a month asks for a few horizons; older months are dropped)
FORECASTS_KEPT = 256
# the key, in a contracting round's quote memo, of the forecasts by horizon
ROUND_FORECASTS = "forecasts"

__all__ = [
    "STAGES",
    "STAGE_NAMES",
    "ComputeMarket",
    "Region",
    "Stage",
    "month_label",
    "month_offset",
]


class ComputeMarket(mesa.Model):
    """Labs, neoclouds, hyperscalers and chip suppliers trading compute month by month.

    Construct with keyword arguments only: ``scenario`` (a built-in name, a TOML path
    or a dict), ``rng`` (seed; default: the scenario's seed), ``interventions`` (rows
    of [[intervention]] added to the scenario's, or ``"NAME@YYYY-MM"`` texts forcing a
    firm's exit, e.g. ``interventions=["CoreWeave@2027-06"]``) and any declared
    parameter as an override, e.g. ``ComputeMarket(scenario="classroom", rng=1,
    contest_intensity=0)``.
    """

    stages: tuple[Stage, ...] = STAGES

    def __init__(
        self,
        *,
        scenario: str | dict | Scenario = "baseline",
        rng=None,
        seed=None,
        interventions: Sequence[dict | str] = (),
        **overrides,
    ) -> None:
        if rng is None and seed is not None:
            rng = seed
        if isinstance(rng, str):  # a seed typed as text: the scenario files' rule
            rng = check_seed(rng, "") if rng.strip() else None
        self.spec = load_scenario(scenario, overrides, interventions)
        seed_value = self.spec.seed if rng is None else int(rng)
        self._firm_by_id: dict[int, mesa.Agent] = {}
        self._by_type: dict = {}
        super().__init__(rng=seed_value)
        self.seed = seed_value
        self.p = Parameters(self.spec.params)
        self._services()
        self._market_state()
        setup.populate(self)
        self.refresh_leaders()
        self.ledger.open(self.agents)
        self.spot_index = setup.initial_spot_index(self)
        self.scarcity_markup = pricing.scarcity_markup(
            self.tightness, self.p.scarcity_markup_slope, self.p.max_scarcity_markup
        )
        self.metrics: dict[str, float] = {}
        self.datacollector = setup.datacollector(self)

    def _services(self) -> None:
        """The shared services every stage and agent reaches through the model."""
        self.month = 0
        self.calendar_month = self.p.start_month
        self.events = EventLog()  # older months packed (market.io.records)
        self.network = MarketNetwork()
        self.book = ContractBook(self.network, self._site_freed)
        self.ledger = Ledger()
        self.regions = {
            r["name"]: Region(
                r,
                self.p.grid_capacity_multiplier,
                self.p.grid_growth_per_year,
                self.p.grid_min_wait_months,
            )
            for r in self.spec.tables["region"]
        }
        self.default_region = self.spec.tables["region"][0]["name"]
        self.tech = Technology(self.p, self.regions)
        self.appraisal = building.Appraisal(self)
        self._next_id: defaultdict[str, int] = defaultdict(int)
        self.facilities: dict[int, Facility] = {}
        self.firms_by_name: dict[str, Firm | ChipSupplier] = {}
        self.names_by_id: dict[int, str] = {}  # every firm ever, exited ones included
        self.members: dict[str, list[tuple[str, float]]] = {}  # archetype -> (firm, scale)
        self.counters: defaultdict[str, float] = defaultdict(float)

    def _market_state(self) -> None:
        """What the market shows everyone: demand, prices, sentiment, the frontier."""
        p = self.p
        # while the contracting stage runs, sellers keep their free capacity per window
        # (Firm.free_sites); -1 outside it
        self.quote_epoch = -1
        self._quote_epochs = 0
        self.quote_ended: tuple[int, int] | None = None  # (month, epoch) of a round ended
        self.quote_memo: dict = {}
        # firms' recent utilisation by id while the investment stage runs; None outside it
        self.utilisation_kept: dict[int, float] | None = None
        self._forecasts: dict[tuple, float] = {}
        self.capex_history: dict[str, list[float]] = defaultdict(list)
        self.run_history: list[float] = []  # frontier (largest completed run) by month
        self.largest_run_h100e_months = 0.0
        self.runs_this_month: list[float] = []
        self.sentiment = Sentiment(p.sentiment_initial)
        self.demand_index = 1.0
        self.potential_demand_h100e = p.inference_demand_h100e_initial
        self.demand_h100e = self.potential_demand_h100e
        self.demand_at_cost_h100e = self.potential_demand_h100e  # without labs' premium
        # users' answer to price and technology (the demand stage): token price relative
        # to the start, and what labs earn per H100e-hour they serve
        self.token_price_ratio = 1.0
        # the cost of compute the token price follows, now and in the first month; 0 until set
        self.compute_cost_usd_per_h100e_hour = 0.0
        self.reference_compute_cost_usd_per_h100e_hour = 0.0
        self.revenue_usd_per_h100e_hour = p.revenue_usd_per_h100e_hour
        self.spot_result: SpotResult | None = None  # this month's clearing (the spot stage)
        self.spot_at_hand: tuple[int, dict] | None = None  # (month, labs' at hand) for use
        self.spot_volume_h100e = 0.0
        self.spot_price = math.nan
        self.spot_index = math.nan
        self.tightness = 0.0
        self.scarcity_markup = 1.0
        self.unmet_last_h100e = 0.0
        self.shortfall_h100e = 0.0  # sold beyond online capacity (the supply stage)
        self.short_sites: set[int] = set()
        self.online_at_use_h100e = 0.0  # online capacity in the use stage
        self.spot_index_traded = False  # whether this month's spot trades moved the index
        self._top_runs: list[tuple[float, int]] = []
        # builders' view of the market ahead, kept for the month (building.outlook)
        self.outlook_cache: dict[tuple[int, int], tuple[float, float]] = {}
        self._leader_capability = 0.0

    # ================================================================== the month
    def step(self) -> None:
        self.month = self.steps - 1
        self.calendar_month = month_label(self.p.start_month, self.month)
        self.ledger.start_month()
        self.book.start_month()
        self.runs_this_month = []
        for _name, run in self.stages:
            run(self)

    def run_months(self, months: int, progress=None) -> None:
        """Advance ``months`` steps; ``progress`` is called after each with the model."""
        for _ in range(int(months)):
            self.step()
            if progress is not None:
                progress(self)

    @property
    def horizon_months(self) -> int:
        return round(self.p.years * 12)

    def begin_quoting(self) -> None:
        """Start a contracting round: sellers may keep their free capacity per window
        until it ends (``quote_epoch`` back to -1)."""
        self._quote_epochs += 1
        self.quote_epoch = self._quote_epochs
        self.quote_memo = {}
        self.quote_ended = None

    def end_quoting(self) -> None:
        """End a contracting round; ``quote_ended`` says which, until another begins."""
        self.quote_ended, self.quote_epoch = (self.month, self.quote_epoch), -1

    # ================================================================== lookups
    def new_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    def firm(self, unique_id: int):
        """The active agent with this id, or None once it has left the market."""
        return self._firm_by_id.get(unique_id)

    def register_agent(self, agent) -> None:  # keeps an id index next to Mesa's own sets
        super().register_agent(agent)
        self._firm_by_id[agent.unique_id] = agent
        self._by_type = {}

    def deregister_agent(self, agent) -> None:
        super().deregister_agent(agent)
        self._firm_by_id.pop(agent.unique_id, None)
        self._by_type = {}

    def of_type(self, cls) -> list:
        """Agents of a type in id order; cached until an agent joins or leaves."""
        cached = self._by_type.get(cls)
        if cached is None:
            members = self.agents_by_type.get(cls, [])
            cached = self._by_type[cls] = sorted(members, key=lambda a: a.unique_id)
        return list(cached)

    def labs(self) -> list[Lab]:
        return self.of_type(Lab)

    def suppliers(self) -> list[ChipSupplier]:
        return self.of_type(ChipSupplier)

    def providers(self) -> list[Firm]:
        return self.of_type(Hyperscaler) + self.of_type(Neocloud)

    def firms(self) -> list[Firm]:
        return self.providers() + self.labs()

    # ================================================================== market view
    def demand_forecast_h100e(self, months_ahead: int) -> float:
        """What labs expect the market to use ``months_ahead`` from now: the expected
        growth of users times the rise in compute per user. Kept per month and horizon
        while the demand and the parameters it reads stay the same."""
        return _kept_forecast_h100e(self, months_ahead)

    @property
    def agentic_share(self) -> float:
        return demand.agentic_share(
            self.month, self.p.agentic_share_initial, self.p.agentic_share_growth_per_year
        )

    def refresh_leaders(self) -> None:
        """The two largest last runs and the top capability, found once rather than
        by every lab (they change only when runs complete)."""
        runs = sorted(
            ((lab.last_run_h100e_months, -lab.unique_id) for lab in self.labs()), reverse=True
        )[:2]
        self._top_runs = [(size, -neg) for size, neg in runs]
        self._leader_capability = max((lab.capability for lab in self.labs()), default=0.0)

    def largest_last_run_h100e_months(self, exclude: int | None = None) -> float:
        for size, lab_id in self._top_runs:
            if lab_id != exclude:
                return size
        return 0.0

    def frontier_growth_per_year(self) -> float:
        """Growth of the frontier run over the last year, as labs extrapolate it."""
        g = metrics.growth_factor(self.run_history, 12)
        return 1.0 if math.isnan(g) else min(self.p.frontier_growth_max_per_year, max(1.0, g))

    @property
    def leader_capability(self) -> float:
        return self._leader_capability

    def record_run(self, lab: Lab, h100e_months: float) -> None:
        self.runs_this_month.append(h100e_months)
        if h100e_months > self.largest_run_h100e_months:
            self.largest_run_h100e_months = h100e_months
        self.log(
            "training",
            f"{lab.name} completes a training run of {h100e_months:,.0f} H100e-months",
            lab.name,
        )

    def log(self, kind: str, text: str, *actors: str) -> None:
        self.events.append(
            Event(self.calendar_month, kind, f"{self.calendar_month} {text}", actors)
        )

    # ================================================================== actions
    def sign(
        self,
        buyer: Firm,
        q: Quote,
        h100e: float,
        price: float,
        purpose: Purpose | str,
        origin: Origin | str,
        log: bool = True,
    ) -> Contract:
        """Sign a contract from an accepted quote (see ``contracting.sign``)."""
        return contracting.sign(self, buyer, q, h100e, price, Purpose(purpose), Origin(origin), log)

    def end_contract(self, c: Contract, reason: EndReason | str) -> None:
        self.book.end(c, EndReason(reason), self.month)

    def order_chips(self, firm: Firm, f: Facility, h100e: float) -> None:
        building.order_chips(self, firm, f, h100e)

    def order_alive(self, o: ChipOrder) -> bool:
        return building.order_alive(self, o)

    def deliver_chips(self, supplier: ChipSupplier, o: ChipOrder, h100e: float) -> None:
        building.deliver_chips(self, supplier, o, h100e)

    def _site_freed(self, site_id: int) -> None:
        site = self.facilities.get(site_id)
        owner = self.firm(site.owner_id) if site is not None else None
        if owner is not None:
            owner.forget_free_sites()

    # ================================================================== read-only views
    @property
    def contracts(self) -> list[Contract]:
        """Every contract signed, ended ones included (the book's record)."""
        return self.book.all

    @property
    def new_contracts(self) -> list[Contract]:
        return self.book.new_this_month

    @property
    def flows(self) -> dict[str, float]:
        """This month's money flows by memo (the ledger's)."""
        return self.ledger.flows

    @property
    def external_net_usd(self) -> float:
        return self.ledger.external_net_usd

    @property
    def written_off_usd(self) -> float:
        return self.ledger.written_off_usd

    @property
    def current_generation(self) -> int:
        return self.tech.generation


def _kept_forecast_h100e(model: ComputeMarket, months_ahead: int) -> float:
    if model.quote_epoch >= 0:
        # while a contracting round runs the month, the demand and the parameters stay
        # as they are: kept per horizon in the round's memo
        in_round = model.quote_memo.get(ROUND_FORECASTS)
        if in_round is None:
            in_round = model.quote_memo[ROUND_FORECASTS] = {}
        value = in_round.get(months_ahead)
        if value is None:
            value = in_round[months_ahead] = _forecast_kept_by_inputs(model, months_ahead)
        return value
    return _forecast_kept_by_inputs(model, months_ahead)


def _forecast_kept_by_inputs(model: ComputeMarket, months_ahead: int) -> float:
    p = model.p
    key = (
        model.month,
        months_ahead,
        model.demand_at_cost_h100e,
        p.demand_growth_per_year,
        p.demand_growth_halflife_years,
        p.agentic_share_initial,
        p.agentic_share_growth_per_year,
        p.agentic_compute_multiplier,
    )
    kept = model._forecasts
    value = kept.get(key)
    if value is None:
        if len(kept) > FORECASTS_KEPT:
            kept.clear()
        value = kept[key] = _forecast_h100e(model, months_ahead)
    return value


def _forecast_h100e(model: ComputeMarket, months_ahead: int) -> float:
    p = model.p
    growth = demand.growth_at(model.month, p.demand_growth_per_year, p.demand_growth_halflife_years)
    users = growth ** (months_ahead / 12.0)
    now = demand.compute_per_user(model.agentic_share, p.agentic_compute_multiplier)
    later = demand.compute_per_user(
        demand.agentic_share(
            model.month + months_ahead, p.agentic_share_initial, p.agentic_share_growth_per_year
        ),
        p.agentic_compute_multiplier,
    )
    return model.demand_at_cost_h100e * users * later / now
