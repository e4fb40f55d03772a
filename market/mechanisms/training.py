"""Frontier training runs: how long a lab trains and how large a cluster it assembles
(pure functions; the lab's decisions are in ``agents.lab``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

MONTHS_PER_YEAR = 12.0


def worthwhile_run_months(compute_growth_per_year: float, shortest: int, longest: int) -> int:
    """The longest run worth training when the compute a run can command grows by
    ``compute_growth_per_year`` (what a lab's budget buys a year later: cheaper chips
    and a larger budget). One more month adds 1/T to a run of T months; starting later
    gains ln(g)/12 a month. Past T = 12 / ln(g) months a run started later would end
    larger at the same date (the argument of Epoch AI's "The longest training run").
    The result lies between ``shortest`` and ``longest``; compute that does not grow
    (g <= 1) gives ``longest``."""
    longest = max(shortest, longest)
    if compute_growth_per_year <= 1.0:
        return longest
    months = MONTHS_PER_YEAR / math.log(compute_growth_per_year)
    return int(min(longest, max(shortest, math.floor(months))))


def run_months(goal_h100e_months: float, cluster_h100e: float, shortest: int, longest: int) -> int:
    """Months a run on ``cluster_h100e`` (effective H100e) takes to reach its goal,
    between ``shortest`` and ``longest``."""
    if cluster_h100e <= 0:
        return longest
    needed = math.ceil(goal_h100e_months / cluster_h100e - 1e-9)
    return int(min(longest, max(shortest, needed)))


@dataclass(frozen=True)
class Cluster:
    """The compute a lab can train one run on: ``h100e`` physical H100e at ``sites``,
    of which a run gets ``efficiency`` (1 at one site; less when sites are linked)."""

    h100e: float
    efficiency: float
    sites: int

    @property
    def effective_h100e(self) -> float:
        return self.h100e * self.efficiency


NO_CLUSTER = Cluster(0.0, 1.0, 0)


def largest_cluster(blocks: Iterable[tuple[str, float]], linked_efficiency: float) -> Cluster:
    """The largest cluster a lab can assemble from its blocks, (region, H100e) per
    site: one site, or every site it holds in one region linked for training, whose
    run gets ``linked_efficiency`` of their compute (the cost of synchronising a run
    across buildings; 0 = runs stay at one site). Linking is chosen only where it
    gives the run more compute than the largest single site."""
    # the best cluster so far as (H100e, efficiency, sites) and what its run gets
    # (``Cluster.effective_h100e``), made a ``Cluster`` once at the end
    best, best_h100e = (0.0, 1.0, 0), 0.0
    by_region: dict[str, list[float]] = {}
    for region, h100e in blocks:
        if h100e <= 0:
            continue
        sizes = by_region.get(region)
        if sizes is None:
            by_region[region] = [h100e]
        else:
            sizes.append(h100e)
        if h100e > best_h100e:
            best, best_h100e = (h100e, 1.0, 1), h100e * 1.0
    if linked_efficiency > 0:
        for sizes in by_region.values():
            if len(sizes) < 2:
                continue
            linked = sum(sizes)
            if linked * linked_efficiency > best_h100e:
                best, best_h100e = (
                    (linked, linked_efficiency, len(sizes)),
                    linked * linked_efficiency,
                )
    return NO_CLUSTER if best[2] == 0 else Cluster(*best)
