"""What an agent may see of the market: a narrow typed interface.

Agents are handed the model as a ``World``; they read the month, the parameters and
the market's prices through it, ask the contract book, pay through the ledger and
ask the technology service for costs, and never reach into the model's module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from market.io.records import ChipOrder, Contract, Facility, Parameters


class Book(Protocol):
    def sold_by(self, firm_id: int) -> list[Contract]: ...
    def bought_by(self, firm_id: int) -> list[Contract]: ...
    def sold_view(self, firm_id: int) -> Iterable[Contract]: ...
    def bought_view(self, firm_id: int) -> Iterable[Contract]: ...
    def at_site_view(self, site_id: int) -> Iterable[Contract]: ...
    def committed_h100e(self, site_id: int, start: int, end: int) -> float: ...


class Payments(Protocol):
    def pay(self, payer: Any, payee: Any, amount: float, memo: str) -> None: ...


class Costs(Protocol):
    generation: int

    def h100e_per_mw(self, generation: int) -> float: ...
    def density_now(self) -> float: ...
    def merchant_price_usd_per_h100e(self) -> float: ...
    def best_chip_price(self, firm: Any) -> float: ...
    def build_cost_usd(self, firm: Any, h100e: float) -> float: ...
    def facility_opex_usd(self, f: Facility) -> float: ...
    def cost_floor_usd_per_h100e_hour(
        self,
        *,
        chip_cost_usd_per_h100e: float,
        h100e_per_mw: float,
        region: str,
        annual_rate: float,
        credit_premium: float = 0.0,
    ) -> float: ...


class Grid(Protocol):
    power_price_usd_per_mwh: float

    def ready_month(self, month: int, mw: float) -> float: ...


class World(Protocol):
    """The model as the agents see it."""

    p: Parameters
    month: int
    book: Book
    ledger: Payments
    tech: Costs
    regions: Mapping[str, Grid]
    default_region: str
    spot_index: float
    tightness: float
    scarcity_markup: float
    demand_h100e: float
    quote_epoch: int

    @property
    def leader_capability(self) -> float: ...

    def log(self, kind: str, text: str, *actors: str) -> None: ...
    def record_run(self, lab: Any, h100e_months: float) -> None: ...
    def demand_forecast_h100e(self, months_ahead: int) -> float: ...
    def largest_last_run_h100e_months(self, exclude: int | None = None) -> float: ...
    def frontier_growth_per_year(self) -> float: ...
    def order_chips(self, firm: Any, f: Facility, h100e: float) -> None: ...
    def order_alive(self, o: ChipOrder) -> bool: ...
    def deliver_chips(self, supplier: Any, o: ChipOrder, h100e: float) -> None: ...
