"""3. Contracting: labs, in a random order each month, ask the sellers they know plus
a few discovered ones for quotes on their gap; each lab chooses among the quotes
(``Lab.accept``) and signs; prices split the surplus between ask and reservation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import Firm
from agents.base import quiet_key
from market.core import contracting
from market.io.records import RFQ, Origin, Quote

if TYPE_CHECKING:
    from agents import Lab
    from market.core.model import ComputeMarket


def stage_contracting(model: ComputeMarket) -> None:
    # while the stage runs, sellers keep their free capacity per window
    model.begin_quoting()
    try:
        contract_round(model)
    finally:
        model.end_quoting()


def contract_round(model: ComputeMarket) -> None:
    sellers = [f for f in model.firms() if f.facilities or f.builds_to_suit]
    share = contracting.seller_power(model)
    for f in sellers:
        f.unquoted_h100e *= model.p.unquoted_memory
    labs = model.labs()
    discovered = min(model.p.discovered_sellers, len(sellers))
    # buyers take turns in a random order each month, so no lab always asks first
    for i in model.rng.permutation(len(labs)).tolist():
        lab = labs[i]
        contracting.review_contracts(model, lab, share)
        lab.try_start_run()
        rfqs = lab.requests()
        if not rfqs:
            continue
        asked = sellers_asked(model, lab, sellers, discovered)
        for rfq in rfqs:
            quotes = gather_quotes(model, asked, rfq)
            for q, take, price in lab.accept(rfq, quotes, share):
                contracting.sign(model, lab, q, take, price, rfq.purpose, Origin.NEGOTIATED)
        lab.try_start_run()


def gather_quotes(model: ComputeMarket, asked: list[Firm], rfq: RFQ) -> list[Quote]:
    """``[q for seller in asked for q in seller.quotes(rfq)]``, without asking the sellers
    known to quote nothing: a seller whose ``no_quote_bars`` hold a month after the
    request's latest start for requests like it (with its reservation inputs as they
    were, if kept) has no room over the request's window, or none spare, and cannot
    build in time, so it only counts the request as unquoted."""
    h100e = rfq.capacity_h100e
    if h100e <= 0:
        return [q for seller in asked for q in seller.quotes(rfq)]
    key, latest, buyer_id = quiet_key(model.quote_epoch, rfq), rfq.latest_start, rfq.buyer_id
    quotes: list[Quote] = []
    for seller in asked:
        bar = seller.no_quote_bars.get(key)
        if (
            bar is not None
            and latest < bar[0]
            and seller.unique_id != buyer_id
            and (bar[1] is None or bar[1] == seller.reservation_inputs())
        ):
            seller.unquoted_h100e += h100e
        else:
            quotes += seller.quotes(rfq)
    return quotes


def sellers_asked(model: ComputeMarket, lab: Lab, sellers: list[Firm], k: int) -> list[Firm]:
    """The lab's acquaintances that sell compute, and ``k`` more of ``sellers`` drawn at
    random (``discovered_sellers``, at most all of them), in the order of their ids."""
    firm = model.firm
    asked: dict[int, Firm] = {}
    for i in model.network.neighbours(lab.unique_id):
        f = firm(i)
        if isinstance(f, Firm):
            asked[i] = f
    if k:
        for i in model.rng.choice(len(sellers), size=k, replace=False).tolist():
            f = sellers[i]
            asked[f.unique_id] = f
    return [asked[i] for i in sorted(asked)]
