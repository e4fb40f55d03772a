"""Chip supply planned ahead: output booked on buyers' guidance, orders spread over
several suppliers, and opening sites that hold chips of a stated generation."""

from __future__ import annotations

import itertools
import tomllib
from importlib import resources

import pytest

from agents import Neocloud
from market.core.model import ComputeMarket
from market.io.records import FacilityStatus
from market.io.scenario import ScenarioError, load_scenario
from market.mechanisms import chips


def test_guided_output_grows_with_the_forecast_within_the_expansion_cap():
    # a forecast growing 3% a month, fully booked: 3% more than the latest plan
    assert chips.guided_output(100.0, 1.03, 1.0, 0.08) == pytest.approx(103.0)
    # half the guidance booked: half the growth
    assert chips.guided_output(100.0, 1.03, 0.5, 0.08) == pytest.approx(101.5)
    # never faster than the supplier can expand, never a cut for a shrinking forecast
    assert chips.guided_output(100.0, 1.20, 1.0, 0.08) == pytest.approx(108.0)
    assert chips.guided_output(100.0, 0.95, 1.0, 0.08) == pytest.approx(100.0)


def _orders_for(m: ComputeMarket, site_id: int):
    return [(s, o) for s in m.suppliers() for o in s.orders if o.facility_id == site_id]


def _order_two_million(lots: int):
    m = ComputeMarket(scenario="colossus-2026", rng=1, chip_order_lots=lots)
    neo = m.of_type(Neocloud)[0]
    site = next(f for f in neo.facilities if f.status == FacilityStatus.ONLINE)
    pending = site.pending_h100e
    m.order_chips(neo, site, 2e6)
    return m, site, pending


def test_one_lot_places_the_whole_order_with_one_supplier():
    m, site, pending = _order_two_million(1)
    orders = _orders_for(m, site.facility_id)
    assert len(orders) == 1 and orders[0][1].h100e == pytest.approx(2e6)
    assert site.pending_h100e == pytest.approx(pending + 2e6)


def test_a_large_order_in_lots_is_spread_over_suppliers_by_their_queues():
    m, site, pending = _order_two_million(8)
    orders = _orders_for(m, site.facility_id)
    assert len({s.unique_id for s, _ in orders}) >= 2
    assert sum(o.h100e for _, o in orders) == pytest.approx(2e6)
    assert site.pending_h100e == pytest.approx(pending + 2e6)
    # the site's chip cost is the lots' prices weighted by their size
    cost = sum(o.h100e * o.price_usd_per_h100e for _, o in orders) / 2e6
    assert site.chip_cost_usd_per_h100e == pytest.approx(cost)


def _colossus_with_generation(gen: int) -> dict:
    text = resources.files("market.scenarios").joinpath("colossus-2026.toml").read_text()
    spec = tomllib.loads(text)
    for f in spec["facility"]:
        if f.get("name") == "Colossus 2":
            f["chip_generation"] = gen
    return spec


def test_an_opening_site_holds_as_many_h100e_as_its_generation_fits():
    old = ComputeMarket(scenario=_colossus_with_generation(0), rng=1)
    new = ComputeMarket(scenario=_colossus_with_generation(1), rng=1)

    def site(m):
        return next(f for f in m.facilities.values() if f.name == "Colossus 2")

    a, b = site(old), site(new)
    assert a.power_mw == b.power_mw
    assert sum(c.h100e for c in a.chips) == pytest.approx(a.power_mw * old.tech.h100e_per_mw(0))
    assert sum(c.h100e for c in b.chips) == pytest.approx(b.power_mw * new.tech.h100e_per_mw(1))
    assert {c.generation for c in b.chips} == {1} and b.ordered_generation == 1


def test_a_negative_chip_generation_is_refused_naming_the_field():
    with pytest.raises(ScenarioError, match="chip_generation"):
        load_scenario(_colossus_with_generation(-1))


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_output_booked_before_the_start_grows_with_the_guidance(weight):
    m = ComputeMarket(scenario="colossus-2026", rng=1, chip_guidance_weight=weight)
    opening = {s.name: s.production_h100e_per_month for s in m.suppliers()}
    m.step()
    grows = m.demand_forecast_h100e(18) > m.demand_forecast_h100e(6)
    assert grows
    for s in m.suppliers():
        booked = s.pipeline
        if weight == 0:
            # without guidance the opening output is booked until backlog moves it
            assert booked[0] <= opening[s.name] * (1 + m.p.chip_max_expansion_per_month)
        else:
            assert all(b >= a for a, b in itertools.pairwise(booked))
            assert booked[-1] > opening[s.name] * 1.1
            assert booked[-1] <= opening[s.name] * (1 + m.p.chip_max_expansion_per_month) ** (
                len(booked) + 1
            ) * (1 + 1e-9)
