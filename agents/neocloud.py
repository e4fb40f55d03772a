"""Neoclouds: fast builders that borrow against signed contracts."""

from __future__ import annotations

from agents.base import Firm
from agents.world import World
from market.io.records import HOURS_PER_MONTH, FirmKind, Loan
from market.mechanisms import finance, pricing


class Neocloud(Firm):
    kind = FirmKind.NEOCLOUD
    builds_to_suit = True

    def __init__(self, model: World, name: str, spec: dict) -> None:
        self.loans: list[Loan] = []
        super().__init__(model, name, spec)
        self.debt_rate = model.p.base_rate + model.p.neocloud_spread_speculative
        if spec.get("debt_usd", 0.0) > 0:
            self.loans.append(
                Loan(
                    principal_usd=float(spec["debt_usd"]),
                    annual_rate=self.debt_rate,
                    repay_from_month=0,
                )
            )

    @property
    def debt_usd(self) -> float:
        return sum(loan.principal_usd for loan in self.loans)

    @debt_usd.setter
    def debt_usd(self, value: float) -> None:
        # an acquirer takes over the debt as one loan at the book's average rate
        self.loans = (
            [
                Loan(
                    principal_usd=value,
                    annual_rate=self.debt_rate,
                    repay_from_month=self.model.month,
                )
            ]
            if value > 0
            else []
        )

    def build_months(self) -> int:
        return self.model.p.build_months_neocloud

    def annual_rate(self) -> float:
        return self.debt_rate

    def wants_long_terms(self) -> bool:
        """Its lenders lend against contract cover: it asks for as long a term as the
        buyer accepts."""
        return True

    def build_debt_share_and_cover(self) -> tuple[float, float]:
        """Lenders fund all but the equity share, advancing ``debt_advance_rate`` of the
        signed contract's value: they require contract value of 1 / that rate per
        dollar lent."""
        p = self.model.p
        if p.debt_advance_rate <= 0:
            return 0.0, 0.0
        return 1.0 - p.neocloud_equity_share, 1.0 / p.debt_advance_rate

    def can_finance(self, h100e: float, price: float, term: int, buyer_credit: float) -> bool:
        """Lenders advance a share of the signed contract's revenue; the rest is equity."""
        capex = self.model.tech.build_cost_usd(self, h100e)
        contract_value = h100e * price * HOURS_PER_MONTH * term
        p = self.model.p
        debt = min(capex * (1 - p.neocloud_equity_share), p.debt_advance_rate * contract_value)
        return self.free_cash_usd() >= capex - debt

    def finance_build(
        self,
        building_usd: float,
        total_capex_usd: float,
        contract_value_usd: float,
        buyer_credit: float,
    ) -> None:
        """Lenders advance up to (1 - equity share) of the whole build, chips included,
        but no more than a share of the signed contract's value."""
        p = self.model.p
        debt = min(
            total_capex_usd * (1 - p.neocloud_equity_share),
            p.debt_advance_rate * contract_value_usd,
        )
        spread = finance.neocloud_spread(
            buyer_credit, p.neocloud_spread_investment_grade, p.neocloud_spread_speculative
        )
        rate = p.base_rate + spread
        total = self.debt_usd + debt
        if total > 0:  # the book's average rate, weighted by principal
            self.debt_rate = (self.debt_rate * self.debt_usd + rate * debt) / total
        # interest only while the site is built; repayment starts when it earns
        self.loans.append(
            Loan(
                principal_usd=debt,
                annual_rate=rate,
                repay_from_month=self.model.month + self.build_months(),
            )
        )
        self.model.ledger.pay(None, self, debt, "loan")
        self.model.ledger.pay(self, None, building_usd, "capex")

    def step_settlement(self) -> None:
        """Interest on every loan; repayment of principal on loans past their grace."""
        super().step_settlement()
        service = 0.0
        term = self.model.p.debt_term_months
        for loan in self.loans:
            principal, rate = loan.principal_usd, loan.annual_rate
            interest = principal * rate / 12.0
            if self.model.month >= loan.repay_from_month:
                payment = pricing.annuity_usd_per_month(principal, rate, term)
                loan.principal_usd = max(0.0, principal - (payment - interest))
                service += payment
            else:
                service += interest
        self.loans = [loan for loan in self.loans if loan.principal_usd > 1.0]
        if service > 0:
            self.model.ledger.pay(self, None, service, "debt service")
