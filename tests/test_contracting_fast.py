"""The contracting stage's short cuts change no outcome: a run with each short cut
switched off signs the same contracts, logs the same events and leaves every firm the
same cash as a run with it on; and the bounds the short cuts read hold for every
quote given."""

import pytest

from agents.base import Firm
from market import ComputeMarket
from market.io.records import RFQ

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
    monkeypatch.setattr(Firm, "lowest_site_ask", lambda self, rfq: 0.0)
    full = run(scenario, seed, years)
    assert fingerprint(fast) == fingerprint(full)


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
    m = ComputeMarket(scenario="lesson-brokers", rng=3, years=4)
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
