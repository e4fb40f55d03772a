"""Cancelling a contract within its notice rules, and the fee for doing so.

A buyer may end a cancellable contract by giving ``notice_months`` of notice: it pays
the contract as usual during the notice, then a termination fee, a declared share of
the take-or-pay payments it walks away from. It cancels when that is cheaper than
keeping the contract: because its need has fallen (it would pay take-or-pay on idle
capacity) or because it can buy the same capacity cheaper elsewhere. Plain functions;
no model. Money in USD, prices in USD per H100e-hour, time in months.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from market.io.params import Param
from market.io.records import HOURS_PER_MONTH

# its parameters (cancellation_fee_share, cancel_min_saving_share) are declared in
# market.io.params
PARAMS: tuple[Param, ...] = ()


def remaining_months(month: int, end_month: int) -> int:
    """Months still to run at ``month`` for a contract ending at ``end_month`` (its first
    month after the term)."""
    return max(0, end_month - month)


def cancellation_fee_usd(
    *,
    h100e: float,
    price_usd_per_h100e_hour: float,
    months_left: int,
    notice_months: int,
    take_or_pay_share: float,
    fee_share: float,
) -> float:
    """The fee due on cancellation: ``fee_share`` of the take-or-pay payments for the
    months after the notice period. Zero when the contract would end within the notice."""
    after_notice = max(0, months_left - notice_months)
    committed = h100e * price_usd_per_h100e_hour * HOURS_PER_MONTH * take_or_pay_share
    return fee_share * committed * after_notice


@dataclass(frozen=True)
class CancelDecision:
    cancel: bool
    fee_usd: float
    saving_usd: float  # what cancelling saves net of the fee (negative: it would cost)
    last_month: int  # month the contract ends if cancelled now (its end month if it cannot be)


def decide_cancellation(
    *,
    month: int,
    end_month: int,
    notice_months: int,
    h100e: float,
    needed_h100e: float,
    price_usd_per_h100e_hour: float,
    replacement_usd_per_h100e_hour: float,
    take_or_pay_share: float,
    fee_share: float,
    min_saving_share: float,
) -> CancelDecision:
    """Should a buyer cancel this contract now?

    Keeping it for the months after the notice costs: take-or-pay on the idle part
    (``h100e - needed_h100e``) and the full price on the needed part. Cancelling costs
    the fee plus buying the needed part elsewhere at ``replacement_usd_per_h100e_hour``
    (spot or a new quote). The buyer cancels when the saving exceeds
    ``min_saving_share`` of the cost of keeping it. A contract without a notice right
    (``notice_months < 0``) cannot be cancelled.
    """
    left, fee, needed, hours, keep, allowed = _cancel_parts(
        month,
        end_month,
        notice_months,
        h100e,
        needed_h100e,
        price_usd_per_h100e_hour,
        take_or_pay_share,
        fee_share,
    )
    leave = fee + needed * replacement_usd_per_h100e_hour * hours
    saving = keep - leave
    cancel = allowed and saving > min_saving_share * keep
    last = month + min(left, notice_months) if allowed else end_month
    return CancelDecision(cancel, fee if allowed else 0.0, saving, last)


def cancels_at(
    *,
    month: int,
    end_month: int,
    notice_months: int,
    h100e: float,
    needed_h100e: float,
    price_usd_per_h100e_hour: float,
    take_or_pay_share: float,
    fee_share: float,
    min_saving_share: float,
) -> Callable[[float], bool]:
    """``decide_cancellation(...).cancel`` as a function of the replacement price, the
    parts that do not depend on it worked out once (the same arithmetic)."""
    _, fee, needed, hours, keep, allowed = _cancel_parts(
        month,
        end_month,
        notice_months,
        h100e,
        needed_h100e,
        price_usd_per_h100e_hour,
        take_or_pay_share,
        fee_share,
    )
    least = min_saving_share * keep

    def cancels(replacement_usd_per_h100e_hour: float) -> bool:
        return allowed and keep - (fee + needed * replacement_usd_per_h100e_hour * hours) > least

    return cancels


def _cancel_parts(
    month: int,
    end_month: int,
    notice_months: int,
    h100e: float,
    needed_h100e: float,
    price_usd_per_h100e_hour: float,
    take_or_pay_share: float,
    fee_share: float,
) -> tuple[int, float, float, float, float, bool]:
    """(months left, fee, H100e needed, hours after the notice, cost of keeping it,
    whether it may be cancelled) for ``decide_cancellation``."""
    left = remaining_months(month, end_month)
    after = max(0, left - max(notice_months, 0))
    fee = cancellation_fee_usd(
        h100e=h100e,
        price_usd_per_h100e_hour=price_usd_per_h100e_hour,
        months_left=left,
        notice_months=max(notice_months, 0),
        take_or_pay_share=take_or_pay_share,
        fee_share=fee_share,
    )
    needed = min(max(needed_h100e, 0.0), h100e)
    idle = h100e - needed
    hours = HOURS_PER_MONTH * after
    keep = (needed + idle * take_or_pay_share) * price_usd_per_h100e_hour * hours
    allowed = notice_months >= 0 and after > 0
    return left, fee, needed, hours, keep, bool(allowed)
