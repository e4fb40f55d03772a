"""Contract pricing and bargaining: cost floor, scarcity markup, term and option
premia, surplus splitting and multi-sourcing. Plain functions, no model."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from market.io.records import HOURS_PER_MONTH, Quote


def annuity_usd_per_month(principal_usd: float, annual_rate: float, months: int) -> float:
    """Level monthly payment that repays ``principal_usd`` with interest over ``months``."""
    if months <= 0:
        raise ValueError("months must be positive")
    r = annual_rate / 12.0
    if r <= 0:
        return principal_usd / months
    return principal_usd * r / (1.0 - (1.0 + r) ** -months)


def cost_floor_usd_per_h100e_hour(
    *,
    chip_cost_usd_per_h100e: float,
    chip_life_months: int,
    facility_cost_usd_per_mw: float,
    facility_life_months: int,
    h100e_per_mw: float,
    other_opex_usd_per_mw_month: float,
    power_price_usd_per_mwh: float,
    pue: float,
    annual_rate: float,
    credit_premium: float = 0.0,
) -> float:
    """What an H100e-hour costs its owner: capital recovery of chips and building at the
    owner's cost of capital, energy and other running costs, plus a premium for the
    buyer's credit risk (a share of the total)."""
    chips = annuity_usd_per_month(chip_cost_usd_per_h100e, annual_rate, chip_life_months)
    building = (
        annuity_usd_per_month(facility_cost_usd_per_mw, annual_rate, facility_life_months)
        / h100e_per_mw
    )
    energy = power_price_usd_per_mwh * pue * HOURS_PER_MONTH / h100e_per_mw  # 1 MW for a month
    other = other_opex_usd_per_mw_month / h100e_per_mw
    return (chips + building + energy + other) / HOURS_PER_MONTH * (1.0 + credit_premium)


def tightness(unmet_demand_h100e: float, reference_h100e: float, *, cap: float) -> float:
    """Unmet demand as a share of a reference quantity (the month's demand), 0 when
    supply is ample; bounded at ``cap``."""
    if unmet_demand_h100e <= 0:
        return 0.0
    if reference_h100e <= 0:
        return cap
    return min(cap, unmet_demand_h100e / reference_h100e)


def scarcity_markup(tight: float, slope: float, cap: float) -> float:
    return min(cap, 1.0 + slope * tight)


def term_factor(term_months: int, short_term_premium: float, *, full_term_months: int) -> float:
    """Short terms carry a premium, falling linearly from one month to
    ``full_term_months``."""
    if term_months <= 0:
        raise ValueError("a contract term must be at least one month")
    span = max(full_term_months - 1, 1)
    return 1.0 + short_term_premium * max(0.0, (full_term_months - term_months) / span)


def ask_usd_per_h100e_hour(
    floor: float,
    *,
    markup: float,
    base_margin: float,
    term_months: int,
    short_term_premium: float,
    full_term_months: int,
    cancellable: bool,
    cancellation_premium: float,
    exclusive: bool,
    exclusivity_premium: float,
) -> float:
    term = term_factor(term_months, short_term_premium, full_term_months=full_term_months)
    price = floor * (1.0 + base_margin) * markup * term
    if cancellable:
        price *= 1.0 + cancellation_premium
    if exclusive:
        price *= 1.0 + exclusivity_premium
    return price


def seller_power(base: float, slope: float, tight: float, *, low: float, high: float) -> float:
    """Seller's share of the surplus: higher when the market is tight, kept within
    [``low``, ``high``]."""
    return min(high, max(low, base + slope * tight))


def bargain(ask: float, reservation: float, seller_share: float) -> float | None:
    """Split the surplus between the seller's ask and the buyer's reservation value.
    No deal (None) when the reservation is below the ask."""
    if reservation < ask:
        return None
    return ask + seller_share * (reservation - ask)


def lost_users_months(
    churn_per_rationed_share: float, share_inertia: float, term_months: int
) -> float:
    """Months of revenue a lab loses per user it turns away, within a term of
    ``term_months``: ``churn_per_rationed_share`` of them leave for rivals, and the
    contest pulls shares back ``1 - share_inertia`` of the way a month, so a leaver is
    away for the sum of ``share_inertia``**t over the term's months."""
    months = max(0, term_months)
    if share_inertia >= 1.0:
        return churn_per_rationed_share * months
    return churn_per_rationed_share * (1.0 - share_inertia**months) / (1.0 - share_inertia)


def undeliverable_share(
    block_h100e: float, need_h100e: float, elsewhere_h100e: float, contiguous: bool
) -> float:
    """Share of a block, taken whole, that nothing else on offer could deliver: what
    the block adds to the buyer's need met over what it gets without it. Divisible
    capacity adds to what is available elsewhere (``elsewhere_h100e``: other quotes
    and unsold spot); a contiguous block replaces the largest other block
    (``elsewhere_h100e``), so it adds only the part of the run that one is short of."""
    if block_h100e <= 0 or need_h100e <= 0:
        return 0.0
    if contiguous:
        added = min(need_h100e, block_h100e) - min(need_h100e, elsewhere_h100e)
    else:
        added = min(need_h100e, elsewhere_h100e + block_h100e) - min(need_h100e, elsewhere_h100e)
    return min(1.0, max(0.0, added) / block_h100e)


def users_share_beside_run(
    block_h100e: float,
    run_h100e: float,
    largest_other_h100e: float,
    elsewhere_h100e: float,
    short_h100e: float,
) -> float:
    """Share of a block, taken whole for a run, that serves users nothing else could
    (compute is one pool): with the block the run trains on it and its rest and all the
    other capacity on offer (``elsewhere_h100e``) serve users; without it the run takes
    the largest other block and the users get what is left. The same H100e never
    serves both."""
    if block_h100e <= 0 or short_h100e <= 0:
        return 0.0
    with_block = min(short_h100e, elsewhere_h100e + block_h100e - min(run_h100e, block_h100e))
    left = max(0.0, elsewhere_h100e - min(run_h100e, largest_other_h100e))
    without = min(short_h100e, left)
    return min(1.0, max(0.0, with_block - without) / block_h100e)


def choose_quotes(
    quotes: Sequence[Quote],
    need_h100e: float,
    contiguous: bool,
    min_fill: float = 0.0,
    wanted_start: int | None = None,
    *,
    delay_cost_per_month: float,
    cost_of: Callable[[Quote], float] | None = None,
) -> list[tuple[Quote, float]]:
    """Which quotes a buyer takes and how much of each.

    Inference: multi-source greedily from the cheapest ask until the need is met.
    Training (contiguous): one quote at one site; the cheapest that covers the need,
    else the largest that covers at least ``min_fill`` of it. Ties go to the earlier
    quote so the outcome is deterministic. A quote that starts later than
    ``wanted_start`` counts as dearer by ``delay_cost_per_month`` per month of delay.
    ``cost_of`` ranks quotes by the buyer's own cost instead of the ask (quotes on
    different terms).
    """
    if need_h100e <= 0:
        return []

    def effective(q: Quote) -> float:
        delay = 0 if wanted_start is None else max(0, q.start_month - wanted_start)
        price = q.ask_usd_per_h100e_hour if cost_of is None else cost_of(q)
        return price * (1.0 + delay_cost_per_month * delay)

    ranked = sorted(enumerate(quotes), key=lambda iq: (effective(iq[1]), iq[0]))
    if contiguous:
        full = [q for _, q in ranked if q.capacity_h100e >= need_h100e]
        if full:
            return [(full[0], need_h100e)]
        partial = [q for _, q in ranked if q.capacity_h100e >= min_fill * need_h100e]
        if not partial:
            return []
        best = max(partial, key=lambda q: q.capacity_h100e)
        return [(best, best.capacity_h100e)]
    chosen, left = [], need_h100e
    for _, q in ranked:
        if left <= 0:
            break
        take = min(q.capacity_h100e, left)
        if take > 0:
            chosen.append((q, take))
            left -= take
    return chosen
