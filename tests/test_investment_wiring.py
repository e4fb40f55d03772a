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
