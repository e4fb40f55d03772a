"""Frontier runs: how long a lab trains (the longest run worth training) and how large a
cluster it assembles (one site, or its sites in one region linked)."""

import math

import pytest

from market.core.model import ComputeMarket
from market.mechanisms import training


def test_a_faster_growing_budget_makes_shorter_runs_worthwhile():
    """Past 12 / ln(g) months a run started later ends larger: 4x a year gives 8 months,
    2.3x a year 14 months (within the bounds), and growth that stops gives the longest."""
    assert training.worthwhile_run_months(4.0, 4, 24) == math.floor(12 / math.log(4.0)) == 8
    assert training.worthwhile_run_months(2.3, 4, 24) == 14
    assert training.worthwhile_run_months(1000.0, 4, 24) == 4  # never below the shortest
    assert training.worthwhile_run_months(1.01, 4, 9) == 9  # never above the longest
    assert training.worthwhile_run_months(1.0, 4, 9) == 9
    assert training.worthwhile_run_months(3.0, 4, 0) == 4  # no stretching: the shortest
    months = [training.worthwhile_run_months(g, 1, 36) for g in (1.5, 2, 3, 5, 10)]
    assert months == sorted(months, reverse=True)


def test_a_run_lasts_as_long_as_its_goal_needs_within_its_bounds():
    assert training.run_months(30.0, 10.0, 4, 9) == 4  # reached within the shortest run
    assert training.run_months(75.0, 10.0, 4, 9) == 8
    assert training.run_months(500.0, 10.0, 4, 9) == 9  # out of reach: the longest
    assert training.run_months(80.0, 10.0, 4, 9) == 8  # exactly 8 months, not 9


def test_sites_in_one_region_are_linked_only_where_that_gives_the_run_more():
    blocks = [("Texas", 100.0), ("Texas", 60.0), ("Memphis", 120.0), ("US East", 0.0)]
    one_site = training.largest_cluster(blocks, 0.0)
    assert (one_site.h100e, one_site.efficiency, one_site.sites) == (120.0, 1.0, 1)
    linked = training.largest_cluster(blocks, 0.9)  # Texas: 0.9 x 160 = 144 > 120
    assert (linked.h100e, linked.efficiency, linked.sites) == (160.0, 0.9, 2)
    assert linked.effective_h100e == pytest.approx(144.0)
    poor = training.largest_cluster(blocks, 0.7)  # 0.7 x 160 = 112 < 120: one site
    assert (poor.h100e, poor.sites) == (120.0, 1)
    assert training.largest_cluster([], 0.9).effective_h100e == 0.0


def _lab_with_two_sites_in_one_region(**overrides):
    """A classroom lab given two more online sites of one region (Plains, 105,000 H100e
    each at the start) as its own."""
    m = ComputeMarket(scenario="classroom", rng=1, **overrides)
    m.step()
    lab = m.firms_by_name["Orbit Labs"]
    for fid in (4, 5):
        site = m.facilities[fid]
        assert site.region == "Plains" and site.capacity_h100e > 0
        site.owner_id = lab.unique_id
        lab.facilities.append(site)
    return m, lab


def test_a_run_on_linked_sites_occupies_them_and_counts_their_linked_compute():
    """With linking on, the lab's cluster is its sites in one region; the run occupies
    their H100e and completes at ``training_linked_site_efficiency`` of the H100e-months."""
    m, lab = _lab_with_two_sites_in_one_region(training_linked_site_efficiency=0.8)
    blocks = lab.blocks_by_site()
    plains = sum(h for fid, h in blocks.items() if m.facilities[fid].region == "Plains")
    cluster = lab.cluster()
    assert cluster.sites >= 2 and cluster.efficiency == 0.8
    assert cluster.h100e == pytest.approx(plains)
    assert 0.8 * plains > max(blocks.values())  # linking gives the run more than one site
    lab.run_h100e, lab.strategy = 0.0, "training_first"
    lab.run_goal_h100e_months = 1e15  # beyond reach: the run takes the whole cluster
    lab.run_plan_h100e = cluster.effective_h100e
    lab.try_start_run()
    months = lab.run_months_planned
    assert lab.run_h100e == pytest.approx(cluster.h100e)  # every linked site is occupied
    assert "linked sites" in m.events[-1].text
    lab.share = 0.0  # no users: the pool goes to the run
    for _ in range(months):
        lab.spot_bought_h100e = lab.run_h100e  # enough compute at hand every month
        lab.step_use()
    assert lab.run_h100e == 0.0
    assert lab.last_run_h100e_months == pytest.approx(cluster.effective_h100e * months)


def test_without_linking_a_run_stays_at_one_site():
    m, lab = _lab_with_two_sites_in_one_region()
    assert m.p["training_linked_site_efficiency"] == 0.0
    assert lab.cluster().sites == 1
    assert lab.largest_block_h100e() == max(lab.blocks_by_site().values())


def test_runs_are_no_longer_than_the_longest_worth_training():
    """Over a colossus-2026 year every run started lasts between the shortest run and
    the longest run worth training when it started (at most training_run_max_months)."""
    m = ComputeMarket(scenario="colossus-2026", rng=2026, years=1)
    longest = m.p["training_run_max_months"]
    assert longest > m.p["training_run_months"]
    seen = []
    for _ in range(12):
        m.step()
        for lab in m.labs():
            if lab.run_h100e > 0:
                seen.append(lab.run_months_planned)
                assert lab.run_months_planned <= lab.worthwhile_run_months() or (
                    lab.run_months_done > 0
                )
    assert seen
    assert all(m.p["training_run_months"] <= x <= longest for x in seen)
