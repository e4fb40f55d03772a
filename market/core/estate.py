"""What an exiting firm leaves: its estate paid out to its creditors in a declared order.

When a firm exits (``lifecycle.exit_firm``), before its purchases end, each seller
files a claim for every contract the firm walks away from (``termination_claim_usd``).
The firm's sites are then auctioned and the proceeds come to the firm. Its estate, its
cash (if any) and the proceeds, is paid out by absolute priority
(``default_claims.waterfall``):

1. its lenders, secured on its sites up to what they fetched at auction;
2. pro rata, every unsecured amount: the lenders' unsecured rest, the sellers'
   contract claims and the firm's overdraft (cash below zero: bills it could not pay);
3. what is left goes to its owners (equity), outside the market.

Every claimant writes off the rest. Payments go through the ledger ("estate recovery"
to sellers, "estate to lenders", "estate to equity"); the overdraft's recovery stays in
the firm's account and its unrecovered part is written off with it
(``Ledger.write_off``). Each contract records its claim and recovery (``claim_usd``,
``recovered_usd``, columns of contracts.csv); each seller its write-offs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from market.io.records import ContractState
from market.mechanisms import default_claims

if TYPE_CHECKING:
    from market.core.model import ComputeMarket
    from market.io.records import Contract

LENDERS = "lenders"
OVERDRAFT = "overdraft"
BILLION = 1e9  # events state money in billions of USD


@dataclass
class Estate:
    """The claims on an exiting firm, filed before its contracts end and its sites sell."""

    contracts: list[Contract] = field(default_factory=list)  # contracts it bought, with a claim
    debt_usd: float = 0.0
    cash_usd: float = 0.0  # before its sites are sold (below zero: its overdraft)
    proceeds_usd: float = 0.0  # what its sites fetched at auction (the lenders' collateral)

    @property
    def value_usd(self) -> float:
        """What there is to pay out: its cash, if any, and the auction proceeds."""
        return max(0.0, self.cash_usd) + self.proceeds_usd


def termination_claim_usd(model: ComputeMarket, c: Contract) -> float:
    """The seller's claim for a contract its buyer abandons (its termination payment):
    the take-or-pay payments still due over the capped months (``claim_cap_months``,
    ``claim_cap_share``; the cap stands in for what re-letting recovers, as in the
    lease-rejection cap, so the claim is not reduced further). A cancellable contract's
    claim covers at most its notice period: what the buyer would have owed had it
    cancelled."""
    p = model.p
    months_left = c.end_month - max(model.month + 1, c.start_month)
    if c.cancellation_notice_months > 0:
        months_left = min(months_left, c.cancellation_notice_months)
    return default_claims.termination_claim_usd(
        h100e=c.capacity_h100e,
        price_usd_per_h100e_hour=c.price_usd_per_h100e_hour,
        months_left=months_left,
        take_or_pay_share=c.take_or_pay_share,
        relet_usd_per_h100e_hour=0.0,
        cap_months=p.claim_cap_months,
        cap_share=p.claim_cap_share,
    )


def file_claims(model: ComputeMarket, firm) -> Estate:
    """Before the firm's purchases end: a claim for each one still open."""
    estate = Estate(debt_usd=max(0.0, firm.debt_usd), cash_usd=firm.cash_usd)
    for c in model.book.bought_by(firm.unique_id):
        if c.state == ContractState.ENDED or model.firm(c.seller_id) is None:
            continue
        c.claim_usd = termination_claim_usd(model, c)
        if c.claim_usd > 0:
            estate.contracts.append(c)
    return estate


def pay_out(model: ComputeMarket, firm, estate: Estate) -> default_claims.Waterfall:
    """Pay out the firm's estate by absolute priority and record every recovery and
    write-off; the event says what the creditors got. The overdraft (cash below zero
    before the sites were sold) ranks with the other unsecured claims: the proceeds do
    not pay it first."""
    claims = [default_claims.Claim(LENDERS, estate.debt_usd, estate.proceeds_usd)]
    claims += [default_claims.Claim(str(c.contract_id), c.claim_usd) for c in estate.contracts]
    claims.append(default_claims.Claim(OVERDRAFT, max(0.0, -estate.cash_usd)))
    result = default_claims.waterfall(estate.value_usd, claims)
    lenders, *sellers, _overdraft = result.payouts
    model.ledger.pay(firm, None, lenders.recovered_usd, "estate to lenders")
    firm.debt_usd = 0.0
    for c, payout in zip(estate.contracts, sellers, strict=True):
        c.recovered_usd = payout.recovered_usd
        seller = model.firm(c.seller_id)
        model.ledger.pay(firm, seller, payout.recovered_usd, "estate recovery")
        seller.claims_recovered_usd += payout.recovered_usd
        seller.claims_written_off_usd += payout.written_off_usd
    model.ledger.pay(firm, None, result.equity_usd, "estate to equity")
    _count(model, result)
    _log(model, firm, estate, result)
    return result


def _count(model: ComputeMarket, result: default_claims.Waterfall) -> None:
    """Cumulative claims, recoveries and write-offs of sellers and lenders (the overdraft,
    which the ledger writes off with the firm, is left out)."""
    counted = [pt for pt in result.payouts if pt.holder != OVERDRAFT]
    model.counters["claims_usd"] += sum(pt.claim_usd for pt in counted)
    model.counters["claims_recovered_usd"] += sum(pt.recovered_usd for pt in counted)
    model.counters["claims_written_off_usd"] += sum(pt.written_off_usd for pt in counted)


def _log(model: ComputeMarket, firm, estate: Estate, result: default_claims.Waterfall) -> None:
    lenders, *sellers, _ = result.payouts
    b = BILLION
    text = f"{firm.name}'s estate of ${_estate(result) / b:,.2f}B is paid out"
    parts = []
    if lenders.claim_usd > 0:
        parts.append(
            f"lenders recover ${lenders.recovered_usd / b:,.2f}B of ${lenders.claim_usd / b:,.2f}B"
        )
    by_seller: dict[int, list[float]] = {}
    for c, pt in zip(estate.contracts, sellers, strict=True):
        sums = by_seller.setdefault(c.seller_id, [0.0, 0.0])
        sums[0] += pt.recovered_usd
        sums[1] += pt.claim_usd
    for seller_id, (got, claim) in by_seller.items():
        parts.append(
            f"{model.names_by_id.get(seller_id, seller_id)} recovers ${got / b:,.2f}B of its "
            f"${claim / b:,.2f}B contract claim (${(claim - got) / b:,.2f}B written off)"
        )
    if result.equity_usd > 0:
        parts.append(f"owners get ${result.equity_usd / b:,.2f}B")
    names = [model.names_by_id.get(s, str(s)) for s in by_seller]
    model.log("estate", text + (": " + "; ".join(parts) if parts else ""), firm.name, *names)


def _estate(result: default_claims.Waterfall) -> float:
    return result.recovered_usd + result.equity_usd
