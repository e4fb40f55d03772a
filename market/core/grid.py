"""The power grid: each region connects new sites first come, first served."""

from __future__ import annotations

import math

# the online month of a site whose grid connection never comes
NEVER_MONTH = 10**9


class Region:
    """Grid connections are granted first come, first served, at a monthly rate that
    starts at the region's ``grid_mw_per_year`` / 12 and grows by ``growth`` a year
    (1: the same MW every year); none is ready sooner than ``min_wait_months``."""

    def __init__(
        self, spec: dict, multiplier: float, growth: float = 1.0, min_wait_months: int = 0
    ) -> None:
        self.name = spec["name"]
        self.power_price_usd_per_mwh = spec["power_price_usd_per_mwh"]
        self.mw_per_month = spec["grid_mw_per_year"] * multiplier / 12.0  # at month 0
        self.growth = growth
        self.min_wait_months = min_wait_months
        self.queue_clears_month = self.finish(0.0, spec["queue_mw"])

    def rate_mw_per_month(self, month: float) -> float:
        return self.mw_per_month * self.growth ** (month / 12.0)

    def finish(self, start: float, mw: float) -> float:
        """Month by which ``mw`` more are connected, connecting from ``start`` on."""
        if self.mw_per_month <= 0:
            return math.inf
        if self.growth == 1.0:
            return start + mw / self.mw_per_month
        # the MW connected from start to t are the integral of the rate, r e^(k u) du,
        # so t = start + ln(1 + mw k e^(-k start) / r) / k; a shrinking grid (k < 0)
        # never connects more than r e^(k start) / -k
        k = math.log(self.growth) / 12.0
        try:
            inner = 1.0 + mw * k / self.mw_per_month * math.exp(-k * start)
        except OverflowError:
            return math.inf
        return start + math.log(inner) / k if inner > 0 else math.inf

    def queue_mw(self, month: int) -> float:
        """MW booked ahead of a request made in ``month``."""
        if math.isinf(self.queue_clears_month):
            return math.inf
        if self.queue_clears_month <= month:
            return 0.0
        if self.growth == 1.0:
            return (self.queue_clears_month - month) * self.mw_per_month
        k = math.log(self.growth) / 12.0
        return self.rate_mw_per_month(month) * math.expm1(k * (self.queue_clears_month - month)) / k

    def ready_month(self, month: int, mw: float) -> float:
        start = max(float(month), self.queue_clears_month)
        return max(self.finish(start, mw), month + self.min_wait_months)

    def book(self, month: int, mw: float) -> int:
        ready = self.ready_month(month, mw)
        if math.isfinite(ready):
            self.queue_clears_month = self.finish(max(float(month), self.queue_clears_month), mw)
        return math.ceil(ready) if math.isfinite(ready) else NEVER_MONTH
