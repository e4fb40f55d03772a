"""The data collector of a run: Mesa's, with the per-agent rows kept as columns.

Mesa's ``DataCollector`` keeps every agent's row of every month as a tuple of Python
objects until the run ends: about 400 bytes per row (a tuple plus a float object per
value), which at 100,000 agents is 40 MB a month. ``ColumnCollector`` measures the same
values with Mesa's own reporters and keeps them per column instead: a value that is a
plain ``float`` goes into a packed array of doubles (8 bytes), anything else (names,
kinds, flags) into a list that points at the value, usually an object the agent already
holds. A column switches from packed to list the first time a value that is not a plain
float arrives, keeping every value as it was.

Each month it measures a column at a time, not an agent at a time: an attribute
reporter reads the attribute of every agent of the type in one pass, a ``Columnar``
reporter computes the whole column in one call (work shared by every agent, such as a
price they are all compared with, is done once), and any other reporter is called once
per agent, as Mesa calls it. Values Mesa would copy (anything not a str, int, bool,
float or tuple) are deep-copied the same way.

``get_agenttype_vars_dataframe`` gives back the rows in the order they were measured
and builds the table with Mesa's own call, so the tables (and the CSV files written from
them) are the same as Mesa's collector would give.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from copy import deepcopy
from operator import attrgetter

import mesa
import pandas as pd

# values Mesa's collector keeps as they are (it deep-copies anything else)
IMMUTABLE_TYPES = (str, int, bool, float, tuple)
_PLAIN_TYPES = frozenset(IMMUTABLE_TYPES)
_FLOAT_ONLY = frozenset((float,))
_UNIQUE_ID = attrgetter("unique_id")


class Columnar:
    """A reporter that measures every agent of a type in one call: ``column(agents)``
    returns their values in the agents' order. Called on one agent (as Mesa's own
    collector calls a reporter) it gives that agent's value."""

    def __init__(self, column: Callable[[Sequence], list]) -> None:
        self.column = column

    def __call__(self, agent):
        return self.column([agent])[0]


def column_of(reporter) -> Callable[[Sequence], list]:
    """The function measuring a whole column for a reporter as Mesa declares it: an
    attribute name, a ``Columnar``, a function of the agent, or ``[function, params]``."""
    if isinstance(reporter, str):
        get = attrgetter(reporter)
        return lambda agents: list(map(get, agents))
    if isinstance(reporter, Columnar):
        return reporter.column
    if isinstance(reporter, list):
        func, params = reporter[0], reporter[1]
        return lambda agents: [func(a, *params) for a in agents]
    return lambda agents: [reporter(a) for a in agents]


def _as_mesa_keeps(values: list) -> tuple[list, bool]:
    """The values as Mesa keeps them, and whether every one is a plain ``float``."""
    types = set(map(type, values))
    if types <= _PLAIN_TYPES:  # the usual case, checked in one pass
        return values, types <= _FLOAT_ONLY
    return [v if isinstance(v, IMMUTABLE_TYPES) else deepcopy(v) for v in values], False


class _Column:
    """One reporter's values, packed while every value is a plain float. Once it holds
    other values, a text value equal to one it already holds is kept as that one: a
    reporter that builds its text anew each month (a firm's kind as ``str``) keeps one
    string per distinct text instead of one per agent and month."""

    __slots__ = ("_texts", "values")

    def __init__(self) -> None:
        self.values: array | list = array("d")
        self._texts: dict[str, str] = {}

    def extend(self, values: Sequence, floats: bool | None = None) -> None:
        """Add ``values``; ``floats`` says whether every one is a plain ``float`` (None:
        not known, looked at here)."""
        if type(self.values) is array:
            if floats if floats is not None else all(type(v) is float for v in values):
                self.values.extend(values)
                return
            self.values = list(self.values)
        texts = self._texts
        self.values.extend([texts.setdefault(v, v) if type(v) is str else v for v in values])


class _TypeRows:
    """Every row recorded for one agent type, as columns: Mesa's step and agent id, then
    one per reporter."""

    __slots__ = ("columns",)

    def __init__(self, reporters: int) -> None:
        self.columns = [_Column() for _ in range(2 + reporters)]

    def add(self, rows: Iterable[tuple]) -> None:
        rows = list(rows)
        if not rows:
            return
        for column, values in zip(self.columns, zip(*rows, strict=True), strict=True):
            column.extend(values)

    def add_columns(self, columns: Sequence[tuple[Sequence, bool | None]]) -> None:
        """Values column by column (Mesa's step and agent id first), equally long, each
        with whether every value is a plain ``float`` (None: not known)."""
        for column, (values, floats) in zip(self.columns, columns, strict=True):
            column.extend(values, floats)

    def rows(self) -> Iterator[tuple]:
        return zip(*(c.values for c in self.columns), strict=True)


class ColumnCollector(mesa.DataCollector):
    """Mesa's data collector, keeping agent-type rows as columns (see the module doc).
    Model-level values are kept exactly as Mesa keeps them."""

    agenttype_reporters: dict  # set by mesa.DataCollector.__init__, unannotated there

    def __init__(self, model_reporters=None, agenttype_reporters=None, **kwargs) -> None:
        super().__init__(
            model_reporters=model_reporters, agenttype_reporters=agenttype_reporters, **kwargs
        )
        self._type_rows = {
            agent_type: _TypeRows(len(reporters))
            for agent_type, reporters in self.agenttype_reporters.items()
        }
        # the declared reporters (Mesa keeps attribute names as functions of one agent)
        self._column_of = {
            agent_type: [column_of(r) for r in reporters.values()]
            for agent_type, reporters in (agenttype_reporters or {}).items()
        }

    def collect(self, model) -> None:
        reporters, self.agenttype_reporters = self.agenttype_reporters, {}
        try:
            super().collect(model)  # the model-level values, Mesa's way
        finally:
            self.agenttype_reporters = reporters
        for agent_type, rows in self._type_rows.items():
            if agent_type in model.agent_types:
                agents = list(model.agents_by_type[agent_type])
                step = model.time
                rows.add_columns(
                    [
                        ([step] * len(agents), None),
                        (list(map(_UNIQUE_ID, agents)), None),
                        *(_as_mesa_keeps(column(agents)) for column in self._column_of[agent_type]),
                    ]
                )
            else:  # no agent of the type yet, or a parent class: Mesa's search
                rows.add(self._record_agenttype(model, agent_type))

    def get_agenttype_vars_dataframe(self, agent_type) -> pd.DataFrame:
        """The rows of ``agent_type``, as ``mesa.DataCollector`` gives them."""
        rows = self._type_rows.get(agent_type)
        if rows is None:
            return super().get_agenttype_vars_dataframe(agent_type)  # Mesa's warning
        return pd.DataFrame.from_records(
            data=rows.rows(),
            columns=["Step", "AgentID", *self.agenttype_reporters[agent_type]],
            index=["Step", "AgentID"],
        )
