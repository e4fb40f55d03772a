"""The browser UI: watch and steer a market run, month by month, in a Solara page.

Start it with ``compute-market ui [--scenario NAME]``; that serves this file with
``solara run``. The scenario to open with arrives in the environment variable
``COMPUTE_MARKET_SCENARIO``. This is the only module of the project that imports
solara: the model never depends on its view.

The sliders are generated from the parameter declarations in ``market.io.params``
(``ui=True``), so labels, units, ranges, help and starting values have one source.

How the page stays fast and safe:
- each browser tab has its own market, guarded by one lock: a step and the copy the
  page draws from (a ``Snapshot``) are taken under it, and the page draws only from
  snapshots, never from the live model;
- the charts are SVG text (``market.view.figures``), so a Step redraws them in
  milliseconds with no image encoding and no JavaScript library (the page works offline);
- Play runs in one daemon thread per tab, which stops at the scenario's horizon, on
  Pause, Reset or a scenario change, when the tab closes, and never holds the server up
  when it shuts down.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import os
import shlex
import tempfile
import threading
import time
import traceback
import zipfile
from pathlib import Path

import markdown
import mesa
import pandas as pd
import solara
from solara.server import kernel_context, settings

from market.core.model import ComputeMarket, month_label
from market.io.params import PARAMS, Param, ParameterError, check_seed, ui_params
from market.io.records import ContractState
from market.io.scenario import ScenarioError, builtin_names, load_scenario
from market.run import runner
from market.view import figures as fg
from market.view.launch_ui import SCENARIO_ENV

# No "runs on Solara" banner over the plots, and the model's name as the tab's title
# until the page sets its own.
settings.theme.show_banner = False
settings.theme.title = "Compute Market"

DEFAULT_SCENARIO = "baseline"
SEED_KEY = "rng"  # the model's keyword for the seed
EVENTS_SHOWN = 12  # on the market tab; the events tab pages through all of them
EVENTS_PER_PAGE = 100
CONTRACTS_SHOWN = 8
PLAY_MONTHS_PER_SECOND = 8.0
INFO_FILE = Path(__file__).resolve().parents[2] / "docs" / "teaching" / "info.md"


# ------------------------------------------------------------------ controls from declarations
def label(p: Param) -> str:
    """The name in words with its unit; a unit of several words that the name ends
    with is said once, e.g. 'revenue [USD per H100e-hour]' for revenue_usd_per_h100e_hour."""
    words = p.name.split("_")
    if p.unit in ("", "-"):
        return " ".join(words)
    unit_words = p.unit.lower().replace("-", " ").split()
    if 1 < len(unit_words) < len(words) and words[-len(unit_words) :] == unit_words:
        words = words[: -len(unit_words)]
    return f"{' '.join(words)} [{p.unit}]"


def slider_step(p: Param, value: float) -> float:
    """About 50 steps across the range, made finer until the current value and the
    declared default both lie on a step (a slider snaps to its steps)."""
    assert p.max is not None and p.min is not None  # sliders are declared with a range
    low, span = float(p.min), float(p.max) - float(p.min)
    step = 10.0 ** math.floor(math.log10(span / 50.0)) if span > 0 else 1.0

    def on_grid(x: float) -> bool:
        k = (float(x) - low) / step
        return abs(k - round(k)) < 1e-6

    while step > 1e-6 and not (on_grid(value) and on_grid(p.default)):
        step /= 10.0
    return step


def control_spec(p: Param, value) -> dict:
    """The page's input for one declared parameter, starting at ``value``: a dict in the
    form Mesa's ``model_params`` use (type, label, value, range)."""
    if p.choices is not None:
        return {"type": "Select", "label": label(p), "value": value, "values": list(p.choices)}
    if p.kind is bool:
        return {"type": "Checkbox", "label": label(p), "value": bool(value)}
    if p.kind in (int, float):
        if p.min is None or p.max is None:
            raise ValueError(f"parameter '{p.name}' has ui=True but no min and max for a slider")
        if p.kind is int:
            return {
                "type": "SliderInt",
                "label": label(p),
                "value": int(value),
                "min": int(p.min),
                "max": int(p.max),
                "step": 1,
            }
        return {
            "type": "SliderFloat",
            "label": label(p),
            "value": float(value),
            "min": float(p.min),
            "max": float(p.max),
            "step": slider_step(p, value),
        }
    return {"type": "InputText", "label": label(p), "value": str(value)}


def model_params(scenario_name: str) -> dict:
    """The page's controls: the scenario (fixed), the seed field and one input
    per ``ui=True`` declaration, starting at the scenario's value (the declared default
    unless the scenario file sets it)."""
    try:
        spec = load_scenario(scenario_name)
        values, seed = spec.params, spec.seed
    except ScenarioError:  # the page shows the message; the controls still need values
        values, seed = {p.name: p.default for p in ui_params()}, 0
    params: dict = {"scenario_name": scenario_name}
    params[SEED_KEY] = {"type": "InputText", "label": "seed [integer >= 0]", "value": str(seed)}
    for p in ui_params():
        params[p.name] = control_spec(p, values[p.name])
    return params


def parse_seed(value):
    """The seed field's text (passed on as typed) as an int, or None for
    the scenario's own seed; the rule is the scenario files' (``check_seed``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_seed(value, "")


class PageMarket(ComputeMarket):
    """ComputeMarket as the page builds it. A value the declarations do not allow
    gives a placeholder that carries the message (``ui_error``), so the page can say
    what is wrong instead of going blank."""

    # The market scenario travels as ``scenario_name``; ``scenario`` (Mesa's own
    # experiment object, which SolaraViz passes) is accepted and ignored.
    def __init__(
        self, *, scenario_name: str = DEFAULT_SCENARIO, rng=None, scenario=None, **overrides
    ) -> None:
        self.scenario_name = scenario_name
        self.ui_error: str | None = None
        self.step_error: str | None = None
        self.page_overrides = dict(overrides)  # the settings that differ from the scenario's
        try:
            super().__init__(scenario=scenario_name, rng=parse_seed(rng), **overrides)
        except (ScenarioError, ParameterError) as exc:
            mesa.Model.__init__(self, rng=0)
            self.ui_error = str(exc)
            self.running = False

    def step(self) -> None:
        if self.ui_error is not None or self.step_error is not None:
            return
        try:
            super().step()
        except Exception as exc:  # a model bug: say so on the page, keep the last good month
            traceback.print_exc()
            self.step_error = (
                f"the model failed while simulating {self.calendar_month}: "
                f"{type(exc).__name__}: {exc} (details in the server's terminal)"
            )
            self.running = False


def launch_scenario() -> str:
    return os.environ.get(SCENARIO_ENV, "").strip() or DEFAULT_SCENARIO


# ------------------------------------------------------------------ data for the views
def timeseries(model: ComputeMarket) -> pd.DataFrame:
    """The DataCollector's rows with the calendar month (a new frame: safe to keep)."""
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "month", [month_label(model.p["start_month"], i) for i in range(len(ts))])
    return ts


KEY_FIGURES = [
    # key, label, column, format, scale
    ("date", "month simulated", "month", "{}", None),
    (
        "spot_price_index",
        "spot price [USD per H100e-hour]",
        "spot_price_index_usd_per_h100e_hour",
        "{:.2f}",
        1.0,
    ),
    ("capacity_total", "online capacity [million H100e]", "capacity_h100e_total", "{:.2f}", 1e-6),
    ("rationed_share", "users rationed", "rationed_share", "{:.1%}", 1.0),
    ("capacity_hhi", "HHI of capacity ownership", "capacity_hhi", "{:,.0f}", 1.0),
    ("lab_compute_hhi", "HHI of lab compute", "lab_compute_hhi", "{:,.0f}", 1.0),
    ("active_labs", "active labs", "active_labs", "{:.0f}", 1.0),
    ("active_neoclouds", "active neoclouds", "active_neoclouds", "{:.0f}", 1.0),
    ("active_hyperscalers", "active hyperscalers", "active_hyperscalers", "{:.0f}", 1.0),
    ("exits", "exits so far", "cumulative_exits", "{:.0f}", 1.0),
    ("acquisitions", "acquisitions so far", "cumulative_acquisitions", "{:.0f}", 1.0),
    ("blocked_mergers", "mergers blocked so far", "cumulative_blocked_mergers", "{:.0f}", 1.0),
    ("surplus_leases", "surplus leases so far", "cumulative_surplus_leases", "{:.0f}", 1.0),
]


def key_figures(ts: pd.DataFrame, start_month: str = "") -> list[tuple[str, str, str]]:
    """(key, label, text) rows of the key-figures panel, from a run's time series."""
    if len(ts) == 0:
        return [("date", "month simulated", f"none yet (first: {start_month})")]
    last = ts.iloc[-1]
    rows = []
    for key, lab, col, fmt, scale in KEY_FIGURES:
        if col not in ts:
            continue
        v = last[col]
        if scale is None:
            text = str(v)
        else:
            text = "-" if pd.isna(v) else fmt.format(v * scale)
        rows.append((key, lab, text))
    return rows


@dataclasses.dataclass(frozen=True)
class ContractRow:
    buyer: str
    seller: str
    capacity_h100e: float
    price_usd_per_h100e_hour: float
    term_months: int
    end_month: str


def active_contracts(model: ComputeMarket) -> list:
    """The model's active contracts (read under the page's lock)."""
    return [c for c in model.contracts if c.state == ContractState.ACTIVE]


def network_data(model: ComputeMarket, active: list) -> tuple[list, list, list]:
    """Firms, seller-to-buyer ties of active contracts, and chip-supply links."""
    g = model.network.graph
    firms = []
    for n, d in g.nodes(data=True):
        firms.append(fg.Firm(n, d["name"], d["kind"], fg.firm_capacity_h100e(model, n)))
    pairs: dict[tuple[int, int], list] = {}
    for c in active:
        pairs.setdefault((c.seller_id, c.buyer_id), []).append(c)
    ties = []
    for (s, b), cs in pairs.items():
        vol = sum(c.capacity_h100e for c in cs)
        price = sum(c.capacity_h100e * c.price_usd_per_h100e_hour for c in cs) / (vol or 1.0)
        ties.append(fg.Tie(s, b, vol, price, len(cs)))
    kinds = dict(g.nodes(data="kind"))
    supply = []
    for a, b, d in g.edges(data=True):
        if d.get("supply_h100e", 0) > 0 and not d.get("contract_h100e", 0) > 0:
            supply.append((a, b) if kinds.get(a) == "chip_supplier" else (b, a))
    return firms, ties, supply


@dataclasses.dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything the page draws, copied from the model under the lock."""

    scenario: str
    run_id: int  # a new run (Reset, scenario change) gets a new id
    step: int
    horizon: int
    start: str
    seed: int | None
    ts: pd.DataFrame
    events: tuple
    firms: tuple
    ties: tuple
    supply: tuple
    pos: dict
    contracts: tuple
    params: dict
    ui_error: str | None
    step_error: str | None
    command: str

    @property
    def at_horizon(self) -> bool:
        return self.step >= self.horizon

    @property
    def can_step(self) -> bool:
        return self.ui_error is None and self.step_error is None and not self.at_horizon


def snapshot(model: PageMarket, run_id: int) -> Snapshot:
    """A copy of what the page shows; call it holding the run's lock."""
    if model.ui_error is not None:
        return Snapshot(
            model.scenario_name,
            run_id,
            0,
            0,
            "2026-01",
            None,
            pd.DataFrame(),
            (),
            (),
            (),
            (),
            {},
            (),
            {},
            model.ui_error,
            None,
            "",
        )
    active = active_contracts(model)
    firms, ties, supply = network_data(model, active)
    names = model.names_by_id
    start = model.p["start_month"]
    biggest = sorted(active, key=lambda c: (-c.capacity_h100e, c.contract_id))[:CONTRACTS_SHOWN]
    rows = tuple(
        ContractRow(
            names.get(c.buyer_id, str(c.buyer_id)),
            names.get(c.seller_id, str(c.seller_id)),
            c.capacity_h100e,
            c.price_usd_per_h100e_hour,
            c.term_months,
            month_label(start, c.end_month),
        )
        for c in biggest
    )
    return Snapshot(
        scenario=model.scenario_name,
        run_id=run_id,
        step=model.steps,
        horizon=model.horizon_months,
        start=start,
        seed=model.seed,
        ts=timeseries(model),
        events=model.events.as_tuple(),
        firms=tuple(firms),
        ties=tuple(ties),
        supply=tuple(supply),
        pos=fg.layout(model.network.graph),
        contracts=rows,
        params=dict(model.p),
        ui_error=None,
        step_error=model.step_error,
        command=reproduce_command(model),
    )


# ------------------------------------------------------------------ reproduce and download
def years_text(months: int) -> str:
    """The shortest --years value that the CLI accepts and that gives exactly ``months``."""
    for text in (f"{months / 12:.6g}", f"{months / 12:.12g}", repr(months / 12)):
        try:
            value = PARAMS["years"].check(text, "--years")
        except ParameterError:
            continue
        if round(value * 12) == months:
            return text
    return repr(months / 12)


def value_text(v) -> str:
    return repr(v) if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else str(v)


def reproduce_command(model: PageMarket) -> str:
    """The ``compute-market run`` command that gives this run's months exactly."""
    if model.ui_error is not None or model.steps == 0:
        return ""
    parts = [
        "compute-market",
        "run",
        "--scenario",
        model.scenario_name,
        "--seed",
        str(model.seed),
        "--years",
        years_text(model.steps),
    ]
    for name, value in sorted(model.page_overrides.items()):
        parts += ["--set", f"{name}={value_text(value)}"]
    return shlex.join(parts)


def run_zip(model: PageMarket) -> bytes:
    """The run's tables as the CLI writes them (no figures), its manifest and the command
    that reproduces it, in one zip; call it holding the run's lock."""
    result = runner.collect(model)
    command = reproduce_command(model)
    result.manifest["command"] = command
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        files = runner.write(result, out)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name in files:
                z.write(out / name, name)
            z.writestr("command.txt", command + "\n")
    return buf.getvalue()


def download_name(snap: Snapshot) -> str:
    stem = Path(snap.scenario).stem if snap.scenario.endswith(".toml") else snap.scenario
    return f"{stem}-seed{snap.seed}-{snap.step}months.zip"


# ------------------------------------------------------------------ one tab's market
class Session:
    """One browser tab's market: the model, the lock around it, and Play's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: PageMarket | None = None
        self.run_id = 0
        self._stop = threading.Event()
        self.steps_played = 0  # months stepped by Play, for the server's log

    def build(self, scenario_name: str, seed, overrides: dict) -> Snapshot:
        """A fresh market (Reset, scenario change); stops Play first."""
        self.stop_play()
        model = PageMarket(scenario_name=scenario_name, rng=seed, **overrides)
        with self.lock:
            self.model = model
            self.run_id += 1
            return snapshot(model, self.run_id)

    def step(self, model=None) -> Snapshot | None:
        """One month, and the snapshot after it; None at the horizon, after a failure,
        or when ``model`` is no longer this tab's market."""
        with self.lock:
            m = self.model
            if m is None or (model is not None and m is not model):
                return None
            if m.ui_error or m.step_error or m.steps >= m.horizon_months:
                return None
            m.step()
            return snapshot(m, self.run_id)

    def zip_bytes(self) -> bytes:
        with self.lock:
            if self.model is None:
                raise RuntimeError("no run to download yet")
            return run_zip(self.model)

    def stop_play(self) -> None:
        self._stop.set()

    def play(self, publish, finished, months_per_second) -> None:
        """Step in a daemon thread until told to stop, the horizon, or the tab closing."""
        self._stop.set()  # an older loop, if any, ends
        stop = self._stop = threading.Event()
        context = kernel_context.get_current_context()
        context.on_close(stop.set)
        thread = threading.Thread(
            target=self._play_loop,
            args=(context, stop, self.model, publish, finished, months_per_second),
            name="market-play",
            daemon=True,  # Ctrl+C never waits for it
        )
        thread.start()

    def _play_loop(self, context, stop, model, publish, finished, months_per_second) -> None:
        reason = "paused"
        with context:
            try:
                while not stop.is_set():
                    t0 = time.monotonic()
                    if not tab_is_open(context):
                        reason = "the page was closed"
                        break
                    snap = self.step(model)
                    if snap is None:
                        reason = "the run ended or was replaced"
                        break
                    self.steps_played += 1
                    if self._stop is stop:  # a newer Play loop publishes its own months
                        publish(snap)
                    stop.wait(max(0.0, 1.0 / months_per_second() - (time.monotonic() - t0)))
            except Exception:  # never let a drawing problem leave Play running
                traceback.print_exc()
                reason = "an error (see above)"
            finally:
                month = getattr(model, "calendar_month", "?")
                print(f"play stopped at {month}: {reason}", flush=True)
                if tab_is_open(context) and self._stop is stop:
                    finished()


def tab_is_open(context) -> bool:
    status = kernel_context.PageStatus.CONNECTED
    return not context.closed_event.is_set() and status in tuple(context.page_status.values())


# ------------------------------------------------------------------ charts from a time series
def _col(ts: pd.DataFrame, name: str, scale: float = 1.0) -> tuple[float, ...]:
    if name not in ts:
        return ()
    return tuple(float(v) * scale for v in ts[name].to_numpy(dtype=float, na_value=math.nan))


def chart_prices(ts, start, horizon) -> fg.Chart:
    series = [fg.Series("spot price", "#000000", _col(ts, "spot_price_index_usd_per_h100e_hour"))]
    for bucket, colour in (("short", "#ff7f0e"), ("medium", "#2ca02c"), ("long", "#1f77b4")):
        col = f"contract_price_{bucket}_usd_per_h100e_hour"
        series.append(fg.Series(f"new {bucket}-term", colour, _col(ts, col), "dots"))
    return fg.Chart(tuple(series), tuple(ts.get("month", ())), horizon, start, "USD per H100e-hour")


def chart_capacity(ts, start, horizon) -> fg.Chart:
    series = [
        fg.Series(
            f"{fg.KIND_LABELS[k]}s",
            fg.KIND_COLOURS[k],
            _col(ts, f"capacity_h100e_{k}", 1e-6),
            "stack",
            "{:.2f} million H100e",
        )
        for k in ("hyperscaler", "neocloud", "lab")
    ]
    series.append(
        fg.Series(
            "inference demand",
            "#000000",
            _col(ts, "demand_h100e", 1e-6),
            "dashed",
            "{:.2f} million H100e",
        )
    )
    return fg.Chart(tuple(series), tuple(ts.get("month", ())), horizon, start, "million H100e")


def chart_concentration(ts, start, horizon) -> fg.Chart:
    series = tuple(
        fg.Series(lab, colour, _col(ts, col), "line", "{:,.0f}")
        for lab, colour, col in (
            ("capacity ownership", "#1f77b4", "capacity_hhi"),
            ("lab compute", "#2ca02c", "lab_compute_hhi"),
            ("chip supply", "#7f7f7f", "chip_supply_hhi"),
        )
    )
    return fg.Chart(
        series,
        tuple(ts.get("month", ())),
        horizon,
        start,
        "HHI (0-10,000)",
        threshold=(1800.0, "highly concentrated (1,800)"),
    )


def chart_rationing(ts, start, horizon) -> fg.Chart:
    series = (
        fg.Series(
            "users rationed", "#d62728", _col(ts, "rationed_share", 100.0), "area", "{:.1f}%"
        ),
    )
    return fg.Chart(
        series,
        tuple(ts.get("month", ())),
        horizon,
        start,
        "% of inference demand",
        y_max=100.0,
        y_format="pct",
    )


def chart_training(ts, start, horizon) -> fg.Chart:
    series = (
        fg.Series(
            "largest run", "#9467bd", _col(ts, "largest_run_h100e_months"), "line", "{:,.0f}"
        ),
        fg.Series(
            "largest site × run length",
            "#9467bd",
            _col(ts, "frontier_ceiling_h100e_months"),
            "dashed",
            "{:,.0f}",
        ),
    )
    return fg.Chart(series, tuple(ts.get("month", ())), horizon, start, "H100e-months", log=True)


PLOTS = {
    # name: (title, chart builder, note)
    "prices": (
        "Rental prices [USD per H100e-hour]",
        chart_prices,
        "Black line: the spot price, what an H100e-hour rents for this month. Dots: the "
        "average price of contracts signed that month, by term. Dots above the line mean "
        "buyers pay extra to lock capacity in.",
    ),
    "capacity": (
        "Capacity by owner [million H100e]",
        chart_capacity,
        "Online compute stacked by who owns it; the dashed line is what users ask for. "
        "Demand above the stack means some users go unserved.",
    ),
    "concentration": (
        "Concentration [HHI]",
        chart_concentration,
        "HHI of who owns capacity, of the compute labs hold and of chip supply, from 0 "
        "(many small firms) to 10,000 (one firm). Above the dotted line a market counts as "
        "highly concentrated.",
    ),
    "rationing": (
        "Users rationed [% of demand]",
        chart_rationing,
        "Share of users' inference demand that went unserved each month because labs lacked "
        "compute. 0% means everyone was served.",
    ),
    "training": (
        "Largest training run [H100e-months]",
        chart_training,
        "The largest training run completed so far, on a log scale: equal steps up are equal "
        "growth factors. "
        "No run starts larger than the dashed line: the largest site times the run length.",
    ),
}


@dataclasses.dataclass(frozen=True, eq=False)
class KeptRun:
    """A run held on the plots as faint lines."""

    label: str
    ts: pd.DataFrame
    start: str
    horizon: int


# ------------------------------------------------------------------ components
CSS = """
.cm-page { display: flex; height: 100vh; font-size: 15px; color: #222; }
.cm-side { flex: 0 0 270px; width: 270px; height: 100vh; overflow-y: auto; padding: 8px 10px;
  background: #fff; border-right: 1px solid #ccc; }
.cm-main { flex: 1 1 auto; min-width: 0; height: 100vh; overflow-y: auto; padding: 0 8px 8px 8px; }
.cm-side h1 { font-size: 20px; margin: 2px 0 6px 0; }
.cm-side .cm-status { font-size: 15px; margin: 4px 0; font-weight: 600; }
.cm-buttons { display: flex; gap: 6px; flex-wrap: wrap; margin: 6px 0; }
.cm-buttons .v-btn { font-size: 15px !important; text-transform: none !important; }
.cm-note { font-size: 14px; color: #555; margin: 2px 2px 6px 2px; line-height: 1.3; }
.cm-help { font-size: 14px; color: #555; margin: -14px 0 10px 0; line-height: 1.25; }
.cm-key-figures { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 4px;
  margin: 4px 0 6px 0; }
.cm-tile { background: #f3f5f8; border-radius: 4px; padding: 2px 6px; }
.cm-tile-label { font-size: 14px; color: #555; line-height: 1.15; }
.cm-tile-value { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
.cm-grid { display: grid; grid-template-columns: 380px 280px 280px; gap: 8px; align-items: start; }
.cm-grid3 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 8px; align-items: start; }
.cm-grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; align-items: start; }
.cm-view { min-width: 0; }
.cm-view h3, .cm-plot-title { font-size: 16px; font-weight: 600; margin: 2px 0; }
.cm-view svg { display: block; max-width: 100%; height: auto; }
.cm-legend { display: flex; flex-wrap: wrap; gap: 2px 10px; font-size: 14px; min-height: 20px; }
.cm-sw { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.cm-sw.cm-dot { border-radius: 50%; }
.cm-sw.cm-ln { height: 0; width: 18px; vertical-align: 4px; }
.cm-hover rect:hover { fill: rgba(0, 0, 0, 0.06); }
.cm-tie:hover path:first-of-type { stroke: #d62728; stroke-opacity: 1; }
.cm-table { border-collapse: collapse; font-size: 14px; width: 100%; }
.cm-table th, .cm-table td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #e4e4e4;
  vertical-align: top; }
.cm-table td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cm-events { font-size: 14px; margin: 0; padding-left: 1.1em; }
.cm-events li { margin-bottom: 2px; }
.cm-kind { font-size: 14px; color: #fff; border-radius: 3px; padding: 0 4px; margin-right: 4px; }
.cm-command { font-family: monospace; font-size: 14px; background: #fff; border: 1px solid #ddd;
  padding: 4px; word-break: break-all; user-select: all; }
.cm-info { font-size: 16px; max-width: 60em; line-height: 1.45; }
.cm-info h1 { font-size: 24px; } .cm-info h2 { font-size: 20px; margin-top: 14px; }
.cm-info pre { font-size: 14px; background: #f6f6f6; padding: 6px; overflow-x: auto; }
.cm-changed { font-size: 14px; color: #a15c00; font-weight: 600; }
.cm-side .v-input { font-size: 15px; }
.cm-side .v-label, .cm-all-events .v-label { font-size: 16px !important; white-space: normal; }
/* a field's label above its value stays at 14 px or more */
.cm-page .v-text-field .v-label.v-label--active { transform: translateY(-20px) scale(0.9) !important; }
.cm-no-pending { display: none; }
.v-tab { font-size: 15px !important; text-transform: none !important; }
/* the slider's value stays visible over the thumb, not only while dragging */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%;
  white-space: normal; margin-bottom: 30px; height: auto; line-height: 1.25; }
.v-input__slider .v-slider__thumb-label-container { display: block !important; }
.v-input__slider .v-slider__thumb-label { transform: translate(-50%, -22px) !important;
  border-radius: 4px !important; height: 18px !important; width: auto !important;
  min-width: 22px; padding: 0 4px; font-size: 14px; }
.v-input__slider .v-slider__thumb-label > * { transform: none !important; }
"""

KIND_BADGE = {
    "contract": "#2ca02c",
    "exit": "#d62728",
    "acquisition": "#9467bd",
    "merger review": "#8c564b",
    "raise": "#1f77b4",
    "build": "#7f7f7f",
    "online": "#17becf",
    "training": "#8a8a00",
    "auction": "#ff7f0e",
    "sentiment": "#e377c2",
    "technology": "#555555",
    "rationing": "#b8860b",
}


def Note(text: str, classes=("cm-note",)):
    return solara.HTML(tag="p", unsafe_innerHTML=html.escape(text), classes=list(classes))


def plot_html(name: str, snap: Snapshot, kept: tuple) -> str:
    title, build, _ = PLOTS[name]
    chart = build(snap.ts, snap.start, snap.horizon)
    faint = [build(k.ts, k.start, k.horizon) for k in kept]
    return (
        f'<div class="cm-plot-title">{html.escape(title)}</div>'
        + fg.legend_html(chart, len(faint))
        + fg.chart_svg(chart, faint, width=PLOT_WIDTH[name], height=210)
    )


# pixel widths that fit the page's grid at 1280 px (an SVG shown at its own size keeps its
# text at 14 px)
PLOT_WIDTH = {
    "prices": 280,
    "capacity": 280,
    "concentration": 300,
    "rationing": 300,
    "training": 300,
}


@solara.component
def PlotView(name: str, snap: Snapshot, kept: tuple):
    body = solara.use_memo(lambda: plot_html(name, snap, kept), [snap, kept])
    with solara.Div(classes=["cm-view", "cm-plot", f"cm-plot-{name}"]):
        solara.HTML(tag="div", unsafe_innerHTML=body, classes=["cm-figure"])
        Note(PLOTS[name][2])


@solara.component
def NetworkView(snap: Snapshot):
    def draw():
        svg = fg.network_svg(list(snap.firms), list(snap.ties), list(snap.supply), snap.pos)
        title = (
            f"Who sells compute to whom, {snap.ts['month'].iloc[-1] if len(snap.ts) else 'start'}"
        )
        return (
            f'<div class="cm-plot-title">{html.escape(title)}</div>'
            + fg.network_legend_html()
            + svg
        )

    body = solara.use_memo(draw, [snap])
    with solara.Div(classes=["cm-view", "cm-network"]):
        solara.HTML(tag="div", unsafe_innerHTML=body, classes=["cm-figure"])
        Note(
            "Dots are firms, sized by capacity; arrows run from seller to buyer, thicker for "
            "more H100e. Point at an arrow for the contracts' size and price, at a dot for the "
            "firm. Chip suppliers sit inside, providers in the middle, labs outside."
        )


@solara.component
def KeyFigures(snap: Snapshot):
    tiles = "".join(
        f'<div class="cm-tile"><div class="cm-tile-label">{html.escape(lab)}</div>'
        f'<div class="cm-tile-value" data-key="{key}">{html.escape(text)}</div></div>'
        for key, lab, text in key_figures(snap.ts, snap.start)
    )
    solara.HTML(tag="div", unsafe_innerHTML=tiles, classes=["cm-key-figures"])


def event_items(events) -> str:
    if not events:
        return "<li>nothing has happened yet: press Step</li>"
    return "".join(
        f'<li><span class="cm-kind" style="background:{KIND_BADGE.get(e.kind, "#555")}">'
        f"{html.escape(e.kind)}</span>{html.escape(e.text)}</li>"
        for e in events
    )


@solara.component
def LatestEvents(events: tuple):
    with solara.Div(classes=["cm-view", "cm-event-log"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Latest events")
        latest = list(reversed(events))
        solara.HTML(tag="ul", unsafe_innerHTML=event_items(latest), classes=["cm-events"])
        Note(f"The {EVENTS_SHOWN} most recent events, newest first; the Events tab has them all.")


@solara.component
def ContractsTable(contracts: tuple):
    with solara.Div(classes=["cm-view", "cm-contracts"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Largest active contracts")
        head = (
            "<tr><th>seller</th><th>buyer</th><th>H100e</th><th>USD per H100e-hour</th>"
            "<th>months</th><th>until</th></tr>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(r.seller)}</td><td>{html.escape(r.buyer)}</td>"
            f'<td class="n">{r.capacity_h100e:,.0f}</td>'
            f'<td class="n">{r.price_usd_per_h100e_hour:.2f}</td>'
            f'<td class="n">{r.term_months}</td><td>{html.escape(r.end_month)}</td></tr>'
            for r in contracts
        )
        if not rows:
            rows = '<tr><td colspan="6">no contract is delivering yet</td></tr>'
        solara.HTML(tag="table", unsafe_innerHTML=head + rows, classes=["cm-table"])
        Note(f"The {CONTRACTS_SHOWN} biggest contracts now delivering compute.")


def filter_events(events, kind: str, firm: str) -> list:
    return [
        e
        for e in events
        if (kind == ALL_KINDS or e.kind == kind) and (firm == ALL_FIRMS or firm in e.actors)
    ]


ALL_KINDS, ALL_FIRMS = "all kinds", "all firms"


@solara.component
def EventsTab(snap_r: solara.Reactive):
    snap = snap_r.value
    kind = solara.use_reactive(ALL_KINDS)
    firm = solara.use_reactive(ALL_FIRMS)
    page = solara.use_reactive(0)
    kinds = [ALL_KINDS, *sorted({e.kind for e in snap.events})]
    firms = [ALL_FIRMS, *sorted({a for e in snap.events for a in e.actors})]
    chosen = list(reversed(filter_events(snap.events, kind.value, firm.value)))
    pages = max(1, math.ceil(len(chosen) / EVENTS_PER_PAGE))
    current = min(page.value, pages - 1)
    shown = chosen[current * EVENTS_PER_PAGE : (current + 1) * EVENTS_PER_PAGE]
    with solara.Div(classes=["cm-view", "cm-all-events"]):
        with solara.Row(classes=["cm-event-filters"]):
            solara.Select("kind of event", values=kinds, value=kind, on_value=lambda _: page.set(0))
            solara.Select("firm", values=firms, value=firm, on_value=lambda _: page.set(0))
        with solara.Row(classes=["cm-event-pages"]):
            solara.Button(
                "◀ newer", on_click=lambda: page.set(max(0, current - 1)), disabled=current == 0
            )
            solara.Text(
                f"events {current * EVENTS_PER_PAGE + 1 if chosen else 0}–"
                f"{current * EVENTS_PER_PAGE + len(shown)} of {len(chosen)} "
                f"(page {current + 1} of {pages}), newest first",
                classes=["cm-event-count"],
            )
            solara.Button(
                "older ▶",
                on_click=lambda: page.set(min(pages - 1, current + 1)),
                disabled=current >= pages - 1,
            )
        solara.HTML(tag="ul", unsafe_innerHTML=event_items(shown), classes=["cm-events"])


@solara.component
def RunSettings(seed, params: tuple):
    with solara.Div(classes=["cm-view", "cm-settings"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Settings of this run")
        rows = [
            f'<tr><th>seed</th><td class="n" data-param="seed">{seed}</td>'
            "<td>integer >= 0</td><td>Same seed and settings, same run.</td></tr>"
        ]
        values = dict(params)
        for p in ui_params():
            v = values[p.name]
            text = f"{v:g}" if isinstance(v, float) else str(v)
            rows.append(
                f"<tr><th>{html.escape(label(p))}</th>"
                f'<td class="n" data-param="{p.name}">{html.escape(text)}</td>'
                f"<td>{html.escape(p.allowed())}</td><td>{html.escape(p.help)}</td></tr>"
            )
        solara.HTML(tag="table", unsafe_innerHTML="".join(rows), classes=["cm-table"])
        Note("The values this run was built with. Change them on the left, then press Reset.")


def info_html() -> str:
    try:
        text = INFO_FILE.read_text(encoding="utf-8")
    except OSError as exc:
        return f"<p>The model's description ({html.escape(INFO_FILE.name)}) is missing: {exc}</p>"
    return markdown.markdown(text, extensions=["tables", "fenced_code", "sane_lists"])


@solara.component
def InfoTab():
    body = solara.use_memo(info_html, [])
    solara.HTML(tag="div", unsafe_innerHTML=body, classes=["cm-info"])


@solara.component
def MarketTab(snap_r: solara.Reactive, kept_r: solara.Reactive):
    snap, kept = snap_r.value, kept_r.value
    if snap.ui_error is not None:
        return
    KeyFigures(snap)
    with solara.Div(classes=["cm-grid"]):
        NetworkView(snap)
        PlotView("prices", snap, kept)
        PlotView("capacity", snap, kept)
    with solara.Div(classes=["cm-grid3"]):
        for name in ("concentration", "rationing", "training"):
            PlotView(name, snap, kept)
    # plain values that compare equal when nothing changed, so these skip re-rendering
    with solara.Div(classes=["cm-grid2"]):
        LatestEvents(tuple(snap.events[-EVENTS_SHOWN:]))
        ContractsTable(snap.contracts)
    RunSettings(snap.seed, tuple((p.name, snap.params[p.name]) for p in ui_params()))


# ------------------------------------------------------------------ controls and the page
def scenario_names() -> list[str]:
    """The built-in scenarios (lessons included), and the launched one if it is a file."""
    names, launched = builtin_names(), launch_scenario()
    return names if launched in names else [launched, *names]


def scenario_description(name: str) -> str:
    try:
        spec = load_scenario(name)
    except ScenarioError as exc:
        return str(exc)
    return spec.description


def starting_values(name: str) -> dict:
    """Each control's value for a scenario: its file's value, else the declared default."""
    return {k: v["value"] for k, v in model_params(name).items() if isinstance(v, dict)}


@solara.component
def Control(name: str, spec: dict, values: solara.Reactive):
    def set_value(v, name=name):
        values.set({**values.value, name: v})

    value = values.value.get(name, spec["value"])
    kind = spec["type"]
    if kind == "SliderFloat":
        solara.SliderFloat(
            spec["label"],
            value=value,
            min=spec["min"],
            max=spec["max"],
            step=spec["step"],
            on_value=set_value,
            thumb_label="always",
        )
    elif kind == "SliderInt":
        solara.SliderInt(
            spec["label"],
            value=value,
            min=spec["min"],
            max=spec["max"],
            on_value=set_value,
            thumb_label="always",
        )
    elif kind == "Select":
        solara.Select(spec["label"], values=spec["values"], value=value, on_value=set_value)
    elif kind == "Checkbox":
        solara.Checkbox(label=spec["label"], value=value, on_value=set_value)
    else:
        solara.InputText(
            spec["label"], value=str(value), on_value=set_value, continuous_update=True
        )
    if name in PARAMS:
        Note(PARAMS[name].help, classes=("cm-help",))


@solara.component
def Controls(scenario: str, values: solara.Reactive, built: dict):
    specs = model_params(scenario)
    changed = [k for k, v in values.value.items() if built.get(k) != v]
    solara.HTML(tag="h3", unsafe_innerHTML="Settings")
    # always the same elements in the same places (a keyed control keeps its widget, so
    # text being typed is never replaced by a fresh field)
    solara.HTML(
        tag="p",
        unsafe_innerHTML="Changed settings take effect when you press Reset." if changed else "",
        classes=["cm-changed", "cm-pending"] if changed else ["cm-no-pending"],
    )
    for name, spec in specs.items():
        if isinstance(spec, dict):
            Control(name, spec, values).key(f"control-{name}")


class Actions:
    """What the page's buttons and selectors do, on one tab's session and state."""

    def __init__(self, session: Session, state: dict) -> None:
        self.session = session
        self.scenario, self.snap, self.playing = state["scenario"], state["snap"], state["playing"]
        self.speed, self.kept = state["speed"], state["kept"]
        self.values, self.built = state["values"], state["built"]

    def rebuild(self, name: str, control_values: dict) -> None:
        self.session.stop_play()
        self.playing.set(False)
        base = starting_values(name)
        overrides = {
            k: v for k, v in control_values.items() if k in PARAMS and k in base and v != base[k]
        }
        self.snap.set(self.session.build(name, control_values.get(SEED_KEY), overrides))
        self.built.set(dict(control_values))

    def reset(self) -> None:
        self.rebuild(self.scenario.value, self.values.value)

    def choose_scenario(self, name: str) -> None:
        self.session.stop_play()
        self.scenario.set(name)
        fresh = starting_values(name)
        self.values.set(fresh)
        self.rebuild(name, fresh)

    def step(self) -> None:
        new = self.session.step()
        if new is not None:
            self.snap.set(new)

    def play_pause(self) -> None:
        if self.playing.value:
            # the loop ends after the step it may be in, publishes that month and only
            # then reports itself finished (playing False): Step is enabled once the page
            # shows the month Play last reached
            self.session.stop_play()
            return
        self.playing.set(True)
        self.session.play(self.publish, lambda: self.playing.set(False), lambda: self.speed.value)

    def publish(self, new: Snapshot) -> None:
        """Show a month from Play, if it is of the run shown and later than the month shown
        (a loop stopped by Reset or Pause may finish one last step after it)."""
        now = self.snap.value
        if new.run_id == now.run_id and new.step > now.step:
            self.snap.set(new)

    def keep(self) -> None:
        s = self.snap.value
        if len(s.ts) == 0:
            return
        model = self.session.model
        overrides = sorted(model.page_overrides.items()) if model is not None else []
        changed = "".join(f", {k}={value_text(v)}" for k, v in overrides)
        text = f"{s.scenario}, seed {s.seed}{changed}, {s.step} months"
        self.kept.set((*self.kept.value, KeptRun(text, s.ts, s.start, s.horizon))[-3:])


@solara.component
def Page():
    """The page. It reads no run state itself: the components below subscribe to what
    they show, so a Step re-renders the views of the run and not the settings."""
    session = solara.use_memo(Session, [])
    first = solara.use_memo(lambda: session.build(launch_scenario(), None, {}), [])
    start_values = solara.use_memo(lambda: starting_values(launch_scenario()), [])
    state = {
        "scenario": solara.use_reactive(launch_scenario()),
        # made once and not through use_reactive, which would subscribe the whole page
        # to them: a Step then re-renders only the components that show the run
        "snap": solara.use_memo(lambda: solara.reactive(first), []),
        "playing": solara.use_memo(lambda: solara.reactive(False), []),
        "speed": solara.use_memo(lambda: solara.reactive(PLAY_MONTHS_PER_SECOND), []),
        "kept": solara.use_memo(lambda: solara.reactive(()), []),
        "values": solara.use_reactive(start_values),
        "built": solara.use_reactive(start_values),
    }
    tab = solara.use_reactive(0)
    act = Actions(session, state)
    scenario = state["scenario"].value
    solara.Title(f"Compute Market: {scenario}")
    solara.Style(CSS)
    with solara.Div(classes=["cm-page"]):
        with solara.Div(classes=["cm-side"]):
            solara.HTML(tag="h1", unsafe_innerHTML="Compute Market")
            with solara.Div(classes=["cm-scenario"]):
                solara.Select(
                    "scenario",
                    values=scenario_names(),
                    value=scenario,
                    on_value=act.choose_scenario,
                )
                Note(scenario_description(scenario))
            RunButtons(act.snap, act.playing, act.step, act.play_pause, act.reset)
            solara.SliderFloat(
                "Play speed [months per second]",
                value=act.speed,
                min=1.0,
                max=20.0,
                step=1.0,
                thumb_label="always",
            )
            Note(
                "Step runs one month; Play keeps stepping until Pause or the scenario's end; "
                "Reset starts again with the settings below."
            )
            RunTools(act.snap, act.kept, act.keep, session)
            Controls(scenario, act.values, act.built.value)
        with solara.Div(classes=["cm-main"]):
            Problems(act.snap)
            with solara.lab.Tabs(value=tab, lazy=True):
                with solara.lab.Tab("Market"):
                    MarketTab(act.snap, act.kept)
                with solara.lab.Tab("Events"):
                    EventsTab(act.snap)
                with solara.lab.Tab("Info"):
                    InfoTab()


@solara.component
def RunButtons(snap: solara.Reactive, playing: solara.Reactive, step, play_pause, reset):
    s = snap.value
    status = f"month {s.step} of {s.horizon}" + (
        f" ({s.ts['month'].iloc[-1]})" if len(s.ts) else ""
    )
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(status), classes=["cm-status"])
    with solara.Div(classes=["cm-buttons"]):
        solara.Button(
            "Step", on_click=step, disabled=playing.value or not s.can_step, color="primary"
        )
        solara.Button(
            "❚❚ Pause" if playing.value else "▶ Play",
            on_click=play_pause,
            disabled=not (playing.value or s.can_step),
        )
        solara.Button("Reset", on_click=reset)
    if s.at_horizon and s.ui_error is None:
        Note(
            f"The end of this scenario ({s.horizon} months). Reset to run it again.",
            classes=("cm-changed", "cm-at-horizon"),
        )


@solara.component
def Problems(snap: solara.Reactive):
    s = snap.value
    if s.ui_error is not None:
        solara.Error(
            f"No market to show: {s.ui_error}. Change the value and press Reset.",
            classes=["cm-error"],
        )
    if s.step_error is not None:
        solara.Error(f"Stopped: {s.step_error}. Reset starts again.", classes=["cm-error"])


@solara.component
def RunTools(snap: solara.Reactive, kept: solara.Reactive, keep, session: Session):
    s = snap.value
    with solara.Div(classes=["cm-run-tools"]):
        with solara.Div(classes=["cm-buttons"]):
            solara.Button("Keep this run", on_click=keep, disabled=len(s.ts) == 0)
            solara.Button("Clear kept", on_click=lambda: kept.set(()), disabled=not kept.value)
        if kept.value:
            Note(
                "Kept (faint on the plots): " + "; ".join(k.label for k in kept.value),
                classes=("cm-note", "cm-kept"),
            )
        if s.command:
            solara.FileDownload(
                session.zip_bytes,
                filename=download_name(s),
                label="Download this run",
                icon_name=None,
            )
            Note("Reproduce it from a terminal:")
            solara.HTML(tag="div", unsafe_innerHTML=html.escape(s.command), classes=["cm-command"])
