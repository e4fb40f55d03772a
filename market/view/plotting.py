"""Small plotting helpers every report figure shares: pyplot on the Agg backend, axes
with plain numbers and dates, and saving without a version stamp."""

from __future__ import annotations

from pathlib import Path

from market.view import figures as run_figures  # selects the Agg backend before pyplot loads

plt = run_figures.plt
band_plot = run_figures.band_plot


def log_axis(ax) -> None:
    """A log y axis labelled with plain numbers (1, 10, 100), no minor labels."""
    from matplotlib.ticker import FuncFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.3g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))


def date_axis(ax, maxticks: int = 8) -> None:
    """Months on the x axis, labelled concisely."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def save(fig, path: Path, tight: bool = True) -> Path:
    """Write the figure as PNG (no software stamp: identical data give identical files)
    and close it."""
    if tight:
        fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
