"""Chip suppliers: merchant GPU vendors and captive ASIC programs."""

from __future__ import annotations

import mesa

from agents.world import World
from market.io.records import ChipOrder, FirmKind
from market.mechanisms import chips


class ChipSupplier(mesa.Agent):
    kind = FirmKind.CHIP_SUPPLIER
    model: World

    def __init__(self, model: World, name: str, spec: dict) -> None:
        super().__init__(model)
        self.name = name
        self.cash_usd = float(spec.get("cash_usd", 0.0))
        self.production_h100e_per_month = float(spec["production_h100e_per_month"])
        self.price_usd_per_h100e = float(spec["price_usd_per_h100e"])
        self.unit_cost_usd_per_h100e = float(spec["unit_cost_usd_per_h100e"])
        self.margin = float(spec["margin"])
        self.captive_parent_name = spec.get("captive_parent", "")
        self.partner_names = set(spec.get("partners", []))
        self.orders: list[ChipOrder] = []
        self._backlog_h100e = 0.0  # open orders, kept as a running total
        # output decided earlier that arrives after the expansion lag
        self.pipeline: list[float] = [self.production_h100e_per_month] * max(
            1, model.p.chip_expansion_lag_months
        )
        self.delivered_last_month_h100e = 0.0
        # whether the opening pipeline has been booked on buyers' guidance
        self.booked_before_start = False
        self.delivered_12m: list[float] = []
        self.active = True

    @property
    def captive(self) -> bool:
        return bool(self.captive_parent_name)

    def sells_to(self, firm) -> bool:
        if not self.captive:
            return True
        return firm.name == self.captive_parent_name or firm.name in self.partner_names

    def quote_price(self, firm) -> float:
        # a captive program supplies its parent and partners near cost
        if self.captive:
            return self.unit_cost_usd_per_h100e * self.model.p.captive_chip_price_factor
        return self.price_usd_per_h100e

    def backlog_h100e(self) -> float:
        return self._backlog_h100e

    def add_order(self, order: ChipOrder) -> None:
        self.orders.append(order)
        self._backlog_h100e += order.open_h100e

    def cancel_order(self, order: ChipOrder) -> float:
        """Drop the undelivered part of ``order`` from the book; returns its H100e."""
        left = order.open_h100e
        order.delivered_h100e = order.h100e
        self.orders = [o for o in self.orders if o is not order]
        self._backlog_h100e = max(0.0, self._backlog_h100e - left)
        return left

    def step_supply(self) -> None:
        """Produce, allocate output among orders under the model's named policy, deliver."""
        m = self.model
        output = self.production_h100e_per_month * m.p.chip_supply_multiplier
        # orders whose buyer deferred deliveries wait; their share goes to the others
        due = [o for o in self.orders if o.held_until_month < m.month]
        shares = chips.allocate(due, output, m.p.chip_allocation_policy)
        delivered = 0.0
        for order in due:  # (an order not due has no share)
            q = shares.get(order.order_id, 0.0)
            if q > 0:
                m.deliver_chips(self, order, q)
                delivered += q
        self.orders = [o for o in self.orders if o.open_h100e > 1e-6 and m.order_alive(o)]
        self._backlog_h100e = sum([o.open_h100e for o in self.orders])
        self.delivered_last_month_h100e = delivered
        self.delivered_12m = ([*self.delivered_12m, delivered])[-12:]

    def step_investment(self) -> None:
        """Reprice against the backlog and decide output for after the expansion lag."""
        p = self.model.p
        prod = max(self.production_h100e_per_month, 1.0)
        backlog = self.backlog_h100e()
        self.price_usd_per_h100e = chips.list_price(
            self.price_usd_per_h100e,
            self.unit_cost_usd_per_h100e,
            self.margin,
            backlog / prod,
            p.chip_target_backlog_months,
            p.chip_price_backlog_slope,
            adjust=p.chip_price_adjust_per_month,
        )
        # expansion builds on the latest output already decided, not today's
        target = chips.production_target(
            max(self.pipeline[-1], 1.0),
            backlog,
            p.chip_target_backlog_months,
            p.chip_max_expansion_per_month,
            adjust=p.chip_output_adjust_share,
            min_share=p.chip_min_output_share_per_month,
        )
        if p.chip_guidance_weight > 0:
            if not self.booked_before_start:
                self._book_opening_pipeline()
            target = max(target, self._guided_output())
        self.pipeline.append(target)
        self.production_h100e_per_month = self.pipeline.pop(0)

    def _book_opening_pipeline(self) -> None:
        """The output already booked when the run starts, on the same guidance: each
        month of the expansion lag grows on the last as the demand buyers forecast
        (``chips.guided_output``), instead of staying at the opening output."""
        self.booked_before_start = True
        planned = self.production_h100e_per_month
        for k in range(len(self.pipeline)):
            planned = max(self.pipeline[k], self._guided_output(planned))
            self.pipeline[k] = planned

    def _guided_output(self, planned: float | None = None) -> float:
        """Output booked on buyers' guidance (``chips.guided_output``): the growth per
        month of the demand buyers forecast over the year after the expansion lag."""
        p = self.model.p
        lag = max(1, p.chip_expansion_lag_months)
        then = self.model.demand_forecast_h100e(lag)
        later = self.model.demand_forecast_h100e(lag + 12)
        growth = (later / then) ** (1.0 / 12.0) if then > 0 and later > 0 else 1.0
        return chips.guided_output(
            max(self.pipeline[-1] if planned is None else planned, 1.0),
            growth,
            p.chip_guidance_weight,
            p.chip_max_expansion_per_month,
        )
