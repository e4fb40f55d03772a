"""The contracting stage's short cuts change no outcome: a run with each short cut
switched off signs the same contracts, logs the same events and leaves every firm the
same cash as a run with it on; and the bounds the short cuts read hold for every
quote given."""

import math

import pytest

from agents.base import NEUTRAL_CREDIT, Firm, quiet_key, site_floor
from agents.lab import Lab
from agents.neocloud import Neocloud
from market import ComputeMarket
from market.core import contracting
from market.core.book import ContractBook
from market.core.grid import Region
from market.core.stages import contracting as stages_contracting
from market.io.records import RFQ, Purpose
from market.mechanisms import pricing, terms

# (scenario, seed, years): runs in which labs cancel leases to replace them, some of
# them lease to rival labs, and some sellers are brokers
RUNS = [
    ("baseline", 1, 4),
    ("lesson-brokers", 3, 4),
    ("lesson-colossus-lease", 2, 4),
]


def fingerprint(m: ComputeMarket) -> tuple:
    contracts = [
        (
            c.contract_id,
            c.buyer_id,
            c.seller_id,
            c.facility_id,
            c.capacity_h100e,
            c.start_month,
            c.term_months,
            c.price_usd_per_h100e_hour,
            c.cancel_month,
            c.ended_month,
        )
        for c in m.contracts
    ]
    cash = sorted((f.unique_id, f.cash_usd) for f in m.firms())
    return contracts, [e.text for e in m.events], cash


def run(scenario: str, seed: int, years: int) -> ComputeMarket:
    m = ComputeMarket(scenario=scenario, rng=seed, years=years)
    m.run_months(m.horizon_months)
    return m


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_replacement_search_skipped_only_when_it_would_change_nothing(
    monkeypatch, scenario, seed, years
):
    fast = run(scenario, seed, years)
    # a lowest ask of 0 saves everything: every replacement search asks the sellers
    monkeypatch.setattr(contracting, "lowest_ask_among", lambda model, sellers, rfq: 0.0)
    monkeypatch.setattr(contracting, "lowest_ask_bound", lambda model, sellers, terms, credit: 0.0)
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_the_ask_bound_on_a_labs_sellers_is_below_each_of_their_lowest_asks(
    monkeypatch, scenario, seed, years
):
    """The bound a replacement search reads before the lab chooses its term is below
    every seller's lowest ask on each of the lab's possible terms."""
    bound = contracting.lowest_ask_bound
    checked = []

    def checked_bound(model, sellers, terms, credit) -> float:
        low = bound(model, sellers, terms, credit)
        for term in terms:
            rfq = RFQ(
                buyer_id=-1,
                capacity_h100e=1.0,
                start_month=model.month,
                term_months=term,
                contiguous=False,
                purpose=Purpose.INFERENCE,
                reservation_usd_per_h100e_hour=1.0,
                buyer_credit=credit,
                longest_term_months=max(terms),
            )
            for f in sellers:
                assert low <= f.lowest_site_ask(rfq)
        checked.append(len(sellers))
        return low

    monkeypatch.setattr(contracting, "lowest_ask_bound", checked_bound)
    run(scenario, seed, years)
    assert len(checked) > 20 and max(checked) > 1


def test_a_labs_notice_candidates_kept_are_its_cancellable_leases_found_again(monkeypatch):
    """The leases a lab reviews, kept until its contracts change, are those
    ``cancellable`` finds among all it bought, dearest first."""
    cancellable_now = contracting.cancellable_now
    checked = []

    def checked_cancellable(model, lab) -> list:
        mine = cancellable_now(model, lab)
        plain = sorted(
            (c for c in lab.bought if contracting.cancellable(model, c)),
            key=lambda c: (-c.price_usd_per_h100e_hour, c.contract_id),
        )
        assert mine == plain
        checked.append(len(mine))
        return mine

    monkeypatch.setattr(contracting, "cancellable_now", checked_cancellable)
    run("baseline", 1, 4)
    assert sum(checked) > 100


class Forgetful(dict):
    """A memo that keeps nothing: every price and term is worked out again."""

    def __setitem__(self, key, value) -> None:
        pass


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_prices_and_terms_kept_while_quoting_are_those_worked_out_again(
    monkeypatch, scenario, seed, years
):
    fast = run(scenario, seed, years)
    begin = ComputeMarket.begin_quoting

    def forgetful_quoting(m: ComputeMarket) -> None:
        begin(m)
        m.quote_memo = Forgetful()

    monkeypatch.setattr(ComputeMarket, "begin_quoting", forgetful_quoting)
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)


def test_the_runs_compared_cancel_and_replace_leases():
    texts = [e.text for s in RUNS for e in run(*s).events]
    assert any("replaced at $" in t for t in texts)


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_no_quote_asks_less_than_its_sellers_lowest_site_ask(monkeypatch, scenario, seed, years):
    quotes = Firm.quotes
    checked = []

    def checked_quotes(self: Firm, rfq: RFQ):
        out = quotes(self, rfq)
        lowest = self.lowest_site_ask(rfq)
        for q in out:
            if q.facility_id is not None:
                assert q.ask_usd_per_h100e_hour >= lowest
                checked.append(q)
        return out

    monkeypatch.setattr(Firm, "quotes", checked_quotes)
    run(scenario, seed, years)
    assert len(checked) > 100


def test_a_labs_kept_contract_sums_are_the_sums_over_its_contracts():
    m = ComputeMarket(scenario="lesson-brokers", rng=1, years=4)  # a seed whose labs resell
    checked = 0
    for _ in range(m.horizon_months):
        m.step()
        for lab in m.labs():
            for month in range(m.month, m.month + 25):
                end = month + 1
                bought = sum(c.capacity_h100e for c in lab.bought if c.overlaps(month, end))
                resales = m.book.resold_view(lab.unique_id)
                resold = sum(c.capacity_h100e for c in resales if c.overlaps(month, end))
                sold = sum(c.capacity_h100e for c in lab.sold if c.overlaps(month, end))
                assert lab.bought_h100e(month) == bought - resold
                assert lab.own_free_h100e(month) == max(
                    0.0, lab.expected_capacity_h100e(month) - sold
                )
                checked += resold > 0
    assert checked > 0  # labs resold some of what they bought


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_kept_rooms_change_nothing(monkeypatch, scenario, seed, years):
    fast = run(scenario, seed, years)
    # every site looks up every window; a seller kept with no room still asks for its
    # free sites; a lab sums its expected capacity again for its own reservation
    monkeypatch.setattr(Firm, "_no_room_kept", lambda self, start: False)
    reservation = Lab.own_reservation_h100e
    monkeypatch.setattr(
        Lab, "own_reservation_h100e", lambda self, month, expected=None: reservation(self, month)
    )
    monkeypatch.setattr(ContractBook, "last_start_month", lambda self, site_id: 10**9)
    monkeypatch.setattr(
        ContractBook,
        "committed_and_last_start",
        lambda self, site_id, start, end: (self.committed_h100e(site_id, start, end), 10**9),
    )
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)


def test_a_sellers_kept_room_is_its_room_worked_out_again():
    """While the round runs, each seller's free sites for every window it was asked
    about equal those worked out from the book and its sites at that moment."""
    m = ComputeMarket(scenario="baseline", rng=1, years=3)
    quotes = Firm.quotes
    checked = []

    def checked_quotes(self: Firm, rfq: RFQ):
        term = self.quote_term_months(rfq)
        start, end = rfq.start_month, rfq.start_month + term
        kept = self.free_sites(start, end)
        epoch, m.quote_epoch = m.quote_epoch, -1
        try:
            assert kept == self.free_sites(start, end)
        finally:
            m.quote_epoch = epoch
        checked.append(bool(kept[1]))
        return quotes(self, rfq)

    mp = pytest.MonkeyPatch()
    mp.setattr(Firm, "quotes", checked_quotes)
    try:
        m.run_months(m.horizon_months)
    finally:
        mp.undo()
    assert sum(checked) > 100


def test_every_term_a_lab_chooses_is_among_its_possible_terms(monkeypatch):
    term_for = Lab.term_for
    chosen = []

    def checked_term_for(self: Lab, training: bool, start: int) -> tuple[int, int]:
        term, longest = term_for(self, training, start)
        assert term in self.possible_terms()
        assert longest == 0 or longest in self.possible_terms()
        chosen.append(term)
        return term, longest

    monkeypatch.setattr(Lab, "term_for", checked_term_for)
    run("baseline", 1, 4)
    assert len(set(chosen)) > 1


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_build_to_suit_turned_down_early_only_when_it_could_not_start_in_time(
    monkeypatch, scenario, seed, years
):
    """A buyer starting before the soonest month any new site could come online gets no
    build-to-suit quote without the site being sized: with that check switched off,
    and with every site size the region's grid is asked about checked against it, the
    run is the same."""
    fast = run(scenario, seed, years)
    ready_month = Region.ready_month
    checked = []

    def checked_ready(self: Region, month: int, mw: float) -> float:
        ready = ready_month(self, month, mw)
        assert ready >= max(month + self.min_wait_months, self.queue_clears_month)
        checked.append(ready)
        return ready

    monkeypatch.setattr(Region, "ready_month", checked_ready)
    monkeypatch.setattr(Firm, "soonest_build_online", lambda self: -math.inf)
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)
    assert len(checked) > 100


def test_a_labs_terms_from_the_kept_rolled_prices_are_buyer_terms():
    """The prices a lab rolls over the longest term are worked out once per round, and
    each term's cost once for both choices: the terms chosen are the preferred and the
    longest acceptable term worked out one after the other (``terms.buyer_terms``)."""
    m = ComputeMarket(scenario="baseline", rng=1, years=1)
    m.run_months(3)
    p = m.p
    drift = terms.price_drift_per_year(p.generation_cost_gain, p.generation_interval_months)
    lab = m.labs()[0]
    m.begin_quoting()
    checked = 0
    for shortest in (1, 12):
        factor = {
            t: pricing.term_factor(t, p.short_term_premium, full_term_months=p.full_term_months)
            for t in terms.term_menu(p.longest_term_months)
            if t >= shortest
        }
        for firm in (0.0, 6.0, 30.0):
            for uncertainty in (0.0, 0.3, 1.5):
                outlook = {
                    "firm_horizon_months": firm,
                    "uncertainty_per_year": uncertainty,
                    "take_or_pay_share": p.take_or_pay_share,
                    "renewal_cost_months": p.renewal_cost_months,
                }
                rolled = {
                    t: terms.rolled_price_usd_per_h100e_hour(
                        f, t, horizon_months=max(factor), buyer_drift_per_year=drift
                    )
                    for t, f in factor.items()
                }
                preferred = terms.buyer_preferred_term(rolled, **outlook)
                longest = terms.buyer_longest_term(
                    rolled, preferred, p.buyer_term_tolerance, **outlook
                )
                assert lab._terms(shortest, outlook) == (preferred, longest)
                assert terms.buyer_terms(
                    factor, buyer_drift_per_year=drift, tolerance=p.buyer_term_tolerance, **outlook
                ) == (preferred, longest)
                checked += 1
    assert checked == 18


def test_a_sellers_floor_extremes_give_its_lowest_and_highest_floor_for_every_buyer(
    monkeypatch,
):
    """Read from its sites with the extreme floors for a buyer of credit 1, a seller's
    lowest and highest floor for a buyer of any credit are those over every site."""
    extremes = Firm.floor_extremes
    checked = []

    def checked_extremes(self: Firm):
        ends = extremes(self)
        for credit in (0.0, 0.3, NEUTRAL_CREDIT, 0.9, 1.0):
            floors = [self.facility_floor(f, credit) for f in self.facilities]
            span = [site_floor(self.model, *key, credit) for _, key in ends]
            assert (min(span), max(span)) == (min(floors), max(floors))
        checked.append(len(self.facilities))
        return ends

    monkeypatch.setattr(Firm, "floor_extremes", checked_extremes)
    run("lesson-brokers", 3, 4)
    assert len(checked) > 100 and max(checked) > 1


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_leases_reviewed_for_need_only_when_one_may_be_given_up(monkeypatch, scenario, seed, years):
    fast = run(scenario, seed, years)
    # no bound: every lab with leases works out what it secures beyond its need
    monkeypatch.setattr(contracting, "surely_all_needed", lambda model, lab, mine: not mine)
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)


def test_a_lab_surely_needing_all_it_leases_secures_less_than_its_need_and_a_lease(
    monkeypatch,
):
    """Where the bound says no lease can be given up for want of need, what the lab
    secures at the horizon exceeds its need then by less than its smallest lease."""
    bound = contracting.surely_all_needed
    checked = []

    def checked_bound(model, lab, mine) -> bool:
        sure = bound(model, lab, mine)
        if sure and mine:
            t = model.month + model.p.rfq_horizon_months
            excess = lab.secured_h100e(t) - lab.need_h100e(t)
            assert excess < min(c.capacity_h100e for c in mine)
            checked.append(lab.unique_id)
        return sure

    monkeypatch.setattr(contracting, "surely_all_needed", checked_bound)
    run("baseline", 1, 3)
    assert len(checked) > 100


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_a_sellers_kept_floor_extremes_are_those_found_again_over_every_site(
    monkeypatch, scenario, seed, years
):
    """Kept through sales, new sites, chip orders and loans, a seller's floor extremes
    are those worked out again from all its sites as they are."""
    extremes = Firm.floor_extremes
    checked = []

    def checked_extremes(self: Firm):
        ends = extremes(self)
        rate = self.annual_rate()
        again = sorted(
            (self.facility_floor(f, 1.0), (*key, rate))
            for f, key in zip(self.facilities, self._floor_inputs(), strict=True)
        )
        assert [x for x, _ in ends] == [again[0][0], again[-1][0]]
        assert all(site_floor(self.model, *key, 1.0) == x for x, key in ends)
        checked.append(self.unique_id)
        return ends

    monkeypatch.setattr(Firm, "floor_extremes", checked_extremes)
    run(scenario, seed, years)
    assert len(checked) > 100


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS)
def test_the_lowest_ask_among_a_labs_sellers_is_the_lowest_of_their_lowest_asks(
    monkeypatch, scenario, seed, years
):
    """Read from two floors per term quoted on, the lowest ask among the sellers a lab
    asks for a replacement is the lowest of each seller's lowest ask over its sites."""
    among = contracting.lowest_ask_among
    checked = []

    def checked_among(model, sellers, rfq) -> float:
        low = among(model, sellers, rfq)
        plain = min(
            (
                f._lowest_site_ask(f.quote_term_months(rfq), rfq.buyer_credit)
                for f in sellers
                if f.lowest_site_ask(rfq) < math.inf
            ),
            default=math.inf,
        )
        assert low == plain
        checked.append(len(sellers))
        return low

    monkeypatch.setattr(contracting, "lowest_ask_among", checked_among)
    run(scenario, seed, years)
    assert len(checked) > 20 and max(checked) > 1


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_a_labs_cluster_kept_while_contracting_is_its_cluster_worked_out_again(
    monkeypatch, scenario, seed, years
):
    kept_cluster = Lab.cluster
    checked = []

    def checked_cluster(self: Lab):
        kept = kept_cluster(self)
        assert kept == self._cluster()
        checked.append(self.model.quote_epoch >= 0 and kept.h100e > 0)
        return kept

    monkeypatch.setattr(Lab, "cluster", checked_cluster)
    m = run(scenario, seed, years)
    assert sum(checked) > 100  # clusters asked for while contracting
    assert any("starts a training run" in e.text for e in m.events)


def fingerprint_with_unquoted(m: ComputeMarket) -> tuple:
    return fingerprint(m), sorted((f.unique_id, f.unquoted_h100e) for f in m.firms())


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_a_seller_skipped_on_its_no_quote_bars_quotes_nothing(monkeypatch, scenario, seed, years):
    """A seller the round does not ask for quotes, on its ``no_quote_bars``, quotes
    nothing when asked and only counts the request as unquoted: a round asking every
    seller runs the same."""
    fast = run(scenario, seed, years)
    checked = []

    def asking_all(model: ComputeMarket, asked: list[Firm], rfq: RFQ) -> list:
        key = quiet_key(model.quote_epoch, rfq)
        out = []
        for seller in asked:
            bar = seller.no_quote_bars.get(key)
            skipped = (
                rfq.capacity_h100e > 0
                and bar is not None
                and rfq.latest_start < bar[0]
                and seller.unique_id != rfq.buyer_id
                and (bar[1] is None or bar[1] == seller.reservation_inputs())
            )
            before = seller.unquoted_h100e
            quotes = seller.quotes(rfq)
            if skipped:
                assert quotes == []
                assert seller.unquoted_h100e == before + rfq.capacity_h100e
                checked.append(seller.unique_id)
            out += quotes
        return out

    monkeypatch.setattr(stages_contracting, "gather_quotes", asking_all)
    full = run(scenario, seed, years)
    assert fingerprint_with_unquoted(fast) == fingerprint_with_unquoted(full)
    assert len(checked) > 100


@pytest.mark.parametrize(("scenario", "seed", "years"), RUNS[:2])
def test_a_build_to_suit_turned_down_on_finance_early_only_when_none_finances(
    monkeypatch, scenario, seed, years
):
    """A build to suit turned down before its floor and term are worked out could not
    have been financed on them; the build inputs kept while quoting are those worked
    out again: with the early check off and every kept input checked, the run is the
    same."""
    fast = run(scenario, seed, years)
    build_to_suit = Firm._build_to_suit
    checked = []

    def checked_quote(self: Firm, rfq: RFQ, h100e: float):
        tech = self.model.tech
        density = tech.density_now()
        fresh = (density, self.max_site_mw() * density, tech.best_chip_price(self))
        assert self.build_inputs() == fresh
        checked.append(fresh)
        return build_to_suit(self, rfq, h100e)

    monkeypatch.setattr(Firm, "_build_to_suit", checked_quote)
    monkeypatch.setattr(Neocloud, "may_finance", lambda self, h100e: True)
    full = run(scenario, seed, years)
    assert fingerprint_with_unquoted(fast) == fingerprint_with_unquoted(full)
    assert len(checked) > 100
