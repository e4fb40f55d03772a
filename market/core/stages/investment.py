"""4. Investment: providers review what they are building and have on order (finish,
pause or cancel; take, defer or cancel chips); firms that build decide on new sites
(``Firm.planned_build_h100e``); owners fill spare power with chips worth ordering;
chip suppliers reprice and plan output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.core import building

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_investment(model: ComputeMarket) -> None:
    # each firm's recent utilisation is kept while the stage runs (``Firm.recent_utilisation``)
    model.utilisation_kept = {}
    model.appraisal.keep_scan(True)
    try:
        invest(model)
    finally:
        model.utilisation_kept = None
        model.appraisal.keep_scan(False)


def invest(model: ComputeMarket) -> None:
    orders = building.orders_by_site(model)
    # chip prices hold still until the suppliers reprice, after the firms
    model.tech.keep_chip_prices(True)
    try:
        firms_invest(model, orders)
    finally:
        model.tech.keep_chip_prices(False)
    for s in model.suppliers():
        s.step_investment()


def firms_invest(model: ComputeMarket, orders: dict) -> None:
    for firm in model.firms():
        if firm.reviews_investments():
            building.review_investments(model, firm, orders)
    for firm in model.firms():
        h100e = firm.planned_build_h100e()
        if h100e > 0:
            building.start_build(model, firm, h100e)
    for firm in model.firms():
        firm.top_up_chips()
