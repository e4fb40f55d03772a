"""Neoclouds: fast builders that borrow against signed contracts."""

from __future__ import annotations

from agents.base import Firm
from agents.world import World
from market.io.records import HOURS_PER_MONTH, Facility, FirmKind, Loan
from market.mechanisms import finance


class Neocloud(Firm):
    kind = FirmKind.NEOCLOUD
    builds_to_suit = True

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model, name, spec)
        self.debt_rate = model.p.base_rate + model.p.neocloud_spread_speculative
        if spec.get("debt_usd", 0.0) > 0:
            self.loans.append(
                Loan(
                    principal_usd=float(spec["debt_usd"]),
                    annual_rate=self.debt_rate,
                    repay_from_month=0,
                    covenanted=False,  # debt at the start: its covenants are not known
                )
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
        capex = self.build_capex_usd(h100e)
        contract_value = h100e * price * HOURS_PER_MONTH * term
        p = self.model.p
        debt = min(capex * (1 - p.neocloud_equity_share), p.debt_advance_rate * contract_value)
        return self.free_cash_usd() >= capex - debt

    def may_finance(self, h100e: float) -> bool:
        """Lenders advance at most (1 - equity share) of the capex: without the cash for
        the rest, no contract finances the build (the debt ``can_finance`` counts is
        never more, so the cash it asks for never less)."""
        capex = self.build_capex_usd(h100e)
        return self.free_cash_usd() >= capex - capex * (1 - self.model.p.neocloud_equity_share)

    def finance_build(
        self,
        building_usd: float,
        total_capex_usd: float,
        contract_value_usd: float,
        buyer_credit: float,
        site: Facility | None = None,
    ) -> Loan | None:
        """Lenders commit up to (1 - equity share) of the whole build, chips included,
        but no more than a share of the signed contract's value. The loan is drawn as the
        site's payments fall due (the building now, the chips on delivery), not paid
        out at signing."""
        p = self.model.p
        debt = min(
            total_capex_usd * (1 - p.neocloud_equity_share),
            p.debt_advance_rate * contract_value_usd,
        )
        spread = finance.neocloud_spread(
            buyer_credit, p.neocloud_spread_investment_grade, p.neocloud_spread_speculative
        )
        rate = p.base_rate + spread
        total = self.debt_usd + self.undrawn_usd() + debt
        if total > 0:  # the book's average rate, weighted by principal and commitments
            self.debt_rate = (
                self.debt_rate * (self.debt_usd + self.undrawn_usd()) + rate * debt
            ) / total
        loan = None if site is None else self.open_build_loan(site, debt, total_capex_usd, rate)
        if loan is not None and site is not None:
            self.draw_loans(site.facility_id, building_usd)
        self.model.ledger.pay(self, None, building_usd, "capex")
        return loan
