"""Figures of one run (PNG), and the network drawing the browser UI shares.

Only this module and the UI import matplotlib; the model never does.
"""

from __future__ import annotations

import math
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
}
KIND_LABELS = {
    "chip_supplier": "chip supplier",
    "hyperscaler": "hyperscaler",
    "neocloud": "neocloud",
    "lab": "lab",
}
RING = {"chip_supplier": 0.35, "hyperscaler": 0.7, "neocloud": 0.7, "lab": 1.0}
PNG_META = {"Software": None}  # no version string: identical runs give identical files


def _months(ts: pd.DataFrame) -> list:
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


def draw_network(ax, model, pos: dict | None = None, labels: bool | None = None) -> None:
    """Firms coloured by type and sized by capacity; edge width by contracted volume."""
    g = model.network.graph
    pos = pos or layout(g)
    cap = {}
    for n in g.nodes:
        firm = model.firm(n)
        if firm is None:
            cap[n] = 0.0
        elif hasattr(firm, "online_capacity_h100e"):
            cap[n] = firm.online_capacity_h100e() + getattr(firm, "pool_h100e", 0.0)
        else:
            cap[n] = sum(getattr(firm, "delivered_12m", [])) / 12.0
    top = max(cap.values(), default=1.0) or 1.0
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
