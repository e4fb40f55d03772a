"""Hyperscalers: slow, cheap builders funded by other businesses' cash flow."""

from __future__ import annotations

from agents.base import Firm
from market.io.records import FirmKind


class Hyperscaler(Firm):
    kind = FirmKind.HYPERSCALER
    builds_to_suit = True
    long_term_chip_deals = True

    def __init__(self, model, name: str, spec: dict) -> None:
        super().__init__(model, name, spec)
        self.outside_cash_flow_usd_per_month = float(spec.get("outside_cash_flow_usd_per_month", 0))

    def build_months(self) -> int:
        return self.model.p.build_months_hyperscaler

    def step_settlement(self) -> None:
        super().step_settlement()
        if self.outside_cash_flow_usd_per_month:
            self.model.ledger.pay(
                None,
                self,
                self.outside_cash_flow_usd_per_month * self.cash_flow_growth(),
                "outside cash flow",
            )

    def cash_flow_growth(self) -> float:
        """Factor on the scenario's outside cash flow this month."""
        return self.model.p.hyperscaler_cash_flow_growth_per_year ** (self.model.month / 12.0)
