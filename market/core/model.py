"""The Compute Market model: one step is one month of eight named stages."""

from __future__ import annotations

import math
from collections import defaultdict

import mesa
import numpy as np

from agents import FIRM_TYPES, ChipSupplier, Firm, Hyperscaler, Lab, Neocloud
from market.core import lifecycle
from market.core.book import ContractBook
from market.core.ledger import Ledger
from market.core.network import MarketNetwork
from market.io.outputs import OUTPUTS, TERM_BUCKETS, term_bucket
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    ChipBatch,
    ChipOrder,
    Contract,
    ContractState,
    Event,
    Facility,
    FacilityStatus,
    Quote,
)
from market.io.scenario import Scenario, load_scenario
from market.mechanisms import demand, metrics, pricing, spot

STAGES = (
    "supply",
    "demand",
    "contracting",
    "investment",
    "spot",
    "use",
    "settlement",
    "observation",
)


class Region:
    """Grid connections are granted first come, first served, at a monthly rate that
    starts at the region's ``grid_mw_per_year`` / 12 and grows by ``growth`` a year
    (1: the same MW every year)."""

    def __init__(self, spec: dict, multiplier: float, growth: float = 1.0) -> None:
        self.name = spec["name"]
        self.power_price_usd_per_mwh = spec["power_price_usd_per_mwh"]
        self.mw_per_month = spec["grid_mw_per_year"] * multiplier / 12.0  # at month 0
        self.growth = growth
        self.queue_clears_month = self.finish(0.0, spec["queue_mw"])

    def rate_mw_per_month(self, month: float) -> float:
        return self.mw_per_month * self.growth ** (month / 12.0)

    def finish(self, start: float, mw: float) -> float:
        """Month by which ``mw`` more are connected, connecting from ``start`` on."""
        if self.mw_per_month <= 0:
            return math.inf
        if self.growth == 1.0:
            return start + mw / self.mw_per_month
        # the MW connected from start to t are the integral of the rate, r e^(k u) du,
        # so t = start + ln(1 + mw k e^(-k start) / r) / k; a shrinking grid (k < 0)
        # never connects more than r e^(k start) / -k
        k = math.log(self.growth) / 12.0
        try:
            inner = 1.0 + mw * k / self.mw_per_month * math.exp(-k * start)
        except OverflowError:
            return math.inf
        return start + math.log(inner) / k if inner > 0 else math.inf

    def queue_mw(self, month: int) -> float:
        """MW booked ahead of a request made in ``month``."""
        if math.isinf(self.queue_clears_month):
            return math.inf
        if self.queue_clears_month <= month:
            return 0.0
        if self.growth == 1.0:
            return (self.queue_clears_month - month) * self.mw_per_month
        k = math.log(self.growth) / 12.0
        return self.rate_mw_per_month(month) * math.expm1(k * (self.queue_clears_month - month)) / k

    def ready_month(self, month: int, mw: float, p: dict) -> float:
        start = max(float(month), self.queue_clears_month)
        return max(self.finish(start, mw), month + p["grid_min_wait_months"])

    def book(self, month: int, mw: float, p: dict) -> int:
        ready = self.ready_month(month, mw, p)
        if math.isfinite(ready):
            self.queue_clears_month = self.finish(max(float(month), self.queue_clears_month), mw)
        return math.ceil(ready) if math.isfinite(ready) else 10**9


def month_label(start: str, offset: int) -> str:
    y, m = int(start[:4]), int(start[5:])
    total = y * 12 + (m - 1) + offset
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_offset(start: str, label: str) -> int:
    return (int(label[:4]) * 12 + int(label[5:]) - 1) - (int(start[:4]) * 12 + int(start[5:]) - 1)


class ComputeMarket(mesa.Model):
    """Labs, neoclouds, hyperscalers and chip suppliers trading compute month by month.

    Construct with keyword arguments only: ``scenario`` (a built-in name, a TOML path
    or a dict), ``rng`` (seed; default: the scenario's seed) and any declared
    parameter as an override, e.g. ``ComputeMarket(scenario="classroom", rng=1,
    contest_intensity=0)``.
    """

    def __init__(
        self, *, scenario: str | dict | Scenario = "baseline", rng=None, seed=None, **overrides
    ) -> None:
        if rng is None and seed is not None:
            rng = seed
        if isinstance(rng, str):  # SolaraViz hands a typed seed over as text
            rng = int(rng.strip()) if rng.strip() else None
        self.spec = load_scenario(scenario, overrides)
        seed_value = self.spec.seed if rng is None else int(rng)
        self._firm_by_id: dict[int, mesa.Agent] = {}
        super().__init__(rng=seed_value)
        self.seed = seed_value
        self.p = dict(self.spec.params)
        self.month = 0
        self.calendar_month = self.p["start_month"]
        self.events: list[Event] = []
        self.network = MarketNetwork()
        self._next_id = defaultdict(int)
        self.facilities: dict[int, Facility] = {}
        self.book = ContractBook(self.network, self._site_freed)
        self.counters = defaultdict(float)
        self.ledger = Ledger()
        self.capex_history: dict[str, list[float]] = defaultdict(list)
        # while the contracting stage runs, sellers keep their free capacity per window
        # (Firm.free_sites); -1 outside it
        self.quote_epoch = -1
        self._quote_epochs = 0
        self.run_history: list[float] = []  # frontier (largest completed run) by month
        self.largest_run_h100e_months = 0.0
        self.runs_this_month: list[float] = []
        self.regions = {
            r["name"]: Region(r, self.p["grid_capacity_multiplier"], self.p["grid_growth_per_year"])
            for r in self.spec.tables["region"]
        }
        self.default_region = self.spec.tables["region"][0]["name"]
        self.current_generation = 0
        self.sentiment = self.p["sentiment_initial"]
        self.demand_index = 1.0
        self.potential_demand_h100e = self.p["inference_demand_h100e_initial"]
        self.demand_h100e = self.potential_demand_h100e
        self.spot_volume_h100e = 0.0
        self.spot_price = math.nan
        self.tightness = 0.0
        self.unmet_last_h100e = 0.0
        self._by_type: dict = {}
        self._build()
        self.refresh_leaders()
        self.ledger.open(self.agents)
        self.spot_index = self._initial_spot_index()
        self.scarcity_markup = pricing.scarcity_markup(
            self.tightness, self.p["scarcity_markup_slope"], self.p["max_scarcity_markup"]
        )
        self.metrics: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={o.name: _reporter(o.name) for o in OUTPUTS},
            agenttype_reporters={
                Lab: {
                    "name": "name",
                    "share": "share",
                    "rationed_share": "rationed_share",
                    "compute_h100e": "pool_h100e",
                    "cash_usd": "cash_usd",
                    "revenue_usd_per_month": "revenue_usd",
                    "capability_decades": "capability",
                    "training_run_h100e": "run_h100e",
                },
                ChipSupplier: {
                    "name": "name",
                    "captive": "captive",
                    "production_h100e_per_month": "production_h100e_per_month",
                    "delivered_h100e": "delivered_last_month_h100e",
                    "backlog_h100e": lambda s: s.backlog_h100e(),
                    "price_usd_per_h100e": "price_usd_per_h100e",
                },
            },
        )

    # ================================================================== set-up
    def new_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    def _jitter(self, count: int) -> float:
        if count <= 1 or self.p["archetype_jitter"] <= 0:
            return 1.0
        return float(math.exp(self.rng.normal(0.0, self.p["archetype_jitter"])))

    def _build(self) -> None:
        t = self.spec.tables
        self.firms_by_name: dict[str, Firm | ChipSupplier] = {}
        self.names_by_id: dict[int, str] = {}  # every firm ever, exited ones included
        self.members: dict[str, list[tuple[str, float]]] = {}
        for section in ("chip_supplier", "hyperscaler", "neocloud", "lab"):
            cls = ChipSupplier if section == "chip_supplier" else FIRM_TYPES[section]
            for spec in t[section]:
                n = spec["count"]
                self.members[spec["name"]] = []
                for i in range(n):
                    name = spec["name"] if n == 1 else f"{spec['name']} {i + 1}"
                    scale = self._jitter(n)
                    s = dict(spec)
                    for key in (
                        "cash_usd",
                        "production_h100e_per_month",
                        "outside_cash_flow_usd_per_month",
                        "debt_usd",
                        "initial_share",
                    ):
                        if key in s:
                            s[key] = s[key] * scale
                    agent = cls(self, name, s)
                    self.firms_by_name[name] = agent
                    self.members[spec["name"]].append((name, scale))
                    self.network.add_firm(agent.unique_id, name, cls.kind)
                    self.names_by_id[agent.unique_id] = name
        self._merchants = [s for s in self.suppliers() if not s.captive]
        self._captives_by_client: dict[str, list[ChipSupplier]] = defaultdict(list)
        for s in self.suppliers():
            if not s.captive:
                continue
            for client in sorted({s.captive_parent_name, *s.partner_names}):
                self._captives_by_client[client].append(s)
                if client in self.firms_by_name:
                    self.network.acquaint(s.unique_id, self.firms_by_name[client].unique_id)
        for spec in t["facility"]:
            for owner_name, scale in self.members.get(spec["owner"], [(spec["owner"], 1.0)]):
                for k in range(spec["count"]):
                    self._opening_facility(self.firms_by_name[owner_name], spec, scale, k)
        labs = self.labs()
        total = sum(lab.share for lab in labs)
        for lab in labs:
            lab.share = lab.share / total if total > 0 else 1.0 / len(labs)
            if lab.revenue_usd < 0:
                lab.revenue_usd = (
                    lab.share
                    * self.demand_h100e
                    * 0.85
                    * self.p["revenue_usd_per_h100e_hour"]
                    * HOURS_PER_MONTH
                )
            lab.revenue_history = [lab.revenue_usd]
        for spec in t["contract"]:
            self._opening_contract(spec)
        self._acquaint()

    def _opening_facility(self, owner: Firm, spec: dict, scale: float, k: int) -> None:
        power = spec["power_mw"] * scale
        online = spec["online_month"]
        base = spec["name"] or f"{owner.name} site"
        name = base if spec["count"] == 1 else f"{base} {k + 1}"
        f = self._new_facility(
            owner,
            name,
            spec["region"] or owner.region,
            power,
            FacilityStatus.ONLINE if online <= 0 else FacilityStatus.UNDER_CONSTRUCTION,
            max(online, 0),
            0.0,
        )
        if spec["capacity_h100e"] >= 0:
            h100e = spec["capacity_h100e"] * scale
        else:
            h100e = power * self.h100e_per_mw(0)
        h100e = min(h100e, power * self.h100e_per_mw(0))
        cost = self.merchant_price_usd_per_h100e()
        f.chip_cost_usd_per_h100e = cost
        if h100e > 0:
            # a fleet installed over time: four batches spread around the stated
            # average age, so the opening fleet does not retire in a single month
            life = self.p["chip_useful_life_months"]
            for share in (0.25, 0.75, 1.25, 1.75):
                age = min(round(spec["chip_age_months"] * share), life - 1)
                f.chips.append(ChipBatch(0, h100e / 4, -age, cost))

    def _new_facility(
        self,
        owner: Firm,
        name: str,
        region: str,
        power_mw: float,
        status: FacilityStatus,
        online_month: int,
        build_cost: float,
    ) -> Facility:
        f = Facility(
            self.new_id("facility"),
            name,
            owner.unique_id,
            region,
            power_mw,
            status,
            online_month,
            build_cost,
            build_started_month=self.month,
        )
        f.ordered_generation = self.current_generation
        f.chip_cost_usd_per_h100e = self.merchant_price_usd_per_h100e()
        self.facilities[f.facility_id] = f
        owner.facilities.append(f)
        owner.forget_free_sites()
        return f

    def _opening_contract(self, spec: dict) -> None:
        buyer = self.firms_by_name[spec["buyer"]]
        seller = self.firms_by_name[spec["seller"]]
        sites = [f for f in seller.facilities if not spec["facility"] or f.name == spec["facility"]]
        if not sites:
            from market.io.scenario import ScenarioError

            raise ScenarioError(
                f"{self.spec.source}: [[contract]]: field 'facility' = {spec['facility']!r} "
                f"is not a site of {seller.name}"
            )
        site = max(sites, key=lambda f: (f.power_mw, -f.facility_id))
        start = month_offset(self.p["start_month"], spec["start_month"])
        gen = site.ordered_generation
        q = Quote(
            seller.unique_id,
            site.facility_id,
            spec["capacity_h100e"],
            start,
            spec["term_months"],
            spec["price_usd_per_h100e_hour"],
            spec["price_usd_per_h100e_hour"],
            exclusive=spec["exclusive"],
            cancellation_notice_months=spec["cancellation_notice_months"],
            h100e_per_mw=self.h100e_per_mw(gen),
        )
        c = self.sign(
            buyer,
            q,
            spec["capacity_h100e"],
            spec["price_usd_per_h100e_hour"],
            spec["purpose"],
            "opening book",
            log=False,
        )
        c.take_or_pay_share = spec["take_or_pay_share"]
        c.ramp_months = 0

    def _acquaint(self) -> None:
        """Each buyer starts knowing a few sellers, drawn with the model's generator."""
        sellers = sorted(f.unique_id for f in self.firms() if f.kind != "lab" or f.facilities)
        k = self.p["acquaintance_degree"]
        for lab in self.labs():
            if not sellers or k == 0:
                continue
            # one spare draw, in case the lab draws itself
            picks = self.rng.choice(len(sellers), size=min(k + 1, len(sellers)), replace=False)
            chosen = [sellers[int(i)] for i in picks if sellers[int(i)] != lab.unique_id][:k]
            for seller_id in sorted(chosen):
                self.network.acquaint(lab.unique_id, seller_id)

    def _initial_spot_index(self) -> float:
        floors = [
            self.firm(f.owner_id).facility_floor(f, 0.5)
            for f in self.facilities.values()
            if f.status == FacilityStatus.ONLINE
        ]
        floor = float(np.median(floors)) if floors else 2.0
        supply = sum(f.capacity_h100e for f in self.facilities.values())
        self.tightness = pricing.tightness(self.demand_h100e - supply, max(self.demand_h100e, 1.0))
        markup = pricing.scarcity_markup(
            self.tightness, self.p["scarcity_markup_slope"], self.p["max_scarcity_markup"]
        )
        return floor * (1 + self.p["base_margin"]) * markup

    # ================================================================== lookups
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

    def _of_type(self, cls) -> list:
        """Agents of a type in id order; cached until an agent joins or leaves."""
        cached = self._by_type.get(cls)
        if cached is None:
            members = self.agents_by_type.get(cls, [])
            cached = self._by_type[cls] = sorted(members, key=lambda a: a.unique_id)
        return list(cached)

    def _of_type_name(self, kind: str) -> list:
        return self._of_type(
            {
                "lab": Lab,
                "neocloud": Neocloud,
                "hyperscaler": Hyperscaler,
                "chip_supplier": ChipSupplier,
            }[kind]
        )

    def labs(self) -> list[Lab]:
        return self._of_type(Lab)

    def suppliers(self) -> list[ChipSupplier]:
        return self._of_type(ChipSupplier)

    def providers(self) -> list[Firm]:
        return self._of_type(Hyperscaler) + self._of_type(Neocloud)

    def firms(self) -> list[Firm]:
        return self.providers() + self.labs()

    # ================================================================== technology and costs
    def generation_at(self, month: int) -> int:
        """Generation on sale at ``month``: 0 at the start, 1 from
        ``next_generation_month``, then one more every ``generation_interval_months``."""
        first = self.p["next_generation_month"]
        if month < first:
            return 0
        return 1 + (month - first) // self.p["generation_interval_months"]

    def h100e_per_mw(self, generation: int) -> float:
        return self.p["h100e_per_mw_initial"] * self.p["generation_density_gain"] ** generation

    def merchant_price_usd_per_h100e(self) -> float:
        prices = [s.price_usd_per_h100e for s in self._merchants]
        return min(prices) if prices else 30_000.0

    def suppliers_for(self, firm) -> list[ChipSupplier]:
        """Suppliers that sell to ``firm``: every merchant, and the captive programs
        whose parent or partner it is."""
        return self._merchants + self._captives_by_client.get(firm.name, [])

    def best_chip_price(self, firm) -> float:
        prices = [s.quote_price(firm) for s in self.suppliers_for(firm)]
        return min(prices) if prices else self.merchant_price_usd_per_h100e()

    def chip_cost_basis(self, f: Facility) -> float:
        return f.chip_cost_usd_per_h100e

    def build_cost_usd(self, firm, h100e: float) -> float:
        density = self.h100e_per_mw(self.current_generation)
        return h100e / density * self.p["facility_cost_usd_per_mw"] + h100e * self.best_chip_price(
            firm
        )

    def facility_opex_usd(self, f: Facility) -> float:
        used_mw = min(f.power_mw, f.power_used_mw(self.h100e_per_mw))
        energy = (
            used_mw
            * self.p["pue"]
            * HOURS_PER_MONTH
            * self.regions[f.region].power_price_usd_per_mwh
        )
        return energy + f.power_mw * self.p["other_opex_usd_per_mw_month"]

    def demand_forecast_h100e(self, months_ahead: int) -> float:
        """What labs expect the market to use ``months_ahead`` from now: the expected
        growth of users times the rise in compute per user."""
        p = self.p
        growth = demand.growth_at(
            self.month, p["demand_growth_per_year"], p["demand_growth_halflife_years"]
        )
        users = growth ** (months_ahead / 12.0)
        now = demand.compute_per_user(self.agentic_share, p["agentic_compute_multiplier"])
        later = demand.compute_per_user(
            demand.agentic_share(
                self.month + months_ahead,
                p["agentic_share_initial"],
                p["agentic_share_growth_per_year"],
            ),
            p["agentic_compute_multiplier"],
        )
        return self.demand_h100e * users * later / now

    @property
    def agentic_share(self) -> float:
        return demand.agentic_share(
            self.month, self.p["agentic_share_initial"], self.p["agentic_share_growth_per_year"]
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
        return 1.0 if math.isnan(g) else min(10.0, max(1.0, g))

    @property
    def leader_capability(self) -> float:
        return self._leader_capability

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

    def log(self, kind: str, text: str, *actors: str) -> None:
        self.events.append(
            Event(self.calendar_month, kind, f"{self.calendar_month} {text}", actors)
        )

    # ================================================================== contracts
    def sign(
        self,
        buyer: Firm,
        q: Quote,
        h100e: float,
        price: float,
        purpose: str,
        origin: str,
        log: bool = True,
    ) -> Contract:
        seller = self.firm(q.seller_id)
        p = self.p
        if q.facility_id is None:
            total = self.build_cost_usd(seller, h100e)
            site = self.start_build(seller, h100e, for_contract=True)
            q.facility_id = site.facility_id
            value = h100e * price * HOURS_PER_MONTH * q.term_months
            seller.finance_build(
                site.build_cost_usd, total, value, getattr(buyer, "credit_rating", 0.5)
            )
        if q.exclusive:
            h100e = q.capacity_h100e
        site = self.facilities[q.facility_id]
        c = Contract(
            contract_id=self.new_id("contract"),
            buyer_id=buyer.unique_id,
            seller_id=seller.unique_id,
            facility_id=site.facility_id,
            capacity_h100e=h100e,
            start_month=max(
                q.start_month, site.online_month if origin != "opening book" else q.start_month
            ),
            term_months=q.term_months,
            price_usd_per_h100e_hour=price,
            price_usd_per_mw_month=price * HOURS_PER_MONTH * q.h100e_per_mw,
            signed_month=self.month,
            ramp_months=p["ramp_months"],
            ramp_discount=p["ramp_discount"],
            take_or_pay_share=p["take_or_pay_share"],
            cancellation_notice_months=q.cancellation_notice_months,
            exclusive=q.exclusive,
            purpose=purpose,
            origin=origin,
        )
        self.book.add(c)
        seller.site_sold(site)
        if log:
            what = "leases the whole site" if c.exclusive else "leases"
            self.log(
                "contract",
                f"{buyer.name} {what} {h100e:,.0f} H100e from {seller.name} "
                f"({site.name}) for {c.term_months} months at ${price:.2f}/H100e-hour"
                + (
                    f" from {month_label(p['start_month'], c.start_month)}"
                    if c.start_month > self.month + 1
                    else ""
                )
                + (
                    f", a circular deal: {seller.name}'s investment comes back as this commitment"
                    if origin == "circular deal"
                    else ""
                ),
                buyer.name,
                seller.name,
            )
            if c.exclusive and buyer.kind == "lab" and seller.kind == "lab":
                self.counters["surplus_leases"] += 1
        return c

    def end_contract(self, c: Contract, reason: str) -> None:
        self.book.end(c, reason, self.month)

    def _site_freed(self, site_id: int) -> None:
        site = self.facilities.get(site_id)
        owner = self.firm(site.owner_id) if site is not None else None
        if owner is not None:
            owner.forget_free_sites()

    @property
    def contracts(self) -> list[Contract]:
        """Every contract signed, ended ones included (the book's record)."""
        return self.book.all

    @property
    def new_contracts(self) -> list[Contract]:
        return self.book.new_this_month

    # ================================================================== builds and chips
    def start_build(self, firm: Firm, h100e: float, for_contract: bool = False) -> Facility:
        density = self.h100e_per_mw(self.current_generation)
        mw = h100e / density
        region = self.regions[firm.region]
        built = self.month + firm.build_months()
        grid = region.book(self.month, mw, self.p)
        online = max(built, grid)
        cost = mw * self.p["facility_cost_usd_per_mw"]
        f = self._new_facility(
            firm,
            f"{firm.name} site {len(firm.facilities) + 1}",
            firm.region,
            mw,
            FacilityStatus.UNDER_CONSTRUCTION,
            online,
            cost,
        )
        f.grid_ready_month = grid
        if not for_contract:
            firm.finance_build(cost, self.build_cost_usd(firm, h100e), 0.0, 0.5)
        self.order_chips(firm, f, h100e)
        self.log(
            "build",
            f"{firm.name} starts building {f.name} ({mw:,.0f} MW, online "
            f"{month_label(self.p['start_month'], min(online, 10**6))})",
            firm.name,
        )
        return f

    def order_chips(self, firm: Firm, f: Facility, h100e: float) -> None:
        options = self.suppliers_for(firm)
        if not options or h100e <= 0:
            return
        # a long backlog means idle sites while waiting: each month of backlog counts
        # as 10% on the price
        s = min(
            options,
            key=lambda s: (
                s.quote_price(firm)
                * (1 + 0.1 * s.backlog_h100e() / max(s.production_h100e_per_month, 1.0)),
                s.unique_id,
            ),
        )
        o = ChipOrder(
            self.new_id("order"),
            firm.unique_id,
            s.unique_id,
            f.facility_id,
            h100e,
            self.month,
            s.quote_price(firm),
            long_term_agreement=firm.kind == "hyperscaler" or s.captive,
            generation=self.current_generation,
        )
        s.add_order(o)
        f.pending_h100e += h100e
        f.ordered_generation = self.current_generation
        f.chip_cost_usd_per_h100e = o.price_usd_per_h100e

    def order_alive(self, o: ChipOrder) -> bool:
        f = self.facilities.get(o.facility_id)
        return (
            f is not None
            and f.status != FacilityStatus.RETIRED
            and self.firm(o.buyer_id) is not None
        )

    def deliver_chips(self, supplier: ChipSupplier, o: ChipOrder, h100e: float) -> None:
        f = self.facilities.get(o.facility_id)
        buyer = self.firm(o.buyer_id)
        if f is None or buyer is None:
            o.delivered_h100e = o.h100e  # cancelled: nothing ships
            return
        o.delivered_h100e += h100e
        f.pending_h100e = max(0.0, f.pending_h100e - h100e)
        f.chips.append(ChipBatch(o.generation, h100e, self.month, o.price_usd_per_h100e))
        self.ledger.pay(buyer, supplier, h100e * o.price_usd_per_h100e, "chips")
        self.network.supplied(supplier.unique_id, buyer.unique_id, h100e)

    # ================================================================== the month
    def step(self) -> None:
        self.month = self.steps - 1
        self.calendar_month = month_label(self.p["start_month"], self.month)
        self.ledger.start_month()
        self.book.start_month()
        self.runs_this_month = []
        self.stage_supply()
        self.stage_demand()
        self.stage_contracting()
        self.stage_investment()
        self.stage_spot()
        self.stage_use()
        self.stage_settlement()
        self.stage_observation()

    # 1 ---------------------------------------------------------------- supply
    def stage_supply(self) -> None:
        """Chips are produced and delivered; sites come online; old chips retire;
        contracts start, end, and receive what their site can deliver."""
        gen = self.generation_at(self.month)
        if gen != self.current_generation:
            self.current_generation = gen
            for s in self.suppliers():
                s.price_usd_per_h100e /= self.p["generation_cost_gain"]
                s.unit_cost_usd_per_h100e /= self.p["generation_cost_gain"]
            self.log(
                "technology",
                f"a new chip generation ships ({self.h100e_per_mw(gen):,.0f} H100e per MW)",
            )
        for s in self.suppliers():
            s.step_supply()
        life = self.p["chip_useful_life_months"]
        for f in list(self.facilities.values()):
            if f.status == FacilityStatus.UNDER_CONSTRUCTION and f.online_month <= self.month:
                f.status = FacilityStatus.ONLINE
                owner = self.firm(f.owner_id)
                chips = f"{f.installed_h100e:,.0f} H100e"
                if f.pending_h100e >= 1.0:
                    chips += f", {f.pending_h100e:,.0f} more on order"
                elif f.installed_h100e < 1.0:
                    chips = "no chips yet"
                self.log(
                    "online",
                    f"{owner.name} brings {f.name} online ({f.power_mw:,.0f} MW, {chips})",
                    owner.name,
                )
            if f.chips and f.chips[0].installed_month + life <= self.month:
                f.chips = [b for b in f.chips if b.installed_month + life > self.month]
        for c in self.contracts_open():
            if c.state == ContractState.ACTIVE and c.end_month <= self.month:
                self._expire(c)
            elif c.state == ContractState.SIGNED and c.start_month <= self.month:
                self._activate(c)
        self._deliver()

    def _activate(self, c: Contract) -> None:
        self.book.activate(c)

    def contracts_open(self) -> list[Contract]:
        return self.book.open()

    def _deliver(self) -> None:
        """A site that has fewer chips online than it has sold delivers pro rata."""
        self.book.deliver(lambda site_id: self.facilities[site_id].capacity_h100e)

    def _expire(self, c: Contract) -> None:
        """At the end of its term a contract is renewed if the buyer still needs the
        capacity and will pay the seller's current ask; otherwise it expires."""
        buyer, seller = self.firm(c.buyer_id), self.firm(c.seller_id)
        site = self.facilities.get(c.facility_id)
        self.end_contract(c, "expired")
        if not (buyer and seller and site and buyer.kind == "lab"):
            return
        if buyer.need_h100e(self.month) <= buyer.secured_h100e(self.month):
            return
        rfq = RFQ(
            buyer.unique_id,
            c.capacity_h100e,
            self.month,
            buyer.term_months,
            c.purpose == "training",
            c.purpose,
            buyer.reservation_usd_per_h100e_hour(c.purpose == "training"),
            buyer.credit_rating,
            True,
        )
        for q in seller.quotes(rfq):
            if q.facility_id == site.facility_id and q.capacity_h100e >= c.capacity_h100e * 0.99:
                price = pricing.bargain(
                    q.ask_usd_per_h100e_hour,
                    rfq.reservation_usd_per_h100e_hour,
                    self.seller_power(),
                )
                if price is not None:
                    c.end_reason = "renewed"
                    new = self.sign(buyer, q, c.capacity_h100e, price, c.purpose, "renewal")
                    new.ramp_months = 0
                    self._activate(new)  # this month's activation pass has already run
                break

    # 2 ---------------------------------------------------------------- demand
    def stage_demand(self) -> None:
        """The market grows; shares follow capability (logit contest) with inertia and
        churn from last month's rationing; labs plan their next training run."""
        p = self.p
        prev = demand.compute_per_user(
            demand.agentic_share(
                self.month - 1, p["agentic_share_initial"], p["agentic_share_growth_per_year"]
            ),
            p["agentic_compute_multiplier"],
        )
        now = demand.compute_per_user(self.agentic_share, p["agentic_compute_multiplier"])
        if self.month > 0:
            old = self.demand_index
            growth = demand.growth_at(
                self.month, p["demand_growth_per_year"], p["demand_growth_halflife_years"]
            )
            self.demand_index = demand.next_demand_index(
                old, growth, p["demand_volatility"], float(self.rng.normal())
            )
            self.potential_demand_h100e *= self.demand_index / old * now / prev
        self.demand_h100e = self.potential_demand_h100e * demand.price_factor(
            self.spot_index,
            p["demand_reference_price_usd_per_h100e_hour"],
            p["demand_price_elasticity"],
        )
        labs = self.labs()
        caps = {lab.unique_id: lab.capability for lab in labs}
        targets = demand.logit_shares(caps, p["contest_intensity"])
        if self.month > 0:
            shares = demand.update_shares(
                {lab.unique_id: lab.share for lab in labs},
                targets,
                p["share_inertia"],
                {lab.unique_id: lab.rationed_share for lab in labs},
                p["churn_per_rationed_share"],
            )
            for lab in labs:
                lab.share = shares[lab.unique_id]
        self.refresh_leaders()
        for lab in labs:
            lab.plan_training()

    # 3 ---------------------------------------------------------------- contracting
    def seller_power(self) -> float:
        return pricing.seller_power(
            self.p["seller_bargaining_base"], self.p["bargaining_tightness_slope"], self.tightness
        )

    def stage_contracting(self) -> None:
        """Labs ask sellers they know, plus a few discovered ones, for quotes on their
        gap; they take the cheapest until the gap is covered; prices split the
        surplus between the ask and the buyer's reservation value."""
        self._quote_epochs += 1
        self.quote_epoch = self._quote_epochs
        try:
            self._contract_round()
        finally:
            self.quote_epoch = -1

    def _contract_round(self) -> None:
        p = self.p
        sellers = [f for f in self.firms() if f.facilities or f.builds_to_suit]
        seller_ids = [f.unique_id for f in sellers]
        share = self.seller_power()
        for f in sellers:
            f.unquoted_h100e *= 0.5
        labs = self.labs()
        # buyers take turns in a random order each month, so no lab always asks first
        for i in self.rng.permutation(len(labs)):
            lab = labs[int(i)]
            lab.try_start_run()
            rfqs = lab.requests()
            if not rfqs:
                continue
            known = [
                i
                for i in self.network.neighbours(lab.unique_id)
                if i in self._firm_by_id and self._firm_by_id[i].kind != "chip_supplier"
            ]
            k = min(p["discovered_sellers"], len(seller_ids))
            found = (
                [
                    seller_ids[int(i)]
                    for i in self.rng.choice(len(seller_ids), size=k, replace=False)
                ]
                if k
                else []
            )
            asked = sorted(set(known) | set(found))
            for rfq in rfqs:
                quotes = [q for sid in asked for q in self.firm(sid).quotes(rfq)]
                min_fill = (
                    lab.min_block_h100e() / rfq.capacity_h100e
                    if rfq.contiguous and p["training_min_gain"] > 0
                    else p["training_min_fill"]
                )
                chosen = pricing.choose_quotes(
                    quotes, rfq.capacity_h100e, rfq.contiguous, min_fill, rfq.start_month
                )
                if rfq.contiguous:
                    lab.training_misses = 0 if chosen else lab.training_misses + 1
                for q, take in chosen:
                    price = pricing.bargain(
                        q.ask_usd_per_h100e_hour, rfq.reservation_usd_per_h100e_hour, share
                    )
                    if price is None:
                        continue
                    if q.exclusive and q.capacity_h100e > rfq.capacity_h100e * 1.5:
                        continue  # a whole site far larger than the need (or budget) is declined
                    self.sign(lab, q, take, price, rfq.purpose, "negotiated")
            lab.try_start_run()

    # 4 ---------------------------------------------------------------- investment
    def stage_investment(self) -> None:
        """Providers build on backlog and prices; owners fill spare power with chips;
        suppliers reprice and plan output."""
        p = self.p
        density = self.h100e_per_mw(self.current_generation)
        for firm in self.providers() + [lab for lab in self.labs() if lab.max_build_mw > 0]:
            if firm.max_build_mw <= 0:
                continue
            recent = any(
                f.status == FacilityStatus.UNDER_CONSTRUCTION
                and self.month - f.build_started_month < 3
                for f in firm.facilities
            )
            if recent:
                continue
            floor = pricing.cost_floor_usd_per_h100e_hour(
                chip_cost_usd_per_h100e=self.best_chip_price(firm),
                chip_life_months=p["chip_useful_life_months"],
                facility_cost_usd_per_mw=p["facility_cost_usd_per_mw"],
                facility_life_months=p["facility_life_months"],
                h100e_per_mw=density,
                other_opex_usd_per_mw_month=p["other_opex_usd_per_mw_month"],
                power_price_usd_per_mwh=self.regions[firm.region].power_price_usd_per_mwh,
                pue=p["pue"],
                annual_rate=firm.annual_rate(),
            )
            expected = firm.expected_capacity_h100e(self.month + firm.build_months())
            if firm.kind == "lab":
                gap = firm.need_h100e(self.month + firm.build_months()) - firm.secured_h100e(
                    self.month + firm.build_months()
                )
                want = gap if gap > 0.1 * max(expected, 1.0) else 0.0
            else:
                committed = sum(c.capacity_h100e for c in self.book.sold_by(firm.unique_id))
                busy = committed >= p["target_utilisation"] * max(expected, 1.0)
                dear = self.spot_index >= p["spec_build_spot_ratio"] * floor
                want = (
                    max(firm.unquoted_h100e, (1.0 if dear else 0.25) * firm.max_site_mw() * density)
                    if (busy or dear)
                    else 0.0
                )
            h100e = min(want, firm.max_site_mw() * density)
            if h100e < 0.1 * firm.max_site_mw() * density:
                continue
            reserve = 3.0 * max(firm.burn_usd_per_month, 0.0)
            if firm.free_cash_usd() - reserve < self.build_cost_usd(firm, h100e):
                continue
            self.start_build(firm, h100e)
        for firm in self.firms():
            for f in firm.facilities:
                if f.status == FacilityStatus.RETIRED or f.pending_h100e > 0:
                    continue
                headroom = f.power_mw - f.power_used_mw(self.h100e_per_mw)
                h100e = headroom * density
                if (
                    h100e >= 0.05 * f.power_mw * density
                    and firm.free_cash_usd() > h100e * self.best_chip_price(firm)
                ):
                    self.order_chips(firm, f, h100e)
        for s in self.suppliers():
            s.step_investment()

    # 5 ---------------------------------------------------------------- spot
    def stage_spot(self) -> None:
        """Uncontracted online capacity meets immediate unmet demand at one price."""
        bids, asks = [], []
        for lab in self.labs():
            lab.spot_bought_h100e = 0.0
            q, price = lab.spot_bid()
            if q > 0:
                bids.append(spot.Order(lab.unique_id, q, price))
        for firm in self.firms():
            free = firm.online_capacity_h100e() - firm.delivered_sold_h100e()
            if firm.kind == "lab":
                free -= firm.own_reservation_h100e(self.month)
            if free > 1.0 and (firm.kind != "lab" or self.p["lease_to_rival_labs"]):
                f = max(firm.facilities, key=lambda f: f.capacity_h100e)
                floor = firm.facility_floor(f, 0.5)
                asks.append(
                    spot.Order(firm.unique_id, free, floor * self.p["spot_ask_share_of_floor"])
                )
        result = spot.clear(bids, asks)
        for buyer_id, q in result.bought.items():
            self.firm(buyer_id).spot_bought_h100e = q
        self._spot_result = result
        self.spot_volume_h100e = result.volume_h100e
        self.spot_price = (
            result.price_usd_per_h100e_hour
            if result.price_usd_per_h100e_hour is not None
            else math.nan
        )
        if result.price_usd_per_h100e_hour is not None:
            self.spot_index = 0.5 * self.spot_index + 0.5 * result.price_usd_per_h100e_hour
        self.unmet_last_h100e = result.unmet_h100e
        # scarcity: the share of the month's compute demand that found no capacity
        wanted = sum(lab.share * self.demand_h100e + lab.run_h100e for lab in self.labs())
        self.tightness = pricing.tightness(result.unmet_h100e, max(wanted, 1.0))
        self.scarcity_markup = pricing.scarcity_markup(
            self.tightness, self.p["scarcity_markup_slope"], self.p["max_scarcity_markup"]
        )

    # 6 ---------------------------------------------------------------- use
    def stage_use(self) -> None:
        for lab in self.labs():
            lab.step_use()
            lab.note_rationing()
        self.refresh_leaders()

    # 7 ---------------------------------------------------------------- settlement
    def stage_settlement(self) -> None:
        """Contract and spot payments, revenue, running costs, debt service."""
        result = self._spot_result
        if result.volume_h100e > 0:
            # buyers in id order take from sellers in id order, each seller until it
            # is used up: one pass over both lists
            price = result.price_usd_per_h100e_hour
            sellers = sorted(result.sold.items())
            left_to_sell = [q for _, q in sellers]
            j = 0
            for buyer_id, q in sorted(result.bought.items()):
                buyer = self.firm(buyer_id)
                left = q
                while j < len(sellers):
                    take = min(left, left_to_sell[j])
                    if take <= 0:
                        j += 1
                        continue
                    self.ledger.pay(
                        buyer, self.firm(sellers[j][0]), take * price * HOURS_PER_MONTH, "spot"
                    )
                    left_to_sell[j] -= take
                    left -= take
                    if left <= 1e-9:
                        break
        for c in self.contracts_open():
            if c.state != ContractState.ACTIVE or c.delivered_h100e <= 0:
                continue
            buyer = self.firm(c.buyer_id)
            used = buyer.used_share() if buyer.kind == "lab" else 1.0
            amount = c.monthly_payment_usd(self.month, c.delivered_h100e, used)
            c.paid_usd += amount
            self.ledger.pay(buyer, self.firm(c.seller_id), amount, "contract")
        for firm in self.firms() + self.suppliers():
            if hasattr(firm, "step_settlement"):
                firm.step_settlement()
        for firm in self.firms():
            firm.note_burn(self.ledger.net_out_usd(firm))
        lifecycle.settle(self)

    # 8 ---------------------------------------------------------------- observation
    def record_run(self, lab: Lab, h100e_months: float) -> None:
        self.runs_this_month.append(h100e_months)
        if h100e_months > self.largest_run_h100e_months:
            self.largest_run_h100e_months = h100e_months
        self.log(
            "training",
            f"{lab.name} completes a training run of {h100e_months:,.0f} H100e-months",
            lab.name,
        )

    def stage_observation(self) -> None:
        self.run_history.append(
            max(
                self.largest_run_h100e_months,
                max((lab.capability_h100e_months for lab in self.labs()), default=0),
            )
        )
        for kind in ("hyperscaler", "neocloud", "lab"):
            self.capex_history[kind].append(self.flows.get("capex:" + kind, 0.0))
        self.metrics = self.compute_metrics()
        self.datacollector.collect(self)

    def compute_metrics(self) -> dict[str, float]:
        labs, providers, suppliers = self.labs(), self.providers(), self.suppliers()
        firms = providers + labs
        cap_by_type = dict.fromkeys(("hyperscaler", "neocloud", "lab"), 0.0)
        cap_by_firm = {}
        for f in firms:
            c = f.online_capacity_h100e()
            cap_by_type[f.kind] += c
            cap_by_firm[f.unique_id] = c
        total_cap = sum(cap_by_type.values())
        lab_compute = [lab.pool_h100e for lab in labs]
        chip_sizes = [sum(s.delivered_12m) for s in suppliers]
        demand_total = sum(lab.demand_h100e for lab in labs)
        served = sum(lab.used_inference_h100e for lab in labs)
        training = sum(lab.used_training_h100e for lab in labs)
        prices = {b: [] for b in TERM_BUCKETS}
        for c in self.new_contracts:
            prices[term_bucket(c.term_months)].append(
                (c.capacity_h100e, c.price_usd_per_h100e_hour)
            )
        active = [c for c in self.contracts_open() if c.state == ContractState.ACTIVE]
        out = {
            "spot_price_usd_per_h100e_hour": self.spot_price,
            "spot_price_index_usd_per_h100e_hour": self.spot_index,
            "spot_price_usd_per_mw_month": self.spot_index * HOURS_PER_MONTH * self.h100e_per_mw(0),
            "spot_volume_h100e": self.spot_volume_h100e,
            "market_tightness": self.tightness,
            "new_contracts": float(len(self.new_contracts)),
            "new_contract_h100e": sum(c.capacity_h100e for c in self.new_contracts),
            "active_contracts": float(len(active)),
            "contracted_h100e": sum(c.delivered_h100e for c in active),
            "capacity_h100e_total": total_cap,
            "capacity_h100e_hyperscaler": cap_by_type["hyperscaler"],
            "capacity_h100e_neocloud": cap_by_type["neocloud"],
            "capacity_h100e_lab": cap_by_type["lab"],
            "hyperscaler_share_of_capacity": cap_by_type["hyperscaler"] / total_cap
            if total_cap
            else 0.0,
            "power_mw_online": sum(
                f.power_mw for f in self.facilities.values() if f.status == FacilityStatus.ONLINE
            ),
            "power_mw_under_construction": sum(
                f.power_mw
                for f in self.facilities.values()
                if f.status == FacilityStatus.UNDER_CONSTRUCTION
            ),
            "capacity_hhi": metrics.hhi(cap_by_firm.values()),
            "capacity_top4_share": metrics.top_k_share(cap_by_firm.values()),
            "lab_compute_hhi": metrics.hhi(lab_compute),
            "lab_compute_top4_share": metrics.top_k_share(lab_compute),
            "chip_supply_hhi": metrics.hhi(chip_sizes),
            "chip_supply_top4_share": metrics.top_k_share(chip_sizes),
            "chip_production_h100e_per_month": sum(s.production_h100e_per_month for s in suppliers)
            * self.p["chip_supply_multiplier"],
            "chip_backlog_h100e": sum(s.backlog_h100e() for s in suppliers),
            "chip_price_usd_per_h100e": self.merchant_price_usd_per_h100e(),
            "merchant_share_of_chip_supply": (
                sum(v for s, v in zip(suppliers, chip_sizes, strict=False) if not s.captive)
                / sum(chip_sizes)
                if sum(chip_sizes) > 0
                else 0.0
            ),
            "active_labs": float(len(labs)),
            "active_neoclouds": float(len(self._of_type(Neocloud))),
            "active_hyperscalers": float(len(self._of_type(Hyperscaler))),
            "active_providers": float(len(providers)),
            "cumulative_exits": self.counters["exits"],
            "cumulative_defaults": self.counters["defaults"],
            "cumulative_acquisitions": self.counters["acquisitions"],
            "cumulative_blocked_mergers": self.counters["blocked"],
            "cumulative_surplus_leases": self.counters["surplus_leases"],
            "cumulative_circular_deals": self.counters["circular_deals"],
            "largest_run_h100e_months": self.run_history[-1],
            "largest_run_growth_12m": metrics.growth_factor(self.run_history, 12),
            "largest_active_run_h100e": max((lab.run_h100e for lab in labs), default=0.0),
            "frontier_ceiling_h100e_months": max(
                self.p["training_run_months"], self.p["training_run_max_months"]
            )
            * max((f.capacity_h100e for f in self.facilities.values()), default=0.0),
            "capex_usd_12m_hyperscaler": sum(self.capex_history["hyperscaler"][-12:]),
            "capex_usd_12m_neocloud": sum(self.capex_history["neocloud"][-12:]),
            "capex_usd_12m_lab": sum(self.capex_history["lab"][-12:]),
            "demand_h100e": demand_total,
            "served_inference_h100e": served,
            "training_h100e": training,
            "rationed_share": 1.0 - served / demand_total if demand_total > 0 else 0.0,
            "inference_share_of_compute": served / (served + training)
            if served + training > 0
            else 0.0,
            "utilisation": (served + training) / total_cap if total_cap > 0 else 0.0,
            "lab_cash_usd": sum(lab.cash_usd for lab in labs),
            "lab_revenue_usd_per_month": sum(lab.revenue_usd for lab in labs),
            "neocloud_debt_usd": sum(f.debt_usd for f in self._of_type(Neocloud)),
            "sentiment_index": {"winter": -1.0, "normal": 0.0, "boom": 1.0}[self.sentiment],
            "agentic_share": self.agentic_share,
        }
        for b in TERM_BUCKETS:
            vol = sum(v for v, _ in prices[b])
            out[f"contract_price_{b}_usd_per_h100e_hour"] = (
                sum(v * pr for v, pr in prices[b]) / vol if vol > 0 else math.nan
            )
        out["capex_usd_12m_total"] = (
            out["capex_usd_12m_hyperscaler"]
            + out["capex_usd_12m_neocloud"]
            + out["capex_usd_12m_lab"]
        )
        out.update(self.network.metrics())
        return out

    # ================================================================== running
    def run_months(self, months: int, progress=None) -> None:
        """Advance ``months`` steps; ``progress`` is called after each with the model."""
        for _ in range(int(months)):
            self.step()
            if progress is not None:
                progress(self)

    @property
    def horizon_months(self) -> int:
        return round(self.p["years"] * 12)


def _reporter(name: str):
    def report(model: ComputeMarket) -> float:
        return model.metrics.get(name, math.nan)

    report.__name__ = name
    return report
