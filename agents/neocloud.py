"""Neoclouds: fast builders that borrow against signed contracts."""

from __future__ import annotations

from agents.base import Firm
from market import finance, pricing


class Neocloud(Firm):
    kind = "neocloud"
    builds_to_suit = True
    equity_share = 0.2  # of a build's cost paid from the neocloud's own cash

    def __init__(self, model, name: str, spec: dict) -> None:
        super().__init__(model, name, spec)
        self.debt_usd = float(spec.get("debt_usd", 0.0))
        self.debt_rate = model.p["base_rate"] + model.p["neocloud_spread_speculative"]

    def build_months(self) -> int:
        return self.model.p["build_months_neocloud"]

    def annual_rate(self) -> float:
        return self.debt_rate

    def can_finance(self, h100e: float, price: float, term: int, buyer_credit: float) -> bool:
        """Lenders advance a share of the signed contract's revenue; the rest is equity."""
        capex = self.model.build_cost_usd(self, h100e)
        contract_value = h100e * price * 730.0 * term
        debt = min(capex * (1 - self.equity_share), self.model.p["debt_advance_rate"] * contract_value)
        return self.cash_usd >= capex - debt

    def finance_build(self, capex_usd: float, contract_value_usd: float, buyer_credit: float) -> None:
        p = self.model.p
        debt = min(capex_usd * (1 - self.equity_share), p["debt_advance_rate"] * contract_value_usd)
        spread = finance.neocloud_spread(buyer_credit, p["neocloud_spread_investment_grade"],
                                         p["neocloud_spread_speculative"])
        rate = p["base_rate"] + spread
        # the blended rate of the whole book, weighted by principal
        total = self.debt_usd + debt
        if total > 0:
            self.debt_rate = (self.debt_rate * self.debt_usd + rate * debt) / total
        self.debt_usd = total
        self.model.pay(None, self, debt, "loan")
        self.model.pay(self, None, capex_usd, "capex")

    def debt_service_usd(self) -> float:
        if self.debt_usd <= 0:
            return 0.0
        return pricing.annuity_usd_per_month(self.debt_usd, self.debt_rate,
                                             self.model.p["debt_term_months"])

    def step_settlement(self) -> None:
        super().step_settlement()
        service = self.debt_service_usd()
        if service > 0:
            interest = self.debt_usd * self.debt_rate / 12.0
            self.debt_usd = max(0.0, self.debt_usd - (service - interest))
            self.model.pay(self, None, service, "debt service")
