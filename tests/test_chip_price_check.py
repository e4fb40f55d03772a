"""A firm checks its cash, and appraises a build, at the price of the chips it will
actually order: the supplier it picks once backlogs (and, for a provider building to
sell, the users who can run a captive program's ASICs) are counted, not the cheapest
list price it is quoted."""

from __future__ import annotations

import pytest

from market import ComputeMarket
from market.core import building


def _model() -> ComputeMarket:
    # Skyline TPU quotes its parent 1.2 x unit cost (10,800 USD), below Verdant's list
    # price (30,000 USD), but only the labs with 35% of users run TPUs, so Skyline Cloud,
    # building to sell, counts them at 10,800 / 0.35 and orders Verdant GPUs
    return ComputeMarket(scenario="classroom", rng=1, captive_chip_price_factor=1.2)


def test_the_price_checked_is_the_price_of_the_supplier_ordered_from():
    m = _model()
    firm = m.firms_by_name["Skyline Cloud"]
    quotes = {s.name: s.quote_price(firm) for s in m.tech.suppliers_for(firm)}
    assert quotes["Skyline TPU"] < quotes["Verdant GPUs"]
    assert m.tech.chip_supplier(firm).name == "Verdant GPUs"
    assert m.tech.best_chip_price(firm) == quotes["Verdant GPUs"]
    h100e = 10_000.0
    building_usd = h100e / m.tech.density_now() * m.p.facility_cost_usd_per_mw
    assert m.tech.build_cost_usd(firm, h100e) == pytest.approx(
        building_usd + h100e * quotes["Verdant GPUs"]
    )
    building.start_build(m, firm, h100e)
    gpu = m.firms_by_name["Verdant GPUs"]
    order = gpu.orders[-1]
    assert order.buyer_id == firm.unique_id
    assert order.price_usd_per_h100e == quotes["Verdant GPUs"]


def test_a_firm_that_can_pay_only_the_cheapest_quote_does_not_build():
    m = _model()
    firm = m.firms_by_name["Skyline Cloud"]
    h100e = 100_000.0
    building_usd = h100e / m.tech.density_now() * m.p.facility_cost_usd_per_mw
    cheapest = min(s.quote_price(firm) for s in m.tech.suppliers_for(firm))
    # enough cash for the site at the cheapest quote, not at the GPUs it would order
    firm.cash_usd = building_usd + h100e * cheapest * 1.5 - firm.undrawn_usd()
    firm.cash_usd += firm.pending_chip_cost_usd()
    assert firm.free_cash_usd() > building_usd + h100e * cheapest
    assert not firm.can_finance(h100e, 0.0, 12, 1.0)
