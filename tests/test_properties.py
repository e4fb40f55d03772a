"""Property-based checks: runs with every model parameter drawn within its declared
range keep the model's invariants in every month.

Asserted (they hold): every number finite, an output empty (NaN) only where the
outputs table says it may be, money conserved by the model's own flow accounting
(firms' cash changes by exactly what crossed the model's boundary, less the cash of
firms that left), contract states that only move forward, compute used within online
capacity (market and each lab), lab shares that sum to 1 (a month a lab exits
included), and active contracts within their site's online capacity unless the
excess is reported in ``shortfall_h100e``; no site delivers more than it has online."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from market import ComputeMarket
from market.io.outputs import OUTPUTS
from market.io.params import MODEL_PARAMS, NUMBER_MIN_SIZE, PARAMS
from market.io.records import ContractState

FIXED = ("start_month", "years")  # the calendar of a run is not drawn
EPS = 1e-6
# Outputs whose description says when they are empty; every other one never is.
MAY_BE_EMPTY = {o.name for o in OUTPUTS if "empty" in o.help.lower()}


class MonthChecks:
    """The invariants of one model, checked after construction and every month.
    ``strict``: a failed invariant raises AssertionError; otherwise it is recorded in
    ``failed``. ``broken`` counts known-broken invariants by name (none at present)."""

    def __init__(self, model: ComputeMarket, strict: bool = True) -> None:
        self.m = model
        self.strict = strict
        self.states: dict[int, ContractState] = {}
        self.cash0 = self._cash()
        self.external0 = model.external_net_usd
        self.written0 = model.written_off_usd
        self.broken: Counter[str] = Counter()
        self.empty_outputs: dict[str, str] = {}  # output -> first month it was empty
        self.failed: list[str] = []
        self.check()

    def _cash(self) -> float:
        return sum(a.cash_usd for a in self.m.agents)

    def _expect(self, ok: bool, message: str) -> None:
        if ok:
            return
        text = f"{self.m.spec.name} seed {self.m.seed} {self.m.calendar_month}: {message}"
        if self.strict:
            raise AssertionError(text)
        self.failed.append(text)

    def check(self) -> None:
        self._finite()
        self._money()
        self._states()
        self._capacity()

    def _finite(self) -> None:
        m = self.m
        for a in m.agents:
            self._expect(math.isfinite(a.cash_usd), f"cash of {a.name} = {a.cash_usd}")
        for f in m.facilities.values():
            for value in (f.capacity_h100e, f.installed_h100e, f.pending_h100e, f.power_mw):
                self._expect(math.isfinite(value) and value >= 0, f"site {f.name}: {value}")
        for c in m.contracts:
            for value in (c.capacity_h100e, c.delivered_h100e, c.price_usd_per_h100e_hour):
                self._expect(math.isfinite(value), f"contract {c.contract_id}: {value}")
        for name, value in m.metrics.items():
            if isinstance(value, float) and math.isnan(value):
                self.empty_outputs.setdefault(name, m.calendar_month)
                self._expect(name in MAY_BE_EMPTY, f"output {name} is empty (NaN)")
            else:
                self._expect(math.isfinite(value), f"output {name} = {value}")

    def _money(self) -> None:
        m = self.m
        change = self._cash() - self.cash0
        flow = (m.external_net_usd - self.external0) - (m.written_off_usd - self.written0)
        scale = max(abs(self.cash0), abs(change), abs(flow), 1.0)
        self._expect(
            abs(change - flow) <= 1e-9 * scale + 1.0,
            f"cash changed by {change:,.2f} USD but the flows across the boundary, less "
            f"write-offs, are {flow:,.2f} USD",
        )

    def _states(self) -> None:
        seen = {c.contract_id for c in self.m.contracts}
        self._expect(seen >= set(self.states), "a contract disappeared from the book")
        for c in self.m.contracts:
            before = self.states.get(c.contract_id)
            self._expect(
                before is None or c.state >= before,
                f"contract {c.contract_id} went from {before!r} to {c.state!r}",
            )
            self.states[c.contract_id] = c.state

    def _capacity(self) -> None:
        m = self.m
        if m.steps:
            used = m.metrics["served_inference_h100e"] + m.metrics["training_h100e"]
            online = m.online_at_use_h100e  # sites may close after use, at settlement
            self._expect(
                used <= online * (1 + EPS) + EPS, f"used {used:,.0f} > online {online:,.0f}"
            )
        for lab in m.labs():
            lab_used = lab.used_inference_h100e + lab.used_training_h100e
            self._expect(
                lab_used <= lab.pool_h100e * (1 + EPS) + EPS, f"{lab.name} uses {lab_used}"
            )
        labs = m.labs()
        total = sum(lab.share for lab in labs)
        self._expect(not labs or abs(total - 1) <= EPS, f"lab shares sum to {total}")
        sold: dict[int, float] = {}
        delivered: dict[int, float] = {}
        for c in m.book.open():  # a resale sits inside its parent's capacity
            if c.state == ContractState.ACTIVE and c.parent_id is None:
                sold[c.facility_id] = sold.get(c.facility_id, 0.0) + c.capacity_h100e
                delivered[c.facility_id] = delivered.get(c.facility_id, 0.0) + c.delivered_h100e
        excess = 0.0
        for fid, h100e in sold.items():
            online = m.facilities[fid].capacity_h100e
            self._expect(delivered[fid] <= online * (1 + EPS) + EPS, f"site {fid} over-delivers")
            excess += max(0.0, h100e - online)
        reported = m.metrics.get("shortfall_h100e", 0.0) if m.steps else 0.0
        self._expect(
            excess <= reported * (1 + EPS) + 1.0,
            f"{excess:,.0f} H100e sold beyond online capacity, {reported:,.0f} reported",
        )


def _value(p):
    if p.choices is not None:
        return st.sampled_from(p.choices)
    if p.kind is bool:
        return st.booleans()
    if p.kind is int:
        return st.integers(int(p.min), int(p.max))
    numbers = st.floats(p.min, p.max, allow_nan=False, allow_infinity=False)
    return numbers.filter(lambda x: x == 0 or abs(x) >= NUMBER_MIN_SIZE)


PARAMETERS = st.fixed_dictionaries(
    {p.name: _value(p) for p in MODEL_PARAMS if p.name not in FIXED and p.min is not None}
    | {p.name: _value(p) for p in MODEL_PARAMS if p.choices is not None or p.kind is bool}
)
MONTHS = 24

# The declared edges, where a failure is likeliest, and the points hypothesis found
# failing. Found: a rate of 2e-313 (hyperscaler_spread, all other rates 0) divided by zero
# in the annuity formula (1 + r == 1); such numbers are now refused at load (see
# NUMBER_MIN_SIZE), and the smallest rates allowed are kept here.
LOWEST = {p.name: p.min for p in MODEL_PARAMS if p.name not in FIXED and p.min is not None}
HIGHEST = {p.name: p.max for p in MODEL_PARAMS if p.name not in FIXED and p.max is not None}
SMALLEST_RATES = {
    **LOWEST,
    "hyperscaler_spread": NUMBER_MIN_SIZE,
    "lab_cost_of_capital": NUMBER_MIN_SIZE,
    "neocloud_spread_investment_grade": NUMBER_MIN_SIZE,
    "neocloud_spread_speculative": NUMBER_MIN_SIZE,
}


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(PARAMETERS, st.integers(0, 2**32 - 1))
@example(LOWEST, 1)
@example(HIGHEST, 1)
@example(SMALLEST_RATES, 1)
def test_invariants_hold_every_month_within_the_declared_ranges(params, seed):
    for name, value in params.items():  # the draws are within the declarations
        PARAMS[name].check(value)
    m = ComputeMarket(scenario="classroom", rng=seed, **params)
    checks = MonthChecks(m)
    for _ in range(MONTHS):
        m.step()
        checks.check()
