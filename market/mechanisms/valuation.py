"""Money bounded by value: raises bounded by a valuation, borrowing against owned sites
and contracted revenue, loans drawn as the money is spent.

A lab's valuation is a multiple of its annual revenue times investor sentiment; one
round sells at most a declared share of it. A firm can borrow up to a loan-to-value
share of the sites it owns plus an advance rate on the revenue its signed contracts
still owe it, less what it already owes. A loan for a build is a commitment drawn as
the capex is spent (building month by month, chips on delivery), not paid out at
signing. Plain functions; no model. Money in USD.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.io.params import Param

# its parameters are declared in market.io.params: ``site_loan_to_value`` and
# ``secured_borrow_months_of_burn`` are new; the round's share of the valuation is the
# model's ``raise_max_share_of_valuation`` (proposed here once as
# ``max_raise_share_of_valuation``), the revenue multiple ``valuation_revenue_multiple``
# and the advance on contracted revenue ``debt_advance_rate``.
PARAMS: tuple[Param, ...] = ()


def valuation_usd(
    annual_revenue_usd: float, revenue_multiple: float, sentiment_multiplier: float
) -> float:
    """What investors think a lab is worth: annual revenue times a revenue multiple
    times the mood (winter < 1 < boom). Never negative."""
    return (
        max(0.0, annual_revenue_usd) * max(0.0, revenue_multiple) * max(0.0, sentiment_multiplier)
    )


def raise_amount_usd(wanted_usd: float, valuation: float, max_share: float) -> float:
    """A round is what the lab wants, bounded by ``max_share`` of its valuation."""
    return max(0.0, min(wanted_usd, max_share * valuation))


def borrowing_capacity_usd(
    *,
    owned_site_value_usd: float,
    contracted_revenue_usd: float,
    existing_debt_usd: float,
    loan_to_value: float,
    advance_rate: float,
) -> float:
    """How much more a firm can borrow: ``loan_to_value`` of its owned sites plus
    ``advance_rate`` of the revenue its signed contracts still owe it, less its debt.
    ``advance_rate`` is the model's declared ``debt_advance_rate`` (K3, C8)."""
    base = loan_to_value * max(0.0, owned_site_value_usd) + advance_rate * max(
        0.0, contracted_revenue_usd
    )
    return max(0.0, base - max(0.0, existing_debt_usd))


@dataclass
class CreditLine:
    """A loan commitment drawn as spending happens. ``debt_share`` of each payment is
    drawn from the line (until it is used up), the rest comes from the firm's cash."""

    committed_usd: float
    debt_share: float
    drawn_usd: float = 0.0

    @property
    def undrawn_usd(self) -> float:
        return max(0.0, self.committed_usd - self.drawn_usd)

    def draw(self, spending_usd: float) -> tuple[float, float]:
        """Fund a payment: (drawn from the line, paid from cash); the two sum to the
        payment."""
        if spending_usd < 0:
            raise ValueError("spending cannot be negative")
        drawn = min(self.undrawn_usd, self.debt_share * spending_usd)
        self.drawn_usd += drawn
        return drawn, spending_usd - drawn
