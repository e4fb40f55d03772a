"""The market network: a networkx graph whose nodes are firms.

Edge attributes record the kinds of tie between two firms: ``acquainted`` (may ask
for quotes), ``contract_h100e`` and ``contract_usd_per_month`` (active contracts,
either direction), ``supply_h100e`` (chips delivered) and ``equity_usd`` (strategic
investment). The graph evolves as contracts are signed and end, firms exit, and
acquisitions merge nodes.
"""

from __future__ import annotations

import networkx as nx

from market.mechanisms.metrics import degree_centralisation

EDGE_DEFAULTS = {
    "acquainted": False,
    "contract_h100e": 0.0,
    "contract_usd_per_month": 0.0,
    "supply_h100e": 0.0,
    "equity_usd": 0.0,
}


class MarketNetwork:
    def __init__(self) -> None:
        self.graph = nx.Graph()
        self._sold: dict[int, float] = {}  # seller id -> active contracted H100e
        self._contract_ties = 0  # edges with contract_h100e > 0, kept as they change

    def add_firm(self, firm_id: int, name: str, kind: str) -> None:
        self.graph.add_node(firm_id, name=name, kind=kind)

    def _edge(self, a: int, b: int) -> dict:
        if not self.graph.has_edge(a, b):
            self.graph.add_edge(a, b, **EDGE_DEFAULTS)
        return self.graph.edges[a, b]

    def acquaint(self, a: int, b: int) -> None:
        if a != b:
            self._edge(a, b)["acquainted"] = True

    def neighbours(self, firm_id: int) -> list[int]:
        if firm_id not in self.graph:
            return []
        return sorted(self.graph.neighbors(firm_id))

    def contract_started(self, buyer: int, seller: int, h100e: float, usd_per_month: float) -> None:
        e = self._edge(buyer, seller)
        self._set_contract_h100e(e, e["contract_h100e"] + h100e)
        e["contract_usd_per_month"] += usd_per_month
        e["acquainted"] = True
        self._sold[seller] = self._sold.get(seller, 0.0) + h100e

    def contract_ended(self, buyer: int, seller: int, h100e: float, usd_per_month: float) -> None:
        if self.graph.has_edge(buyer, seller):
            e = self.graph.edges[buyer, seller]
            self._set_contract_h100e(e, max(0.0, e["contract_h100e"] - h100e))
            e["contract_usd_per_month"] = max(0.0, e["contract_usd_per_month"] - usd_per_month)
        if seller in self._sold:
            self._sold[seller] = max(0.0, self._sold[seller] - h100e)

    def _set_contract_h100e(self, e: dict, h100e: float) -> None:
        self._contract_ties += (h100e > 0) - (e["contract_h100e"] > 0)
        e["contract_h100e"] = h100e

    def contract_ties(self) -> int:
        """Ties with active contracts (``contract_h100e`` above 0), a running count."""
        return self._contract_ties

    def supplied(self, supplier: int, buyer: int, h100e: float) -> None:
        self._edge(supplier, buyer)["supply_h100e"] += h100e

    def invested(self, investor: int, lab: int, usd: float) -> None:
        self._edge(investor, lab)["equity_usd"] += usd

    def remove_firm(self, firm_id: int) -> None:
        if firm_id in self.graph:
            self._contract_ties -= sum(
                1 for d in self.graph[firm_id].values() if d["contract_h100e"] > 0
            )
            self.graph.remove_node(firm_id)
        self._sold.pop(firm_id, None)

    def merge(self, keep: int, gone: int) -> None:
        """``keep`` absorbs ``gone``: its ties are added to ``keep``'s."""
        if gone not in self.graph:
            return
        for other, data in list(self.graph[gone].items()):
            if other == keep:
                continue
            e = self._edge(keep, other)
            for key, value in data.items():
                if key == "contract_h100e":
                    self._set_contract_h100e(e, e[key] + value)
                else:
                    e[key] = (e[key] or value) if isinstance(value, bool) else e[key] + value
        self._sold[keep] = self._sold.get(keep, 0.0) + self._sold.get(gone, 0.0)
        self.remove_firm(gone)

    def metrics(self) -> dict[str, float]:
        g = self.graph
        n, ties = g.number_of_nodes(), g.number_of_edges()
        degrees = [d for _, d in g.degree()]
        total_sold = sum(self._sold.values())
        return {
            "network_firms": float(n),
            "network_ties": float(ties),
            "network_contract_ties": float(self._contract_ties),
            "network_density": (2.0 * ties / (n * (n - 1))) if n > 1 else 0.0,
            "network_degree_centralisation": degree_centralisation(degrees),
            "largest_seller_share_of_contract_volume": (
                max(self._sold.values()) / total_sold if total_sold > 0 else 0.0
            ),
        }
