"""The contract book: its indexes agree with the contracts, its running totals answer
committed capacity exactly, and the contract network follows it."""

import math
import random

import pytest

from market import ComputeMarket
from market.core.book import ContractBook
from market.core.network import MarketNetwork
from market.io.records import Contract, ContractState


def contract(cid, site, cap, start, term, seller=1, buyer=2):
    return Contract(
        contract_id=cid,
        buyer_id=buyer,
        seller_id=seller,
        facility_id=site,
        capacity_h100e=cap,
        start_month=start,
        term_months=term,
        price_usd_per_h100e_hour=2.0,
        price_usd_per_mw_month=1.0,
        signed_month=0,
        take_or_pay_share=1.0,
    )


def brute_force(book, site, start, end):
    return math.fsum(
        c.capacity_h100e
        for c in book.all
        if c.facility_id == site and c.state != ContractState.ENDED and c.overlaps(start, end)
    )


def two_seller_book():
    net = MarketNetwork()
    for firm in (1, 2):
        net.add_firm(firm, str(firm), "neocloud")
    return ContractBook(net)


def test_committed_capacity_is_the_exactly_rounded_sum_of_overlapping_contracts():
    rng = random.Random(7)
    book = two_seller_book()
    for cid in range(1, 400):
        # capacities of very different sizes, so a naive running sum would drift
        cap = rng.choice([0.1, 0.7, 3.3, 1e7, 1e15]) * (1.0 + rng.random())
        book.add(contract(cid, rng.randint(1, 3), cap, rng.randint(0, 40), rng.randint(1, 24)))
        if rng.random() < 0.4:
            victim = rng.choice(book.open())
            book.end(victim, "expired", 0)
        for _ in range(3):
            site, a = rng.randint(1, 3), rng.randint(0, 60)
            b = a + rng.randint(1, 24)
            assert book.committed_h100e(site, a, b) == brute_force(book, site, a, b)
    # with everything ended nothing is committed, exactly
    for c in book.open():
        book.end(c, "expired", 0)
    assert all(book.committed_h100e(s, 0, 100) == 0.0 for s in (1, 2, 3))


def test_committed_capacity_stays_exact_when_a_finer_capacity_joins_a_site():
    # a site's totals are kept in the unit of its finest capacity so far: a capacity with
    # a finer binary step (down to the smallest subnormal) converts what is kept already
    rng = random.Random(3)
    book = two_seller_book()
    caps = [1e15, 3.0, 0.1, 1e-5, 2.5e-300, 5e-324, 1e300, 7.0 / 3.0]
    for cid, cap in enumerate(caps * 6, start=1):
        book.add(contract(cid, 1, cap * (1.0 + rng.random()), rng.randint(0, 30), 12))
        if rng.random() < 0.3:
            book.end(rng.choice(book.open()), "expired", 0)
        for a in range(0, 45, 3):
            for b in (a + 1, a + 7, a + 20):
                assert book.committed_h100e(1, a, b) == brute_force(book, 1, a, b)
        starts = [c.start_month for c in book.open()]
        assert book.last_start_month(1) == max(starts, default=-1)


def test_a_window_every_open_contract_overlaps_reads_the_kept_whole_capacity_exactly():
    # a site with a few long contracts: most windows lie inside the span where every
    # contract overlaps, whose whole capacity is kept across months until the contracts
    # change (a signature, an end, a notice)
    rng = random.Random(11)
    book = two_seller_book()
    cid = 0
    for month in range(60):
        book.start_month()
        if rng.random() < 0.3 or not book.open():
            cid += 1
            cap = rng.choice([0.1, 3.3, 1e7]) * (1.0 + rng.random())
            book.add(contract(cid, 1, cap, month + rng.randint(0, 3), rng.randint(12, 36)))
        live = [c for c in book.open() if month < c.end_month - 1]
        if rng.random() < 0.1 and live:
            c = rng.choice(live)
            if c.start_month < month + 1 < c.end_month:
                book.give_notice(c, month + 1)
        if rng.random() < 0.1 and book.open():
            book.end(rng.choice(book.open()), "expired", month)
        for a in range(month, month + 40, 2):
            for b in (a + 1, a + 5):
                assert book.committed_h100e(1, a, b) == brute_force(book, 1, a, b)
                assert book.committed_and_last_start(1, a, b) == (
                    brute_force(book, 1, a, b),
                    max((c.start_month for c in book.open()), default=-1),
                )


def test_an_ended_contract_leaves_every_index_and_the_network():
    net = MarketNetwork()
    for firm in (1, 2):
        net.add_firm(firm, str(firm), "neocloud")
    book = ContractBook(net)
    c = contract(1, 5, 100.0, 0, 12)
    book.add(c)
    book.activate(c)
    assert book.sold_by(1) == [c] and book.bought_by(2) == [c] and book.at_site(5) == [c]
    assert net.graph.edges[2, 1]["contract_h100e"] == 100.0
    assert book.committed_h100e(5, 3, 4) == 100.0
    book.end(c, "expired", 4)
    assert c.state == ContractState.ENDED and c.end_reason == "expired" and c.ended_month == 4
    assert book.open() == [] and book.sold_by(1) == [] and book.at_site(5) == []
    assert net.graph.edges[2, 1]["contract_h100e"] == 0.0
    assert book.committed_h100e(5, 3, 4) == 0.0
    assert book.all == [c]


@pytest.mark.parametrize("scenario", ["classroom", "baseline"])
def test_the_books_indexes_and_network_agree_with_the_contracts_every_month(scenario):
    m = ComputeMarket(scenario=scenario, rng=2)
    for _ in range(48):
        m.step()
        book = m.book
        open_ = [c for c in book.all if c.state != ContractState.ENDED]
        assert book.open() == sorted(open_, key=lambda c: c.contract_id)
        # resale sub-contracts are indexed under their parent and their reseller,
        # never as the reseller's sales or at the site
        resales = [c for c in open_ if c.parent_id is not None]
        for firm in m.firms():
            assert {c.contract_id for c in book.sold_by(firm.unique_id)} == {
                c.contract_id
                for c in open_
                if c.seller_id == firm.unique_id and c.parent_id is None
            }
            assert {c.contract_id for c in book.resold_view(firm.unique_id)} == {
                c.contract_id for c in resales if c.seller_id == firm.unique_id
            }
            assert {c.contract_id for c in book.bought_by(firm.unique_id)} == {
                c.contract_id for c in open_ if c.buyer_id == firm.unique_id
            }
        for site in m.facilities.values():
            here = [c for c in open_ if c.facility_id == site.facility_id and c.parent_id is None]
            assert book.at_site(site.facility_id) == here
            for a in (m.month, m.month + 1, m.month + 12):
                assert book.committed_h100e(site.facility_id, a, a + 6) == math.fsum(
                    c.capacity_h100e for c in here if c.overlaps(a, a + 6)
                )
        # the network's contract ties are the active contracts, either direction
        ties: dict[frozenset, float] = {}
        for c in open_:
            if c.state == ContractState.ACTIVE:
                key = frozenset((c.buyer_id, c.seller_id))
                ties[key] = ties.get(key, 0.0) + c.capacity_h100e
        g = m.network.graph
        for a, b, data in g.edges(data=True):
            assert data["contract_h100e"] == pytest.approx(
                ties.get(frozenset((a, b)), 0.0), rel=1e-9, abs=1e-6
            ), (m.calendar_month, a, b)
