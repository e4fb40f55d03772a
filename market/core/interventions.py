"""Declared interventions: what the scenario's [[intervention]] rows (or ``run
--force-exit NAME@YYYY-MM``, or ``ComputeMarket(interventions=...)``) make happen to a
firm in a given month, whatever the agents decide. Applied in the settlement stage,
after the month's payments; the parameter ``apply_interventions`` = false switches them off
(the unforced control of an experiment).

``force_exit``: the firm exits as if it had failed (``lifecycle.exit_firm``): its sellers
claim on its estate, its sites are auctioned, its users go to its rivals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.core.model import ComputeMarket


def apply(model: ComputeMarket) -> None:
    """Carry out this month's interventions, in the order declared."""
    if not model.p.apply_interventions:
        return
    from market.core.lifecycle import exit_firm

    for row in model.spec.tables.get("intervention", []):
        if row["month"] != model.calendar_month:
            continue
        firm = model.firms_by_name.get(row["firm"])
        if firm is None or not getattr(firm, "active", False):
            model.log("intervention", f"{row['firm']} has already left the market: no forced exit")
            continue
        model.counters["forced_exits"] += 1
        exit_firm(model, firm, "is forced out of the market (declared intervention)")
