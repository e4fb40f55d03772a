"""The depth of a whole site's outside option: what nothing else on offer could
deliver, and what a lab loses without it (pricing.undeliverable_share,
pricing.lost_users_months, Lab.whole_site_reservation)."""

import pytest

from market.io.records import RFQ, Purpose, Quote
from market.mechanisms import pricing
from market.run.runner import build_model


def test_divisible_block_adds_only_what_the_rest_cannot_serve():
    # need 100, 60 elsewhere: a block of 80 adds 40 of the need, half of itself
    assert pricing.undeliverable_share(80.0, 100.0, 60.0, False) == pytest.approx(0.5)
    # the rest covers the need: the block adds nothing
    assert pricing.undeliverable_share(80.0, 100.0, 150.0, False) == 0.0
    # nothing elsewhere, a block smaller than the need: all of it is needed
    assert pricing.undeliverable_share(80.0, 100.0, 0.0, False) == 1.0


def test_contiguous_block_replaces_the_largest_other_block():
    # a run of 100: the largest other block gives 70, so a block of 200 adds 30
    assert pricing.undeliverable_share(200.0, 100.0, 70.0, True) == pytest.approx(0.15)
    # another block covers the run: none of this one is needed
    assert pricing.undeliverable_share(200.0, 100.0, 120.0, True) == 0.0
    assert pricing.undeliverable_share(0.0, 100.0, 0.0, True) == 0.0
    assert pricing.undeliverable_share(50.0, 0.0, 0.0, False) == 0.0


def test_a_run_and_the_users_never_count_the_same_h100e():
    # users short 100, 130 on offer elsewhere, the largest other block 60, a run of 50:
    # without the site the run takes 50 of that block and the users get 80; with a
    # site of 80 the run trains on it and the users get its 30 and all 130
    assert pricing.users_share_beside_run(80.0, 50.0, 60.0, 130.0, 100.0) == pytest.approx(0.25)
    # counted as if the run took nothing, the same site would serve the users nothing
    assert pricing.undeliverable_share(80.0, 100.0, 130.0, False) == 0.0
    # plenty elsewhere even after the run: the site serves no users
    assert pricing.users_share_beside_run(80.0, 50.0, 60.0, 500.0, 100.0) == 0.0
    assert pricing.users_share_beside_run(80.0, 50.0, 60.0, 130.0, 0.0) == 0.0
    # nothing elsewhere: the site's rest after the run serves users
    assert pricing.users_share_beside_run(80.0, 50.0, 0.0, 0.0, 100.0) == pytest.approx(30 / 80)


def test_lost_users_months_sum_the_months_a_leaver_stays_away():
    assert pricing.lost_users_months(0.5, 0.9, 0) == 0.0
    assert pricing.lost_users_months(0.5, 0.9, 1) == pytest.approx(0.5)
    assert pricing.lost_users_months(1.0, 0.5, 3) == pytest.approx(1 + 0.5 + 0.25)
    assert pricing.lost_users_months(0.2, 1.0, 12) == pytest.approx(2.4)
    longer = [pricing.lost_users_months(0.5, 0.9, t) for t in (1, 12, 36)]
    assert longer == sorted(longer)


@pytest.fixture(scope="module")
def market():
    model = build_model("colossus-2026", seed=2026, years=1)
    for _ in range(2):
        model.step()
    return model


def _site_and_rfq(model, lab, training: bool, h100e: float):
    start = model.month + 1
    rfq = RFQ(
        buyer_id=lab.unique_id,
        capacity_h100e=h100e,
        start_month=start,
        term_months=12,
        contiguous=training,
        purpose=Purpose.TRAINING if training else Purpose.INFERENCE,
        reservation_usd_per_h100e_hour=lab.reservation_usd_per_h100e_hour(training, 12),
        buyer_credit=lab.credit_rating,
    )
    site = Quote(
        seller_id=-1,
        facility_id=1,
        capacity_h100e=h100e,
        start_month=start,
        term_months=12,
        ask_usd_per_h100e_hour=1.0,
        floor_usd_per_h100e_hour=1.0,
        exclusive=True,
    )
    return rfq, site


def test_a_site_others_could_deliver_is_capped_by_the_outside_option(market):
    lab = next(a for a in market.labs() if a.users_short_h100e(market.month + 1, 12) <= 0)
    rfq, site = _site_and_rfq(market, lab, True, 100_000.0)
    rival = Quote(
        seller_id=-2,
        facility_id=2,
        capacity_h100e=2 * site.capacity_h100e,
        start_month=site.start_month,
        term_months=12,
        ask_usd_per_h100e_hour=1.0,
        floor_usd_per_h100e_hour=1.0,
    )
    capped = lab.reservation_for(rfq, 12)
    race = max(capped, lab.value_usd_per_h100e_hour(True))
    # another block covers the run: the limit is the capped one
    assert lab.whole_site_reservation(rfq, site, [site, rival]) == pytest.approx(capped)
    # alone, the whole block is worth its race value to a lab that turns no users away
    assert lab.whole_site_reservation(rfq, site, [site]) == pytest.approx(race)


def test_users_turned_away_are_worth_their_revenue_and_the_leavers(market):
    """The short lab of early 2026 (S6) expects to turn users away over a year; with nothing unsold
    on spot and no other quote, a site that serves them is worth their lost revenue."""
    lab = max(market.labs(), key=lambda a: a.users_short_h100e(market.month + 1, 12))
    short = lab.users_short_h100e(market.month + 1, 12)
    assert short > 0
    rfq, site = _site_and_rfq(market, lab, False, short)
    spot, market.spot_result = market.spot_result, None
    try:
        limit = lab.whole_site_reservation(rfq, site, [site])
    finally:
        market.spot_result = spot
    lost = lab.users_lost_usd_per_h100e_hour(12)
    assert lost > market.revenue_usd_per_h100e_hour
    assert limit == pytest.approx(max(lab.reservation_for(rfq, 12), lost))
    # a site twice the shortfall: half of it serves them, the other half is capped
    rfq2, site2 = _site_and_rfq(market, lab, False, 2 * short)
    market.spot_result = None
    try:
        half = lab.whole_site_reservation(rfq2, site2, [site2])
    finally:
        market.spot_result = spot
    assert lab.reservation_for(rfq2, 12) < half < limit


def test_users_short_over_a_term_is_the_mean_of_its_months(market):
    """A lab weighs the shortage it expects over a site's term, not only its first
    month: the mean over the term of its users' forecast less what it has secured."""
    lab = max(market.labs(), key=lambda a: a.users_short_h100e(market.month + 1, 12))
    start = market.month + 1
    months = [lab.users_short_h100e(start + i) for i in range(12)]
    assert lab.users_short_h100e(start, 12) == pytest.approx(sum(months) / 12)
    assert lab.users_short_h100e(start, 12) > 0
    # what it has signed to start later in the term counts against those months only
    assert lab.users_short_h100e(start, 12) != pytest.approx(lab.users_short_h100e(start))


def test_a_whole_site_is_weighed_against_the_whole_need(market):
    """A whole site far larger than a training request is still taken when the users
    the lab expects to turn away over the term would use the rest; beyond the request
    and that shortfall it is declined."""
    lab = max(market.labs(), key=lambda a: a.users_short_h100e(market.month + 1, 12))
    rfq, _ = _site_and_rfq(market, lab, True, 100_000.0)
    short = lab.users_short_h100e(rfq.start_month, 12)
    ratio = market.p.max_whole_site_ratio

    def site(h100e):
        return Quote(
            seller_id=-1,
            facility_id=1,
            capacity_h100e=h100e,
            start_month=rfq.start_month,
            term_months=12,
            ask_usd_per_h100e_hour=0.01,
            floor_usd_per_h100e_hour=0.01,
            exclusive=True,
        )

    need = lab.whole_site_need_h100e(rfq, site(1.0))
    assert need == pytest.approx(rfq.capacity_h100e + short)
    within = site(0.9 * ratio * need)
    beyond = site(1.1 * ratio * need)
    assert within.capacity_h100e > ratio * rfq.capacity_h100e
    assert [d[0] for d in lab.accept(rfq, [within], 0.5)] == [within]
    assert lab.accept(rfq, [beyond], 0.5) == []
