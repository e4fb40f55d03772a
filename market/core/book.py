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
from collections.abc import Callable

from market.core.network import MarketNetwork
from market.io.records import HOURS_PER_MONTH, Contract, ContractState


def _usd_per_month(c: Contract) -> float:
    return c.capacity_h100e * c.price_usd_per_h100e_hour * HOURS_PER_MONTH


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
        self._committed: dict[int, dict[tuple[int, int], float]] = defaultdict(dict)
        self._committed_month = -1

    # ------------------------------------------------------------------ questions
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

    def at_site(self, site_id: int) -> list[Contract]:
        """Open contracts sold from this site, in the order signed."""
        return list(self._by_site.get(site_id, {}).values())

    def committed_h100e(self, site_id: int, start: int, end: int, month: int) -> float:
        """Capacity sold from the site over any part of [start, end) (a contract that
        overlaps the window counts in full). Sellers ask for the same windows many
        times a month, so the answers are kept until the month or the site's
        contracts change."""
        if self._committed_month != month:
            self._committed.clear()
            self._committed_month = month
        kept = self._committed[site_id]
        key = (start, end)
        value = kept.get(key)
        if value is None:
            value = sum(
                c.capacity_h100e
                for c in self._by_site.get(site_id, {}).values()
                if c.overlaps(start, end)
            )
            kept[key] = value
        return value

    # ------------------------------------------------------------------ changes
    def add(self, c: Contract) -> None:
        """A contract is signed."""
        self.all.append(c)
        self.new_this_month.append(c)
        self._open[c.contract_id] = c
        self._by_seller[c.seller_id][c.contract_id] = c
        self._by_buyer[c.buyer_id][c.contract_id] = c
        self._by_site[c.facility_id][c.contract_id] = c
        self._committed.pop(c.facility_id, None)
        self.network.acquaint(c.buyer_id, c.seller_id)

    def activate(self, c: Contract) -> None:
        """Delivery starts: the contract becomes a tie of the network."""
        c.state = ContractState.ACTIVE
        self.network.contract_started(c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c))

    def end(self, c: Contract, reason: str, month: int) -> None:
        """The contract ends (expiry, exit, merger, ...); ending twice does nothing."""
        if c.state == ContractState.ENDED:
            return
        if c.state == ContractState.ACTIVE:
            self.network.contract_ended(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )
        c.state = ContractState.ENDED
        c.end_reason = reason
        c.ended_month = month
        c.delivered_h100e = 0.0
        self._open.pop(c.contract_id, None)
        self._by_seller[c.seller_id].pop(c.contract_id, None)
        self._by_buyer[c.buyer_id].pop(c.contract_id, None)
        if self._by_site[c.facility_id].pop(c.contract_id, None) is not None:
            self._committed.pop(c.facility_id, None)
            if self.on_site_freed is not None:
                self.on_site_freed(c.facility_id)

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

    def deliver(self, capacity_of: Callable[[int], float]) -> None:
        """Each site delivers its active contracts pro rata when it has fewer chips
        online than it has sold; ``capacity_of(site_id)`` is its online capacity."""
        for site_id, contracts in self._by_site.items():
            active = [c for c in contracts.values() if c.state == ContractState.ACTIVE]
            if not active:
                continue
            sold = sum(c.capacity_h100e for c in active)
            ratio = min(1.0, capacity_of(site_id) / sold) if sold > 0 else 0.0
            for c in active:
                c.delivered_h100e = c.capacity_h100e * ratio

    def start_month(self) -> None:
        self.new_this_month = []

    # ------------------------------------------------------------------ inside
    def _change_party(self, c: Contract, **ids: int) -> None:
        active = c.state == ContractState.ACTIVE
        if active:
            self.network.contract_ended(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )
        for name, value in ids.items():
            setattr(c, name, value)
        if active:
            self.network.contract_started(
                c.buyer_id, c.seller_id, c.capacity_h100e, _usd_per_month(c)
            )
