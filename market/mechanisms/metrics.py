"""Concentration and network metrics on plain numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PERCENT = 100.0  # HHI squares shares written in percent (the 0-10,000 scale)
TOP_K = 4  # concentration ratios report the top four firms' share (CR4)
MIN_STAR_NODES = 3  # a star, against which centralisation is scaled, needs three nodes


def hhi(sizes: Iterable[float]) -> float:
    """Herfindahl-Hirschman index on the 0-10,000 scale (shares in percent squared).
    0 for an empty or all-zero market."""
    values = [max(0.0, float(s)) for s in sizes]
    total = sum(values)
    if total <= 0:
        return 0.0
    return sum((PERCENT * v / total) ** 2 for v in values)


def top_k_share(sizes: Iterable[float], k: int = TOP_K) -> float:
    values = sorted((max(0.0, float(s)) for s in sizes), reverse=True)
    total = sum(values)
    if total <= 0:
        return 0.0
    return sum(values[:k]) / total


def hhi_after_merger(sizes: Mapping[object, float], a: object, b: object) -> tuple[float, float]:
    """HHI before and after firms ``a`` and ``b`` combine."""
    before = hhi(sizes.values())
    merged = {k: v for k, v in sizes.items() if k not in (a, b)}
    merged[a] = sizes.get(a, 0.0) + sizes.get(b, 0.0)
    return before, hhi(merged.values())


def merger_blocked(
    sizes: Mapping[object, float], a: object, b: object, threshold: float, delta: float
) -> tuple[bool, float, float]:
    """The merger-review rule: block when the post-merger HHI exceeds ``threshold``
    and the merger raises it by more than ``delta``. Returns (blocked, hhi_after, rise)."""
    before, after = hhi_after_merger(sizes, a, b)
    rise = after - before
    return (after > threshold and rise > delta), after, rise


def degree_centralisation(degrees: Iterable[int]) -> float:
    """Freeman degree centralisation: 1 for a star, 0 when all degrees are equal."""
    d = list(degrees)
    n = len(d)
    if n < MIN_STAR_NODES:
        return 0.0
    top = max(d)
    return sum(top - x for x in d) / ((n - 1) * (n - 2))


def growth_factor(series: list[float], months: int = 12) -> float:
    """Ratio of the last value to the value ``months`` earlier (nan if not available)."""
    if len(series) <= months or series[-1 - months] <= 0:
        return float("nan")
    return series[-1] / series[-1 - months]
