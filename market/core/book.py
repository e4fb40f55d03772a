"""The contract book: the one owner of every contract.

Every contract the market ever signed is here, ended ones included. The book keeps
the open (not yet ended) contracts indexed by seller, buyer and site, each index in
the order the contracts joined it, and answers "how much is committed at site s over
months [a, b)" for the sellers' quotes. Every change of a contract's state or parties
goes through the book, and the book alone keeps the contract network (networkx) in
step with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from market.core.network import MarketNetwork
from market.io.records import HOURS_PER_MONTH, Contract, ContractState, EndReason
from market.mechanisms import resale

_NONE: dict[int, Contract] = {}  # the index of a firm or site with no open contracts
_REL_TOL = 1e-9  # float rounding allowed when a resale is checked against its cap


def _usd_per_month(c: Contract) -> float:
    return c.capacity_h100e * c.price_usd_per_h100e_hour * HOURS_PER_MONTH


_WINDOW_KEY = 1 << 20  # windows [start, end) of months below this are kept under one integer


class SiteTotals:
    """Running totals of one site's open contracts: capacity by start month and by end
    month, kept exactly as integers in units of ``2**-shift``, where ``shift`` is the
    finest binary step of any capacity the site has seen (a float is an integer over a
    power of two, so every capacity converts without rounding), so the capacity
    committed over any window is two exact sums, rounded once, whatever the order the
    contracts were signed and ended in.

    Small on purpose: a market of 100,000 agents keeps totals for some 100,000 sites. The
    unit follows the site's own capacities rather than the smallest float step
    (2**-1074), which keeps each integer a few machine words long, and a window is
    summed over the few months in the two dicts instead of over kept prefix sums (a
    site has a handful of open contracts). The answer for each window asked about is
    kept, as a float under one integer key, until the site's contracts change or the
    book forgets it (``forget``).

    Over any window from before the earliest end month to after the latest start month
    every open contract overlaps, so the answer is their whole capacity: that sum and
    the two months (``_span``) are kept, across months, until the contracts change."""

    __slots__ = ("_by_end", "_by_start", "_kept", "_shift", "_span")

    def __init__(self) -> None:
        self._by_start: dict[int, int] = {}
        self._by_end: dict[int, int] = {}
        self._shift = 0  # totals are in units of 2**-shift
        self._kept: dict[int, float] | None = None  # answers by window key
        # (latest start month, earliest end month, capacity of every open contract)
        self._span: tuple[int, int, float] | None = None

    def add(self, c: Contract, sign: int) -> None:
        num, den = c.capacity_h100e.as_integer_ratio()
        shift = den.bit_length() - 1  # den is a power of two
        if shift > self._shift:  # a finer capacity: every total in the finer unit
            finer = shift - self._shift
            for months in (self._by_start, self._by_end):
                for month, total in months.items():
                    months[month] = total << finer
            self._shift = shift
        h100e = (num << (self._shift - shift)) * sign
        for months, month in ((self._by_start, c.start_month), (self._by_end, c.end_month)):
            total = months.get(month, 0) + h100e
            if total:
                months[month] = total
            else:
                del months[month]
        self._kept = None
        self._span = None

    def empty(self) -> bool:
        return not self._by_start

    def forget(self) -> None:
        """Drop the kept answers."""
        self._kept = None

    def span(self) -> tuple[int, int, float]:
        """(latest start month, earliest end month, capacity of every open contract):
        over a window from before that end to after that start, every contract overlaps
        and ``summed_h100e`` is the capacity of all of them (the same exact sum)."""
        span = self._span
        if span is None:
            if self._by_start:
                whole = sum(self._by_start.values()) / (1 << self._shift)
                span = (max(self._by_start), min(self._by_end), whole)
            else:
                span = (-1, -1, 0.0)
            self._span = span
        return span

    def committed_h100e(self, start: int, end: int) -> float:
        """``summed_h100e``, kept per window (windows of months below ``_WINDOW_KEY``);
        over a window every open contract overlaps, their whole capacity (``span``)."""
        last_start, first_end, whole = self.span()
        if last_start < end and start < first_end:
            return whole
        if not (0 <= start < _WINDOW_KEY and 0 <= end < _WINDOW_KEY):
            return self.summed_h100e(start, end)
        key = start * _WINDOW_KEY + end
        kept = self._kept
        if kept is None:
            kept = self._kept = {}
        value = kept.get(key)
        if value is None:
            value = kept[key] = self.summed_h100e(start, end)
        return value

    def committed_and_last_start(self, start: int, end: int) -> tuple[float, int]:
        """(``committed_h100e``, ``last_start_month``), reading the span once."""
        span = self._span
        if span is None:
            span = self.span()
        if span[0] < end and start < span[1]:
            return span[2], span[0]
        return self.committed_h100e(start, end), span[0]

    def summed_h100e(self, start: int, end: int) -> float:
        """Capacity of the contracts overlapping [start, end): those starting before
        ``end`` less those that ended by ``start`` (every term is a month or more)."""
        began = sum([h100e for month, h100e in self._by_start.items() if month < end])
        over = sum([h100e for month, h100e in self._by_end.items() if month <= start])
        return (began - over) / (1 << self._shift)  # int / int is correctly rounded

    def last_start_month(self) -> int:
        """The latest month an open contract here starts (-1: none): over any window
        from a month at or after it, the capacity committed is the first month's."""
        return self.span()[0]


class _Delivery:
    """A site's active contracts in the order they joined the site, their capacity
    summed in that order, and the ratio they were last delivered at (None: not yet)."""

    __slots__ = ("active", "ratio", "sold_h100e")

    def __init__(self, active: list[Contract]) -> None:
        self.active = active
        self.sold_h100e = sum(c.capacity_h100e for c in active)
        self.ratio: float | None = None


class ContractBook:
    """Contracts by id, seller, buyer, site and state.

    ``on_site_freed(site_id)`` is called whenever a contract at a site ends, so the
    site's owner can forget what it kept about its free capacity (a sale only takes
    room away, which the seller notes itself).
    """

    def __init__(
        self, network: MarketNetwork, on_site_freed: Callable[[int], None] | None = None
    ) -> None:
        self.network = network
        self.on_site_freed = on_site_freed
        self.all: list[Contract] = []  # every contract, in the order signed
        self.new_this_month: list[Contract] = []
        self._open: dict[int, Contract] = {}  # by id; ids only grow, so in id order
        self._by_seller: dict[int, dict[int, Contract]] = defaultdict(dict)
        self._by_buyer: dict[int, dict[int, Contract]] = defaultdict(dict)
        self._by_site: dict[int, dict[int, Contract]] = defaultdict(dict)
        # running totals of the sites with open contracts (a site whose contracts have
        # all ended has none: nothing is committed there)
        self._totals: dict[int, SiteTotals] = {}
        # resale sub-contracts: indexed under their parent and their reseller, never
        # under the site (the site sold the capacity once, to the parent)
        self._by_parent: dict[int, dict[int, Contract]] = defaultdict(dict)
        self._resold_by: dict[int, dict[int, Contract]] = defaultdict(dict)
        # per site with open contracts, what ``deliver`` last worked out: dropped
        # whenever a contract at the site is signed, starts delivery or ends
        self._delivering: dict[int, _Delivery] = {}
        # per firm, a count that grows whenever a contract it buys, sells or resells
        # joins or leaves its indexes: a firm's sums over its contracts keep while it holds
        self._versions: dict[int, int] = defaultdict(int)
        # per firm, a count that grows whenever a contract it buys or sells starts or
        # stops delivery or changes parties (what it has in delivery may change)
        self._delivery_versions: dict[int, int] = defaultdict(int)

    # ------------------------------------------------------------------ questions
    def version(self, firm_id: int) -> int:
        """Grows whenever the open contracts the firm buys, sells or resells change (a
        contract starting delivery changes none of the months it covers)."""
        return self._versions[firm_id]

    def delivery_version(self, firm_id: int) -> int:
        """Grows whenever a contract the firm buys or sells starts or stops delivery or
        changes parties; a signature or a notice leaves it (nothing is delivered on a
        contract not yet started, and a notice ends delivery only when it has run)."""
        return self._delivery_versions[firm_id]

    def _touch(self, c: Contract) -> None:
        self._versions[c.buyer_id] += 1
        self._versions[c.seller_id] += 1

    def _touch_delivery(self, c: Contract) -> None:
        self._delivery_versions[c.buyer_id] += 1
        self._delivery_versions[c.seller_id] += 1

    def __len__(self) -> int:
        return len(self.all)

    def open(self) -> list[Contract]:
        """Contracts not yet ended, in id order."""
        return list(self._open.values())

    def in_state(self, state: ContractState) -> list[Contract]:
        return [c for c in self._open.values() if c.state == state]

    def sold_by(self, firm_id: int) -> list[Contract]:
        """Open contracts this firm sells, in the order they became its sales."""
        return list(self._by_seller.get(firm_id, {}).values())

    def bought_by(self, firm_id: int) -> list[Contract]:
        """Open contracts this firm buys, in the order they became its purchases."""
        return list(self._by_buyer.get(firm_id, {}).values())

    def sold_view(self, firm_id: int) -> Iterable[Contract]:
        """``sold_by`` without a copy: for reading only, while nothing signs or ends."""
        return self._by_seller.get(firm_id, _NONE).values()

    def bought_view(self, firm_id: int) -> Iterable[Contract]:
        """``bought_by`` without a copy: for reading only, while nothing signs or ends."""
        return self._by_buyer.get(firm_id, _NONE).values()

    def at_site_view(self, site_id: int) -> Iterable[Contract]:
        """``at_site`` without a copy: for reading only, while nothing signs or ends."""
        return self._by_site.get(site_id, _NONE).values()

    def at_site(self, site_id: int) -> list[Contract]:
        """Open contracts sold from this site, in the order signed."""
        return list(self._by_site.get(site_id, {}).values())

    def committed_h100e(self, site_id: int, start: int, end: int) -> float:
        """Capacity sold from the site over any part of [start, end): a contract that
        overlaps the window counts in full. A lookup in the site's running totals,
        exactly rounded; kept per window until the site's contracts change."""
        totals = self._totals.get(site_id)
        return totals.committed_h100e(start, end) if totals is not None else 0.0

    def last_start_month(self, site_id: int) -> int:
        """The latest month an open contract at the site starts (-1: none)."""
        totals = self._totals.get(site_id)
        return totals.last_start_month() if totals else -1

    def committed_and_last_start(self, site_id: int, start: int, end: int) -> tuple[float, int]:
        """(``committed_h100e``, ``last_start_month``) of the site in one lookup."""
        totals = self._totals.get(site_id)
        if totals is None:
            return 0.0, -1
        return totals.committed_and_last_start(start, end)

    # ------------------------------------------------------------------ changes
    def add(self, c: Contract) -> None:
        """A contract is signed."""
        if c.parent_id is not None:
            self._add_resale(c)
            return
        self.all.append(c)
        self.new_this_month.append(c)
        self._open[c.contract_id] = c
        self._by_seller[c.seller_id][c.contract_id] = c
        self._by_buyer[c.buyer_id][c.contract_id] = c
        self._by_site[c.facility_id][c.contract_id] = c
        self._delivering.pop(c.facility_id, None)
        totals = self._totals.get(c.facility_id)
        if totals is None:
            totals = self._totals[c.facility_id] = SiteTotals()
        totals.add(c, +1)
        self._touch(c)
        self.network.acquaint(c.buyer_id, c.seller_id)

    def activate(self, c: Contract) -> None:
        """Delivery starts: the contract becomes a tie of the network."""
        c.state = ContractState.ACTIVE
        self._delivering.pop(c.facility_id, None)
        self._touch_delivery(c)  # what the buyer and seller have in delivery changes
        self.network.contract_started(c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c))

    def end(self, c: Contract, reason: EndReason, month: int) -> None:
        """The contract ends (expiry, exit, merger, ...); ending twice does nothing."""
        if c.state == ContractState.ENDED:
            return
        if c.state == ContractState.ACTIVE:
            self.network.contract_ended(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )
        c.state = ContractState.ENDED
        self._delivering.pop(c.facility_id, None)
        self._touch(c)
        self._touch_delivery(c)
        c.end_reason = reason
        c.ended_month = month
        c.delivered_h100e = 0.0
        self._open.pop(c.contract_id, None)
        self._by_seller[c.seller_id].pop(c.contract_id, None)
        self._by_buyer[c.buyer_id].pop(c.contract_id, None)
        if self._by_site[c.facility_id].pop(c.contract_id, None) is not None:
            totals = self._totals[c.facility_id]
            totals.add(c, -1)
            if totals.empty():
                del self._totals[c.facility_id]
            if self.on_site_freed is not None:
                self.on_site_freed(c.facility_id)
        self._end_resales(c, month)

    def give_notice(self, c: Contract, cancel_month: int) -> None:
        """The buyer cancels: the contract now ends at ``cancel_month`` (before its
        term's end), so its site's capacity after that is free to sell again."""
        if c.state == ContractState.ENDED or not c.start_month < cancel_month < c.end_month:
            raise ValueError("notice must end an open contract within its term")
        listed = self._by_site[c.facility_id].get(c.contract_id) is not None
        if listed:
            self._totals[c.facility_id].add(c, -1)
        c.cancel_month = cancel_month
        self._touch(c)  # the buyer's and seller's sums over their contracts change
        if listed:
            self._totals[c.facility_id].add(c, +1)
            if self.on_site_freed is not None:
                self.on_site_freed(c.facility_id)

    def renewed(self, c: Contract) -> None:
        """An expired contract was signed again: say so in its end reason."""
        c.end_reason = EndReason.RENEWED

    def move_seller(self, c: Contract, new_seller_id: int) -> None:
        """The site (or the whole seller) changes hands: the sale goes with it."""
        self._by_seller[c.seller_id].pop(c.contract_id, None)
        self._by_seller[new_seller_id][c.contract_id] = c
        self._change_party(c, seller_id=new_seller_id)

    def move_buyer(self, c: Contract, new_buyer_id: int) -> None:
        """The buyer is acquired: the purchase goes to the acquirer."""
        self._by_buyer[c.buyer_id].pop(c.contract_id, None)
        self._by_buyer[new_buyer_id][c.contract_id] = c
        self._change_party(c, buyer_id=new_buyer_id)
        for child in self.children(c.contract_id):  # the resales go with the holding
            self._resold_by[child.seller_id].pop(child.contract_id, None)
            self._resold_by[new_buyer_id][child.contract_id] = child
            self._change_party(child, seller_id=new_buyer_id)

    def deliver(self, capacity_of: Callable[[int], float]) -> dict[int, float]:
        """Each site delivers its active contracts pro rata when it has fewer chips
        online than it has sold; ``capacity_of(site_id)`` is its online capacity.
        Returns the shortfall (sold less online, H100e) of every site that falls short.
        A site whose active contracts and delivery ratio are those it delivered at last
        time leaves what they receive as it is (only the book writes it)."""
        short: dict[int, float] = {}
        kept_by_site = self._delivering
        for site_id, contracts in self._by_site.items():
            kept = kept_by_site.get(site_id)
            if kept is None:
                active = [c for c in contracts.values() if c.state == ContractState.ACTIVE]
                kept = kept_by_site[site_id] = _Delivery(active)
            active = kept.active
            if not active:
                continue
            sold = kept.sold_h100e
            online = capacity_of(site_id)
            ratio = min(1.0, online / sold) if sold > 0 else 0.0
            if ratio != kept.ratio:
                for c in active:
                    c.delivered_h100e = c.capacity_h100e * ratio
                kept.ratio = ratio
            if sold > online:
                short[site_id] = sold - online
        self._deliver_resales()
        return short

    def start_month(self) -> None:
        self.new_this_month = []
        # windows asked about in earlier months are rarely asked again: start afresh so
        # the kept answers do not grow with every month a site stays unchanged
        for totals in self._totals.values():
            totals.forget()

    # ------------------------------------------------------------------ inside
    def _change_party(self, c: Contract, **ids: int) -> None:
        active = c.state == ContractState.ACTIVE
        self._touch(c)
        self._touch_delivery(c)
        if active:
            self.network.contract_ended(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )
        for name, value in ids.items():
            setattr(c, name, value)
        self._touch(c)
        self._touch_delivery(c)
        if active:
            self.network.contract_started(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )

    # ------------------------------------------------------------------ resale
    def children(self, parent_id: int) -> list[Contract]:
        """Open resale sub-contracts of a contract, in the order signed."""
        return list(self._by_parent.get(parent_id, _NONE).values())

    def has_open_children(self, parent_id: int) -> bool:
        """Whether the contract has an open resale sub-contract."""
        return any(
            k.state != ContractState.ENDED for k in self._by_parent.get(parent_id, _NONE).values()
        )

    def resold_view(self, firm_id: int) -> Iterable[Contract]:
        """Open sub-contracts this firm sells out of contracts it holds (read only)."""
        return self._resold_by.get(firm_id, _NONE).values()

    def resold_h100e(self, parent_id: int, month: int) -> float:
        """Capacity of the contract resold for ``month`` under open sub-contracts."""
        return sum(
            c.capacity_h100e
            for c in self._by_parent.get(parent_id, _NONE).values()
            if c.start_month <= month < c.end_month
        )

    def resale_problem(self, c: Contract, own_use_h100e: Mapping[int, float]) -> str | None:
        """Why a sub-contract may not be signed, in plain words; None if it may: its
        parent must be open and held by its seller, and it must fit, in every month of
        its window, inside the parent's part its holder neither uses (``own_use_h100e``
        by month) nor has resold already."""
        parent = self._open.get(c.parent_id) if c.parent_id is not None else None
        if parent is None or parent.parent_id is not None:
            return f"contract {c.parent_id} is not an open contract that can be resold"
        if parent.buyer_id != c.seller_id:
            return f"firm {c.seller_id} does not hold contract {parent.contract_id}"
        resold = [
            (k.start_month, k.end_month, k.capacity_h100e)
            for k in self.children(parent.contract_id)
        ]
        limit = resale.resale_limit(
            capacity_h100e=parent.capacity_h100e,
            parent_start_month=parent.start_month,
            parent_end_month=parent.end_month,
            window_start_month=c.start_month,
            window_end_month=c.end_month,
            own_use_h100e=own_use_h100e,
            resold=resold,
            allowed=parent.resale_right,
        )
        if c.capacity_h100e > limit.cap_h100e * (1 + _REL_TOL):
            return (
                f"{c.capacity_h100e:,.0f} H100e exceed the {limit.cap_h100e:,.0f} H100e "
                f"resellable of contract {parent.contract_id} ({limit.reason})"
            )
        return None

    def add_resale(self, c: Contract, own_use_h100e: Mapping[int, float]) -> None:
        """Sign a resale sub-contract; ``ValueError`` if it breaks the book's invariant
        (``resale_problem``)."""
        problem = self.resale_problem(c, own_use_h100e)
        if problem is not None:
            raise ValueError(problem)
        self.add(c)

    def _add_resale(self, c: Contract) -> None:
        parent = self._open.get(c.parent_id) if c.parent_id is not None else None
        if parent is None:
            raise ValueError(f"contract {c.parent_id} is not open: it cannot be resold")
        self.all.append(c)
        self.new_this_month.append(c)
        self._open[c.contract_id] = c
        self._by_buyer[c.buyer_id][c.contract_id] = c
        self._by_parent[parent.contract_id][c.contract_id] = c
        self._resold_by[c.seller_id][c.contract_id] = c
        self._touch(c)
        self.network.acquaint(c.buyer_id, c.seller_id)

    def _end_resales(self, c: Contract, month: int) -> None:
        """A sub-contract leaves its indexes; a parent that ends ends its children."""
        if c.parent_id is not None:
            self._by_parent[c.parent_id].pop(c.contract_id, None)
            self._resold_by[c.seller_id].pop(c.contract_id, None)
            return
        for child in self.children(c.contract_id):
            self.end(child, EndReason.PARENT_ENDED, month)

    def _deliver_resales(self) -> None:
        """A sub-contract receives its parent's delivery ratio times its capacity."""
        for parent_id, children in self._by_parent.items():
            parent = self._open.get(parent_id)
            ratio = 0.0
            if parent is not None and parent.capacity_h100e > 0:
                ratio = parent.delivered_h100e / parent.capacity_h100e
            for c in children.values():
                c.delivered_h100e = (
                    c.capacity_h100e * ratio if c.state == ContractState.ACTIVE else 0.0
                )
