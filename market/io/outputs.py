"""Declarations of the model-level outputs: one row per month in timeseries.csv.

Each output is declared once with its meaning; the DataCollector reports exactly
these, and docs/odd.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass

TERM_BUCKETS = ("short", "medium", "long")


def term_bucket(term_months: int) -> str:
    """short: under 12 months; medium: 12 to 35; long: 36 or more."""
    if term_months < 12:
        return "short"
    return "medium" if term_months < 36 else "long"


@dataclass(frozen=True)
class Output:
    name: str
    help: str


_O = Output
OUTPUTS: tuple[Output, ...] = (
    _O(
        "spot_price_usd_per_h100e_hour",
        "Clearing price of this month's spot market (empty: nothing traded).",
    ),
    _O(
        "spot_price_index_usd_per_h100e_hour",
        "Rental price index: smoothed spot price, every agent's outside option.",
    ),
    _O("spot_price_usd_per_mw_month", "The price index per MW-month of H100-generation capacity."),
    _O("spot_volume_h100e", "Capacity rented on the spot market this month."),
    _O("market_tightness", "Unmet spot demand over unsold spot supply (0 = slack)."),
    *[
        _O(
            f"contract_price_{b}_usd_per_h100e_hour",
            f"Volume-weighted price of contracts signed this month with {b} terms "
            "(short < 12 months <= medium < 36 months <= long); empty when none, as in "
            "every month after the last lab has left.",
        )
        for b in TERM_BUCKETS
    ],
    _O("new_contracts", "Contracts signed this month."),
    _O("new_contract_h100e", "Capacity of the contracts signed this month."),
    _O("active_contracts", "Contracts delivering this month."),
    _O("contracted_h100e", "Capacity delivered under contracts this month."),
    _O("capacity_h100e_total", "Online capacity, all owners."),
    _O("capacity_h100e_hyperscaler", "Online capacity owned by hyperscalers."),
    _O("capacity_h100e_neocloud", "Online capacity owned by neoclouds."),
    _O("capacity_h100e_lab", "Online capacity owned by labs."),
    _O("hyperscaler_share_of_capacity", "Hyperscalers' share of online capacity."),
    _O(
        "installed_h100e_total",
        "Chips installed at every site not retired, online or waiting for its building or "
        "grid connection, the chips an opening site under construction starts with "
        "included.",
    ),
    _O(
        "delivered_stock_h100e",
        "Stock of chips delivered, less retirements: online capacity plus the chips "
        "suppliers delivered during the run to sites not yet online (an opening site's "
        "own chips count when it opens).",
    ),
    _O("power_mw_online", "IT power of online sites."),
    _O("power_mw_under_construction", "IT power of sites being built or waiting for the grid."),
    _O("capacity_hhi", "HHI (0-10,000) of online capacity ownership."),
    _O("capacity_top4_share", "Share of online capacity owned by the four largest owners."),
    _O("lab_compute_hhi", "HHI of the compute labs have at hand."),
    _O("lab_compute_top4_share", "Share of lab compute held by the four largest labs."),
    _O("chip_supply_hhi", "HHI of chip deliveries over the last 12 months, by supplier."),
    _O(
        "chip_supply_top4_share",
        "Share of chip deliveries by the four largest suppliers (12 months).",
    ),
    _O("chip_production_h100e_per_month", "Chip output this month."),
    _O("chip_backlog_h100e", "Chips ordered and not yet delivered."),
    _O("chip_price_usd_per_h100e", "Lowest merchant list price per H100e."),
    _O(
        "merchant_share_of_chip_supply",
        "Merchant GPU vendors' share of chip deliveries (12 months).",
    ),
    _O("active_labs", "Labs in the market."),
    _O("active_neoclouds", "Neoclouds in the market."),
    _O("active_hyperscalers", "Hyperscalers in the market."),
    _O("active_providers", "Neoclouds and hyperscalers in the market."),
    _O("cumulative_exits", "Firms that have left the market (failed labs, defaulted neoclouds)."),
    _O("cumulative_defaults", "Neocloud defaults so far."),
    _O("cumulative_acquisitions", "Acquisitions so far (firms and distressed sites)."),
    _O("cumulative_blocked_mergers", "Deals blocked by merger review so far."),
    _O("cumulative_surplus_leases", "Whole-site leases from one lab to another so far."),
    _O(
        "cumulative_circular_deals", "Strategic investments returned as compute commitments so far."
    ),
    _O(
        "largest_run_h100e_months",
        "Largest training run completed so far (frontier), H100e-months.",
    ),
    _O(
        "largest_run_growth_12m",
        "Growth factor of the frontier run over the last 12 months (empty in the first "
        "12 months of a run).",
    ),
    _O("largest_active_run_h100e", "Largest training run in progress, H100e."),
    _O(
        "frontier_ceiling_h100e_months",
        "Largest run a lab could start now: the largest online "
        "site, or the online sites of one region linked (training_linked_site_efficiency), "
        "for the longest run allowed.",
    ),
    _O(
        "capex_usd_12m_hyperscaler",
        "Hyperscalers' capex (sites and chips) over the last 12 months.",
    ),
    _O("capex_usd_12m_neocloud", "Neoclouds' capex over the last 12 months."),
    _O("capex_usd_12m_lab", "Labs' capex over the last 12 months."),
    _O("capex_usd_12m_total", "All owners' capex over the last 12 months."),
    _O("demand_h100e", "Inference compute users asked for this month."),
    _O("served_inference_h100e", "Inference compute actually served."),
    _O("training_h100e", "Compute used by training runs."),
    _O("rationed_share", "Share of inference demand not served (users rationed)."),
    _O("inference_share_of_compute", "Inference's share of compute used."),
    _O(
        "power_mw_paused",
        "Power of sites under construction whose owner has paused the build.",
    ),
    _O(
        "chip_orders_cancelled_h100e",
        "Chips on order cancelled by their buyers since the start (cumulative).",
    ),
    _O(
        "token_price_index",
        "Users' token price relative to the first month: the cost of serving a token "
        "(rental index over tokens per H100e-hour) passed on by cost_pass_through, "
        "raised toward the price that would have matched last month's users' demand to "
        "the compute that could serve it when users were rationed.",
    ),
    _O(
        "revenue_usd_per_h100e_hour",
        "What labs earn from users per H100e-hour of inference served this month "
        "(the token price times tokens per H100e-hour).",
    ),
    _O(
        "utilisation",
        "Compute used over online capacity (as it was when used, before sites close in "
        "the month's settlement).",
    ),
    _O("lab_cash_usd", "Labs' cash, summed."),
    _O("lab_revenue_usd_per_month", "Labs' revenue this month, summed."),
    _O("neocloud_debt_usd", "Neoclouds' debt outstanding, summed."),
    _O("sentiment_index", "Investor sentiment: -1 winter, 0 normal, 1 boom."),
    _O("agentic_share", "Share of users running agentic workloads."),
    _O("network_firms", "Firms in the network."),
    _O("network_ties", "Ties of any kind between firms."),
    _O("network_contract_ties", "Pairs of firms with an active contract."),
    _O("network_density", "Ties over possible ties."),
    _O("network_degree_centralisation", "Freeman degree centralisation (1 = a star)."),
    _O(
        "largest_seller_share_of_contract_volume",
        "Largest seller's share of active contracted H100e.",
    ),
    # the secondary market (brokers; docs/brokers.md)
    _O("secondary_volume_h100e", "Capacity in blocks traded on exchanges this month."),
    _O("secondary_volume_h100e_months", "Blocks traded on exchanges this month, H100e × months."),
    _O("resale_h100e", "Capacity delivered this month under resale sub-contracts."),
    _O(
        "resale_share_of_used",
        "resale_h100e over the compute labs had this month (empty when labs had none).",
    ),
    _O("exchange_fees_usd", "Fees exchanges earned this month (both sides)."),
    _O(
        "exchange_fill_rate",
        "Share of the capacity bid on exchanges that was filled (empty: no bids).",
    ),
    _O("orders_rejected", "Orders exchanges rejected this month (reasons in the event log)."),
    _O(
        "price_index_vwap_usd_per_h100e_hour",
        "Trade index: volume-weighted average price of the exchange's trades this month "
        "(carried over from the last month with trades; empty before the first).",
    ),
    _O("price_index_vwap_carried", "1 when the trade index was carried over (no trades)."),
    _O(
        "price_index_list_survey_usd_per_h100e_hour",
        "Survey index: median of the providers' list prices for a block of "
        "resale_block_months (providers with room only; empty without an exchange).",
    ),
    _O("price_index_list_survey_carried", "1 when the survey index was carried over."),
    _O(
        "price_index_spread_usd_per_h100e_hour",
        "Highest minus lowest index this month (empty until every index has a value).",
    ),
    _O("brokers_active", "Brokers (exchanges and dealers) in the market."),
    _O("dealer_holdings_h100e", "Capacity dealers held this month under long contracts."),
    _O(
        "dealer_utilisation",
        "Share of dealers' holdings delivered to their resale buyers this month (empty: "
        "no holdings).",
    ),
    _O(
        "dealer_margin_usd",
        "Dealers' resale revenue less what their holdings cost them this month (take-or-pay "
        "on what they did not resell included; before running costs).",
    ),
    _O("dealer_cumulative_profit_usd", "dealer_margin_usd summed since the start, active dealers."),
    _O("exchange_margin_usd", "Exchanges' fees this month less their running costs."),
    _O(
        "forward_price_usd_per_h100e_hour",
        "Strike of the forwards signed this month, weighted by notional (empty: none signed).",
    ),
    _O(
        "forward_open_interest_h100e_hours",
        "Notional of the forwards still to settle from next month on.",
    ),
    _O(
        "forward_settlement_usd",
        "Forwards' cash settlement this month, paid by shorts to longs (negative: longs paid).",
    ),
    # ---- contracts that bind: delivery failures and the spot index's source
    _O(
        "shortfall_h100e",
        "Capacity sold under active contracts that their sites cannot deliver this month "
        "(sold beyond the site's online chips, summed over sites); 0 when every contract "
        "is delivered in full.",
    ),
    _O(
        "spot_index_traded",
        "1 when spot capacity traded this month and the rental index moved toward its "
        "price; 0 when nothing traded and the index carried over unchanged.",
    ),
    # ---- default has consequences: claims on exiting firms' estates, loan covenants
    _O(
        "cumulative_claims_usd",
        "Claims on the estates of firms that exited, since the start: their lenders' "
        "loans and their sellers' termination claims.",
    ),
    _O(
        "cumulative_claims_recovered_usd",
        "Part of those claims paid from the estates (lenders and sellers).",
    ),
    _O(
        "cumulative_claims_written_off_usd",
        "Part of those claims written off: claims less recoveries.",
    ),
    _O(
        "cumulative_covenant_breaches",
        "Neocloud covenant breaches since the start; each one accelerates the firm's loans.",
    ),
    _O(
        "cumulative_forced_exits",
        "Exits forced by a declared intervention since the start ([[intervention]]).",
    ),
)


# raises.csv: one row per round of money from investors or lenders (market.core.credit)
RAISE_COLUMNS: tuple[Output, ...] = (
    _O("month", "Month of the round (YYYY-MM)."),
    _O("firm", "The firm that raised or borrowed."),
    _O("firm_kind", "Its type: lab, neocloud or hyperscaler."),
    _O(
        "kind",
        "equity: a funding round; build loan: lenders' commitment to a site built for a "
        "signed contract, drawn as its building and chips are paid; secured loan: borrowing "
        "against owned sites and contracted revenue by a firm whose cash ran out.",
    ),
    _O(
        "amount_usd",
        "Money raised: the round, the loan's commitment (build loan) or the amount lent.",
    ),
    _O(
        "strategic_usd",
        "Part of an equity round paid by a strategic investor (a hyperscaler), which comes "
        "back as a compute commitment; 0 otherwise.",
    ),
    _O(
        "valuation_usd",
        "equity: the pre-money valuation, annual revenue x valuation_revenue_multiple x "
        "investor sentiment; build loan: the signed contract's value; secured loan: owned "
        "sites' replacement value plus the revenue signed contracts still owe.",
    ),
    _O(
        "bound_usd",
        "The most this round could be: raise_max_share_of_valuation x the valuation "
        "(equity); the smaller of (1 - neocloud_equity_share) x capex and "
        "debt_advance_rate x the contract (build loan); site_loan_to_value x sites plus "
        "debt_advance_rate x contracted revenue less debt and undrawn commitments (secured "
        "loan). amount_usd never exceeds it.",
    ),
    _O("sentiment", "Investor sentiment that month: winter, normal or boom."),
)
