"""AI labs: buy compute for inference (serving users) and training (frontier runs);
sell the surplus of their own sites like a neocloud when they have one."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agents.base import Firm
from agents.world import World
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    Contract,
    ContractState,
    FirmKind,
    Purpose,
    Quote,
    Strategy,
)
from market.mechanisms import pricing, terms, training

# rationing spells in the event log (reporting thresholds, not behaviour)
SPELL_START_SHARE = 0.05
SPELL_END_SHARE = 0.01
SPELL_QUIET_MONTHS = 3
# revenue growth is measured over the last year: 13 monthly values, at least 4
REVENUE_HISTORY_MONTHS = 13
MIN_REVENUE_HISTORY_MONTHS = 4
NEVER_RAISED_MONTH = -99  # last_raise_month before any attempt: long enough ago
_MISSING = object()  # not kept yet (``Lab.held``)
_TERM_MENUS: dict[int, tuple[int, ...]] = {}  # terms.term_menu by longest term (a pure function)


class Lab(Firm):
    kind = FirmKind.LAB

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model, name, spec)
        self.share = float(spec["initial_share"])
        self.capability_h100e_months = float(spec["capability_h100e_months"])
        # its users' own growth over the market's at the start (1: with the market)
        self.own_demand_growth_per_year = float(spec.get("own_demand_growth_per_year", 1.0))
        self.last_run_h100e_months = self.capability_h100e_months
        self.strategy = Strategy(spec["strategy"])
        # a term every request asks for (0: the term is chosen per request)
        self.fixed_term_months = int(spec["preferred_term_months"]) or model.p.preferred_term_months
        self.revenue_usd = float(spec.get("revenue_usd_per_month", -1.0))
        self.revenue_history: list[float] = []
        self.run_h100e = 0.0  # size of the run in progress (0: none)
        self.run_months_done = 0
        self.run_months_planned = 0  # length of the run in progress
        self.run_efficiency = 1.0  # share of the run's H100e it trains on (linked sites: less)
        self.run_goal_h100e_months = 0.0  # what the next run should reach
        self.run_stalled_months = 0  # months in a row the run in progress made no progress
        self.run_plan_h100e = 0.0
        self.rationed_share = 0.0
        self.spot_bought_h100e = 0.0
        self.spot_sold_h100e = 0.0  # sold on spot this month: out of its own pool
        self.pool_h100e = 0.0
        self.used_inference_h100e = 0.0
        self.used_training_h100e = 0.0
        self.demand_h100e = 0.0
        self.investors: dict[int, float] = {}
        self.training_misses = 0  # months in a row a training request found no block
        self.last_raise_month = NEVER_RAISED_MONTH  # month of the last attempt to raise money
        # the rationing spell in progress, for the event log: its first month (-1: none),
        # its worst month's rationed share, the months in a row below the end threshold
        self.spell_start_month = -1
        self.spell_worst_share = 0.0
        self.spell_quiet_months = 0
        # kept until the lab's open contracts change (``_kept_for_version``): its contract
        # sums by month, and what ``held`` keeps
        self._sums: dict[int, tuple[float, float]] = {}
        self._held: dict[str, Any] = {}
        self._sums_version = -1
        self._swing: tuple[tuple[float, ...], float] = ((), 0.0)  # (history, its swing)
        self._swing_kept: tuple[list[float] | None, float] = (None, 0.0)  # (the list, swing)
        self._cluster_kept: tuple[tuple, training.Cluster | None] = ((), None)  # (key, cluster)
        # (round, the revenue history it was found on, worthwhile_run_months): the history
        # is replaced, never changed in place, when the use stage records a month
        self._worthwhile_kept: tuple[int, list[float] | None, int] = (-1, None, 0)

    # ------------------------------------------------------------------ views
    @property
    def capability(self) -> float:
        """Capability index: decades (log10) of the best completed run's H100e-months."""
        return math.log10(max(self.capability_h100e_months, 1.0))

    def annual_rate(self) -> float:
        return self.model.p.lab_cost_of_capital

    def inference_forecast_h100e(self, month: int) -> float:
        m = self.model
        ahead = max(0, month - m.month)
        return self.share * m.demand_forecast_h100e(ahead)

    def training_need_h100e(self) -> float:
        return self.run_h100e if self.run_h100e > 0 else self.run_plan_h100e

    def need_h100e(self, month: int) -> float:
        return self.inference_forecast_h100e(month) + self.training_need_h100e()

    def needs_h100e(self, months: range, forecast: Sequence[float]) -> dict[int, float]:
        """``need_h100e`` for each of ``months`` (from this month on), given the market's
        demand forecast for each (``demand_forecast_h100e``, the same for every lab)."""
        training = self.training_need_h100e()
        return {t: self.share * f + training for t, f in zip(months, forecast, strict=True)}

    def _contract_sums(self, month: int) -> tuple[float, float]:
        """(bought less resold, sold) for ``month``, kept per month until the contracts
        the lab buys, sells or resells change (the book's ``version``)."""
        self._kept_for_version()
        sums = self._sums.get(month)
        if sums is None:
            sums = self._sums[month] = _sums_in(self.held("spans", _contract_spans), month)
        return sums

    def contract_sums_ahead(self, months: Iterable[int]) -> None:
        """Work out the sums ``_contract_sums`` keeps for several months at once, so
        asking for each month after it is a lookup (the same sums: each month's terms
        are added in the same order)."""
        self._kept_for_version()
        missing = [t for t in months if t not in self._sums]
        if len(missing) < 2:
            return
        spans = self.held("spans", _contract_spans)
        for t in missing:
            self._sums[t] = _sums_in(spans, t)

    def _kept_for_version(self) -> None:
        """Forget the sums and values kept about the lab's open contracts once they
        change: the book's ``version`` of the lab grows whenever a contract it buys, sells
        or resells joins or leaves its indexes, changes parties or gets notice, and no
        other field a kept value reads changes after signing."""
        version = self.model.book.version(self.unique_id)
        if version != self._sums_version:
            self._sums = {}
            self._held = {}
            self._sums_version = version

    def held(self, name: str, work_out: Callable[[Lab], Any]) -> Any:
        """``work_out(self)``, a value read off the lab's open contracts alone (not their
        state of delivery, nor the month), kept under ``name`` until they change
        (``_kept_for_version``)."""
        self._kept_for_version()
        value = self._held.get(name, _MISSING)
        if value is _MISSING:
            value = self._held[name] = work_out(self)
        return value

    def bought_h100e(self, month: int) -> float:
        """Capacity bought for ``month``, less what the lab has resold of it."""
        return self._contract_sums(month)[0]

    def resold_h100e(self, month: int) -> float:
        resales = self.model.book.resold_view(self.unique_id)
        return sum(c.capacity_h100e for c in resales if c.overlaps(month, month + 1))

    def own_free_h100e(self, month: int) -> float:
        sold = self._contract_sums(month)[1]
        return max(0.0, self.expected_capacity_h100e(month) - sold)

    def secured_h100e(self, month: int) -> float:
        """``own_free_h100e(month) + bought_h100e(month)``, from one lookup of the sums."""
        bought, sold = self._contract_sums(month)
        return max(0.0, self.expected_capacity_h100e(month) - sold) + bought

    def own_reservation_h100e(self, month: int, expected_h100e: float | None = None) -> float:
        need = self.need_h100e(month) - self.bought_h100e(month)
        if expected_h100e is None:
            expected_h100e = self.expected_capacity_h100e(month)
        return min(expected_h100e, max(0.0, need))

    def reservation_inputs(self) -> tuple:
        """(its contracts' ``version``, share, run and planned run): with the month's
        demand forecast, which a contracting round leaves as it is, what
        ``own_reservation_h100e`` reads besides the month and its expected capacity."""
        return (
            self.model.book.version(self.unique_id),
            self.share,
            self.run_h100e,
            self.run_plan_h100e,
        )

    def offers_whole_sites(self) -> bool:
        return True

    def sells_to(self, rfq: RFQ) -> bool:
        if rfq.buyer_id == self.unique_id or not self.facilities:
            return False
        return not rfq.buyer_is_lab or self.model.p.lease_to_rival_labs

    def blocks_by_site(self) -> dict[int, float]:
        """Contiguous capacity at each site: own free capacity there plus bought there."""
        blocks: dict[int, float] = {}
        for f in self.facilities:
            sold = sum(
                c.delivered_h100e
                for c in self.model.book.at_site_view(f.facility_id)
                if c.state == ContractState.ACTIVE
            )
            blocks[f.facility_id] = max(0.0, f.capacity_h100e - sold)
        for c in self.bought:
            if c.state == ContractState.ACTIVE:
                blocks[c.facility_id] = blocks.get(c.facility_id, 0.0) + c.delivered_h100e
        return blocks

    def cluster(self) -> training.Cluster:
        """The largest cluster the lab can train one run on: one site, or its sites in
        one region linked (``training_linked_site_efficiency``). While the contracting
        stage runs it is kept until a contract the lab buys or sells starts or stops
        delivery (``ContractBook.delivery_version``) or its sites change: nothing there
        brings chips online or changes what a contract delivers, and the contracts it
        signs are not yet delivered."""
        m = self.model
        if m.quote_epoch < 0:
            return self._cluster()
        key = (m.quote_epoch, m.book.delivery_version(self.unique_id), len(self.facilities))
        kept_key, kept = self._cluster_kept
        if kept is None or kept_key != key:
            kept = self._cluster()
            self._cluster_kept = (key, kept)
        return kept

    def _cluster(self) -> training.Cluster:
        sites = self.model.facilities
        blocks = (
            (sites[fid].region if fid in sites else f"site {fid}", h100e)
            for fid, h100e in self.blocks_by_site().items()
        )
        return training.largest_cluster(blocks, self.model.p.training_linked_site_efficiency)

    def largest_block_h100e(self) -> float:
        """What the largest cluster gives a run, in H100e."""
        return self.cluster().effective_h100e

    def committed_usd_per_month(self) -> float:
        """What its contracts commit it to pay per month (kept: ``held``)."""
        return self.held("committed", _committed_usd_per_month)

    def budget_usd_per_month(self) -> float:
        """What the lab can commit to spend on compute per month: revenue plus a
        year's share of its cash."""
        return max(0.0, self.revenue_usd) + max(0.0, self.cash_usd) / 12.0

    def value_usd_per_h100e_hour(self, training: bool) -> float:
        m, p = self.model, self.model.p
        v = m.revenue_usd_per_h100e_hour * (
            1.0 + p.rationing_value_multiplier * self.rationed_share
        )
        if training:
            behind = max(0.0, m.leader_capability - self.capability)
            v = m.revenue_usd_per_h100e_hour * p.training_value_multiplier * (1.0 + behind)
        return v

    def reservation_usd_per_h100e_hour(self, training: bool, term_months: int = 0) -> float:
        """Value of compute, capped by the outside option (renting on spot) — but only
        while spot can be had: when last month's spot market left demand unmet,
        there is no outside option and the buyer pays up to its value. The cap is for a
        full-term contract; a shorter term's cap carries the short-term premium sellers
        ask by (``pricing.term_factor``), so a buyer's limit for each term compares with
        the sellers' asks for that term."""
        value = self.value_usd_per_h100e_hour(training)
        if self.model.tightness > 0.0:
            return value
        p = self.model.p
        outside = self.model.spot_index * p.outside_option_markup
        if term_months > 0:
            outside *= pricing.term_factor(
                term_months, p.short_term_premium, full_term_months=p.full_term_months
            )
        return min(value, max(outside, 1e-6))

    # ------------------------------------------------------------------ terms
    @property
    def term_months(self) -> int:
        """The term of a long commitment (a circular deal): the lab's fixed term, or the
        longest term it accepts for serving users."""
        return self.fixed_term_months or self.term_for(False, self.model.month + 1)[1]

    def term_for(self, training: bool, start: int) -> tuple[int, int]:
        """(preferred, longest acceptable) term of a request starting at ``start``. A
        lab with a fixed term keeps it. Otherwise it compares the standard terms at the
        term structure sellers ask by (``pricing.term_factor``), each rolled over the
        longest term at the prices chip generations are expected to bring, by what a
        used H100e-hour costs it (``terms.buyer_terms``): take-or-pay on what it may not
        need beyond its firm horizon, and renewals."""
        if self.fixed_term_months:  # one term, take it or leave it
            return self.fixed_term_months, 0
        m = self.model
        firm, uncertainty = self._outlook_inputs(training, start)
        # a training block is held at least for the run: no shorter term is on its menu
        if m.quote_epoch < 0:
            shortest = self.longest_run_months() if training else 1
            return self._terms(shortest, self._outlook(firm, uncertainty))
        # while the contracting stage runs, kept per its inputs: the same for every lab
        # with the same outlook (the parameters do not change while a round runs)
        key = ("terms", training, firm, uncertainty)
        chosen = m.quote_memo.get(key)
        if chosen is None:
            shortest = self.longest_run_months() if training else 1
            outlook = self._outlook(firm, uncertainty)
            chosen = m.quote_memo[key] = self._terms(shortest, outlook)
        return chosen

    def possible_terms(self) -> tuple[int, ...]:
        """Every term ``term_for`` can return, preferred or longest: the lab's fixed term,
        or the standard terms on the menu."""
        if self.fixed_term_months:
            return (self.fixed_term_months,)
        longest = self.model.p.longest_term_months
        menu = _TERM_MENUS.get(longest)
        if menu is None:
            menu = _TERM_MENUS[longest] = terms.term_menu(longest)
        return menu

    def _term_structure(self, shortest: int) -> tuple:
        """What the term structure sellers ask by depends on, from ``shortest`` on: the
        key under which term prices are kept while the contracting stage runs."""
        p = self.model.p
        return (
            shortest,
            p.short_term_premium,
            p.full_term_months,
            p.longest_term_months,
            p.generation_cost_gain,
            p.generation_interval_months,
        )

    def _terms(self, shortest: int, outlook: dict[str, float]) -> tuple[int, int]:
        """``terms.buyer_terms`` on the term structure sellers ask by, with the prices
        rolled over the longest term worked out once per round (``_rolled_terms``) and
        the costs of the terms in one loop (``terms.buyer_terms_at``)."""
        return terms.buyer_terms_at(
            self._rolled_terms(shortest),
            self.model.p.buyer_term_tolerance,
            outlook["firm_horizon_months"],
            outlook["uncertainty_per_year"],
            outlook["take_or_pay_share"],
            outlook["renewal_cost_months"],
        )

    def _rolled_terms(self, shortest: int) -> dict[int, float]:
        """The term factor of every term on the menu from ``shortest`` on, rolled over
        the longest at the drift chip generations bring (as ``terms.buyer_terms`` rolls
        them): the same for every lab, so kept per its inputs while the contracting
        stage runs, where most labs' outlooks differ."""
        m, p = self.model, self.model.p
        key = ("rolled terms", *self._term_structure(shortest))
        rolled = m.quote_memo.get(key) if m.quote_epoch >= 0 else None
        if rolled is None:
            factor = {
                t: pricing.term_factor(t, p.short_term_premium, full_term_months=p.full_term_months)
                for t in terms.term_menu(p.longest_term_months)
                if t >= shortest
            }
            drift = terms.price_drift_per_year(p.generation_cost_gain, p.generation_interval_months)
            rolled = terms.rolled_over_longest(factor, drift)
            if m.quote_epoch >= 0:
                m.quote_memo[key] = rolled
        return rolled

    def term_outlook(self, training: bool, start: int) -> dict[str, float]:
        """How firm and how sure the need behind a request is: firm for
        ``buyer_firm_horizon_months`` from now (a training block: for the longest run),
        never beyond the months its cash lasts, less the months until the request
        starts; beyond that uncertain by the larger of ``forecast_uncertainty_per_year``
        and the yearly swings of its own revenue."""
        return self._outlook(*self._outlook_inputs(training, start))

    def _outlook_inputs(self, training: bool, start: int) -> tuple[float, float]:
        """(firm horizon, uncertainty per year) of ``term_outlook``: what in it is the
        lab's own (the rest are parameters)."""
        m = self.model
        p = m.p
        if training:
            firm = max(p.training_run_months, p.training_run_max_months)  # longest_run_months
        else:
            firm = p.buyer_firm_horizon_months
        burn = self.burn_usd_per_month  # runway_months, written out
        if burn > 0:
            firm = min(firm, self.cash_usd / burn)
        firm -= max(0, start - m.month - 1)
        kept_list, swing = self._swing_kept  # revenue_swing, while its history is kept
        if kept_list is not self.revenue_history:
            swing = self.revenue_swing()
        return max(0.0, firm), max(p.forecast_uncertainty_per_year, swing)

    def _outlook(self, firm_horizon_months: float, uncertainty_per_year: float) -> dict:
        p = self.model.p
        return {
            "firm_horizon_months": firm_horizon_months,
            "uncertainty_per_year": uncertainty_per_year,
            "take_or_pay_share": p.take_or_pay_share,
            "renewal_cost_months": p.renewal_cost_months,
        }

    def revenue_swing(self) -> float:
        """Yearly standard deviation of the monthly log changes of its revenue (0 with
        too short a history). Kept until the history changes: the list is replaced,
        never changed in place, when a month is recorded."""
        kept_list, kept = self._swing_kept
        if kept_list is self.revenue_history:
            return kept
        history = tuple(self.revenue_history)
        if history != self._swing[0]:
            self._swing = (history, self._revenue_swing(history))
        self._swing_kept = (self.revenue_history, self._swing[1])
        return self._swing[1]

    @staticmethod
    def _revenue_swing(history: tuple[float, ...]) -> float:
        h = [x for x in history if x > 0]
        if len(h) < MIN_REVENUE_HISTORY_MONTHS:
            return 0.0
        steps = [math.log(b / a) for a, b in itertools.pairwise(h)]
        mean = sum(steps) / len(steps)
        return math.sqrt(12.0 * sum((x - mean) ** 2 for x in steps) / (len(steps) - 1))

    # ------------------------------------------------------------------ training
    def plan_training(self, largest_site_h100e: float) -> None:
        """Size the next frontier run against the strongest rival's last run (or the
        lab's own run in progress), extrapolated a year ahead at the frontier's recent
        growth, times the lab's ambition: labs plan the next run while training this one.
        The cluster it plans for reaches that goal in the longest run worth training
        (``worthwhile_run_months``), within its training budget and no larger than the
        largest site online (``largest_site_h100e``, found once a month for all labs)."""
        m, p = self.model, self.model.p
        months = self.worthwhile_run_months()
        rival = m.largest_last_run_h100e_months(exclude=self.unique_id)
        own = max(
            self.last_run_h100e_months,
            self.run_h100e * self.run_efficiency * self.run_months_planned
            if self.run_h100e > 0
            else 0.0,
        )
        self.run_goal_h100e_months = (
            max(rival, own) * p.race_ambition * m.frontier_growth_per_year()
        )
        # no cluster larger than the largest site online: a plan past it asks for a block
        # no seller holds, and the lab would wait for it instead of training
        target = min(self.run_goal_h100e_months / months, largest_site_h100e)
        if p.training_run_cap_h100e > 0:
            target = min(target, p.training_run_cap_h100e)
        price = max(
            self.compute_price_usd_per_h100e_hour(), p.training_min_price_usd_per_h100e_hour
        )
        budget = p.training_budget_share_of_cash * (
            max(0.0, self.cash_usd) + 12 * max(0.0, self.revenue_usd)
        )
        affordable = budget / (price * HOURS_PER_MONTH * months)
        self.run_plan_h100e = max(0.0, min(target, affordable))

    def compute_price_usd_per_h100e_hour(self) -> float:
        """What an H100e-hour of compute costs the lab: the mean price of the capacity it
        holds under contract, or the spot index if that is lower or it holds none."""
        held = price = 0.0
        for c in self.bought:
            if c.state == ContractState.ACTIVE:
                held += c.capacity_h100e
                price += c.capacity_h100e * c.price_usd_per_h100e_hour
        spot = self.model.spot_index
        return spot if held <= 0 else min(spot, price / held)

    def worthwhile_run_months(self) -> int:
        """The longest run worth training (``training.worthwhile_run_months``), between
        ``training_run_months`` and the longest run a lab commits to: the compute its
        training budget commands grows as chip generations cut the price of compute and
        as its revenue grows (over the last year, at most ``frontier_growth_max_per_year``)."""
        m, p = self.model, self.model.p
        # while the contracting stage runs, kept per lab until its revenue history changes
        epoch, history = m.quote_epoch, self.revenue_history
        kept_epoch, kept_history, kept = self._worthwhile_kept
        if epoch >= 0 and kept_epoch == epoch and kept_history is history:
            return kept
        growth = self.revenue_growth_per_year()
        # and kept per revenue growth (the rest are parameters)
        key = ("worthwhile run months", growth)
        months = m.quote_memo.get(key) if epoch >= 0 else None
        if months is None:
            cheaper = math.exp(
                -terms.price_drift_per_year(p.generation_cost_gain, p.generation_interval_months)
            )
            budget = min(max(1.0, growth), p.frontier_growth_max_per_year)
            months = training.worthwhile_run_months(
                cheaper * budget, p.training_run_months, self.longest_run_months()
            )
            if epoch >= 0:
                m.quote_memo[key] = months
        if epoch >= 0:
            self._worthwhile_kept = (epoch, history, months)
        return months

    def min_block_h100e(self) -> float:
        """The smallest block worth a run: ``training_min_fill`` of the plan, or, when
        that is less, a block whose run beats the frontier the lab races against (its
        own best and the strongest rival's last run) by ``training_min_gain``."""
        return min(self.model.p.training_min_fill * self.run_plan_h100e, self.beating_block_h100e())

    def beating_block_h100e(self) -> float:
        """The block whose run beats the frontier by ``training_min_gain`` (inf when off)."""
        p = self.model.p
        if p.training_min_gain <= 0:
            return math.inf
        return p.training_min_gain * self.frontier_h100e_months() / self.worthwhile_run_months()

    def frontier_h100e_months(self) -> float:
        """The frontier the lab races against: its own best run or the strongest rival's
        last run, whichever is larger."""
        return max(
            self.capability_h100e_months,
            self.model.largest_last_run_h100e_months(exclude=self.unique_id),
        )

    def block_coming(self, need_h100e: float | None = None) -> bool:
        """A signed training contract, not yet started, big enough for a run (at least
        ``need_h100e``: ``min_block_h100e()``, unless the caller worked it out)."""
        signed, training = ContractState.SIGNED, Purpose.TRAINING
        coming = [c for c in self.bought if c.state == signed and c.purpose == training]
        if not coming:
            return False
        need = self.min_block_h100e() if need_h100e is None else need_h100e
        return any(c.capacity_h100e >= need for c in coming)

    def longest_run_months(self) -> int:
        p = self.model.p
        return max(p.training_run_months, p.training_run_max_months)

    def try_start_run(self) -> None:
        """Start the planned run on the largest cluster (``cluster``): at once if it
        holds the whole plan, reaches the run's goal within the longest run worth
        training, or beats the frontier by ``training_min_gain``; on a smaller cluster
        only after asking in vain. The run trains as long as its goal needs, between
        ``training_run_months`` and that worthwhile length, within the budget."""
        if self.run_h100e > 0 or self.run_plan_h100e <= 0:
            return
        p = self.model.p
        cluster = self.cluster()
        block = cluster.effective_h100e
        if p.training_run_cap_h100e > 0:  # the cap counts the H100e a run occupies
            block = min(block, p.training_run_cap_h100e * cluster.efficiency)
        worth, goal = self.worthwhile_run_months(), self.run_goal_h100e_months
        if not self._starts_on(block, worth, goal):
            return
        months = training.run_months(goal, block, p.training_run_months, worth)
        # the plan's H100e-months (its budget and cap) spread over the run; a run that may
        # stretch trains no more than its goal needs
        run = min(block, self.run_plan_h100e * worth / months)
        if worth > p.training_run_months:
            run = min(run, goal / months)
        h100e = run / cluster.efficiency  # what the run occupies
        if (
            self.strategy == Strategy.INFERENCE_FIRST
            and self.at_hand_h100e() - self.share * self.model.demand_h100e < h100e
        ):
            return  # users come first: no run while they would take the block
        self.run_h100e = h100e
        self.run_efficiency = cluster.efficiency
        self.run_months_planned = months
        self.run_months_done = 0
        self.run_stalled_months = 0
        self.training_misses = 0
        self.model.log(
            "training",
            f"{self.name} starts a training run on {h100e:,.0f} H100e"
            + (f" for {months} months" if months != p.training_run_months else "")
            + (f" across {cluster.sites} linked sites" if cluster.sites > 1 else ""),
            self.name,
        )

    def _starts_on(self, block: float, worth: int, goal: float) -> bool:
        """Whether a run starts on ``block`` (effective H100e): it holds the whole plan,
        reaches the goal within ``worth`` months where runs may stretch, beats the
        frontier by ``training_min_gain``, or, after asking in vain, is at least the
        smallest block worth a run (``min_block_h100e``) with none coming."""
        p = self.model.p
        if block >= self.run_plan_h100e:
            return True
        # a smaller block reaches the goal by training longer, where runs may stretch
        if worth > p.training_run_months and block * worth >= goal:
            return True
        beating = self.beating_block_h100e()
        if block >= beating:
            return True
        least = min(p.training_min_fill * self.run_plan_h100e, beating)  # min_block_h100e
        return block >= least and self.patience_spent() and not self.block_coming(least)

    # ------------------------------------------------------------------ contracting
    def requests(self) -> list[RFQ]:
        """Requests for quotes from the gap between needed and secured capacity: a
        training block first, then inference for next month and the horizon, within
        what the lab can commit to spend."""
        budget_left = self.budget_usd_per_month() - self.committed_usd_per_month()
        if budget_left <= 0:
            return []
        out: list[RFQ] = []
        training = self.training_request(budget_left)
        if training is not None:
            out.append(training)
            budget_left -= (
                training.capacity_h100e * training.reservation_usd_per_h100e_hour * HOURS_PER_MONTH
            )
        out.extend(self.inference_requests(budget_left, training is not None))
        return out

    def training_request(self, budget_left: float) -> RFQ | None:
        """A request for a block for the planned run, while none is at hand or coming."""
        m, p = self.model, self.model.p
        if not (
            self.run_plan_h100e > 0
            and self.largest_block_h100e() < self.run_plan_h100e
            and not self.block_coming()
        ):
            return None
        # during a run, or after asking in vain, a lab asks for a block to be
        # ready later (a forward start that a builder can meet)
        ahead = self.run_h100e > 0 or self.patience_spent()
        forward = int(p.training_forward_start_share * p.rfq_horizon_months)
        start = m.month + 1 if not ahead else m.month + forward + 1
        term, longest = self.term_for(True, start)
        res = self.reservation_usd_per_h100e_hour(True, term)
        # the training budget covers the whole commitment, not just the run, and at
        # least a full term's (a shorter term is renewed while the lab keeps training)
        training_budget = p.training_budget_share_of_cash * (
            max(0.0, self.cash_usd) + 12 * max(0.0, self.revenue_usd)
        )
        size = min(
            self.run_plan_h100e,
            budget_left / (res * HOURS_PER_MONTH),
            training_budget / (res * HOURS_PER_MONTH * max(term, p.full_term_months)),
        )
        if size < 1.0:
            return None
        # a frontier block is worth waiting for: up to two years for a new site
        return RFQ(
            buyer_id=self.unique_id,
            capacity_h100e=size,
            start_month=start,
            term_months=term,
            contiguous=True,
            purpose=Purpose.TRAINING,
            reservation_usd_per_h100e_hour=res,
            buyer_credit=self.credit_rating,
            latest_start_month=start + (p.training_max_wait_months if ahead else 0),
            longest_term_months=longest,
        )

    def inference_requests(self, budget_left: float, asked_training: bool) -> list[RFQ]:
        """Requests for next month and the horizon: the share of the forecast need the
        lab covers with contracts, less what it has secured (and a training block
        asked for this month already counts for the run)."""
        m, p = self.model, self.model.p
        out: list[RFQ] = []
        cover = p.procurement_coverage
        horizon = p.rfq_horizon_months
        infer_only = self.training_need_h100e() if asked_training else 0.0
        starts = (m.month + 1, m.month + horizon)
        self.contract_sums_ahead(starts)  # what is secured in both months, in one pass
        training_need = self.training_need_h100e()
        for start in starts:
            # need_h100e(start), written out
            need = self.share * m.demand_forecast_h100e(max(0, start - m.month)) + training_need
            gap = cover * (need - infer_only) - self.secured_h100e(start)
            gap -= sum(r.capacity_h100e for r in out)
            least = max(1.0, p.min_request_share_of_need * need)
            if gap < least:  # covered: the budget could only make the gap smaller
                continue
            term, longest = self.term_for(False, start)
            res = self.reservation_usd_per_h100e_hour(False, term)
            gap = min(gap, max(0.0, budget_left) / (res * HOURS_PER_MONTH))
            if gap >= least:
                out.append(
                    RFQ(
                        buyer_id=self.unique_id,
                        capacity_h100e=gap,
                        start_month=start,
                        term_months=term,
                        contiguous=False,
                        purpose=Purpose.INFERENCE,
                        reservation_usd_per_h100e_hour=res,
                        buyer_credit=self.credit_rating,
                        longest_term_months=longest,
                    )
                )
                budget_left -= gap * res * HOURS_PER_MONTH
        return out

    def accept(self, rfq: RFQ, quotes: list[Quote], seller_power: float):
        """Choose among the quotes for a request: the cheapest until the need is
        covered (a training block at one site, large enough to be worth a run), at a
        price that splits the surplus; a whole site far larger than the need is
        declined. Returns [(quote, H100e, price)] to sign."""
        p = self.model.p
        min_fill = (
            self.min_block_h100e() / rfq.capacity_h100e
            if rfq.contiguous and p.training_min_gain > 0
            else p.training_min_fill
        )
        chosen = pricing.choose_quotes(
            quotes,
            rfq.capacity_h100e,
            rfq.contiguous,
            min_fill,
            rfq.start_month,
            delay_cost_per_month=p.quote_delay_cost_per_month,
            cost_of=self.quote_cost(rfq),
        )
        if rfq.contiguous:
            self.training_misses = 0 if chosen else self.training_misses + 1
        deals = []
        for q, take in chosen:
            limit = (
                self.whole_site_reservation(rfq, q, quotes)
                if q.exclusive
                else self.reservation_for(rfq, q.term_months)
            )
            price = pricing.bargain(q.ask_usd_per_h100e_hour, limit, seller_power)
            if price is None:
                continue
            if q.exclusive and q.capacity_h100e > self.whole_site_need_h100e(rfq, q) * (
                p.max_whole_site_ratio
            ):
                continue  # a whole site far larger than the need (or budget) is declined
            deals.append((q, take, price))
        return deals

    def whole_site_reservation(self, rfq: RFQ, q: Quote, quotes: list[Quote]) -> float:
        """The buyer's limit for a whole site, leased exclusive and taken whole. Its
        outside option (spot, other quotes) caps only the part of the site that they
        could deliver (``pricing.undeliverable_share``: other quotes on built sites
        from the same start, and for divisible capacity last month's unsold spot);
        beyond that depth an H100e-hour is worth what the lab loses without it.
        Compute is one pool, whatever it was asked for: the part of the site that would
        serve users the lab expects to turn away (``users_short_h100e``), and that
        nothing else on offer could serve, is worth their lost revenue
        (``users_lost_usd_per_h100e_hour``); the part the request itself needs beyond
        its outside option is worth what the request's purpose is worth
        (``value_usd_per_h100e_hour``: a training block its value in the race). For a
        training block the users get what the run leaves: the rest of the site, or,
        without it, the other quotes less the block the run would take
        (``pricing.users_share_beside_run``), so no H100e serves both."""
        capped = self.reservation_for(rfq, q.term_months)
        others = [
            o.capacity_h100e
            for o in quotes
            if o is not q and o.facility_id is not None and o.start_month <= q.start_month
        ]
        spot = self.model.spot_result
        divisible = sum(others) + (spot.unsold_h100e if spot is not None else 0.0)
        elsewhere = max(others, default=0.0) if rfq.contiguous else divisible
        block = q.capacity_h100e
        needed = pricing.undeliverable_share(block, rfq.capacity_h100e, elsewhere, rfq.contiguous)
        own = max(capped, self.value_usd_per_h100e_hour(rfq.contiguous))
        rest = (1.0 - needed) * capped + needed * own
        short = self.users_short_h100e(q.start_month, q.term_months)
        users = self.users_lost_usd_per_h100e_hour(q.term_months)
        if rfq.contiguous:  # the run's share and the users' share are apart
            served = pricing.users_share_beside_run(
                block, rfq.capacity_h100e, elsewhere, divisible, short
            )
            return rest + served * max(0.0, users - capped)
        served = pricing.undeliverable_share(block, short, divisible, False)
        return max(rest, served * users + (1.0 - served) * rest)

    def whole_site_need_h100e(self, rfq: RFQ, q: Quote) -> float:
        """What a whole site would serve for the lab: the request and the users it
        expects to turn away over the site's term beyond what the request covers
        (compute is one pool)."""
        short = self.users_short_h100e(q.start_month, q.term_months)
        return rfq.capacity_h100e + max(
            0.0, short - (0.0 if rfq.contiguous else rfq.capacity_h100e)
        )

    def users_short_h100e(self, start: int, term_months: int = 1) -> float:
        """Users' demand the lab expects to turn away with what it has secured, a mean
        over the months of a term from ``start``: its users' forecast for each month
        less what it has secured for it. A lab that trains first serves its users from
        what its run under way leaves while the run lasts; one that serves its users
        first from all of it (a planned run waits for its block and takes nothing from
        them)."""
        months = range(start, start + max(1, term_months))
        run_end = self.model.month + self.run_months_planned - self.run_months_done
        trains_first = self.strategy == Strategy.TRAINING_FIRST
        self.contract_sums_ahead(months)
        total = 0.0
        for month in months:
            users = self.inference_forecast_h100e(month)
            gap = users - self.secured_h100e(month)
            if trains_first and month < run_end:
                gap += self.run_h100e
            total += min(users, max(0.0, gap))
        return total / len(months)

    def users_lost_usd_per_h100e_hour(self, term_months: int) -> float:
        """What the lab loses per H100e-hour of users it turns away within a term: their
        revenue plus that of the users rationing drives to rivals
        (``churn_per_rationed_share`` of them, away as long as ``share_inertia`` keeps
        them: ``pricing.lost_users_months``)."""
        p = self.model.p
        away = pricing.lost_users_months(p.churn_per_rationed_share, p.share_inertia, term_months)
        return self.model.revenue_usd_per_h100e_hour * (1.0 + away)

    def reservation_for(self, rfq: RFQ, term_months: int) -> float:
        """The request's reservation moved to a quote's term along the sellers' term
        structure (the same where the quote keeps the request's term)."""
        if term_months == rfq.term_months:
            return rfq.reservation_usd_per_h100e_hour
        p = self.model.p

        def factor(t: int) -> float:
            return pricing.term_factor(t, p.short_term_premium, full_term_months=p.full_term_months)

        return rfq.reservation_usd_per_h100e_hour * factor(term_months) / factor(rfq.term_months)

    def quote_cost(self, rfq: RFQ):
        """How the lab ranks quotes on different terms: by what a used H100e-hour costs
        it under each (None: every quote keeps the request's term, rank by ask)."""
        if rfq.longest_term_months <= rfq.term_months:
            return None
        p = self.model.p
        outlook = self.term_outlook(rfq.contiguous, rfq.start_month)
        horizon = max(p.longest_term_months, rfq.longest_term_months)
        drift = terms.price_drift_per_year(p.generation_cost_gain, p.generation_interval_months)

        def cost(q: Quote) -> float:
            rolled = terms.rolled_price_usd_per_h100e_hour(
                q.ask_usd_per_h100e_hour,
                q.term_months,
                horizon_months=horizon,
                buyer_drift_per_year=drift,
            )
            return terms.buyer_cost_per_used_unit(q.term_months, rolled, **outlook)

        return cost

    def renewal(self, c: Contract, seller: Firm, site_id: int, seller_power: float):
        """At the end of a term the lab renews if it still needs the capacity and the
        seller quotes the same site again (nearly all of it) at a price both accept."""
        m = self.model
        if self.need_h100e(m.month) <= self.secured_h100e(m.month):
            return None
        training = c.purpose == Purpose.TRAINING
        term, longest = self.term_for(training, m.month)
        rfq = RFQ(
            buyer_id=self.unique_id,
            capacity_h100e=c.capacity_h100e,
            start_month=m.month,
            term_months=term,
            contiguous=training,
            purpose=c.purpose,
            reservation_usd_per_h100e_hour=self.reservation_usd_per_h100e_hour(training, term),
            buyer_credit=self.credit_rating,
            longest_term_months=longest,
        )
        for q in seller.quotes(rfq):
            share = m.p.renewal_min_share
            if q.facility_id == site_id and q.capacity_h100e >= c.capacity_h100e * share:
                price = pricing.bargain(
                    q.ask_usd_per_h100e_hour, self.reservation_for(rfq, q.term_months), seller_power
                )
                return None if price is None else (q, price)
        return None

    def patience_spent(self) -> bool:
        """Training requests in a row have found no block for ``training_patience_months``."""
        return self.training_misses >= self.model.p.training_patience_months

    # ------------------------------------------------------------------ money
    def wants_to_raise(self) -> bool:
        """Short of cash (less runway than ``fundraise_runway_months``) and not
        tried within the last ``fundraise_cooldown_months``."""
        m, burn = self.model, self.burn_usd_per_month
        short = self.cash_usd < 0 or (
            burn > 0 and self.cash_usd / burn < m.p.fundraise_runway_months
        )
        return short and m.month - self.last_raise_month >= m.p.fundraise_cooldown_months

    def raise_target_usd(self, mood: float) -> float:
        """What the lab asks investors for: months of burn (at least a share of its
        revenue), scaled by the market's mood. The round it gets is bounded by its
        valuation (``lifecycle.fundraise``)."""
        p = self.model.p
        return (
            p.fundraise_months_of_burn
            * max(
                self.burn_usd_per_month,
                p.raise_min_burn_share_of_revenue
                * max(self.revenue_usd, p.raise_revenue_floor_usd_per_month),
            )
            * mood
        )

    # ------------------------------------------------------------------ firm roles
    def build_want_h100e(self, floor: float, density: float) -> float:
        """A lab with a building program builds for the gap between its need and
        what it has secured, once the gap is a tenth of what it expects to have."""
        month = self.model.month + self.build_months()
        expected = self.expected_capacity_h100e(month)
        gap = self.need_h100e(month) - self.secured_h100e(month)
        return gap if gap > self.model.p.lab_build_min_gap_share * max(expected, 1.0) else 0.0

    def wants_sites(self) -> bool:
        return self.max_build_mw > 0

    def reviews_investments(self) -> bool:
        return False  # it builds for its own need (build_want_h100e)

    def chips_worth_ordering(self, f, h100e: float) -> bool:
        return True  # its own sites serve its own need

    def recent_utilisation(self) -> float:
        return self.used_share()

    def may_sell(self) -> bool:
        return bool(self.facilities)

    def leases_on_spot(self) -> bool:
        return bool(self.model.p.lease_to_rival_labs)

    def segment_size_h100e(self) -> float:
        """Size among labs: the compute at hand."""
        return self.pool_h100e

    def absorb(self, target: Firm) -> None:
        """An acquired lab's users and best model come along."""
        if isinstance(target, Lab):
            self.share += target.share
            self.capability_h100e_months = max(
                self.capability_h100e_months, target.capability_h100e_months
            )

    # ------------------------------------------------------------------ use
    def at_hand_h100e(self) -> float:
        """Compute the lab can use this month before spot: its own online capacity not
        sold to others, plus what its active contracts deliver."""
        own = sum(f.capacity_h100e for f in self.facilities) - self.delivered_sold_h100e()
        bought = sum(c.delivered_h100e for c in self.bought if c.state == ContractState.ACTIVE)
        resold = sum(c.delivered_h100e for c in self.model.book.resold_view(self.unique_id))
        return max(0.0, own) + max(0.0, bought - resold)

    def step_use(self, at_hand_h100e: float | None = None) -> None:
        """Run training and serve users from the capacity at hand (``at_hand_h100e()``,
        unless the caller read it since nothing changed it); ration the rest. A
        run that has made no progress for as long as it would take is shelved."""
        m = self.model
        at_hand = self.at_hand_h100e() if at_hand_h100e is None else at_hand_h100e
        pool = max(0.0, at_hand + self.spot_bought_h100e - self.spot_sold_h100e)
        demand = self.share * m.demand_h100e
        run = self.run_h100e
        if self.strategy == Strategy.TRAINING_FIRST:
            training = min(run, pool)
            inference = min(demand, pool - training)
        else:
            inference = min(demand, pool)
            training = run if pool - inference >= run else 0.0
        if run > 0 and training >= run - 1e-6:
            self.run_months_done += 1
            if self.run_months_done >= self.run_months_planned:
                size = run * self.run_efficiency * self.run_months_done
                self.capability_h100e_months = max(self.capability_h100e_months, size)
                self.last_run_h100e_months = size
                m.record_run(self, size)
                self.run_h100e = 0.0
                self.run_plan_h100e = 0.0
            self.run_stalled_months = 0
        elif run > 0:
            training = 0.0  # a stalled run makes no progress this month
            self.run_stalled_months += 1
            if self.run_stalled_months >= m.p.training_run_months:
                m.log(
                    "training",
                    f"{self.name} shelves its training run of {run:,.0f} H100e "
                    f"after {self.run_stalled_months} months without the compute "
                    "to train",
                    self.name,
                )
                self.run_h100e = 0.0
                self.run_months_done = 0
                self.run_stalled_months = 0
        self.pool_h100e = pool
        self.demand_h100e = demand
        self.used_inference_h100e = inference
        self.used_training_h100e = training
        self.rationed_share = 0.0 if demand <= 0 else max(0.0, 1.0 - inference / demand)
        self.revenue_usd = inference * m.revenue_usd_per_h100e_hour * HOURS_PER_MONTH
        self.revenue_history = ([*self.revenue_history, self.revenue_usd])[-REVENUE_HISTORY_MONTHS:]

    def note_rationing(self) -> None:
        """Tell the event log when a rationing spell starts (at least
        ``SPELL_START_SHARE`` of users' demand unserved) and when it ends (below
        ``SPELL_END_SHARE`` for ``SPELL_QUIET_MONTHS`` months in a row). Reporting only:
        nothing in the model reads it."""
        m, share = self.model, self.rationed_share
        if self.spell_start_month < 0:
            if share >= SPELL_START_SHARE:
                self.spell_start_month, self.spell_worst_share = m.month, share
                self.spell_quiet_months = 0
                m.log(
                    "rationing",
                    f"{self.name} rations its users: {share:.0%} of their demand goes unserved",
                    self.name,
                )
            return
        self.spell_worst_share = max(self.spell_worst_share, share)
        self.spell_quiet_months = self.spell_quiet_months + 1 if share < SPELL_END_SHARE else 0
        if self.spell_quiet_months >= SPELL_QUIET_MONTHS:
            months = m.month - SPELL_QUIET_MONTHS + 1 - self.spell_start_month
            m.log(
                "rationing",
                f"{self.name} has served {1 - SPELL_END_SHARE:.0%} or more of its "
                f"users' demand for {SPELL_QUIET_MONTHS} months, after {months} "
                f"months of rationing (at worst {self.spell_worst_share:.0%} "
                "unserved)",
                self.name,
            )
            self.spell_start_month = -1

    def used_share(self) -> float:
        used = self.used_inference_h100e + self.used_training_h100e
        return 1.0 if self.pool_h100e <= 0 else min(1.0, used / self.pool_h100e)

    def revenue_growth_per_year(self) -> float:
        h = self.revenue_history
        if len(h) < MIN_REVENUE_HISTORY_MONTHS or h[0] <= 0:
            return 1.0
        months = len(h) - 1
        return (max(h[-1], 1.0) / h[0]) ** (12.0 / months)

    def step_settlement(self) -> None:
        super().step_settlement()
        if self.revenue_usd > 0:
            self.model.ledger.pay(None, self, self.revenue_usd, "revenue")

    def spot_bid(self, at_hand_h100e: float | None = None) -> tuple[float, float]:
        """(H100e wanted now, price) for the spot market, given the compute at hand
        (``at_hand_h100e()`` unless the caller read it)."""
        m = self.model
        at_hand = self.at_hand_h100e() if at_hand_h100e is None else at_hand_h100e
        want = self.share * m.demand_h100e + self.run_h100e - at_hand
        if want <= 0:
            return 0.0, 0.0
        price = self.value_usd_per_h100e_hour(False)
        affordable = max(0.0, self.cash_usd) / (price * HOURS_PER_MONTH)
        return min(want, affordable), price

    def surplus_h100e(self) -> float:
        return max(0.0, self.pool_h100e - self.used_inference_h100e - self.used_training_h100e)


def _committed_usd_per_month(lab: Lab) -> float:
    return sum(c.capacity_h100e * c.price_usd_per_h100e_hour * HOURS_PER_MONTH for c in lab.bought)


Spans = list[tuple[int, int, float]]  # (start month, end month, H100e) of contracts


def _contract_spans(lab: Lab) -> tuple[Spans, Spans, Spans]:
    """(start month, end month, H100e) of the open contracts the lab buys, resells and
    sells, each in the book's order (``Lab.held`` keeps them)."""
    ended = ContractState.ENDED
    resales = lab.model.book.resold_view(lab.unique_id)
    return (
        [(c.start_month, c.end_month, c.capacity_h100e) for c in lab.bought if c.state != ended],
        [(c.start_month, c.end_month, c.capacity_h100e) for c in resales if c.state != ended],
        [(c.start_month, c.end_month, c.capacity_h100e) for c in lab.sold if c.state != ended],
    )


def _sums_in(spans: tuple[Spans, Spans, Spans], month: int) -> tuple[float, float]:
    """(bought less resold, sold) over the contracts that overlap ``month``, each sum
    in the contracts' order (an empty sum is 0)."""
    bought, resold, sold = spans
    total = sum([h for start, end, h in bought if start <= month < end])
    if resold:  # (less nothing is the same number)
        total -= sum([h for start, end, h in resold if start <= month < end])
    return total, sum([h for start, end, h in sold if start <= month < end]) if sold else 0
