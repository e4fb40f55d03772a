"""The column collector gives the same tables as Mesa's DataCollector."""

from __future__ import annotations

import mesa
import pandas as pd
import pytest

from agents import ChipSupplier, Hyperscaler, Lab, Neocloud
from market.core import setup
from market.core.model import ComputeMarket
from market.io.collector import ColumnCollector


class _Thing(mesa.Agent):
    def __init__(self, model, value):
        super().__init__(model)
        self.value = value
        self.label = f"thing {self.unique_id}"


def _collectors(model, reporters):
    return [
        cls(agenttype_reporters={_Thing: reporters})
        for cls in (mesa.DataCollector, ColumnCollector)
    ]


def test_mixed_values_keep_their_types():
    """A column of floats that later meets an int, None or text keeps every value as it
    was, and the table's dtypes are Mesa's."""
    model = mesa.Model(rng=1)
    things = [_Thing(model, 1.5), _Thing(model, 2.5)]
    mesa_dc, column_dc = _collectors(model, {"value": "value", "label": "label"})
    for value in (0.25, float("nan"), 3, None, "text", True):
        things[1].value = value
        model.step()
        for dc in (mesa_dc, column_dc):
            dc.collect(model)
    expected = mesa_dc.get_agenttype_vars_dataframe(_Thing)
    got = column_dc.get_agenttype_vars_dataframe(_Thing)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    second = got.xs(things[1].unique_id, level="AgentID")["value"]
    assert list(second.iloc[-4:]) == [3, None, "text", True]


def test_text_built_anew_each_month_is_kept_once():
    """A reporter that builds its text each month (as a firm's kind is reported) gives
    Mesa's table, while the collector keeps one string per distinct text."""
    model = mesa.Model(rng=1)
    things = [_Thing(model, 1.0) for _ in range(3)]
    reporters = {"kind": lambda a: "".join(["kind ", str(a.unique_id % 2)])}
    mesa_dc, column_dc = _collectors(model, reporters)
    for _ in range(4):
        model.step()
        for dc in (mesa_dc, column_dc):
            dc.collect(model)
    got = column_dc.get_agenttype_vars_dataframe(_Thing)
    pd.testing.assert_frame_equal(got, mesa_dc.get_agenttype_vars_dataframe(_Thing))
    kept = column_dc._type_rows[_Thing].columns[2].values
    assert len(kept) == 4 * len(things)
    assert len({id(v) for v in kept}) == 2


def test_no_rows_gives_mesa_empty_table():
    model = mesa.Model(rng=1)
    mesa_dc, column_dc = _collectors(model, {"value": "value"})
    for dc in (mesa_dc, column_dc):
        dc.collect(model)
    pd.testing.assert_frame_equal(
        column_dc.get_agenttype_vars_dataframe(_Thing), mesa_dc.get_agenttype_vars_dataframe(_Thing)
    )


@pytest.mark.parametrize(("scenario", "months"), [("baseline", 14), ("lesson-brokers", 10)])
def test_model_tables_equal_mesa_collector(scenario, months):
    """A model's lab, provider and supplier rows, kept as columns, equal the rows
    Mesa's own collector records beside it over the same months."""
    model = ComputeMarket(scenario=scenario, rng=3)
    kept = model.datacollector
    assert isinstance(kept, ColumnCollector)
    reference = mesa.DataCollector(agenttype_reporters=kept.agenttype_reporters)
    for _ in range(months):
        model.step()
        reference.collect(model)
    for cls in (Lab, Hyperscaler, Neocloud, ChipSupplier):
        pd.testing.assert_frame_equal(
            kept.get_agenttype_vars_dataframe(cls),
            reference.get_agenttype_vars_dataframe(cls),
            check_exact=True,
        )
    assert setup.datacollector(model).agenttype_reporters.keys() == kept.agenttype_reporters.keys()


def test_event_log_gives_back_every_event_in_order():
    """Events of earlier months are packed; reading gives equal events, in order."""
    from market.io.records import Event, EventLog

    events = [
        Event(
            f"2026-{m:02d}",
            kind,
            f"2026-{m:02d} text {m} {i}",
            tuple(f"firm {j}" for j in range(i)),
        )
        for m in (1, 2, 2, 3, 1)
        for i, kind in enumerate(("contract", "resale", "exit"))
    ]
    log = EventLog()
    for n, event in enumerate(events, 1):
        log.append(event)
        assert len(log) == n and log[-1] == event
    assert list(log) == events
    assert log[0] == events[0] and log[-4] == events[-4] and log[2:7] == events[2:7]
    assert list(log) == events  # reading twice gives the same


def test_event_log_as_tuple_gives_every_event_after_each_month():
    """The page's read after every month: every event so far, in order, each time."""
    from market.io.records import Event, EventLog

    log = EventLog()
    seen = []
    for m in (1, 1, 2, 3, 3, 3, 4):
        event = Event(f"2026-{m:02d}", "contract", f"text {len(seen)}")
        log.append(event)
        seen.append(event)
        assert log.as_tuple() == tuple(seen) == tuple(log)


def test_model_events_equal_unpacked_events():
    """A model's events, read back from the log, are the ones the model logged."""
    from market.io.records import EventLog

    model = ComputeMarket(scenario="baseline", rng=2)
    logged = []
    original = EventLog.append

    def keep(log, event):
        logged.append(event)
        original(log, event)

    EventLog.append = keep
    try:
        for _ in range(6):
            model.step()
    finally:
        EventLog.append = original
    assert len(model.events) == len(logged) > 0
    assert list(model.events) == logged
    assert len(model.events._blocks) >= 4  # earlier months are packed
