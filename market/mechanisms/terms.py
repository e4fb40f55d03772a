"""Contract terms as a decision of both sides, and the price of term.

Buyers and sellers each have a view on how long a contract should run:

* the buyer commits only as far ahead as its need is firm; beyond that horizon it
  risks paying take-or-pay for capacity it no longer needs, more so the less sure its
  forecast is; a dear short term pushes it toward a longer one;
* the seller needs a term long enough for its financing (a neocloud's lender
  advances money only against contract cover; a site built to suit a buyer must be
  paid back within the term) and prefers to lock in today's price for long when it
  expects prices to fall.

The two meet on a menu of standard terms (monthly rentals, one-year reservations,
multi-year take-or-pay deals), and the term structure of price makes each term cost
something different. Plain functions; no model.

Units: months for terms, USD per H100e-hour for prices, shares as fractions,
``per year`` rates and drifts as continuous yearly rates (``0.1`` = 10 % a year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from market.io.params import Param

# the terms the market quotes besides the longest: a month, a year and three years
STANDARD_TERMS_MONTHS = (1, 12, 36)
MEAN_OF_SQRT = 2.0 / 3.0  # the mean of sqrt(t) over [0, T] is (2/3) sqrt(T)
SQRT_TWO_PI = math.sqrt(2.0 * math.pi)  # a normal's expected shortfall is its sd over this

#: The standard terms on offer (months): a monthly rental, a one-year reservation,
#: three- and five-year take-or-pay deals (CALIBRATION B8, B10, S4, K1-K5).
TERM_MENU_MONTHS: tuple[int, ...] = (1, 12, 36, 60)

# The model's own parameters of term choice (longest_term_months,
# buyer_firm_horizon_months, forecast_uncertainty_per_year, renewal_cost_months,
# buyer_term_tolerance) are declared in market.io.params. In the model, sellers price
# terms with ``pricing.term_factor`` (the short-term premium), so the vacancy loading
# below stays a proposal for calibrating that curve (B10).
PARAMS: tuple[Param, ...] = (
    Param(
        "relet_vacancy_months",
        0.5,
        "months",
        "Expected idle months a seller suffers each time a contract ends and it re-lets the "
        "capacity; loaded on short terms as a premium (B6, B8: short blocks are dearer).",
        "contracting",
        0.0,
        12.0,
    ),
)


def term_menu(longest_term_months: int) -> tuple[int, ...]:
    """The standard terms on offer: 1, 12 and 36 months and ``longest_term_months``."""
    return tuple(sorted({*STANDARD_TERMS_MONTHS, int(longest_term_months)}))


def expected_idle_share(
    term_months: float,
    firm_horizon_months: float,
    uncertainty_per_year: float,
    need_months: float = math.inf,
) -> float:
    """Expected share of a commitment the buyer will not need, averaged over the term.

    The need lasts ``need_months`` (a training run; ``inf`` for serving users): every
    month of the term beyond it is idle. Within it, need is firm up to
    ``firm_horizon_months``; beyond that the need's relative error is normal with
    standard deviation ``uncertainty_per_year * sqrt(years beyond)``, and the expected
    shortfall of a normal with sd s below its mean is s / sqrt(2 pi). In [0, 1]; 0 for a
    term within the firm horizon and the need.
    """
    if term_months <= 0:
        raise ValueError("a term must be positive")
    used = min(term_months, max(need_months, 0.0))
    beyond = max(0.0, used - firm_horizon_months)
    uncertain = 0.0
    if beyond > 0 and uncertainty_per_year > 0:
        # mean of sqrt(t) over t in [0, beyond] is (2/3) sqrt(beyond)
        mean_sd = uncertainty_per_year * MEAN_OF_SQRT * math.sqrt(beyond / 12.0)
        uncertain = min(1.0, mean_sd / SQRT_TWO_PI) * beyond
    return min(1.0, (uncertain + (term_months - used)) / term_months)


def expected_price_ratio(drift_per_year: float, term_months: float) -> float:
    """Average over a term of the expected spot price relative to today's:
    (1/T) * integral of exp(drift * t) dt, t in years. Below 1 when prices are expected
    to fall (a new chip generation), above 1 when they are expected to rise."""
    years = term_months / 12.0
    if years <= 0:
        raise ValueError("a term must be positive")
    x = drift_per_year * years
    if abs(x) < 1e-9:
        return 1.0
    return math.expm1(x) / x


def term_price_usd_per_h100e_hour(
    spot_usd_per_h100e_hour: float,
    term_months: int,
    *,
    expected_drift_per_year: float,
    relet_vacancy_months: float,
) -> float:
    """The seller's fixed price for a term: the spot price it expects on average over
    the term, loaded by the idle months it expects when the contract ends and it must
    re-let (``relet_vacancy_months`` spread over the term). Short terms therefore cost
    more than long ones unless prices are expected to rise fast: the term structure."""
    if spot_usd_per_h100e_hour < 0:
        raise ValueError("a price cannot be negative")
    vacancy = 1.0 + relet_vacancy_months / term_months
    return (
        spot_usd_per_h100e_hour
        * expected_price_ratio(expected_drift_per_year, term_months)
        * (vacancy)
    )


def rolled_price_usd_per_h100e_hour(
    quote_usd_per_h100e_hour: float,
    term_months: int,
    *,
    horizon_months: int,
    buyer_drift_per_year: float,
) -> float:
    """What a term costs a buyer per H100e-hour over its planning horizon when it rolls
    it: the first contract at today's quote, each later one at the quote moved by the
    buyer's own expected price drift, weighted by the months each covers."""
    if term_months <= 0 or horizon_months <= 0:
        raise ValueError("term and horizon must be positive")
    total, k = 0.0, 0
    while k * term_months < horizon_months:
        months = min(term_months, horizon_months - k * term_months)
        total += months * math.exp(buyer_drift_per_year * k * term_months / 12.0)
        k += 1
    return quote_usd_per_h100e_hour * total / horizon_months


def buyer_cost_per_used_unit(
    term_months: int,
    price_usd_per_h100e_hour: float,
    *,
    firm_horizon_months: float,
    uncertainty_per_year: float,
    take_or_pay_share: float,
    renewal_cost_months: float,
    need_months: float = math.inf,
) -> float:
    """What an H100e-hour the buyer actually uses costs it under a term: the price, plus
    take-or-pay paid on the share it expects not to need, plus the cost of renewing
    (``renewal_cost_months`` of payments per renewal, spread over the term)."""
    idle = expected_idle_share(term_months, firm_horizon_months, uncertainty_per_year, need_months)
    if idle >= 1.0:
        return math.inf
    wasted = take_or_pay_share * idle / (1.0 - idle)
    renewal = renewal_cost_months / term_months
    return price_usd_per_h100e_hour * (1.0 + wasted + renewal)


def buyer_preferred_term(
    prices_by_term: dict[int, float],
    *,
    firm_horizon_months: float,
    uncertainty_per_year: float,
    take_or_pay_share: float,
    renewal_cost_months: float,
    need_months: float = math.inf,
) -> int:
    """The term on offer with the lowest cost per used H100e-hour (ties: the shorter).
    ``prices_by_term`` are the prices the buyer compares: quotes rolled over a common
    horizon with ``rolled_price_usd_per_h100e_hour``, so that a seller's view of future
    prices does not pass for a cheaper term."""
    cost = _costs_per_used_unit(
        prices_by_term,
        firm_horizon_months=firm_horizon_months,
        uncertainty_per_year=uncertainty_per_year,
        take_or_pay_share=take_or_pay_share,
        renewal_cost_months=renewal_cost_months,
        need_months=need_months,
    )
    return _cheapest(cost)


def buyer_longest_term(
    prices_by_term: dict[int, float],
    preferred: int,
    tolerance: float,
    **cost_kwargs: float,
) -> int:
    """The longest term whose cost per used H100e-hour is within ``tolerance`` (a share)
    of the preferred term's: how far the buyer will stretch to meet a seller."""
    return _longest_within(
        _costs_per_used_unit(prices_by_term, **cost_kwargs), preferred, tolerance
    )


def _costs_per_used_unit(
    prices_by_term: dict[int, float],
    *,
    firm_horizon_months: float,
    uncertainty_per_year: float,
    take_or_pay_share: float,
    renewal_cost_months: float,
    need_months: float = math.inf,
) -> dict[int, float]:
    """``buyer_cost_per_used_unit`` of each term, with ``expected_idle_share`` written
    out in the loop: the same operations in the same order, so the same numbers (a
    buyer chooses its terms this way once or twice a month, a lab among thousands)."""
    cost: dict[int, float] = {}
    needed = max(need_months, 0.0)
    spread = uncertainty_per_year * MEAN_OF_SQRT
    for t, price in prices_by_term.items():
        if t <= 0:
            raise ValueError("a term must be positive")
        used = min(t, needed)
        beyond = max(0.0, used - firm_horizon_months)
        uncertain = 0.0
        if beyond > 0 and uncertainty_per_year > 0:
            uncertain = min(1.0, spread * math.sqrt(beyond / 12.0) / SQRT_TWO_PI) * beyond
        idle = min(1.0, (uncertain + (t - used)) / t)
        if idle >= 1.0:
            cost[t] = math.inf
            continue
        wasted = take_or_pay_share * idle / (1.0 - idle)
        cost[t] = price * (1.0 + wasted + renewal_cost_months / t)
    return cost


def _cheapest(cost: dict[int, float]) -> int:
    if not cost:
        raise ValueError("no terms on offer")
    return min(sorted(cost), key=cost.__getitem__)


def _longest_within(cost: dict[int, float], preferred: int, tolerance: float) -> int:
    best = cost[preferred]
    return max([*(t for t in cost if cost[t] <= best * (1 + tolerance)), preferred])


def seller_minimum_term_months(
    *,
    new_build: bool,
    capex_usd: float,
    monthly_revenue_usd: float,
    debt_share: float,
    lender_contract_cover: float,
    annual_rate: float,
    useful_life_months: int,
) -> float:
    """The shortest term a seller can accept for this capacity.

    Existing capacity: one month (it can re-let). A new build financed with debt: the
    lender requires contract value of at least ``lender_contract_cover`` times the debt
    (``debt_share`` of ``capex_usd``); the cover is the covenant
    ``covenant_min_contract_cover`` of ``default_claims``. A build to suit (any new build): the contract must
    also pay back the equity at the seller's ``annual_rate`` within the term. Capped at
    ``useful_life_months``; ``inf`` when even the useful life does not pay back.
    """
    if not new_build:
        return 1.0
    if monthly_revenue_usd <= 0:
        return math.inf
    cover = lender_contract_cover * debt_share * capex_usd / monthly_revenue_usd
    equity = (1.0 - debt_share) * capex_usd
    r = annual_rate / 12.0
    if equity <= 0:
        payback = 0.0
    elif r <= 0:
        payback = equity / monthly_revenue_usd
    elif monthly_revenue_usd <= equity * r:
        payback = math.inf
    else:  # months n with annuity(equity, r, n) = monthly revenue
        payback = -math.log(1.0 - equity * r / monthly_revenue_usd) / math.log(1.0 + r)
    need = max(1.0, cover, payback)
    return need if need <= useful_life_months else math.inf


def seller_preferred_term(expected_drift_per_year: float, menu: Sequence[int]) -> int:
    """A seller that expects prices to fall wants the longest term (lock in today's
    price); one that expects them to rise wants the shortest (re-price soon)."""
    return max(menu) if expected_drift_per_year < 0 else min(menu)


def agree_term(
    buyer_preferred: int,
    buyer_longest: int,
    seller_minimum: float,
    menu: Sequence[int] = TERM_MENU_MONTHS,
) -> int | None:
    """The term both sides accept: the buyer's preferred one if the seller can live with
    it, else the shortest term on the menu that meets the seller's minimum, if the buyer
    will stretch that far; ``None`` when the ranges do not meet (no deal)."""
    if buyer_preferred >= seller_minimum:
        return buyer_preferred
    fits = [t for t in sorted(menu) if seller_minimum <= t <= buyer_longest]
    return fits[0] if fits else None


def quoted_term_prices(
    spot_usd_per_h100e_hour: float,
    menu: Sequence[int],
    *,
    seller_drift_per_year: float,
    relet_vacancy_months: float,
) -> dict[int, float]:
    """A seller's price for every term on its menu (the term structure it quotes)."""
    return {
        t: term_price_usd_per_h100e_hour(
            spot_usd_per_h100e_hour,
            t,
            expected_drift_per_year=seller_drift_per_year,
            relet_vacancy_months=relet_vacancy_months,
        )
        for t in menu
    }


def choose_term(
    quotes: dict[int, float],
    *,
    seller_minimum: float,
    buyer_drift_per_year: float,
    horizon_months: int,
    tolerance: float,
    **buyer: float,
) -> tuple[int, float] | None:
    """Both sides agree a term: the buyer ranks the quoted terms by their cost per used
    H100e-hour, rolled over its horizon (``buyer`` holds firm_horizon_months,
    uncertainty_per_year, take_or_pay_share, renewal_cost_months and optionally
    need_months); the seller accepts no term below ``seller_minimum``. Returns (term,
    quoted price) or None when no term suits both."""
    rolled = {
        t: rolled_price_usd_per_h100e_hour(
            p, t, horizon_months=horizon_months, buyer_drift_per_year=buyer_drift_per_year
        )
        for t, p in quotes.items()
    }
    preferred, longest = buyer_terms_of_rolled(rolled, tolerance, **buyer)
    term = agree_term(preferred, longest, seller_minimum, tuple(quotes))
    return None if term is None else (term, quotes[term])


def price_drift_per_year(generation_cost_gain: float, generation_interval_months: float) -> float:
    """The continuous yearly rate at which compute prices are expected to fall when each
    chip generation, every ``generation_interval_months``, cuts cost by
    ``generation_cost_gain`` (at most 0; a gain of 1 or less means no fall)."""
    if generation_interval_months <= 0:
        raise ValueError("generations must be some months apart")
    return -math.log(max(generation_cost_gain, 1.0)) * 12.0 / generation_interval_months


def buyer_terms(
    prices_by_term: dict[int, float],
    *,
    buyer_drift_per_year: float,
    tolerance: float,
    **buyer: float,
) -> tuple[int, int]:
    """(preferred, longest acceptable) term for a buyer facing ``prices_by_term`` (the
    term structure sellers ask by): each term's price is rolled over the longest term
    on offer at the buyer's expected drift, then ranked by its cost per used H100e-hour
    (``buyer`` as for ``buyer_preferred_term``)."""
    rolled = rolled_over_longest(prices_by_term, buyer_drift_per_year)
    return buyer_terms_of_rolled(rolled, tolerance, **buyer)


def rolled_over_longest(
    prices_by_term: dict[int, float], buyer_drift_per_year: float
) -> dict[int, float]:
    """Each term's price rolled over the longest term on offer at the buyer's expected
    drift (``rolled_price_usd_per_h100e_hour``)."""
    horizon = max(prices_by_term)
    return {
        t: rolled_price_usd_per_h100e_hour(
            p, t, horizon_months=horizon, buyer_drift_per_year=buyer_drift_per_year
        )
        for t, p in prices_by_term.items()
    }


def buyer_terms_of_rolled(
    rolled: dict[int, float], tolerance: float, **buyer: float
) -> tuple[int, int]:
    """``buyer_preferred_term`` and ``buyer_longest_term`` of prices already rolled over
    the horizon, with each term's cost per used H100e-hour worked out once for both."""
    cost = _costs_per_used_unit(rolled, **buyer)
    preferred = _cheapest(cost)
    return preferred, _longest_within(cost, preferred, tolerance)


def buyer_terms_at(
    rolled: dict[int, float],
    tolerance: float,
    firm_horizon_months: float,
    uncertainty_per_year: float,
    take_or_pay_share: float,
    renewal_cost_months: float,
) -> tuple[int, int]:
    """``buyer_terms_of_rolled`` for a need with no end (``need_months`` left at inf),
    written out in one loop: each term's cost is worked out by the same operations in
    the same order as ``_costs_per_used_unit``, the preferred term is the first of the
    cheapest in ascending order of term (as ``_cheapest``) and the longest acceptable
    the longest within the tolerance (as ``_longest_within``), so the same terms (a lab
    chooses its terms this way a few times a month, among thousands)."""
    spread = uncertainty_per_year * MEAN_OF_SQRT
    costs: list[tuple[int, float]] = []
    for t, price in rolled.items():
        if t <= 0:
            raise ValueError("a term must be positive")
        beyond = max(0.0, t - firm_horizon_months)  # the term is all used: no end to the need
        uncertain = 0.0
        if beyond > 0 and uncertainty_per_year > 0:
            uncertain = min(1.0, spread * math.sqrt(beyond / 12.0) / SQRT_TWO_PI) * beyond
        idle = min(1.0, (uncertain + 0) / t)
        if idle >= 1.0:
            costs.append((t, math.inf))
            continue
        wasted = take_or_pay_share * idle / (1.0 - idle)
        costs.append((t, price * (1.0 + wasted + renewal_cost_months / t)))
    if not costs:
        raise ValueError("no terms on offer")
    costs.sort()
    preferred, best = costs[0]
    for t, c in costs:
        if c < best:
            preferred, best = t, c
    limit = best * (1 + tolerance)
    longest = preferred
    for t, c in costs:
        if c <= limit and t > longest:
            longest = t
    return preferred, longest
