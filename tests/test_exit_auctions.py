"""A run of exits auctions many sites, and merger review reads every firm's size at each
auction: the sizes kept from one auction to the next (``lifecycle.KeptSizes``) must
equal the table worked out afresh (see "What keeps a month cheap" in docs/scaling.md)."""

import dataclasses

import pytest

from agents import Lab, Neocloud
from market import ComputeMarket
from market.core import lifecycle
from market.run.scale import market_for_size, scenario_dict, with_horizon


def _fresh_sizes(self, model):
    """The plain computation: every firm's size again at every auction."""
    return lifecycle.firm_sizes(model)


def _outputs(m) -> tuple:
    owners = sorted((f.facility_id, f.owner_id, f.status) for f in m.facilities.values())
    cash = [(a.unique_id, a.cash_usd) for a in m.agents]
    ts = m.datacollector.get_model_vars_dataframe()
    return ts.to_csv(), [e.text for e in m.events], owners, sorted(cash), dict(m.counters)


def _wave_of_exits(agents: int, share: float, seed: int, review_delta: float):
    """A market of many copies in which, after two months, ``share`` of the labs and
    neoclouds are out of cash at the settlement: they exit and their sites are auctioned
    one after another in one settlement. Merger review blocks a sale that raises the
    HHI by more than ``review_delta`` (from any level)."""
    spec = with_horizon(market_for_size(scenario_dict("baseline"), agents)[0], 4)
    review = {"merger_hhi_threshold": 0.0, "merger_hhi_delta": review_delta}
    spec = dataclasses.replace(spec, params={**spec.params, **review})
    m = ComputeMarket(scenario=spec, rng=seed)
    m.run_months(2)
    broke = [f for f in m.firms() if isinstance(f, (Lab, Neocloud))]
    for f in broke[:: round(1 / share)]:
        f.cash_usd = -1e15  # beyond any loan: it exits
    m.run_months(1)
    return m


@pytest.mark.parametrize(
    ("agents", "share", "seed", "delta"), [(300, 0.5, 1, 1.0), (600, 0.25, 4, 0.3)]
)
def test_sizes_kept_between_auctions_equal_sizes_worked_out_afresh(
    agents, share, seed, delta, monkeypatch
):
    fast = _wave_of_exits(agents, share, seed, delta)
    texts = [e.text for e in fast.events]
    sold = sum("at auction" in t for t in texts)
    blocked = sum("merger review blocks" in t for t in texts)
    assert sold >= 10, "the wave should sell sites"
    assert blocked >= 10, "review should block some sales"
    monkeypatch.setattr(lifecycle.KeptSizes, "current", _fresh_sizes)
    plain = _wave_of_exits(agents, share, seed, delta)
    assert _outputs(fast) == _outputs(plain)
