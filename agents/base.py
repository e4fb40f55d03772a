"""What every firm shares: cash, owned facilities, and selling spare capacity.

Any firm that owns capacity sells what it does not need, whatever its type: a
hyperscaler or neocloud sells all of it, a lab only its surplus over its own
needs (the role switch). The seller side lives here once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import mesa

from agents.world import World
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    Contract,
    ContractState,
    Facility,
    FacilityStatus,
    FirmKind,
    Loan,
    Quote,
)
from market.mechanisms import pricing, spot, spot_cost, terms, valuation

# the buyer's credit assumed where no buyer is known yet (spot asks): midway between
# speculative (0) and investment grade (1)
NEUTRAL_CREDIT = 0.5
# a site's inputs of ``site_floor`` but the buyer's credit: chip cost, generation, region,
# the seller's rate; and (floor for a buyer of credit 1, those inputs)
FloorInputs = tuple[float, int, str, float]
FloorEnd = tuple[float, FloorInputs]
# a seller's sites in selling order, and when each comes online with what it expects
SitesAhead = tuple[list[tuple[int, Facility]], list[tuple[int, float]]]
# what a request's answer from a seller with no room depends on but its latest start and
# its capacity: (the round's ``quote_epoch``, start month, term, longest term, whether
# the buyer is a lab)
QuietKey = tuple[int, int, int, int, bool]


def quiet_key(epoch: int, rfq: RFQ) -> QuietKey:
    """The key of ``rfq`` in the sellers' ``no_quote_bars`` in the round ``epoch``."""
    return (epoch, rfq.start_month, rfq.term_months, rfq.longest_term_months, rfq.buyer_is_lab)


def site_floor(
    model: World,
    chip_cost_usd_per_h100e: float,
    generation: int,
    region: str,
    annual_rate: float,
    buyer_credit: float,
) -> float:
    """The cost floor of a site with chips of this cost and generation in ``region``,
    for an owner at ``annual_rate`` and a buyer of this credit. While the contracting
    stage runs it is kept per those inputs: the same for every seller and buyer with
    them."""
    memo = model.quote_memo if model.quote_epoch >= 0 else None
    key = ("floor", chip_cost_usd_per_h100e, generation, region, annual_rate, buyer_credit)
    floor = memo.get(key) if memo is not None else None
    if floor is None:
        tech = model.tech
        floor = tech.cost_floor_usd_per_h100e_hour(
            chip_cost_usd_per_h100e=chip_cost_usd_per_h100e,
            h100e_per_mw=tech.h100e_per_mw(generation),
            region=region,
            annual_rate=annual_rate,
            credit_premium=model.p.credit_premium_per_credit_gap * (1.0 - buyer_credit),
        )
        if memo is not None:
            memo[key] = floor
    return floor


def site_ask(model: World, floor: float, term: int, exclusive: bool) -> float:
    """The ask on a floor; kept per floor, term and exclusivity while the contracting
    stage runs (the markup and the premiums do not change then)."""
    if model.quote_epoch < 0:
        return _site_ask(model, floor, term, exclusive)
    key = ("ask", floor, term, exclusive)
    ask = model.quote_memo.get(key)
    if ask is None:
        ask = model.quote_memo[key] = _site_ask(model, floor, term, exclusive)
    return ask


def _site_ask(model: World, floor: float, term: int, exclusive: bool) -> float:
    p = model.p
    return pricing.ask_usd_per_h100e_hour(
        floor,
        markup=model.scarcity_markup,
        base_margin=p.base_margin,
        term_months=term,
        short_term_premium=p.short_term_premium,
        full_term_months=p.full_term_months,
        cancellable=p.cancellation_notice_months > 0,
        cancellation_premium=p.cancellation_premium,
        exclusive=exclusive,
        exclusivity_premium=p.exclusivity_premium,
    )


class _Room:
    """A seller's sites with room in one month, kept while the contracting stage runs:
    the expected capacity of all its sites, [(site, expected capacity, H100e committed
    in the month, the latest month a contract there starts)], and the free sites over
    every window from the month when no contract at any of them starts later (None:
    not known yet, or they differ by window)."""

    __slots__ = ("every_window", "sites", "total")

    def __init__(self, total: float, sites: list) -> None:
        self.total = total
        self.sites = sites
        self.every_window: list | None = None


class Firm(mesa.Agent):
    kind: FirmKind
    model: World
    builds_to_suit = False  # quotes on a site it would build if the buyer signs
    long_term_chip_deals = False  # its chip orders are long-term agreements

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model)
        self.name = name
        self.cash_usd = float(spec.get("cash_usd", 0.0))
        self.credit_rating = float(spec.get("credit_rating", NEUTRAL_CREDIT))
        self.region = spec.get("region") or model.default_region
        self.max_build_mw = float(spec.get("max_build_mw", 0.0))
        self.facilities: list[Facility] = []
        self.loans: list[Loan] = []
        # contract claims on buyers' estates: recovered and written off, cumulative
        self.claims_recovered_usd = 0.0
        self.claims_written_off_usd = 0.0
        self.revenue_usd = 0.0  # from users, per month (labs); providers' come as cash flows
        self.active = True
        self.unquoted_h100e = 0.0  # requests it could not serve lately (a demand signal)
        # cash going out net of cash coming in per month, smoothed over recent months
        self.burn_usd_per_month = 0.0
        self._sites_free: dict[int, _Room] = {}
        self._sites_free_epoch = -1
        # free_sites' answers per window while the stage runs, until anything here changes
        self._windows_free: dict[tuple[int, int], tuple[float, list]] = {}
        self._selling_order: SitesAhead | None = None  # ``_sites_in_selling_order``
        # (its sites, [(index, site)] in selling order) for ``_sites_in_selling_order``
        self._order_kept: tuple[tuple[Facility, ...], list[tuple[int, Facility]]] = ((), [])
        # (its rate, its ``_floor_inputs``, its ``floor_extremes``) while the stage runs
        self._floor_ends: tuple[float, list, tuple[FloorEnd, FloorEnd]] | None = None
        # while the stage runs, per kind of request (``quiet_key``): (a month, None or its
        # ``reservation_inputs``) such that a request of that kind whose latest start is
        # earlier gets no quote here and only counts as unquoted (while its reservation
        # inputs, if given, are those). Kept when no site had room over the request's
        # window, or its own reservation took all it expected, and building could not
        # start in time (the soonest build only moves later while the stage runs, a
        # sale only takes room away); forgotten with the free sites
        # (``forget_free_sites``) and in a new round (the epoch is in the key)
        self.no_quote_bars: dict[QuietKey, tuple[float, tuple | None]] = {}
        self._build_kept: tuple[int, float, float, float] | None = None  # (epoch, build_inputs)

    # ------------------------------------------------------------------ contracts
    @property
    def sold(self) -> Iterable[Contract]:
        """Open contracts this firm sells (the contract book's, to read only)."""
        return self.model.book.sold_view(self.unique_id)

    @property
    def bought(self) -> Iterable[Contract]:
        """Open contracts this firm buys (the contract book's, to read only)."""
        return self.model.book.bought_view(self.unique_id)

    # ------------------------------------------------------------------ capacity
    def online_capacity_h100e(self) -> float:
        return sum([f.capacity_h100e for f in self.facilities])

    def expected_capacity_h100e(self, month: int) -> float:
        return sum([f.expected_capacity_h100e(month) for f in self.facilities])

    def delivered_sold_h100e(self) -> float:
        active = ContractState.ACTIVE
        sold = self.model.book.sold_view(self.unique_id)
        return sum([c.delivered_h100e for c in sold if c.state == active])

    def own_reservation_h100e(self, month: int, expected_h100e: float | None = None) -> float:
        """Capacity the firm keeps for itself at ``month`` (``expected_h100e``: its
        expected capacity then, when already summed); providers keep none."""
        return 0.0

    def reservation_inputs(self) -> tuple | None:
        """What ``own_reservation_h100e`` reads besides the month and the expected capacity
        while a contracting round runs (None: nothing; it reserves none). A firm that
        reserves capacity for itself says what, so a seller that kept nothing spare for
        a request is asked again once it changes."""
        return None

    def annual_rate(self) -> float:
        return self.model.p.base_rate + self.model.p.hyperscaler_spread

    def max_site_mw(self) -> float:
        """Largest site the firm starts at once: its declared size, or a share of the
        power it already runs, whichever is larger (big fleets build big campuses)."""
        if self.max_build_mw <= 0:
            return 0.0
        retired = FacilityStatus.RETIRED
        fleet = sum([f.power_mw for f in self.facilities if f.status != retired])
        return max(self.max_build_mw, self.model.p.max_site_share_of_fleet * fleet)

    def build_months(self) -> int:
        return self.model.p.build_months_lab

    # ------------------------------------------------------------------ selling
    def sells_to(self, rfq: RFQ) -> bool:
        return rfq.buyer_id != self.unique_id

    def facility_floor(self, f: Facility, buyer_credit: float) -> float:
        """The site's cost floor for a buyer of this credit (``site_floor``)."""
        return site_floor(
            self.model,
            f.chip_cost_usd_per_h100e,
            f.ordered_generation,
            f.region,
            self.annual_rate(),
            buyer_credit,
        )

    def _ask(self, floor: float, term: int, exclusive: bool) -> float:
        """The ask on a floor (``site_ask``)."""
        return site_ask(self.model, floor, term, exclusive)

    def free_sites(self, start: int, end: int) -> tuple[float, list]:
        """(expected capacity at ``start``, [(site, H100e free over [start, end), whether
        no contract there overlaps the window, the site's expected capacity)]) for the
        sites with at least 1 H100e free, in selling order: a provider sells from its
        largest sites first; a lab gives up its smallest first, so its surplus can be a
        whole site it no longer needs.

        While the model's contracting stage runs, the sites with room in the month
        ``start`` are kept per start month until one of this firm's sites or their
        contracts change (``forget_free_sites``): every lab asks about the same start
        months, and a site full in the first month of a window is full over it. A site
        where no contract starts after ``start`` has the same room over every window
        from ``start``: when that holds for every site with room, one answer serves
        every window from that month."""
        m = self.model
        epoch = m.quote_epoch
        if epoch < 0:
            return self._free_sites(start, end, self._room_at(start, keep=False))
        if self._sites_free_epoch != epoch:
            self._forget_kept()
            self._sites_free_epoch = epoch
        kept = self._windows_free.get((start, end))
        if kept is None:
            room = self._sites_free.get(start)
            if room is None:
                room = self._sites_free[start] = self._room_at(start, keep=True)
            kept = self._windows_free[(start, end)] = self._free_sites(start, end, room)
        return kept

    def _room_at(self, start: int, keep: bool) -> _Room:
        """The sites with at least 1 H100e free in the month ``start``."""
        order, ahead = self._sites_in_selling_order(keep)
        # each site's expected capacity once (``Facility.expected_capacity_h100e``), in
        # the order the firm's total adds them
        expected_at = [h100e if online <= start else 0.0 for online, h100e in ahead]
        committed_and_last_start = self.model.book.committed_and_last_start
        end = start + 1
        sites = []
        for i, f in order:
            expected = expected_at[i]
            # nothing committed is negative: a site expecting less than 1 H100e has no room
            if expected < 1.0:
                continue
            committed, last_start = committed_and_last_start(f.facility_id, start, end)
            if expected - committed >= 1.0:
                sites.append((f, expected, committed, last_start))
        return _Room(sum(expected_at), sites)

    def _free_sites(self, start: int, end: int, room: _Room) -> tuple[float, list]:
        if room.every_window is not None:
            return room.total, room.every_window
        book = self.model.book
        sites = []
        same_for_every_window = True
        for f, expected, committed, last_start in room.sites:
            if last_start > start:  # a contract starts within the window: look it up
                same_for_every_window = False
                committed = book.committed_h100e(f.facility_id, start, end)
            free = max(0.0, expected - committed)
            if free >= 1.0:
                # every contract has capacity > 0, so nothing sold means no overlap
                sites.append((f, free, committed == 0.0, expected))
        if same_for_every_window:
            room.every_window = sites
        return room.total, sites

    def _sites_in_selling_order(self, keep: bool) -> SitesAhead:
        """([(index in ``facilities``, site)] in selling order, [(the month each site comes
        online, the H100e it expects from then: none once retired)] in ``facilities``
        order). Kept while the stage runs until its sites change (``forget_free_sites``):
        their chips, chip orders and opening months change in other stages. The selling
        order itself is kept across rounds while ``facilities`` holds the same sites in
        the same order (a site's power and id never change)."""
        kept = self._selling_order
        if kept is None or not keep:
            sites = tuple(self.facilities)
            if self._order_kept[0] != sites:
                sign = 1 if self.offers_whole_sites() else -1
                order = sorted(
                    enumerate(sites),
                    key=lambda item: (sign * item[1].power_mw, item[1].facility_id),
                )
                self._order_kept = (sites, order)
            retired = FacilityStatus.RETIRED
            ahead = [
                (
                    f.online_month,
                    0.0 if f.status == retired else f.installed_h100e + f.pending_h100e,
                )
                for f in sites
            ]
            kept = (self._order_kept[1], ahead)
            self._selling_order = kept if keep else None
        return kept

    def forget_free_sites(self) -> None:
        """One of its sites or their contracts changed: forget what was kept about them."""
        self._forget_kept()

    def _forget_kept(self) -> None:
        # (an empty memo is kept as it is: most sellers asked kept nothing)
        if self._sites_free:
            self._sites_free = {}
        if self._windows_free:
            self._windows_free = {}
        if self.no_quote_bars:
            self.no_quote_bars = {}
        self._build_kept = None
        self._selling_order = None
        self._floor_ends = None

    def site_sold(self, site: Facility) -> None:
        """A sale only takes room away, and only at ``site``: find its room again in the
        kept start months, dropping it where it is now full. A sale changes no floor:
        its kept ``floor_extremes`` hold unless its sites' chips or its rate changed
        since they were found (a sale on a new site comes after the site, its chip
        order and its loan: they are found again)."""
        self._windows_free = {}
        if not self._floors_unchanged():
            self._floor_ends = None
        book = self.model.book
        for start, room in self._sites_free.items():
            for i, (f, expected, _, _) in enumerate(room.sites):
                if f is site:
                    committed = book.committed_h100e(f.facility_id, start, start + 1)
                    if expected - committed < 1.0:
                        del room.sites[i]
                    else:
                        last_start = book.last_start_month(f.facility_id)
                        room.sites[i] = (f, expected, committed, last_start)
                    room.every_window = None
                    break

    def lowest_site_ask(self, rfq: RFQ) -> float:
        """No quote ``quotes(rfq)`` gives on a site it owns asks less than this (inf: it
        quotes on none): the lowest ask over all its sites, whole or not, free or not.
        (A contracting round reads it for several sellers at once from their
        ``floor_extremes``: ``contracting.lowest_ask_among``.)"""
        if not self.active or not self.sells_to(rfq) or not self.facilities:
            return math.inf
        return self._lowest_site_ask(self.quote_term_months(rfq), rfq.buyer_credit)

    def _lowest_site_ask(self, term: int, buyer_credit: float) -> float:
        m, rate, credit = self.model, self.annual_rate(), buyer_credit
        floors = [
            site_floor(m, f.chip_cost_usd_per_h100e, f.ordered_generation, f.region, rate, credit)
            for f in self.facilities
        ]
        # an ask is its floor times factors that do not depend on it, so it is monotone
        # in the floor: the lowest is on the lowest or the highest floor
        span = (min(floors), max(floors))
        return min(self._ask(floor, term, whole) for floor in span for whole in (False, True))

    def _floor_inputs(self) -> list[tuple[float, int, str]]:
        return [
            (f.chip_cost_usd_per_h100e, f.ordered_generation, f.region) for f in self.facilities
        ]

    def _floors_unchanged(self) -> bool:
        """Whether its rate and its sites' floor inputs are those its kept
        ``floor_extremes`` were found with."""
        kept = self._floor_ends
        return (
            kept is not None and kept[0] == self.annual_rate() and kept[1] == self._floor_inputs()
        )

    def floor_extremes(self) -> tuple[FloorEnd, FloorEnd]:
        """((floor, inputs), (floor, inputs)) of its sites with the lowest and the highest
        floor for a buyer of credit 1 (no credit premium), with the inputs of
        ``site_floor`` but the buyer's credit (chip cost, generation, region, its rate).
        A buyer's credit premium multiplies every floor by the same factor, and a
        rounded product by one factor keeps the order of what it multiplies: for every
        buyer the lowest and the highest floor are on these two sites. Kept while a
        contracting round runs, through its sales (a sale changes no floor), until its
        sites change or its rate does. For a firm with sites."""
        epoch, rate = self.model.quote_epoch, self.annual_rate()
        if self._sites_free_epoch != epoch or epoch < 0:
            self._forget_kept()
            self._sites_free_epoch = epoch
        kept = self._floor_ends
        if kept is None or kept[0] != rate:
            m, inputs = self.model, self._floor_inputs()
            ends: list[FloorEnd] = sorted(
                (site_floor(m, *key, rate, 1.0), (*key, rate)) for key in inputs
            )
            kept = self._floor_ends = (rate, inputs, (ends[0], ends[-1]))
        return kept[2]

    def quotes(self, rfq: RFQ) -> list[Quote]:
        """Quotes from capacity free over the whole requested term, site by site."""
        if not self.active or not self.sells_to(rfq):
            return []
        if rfq.capacity_h100e > 0 and self._no_room_kept(rfq.start_month):
            return self._build_quotes(rfq)  # most sellers: nothing free, at most a build
        term = self.quote_term_months(rfq)
        start, end = rfq.start_month, rfq.start_month + term
        expected, sites = self.free_sites(start, end)
        if not sites and rfq.capacity_h100e > 0:
            return self._build_quotes(rfq)
        spare = expected - self.own_reservation_h100e(start, expected) if sites else 0.0
        if spare <= 0 and rfq.capacity_h100e > 0:
            # nothing spare, as for most labs with sites: no site quotes, at most a build
            return self._build_quotes(rfq, self.reservation_inputs())
        out, served = (
            ([], 0) if spare <= 0 else self.site_quotes(sites, spare, start, term, rfq.buyer_credit)
        )
        quoted = served
        if served < rfq.capacity_h100e:
            build = self.build_to_suit_quote(rfq, rfq.capacity_h100e - served)
            if build is not None:
                out.append(build)
                quoted = sum(q.capacity_h100e for q in out)
        self.unquoted_h100e += max(0.0, rfq.capacity_h100e - quoted)
        return out

    def _no_room_kept(self, start: int) -> bool:
        """Whether the sites with room in the month ``start`` are kept for this round and
        there are none: then no site has room over any window from ``start``."""
        if self._sites_free_epoch != self.model.quote_epoch or self._sites_free_epoch < 0:
            return False
        room = self._sites_free.get(start)
        return room is not None and not room.sites

    def _build_quotes(self, rfq: RFQ, reserved: tuple | None = None) -> list[Quote]:
        """The quotes of a seller with no site free over the request's window (or with
        all its free capacity reserved for itself, as its ``reservation_inputs``, then
        ``reserved``, say): a site it would build to suit, if any."""
        # most sellers asked cannot build at all, or not in time whatever the size (the
        # first two questions of ``build_to_suit_quote``, asked here without the call)
        soonest = (
            self.soonest_build_online()
            if self.builds_to_suit and self.max_build_mw > 0
            else math.inf
        )
        if rfq.latest_start < soonest:
            self.unquoted_h100e += rfq.capacity_h100e
            epoch = self.model.quote_epoch
            if epoch >= 0:
                self.no_quote_bars[quiet_key(epoch, rfq)] = (soonest, reserved)
            return []
        build = self._build_to_suit(rfq, rfq.capacity_h100e)
        if build is None:
            self.unquoted_h100e += rfq.capacity_h100e
            return []
        self.unquoted_h100e += max(0.0, rfq.capacity_h100e - build.capacity_h100e)
        return [build]

    def site_quotes(
        self, sites: list, spare: float, start: int, term: int, buyer_credit: float
    ) -> tuple[list[Quote], float]:
        """(quotes on its free ``sites`` up to ``spare`` H100e, the H100e they offer)."""
        out: list[Quote] = []
        m = self.model
        p, tech = m.p, m.tech
        notice = p.cancellation_notice_months
        whole_sites = self.offers_whole_sites()
        rate, seller_id = self.annual_rate(), self.unique_id
        for f, free_here, untouched, site_expected in sites:
            if spare <= 0:
                break
            free = min(free_here, spare)
            if free < 1.0:
                continue
            whole_site = (
                whole_sites and untouched and free >= p.whole_site_offer_share * site_expected
            )
            floor = site_floor(
                m, f.chip_cost_usd_per_h100e, f.ordered_generation, f.region, rate, buyer_credit
            )
            out.append(
                Quote(
                    seller_id=seller_id,
                    facility_id=f.facility_id,
                    capacity_h100e=free,
                    start_month=start,
                    term_months=term,
                    ask_usd_per_h100e_hour=site_ask(m, floor, term, whole_site),
                    floor_usd_per_h100e_hour=floor,
                    exclusive=whole_site,
                    cancellation_notice_months=notice,
                    h100e_per_mw=tech.h100e_per_mw(f.ordered_generation),
                )
            )
            spare -= free
        return out, sum(q.capacity_h100e for q in out)

    def offers_whole_sites(self) -> bool:
        return False

    def quote_term_months(self, rfq: RFQ) -> int:
        """The term it quotes existing capacity on: the buyer's preferred term, or the
        longest the buyer accepts when it wants to lock its price in for long."""
        return max(rfq.term_months, rfq.longest_term_months if self.wants_long_terms() else 0)

    def wants_long_terms(self) -> bool:
        """Its view of prices: in a tight market (demand went unserved last month) it
        expects today's scarcity rent to fade, so it locks it in for as long as the
        buyer accepts."""
        return self.model.tightness > 0.0

    def build_term_months(self, rfq: RFQ, h100e: float, floor: float) -> int | None:
        """The term on which it builds to suit: the buyer's, if the contract pays back
        the build (and gives its lenders the cover they require) within it, else the
        shortest standard term that does and that the buyer accepts; None when none
        does (``terms.seller_minimum_term_months``, ``terms.agree_term``)."""
        p = self.model.p
        if rfq.longest_term_months <= 0:  # a buyer with one term: take it or leave it
            return rfq.term_months
        debt_share, cover = self.build_debt_share_and_cover()
        minimum = terms.seller_minimum_term_months(
            new_build=True,
            capex_usd=self.build_capex_usd(h100e),
            monthly_revenue_usd=h100e * self._ask(floor, rfq.term_months, False) * HOURS_PER_MONTH,
            debt_share=debt_share,
            lender_contract_cover=cover,
            annual_rate=self.annual_rate(),
            useful_life_months=p.chip_useful_life_months,
        )
        if rfq.term_months >= minimum:  # the buyer's term (``agree_term``'s first answer)
            return rfq.term_months
        menu = tuple(sorted({*terms.term_menu(p.longest_term_months), rfq.term_months}))
        return terms.agree_term(rfq.term_months, rfq.longest_term_months, minimum, menu)

    def build_debt_share_and_cover(self) -> tuple[float, float]:
        """Share of a build it borrows and the contract cover its lenders require
        (none: it builds from cash)."""
        return 0.0, 0.0

    def build_inputs(self) -> tuple[float, float, float]:
        """(H100e per MW of today's chips, H100e of the largest site it starts, its best
        chip price) for a site it would build now. While a contracting round runs they
        are kept per round until its sites change (``forget_free_sites``): the chips on
        sale and their prices change in other stages."""
        m = self.model
        kept = self._build_kept
        if kept is None or kept[0] != m.quote_epoch or kept[0] < 0:
            tech = m.tech
            density = tech.density_now()
            kept = (
                m.quote_epoch,
                density,
                self.max_site_mw() * density,
                tech.best_chip_price(self),
            )
            self._build_kept = kept
        _, density, largest_h100e, chip_price = kept
        return density, largest_h100e, chip_price

    def build_capex_usd(self, h100e: float) -> float:
        """``Technology.build_cost_usd`` of a site of ``h100e`` it builds now (from its
        ``build_inputs``)."""
        density, _, chip_price = self.build_inputs()
        return self.model.tech.site_cost_usd(h100e, density, chip_price)

    def may_finance(self, h100e: float) -> bool:
        """False only when ``can_finance`` is False for a build of ``h100e`` whatever the
        contract's price and term (asked before the price and the term are worked out);
        a firm that builds from cash finances a build whatever the contract."""
        return True

    def soonest_build_online(self) -> float:
        """No site it started now would come online before this month, whatever its
        size: not before its build time, the grid's least wait, nor the month its
        region's queue clears (``Region.ready_month`` finishes from there on)."""
        m = self.model
        region = m.regions[self.region]
        soonest = m.month + max(self.build_months(), region.min_wait_months)
        return max(float(soonest), region.queue_clears_month)

    def build_to_suit_quote(self, rfq: RFQ, h100e: float) -> Quote | None:
        """A quote on a site the firm would build if the buyer signs (forward start only)."""
        if not self.builds_to_suit or self.max_build_mw <= 0:
            return None
        if rfq.latest_start < self.soonest_build_online():  # too late whatever its size
            return None
        return self._build_to_suit(rfq, h100e)

    def _build_to_suit(self, rfq: RFQ, h100e: float) -> Quote | None:
        """``build_to_suit_quote`` of a firm that builds to suit, for a buyer whose latest
        start is no earlier than its ``soonest_build_online``."""
        m = self.model
        density, largest, chip_price = self.build_inputs()
        h100e = min(h100e, largest)
        if h100e < 1.0:
            return None
        # the site's own power waits in the grid queue (a large site waits longer)
        online = max(
            float(m.month + self.build_months()),
            m.regions[self.region].ready_month(m.month, h100e / density),
        )
        if rfq.latest_start < online or not self.may_finance(h100e):
            return None
        start = max(rfq.start_month, math.ceil(online))
        # (``site_floor`` of today's chips at its price: the floor of a site built now)
        floor = site_floor(
            m, chip_price, m.tech.generation, self.region, self.annual_rate(), rfq.buyer_credit
        )
        term = self.build_term_months(rfq, h100e, floor)
        if term is None:
            return None
        ask = self._ask(floor, term, False)
        if not self.can_finance(h100e, ask, term, rfq.buyer_credit):
            return None
        return Quote(
            seller_id=self.unique_id,
            facility_id=None,
            capacity_h100e=h100e,
            start_month=start,
            term_months=term,
            ask_usd_per_h100e_hour=ask,
            floor_usd_per_h100e_hour=floor,
            cancellation_notice_months=m.p.cancellation_notice_months,
            h100e_per_mw=density,
        )

    # ------------------------------------------------------------------ loans
    @property
    def debt_usd(self) -> float:
        """The drawn principal of every loan."""
        return sum(loan.principal_usd for loan in self.loans)

    @debt_usd.setter
    def debt_usd(self, value: float) -> None:
        # an acquirer takes over the debt as one loan at its own rate
        self.loans = (
            [
                Loan(
                    principal_usd=value,
                    annual_rate=self.annual_rate(),
                    repay_from_month=self.model.month,
                )
            ]
            if value > 0
            else []
        )

    def undrawn_usd(self, facility_id: int | None = None) -> float:
        """What lenders have committed to the firm's builds and not yet paid out."""
        if not self.loans:  # most firms have none
            return 0
        return sum(
            [
                loan.undrawn_usd
                for loan in self.loans
                if facility_id is None or loan.facility_id == facility_id
            ]
        )

    def open_build_loan(
        self, site: Facility, committed_usd: float, total_capex_usd: float, annual_rate: float
    ) -> Loan | None:
        """Lenders commit ``committed_usd`` to the build of ``site``: each payment for the
        site (building, chips) draws the committed share of the capex from the loan
        (``draw_loans``). Interest only until the site is built, then an annuity."""
        if committed_usd <= 0 or total_capex_usd <= 0:
            return None
        loan = Loan(
            principal_usd=0.0,
            annual_rate=annual_rate,
            repay_from_month=self.model.month + self.build_months(),
            facility_id=site.facility_id,
            undrawn_usd=committed_usd,
            draw_share=min(1.0, committed_usd / total_capex_usd),
        )
        self.loans.append(loan)
        return loan

    def draw_loans(self, facility_id: int, payment_usd: float) -> float:
        """Fund part of a payment for a site from the firm's loan on it: the lenders pay
        the drawn share into the firm's cash (a "loan" flow) just before the payment
        goes out. Returns what was drawn."""
        for loan in self.loans:
            if loan.facility_id == facility_id and loan.undrawn_usd > 0 and payment_usd > 0:
                line = valuation.CreditLine(
                    committed_usd=loan.undrawn_usd, debt_share=loan.draw_share
                )
                drawn, _ = line.draw(payment_usd)
                loan.undrawn_usd = line.undrawn_usd
                loan.principal_usd += drawn
                self.model.ledger.pay(None, self, drawn, "loan")
                return drawn
        return 0.0

    def service_debt(self) -> None:
        """Interest on every loan's drawn part; repayment of principal on loans past
        their grace. A build loan's undrawn part lapses once its site has nothing left
        to pay for (built with no chips on order, or sold)."""
        if not self.loans:  # nothing to pay, nothing to lapse
            return
        m = self.model
        term = m.p.debt_term_months
        owned: dict[int | None, Facility] = {f.facility_id: f for f in self.facilities}
        service = 0.0
        for loan in self.loans:
            principal, rate = loan.principal_usd, loan.annual_rate
            interest = principal * rate / 12.0
            if m.month >= loan.repay_from_month and principal > 0:
                payment = pricing.annuity_usd_per_month(principal, rate, term)
                loan.principal_usd = max(0.0, principal - (payment - interest))
                service += payment
            else:
                service += interest
            f = owned.get(loan.facility_id)
            if f is None or (
                f.status != FacilityStatus.UNDER_CONSTRUCTION and f.pending_h100e <= 0
            ):
                loan.undrawn_usd = 0.0
        self.loans = [
            loan for loan in self.loans if loan.principal_usd > 1.0 or loan.undrawn_usd > 1.0
        ]
        if service > 0:
            m.ledger.pay(self, None, service, "debt service")

    def pending_chip_cost_usd(self) -> float:
        """Cash already spoken for: chips on order, paid when they arrive."""
        return sum([f.pending_h100e * f.chip_cost_usd_per_h100e for f in self.facilities])

    def free_cash_usd(self) -> float:
        """Cash not spoken for by chips on order, counting what lenders have committed
        to pay for them."""
        return self.cash_usd + self.undrawn_usd() - self.pending_chip_cost_usd()

    def can_finance(self, h100e: float, price: float, term: int, buyer_credit: float) -> bool:
        return self.free_cash_usd() >= self.build_capex_usd(h100e)

    def finance_build(
        self,
        building_usd: float,
        total_capex_usd: float,
        contract_value_usd: float,
        buyer_credit: float,
        site: Facility | None = None,
    ) -> Loan | None:
        """Pay for the building now (chips are paid on delivery); hyperscalers and labs
        pay from cash, neoclouds borrow (the loan it opens, if any, is returned)."""
        self.model.ledger.pay(self, None, building_usd, "capex")
        return None

    # ------------------------------------------------------------------ building
    def planned_build_h100e(self) -> float:
        """H100e of the new site the firm starts this month (0: none). It builds on
        its own signal (``build_want_h100e``), at most its largest site, no more
        often than one site a quarter, and only with the cash to pay for it on top
        of three months of burn."""
        m, p = self.model, self.model.p
        if self.max_build_mw <= 0:
            return 0.0
        building, since = FacilityStatus.UNDER_CONSTRUCTION, m.month - p.build_cooldown_months
        for f in self.facilities:  # a site started within the cooldown: no new one yet
            if f.status == building and f.build_started_month > since:
                return 0.0
        density, site_mw = m.tech.density_now(), self.max_site_mw()
        least = p.min_build_share_of_site * site_mw * density  # the smallest site it starts
        reserve = p.build_reserve_months_of_burn * max(self.burn_usd_per_month, 0.0)
        free = self.free_cash_usd() - reserve
        # a site costs more the larger it is: without the cash for the smallest, no build
        # (asked first once the outlook its appraisal reads is kept for the month, so
        # that skipping the appraisal cannot change when the outlook is first summed)
        if free < m.tech.build_cost_usd(self, least) and m.appraisal.outlook_kept(
            self.build_months()
        ):
            return 0.0
        floor = m.tech.cost_floor_usd_per_h100e_hour(
            chip_cost_usd_per_h100e=m.tech.best_chip_price(self),
            h100e_per_mw=density,
            region=self.region,
            annual_rate=self.annual_rate(),
        )
        want = self.build_want_h100e(floor, density)
        h100e = min(want, site_mw * density)
        if h100e < least or free < m.tech.build_cost_usd(self, h100e):
            return 0.0
        return h100e

    def build_want_h100e(self, floor: float, density: float) -> float:
        """A provider builds the largest site that pays (``World.appraisal.build_pays``: the
        value of its margin at the utilisation it expects, with the new site counted in
        the market's capacity, clears ``investment_hurdle`` over its capex), halving
        the size down to ``min_build_share_of_site`` of its largest site."""
        largest = self.max_site_mw() * density
        h100e = largest
        while h100e >= self.model.p.min_build_share_of_site * largest and h100e >= 1.0:
            if self.model.appraisal.build_pays(self, h100e):
                return h100e
            h100e /= 2.0
        return 0.0

    def recent_utilisation(self) -> float:
        """Share of its online capacity in use last month: what it delivers under
        contract times the share of their compute its buyers used (a seller sees its
        capacity draw power or sit idle, so a sold block no one uses does not count as
        busy); 1 with nothing online (no evidence of idle capacity yet). While the
        investment stage runs it is kept per firm (``World.utilisation_kept``): nothing
        there brings chips online, starts or ends a delivery, or changes a buyer's use."""
        kept = self.model.utilisation_kept
        if kept is None:
            return self._recent_utilisation()
        u = kept.get(self.unique_id)
        if u is None:
            u = kept[self.unique_id] = self._recent_utilisation()
        return u

    def _recent_utilisation(self) -> float:
        online = self.online_capacity_h100e()
        if online <= 0:
            return 1.0
        m = self.model
        firm_of, active = m.firm, ContractState.ACTIVE
        used = 0.0
        for c in m.book.sold_view(self.unique_id):
            if c.state == active:
                buyer = firm_of(c.buyer_id)
                used += c.delivered_h100e * (buyer.used_share() if buyer is not None else 0.0)
        return min(1.0, used / online)

    def reviews_investments(self) -> bool:
        """Whether it reviews its builds and chip orders against the market each month
        (providers, who build to sell; a lab builds for its own need)."""
        return True

    def chips_worth_ordering(self, f: Facility, h100e: float) -> bool:
        return self.model.appraisal.chips_pay(self, f, h100e)

    def top_up_chips(self) -> None:
        """Fill spare power at owned sites with chips, while cash allows and the chips
        are worth ordering."""
        m = self.model
        if not self.facilities:
            return
        density = m.tech.density_now()
        # free cash and the chip price change only when it orders; both are read again then
        free, price = self.free_cash_usd(), m.tech.best_chip_price(self)
        for f in self.facilities:
            if f.status == FacilityStatus.RETIRED or f.pending_h100e > 0 or f.paused:
                continue
            least = m.p.chip_top_up_min_share * f.power_mw * density
            # an order is at least ``least``: with no cash for that, none at this site
            # (multiplying by the price keeps the order of the two sizes)
            if not free > least * price:
                continue
            h100e = (f.power_mw - f.power_used_mw(m.tech.h100e_per_mw)) * density
            if h100e >= least and free > h100e * price and self.chips_worth_ordering(f, h100e):
                m.order_chips(self, f, h100e)
                free, price = self.free_cash_usd(), m.tech.best_chip_price(self)

    def wants_sites(self) -> bool:
        """Whether it bids for sites at auction."""
        return True

    def may_sell(self) -> bool:
        """Whether buyers start out knowing it as a seller."""
        return True

    # ------------------------------------------------------------------ spot and use
    def leases_on_spot(self) -> bool:
        return True

    def spot_ask(self) -> spot.Order | None:
        """Online capacity neither delivered under contract nor kept for itself,
        offered at a share of the cost floor of its largest site, never below the
        short-run marginal cost of its least efficient online chips."""
        if not self.facilities or not self.leases_on_spot():  # nothing online, or no lessor
            return None
        m = self.model
        free = self.online_capacity_h100e() - self.delivered_sold_h100e()
        free -= self.own_reservation_h100e(m.month)
        if free <= 1.0:
            return None
        f = max(self.facilities, key=lambda f: f.capacity_h100e)
        floor = self.facility_floor(f, NEUTRAL_CREDIT)
        ask = spot_cost.spot_ask_usd_per_h100e_hour(
            floor, m.p.spot_ask_share_of_floor, self.spot_srmc_usd_per_h100e_hour()
        )
        return spot.Order(self.unique_id, free, ask)

    def spot_srmc_usd_per_h100e_hour(self) -> float:
        """The highest short-run marginal cost among its online chips (the oldest
        generation at each online site). Each (generation, region) is costed once: a
        repeat of a value never changes a maximum."""
        kinds = dict.fromkeys(
            (f.lowest_generation, f.region)
            for f in self.facilities
            if f.status == FacilityStatus.ONLINE and f.chips
        )
        return max((self._srmc(int(gen), region) for gen, region in kinds), default=0.0)

    def _srmc(self, generation: int, region: str) -> float:
        """``Costs.srmc_usd_per_h100e_hour`` of a generation's chips in a region, kept
        per (generation, region) while the spot or a contracting stage runs."""
        m = self.model
        tech = m.tech
        if m.quote_epoch < 0:
            return tech.srmc_usd_per_h100e_hour(
                h100e_per_mw=tech.h100e_per_mw(generation), region=region
            )
        key = ("srmc", generation, region)
        srmc = m.quote_memo.get(key)
        if srmc is None:
            srmc = m.quote_memo[key] = tech.srmc_usd_per_h100e_hour(
                h100e_per_mw=tech.h100e_per_mw(generation), region=region
            )
        return srmc

    def used_share(self) -> float:
        """Share of the compute it buys that it uses (owed in full on take-or-pay)."""
        return 1.0

    def segment_size_h100e(self) -> float:
        """Size in its segment, for merger review: capacity for providers."""
        return self.online_capacity_h100e()

    def renewal(self, c: Contract, seller: Firm, site_id: int, seller_power: float):
        """(quote, price) on which it renews an expiring purchase, or None."""
        return None

    def absorb(self, target: Firm) -> None:
        """Take over what an acquired firm brings beyond sites, contracts and cash."""

    # ------------------------------------------------------------------ life cycle
    def step_settlement(self) -> None:
        """Running costs of owned sites."""
        if self.facilities:
            m = self.model
            opex_of, online = m.tech.facility_opex_usd, FacilityStatus.ONLINE
            opex = 0.0
            for f in self.facilities:
                if f.status == online:
                    opex += opex_of(f)
            if opex:
                m.ledger.pay(self, None, opex, "opex")
        self.service_debt()

    def note_burn(self, net_out_usd: float) -> None:
        """Fold this month's net payments into the smoothed burn (``burn_smoothing``)."""
        w = self.model.p.burn_smoothing
        self.burn_usd_per_month = (1.0 - w) * self.burn_usd_per_month + w * net_out_usd

    def runway_months(self) -> float:
        burn = self.burn_usd_per_month
        return float("inf") if burn <= 0 else self.cash_usd / burn
