"""7. Settlement: spot and contract payments, revenue, running costs and debt service;
declared interventions (``market.core.interventions``), loan covenants
(``market.core.covenants``), then money, failure and consolidation
(``market.core.lifecycle``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.broker import Broker
from market.core import covenants, interventions, lifecycle
from market.io.records import HOURS_PER_MONTH, ContractState

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def stage_settlement(model: ComputeMarket) -> None:
    pay_spot(model)
    for broker in model.of_type(Broker):  # a dealer's month: what it resold of its holdings
        broker.close_month()
    pay_contracts(model)
    for firm in model.firms() + model.suppliers():
        if hasattr(firm, "step_settlement"):
            firm.step_settlement()
    for broker in model.of_type(Broker):  # brokers' running costs
        broker.step_settlement()
    for broker in model.of_type(Broker):  # a dealer out of cash leaves like any firm
        if broker.is_dealer and broker.cash_usd < 0:
            lifecycle.exit_firm(model, broker, "runs out of cash and exits")
    for firm in model.firms():
        firm.note_burn(model.ledger.net_out_usd(firm))
    interventions.apply(model)  # declared forced exits
    covenants.review(model)  # neocloud loan covenants; a breach accelerates the loans
    lifecycle.settle(model)


def pay_contracts(model: ComputeMarket) -> None:
    """Each active contract with something delivered is paid, in id order. A buyer's
    used share is read once: payments move cash, never what a buyer used (nor who is
    in the market), so the payments are worked out first and then made in order."""
    firm_of, month = model.firm, model.month
    used: dict[int, tuple] = {}  # buyer id -> (buyer, its used share)
    sellers: dict[int, Any] = {}
    payments = []
    for c in model.book.in_state(ContractState.ACTIVE):
        if c.delivered_h100e <= 0:
            continue
        kept = used.get(c.buyer_id)
        if kept is None:
            buyer = firm_of(c.buyer_id)
            kept = used[c.buyer_id] = (buyer, buyer.used_share())
        buyer, share = kept
        amount = c.monthly_payment_usd(month, c.delivered_h100e, share)
        c.paid_usd += amount
        seller = sellers.get(c.seller_id)
        if seller is None:
            seller = sellers[c.seller_id] = firm_of(c.seller_id)
        payments.append((buyer, seller, amount))
    model.ledger.pay_each(payments, "contract")


def pay_spot(model: ComputeMarket) -> None:
    """Buyers in id order pay sellers in id order, each seller until what it sold is
    paid for: one pass over both lists."""
    result = model.spot_result
    if result is None or result.volume_h100e <= 0 or result.price_usd_per_h100e_hour is None:
        return
    price = result.price_usd_per_h100e_hour
    sellers = sorted(result.sold.items())
    left_to_sell = [q for _, q in sellers]
    j = 0
    for buyer_id, q in sorted(result.bought.items()):
        buyer = model.firm(buyer_id)
        left = q
        while j < len(sellers):
            take = min(left, left_to_sell[j])
            if take <= 0:
                j += 1
                continue
            model.ledger.pay(
                buyer, model.firm(sellers[j][0]), take * price * HOURS_PER_MONTH, "spot"
            )
            left_to_sell[j] -= take
            left -= take
            if left <= 1e-9:
                break
