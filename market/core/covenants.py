"""Loan covenants: each month the lenders of every neocloud test its covenants, and a
breach accelerates its loans (the whole debt falls due at once).

The test (``default_claims.check_covenants``) covers the firm's covenanted loans whose
repayment has started (a site's loan is tested once the site earns; debt a scenario
starts with carries no covenants the model knows):

- contract cover: the take-or-pay payments still due under the contracts it sells,
  within ``debt_term_months``, must be at least ``covenant_min_contract_cover`` times
  that debt;
- leverage: that debt at most ``covenant_max_leverage`` times the value of its sites
  (``lifecycle.site_value_usd``, the value the auctions start from).

On a breach the firm repays its whole debt ("loan repayment") from cash, selling
sites at auction first when its cash falls short and its sites, at their distressed
value, cover the rest; otherwise it defaults and exits (``lifecycle.exit_firm``), and
its lenders claim on its estate, secured on its sites (``market.core.estate``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import Neocloud
from market.io.records import HOURS_PER_MONTH
from market.mechanisms import default_claims

if TYPE_CHECKING:
    from market.core.model import ComputeMarket

BILLION = 1e9  # events state money in billions of USD
DEBT_TESTED_FROM_USD = 1.0  # below a dollar of tested debt is rounding: nothing to test


def review(model: ComputeMarket) -> None:
    """Test every neocloud's covenants; accelerate the loans of each that breaches."""
    for firm in model.of_type(Neocloud):
        test = covenant_test(model, firm)
        if test is not None and test.breached:
            accelerate(model, firm, test)


def tested_debt_usd(model: ComputeMarket, firm: Neocloud) -> float:
    """Principal of the covenanted loans whose repayment has started."""
    return sum(
        loan.principal_usd
        for loan in firm.loans
        if loan.covenanted and model.month >= loan.repay_from_month
    )


def contracted_revenue_usd(model: ComputeMarket, firm) -> float:
    """Take-or-pay payments still due under the contracts the firm sells, from next
    month and within ``debt_term_months`` (the loan's life)."""
    horizon = model.month + 1 + model.p.debt_term_months
    total = 0.0
    for c in model.book.sold_view(firm.unique_id):
        months = min(c.end_month, horizon) - max(model.month + 1, c.start_month)
        if months > 0:
            total += (
                c.capacity_h100e
                * c.price_usd_per_h100e_hour
                * c.take_or_pay_share
                * HOURS_PER_MONTH
                * months
            )
    return total


def covenant_test(model: ComputeMarket, firm: Neocloud) -> default_claims.CovenantTest | None:
    """This month's test of the firm's covenants; None when no tested loan is left."""
    from market.core.lifecycle import site_value_usd

    debt = tested_debt_usd(model, firm)
    if debt <= DEBT_TESTED_FROM_USD:
        return None
    p = model.p
    return default_claims.check_covenants(
        debt_usd=debt,
        contracted_revenue_usd=contracted_revenue_usd(model, firm),
        asset_value_usd=sum(site_value_usd(model, f) for f in firm.facilities),
        min_contract_cover=p.covenant_min_contract_cover,
        max_leverage=p.covenant_max_leverage,
    )


def _breach_text(model: ComputeMarket, test: default_claims.CovenantTest) -> str:
    p, parts = model.p, []
    if "contract cover" in test.breaches:
        parts.append(
            f"contract cover {test.contract_cover:.2f} < {p.covenant_min_contract_cover:g}"
        )
    if "leverage" in test.breaches:
        parts.append(f"leverage {test.leverage:.2f} > {p.covenant_max_leverage:g}")
    return ", ".join(parts)


def accelerate(model: ComputeMarket, firm: Neocloud, test: default_claims.CovenantTest) -> None:
    """The lenders call every loan of the firm. It repays from cash; if short and its
    sites, at their distressed value, cover the rest, it sells sites at auction (its
    largest first) until it can; otherwise, or if the sales fetch too little, it
    defaults and exits."""
    from market.core.lifecycle import auction_site, exit_firm, site_value_usd

    model.counters["covenant_breaches"] += 1
    debt = firm.debt_usd
    discount = 1.0 - model.p.distressed_asset_discount
    values = {f.facility_id: site_value_usd(model, f) * discount for f in firm.facilities}
    _, defaults = default_claims.accelerate(
        cash_usd=firm.cash_usd, debt_usd=debt, sellable_assets_usd=sum(values.values())
    )
    text = f"lenders accelerate {firm.name}'s loans of ${debt / BILLION:,.2f}B ({_breach_text(model, test)})"
    sold = 0
    if not defaults:
        for f in sorted(firm.facilities, key=lambda f: (-values[f.facility_id], f.facility_id)):
            if firm.cash_usd >= debt:
                break
            auction_site(model, firm, f)
            sold += 1
    if firm.cash_usd >= debt:
        model.ledger.pay(firm, None, debt, "loan repayment")
        firm.debt_usd = 0.0
        how = f"selling {sold} site{'s' if sold != 1 else ''} and " if sold else ""
        model.log("covenant", f"{text}; {firm.name} repays them {how}from its cash", firm.name)
        return
    short = debt - max(0.0, firm.cash_usd)
    model.log(
        "covenant", f"{text}; {firm.name} is ${short / BILLION:,.2f}B short and defaults", firm.name
    )
    model.counters["defaults"] += 1
    exit_firm(model, firm, "defaults on its accelerated loans")
