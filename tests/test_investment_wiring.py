"""The investment, demand-response and technology submodels as wired into the model:
a slowing path of chip efficiency, users' payment answering price and technology,
and builders who invest on expected utilisation and can stop."""

from __future__ import annotations

import itertools

import pytest

from market.core.model import ComputeMarket
from market.mechanisms import technology


# ------------------------------------------------------------------ technology
def test_chip_density_follows_the_declared_slowing_path():
    m = ComputeMarket(scenario="classroom", rng=1, generation_gain_halving_generations=2)
    p = m.p
    first = p.h100e_per_mw_initial * p.generation_density_gain
    assert m.tech.h100e_per_mw(0) == p.h100e_per_mw_initial
    assert m.tech.h100e_per_mw(1) == pytest.approx(first)
    gains = [m.tech.h100e_per_mw(g + 1) / m.tech.h100e_per_mw(g) for g in range(1, 30)]
    assert all(a > b > 1.0 for a, b in itertools.pairwise(gains))
    bound = technology.gain_limit(p.generation_density_gain, 2)
    assert m.tech.h100e_per_mw(200) < p.h100e_per_mw_initial * bound


def test_a_generation_step_cuts_chip_prices_by_that_generations_cost_gain():
    m = ComputeMarket(
        scenario="classroom",
        rng=1,
        next_generation_month=1,
        generation_interval_months=6,
        generation_cost_gain=2.0,
    )
    prices = []
    for _ in range(14):
        m.step()
        prices.append((m.tech.generation, m.suppliers()[0].unit_cost_usd_per_h100e))
    by_gen = {}
    for gen, cost in prices:
        by_gen.setdefault(gen, cost)
    assert sorted(by_gen) == [0, 1, 2, 3]
    # unit costs move only at generation steps, so the ratio is the step's gain
    assert by_gen[1] / by_gen[2] == pytest.approx(m.tech.cost_gain(2))
    assert by_gen[2] / by_gen[3] == pytest.approx(m.tech.cost_gain(3))
    assert 2.0 > m.tech.cost_gain(2) > m.tech.cost_gain(3) > 1.0


def test_generations_come_further_apart_when_the_interval_grows():
    steady = ComputeMarket(scenario="classroom", rng=1)
    slowing = ComputeMarket(scenario="classroom", rng=1, generation_interval_growth=1.5)
    month = 600
    assert slowing.tech.generation_at(month) < steady.tech.generation_at(month)
    assert slowing.tech.generation_at(0) == steady.tech.generation_at(0)


# ------------------------------------------------------------------ demand response
def test_cheaper_compute_lowers_revenue_per_hour_and_raises_compute_demand():
    from market.core.stages.demand import respond_to_price

    m = ComputeMarket(scenario="colossus-2026", rng=1)
    m.step()
    assert m.reference_compute_cost_usd_per_h100e_hour > 0
    assert m.demand_h100e == pytest.approx(m.potential_demand_h100e)  # the first month
    assert m.revenue_usd_per_h100e_hour == pytest.approx(m.p.revenue_usd_per_h100e_hour)
    base_demand, base_revenue = m.demand_h100e, m.revenue_usd_per_h100e_hour
    # the same month with compute costing half as much as in the first month, and
    # capacity enough to serve what users then want (no scarcity premium)
    m.online_at_use_h100e *= 10.0
    m.reference_compute_cost_usd_per_h100e_hour *= 2.0
    respond_to_price(m)
    assert m.demand_h100e > 1.5 * base_demand
    assert m.revenue_usd_per_h100e_hour < 0.7 * base_revenue
    assert m.token_price_ratio < 1.0
    # dearer compute: users want less of it
    m.reference_compute_cost_usd_per_h100e_hour /= 4.0
    respond_to_price(m)
    assert m.demand_h100e < base_demand


def test_labs_price_users_out_when_they_rationed_them_and_plan_for_demand_at_cost():
    from market.core.stages.demand import respond_to_price

    m = ComputeMarket(scenario="colossus-2026", rng=1)
    m.step()
    respond_to_price(m)
    cost_based_price, cost_based_demand = m.token_price_ratio, m.demand_h100e
    revenue = m.revenue_usd_per_h100e_hour
    # last month every lab served half its users and no capacity stood idle
    for lab in m.labs():
        lab.demand_h100e = 2.0 * lab.used_inference_h100e
    m.online_at_use_h100e = sum(
        lab.used_inference_h100e + lab.used_training_h100e for lab in m.labs()
    )
    m.token_price_ratio = cost_based_price
    respond_to_price(m)
    assert m.token_price_ratio > 1.5 * cost_based_price
    assert m.revenue_usd_per_h100e_hour > 1.5 * revenue
    assert m.demand_h100e < 0.6 * cost_based_demand
    # labs and builders plan for the demand users would have at the cost-based price
    assert m.demand_at_cost_h100e == pytest.approx(cost_based_demand)
    assert m.demand_forecast_h100e(0) == pytest.approx(cost_based_demand)
    # with several times as much capacity idle as users were served, the premium goes
    m.online_at_use_h100e *= 10.0
    respond_to_price(m)
    assert m.token_price_ratio == pytest.approx(cost_based_price)


def test_labs_earn_the_revenue_per_hour_the_demand_stage_sets():
    m = ComputeMarket(scenario="classroom", rng=3)
    for _ in range(30):
        m.step()
    assert m.metrics["revenue_usd_per_h100e_hour"] == m.revenue_usd_per_h100e_hour
    assert m.metrics["token_price_index"] == m.token_price_ratio
    for lab in m.labs():
        assert lab.revenue_usd == pytest.approx(
            lab.used_inference_h100e * m.revenue_usd_per_h100e_hour * 730.0
        )


# ------------------------------------------------------------------ investment
def _provider_market(**overrides):
    m = ComputeMarket(scenario="classroom", rng=1, **overrides)
    m.step()
    firm = next(f for f in m.providers() if f.max_build_mw > 0)
    return m, firm


def _set_demand(m, h100e):
    m.demand_h100e = m.demand_at_cost_h100e = h100e  # the forecast reads the latter
    m.outlook_cache.clear()


def test_a_provider_does_not_build_into_capacity_the_market_will_not_use():
    from market.core import building

    m, firm = _provider_market()
    size = 0.25 * firm.max_site_mw() * m.tech.density_now()
    _set_demand(m, 1.0)  # nobody will use it
    assert not building.build_pays(m, firm, size)
    assert firm.build_want_h100e(0.0, m.tech.density_now()) == 0.0
    _set_demand(m, 1e12)  # every H100e will be used
    assert building.build_pays(m, firm, size)
    assert building.expected_utilisation(m, firm, 12, size) > 0.5


def test_a_speculative_build_is_paused_or_cancelled_when_the_market_turns_idle():
    from market.core import building
    from market.io.records import FacilityStatus

    m, firm = _provider_market()
    firm.cash_usd += 1e12
    m.ledger.open(m.agents)  # the test's cash counts as opening money
    site = building.start_build(m, firm, 0.5 * firm.max_site_mw() * m.tech.density_now())
    orders = building.orders_by_site(m)
    assert site.facility_id in orders
    online_before, cash_before = site.online_month, firm.cash_usd
    _set_demand(m, 1.0)
    building.review_investments(m, firm, orders)
    assert site.paused or site.status == FacilityStatus.RETIRED
    assert firm.cash_usd < cash_before  # the penalty is paid
    if site.paused:
        assert site.online_month > online_before
        assert all(o.held_until_month > m.month for _s, o in orders[site.facility_id])
    assert any(e.kind == "build" and ("pauses" in e.text or "cancels" in e.text) for e in m.events)


def test_cancelling_chips_pays_the_supplier_its_penalty_and_clears_the_order():
    from market.core import building

    m, firm = _provider_market(chip_order_cancel_penalty_share=0.5)
    firm.cash_usd += 1e12
    m.ledger.open(m.agents)
    site = building.start_build(m, firm, 0.5 * firm.max_site_mw() * m.tech.density_now())
    orders = building.orders_by_site(m)[site.facility_id]
    supplier, order = orders[0]
    value = order.open_h100e * order.price_usd_per_h100e
    backlog, supplier_cash = supplier.backlog_h100e(), supplier.cash_usd
    building.cancel_orders(m, firm, site, orders)
    assert site.pending_h100e == pytest.approx(0.0, abs=1e-6)
    assert supplier.backlog_h100e() == pytest.approx(backlog - order.h100e)
    assert supplier.cash_usd == pytest.approx(supplier_cash + 0.5 * value)
    assert m.counters["chip_orders_cancelled_h100e"] == pytest.approx(order.h100e)


def test_a_deferred_chip_order_gets_no_delivery_that_month():
    m, _firm = _provider_market()
    s = next(s for s in m.suppliers() if s.orders)
    held = s.orders[0]
    held.held_until_month = m.month + 1
    before = held.delivered_h100e
    m.step()
    assert held.delivered_h100e == before


# ------------------------------------------------------------------ chip choice
def test_a_site_built_for_a_lab_gets_chips_that_lab_can_run():
    from market.core import building

    m = ComputeMarket(scenario="colossus-2026", rng=1)
    m.step()
    aws, openai = m.firms_by_name["AWS"], m.firms_by_name["OpenAI"]
    trainium = m.firms_by_name["Trainium"]
    trainium.price_usd_per_h100e = trainium.unit_cost_usd_per_h100e = 1.0  # far cheapest
    site = building.start_build(m, aws, 10_000.0, for_contract=True, user=openai)
    placed = [o for s in m.suppliers() for o in s.orders if o.facility_id == site.facility_id]
    assert placed and all(not m.firm(o.supplier_id).captive for o in placed)
    # AWS's own speculative site values Trainium by the users of the labs that run it
    assert 0.0 < building.sellable_share(m, trainium) < 1.0
    assert building.sellable_share(m, m.firms_by_name["Maia"]) == 0.0
    assert building.sellable_share(m, m.firms_by_name["Nvidia"]) == pytest.approx(1.0)


def test_a_provider_values_a_site_from_when_the_grid_connects_it():
    """A site runs only once it is built and its power is connected: a builder whose
    region's grid queue is decades long does not start a site that would pay if it ran
    after its build time alone."""
    from market.core import building

    m, firm = _provider_market()
    size = 0.25 * firm.max_site_mw() * m.tech.density_now()
    _set_demand(m, 1e12)  # every H100e will be used
    assert building.months_to_online(m, firm, size) == firm.build_months()
    assert building.build_pays(m, firm, size)
    region = m.regions[firm.region]
    region.queue_clears_month = m.month + 30 * 12  # 30 years of sites booked ahead
    m.outlook_cache.clear()
    assert building.months_to_online(m, firm, size) > 30 * 12
    assert not building.build_pays(m, firm, size)
