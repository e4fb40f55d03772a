"""What a default leaves behind: claims on the estate, recoveries and write-offs;
loan covenants and acceleration.

When a firm exits, its estate (cash plus what its sites fetch at auction) is paid out
in a declared order of priority: secured lenders first (up to the value of their
collateral, the rest of their claim joins the unsecured class), then unsecured claims
pro rata — among them each seller's claim for the contracts the exiting buyer walks
away from (the termination payment) — then equity gets what is left. Every claim is
either recovered or written off: recoveries + write-offs = claims, and recoveries +
the residual to equity = the estate. Plain functions; no model. Money in USD.

Sources: the absolute-priority rule of US corporate bankruptcy (11 U.S.C. §1129(b));
the cap on a landlord's damages for a rejected lease, the greater of one year's rent or
15 % of the rest of the term, at most three years (11 U.S.C. §502(b)(6)), used here
as the default cap on a contract claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from market.io.params import Param
from market.io.records import HOURS_PER_MONTH

# declared in market.io.params (claim_cap_months, claim_cap_share,
# covenant_min_contract_cover, covenant_max_leverage)
PARAMS: tuple[Param, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A claim on an estate. ``collateral_usd`` > 0 makes it secured up to that value."""

    holder: str
    amount_usd: float
    collateral_usd: float = 0.0


@dataclass(frozen=True)
class Payout:
    holder: str
    claim_usd: float
    recovered_usd: float

    @property
    def written_off_usd(self) -> float:
        return self.claim_usd - self.recovered_usd

    @property
    def recovery_rate(self) -> float:
        return self.recovered_usd / self.claim_usd if self.claim_usd > 0 else 1.0


@dataclass(frozen=True)
class Waterfall:
    payouts: tuple[Payout, ...]
    equity_usd: float  # what is left for the owners

    @property
    def recovered_usd(self) -> float:
        return sum(pt.recovered_usd for pt in self.payouts)

    @property
    def written_off_usd(self) -> float:
        return sum(pt.written_off_usd for pt in self.payouts)


def termination_claim_usd(
    *,
    h100e: float,
    price_usd_per_h100e_hour: float,
    months_left: int,
    take_or_pay_share: float,
    relet_usd_per_h100e_hour: float,
    cap_months: int,
    cap_share: float,
) -> float:
    """A seller's claim for a contract its buyer abandons: the take-or-pay payments it
    loses, less what it can earn by re-letting the capacity at
    ``relet_usd_per_h100e_hour`` (mitigation), over the capped number of months (the
    greater of ``cap_months`` and ``cap_share`` of the rest of the term, never more than
    the rest of the term). Never negative."""
    months = min(months_left, max(cap_months, round(cap_share * months_left)))
    if months <= 0:
        return 0.0
    owed = price_usd_per_h100e_hour * take_or_pay_share
    loss = max(0.0, owed - max(0.0, relet_usd_per_h100e_hour))
    return h100e * loss * HOURS_PER_MONTH * months


def _pro_rata(pot: float, amounts: Sequence[float]) -> list[float]:
    total = sum(amounts)
    if total <= 0 or pot <= 0:
        return [0.0] * len(amounts)
    share = min(1.0, pot / total)
    return [a * share for a in amounts]


def waterfall(estate_usd: float, claims: Sequence[Claim]) -> Waterfall:
    """Pay out ``estate_usd`` by absolute priority.

    1. each secured claim from its own collateral, up to the smaller of the claim and
       the collateral (collateral worth more than the estate is scaled down pro rata);
    2. every unsecured amount (unsecured claims and the unsecured rest of secured ones)
       pro rata from what is left;
    3. the residual to equity.
    """
    if estate_usd < 0:
        raise ValueError("an estate cannot be negative")
    if any(c.amount_usd < 0 or c.collateral_usd < 0 for c in claims):
        raise ValueError("claims and collateral cannot be negative")
    secured_caps = [min(c.amount_usd, c.collateral_usd) for c in claims]
    secured = _pro_rata(estate_usd, secured_caps)
    left = max(0.0, estate_usd - sum(secured))
    rests = [max(0.0, c.amount_usd - s) for c, s in zip(claims, secured, strict=True)]
    unsecured = _pro_rata(left, rests)
    # a claim paid in full recovers exactly its amount: secured part + unsecured rest can
    # exceed it by a rounding step, so each recovery is capped at its claim, and equity
    # is what the recoveries leave of the estate (recoveries + equity = estate)
    recovered = [
        min(c.amount_usd, s + u) for c, s, u in zip(claims, secured, unsecured, strict=True)
    ]
    payouts = tuple(
        Payout(c.holder, c.amount_usd, r) for c, r in zip(claims, recovered, strict=True)
    )
    return Waterfall(payouts, max(0.0, estate_usd - sum(recovered)))


@dataclass(frozen=True)
class CovenantTest:
    contract_cover: float  # contracted revenue / debt
    leverage: float  # debt / asset value
    breaches: tuple[str, ...]

    @property
    def breached(self) -> bool:
        return bool(self.breaches)


def check_covenants(
    *,
    debt_usd: float,
    contracted_revenue_usd: float,
    asset_value_usd: float,
    min_contract_cover: float,
    max_leverage: float,
) -> CovenantTest:
    """A neocloud's loan covenants: ``contracted_revenue_usd`` (payments due under signed
    contracts over the loan's remaining life) must be at least ``min_contract_cover``
    times the debt, and the debt at most ``max_leverage`` times the value of its sites.
    A firm without debt breaches nothing. A limit of 0 switches its test off."""
    if debt_usd <= 0:
        return CovenantTest(float("inf"), 0.0, ())
    cover = contracted_revenue_usd / debt_usd
    leverage = debt_usd / asset_value_usd if asset_value_usd > 0 else float("inf")
    breaches = []
    if min_contract_cover > 0 and cover < min_contract_cover:
        breaches.append("contract cover")
    if max_leverage > 0 and leverage > max_leverage:
        breaches.append("leverage")
    return CovenantTest(cover, leverage, tuple(breaches))


def accelerate(
    *, cash_usd: float, debt_usd: float, sellable_assets_usd: float
) -> tuple[float, bool]:
    """On a covenant breach the lenders call the loan: the whole debt is due now. The
    firm pays from cash and, if short, from selling assets; returns (debt still unpaid,
    whether the firm defaults). It defaults when cash and assets do not cover the debt."""
    can_pay = max(0.0, cash_usd) + max(0.0, sellable_assets_usd)
    unpaid = max(0.0, debt_usd - can_pay)
    return unpaid, unpaid > 0
