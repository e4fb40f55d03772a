"""Credit: money bounded by value (docs/contracts-and-money.md, B5).

Three ways money comes in from investors and lenders, each bounded and each recorded
in the ledger's financing log (``raises.csv``):

- an equity round (``lifecycle.fundraise``) sells at most ``raise_max_share_of_valuation``
  of a lab's valuation, its annual revenue times ``valuation_revenue_multiple`` times
  investor sentiment (``valuation.valuation_usd``);
- a build loan is a facility (``Firm.open_build_loan``): the lenders commit at signing
  and the firm draws a share of each payment for the site as it falls due (the
  building when construction starts, the chips on delivery; ``Firm.draw_loans``);
  interest runs on the drawn part only;
- a firm short of cash borrows against the sites it owns and the revenue its signed
  contracts still owe it (``valuation.borrowing_capacity_usd``), less what it already
  owes or has been promised.

The decisions rest on the plain functions in ``market.mechanisms.valuation``; this module
moves the money through the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from market.io.records import HOURS_PER_MONTH, FacilityStatus, Loan, RaiseRecord
from market.mechanisms import valuation

if TYPE_CHECKING:
    from agents import Firm
    from market.core.model import ComputeMarket
    from market.io.records import Facility


def record(
    model: ComputeMarket,
    firm: Firm,
    kind: str,
    amount_usd: float,
    valuation_usd: float,
    bound_usd: float,
    strategic_usd: float = 0.0,
) -> None:
    """Add a row to the financing log; a raise above its bound is a bug."""
    if amount_usd > bound_usd * (1 + 1e-9) + 1e-6:
        raise AssertionError(
            f"{firm.name} raises ${amount_usd:,.0f} ({kind}) above its bound ${bound_usd:,.0f}"
        )
    model.ledger.raises.append(
        RaiseRecord(
            month=model.month,
            firm=firm.name,
            firm_kind=str(firm.kind),
            kind=kind,
            amount_usd=amount_usd,
            strategic_usd=strategic_usd,
            valuation_usd=valuation_usd,
            bound_usd=bound_usd,
            sentiment=str(model.sentiment),
        )
    )


def record_build_loan(
    model: ComputeMarket, firm: Firm, loan: Loan, total_capex_usd: float, contract_usd: float
) -> None:
    """Log a build loan's commitment against its bound: (1 - ``neocloud_equity_share``) of
    the capex and ``debt_advance_rate`` of the signed contract's value, its collateral."""
    p = model.p
    bound = min(total_capex_usd * (1 - p.neocloud_equity_share), p.debt_advance_rate * contract_usd)
    committed = loan.principal_usd + loan.undrawn_usd
    record(model, firm, "build loan", committed, contract_usd, bound)


# ---------------------------------------------------------------------- borrowing base
def site_value_usd(model: ComputeMarket, f: Facility) -> float:
    """Replacement value of a site: its building and its chips at today's price,
    the chips written down over their useful life."""
    life = model.p.chip_useful_life_months
    price = model.tech.merchant_price_usd_per_h100e()
    chips = sum(
        b.h100e * price * max(0.0, 1.0 - (model.month - b.installed_month) / life) for b in f.chips
    )
    p = model.p
    return f.power_mw * p.facility_cost_usd_per_mw * p.site_building_value_share + chips


def owned_site_value_usd(model: ComputeMarket, firm: Firm) -> float:
    """Replacement value of the sites the firm owns."""
    return sum(
        site_value_usd(model, f) for f in firm.facilities if f.status != FacilityStatus.RETIRED
    )


def contracted_revenue_usd(model: ComputeMarket, firm: Firm) -> float:
    """Revenue the firm's signed, open contracts as a seller still owe it."""
    total = 0.0
    for c in model.book.sold_by(firm.unique_id):
        months = c.end_month - max(model.month, c.start_month)
        if months > 0:
            total += c.capacity_h100e * c.price_usd_per_h100e_hour * HOURS_PER_MONTH * months
    return total


def borrowing_capacity_usd(model: ComputeMarket, firm: Firm) -> tuple[float, float]:
    """(collateral value, how much more the firm can borrow against it): a loan-to-value
    share of its owned sites plus the advance rate on its contracted revenue, less its
    debt and its lenders' undrawn commitments."""
    p = model.p
    sites = owned_site_value_usd(model, firm)
    revenue = contracted_revenue_usd(model, firm)
    room = valuation.borrowing_capacity_usd(
        owned_site_value_usd=sites,
        contracted_revenue_usd=revenue,
        existing_debt_usd=firm.debt_usd + firm.undrawn_usd(),
        loan_to_value=p.site_loan_to_value,
        advance_rate=p.debt_advance_rate,
    )
    return sites + revenue, room


def borrow_against_assets(model: ComputeMarket, firm: Firm) -> float:
    """A firm whose cash went below zero borrows against its sites and contracted
    revenue: enough to cover the gap and ``secured_borrow_months_of_burn`` months of
    its burn, within its borrowing capacity. Returns the amount borrowed."""
    p = model.p
    if firm.cash_usd >= 0 or not hasattr(firm, "loans"):
        return 0.0
    collateral, room = borrowing_capacity_usd(model, firm)
    want = -firm.cash_usd + p.secured_borrow_months_of_burn * max(firm.burn_usd_per_month, 0.0)
    amount = min(want, room)
    if amount < -firm.cash_usd:  # not enough to stay solvent: lenders will not lend
        return 0.0
    firm.loans.append(
        Loan(
            principal_usd=amount,
            annual_rate=p.base_rate + p.neocloud_spread_speculative,
            repay_from_month=model.month,
            borrowing_base=True,
        )
    )
    model.ledger.pay(None, firm, amount, "loan")
    record(model, firm, "secured loan", amount, collateral, room)
    model.log(
        "loan",
        f"{firm.name} borrows ${amount / 1e9:,.2f}B against its sites and contracts "
        f"(room ${room / 1e9:,.2f}B)",
        firm.name,
    )
    return amount
