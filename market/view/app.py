"""The browser UI: watch and steer a market run in Mesa's SolaraViz.

Start it with ``compute-market ui [--scenario NAME]``; that serves this file with
``solara run``. The scenario to open with arrives in the environment variable
``COMPUTE_MARKET_SCENARIO``. This is the only module of the project that imports
solara or mesa.visualization: the model never depends on its view.

The sliders are generated from the parameter declarations in ``market.io.params``
(``ui=True``), so labels, units, ranges, help and starting values have one source.
"""

from __future__ import annotations

import html
import io
import math
import os
import traceback

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import mesa
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from market.core.model import ComputeMarket, month_label
from market.io.params import Param, ParameterError, ui_params
from market.io.scenario import ScenarioError, builtin_names, load_scenario
from market.run.runner import contract_book
from market.view import figures as viz_figures
from market.view.launch_ui import SCENARIO_ENV

DEFAULT_SCENARIO = "baseline"
SEED_KEY = "rng"  # the keyword SolaraViz's seed field fills in
EVENTS_SHOWN = 12
CONTRACTS_SHOWN = 8


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
    span = float(p.max) - float(p.min)
    step = 10.0 ** math.floor(math.log10(span / 50.0)) if span > 0 else 1.0

    def on_grid(x: float) -> bool:
        k = (float(x) - float(p.min)) / step
        return abs(k - round(k)) < 1e-6

    while step > 1e-6 and not (on_grid(value) and on_grid(p.default)):
        step /= 10.0
    return step


def control_spec(p: Param, value) -> dict:
    """The SolaraViz input for one declared parameter, starting at ``value``."""
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
    """SolaraViz's ``model_params``: the scenario (fixed), the seed field and one input
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
    """The seed field's text (SolaraViz passes it on as typed) as an int, or None for
    the scenario's own seed."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if value is not None and value < 0:
            raise ParameterError(
                f"field 'seed' = {value!r} is not allowed: expected an integer >= 0"
            )
        return value
    text = str(value).strip()
    if not text:
        return None
    if not text.isdigit():
        raise ParameterError(
            f"field 'seed' = {text!r} is not allowed: expected an integer >= 0 "
            "(leave it empty for the scenario's seed)"
        )
    return int(text)


class PageMarket(ComputeMarket):
    """ComputeMarket as the page builds it. A value the declarations do not allow
    gives a placeholder that carries the message (``ui_error``), so the page can say
    what is wrong instead of going blank."""

    # SolaraViz's Reset also passes ``scenario``: Mesa's own experiment object, not a
    # market scenario. The market scenario therefore travels as ``scenario_name``.
    def __init__(
        self, *, scenario_name: str = DEFAULT_SCENARIO, rng=None, scenario=None, **overrides
    ) -> None:
        self.scenario_name = scenario_name
        self.ui_error: str | None = None
        self.step_error: str | None = None
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
    """The DataCollector's rows with the calendar month; cached per step, since
    every plot of one redraw reads it."""
    cached = getattr(model, "_page_ts", None)
    if cached is not None and cached[0] == model.steps:
        return cached[1]
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "month", [month_label(model.p["start_month"], i) for i in range(len(ts))])
    model._page_ts = (model.steps, ts)
    return ts


def key_figures(model: ComputeMarket) -> list[tuple[str, str, str]]:
    """(key, label, text) rows of the key-figures panel."""
    ts = timeseries(model)
    if len(ts) == 0:
        return [("date", "month simulated", f"none yet (first: {model.p['start_month']})")]
    last = ts.iloc[-1]

    def num(col, fmt, scale=1.0):
        v = last[col]
        return "-" if pd.isna(v) else fmt.format(v * scale)

    return [
        ("date", "month simulated", str(last["month"])),
        ("active_labs", "active labs", num("active_labs", "{:.0f}")),
        ("active_neoclouds", "active neoclouds", num("active_neoclouds", "{:.0f}")),
        ("active_hyperscalers", "active hyperscalers", num("active_hyperscalers", "{:.0f}")),
        (
            "spot_price_index",
            "spot price index [USD per H100e-hour]",
            num("spot_price_index_usd_per_h100e_hour", "{:.2f}"),
        ),
        ("capacity_hhi", "HHI of capacity ownership", num("capacity_hhi", "{:,.0f}")),
        ("lab_compute_hhi", "HHI of lab compute", num("lab_compute_hhi", "{:,.0f}")),
        (
            "capacity_total",
            "online capacity [million H100e]",
            num("capacity_h100e_total", "{:.2f}", 1e-6),
        ),
        ("rationed_share", "users rationed", num("rationed_share", "{:.1%}")),
    ]


def active_contracts(model: ComputeMarket) -> pd.DataFrame:
    book = contract_book(model)
    book = book[book["state"] == "active"]
    return book.sort_values(["capacity_h100e", "contract_id"], ascending=[False, True]).head(
        CONTRACTS_SHOWN
    )


def png(draw, size: tuple[float, float]) -> bytes:
    fig = Figure(figsize=size, dpi=100)
    draw(fig)
    buf = io.BytesIO()
    # Fast PNG compression: the image is re-sent on every Step, and on a classroom
    # machine drawing time matters more than a few kilobytes.
    fig.savefig(buf, format="png", metadata=viz_figures.PNG_META, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def draw_plot(fig, plot, title: str, ts: pd.DataFrame) -> None:
    # Fixed margins and few date ticks instead of tight_layout and autofmt_xdate,
    # which together take about a third of a plot's drawing time.
    fig.subplots_adjust(left=0.17, right=0.98, top=0.9, bottom=0.12)
    ax = fig.add_subplot()
    if len(ts):
        plot(ax, ts)
        month_axis(ax, len(ts))
        if ax.get_yscale() == "log":  # "240k" is shorter than "2.4 x 10^5" and leaves room
            ax.yaxis.set_major_formatter(mticker.EngFormatter(sep=""))
            ax.yaxis.set_minor_formatter(mticker.EngFormatter(sep=""))
    else:
        ax.set_title(title)
        ax.text(
            0.5,
            0.5,
            "no month simulated yet: press Step",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color="grey",
        )
        ax.set_xticks([])
        ax.set_yticks([])


def month_axis(ax, months: int) -> None:
    """At most about six ticks, on whole quarters, half-years or years, labelled like
    the model's months."""
    step = next((k for k in (1, 2, 3, 6) if months / k <= 6), None)
    if step is not None:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, step)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    else:
        ax.xaxis.set_major_locator(mdates.YearLocator(max(1, math.ceil(months / 12 / 6))))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def draw_network(fig, model: ComputeMarket) -> None:
    ax = fig.add_axes((0.0, 0.01, 0.7, 0.9))
    viz_figures.draw_network(ax, model)
    for text in ax.texts:  # firm names, sized for a full-page PNG, need to be larger here
        text.set_fontsize(7)
    # The legend goes beside the picture, so that both fit a tile of the page.
    legend = ax.get_legend()
    if legend is not None:
        handles, labels = legend.legend_handles, [t.get_text() for t in legend.get_texts()]
        legend.remove()
        fig.legend(
            handles,
            labels,
            loc="center right",
            fontsize=7,
            frameon=False,
            handletextpad=0.4,
            labelspacing=0.8,
        )


# ------------------------------------------------------------------ components
CSS = """
.cm-note { font-size: 0.82rem; color: #555; margin: 4px 2px 0 2px; line-height: 1.25; }
.cm-view { height: 100%; overflow: auto; padding: 4px 6px; }
.cm-view h3 { font-size: 1rem; margin: 0 0 4px 0; }
.cm-view > div { height: auto !important; }  /* the image widget's wrapper asks for 100% */
.cm-view img { max-width: 100%; display: block; }
.cm-table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
.cm-table th, .cm-table td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #e4e4e4;
  vertical-align: top; }
.cm-table td.n { text-align: right; font-variant-numeric: tabular-nums; }
.cm-events { font-size: 0.85rem; margin: 0; padding-left: 1.1em; }
.cm-events li { margin-bottom: 2px; }
.cm-kind { font-size: 0.72rem; color: #fff; border-radius: 3px; padding: 0 4px; margin-right: 4px; }
/* Slider labels carry units and are long: give each its own line above the track,
   and keep the value visible in a small tag over the thumb, not only while dragging. */
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 0 0 100%; max-width: 100%;
  white-space: normal; margin-bottom: 20px; }
.v-input__slider .v-slider__thumb-label-container { display: block !important; }
.v-input__slider .v-slider__thumb-label { transform: translate(-50%, -22px) !important;
  border-radius: 4px !important; height: 17px !important; width: auto !important;
  min-width: 22px; padding: 0 4px; font-size: 0.7rem; }
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
    "training": "#bcbd22",
    "auction": "#ff7f0e",
    "sentiment": "#e377c2",
    "technology": "#555555",
    "rationing": "#d4a017",
}


def Note(text: str):
    return solara.HTML(tag="p", unsafe_innerHTML=html.escape(text), classes=["cm-note"])


def Problem(model) -> bool:
    """Shows the placeholder's message; True when there is no market to draw."""
    if model.ui_error is None:
        return False
    solara.Error(
        f"No market to show: {model.ui_error}. Change the value and press Reset.",
        classes=["cm-error"],
    )
    return True


def _redraw_key(model) -> list:
    return [model, model.steps]


@solara.component
def KeyFigures(model):
    update_counter.get()
    with solara.Div(classes=["cm-view", "cm-key-figures"]):
        solara.HTML(tag="h3", unsafe_innerHTML=f"Key figures: {html.escape(model.scenario_name)}")
        if Problem(model):
            return
        if model.step_error is not None:
            solara.Error(f"Stopped: {model.step_error}. Reset starts again.", classes=["cm-error"])
        rows = "".join(
            f"<tr><th>{html.escape(lab)}</th>"
            f'<td class="n" data-key="{key}">{html.escape(text)}</td></tr>'
            for key, lab, text in key_figures(model)
        )
        solara.HTML(tag="table", unsafe_innerHTML=rows, classes=["cm-table"])
        Note(
            "The market at the end of the month just simulated (each Step is one month). "
            "HHI measures concentration from 0 (many small firms) to 10,000 (one firm); "
            "above 1,800 a market counts as highly concentrated."
        )


@solara.component
def NetworkView(model):
    update_counter.get()
    image = solara.use_memo(
        lambda: None if model.ui_error else png(lambda fig: draw_network(fig, model), (4.6, 3.1)),
        _redraw_key(model),
    )
    with solara.Div(classes=["cm-view", "cm-network"]):
        if Problem(model):
            return
        solara.Image(image, classes=["cm-figure"])
        Note(
            "Firms (dots) coloured by type and sized by capacity; lines are active contracts, "
            "thicker for more H100e. Chip suppliers sit inside, providers in the middle ring, "
            "labs outside; a firm keeps its place from month to month."
        )


def _plot_view(name: str, title: str, plot, note: str):
    @solara.component
    def View(model):
        update_counter.get()
        image = solara.use_memo(
            lambda: (
                None
                if model.ui_error
                else png(lambda fig: draw_plot(fig, plot, title, timeseries(model)), (5.2, 2.8))
            ),
            _redraw_key(model),
        )
        with solara.Div(classes=["cm-view", "cm-plot", f"cm-plot-{name}"]):
            if Problem(model):
                return
            solara.Image(image, width="100%", classes=["cm-figure"])
            Note(note)

    View.__name__ = f"{name.title()}Plot"
    return View


PricesPlot = _plot_view(
    "prices",
    "Rental prices",
    viz_figures.plot_prices,
    "Black line: spot price index, what an H100e-hour rents for this month. Dots: average "
    "price of contracts signed that month, by term. Contracts above spot mean buyers pay to "
    "lock capacity in.",
)
CapacityPlot = _plot_view(
    "capacity",
    "Capacity by owner type",
    viz_figures.plot_capacity,
    "Online compute stacked by who owns it; the dashed line is what users ask for. Demand "
    "above the stack means some users go unserved.",
)
ConcentrationPlot = _plot_view(
    "concentration",
    "Concentration",
    viz_figures.plot_concentration,
    "HHI of who owns capacity, of the compute labs hold and of chip supply. Rising lines "
    "mean fewer, larger firms; the dotted line marks 'highly concentrated'.",
)
RationingPlot = _plot_view(
    "rationing",
    "Users rationed",
    viz_figures.plot_rationing,
    "Share of users' inference demand that went unserved each month because labs lacked "
    "compute. 0% means everyone was served.",
)
TrainingPlot = _plot_view(
    "training",
    "Largest training run (frontier)",
    viz_figures.plot_training,
    "Size of the largest training run completed so far, on a log scale: equal steps up mean "
    "equal growth factors. Each jump is a new frontier run in the arms race. A run starts on "
    "one site, so none starts larger than the dashed line: the largest site times the run length.",
)


@solara.component
def EventLog(model):
    update_counter.get()
    with solara.Div(classes=["cm-view", "cm-event-log"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Latest events")
        if Problem(model):
            return
        latest = list(reversed(model.events[-EVENTS_SHOWN:]))
        if latest:
            items = "".join(
                f'<li><span class="cm-kind" style="background:{KIND_BADGE.get(e.kind, "#555")}">'
                f"{html.escape(e.kind)}</span>{html.escape(e.text)}</li>"
                for e in latest
            )
        else:
            items = "<li>nothing has happened yet: press Step</li>"
        solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["cm-events"])
        Note(
            f"The {EVENTS_SHOWN} most recent deals, builds, raises, exits and acquisitions, "
            "newest first, each starting with its month."
        )


@solara.component
def ContractsTable(model):
    update_counter.get()
    with solara.Div(classes=["cm-view", "cm-contracts"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Largest active contracts")
        if Problem(model):
            return
        book = active_contracts(model)
        head = (
            "<tr><th>buyer</th><th>seller</th><th>H100e</th><th>USD per H100e-hour</th>"
            "<th>months</th><th>until</th></tr>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(r.buyer)}</td><td>{html.escape(r.seller)}</td>"
            f'<td class="n">{r.capacity_h100e:,.0f}</td>'
            f'<td class="n">{r.price_usd_per_h100e_hour:.2f}</td>'
            f'<td class="n">{r.term_months}</td><td>{html.escape(r.end_month)}</td></tr>'
            for r in book.itertuples()
        )
        if not rows:
            rows = '<tr><td colspan="6">no contract is delivering yet</td></tr>'
        solara.HTML(tag="table", unsafe_innerHTML=head + rows, classes=["cm-table"])
        Note(
            f"The {CONTRACTS_SHOWN} biggest contracts now delivering compute: who rents from "
            "whom, how much, at what hourly price, for how long and until when."
        )


@solara.component
def RunSettings(model):
    update_counter.get()
    with solara.Div(classes=["cm-view", "cm-settings"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Settings of this run")
        if Problem(model):
            return
        rows = [
            f'<tr><th>seed</th><td class="n" data-param="seed">{model.seed}</td>'
            "<td>integer >= 0</td><td>Same seed and settings, same run.</td></tr>"
        ]
        for p in ui_params():
            v = model.p[p.name]
            text = f"{v:g}" if isinstance(v, float) else str(v)
            rows.append(
                f"<tr><th>{html.escape(label(p))}</th>"
                f'<td class="n" data-param="{p.name}">{html.escape(text)}</td>'
                f"<td>{html.escape(p.allowed())}</td><td>{html.escape(p.help)}</td></tr>"
            )
        solara.HTML(tag="table", unsafe_innerHTML="".join(rows), classes=["cm-table"])
        Note(
            "The values this run was built with, what each may be and what it means. Move a "
            "slider or type a seed on the left, then press Reset to rebuild the market with it."
        )


COMPONENTS = [
    KeyFigures,
    NetworkView,
    PricesPlot,
    CapacityPlot,
    ConcentrationPlot,
    RationingPlot,
    TrainingPlot,
    EventLog,
    ContractsTable,
    RunSettings,
]

scenario_choice = solara.reactive(launch_scenario())


def scenario_names() -> list[str]:
    """The built-in scenarios, and the one the server was started with if it is a file."""
    names, launched = builtin_names(), launch_scenario()
    return names if launched in names else [launched, *names]


def scenario_description(name: str) -> str:
    try:
        return load_scenario(name).description
    except ScenarioError as exc:
        return str(exc)


@solara.component
def Page():
    name = scenario_choice.value
    model = solara.use_memo(lambda: PageMarket(scenario_name=name), [name])
    solara.Style(CSS)
    with solara.Sidebar(), solara.Card("Scenario", classes=["cm-scenario"]):
        solara.Select("scenario", values=scenario_names(), value=scenario_choice)
        Note(scenario_description(name))
        Note(
            "Choosing a scenario starts it afresh with its own seed and settings. "
            "Step runs one month; ▶ keeps stepping; Reset starts again with the "
            "sliders and seed below."
        )
    # A new key gives SolaraViz fresh state, so its sliders start at the new scenario's values.
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=model_params(name),
        name="Compute Market",
        play_interval=300,
    ).key(f"viz-{name}")
