"""Contract terms chosen by both sides, and cancellation within notice rules."""

from __future__ import annotations

import pandas as pd
import pytest

from market.analysis import validate
from market.core.ledger import MEMOS
from market.core.model import ComputeMarket
from market.run import runner

SIGNED_IN_RUN = ("negotiated", "renewal")


def test_terms_are_chosen_by_both_sides_and_priced_differently():
    """Monthly, yearly and multi-year contracts are signed side by side, a shorter term
    at a higher price, and a training block is never held for less than its run."""
    m = ComputeMarket(scenario="baseline", rng=1)
    m.run_for(60)
    new = [c for c in m.contracts if c.origin in SIGNED_IN_RUN]
    by_term: dict[int, list] = {}
    for c in new:
        by_term.setdefault(c.term_months, []).append(c)
    assert len(by_term) >= 3, sorted(by_term)
    mean = {
        t: sum(c.price_usd_per_h100e_hour * c.capacity_h100e for c in cs)
        / sum(c.capacity_h100e for c in cs)
        for t, cs in by_term.items()
    }
    assert len({round(v, 2) for v in mean.values()}) == len(mean)  # priced differently
    longest_run = m.labs()[0].longest_run_months()
    assert all(c.term_months >= longest_run for c in new if c.purpose == "training")


def test_a_fixed_term_is_the_single_term_of_the_market():
    m = ComputeMarket(scenario="classroom", rng=1, preferred_term_months=12)
    m.run_for(24)
    terms = {c.term_months for c in m.contracts if c.origin in (*SIGNED_IN_RUN, "circular deal")}
    assert terms == {12}


def test_a_lab_cancels_within_notice_and_pays_the_fee_through_the_ledger():
    m = ComputeMarket(scenario="baseline", rng=1)
    fees_paid = fees_noticed = 0.0
    noticed: dict[int, int] = {}
    for _ in range(48):
        m.step()
        fees_paid += m.flows.get("cancellation fee", 0.0)
        for c in m.contracts:
            if c.cancel_month >= 0 and c.contract_id not in noticed:
                noticed[c.contract_id] = m.month
                fees_noticed += c.cancellation_fee_usd
                assert c.cancel_month - m.month == c.cancellation_notice_months
                assert c.cancel_month < c.start_month + c.term_months
    cancelled = [c for c in m.contracts if c.end_reason == "cancelled"]
    assert cancelled and fees_paid > 0
    assert fees_paid == pytest.approx(fees_noticed, rel=1e-9)
    for c in cancelled:
        assert c.ended_month == c.cancel_month and c.purpose == "inference"
    assert "cancellation fee" in MEMOS
    # the contract book shows the cancellation and its fee
    book = runner.contract_book(m)
    rows = book[book["end_reason"] == "cancelled"]
    assert len(rows) == len(cancelled) and (rows["cancellation_fee_usd"] > 0).any()


def test_a_cancelled_contract_frees_its_sites_capacity_after_the_notice():
    m = ComputeMarket(scenario="baseline", rng=1)
    for _ in range(48):
        m.step()
        mine = [c for c in m.book.open() if c.cancel_month > m.month + 1]
        if mine:
            break
    assert mine, "no contract under notice in four years"
    c = mine[0]
    site = c.facility_id
    after = m.book.committed_h100e(site, c.cancel_month, c.cancel_month + 1)
    during = m.book.committed_h100e(site, c.cancel_month - 1, c.cancel_month)
    assert during - after >= c.capacity_h100e * (1 - 1e-9) - 1e-6


def test_the_validation_report_has_terms_by_seller_type_and_price_by_term():
    result = runner.run("baseline", seed=1, years=3)
    _, summary = validate.measure(result)
    lines = validate._term_lines(pd.DataFrame([summary]))
    text = "\n".join(lines)
    assert "## Contract terms" in text
    for kind in ("hyperscaler", "neocloud"):
        assert f"| {kind} |" in text
    assert "| term (months) | USD per H100e-hour (median over seeds) |" in text


def test_notice_refreshes_what_the_parties_have_secured():
    """A lab keeps its bought and sold totals per month until its contracts change; a
    notice changes when a contract ends, so both parties' totals must be summed again
    (a stale total made a lab cancel a lease it still needed)."""
    m = ComputeMarket(scenario="baseline", rng=1)
    m.run_months(6)
    c = next(
        c
        for c in m.book.open()
        if c.parent_id is None and c.end_month - c.start_month >= 3 and c.start_month <= m.month
    )
    buyer, seller = c.buyer_id, c.seller_id
    before = (m.book.version(buyer), m.book.version(seller))
    m.book.give_notice(c, m.month + 2)
    assert m.book.version(buyer) > before[0] and m.book.version(seller) > before[1]
    lab = m.firm(buyer)
    if hasattr(lab, "bought_h100e"):  # the lab's own total after the notice ends it
        assert lab.bought_h100e(m.month + 2) == pytest.approx(
            sum(
                x.capacity_h100e
                for x in m.book.bought_by(buyer)
                if x.parent_id is None and x.overlaps(m.month + 2, m.month + 3)
            )
            - lab.resold_h100e(m.month + 2)
        )
