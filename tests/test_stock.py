"""The stock of chips delivered (output delivered_stock_h100e), which the compute-stock
pattern of `validate` compares with G4's stock of chips sold."""

from __future__ import annotations

import pytest

from market.core.model import ComputeMarket
from market.core.stages.observation import delivered_stock_h100e
from market.io.records import ChipBatch, Facility, FacilityStatus


def _site(status: FacilityStatus) -> Facility:
    f = Facility(
        facility_id=1,
        name="site",
        owner_id=1,
        region="r",
        power_mw=100.0,
        status=status,
        online_month=12,
        build_cost_usd=0.0,
    )
    # 500 H100e the site started with (month 0 or before), 200 delivered in month 5
    f.chips = [
        ChipBatch(0, 300.0, -6, 1.0),
        ChipBatch(0, 200.0, 0, 1.0),
        ChipBatch(1, 200.0, 5, 1.0),
    ]
    return f


def test_a_site_waiting_for_power_counts_the_chips_delivered_to_it():
    assert delivered_stock_h100e(_site(FacilityStatus.UNDER_CONSTRUCTION)) == pytest.approx(200.0)
    # once online, all its chips are in service, the ones it started with included
    assert delivered_stock_h100e(_site(FacilityStatus.ONLINE)) == pytest.approx(700.0)
    assert delivered_stock_h100e(_site(FacilityStatus.RETIRED)) == 0.0


def test_the_stock_starts_as_the_online_fleet_and_lies_between_online_and_installed():
    m = ComputeMarket(scenario="colossus-2026", rng=2026, years=1)
    rows = []
    for _ in range(12):
        m.step()
        rows.append(dict(m.metrics))
    first = rows[0]
    # no chip is delivered in the first month: orders are placed after its deliveries
    assert first["delivered_stock_h100e"] == pytest.approx(first["capacity_h100e_total"])
    # the opening sites under construction start with their chips installed
    assert first["installed_h100e_total"] > 2 * first["capacity_h100e_total"]
    for r in rows:
        assert r["capacity_h100e_total"] <= r["delivered_stock_h100e"] + 1e-6
        assert r["delivered_stock_h100e"] <= r["installed_h100e_total"] + 1e-6
    # chips delivered during the year to sites not yet online are in the stock
    assert rows[-1]["delivered_stock_h100e"] > rows[-1]["capacity_h100e_total"]
