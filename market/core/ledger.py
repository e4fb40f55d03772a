"""The ledger: every payment in the market goes through it.

A payment moves cash from a payer to a payee; either may be the outside world (users
paying for inference, lenders, energy companies, investors), written ``None``. Each
payment names a memo from ``MEMOS``, which files it under a category. Because every
change of a firm's cash is a payment or a write-off, the ledger can check that money
is conserved: the change in all cash held equals the net flow from outside less the
cash written off when firms left.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol


class Category(StrEnum):
    COMPUTE = "compute"  # firm to firm, for compute (contracts, spot)
    INVESTMENT = "investment"  # sites and chips
    RUNNING = "running"  # running costs and debt service
    INCOME = "income"  # revenue from users and outside businesses
    FINANCE = "finance"  # loans, equity, strategic investment
    DEALS = "deals"  # acquisitions and auctions


MEMOS: dict[str, Category] = {
    "contract": Category.COMPUTE,
    "spot": Category.COMPUTE,
    "capex": Category.INVESTMENT,
    "chips": Category.INVESTMENT,
    "construction penalty": Category.INVESTMENT,  # a build paused or cancelled
    "chip order penalty": Category.INVESTMENT,  # an undelivered chip order cancelled
    "opex": Category.RUNNING,
    "debt service": Category.RUNNING,
    "revenue": Category.INCOME,
    "outside cash flow": Category.INCOME,
    "loan": Category.FINANCE,
    "equity raise": Category.FINANCE,
    "strategic investment": Category.FINANCE,
    "asset purchase": Category.DEALS,
    "acquisition": Category.DEALS,
    "acquired cash": Category.DEALS,
    "cancellation fee": Category.COMPUTE,
    "exchange fee": Category.COMPUTE,  # a secondary-market trade's fee, to the exchange
    # an exiting firm's estate (market.core.estate) and accelerated loans
    "estate recovery": Category.DEALS,  # to a seller, on its contract claim
    "estate to lenders": Category.FINANCE,
    "estate to equity": Category.FINANCE,
    "loan repayment": Category.FINANCE,  # an accelerated loan repaid from cash
    "forward settlement": Category.FINANCE,  # a cash-settled forward's monthly payment
}

CAPEX_MEMOS = ("capex", "chips")  # also counted per payer kind, for capex by firm type


class Account(Protocol):
    unique_id: int
    kind: str
    cash_usd: float


class LedgerError(AssertionError):
    """Money was created or lost outside the ledger."""


class Ledger:
    def __init__(self) -> None:
        self.external_net_usd = 0.0  # money in from outside less money out, all months
        self.written_off_usd = 0.0  # cash of firms that left the market
        self.flows: defaultdict[str, float] = defaultdict(float)  # this month, by memo
        self.by_category: defaultdict[Category, float] = defaultdict(float)  # this month
        self._in: defaultdict[int, float] = defaultdict(float)  # this month, by firm id
        self._out: defaultdict[int, float] = defaultdict(float)
        self._opening_cash_usd = math.nan
        # the financing log: every equity round and loan with its bound (raises.csv)
        self.raises: list = []
        # ids of the accounts whose cash moved, while someone watches (not None)
        self.touched: set[int] | None = None

    def pay(self, payer: Account | None, payee: Account | None, amount: float, memo: str) -> None:
        """Move ``amount`` from ``payer`` to ``payee`` (``None``: the outside world)."""
        category = MEMOS.get(memo)
        if category is None:
            raise ValueError(f"payment memo {memo!r} is not one of {sorted(MEMOS)}")
        if amount <= 0:
            return
        if self.touched is not None:
            self.touched.update(a.unique_id for a in (payer, payee) if a is not None)
        if payer is not None:
            payer.cash_usd -= amount
            self._out[payer.unique_id] += amount
        else:
            self.external_net_usd += amount
        if payee is not None:
            payee.cash_usd += amount
            self._in[payee.unique_id] += amount
        else:
            self.external_net_usd -= amount
        self.flows[memo] += amount
        self.by_category[category] += amount
        if memo in CAPEX_MEMOS and payer is not None:
            self.flows["capex:" + payer.kind] += amount

    def pay_each(
        self, payments: Iterable[tuple[Account | None, Account | None, float]], memo: str
    ) -> None:
        """``pay`` each of ``payments`` (payer, payee, amount), in order, under one memo:
        the same cash moves, added in the same order, as paying them one by one."""
        category = MEMOS.get(memo)
        if category is None:
            raise ValueError(f"payment memo {memo!r} is not one of {sorted(MEMOS)}")
        if memo in CAPEX_MEMOS:  # counted per payer kind as well: one at a time
            for payer, payee, amount in payments:
                self.pay(payer, payee, amount, memo)
            return
        touched, paid_out, paid_in = self.touched, self._out, self._in
        # read without a default: a memo nothing is paid under must not appear
        flow = self.flows.get(memo, 0.0)
        by_category = self.by_category.get(category, 0.0)
        external, paid = self.external_net_usd, False
        for payer, payee, amount in payments:
            if amount <= 0:
                continue
            paid = True
            if touched is not None:
                touched.update(a.unique_id for a in (payer, payee) if a is not None)
            if payer is not None:
                payer.cash_usd -= amount
                paid_out[payer.unique_id] += amount
            else:
                external += amount
            if payee is not None:
                payee.cash_usd += amount
                paid_in[payee.unique_id] += amount
            else:
                external -= amount
            flow += amount
            by_category += amount
        if paid:  # the totals of a memo nothing was paid under stay unwritten
            self.external_net_usd = external
            self.flows[memo] = flow
            self.by_category[category] = by_category

    def write_off(self, firm: Account) -> None:
        """A firm leaves the market: whatever cash it holds (or owes) is written off."""
        self.written_off_usd += firm.cash_usd
        firm.cash_usd = 0.0
        if self.touched is not None:
            self.touched.add(firm.unique_id)

    def net_out_usd(self, firm: Account) -> float:
        """This month's payments by the firm less payments to it."""
        return self._out.get(firm.unique_id, 0.0) - self._in.get(firm.unique_id, 0.0)

    def start_month(self) -> None:
        self.flows = defaultdict(float)
        self.by_category = defaultdict(float)
        self._in.clear()
        self._out.clear()

    # ------------------------------------------------------------------ conservation
    def open(self, accounts: Iterable[Account]) -> None:
        """Note the cash held at the start, against which conservation is checked."""
        self._opening_cash_usd = sum(a.cash_usd for a in accounts)

    def imbalance_usd(self, accounts: Iterable[Account]) -> float:
        """Cash held now less what the ledger's flows explain (0 when conserved)."""
        cash = sum(a.cash_usd for a in accounts)
        return (cash - self._opening_cash_usd) - (self.external_net_usd - self.written_off_usd)

    def check(self, accounts: Iterable[Account], rel: float = 1e-9) -> None:
        """Raise ``LedgerError`` unless money is conserved (to float rounding)."""
        accounts = list(accounts)
        gap = self.imbalance_usd(accounts)
        scale = max(
            abs(self._opening_cash_usd),
            sum(abs(a.cash_usd) for a in accounts),
            abs(self.external_net_usd),
            abs(self.written_off_usd),
            1.0,
        )
        if not abs(gap) <= rel * scale + 1.0:
            raise LedgerError(
                f"cash held differs by ${gap:,.2f} from the opening cash plus the net flow "
                "from outside less write-offs: a payment bypassed the ledger"
            )
