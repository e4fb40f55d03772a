"""A declared, slowing path of chip efficiency per generation.

Each chip generation fits more H100e in a MW and costs less per H100e than the last,
but the gains shrink: the excess of a generation's gain over 1 halves every
``halving_generations`` generations. The cumulative gain therefore converges to a
finite limit instead of compounding without end (1.6x a generation for 25 generations
would be 127,000x), so a 50-year run keeps prices meaningful. Optionally generations
also come further apart. Plain functions; no model.
"""

from __future__ import annotations

import math

from market.io.params import Param

HALF = 0.5  # the excess gain halves every ``halving_generations``: a definition

# declared in market.io.params (the investment and demand block)
PARAMS: tuple[Param, ...] = ()


def generation_gain(first_gain: float, generation: int, halving_generations: float) -> float:
    """Gain of ``generation`` over the one before it (generation 1 gains ``first_gain``;
    generation 0 is the reference and gains nothing)."""
    if first_gain < 1.0:
        raise ValueError("a generation cannot be worse than the last")
    if generation <= 0:
        return 1.0
    return 1.0 + (first_gain - 1.0) * HALF ** ((generation - 1) / halving_generations)


def cumulative_gain(first_gain: float, generation: int, halving_generations: float) -> float:
    """Gain of ``generation`` over generation 0: the product of the gains on the way."""
    out = 1.0
    for g in range(1, generation + 1):
        out *= generation_gain(first_gain, g, halving_generations)
    return out


def gain_limit(first_gain: float, halving_generations: float) -> float:
    """An upper bound of ``cumulative_gain`` over all generations:
    exp(sum of the excesses) = exp((first_gain - 1) / (1 - 0.5 ** (1 / halving)))."""
    decay = HALF ** (1.0 / halving_generations)
    return math.exp((first_gain - 1.0) / (1.0 - decay))


def generation_at(
    month: int, first_month: int, interval_months: float, interval_growth: float = 1.0
) -> int:
    """Generation on sale at ``month``: 0 before ``first_month``, 1 from it, then one
    more after each interval, each ``interval_growth`` times longer than the one
    before (with growth 1 this is the model's steady cadence)."""
    if month < first_month:
        return 0
    gen, start, gap = 1, float(first_month), float(interval_months)
    while start + gap <= month:
        start += gap
        gap *= interval_growth
        gen += 1
    return gen
