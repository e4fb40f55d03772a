"""Figures of one run (PNG), and the network drawing the browser UI shares.

Only this module and the UI import matplotlib; the model never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

KIND_COLOURS = {
    "chip_supplier": "#7f7f7f",
    "hyperscaler": "#1f77b4",
    "neocloud": "#ff7f0e",
    "lab": "#2ca02c",
    "broker": "#9467bd",
}
KIND_LABELS = {
    "chip_supplier": "chip supplier",
    "hyperscaler": "hyperscaler",
    "neocloud": "neocloud",
    "lab": "lab",
    "broker": "broker",
}
# brokers sit at the centre, between every holder and user of compute
RING = {"broker": 0.12, "chip_supplier": 0.35, "hyperscaler": 0.7, "neocloud": 0.7, "lab": 1.0}
PNG_META = {"Software": None}  # no version string: identical runs give identical files


def _months(ts: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(ts["month"], format="%Y-%m")


def plot_prices(ax, ts: pd.DataFrame) -> None:
    x = _months(ts)
    ax.plot(x, ts["spot_price_index_usd_per_h100e_hour"], color="black", lw=2, label="spot index")
    for bucket, _style in (("short", ":"), ("medium", "--"), ("long", "-")):
        col = f"contract_price_{bucket}_usd_per_h100e_hour"
        if col in ts and ts[col].notna().any():
            ax.plot(x, ts[col], ls="none", marker="o", ms=3, label=f"new contracts, {bucket} term")
    ax.set_ylabel("USD per H100e-hour")
    ax.set_title("Rental prices")
    ax.legend(fontsize=7, loc="upper left")


def plot_capacity(ax, ts: pd.DataFrame) -> None:
    x = _months(ts)
    kinds = ["hyperscaler", "neocloud", "lab"]
    ys = [ts[f"capacity_h100e_{k}"] / 1e6 for k in kinds]
    ax.stackplot(
        x,
        ys,
        labels=[KIND_LABELS[k] + "s" for k in kinds],
        colors=[KIND_COLOURS[k] for k in kinds],
        alpha=0.8,
    )
    ax.plot(x, ts["demand_h100e"] / 1e6, color="black", lw=1.5, ls="--", label="inference demand")
    ax.set_ylabel("million H100e")
    ax.set_title("Capacity by owner type")
    ax.legend(fontsize=7, loc="upper left")


def plot_concentration(ax, ts: pd.DataFrame) -> None:
    x = _months(ts)
    ax.plot(x, ts["capacity_hhi"], label="capacity ownership")
    ax.plot(x, ts["lab_compute_hhi"], label="lab compute")
    ax.plot(x, ts["chip_supply_hhi"], label="chip supply")
    ax.axhline(1800, color="grey", ls=":", lw=1)
    if len(x):
        ax.text(x.iloc[0], 1850, "highly concentrated (1,800)", fontsize=7, color="grey")
    ax.set_ylabel("HHI (0-10,000)")
    ax.set_title("Concentration")
    ax.legend(fontsize=7, loc="upper left")


def plot_rationing(ax, ts: pd.DataFrame) -> None:
    x = _months(ts)
    ax.fill_between(x, 0, 100 * ts["rationed_share"], color="#d62728", alpha=0.5)
    ax.set_ylabel("% of inference demand")
    ax.set_ylim(0, 100)
    ax.set_title("Users rationed")


def plot_training(ax, ts: pd.DataFrame) -> None:
    x = _months(ts)
    ax.semilogy(x, ts["largest_run_h100e_months"], color="#9467bd", label="largest run")
    if "frontier_ceiling_h100e_months" in ts:
        ax.semilogy(
            x,
            ts["frontier_ceiling_h100e_months"],
            color="#9467bd",
            ls="--",
            lw=1,
            label="largest site × run length",
        )
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_ylabel("H100e-months (log)")
    ax.set_title("Largest training run (frontier)")


def layout(graph) -> dict[int, tuple[float, float]]:
    """Rings by type (suppliers inside, providers, labs outside); a firm's place on
    its ring is fixed by its id, so the picture stays put from month to month."""
    pos = {}
    by_kind: dict[str, list[int]] = {}
    for n, d in graph.nodes(data=True):
        by_kind.setdefault(d["kind"], []).append(n)
    offset = {"chip_supplier": 0.0, "hyperscaler": 0.0, "neocloud": math.pi, "lab": 0.3}
    span = {
        "chip_supplier": 2 * math.pi,
        "hyperscaler": math.pi,
        "neocloud": math.pi,
        "lab": 2 * math.pi,
    }
    for kind, nodes in by_kind.items():
        nodes = sorted(nodes)
        slots = max(len(nodes), 1)
        for i, n in enumerate(nodes):
            a = offset.get(kind, 0.0) + span.get(kind, 2 * math.pi) * (i + 0.5) / slots
            r = RING.get(kind, 1.0)
            pos[n] = (r * math.cos(a), r * math.sin(a))
    return pos


def firm_capacity_h100e(model, node: int) -> float:
    """What a firm's dot stands for: a provider's online capacity (plus a lab's pool),
    a chip supplier's average monthly deliveries over the last year."""
    firm = model.firm(node)
    if firm is None:
        return 0.0
    if hasattr(firm, "online_capacity_h100e"):
        return float(firm.online_capacity_h100e() + getattr(firm, "pool_h100e", 0.0))
    return float(sum(getattr(firm, "delivered_12m", [])) / 12.0)


def _edge_collections(ax, g, pos) -> None:
    """Contracts (width by H100e), chip supply and equity ties, one collection each."""
    vol = [d["contract_h100e"] for _, _, d in g.edges(data=True)]
    vmax = max(vol, default=1.0) or 1.0
    # one collection per kind of tie: large markets have thousands of edges
    contract, widths, supply, equity = [], [], [], []
    for a, b, d in g.edges(data=True):
        if a not in pos or b not in pos:
            continue
        seg = [pos[a], pos[b]]
        if d["contract_h100e"] > 0:
            contract.append(seg)
            widths.append(0.5 + 6.0 * d["contract_h100e"] / vmax)
        elif d["supply_h100e"] > 0:
            supply.append(seg)
        elif d["equity_usd"] > 0:
            equity.append(seg)
    ax.add_collection(
        LineCollection(supply, colors="#bbbbbb", linewidths=0.6, linestyles="--", zorder=0)
    )
    ax.add_collection(
        LineCollection(equity, colors="#9467bd", linewidths=1.0, linestyles=":", zorder=0)
    )
    ax.add_collection(
        LineCollection(contract, colors="#444444", alpha=0.7, linewidths=widths, zorder=1)
    )


def draw_network(ax, model, pos: dict | None = None, labels: bool | None = None) -> None:
    """Firms coloured by type and sized by capacity; edge width by contracted volume."""
    g = model.network.graph
    pos = pos or layout(g)
    cap = {n: firm_capacity_h100e(model, n) for n in g.nodes}
    top = max(cap.values(), default=1.0) or 1.0
    _edge_collections(ax, g, pos)
    nodes = [n for n in g.nodes if n in pos]
    xs = [pos[n][0] for n in nodes]
    ys = [pos[n][1] for n in nodes]
    sizes = [40 + 900 * math.sqrt(cap[n] / top) for n in nodes]
    colours = [KIND_COLOURS.get(g.nodes[n]["kind"], "black") for n in nodes]
    ax.scatter(xs, ys, s=sizes, c=colours, edgecolors="white", linewidths=0.8, zorder=2)
    if labels is None:
        labels = len(nodes) <= 30
    if labels:
        for n in nodes:
            ax.annotate(
                g.nodes[n]["name"],
                pos[n],
                fontsize=6,
                ha="center",
                va="bottom",
                xytext=(0, 6),
                textcoords="offset points",
                zorder=3,
            )
    handles = [
        Line2D([], [], marker="o", ls="none", color=c, label=KIND_LABELS[k])
        for k, c in KIND_COLOURS.items()
    ]
    handles.append(Line2D([], [], color="#444444", lw=2, label="contract (width: H100e)"))
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="lower left",
        bbox_to_anchor=(-0.02, -0.12),
        ncol=3,
        frameon=False,
    )
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Contract network, {model.calendar_month}")


def write_run_figures(result, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    ts = result.timeseries
    out = []
    for name, fn in (
        ("prices", plot_prices),
        ("capacity", plot_capacity),
        ("concentration", plot_concentration),
        ("rationing", plot_rationing),
        ("training", plot_training),
    ):
        fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
        fn(ax, ts)
        fig.autofmt_xdate()
        fig.tight_layout()
        path = folder / f"{name}.png"
        fig.savefig(path, metadata=PNG_META)
        plt.close(fig)
        out.append(path)
    fig, ax = plt.subplots(figsize=(7, 7), dpi=110)
    draw_network(ax, result.model)
    fig.tight_layout()
    path = folder / "network.png"
    fig.savefig(path, metadata=PNG_META)
    plt.close(fig)
    out.append(path)
    return out


def band_plot(
    ax, df: pd.DataFrame, x: str, y: str, group: str | None = None, label=None, color=None
) -> None:
    """Mean across seeds with a band from the 10th to the 90th percentile, the band
    in the line's colour."""
    groups = [(label, df)] if group is None else [(f"{group}={k}", d) for k, d in df.groupby(group)]
    for name, d in groups:
        stats = d.groupby(x)[y].agg([np.mean, lambda s: s.quantile(0.1), lambda s: s.quantile(0.9)])
        stats.columns = ["mean", "lo", "hi"]
        xs = pd.to_datetime(stats.index, format="%Y-%m") if x == "month" else stats.index
        (line,) = ax.plot(xs, stats["mean"], label=name, color=color)
        ax.fill_between(xs, stats["lo"], stats["hi"], alpha=0.2, color=line.get_color())


# ====================================================================== SVG for the page
# The browser page draws its charts as SVG text built here: no JavaScript library and no
# image encoding, so a Step redraws all of them in a few milliseconds, offline, with
# text at a fixed pixel size that stays readable on a projector.

FONT_PX = 14
FAINT = 0.35  # opacity of a kept run's lines


@dataclass(frozen=True)
class Series:
    """One line (or band) of a chart: a value per month from the run's first month."""

    label: str
    colour: str
    values: tuple[float, ...]
    style: str = "line"  # line | dashed | dots | area | stack
    unit_format: str = "{:,.2f}"


@dataclass(frozen=True)
class Chart:
    """A chart's series plus what its axes need."""

    series: tuple[Series, ...]
    months: tuple[str, ...]  # calendar months of the values
    horizon: int  # months the x axis spans (the scenario's horizon)
    start: str  # the first month, "YYYY-MM"
    y_label: str
    log: bool = False
    y_max: float | None = None
    threshold: tuple[float, str] | None = None  # a dotted line and its words
    y_format: str = "eng"  # eng | pct


def _esc(text: str) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def short_number(v: float, kind: str = "eng") -> str:
    """'2.4M', '350k', '1.25' or '40%': short enough for an axis."""
    if kind == "pct":
        return f"{v:.0f}%"
    a = abs(v)
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}" if a >= 1 or a == 0 else f"{v:.2g}"


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten) covering lo..hi."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = [round(first, 12)]
    while ticks[-1] < hi - step * 1e-9:  # the last tick is at or above the largest value
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def year_ticks(start: str, horizon: int) -> list[tuple[int, str]]:
    """(month index, label) for the x axis: whole years (every 1, 2, 5 or 10) on long
    runs, quarters or half-years on short ones; never more than five."""
    y0, m0 = int(start[:4]), int(start[5:])
    first_jan = (13 - m0) % 12
    if horizon > 24:
        years = horizon / 12
        every = next(k for k in (1, 2, 5, 10, 20, 50) if years / k <= 5)
        out = []
        for i in range(first_jan, horizon, 12):
            year = y0 + (m0 - 1 + i) // 12
            if (year - y0) % every == 0 or every == 1:
                out.append((i, str(year)))
        return out
    every = next(k for k in (3, 6, 12) if horizon / k <= 4)
    out = []
    for i in range(0, max(horizon, 1)):
        total = y0 * 12 + m0 - 1 + i
        if total % every == 0:
            out.append((i, f"{total // 12}-{total % 12 + 1:02d}"))
    return out


class _Frame:
    """Pixel geometry of one chart."""

    def __init__(self, chart: Chart, width: int, height: int, lo: float, hi: float):
        self.left, self.right, self.top, self.bottom = 50, width - 10, 8, height - 24
        self.horizon = max(chart.horizon, 1)
        self.log, self.lo, self.hi = chart.log, lo, hi

    def x(self, i: float) -> float:
        return self.left + (self.right - self.left) * (i + 0.5) / self.horizon

    def y(self, v: float) -> float:
        if self.log:
            v, lo, hi = math.log10(max(v, 1e-12)), math.log10(self.lo), math.log10(self.hi)
        else:
            lo, hi = self.lo, self.hi
        return self.bottom - (self.bottom - self.top) * (v - lo) / ((hi - lo) or 1.0)


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _y_range(chart: Chart, kept: list[Chart]) -> tuple[float, float, list[float]]:
    values = []
    for c in [chart, *kept]:
        for s in c.series:
            vals = s.values
            if s.style == "stack":
                continue
            values += _finite(vals)
        stacks = [s.values for s in c.series if s.style == "stack"]
        if stacks:
            values += _finite([sum(x for x in col if x == x) for col in zip(*stacks, strict=False)])
    if chart.log:
        pos = [v for v in values if v > 0] or [1.0]
        lo = 10 ** math.floor(math.log10(min(pos)))
        hi = 10 ** math.ceil(math.log10(max(pos)))
        hi = hi * 10 if hi <= lo else hi
        decades = round(math.log10(hi / lo))
        step = max(1, math.ceil(decades / 4))
        return lo, hi, [lo * 10**k for k in range(0, decades + 1, step)]
    top = chart.y_max if chart.y_max is not None else max(values, default=1.0)
    if chart.threshold is not None and chart.y_max is None:
        top = max(top, chart.threshold[0] * 1.1)
    ticks = nice_ticks(0.0, top if top > 0 else 1.0)
    return 0.0, ticks[-1], ticks


def _polyline(f: _Frame, values, offset: int = 0) -> str:
    """Points of a line, broken where a value is missing."""
    parts: list[list[str]] = []
    run: list[str] = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v) or (f.log and v <= 0):
            if len(run) > 1:
                parts.append(run)
            run = []
            continue
        run.append(f"{f.x(i + offset):.1f},{f.y(v):.1f}")
    if len(run) > 1:
        parts.append(run)
    return "".join(f'<polyline points="{" ".join(p)}"/>' for p in parts)


def _draw_series(f: _Frame, chart: Chart, faint: bool, offset: int = 0) -> list[str]:
    out = []
    base = [0.0] * len(chart.months)
    for s in chart.series:
        vals = [float(v) if v is not None else math.nan for v in s.values]
        op = FAINT if faint else 1.0
        if s.style in ("stack", "area"):
            lower = base if s.style == "stack" else [0.0] * len(vals)
            upper = [
                (b if b == b else 0.0) + (v if v == v else 0.0)
                for b, v in zip(lower, vals, strict=False)
            ]
            if s.style == "stack":
                base = upper
            if faint:
                out.append(
                    f'<g fill="none" stroke="{s.colour}" stroke-width="1.5" opacity="{op}" '
                    f'stroke-dasharray="4 3">{_polyline(f, upper, offset)}</g>'
                )
                continue
            if len(vals) == 0:
                continue
            pts = [f"{f.x(i + offset):.1f},{f.y(v):.1f}" for i, v in enumerate(upper)]
            pts += [
                f"{f.x(i + offset):.1f},{f.y(v):.1f}" for i, v in reversed(list(enumerate(lower)))
            ]
            if len(vals) == 1:  # one month: a thin bar
                x = f.x(offset)
                pts = [
                    f"{x - 2:.1f},{f.y(upper[0]):.1f}",
                    f"{x + 2:.1f},{f.y(upper[0]):.1f}",
                    f"{x + 2:.1f},{f.y(lower[0]):.1f}",
                    f"{x - 2:.1f},{f.y(lower[0]):.1f}",
                ]
            out.append(f'<polygon points="{" ".join(pts)}" fill="{s.colour}" fill-opacity="0.75"/>')
        elif s.style == "dots":
            dots = "".join(
                f'<circle cx="{f.x(i + offset):.1f}" cy="{f.y(v):.1f}" r="{2 if faint else 3}"/>'
                for i, v in enumerate(vals)
                if math.isfinite(v) and not (f.log and v <= 0)
            )
            out.append(f'<g fill="{s.colour}" opacity="{op}">{dots}</g>')
        else:
            dash = ' stroke-dasharray="6 4"' if s.style == "dashed" else ""
            width = 1.5 if faint else 2.2
            line = _polyline(f, vals, offset)
            if len(vals) == 1 and math.isfinite(vals[0]):  # one month: a dot
                line = f'<circle cx="{f.x(offset):.1f}" cy="{f.y(vals[0]):.1f}" r="3" fill="{s.colour}"/>'
            out.append(
                f'<g fill="none" stroke="{s.colour}" stroke-width="{width}" opacity="{op}"{dash}>'
                f"{line}</g>"
            )
    return out


def _hover_strips(f: _Frame, chart: Chart) -> str:
    """One transparent strip per month carrying that month's values as a tooltip."""
    w = (f.right - f.left) / f.horizon
    out = []
    for i, month in enumerate(chart.months):
        lines = [month]
        for s in chart.series:
            v = s.values[i] if i < len(s.values) else None
            if v is not None and math.isfinite(v):
                lines.append(f"{s.label}: {s.unit_format.format(v)}")
        out.append(
            f'<rect x="{f.x(i) - w / 2:.1f}" y="{f.top}" width="{w:.2f}" '
            f'height="{f.bottom - f.top}"><title>{_esc(chr(10).join(lines))}</title></rect>'
        )
    return f'<g fill="transparent" class="cm-hover">{"".join(out)}</g>'


def chart_svg(
    chart: Chart, kept: list[Chart] | None = None, width: int = 300, height: int = 230
) -> str:
    """The chart as SVG: axes with few round ticks, the kept runs faint underneath, the
    current run on top, and a tooltip for every month."""
    kept = kept or []
    lo, hi, ticks = _y_range(chart, kept)
    f = _Frame(chart, width, height, lo, hi)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="{FONT_PX}" font-family="sans-serif">'
    ]
    grid = []
    for t in ticks:
        y = f.y(t)
        grid.append(f'<line x1="{f.left}" x2="{f.right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        label = short_number(t, chart.y_format)
        out.append(
            f'<text x="{f.left - 4}" y="{y + 5:.1f}" text-anchor="end" fill="#333">{label}</text>'
        )
    for i, text in year_ticks(chart.start, chart.horizon):
        x = f.x(i - 0.5)
        if x + 0.3 * FONT_PX * len(text) > width:  # a label that would be cut off
            continue
        grid.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top}" y2="{f.bottom}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" fill="#333">{text}</text>'
        )
    out.insert(1, f'<g stroke="#e2e2e2" stroke-width="1">{"".join(grid)}</g>')
    out.append(f'<path d="M{f.left},{f.top} V{f.bottom} H{f.right}" stroke="#888" fill="none"/>')
    if chart.threshold is not None:
        v, words = chart.threshold
        y = f.y(v)
        out.append(
            f'<line x1="{f.left}" x2="{f.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#666" '
            f'stroke-dasharray="2 3"/><text x="{f.right - 2}" y="{y - 4:.1f}" '
            f'text-anchor="end" fill="#555">{_esc(words)}</text>'
        )
    clip = f"cm-clip-{width}x{height}"  # same geometry, same id: duplicates are harmless
    out.append(
        f'<clipPath id="{clip}"><rect x="{f.left}" y="{f.top - 4}" width="{f.right - f.left}" '
        f'height="{f.bottom - f.top + 4}"/></clipPath><g clip-path="url(#{clip})">'
    )
    for k in kept:  # a kept run of another scenario may start earlier or run longer
        offset = _month_index(chart.start, k.start)
        out += _draw_series(f, k, faint=True, offset=offset)
    out += _draw_series(f, chart, faint=False)
    out.append("</g>")
    if not chart.months:
        out.append(
            f'<text x="{(f.left + f.right) / 2:.0f}" y="{(f.top + f.bottom) / 2:.0f}" '
            'text-anchor="middle" fill="#777">no month yet: press Step</text>'
        )
    out.append(_hover_strips(f, chart))
    out.append("</svg>")
    return "".join(out)


def _month_index(start: str, label: str) -> int:
    return (int(label[:4]) * 12 + int(label[5:])) - (int(start[:4]) * 12 + int(start[5:]))


def legend_html(chart: Chart, kept: int = 0) -> str:
    """The chart's key, above the plot so that it never covers the data."""
    items = []
    for s in chart.series:
        if s.style in ("stack", "area"):
            mark = f'<span class="cm-sw" style="background:{s.colour}"></span>'
        elif s.style == "dots":
            mark = f'<span class="cm-sw cm-dot" style="background:{s.colour}"></span>'
        else:
            dash = "dashed" if s.style == "dashed" else "solid"
            mark = f'<span class="cm-sw cm-ln" style="border-top:3px {dash} {s.colour}"></span>'
        items.append(f"<span>{mark}{_esc(s.label)}</span>")
    if kept:
        items.append(
            f'<span><span class="cm-sw cm-ln" style="border-top:2px solid #999;opacity:.6">'
            f"</span>kept run{'s' if kept > 1 else ''} (faint)</span>"
        )
    return f'<div class="cm-legend">{"".join(items)}</div>'


# ---------------------------------------------------------------------- network as SVG
@dataclass(frozen=True)
class Firm:
    node: int
    name: str
    kind: str
    capacity_h100e: float


@dataclass(frozen=True)
class Tie:
    """Active contracts from one seller to one buyer, added up."""

    seller: int
    buyer: int
    capacity_h100e: float
    price_usd_per_h100e_hour: float  # capacity-weighted mean
    contracts: int


def labelled_firms(firms: list[Firm], most: int = 10) -> set[int]:
    """Every firm when there are few; otherwise the ``most`` largest, plus the largest
    of each kind, so that a class can always point at the big names."""
    if len(firms) <= most + 2:
        return {f.node for f in firms}
    ranked = sorted(firms, key=lambda f: (-f.capacity_h100e, f.name))
    keep = {f.node for f in ranked[:most]}
    for kind in {f.kind for f in firms}:
        keep.add(next(f.node for f in ranked if f.kind == kind))
    return keep


def _tie_paths(ties, by_node, xy, radius) -> str:
    """One slightly bent arrow per seller-buyer pair, with its numbers as a tooltip."""
    vmax = max((t.capacity_h100e for t in ties), default=1.0) or 1.0
    edges = []
    for t in sorted(ties, key=lambda t: t.capacity_h100e):
        if t.seller not in by_node or t.buyer not in by_node:
            continue
        (x1, y1), (x2, y2) = xy(t.seller), xy(t.buyer)
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        w = 1.0 + 5.0 * t.capacity_h100e / vmax
        # bend slightly, so that two firms selling to each other show two arrows
        mx, my = (x1 + x2) / 2 + (y2 - y1) * 0.12, (y1 + y2) / 2 - (x2 - x1) * 0.12
        ux, uy = (x2 - mx), (y2 - my)
        ud = math.hypot(ux, uy) or 1.0
        ex = x2 - ux / ud * (radius[t.buyer] + 2)
        ey = y2 - uy / ud * (radius[t.buyer] + 2)
        sx = x1 + (mx - x1) / d * radius[t.seller]
        sy = y1 + (my - y1) / d * radius[t.seller]
        s, b = by_node[t.seller].name, by_node[t.buyer].name
        tip = (
            f"{s} sells to {b}: {t.capacity_h100e:,.0f} H100e at "
            f"{t.price_usd_per_h100e_hour:.2f} USD per H100e-hour"
            + (f" (average of {t.contracts} contracts)" if t.contracts > 1 else "")
        )
        path = f"M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}"
        edges.append(
            f'<g class="cm-tie"><title>{_esc(tip)}</title>'
            f'<path d="{path}" stroke="#444" stroke-opacity="0.65" stroke-width="{w:.1f}" '
            f'fill="none" marker-end="url(#cm-arrow)"/>'
            f'<path d="{path}" stroke="transparent" stroke-width="{max(w, 9):.0f}" fill="none"/></g>'
        )
    return "".join(edges)


def network_svg(
    firms: list[Firm],
    ties: list[Tie],
    supply: list[tuple[int, int]],
    pos: dict,
    width: int = 380,
    height: int = 300,
) -> str:
    """Firms on rings, sized by capacity; an arrow from seller to buyer for each pair
    with active contracts, thicker for more H100e; hover a firm or an arrow for numbers."""
    # an ellipse, wider than tall, leaves room for names left and right
    cx, cy = width / 2, height / 2
    rx, ry = width / 2 - 95, height / 2 - 24
    firms = [f for f in firms if f.node in pos]
    by_node = {f.node: f for f in firms}

    def xy(n):
        x, y = pos[n]
        return cx + rx * x, cy - ry * y

    top = max((f.capacity_h100e for f in firms), default=1.0) or 1.0
    radius = {f.node: 4 + 13 * math.sqrt(max(f.capacity_h100e, 0.0) / top) for f in firms}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="{FONT_PX}" font-family="sans-serif">',
        '<defs><marker id="cm-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="4" '
        'markerHeight="4" orient="auto-start-reverse" markerUnits="strokeWidth">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
    ]
    lines = []
    for a, b in supply:
        if a in by_node and b in by_node:
            (x1, y1), (x2, y2) = xy(a), xy(b)
            lines.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    out.append(f'<g stroke="#c8c8c8" stroke-dasharray="3 3">{"".join(lines)}</g>')
    out.append(_tie_paths(ties, by_node, xy, radius))
    for f in sorted(firms, key=lambda f: -f.capacity_h100e):
        x, y = xy(f.node)
        tip = f"{f.name} ({KIND_LABELS.get(f.kind, f.kind)}): {f.capacity_h100e:,.0f} H100e"
        out.append(
            f'<circle class="cm-firm" cx="{x:.1f}" cy="{y:.1f}" r="{radius[f.node]:.1f}" '
            f'fill="{KIND_COLOURS.get(f.kind, "#000")}" stroke="white" stroke-width="1.2">'
            f"<title>{_esc(tip)}</title></circle>"
        )
    out += _labels(firms, {f.node: xy(f.node) for f in firms}, radius, (cx, cy), width, height)
    if not firms:
        out.append(f'<text x="{cx}" y="{cy}" text-anchor="middle" fill="#777">no firms</text>')
    out.append("</svg>")
    return "".join(out)


def _labels(firms, xy, radius, centre, width, height) -> list[str]:
    """Names of the firms ``labelled_firms`` picks, largest first, each at the first of a
    few places around its dot that overlaps no name already placed and stays inside."""
    show = labelled_firms(firms)
    dots = {
        f.node: (
            xy[f.node][0] - radius[f.node],
            xy[f.node][1] - radius[f.node],
            xy[f.node][0] + radius[f.node],
            xy[f.node][1] + radius[f.node],
        )
        for f in firms
    }
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for f in sorted(firms, key=lambda f: (-f.capacity_h100e, f.name)):
        if f.node not in show:
            continue
        x, y = xy[f.node]
        r = radius[f.node] + 3
        w, h = 0.56 * FONT_PX * len(f.name), FONT_PX + 2
        outward = "start" if x >= centre[0] else "end"
        candidates = [
            (outward, x + (r if outward == "start" else -r), y + 5),
            ("middle", x, y - r - 3),
            ("middle", x, y + r + FONT_PX),
            (
                "end" if outward == "start" else "start",
                x + (-r if outward == "start" else r),
                y + 5,
            ),
        ]
        best = candidates[0]
        for anchor, tx, ty in candidates:
            left = tx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
            box = (left, ty - h + 3, left + w, ty + 3)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            others = placed + [d for n, d in dots.items() if n != f.node]
            free = all(
                box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in others
            )
            if inside and free:
                best = (anchor, tx, ty)
                break
        anchor, tx, ty = best
        left = tx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
        placed.append((left, ty - h + 3, left + w, ty + 3))
        out.append(
            f'<text class="cm-firm-name" x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" '
            f'fill="#111" stroke="white" stroke-width="3" paint-order="stroke">{_esc(f.name)}</text>'
        )
    return out


def network_legend_html() -> str:
    items = [
        f'<span><span class="cm-sw cm-dot" style="background:{c}"></span>{KIND_LABELS[k]}</span>'
        for k, c in KIND_COLOURS.items()
    ]
    items.append(
        '<span><span class="cm-sw cm-ln" style="border-top:3px solid #444"></span>'
        "sells to (arrow)</span>"
    )
    items.append(
        '<span><span class="cm-sw cm-ln" style="border-top:2px dashed #bbb"></span>'
        "chip supply</span>"
    )
    return f'<div class="cm-legend">{"".join(items)}</div>'
