"""The short cuts of the investment, spot, settlement and observation stages give the
answers of the plain computation they stand for: each test runs the plain version
next to the fast one and compares outputs, events and every firm's cash (see "What
keeps a month cheap" in docs/scaling.md)."""

import mesa
import pandas as pd
import pytest

from agents import ChipSupplier, Hyperscaler, Lab, Neocloud
from agents.base import Firm
from market import ComputeMarket
from market.core import building, stages
from market.core.stages import spot
from market.io.collector import Columnar, ColumnCollector
from market.io.records import FacilityStatus

RUNS = (
    ("baseline", 1, 36, {}),
    ("colossus-2026", 2, 36, {}),
    ("lesson-consolidation", 5, 60, {}),
    ("lesson-brokers", 3, 24, {"demand_growth_per_year": 0.7}),
)


def _outputs(m) -> tuple:
    ts = m.datacollector.get_model_vars_dataframe()
    cash = sorted((f.unique_id, f.cash_usd) for f in m.firms())
    return ts.to_csv(), [e.text for e in m.events], cash


def _run(scenario, seed, months, overrides):
    m = ComputeMarket(scenario=scenario, rng=seed, **overrides)
    m.run_months(months)
    return m


def _plain_top_up_chips(self) -> None:
    """Every site with room asks whether chips are worth ordering, its free cash summed
    again each time."""
    m = self.model
    density = m.tech.density_now()
    for f in self.facilities:
        if f.status == FacilityStatus.RETIRED or f.pending_h100e > 0 or f.paused:
            continue
        headroom = f.power_mw - sum(b.h100e / m.tech.h100e_per_mw(b.generation) for b in f.chips)
        h100e = headroom * density
        if (
            h100e >= m.p.chip_top_up_min_share * f.power_mw * density
            and self.free_cash_usd() > h100e * m.tech.best_chip_price(self)
            and self.chips_worth_ordering(f, h100e)
        ):
            m.order_chips(self, f, h100e)


def _plain_planned_build_h100e(self) -> float:
    """Every builder works out what it wants before asking whether it has the cash."""
    m, p = self.model, self.model.p
    if self.max_build_mw <= 0:
        return 0.0
    recent = any(
        f.status == FacilityStatus.UNDER_CONSTRUCTION
        and m.month - f.build_started_month < p.build_cooldown_months
        for f in self.facilities
    )
    if recent:
        return 0.0
    density = m.tech.density_now()
    floor = m.tech.cost_floor_usd_per_h100e_hour(
        chip_cost_usd_per_h100e=m.tech.best_chip_price(self),
        h100e_per_mw=density,
        region=self.region,
        annual_rate=self.annual_rate(),
    )
    want = self.build_want_h100e(floor, density)
    h100e = min(want, self.max_site_mw() * density)
    if h100e < p.min_build_share_of_site * self.max_site_mw() * density:
        return 0.0
    reserve = p.build_reserve_months_of_burn * max(self.burn_usd_per_month, 0.0)
    if self.free_cash_usd() - reserve < m.tech.build_cost_usd(self, h100e):
        return 0.0
    return h100e


@pytest.mark.slow
def test_investment_short_cuts_equal_the_plain_investment(monkeypatch):
    """Skipping sites and builders without the cash for the smallest order or site, and
    appraisals no builder could pass, signs, builds and orders exactly what asking each
    of them does."""
    fast = [_outputs(_run(*run)) for run in RUNS]
    monkeypatch.setattr(Firm, "top_up_chips", _plain_top_up_chips)
    monkeypatch.setattr(Firm, "planned_build_h100e", _plain_planned_build_h100e)
    monkeypatch.setattr(building, "new_chips_may_pay", lambda model, months, extra: True)
    plain = [_outputs(_run(*run)) for run in RUNS]
    for (ts_fast, events_fast, cash_fast), (ts_plain, events_plain, cash_plain) in zip(
        fast, plain, strict=True
    ):
        assert events_fast == events_plain
        assert cash_fast == cash_plain
        assert ts_fast == ts_plain


def test_appraisals_no_builder_could_pass_happen(monkeypatch):
    """The bound of ``new_chips_may_pay`` is reached in a built-in run (so the test
    above compares something), and every chip top-up and build it would stop is one
    the full appraisal, run without it, rejects."""
    bound = building.new_chips_may_pay
    verdicts, stopped = [], []

    def may_pay(model, months_ahead, extra):
        verdicts.append(bound(model, months_ahead, extra))
        return True  # the full appraisal runs

    def watched(appraise):
        def run(*args):
            seen = len(verdicts)
            answer = appraise(*args)
            if not verdicts[seen]:
                stopped.append(answer)
            return answer

        return run

    monkeypatch.setattr(building, "new_chips_may_pay", may_pay)
    monkeypatch.setattr(building, "chips_pay", watched(building.chips_pay))
    monkeypatch.setattr(building, "build_pays", watched(building.build_pays))
    _run("baseline", 1, 96, {})
    assert len(stopped) >= 10 and not any(stopped)  # 13 stopped in this run


@pytest.mark.slow
def test_spot_with_kept_costs_equals_without(monkeypatch):
    """Cost floors and spot costs kept per their inputs while the spot stage runs give
    the asks of working each out per site."""
    fast = [_outputs(_run(*run)) for run in RUNS[:2]]
    plain_stages = tuple(
        stages.Stage(s.name, spot.spot_round) if s.name == "spot" else s for s in stages.STAGES
    )
    monkeypatch.setattr(ComputeMarket, "stages", plain_stages)
    plain = [_outputs(_run(*run)) for run in RUNS[:2]]
    assert fast == plain


def test_kept_site_power_and_contract_ties_equal_their_sums():
    """Each month, every site's power in use and chips alive by a month (kept while its
    chips stay the same) and the network's running count of ties with contracts equal
    summing them afresh, in a market where firms are bought, merged and exit."""
    m = ComputeMarket(scenario="lesson-consolidation", rng=5)
    exits = 0
    for _ in range(60):
        m.step()
        density_of = m.tech.h100e_per_mw
        life = m.p.chip_useful_life_months
        for f in m.facilities.values():
            fresh = sum(b.h100e / density_of(b.generation) for b in f.chips)
            assert f.power_used_mw(density_of) == fresh
            assert f.installed_h100e == sum(b.h100e for b in f.chips)
            for ahead in (0, 6, 24, life):
                retire = m.month + ahead - life
                alive = sum(b.h100e for b in f.chips if b.installed_month > retire)
                assert f.alive_h100e(retire) == alive
        g = m.network.graph
        ties = sum(1 for _, _, d in g.edges(data=True) if d["contract_h100e"] > 0)
        assert m.network.contract_ties() == ties
        exits = m.counters["exits"] + m.counters["acquisitions"]
    assert exits > 0, "the run should see firms leave"


class _Thing(mesa.Agent):
    def __init__(self, model, value):
        super().__init__(model)
        self.value = value


def test_columns_equal_mesa_rows_for_every_kind_of_reporter():
    """Attribute names, functions, [function, params], Columnar reporters and values
    Mesa copies give the table Mesa's own collector gives."""
    model = mesa.Model(rng=1)
    things = [_Thing(model, v) for v in (1.5, [1, 2], None)]
    reporters = {
        "value": "value",
        "double": lambda a: a.value * 2 if isinstance(a.value, float) else a.value,
        "plus": [lambda a, k: (a.value + k) if isinstance(a.value, float) else k, [0.25]],
        "columnar": Columnar(lambda agents: [a.unique_id * 0.5 for a in agents]),
    }
    mesa_dc = mesa.DataCollector(agenttype_reporters={_Thing: reporters})
    column_dc = ColumnCollector(agenttype_reporters={_Thing: reporters})
    for _ in range(3):
        things[1].value.append(3)  # a list Mesa copies: later changes do not show
        model.step()
        for dc in (mesa_dc, column_dc):
            dc.collect(model)
    pd.testing.assert_frame_equal(
        column_dc.get_agenttype_vars_dataframe(_Thing),
        mesa_dc.get_agenttype_vars_dataframe(_Thing),
        check_exact=True,
    )


def test_model_rows_equal_mesa_rows_with_forwards():
    """Labs and providers with forwards, contracts and none: the model's columnar
    reporters give Mesa's rows (exposure, basis)."""
    model = ComputeMarket(scenario="baseline", rng=1)
    kept = model.datacollector
    reference = mesa.DataCollector(agenttype_reporters=kept.agenttype_reporters)
    for _ in range(12):
        model.step()
        reference.collect(model)
    assert model.forward_book.forwards, "the run should trade forwards"
    for cls in (Lab, Hyperscaler, Neocloud, ChipSupplier):
        pd.testing.assert_frame_equal(
            kept.get_agenttype_vars_dataframe(cls),
            reference.get_agenttype_vars_dataframe(cls),
            check_exact=True,
        )


@pytest.mark.parametrize(("scenario", "seed", "months", "overrides"), RUNS[:3])
def test_a_captive_programs_sellable_share_is_the_sum_over_every_lab(
    scenario, seed, months, overrides
):
    """The lookup by name gives, to the last bit, the share of every lab the supplier
    sells to, month after month, while labs merge, exit and change share."""
    m = ComputeMarket(scenario=scenario, rng=seed, **overrides)
    captive_seen = False
    for _ in range(months):
        m.step()
        for s in m.of_type(ChipSupplier):
            plain = sum(lab.share for lab in m.labs() if s.sells_to(lab))
            assert building.sellable_share(m, s) == plain
            captive_seen = captive_seen or (s.captive and plain > 0)
    assert captive_seen, "no captive program sold to a lab: the test checks nothing"


def test_use_reads_each_labs_compute_at_hand_as_spot_found_it(monkeypatch):
    """The use stage reads each lab's compute at hand from the spot stage right before
    it: every value read is the one worked out again at use."""
    from market.core.stages import use

    plain_step_use = Lab.step_use
    read = []

    def checked(self, at_hand_h100e=None):
        if at_hand_h100e is not None:
            assert at_hand_h100e == self.at_hand_h100e()
            read.append(at_hand_h100e)
        return plain_step_use(self, at_hand_h100e)

    monkeypatch.setattr(Lab, "step_use", checked)
    for run in RUNS:
        _run(*run[:2], 24, run[3])
    assert len(read) > 1000
    # with a stage between spot and use, or none before it, each lab works it out
    m = _run("baseline", 1, 2, {})
    assert use.at_hand_from_spot(m)
    m.stages = tuple(s for s in m.stages if s.name != "spot")
    assert use.at_hand_from_spot(m) == {}
    m.month += 1
    m.stages = stages.STAGES
    assert use.at_hand_from_spot(m) == {}


@pytest.mark.slow
def test_use_reading_on_from_spot_equals_working_it_out(monkeypatch):
    """Runs with the use stage reading each lab's compute at hand from the spot stage
    give the outputs of runs where every lab works it out again."""
    from market.core.stages import use

    fast = [_outputs(_run(*run)) for run in RUNS]
    monkeypatch.setattr(use, "READ_ON_FROM_SPOT", False)
    plain = [_outputs(_run(*run)) for run in RUNS]
    assert fast == plain
