"""Resale sub-contracts in the contract book: indexed under their parent and not at
the site, ended with their parent, and never beyond the parent's unused part."""

import random

import pytest

from market.core.book import ContractBook
from market.core.network import MarketNetwork
from market.io.records import Contract, ContractState, EndReason, Origin
from market.mechanisms import resale

CLOUD, LAB, OTHER_LAB, THIRD = 1, 2, 3, 4


def book():
    net = MarketNetwork()
    for firm in (CLOUD, LAB, OTHER_LAB, THIRD):
        net.add_firm(firm, str(firm), "lab")
    return ContractBook(net)


def contract(cid, cap, start, term, seller=CLOUD, buyer=LAB, parent=None, site=7):
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
        origin=Origin.RESALE if parent else Origin.NEGOTIATED,
        parent_id=parent,
    )


def test_a_resale_is_indexed_under_its_parent_not_at_the_site():
    b = book()
    b.add(contract(1, 100_000, 0, 12))
    b.add_resale(contract(2, 40_000, 3, 2, seller=LAB, buyer=OTHER_LAB, parent=1), {})
    assert b.committed_h100e(7, 0, 12) == 100_000  # the site sold the capacity once
    assert [c.contract_id for c in b.at_site(7)] == [1]
    assert [c.contract_id for c in b.children(1)] == [2]
    assert [c.contract_id for c in b.bought_by(OTHER_LAB)] == [2]
    assert [c.contract_id for c in b.resold_view(LAB)] == [2]
    assert b.sold_by(LAB) == []  # the holder sells no site capacity
    assert b.resold_h100e(1, 3) == 40_000 and b.resold_h100e(1, 5) == 0


def test_a_resale_receives_its_parents_delivery_ratio():
    b = book()
    b.add(contract(1, 100_000, 0, 12))
    b.add_resale(contract(2, 40_000, 0, 2, seller=LAB, buyer=OTHER_LAB, parent=1), {})
    for c in b.open():
        b.activate(c)
    b.deliver(lambda site: 50_000)  # the site has half of what it sold online
    assert b.children(1)[0].delivered_h100e == 20_000
    assert b.open()[0].delivered_h100e == 50_000  # the holder still receives (and owes) all


def test_when_a_parent_ends_its_children_end_and_not_the_other_way_round():
    b = book()
    b.add(contract(1, 100_000, 0, 12))
    b.add_resale(contract(2, 10_000, 1, 3, seller=LAB, buyer=OTHER_LAB, parent=1), {})
    b.add_resale(contract(3, 10_000, 1, 3, seller=LAB, buyer=THIRD, parent=1), {})
    b.end(b.children(1)[1], EndReason.BUYER_EXIT, 2)  # a sub-buyer leaves
    assert [c.contract_id for c in b.children(1)] == [2]
    parent = b.open()[0]
    assert parent.state != ContractState.ENDED
    b.end(parent, EndReason.BUYER_EXIT, 4)
    child = b.all[1]
    assert child.state == ContractState.ENDED and child.end_reason == EndReason.PARENT_ENDED
    assert b.children(1) == [] and list(b.resold_view(LAB)) == [] and b.open() == []


@pytest.mark.parametrize(
    ("cap", "start", "term", "seller", "words"),
    [
        (70_000, 2, 2, LAB, "exceed"),  # 40,000 used + 70,000 > 100,000 in months 2-3
        (10_000, 10, 4, LAB, "outside"),  # beyond the parent's window
        (10_000, 2, 2, OTHER_LAB, "does not hold"),
    ],
)
def test_a_resale_beyond_the_unused_part_or_the_window_or_by_a_non_holder_is_refused(
    cap, start, term, seller, words
):
    b = book()
    b.add(contract(1, 100_000, 0, 12))
    own_use = dict.fromkeys(range(12), 40_000.0)
    with pytest.raises(ValueError, match=words):
        b.add_resale(contract(2, cap, start, term, seller=seller, buyer=THIRD, parent=1), own_use)
    assert b.children(1) == [] and len(b) == 1


def test_random_resales_never_exceed_the_unused_part_of_their_parent():
    rng = random.Random(3)
    b = book()
    b.add(contract(1, 100_000, 0, 24))
    own_use = {m: rng.uniform(0, 80_000) for m in range(24)}
    signed = 0
    for cid in range(2, 300):
        start = rng.randint(0, 23)
        c = contract(cid, rng.uniform(1, 40_000), start, rng.randint(1, 6), LAB, THIRD, 1)
        if b.resale_problem(c, own_use) is None:
            b.add_resale(c, own_use)
            signed += 1
        else:
            with pytest.raises(ValueError):
                b.add_resale(c, own_use)
    resold = [(c.start_month, c.end_month, c.capacity_h100e) for c in b.children(1)]
    assert signed > 5
    assert resale.over_resold(100_000, own_use, resold, tol_h100e=1e-3) == []
