"""Technology and costs: chip generations, H100e per MW, chip prices, and what building
and running a site costs. One service object per model (``model.tech``)."""

from __future__ import annotations

from collections import defaultdict

from market.core.grid import Region
from market.io.records import HOURS_PER_MONTH, Facility, Parameters
from market.mechanisms import pricing, spot_cost, technology

# the merchant chip price when no merchant supplier is left: an H100's list price
FALLBACK_CHIP_PRICE_USD_PER_H100E = 30_000.0


class Technology:
    def __init__(self, p: Parameters, regions: dict[str, Region]) -> None:
        self.p = p
        self.regions = regions
        self.generation = 0  # the generation on sale now
        self.merchants: list = []  # merchant chip suppliers, in id order
        self.captives_by_client: dict[str, list] = defaultdict(list)
        self._density_gains: dict[int, float] = {}
        self._densities: dict[int, float] = {}  # H100e per MW by generation
        # the best chip price by captive client ("" for a firm that is none), while
        # chip prices hold still (``keep_chip_prices``); None when not kept
        self._best_prices: dict[str, float] | None = None

    def generation_at(self, month: int) -> int:
        """Generation on sale at ``month``: 0 at the start, 1 from
        ``next_generation_month``, then one more after each gap of
        ``generation_interval_months``, each gap ``generation_interval_growth`` times
        the one before."""
        p = self.p
        return technology.generation_at(
            month,
            p.next_generation_month,
            p.generation_interval_months,
            p.generation_interval_growth,
        )

    def density_gain(self, generation: int) -> float:
        """H100e per MW of ``generation`` over generation 0: the first step gains
        ``generation_density_gain``, later ones less (``technology.cumulative_gain``)."""
        gain = self._density_gains.get(generation)
        if gain is None:
            gain = self._density_gains[generation] = technology.cumulative_gain(
                self.p.generation_density_gain,
                generation,
                self.p.generation_gain_halving_generations,
            )
        return gain

    def cost_gain(self, generation: int) -> float:
        """The fall in cost per H100e from the generation before to ``generation``."""
        return technology.generation_gain(
            self.p.generation_cost_gain, generation, self.p.generation_gain_halving_generations
        )

    def h100e_per_mw(self, generation: int) -> float:
        """H100e per MW of ``generation``, kept per generation (the parameters it reads
        hold for the model's life, as for ``density_gain``)."""
        density = self._densities.get(generation)
        if density is None:
            density = self._densities[generation] = self.p.h100e_per_mw_initial * self.density_gain(
                generation
            )
        return density

    def density_now(self) -> float:
        """H100e per MW of the generation on sale now."""
        density = self._densities.get(self.generation)
        return density if density is not None else self.h100e_per_mw(self.generation)

    # ------------------------------------------------------------------ chips
    def merchant_price_usd_per_h100e(self) -> float:
        prices = [s.price_usd_per_h100e for s in self.merchants]
        return min(prices) if prices else FALLBACK_CHIP_PRICE_USD_PER_H100E

    def suppliers_for(self, firm) -> list:
        """Suppliers that sell to ``firm``: every merchant, and the captive programs
        whose parent or partner it is."""
        return self.merchants + self.captives_by_client.get(firm.name, [])

    def best_chip_price(self, firm) -> float:
        kept = self._best_prices
        if kept is None:
            return self._best_chip_price(firm)
        client = firm.name if firm.name in self.captives_by_client else ""
        price = kept.get(client)
        if price is None:
            price = kept[client] = self._best_chip_price(firm)
        return price

    def _best_chip_price(self, firm) -> float:
        prices = [s.quote_price(firm) for s in self.suppliers_for(firm)]
        return min(prices) if prices else self.merchant_price_usd_per_h100e()

    def keep_chip_prices(self, keep: bool) -> None:
        """Keep each firm's best chip price (True) while no supplier reprices and no
        generation ships, or stop keeping them (False). A supplier's quote is the
        same to every firm it sells to, so firms that are no captive program's client
        share one price: the lowest merchant price."""
        self._best_prices = {} if keep else None

    # ------------------------------------------------------------------ sites
    def build_cost_usd(self, firm, h100e: float) -> float:
        """A new site for ``h100e`` of today's chips: the building and the chips."""
        return self.site_cost_usd(h100e, self.density_now(), self.best_chip_price(firm))

    def site_cost_usd(self, h100e: float, h100e_per_mw: float, chip_price: float) -> float:
        """The building for ``h100e`` at ``h100e_per_mw`` and its chips at ``chip_price``
        per H100e."""
        return h100e / h100e_per_mw * self.p.facility_cost_usd_per_mw + h100e * chip_price

    def facility_opex_usd(self, f: Facility) -> float:
        used_mw = min(f.power_mw, f.power_used_mw(self.h100e_per_mw))
        energy = (
            used_mw * self.p.pue * HOURS_PER_MONTH * self.regions[f.region].power_price_usd_per_mwh
        )
        return energy + f.power_mw * self.p.other_opex_usd_per_mw_month

    def cost_floor_usd_per_h100e_hour(
        self,
        *,
        chip_cost_usd_per_h100e: float,
        h100e_per_mw: float,
        region: str,
        annual_rate: float,
        credit_premium: float = 0.0,
    ) -> float:
        """What an H100e-hour costs its owner at a site in ``region`` (see
        ``pricing.cost_floor_usd_per_h100e_hour``)."""
        p = self.p
        return pricing.cost_floor_usd_per_h100e_hour(
            chip_cost_usd_per_h100e=chip_cost_usd_per_h100e,
            chip_life_months=p.chip_useful_life_months,
            facility_cost_usd_per_mw=p.facility_cost_usd_per_mw,
            facility_life_months=p.facility_life_months,
            h100e_per_mw=h100e_per_mw,
            other_opex_usd_per_mw_month=p.other_opex_usd_per_mw_month,
            power_price_usd_per_mwh=self.regions[region].power_price_usd_per_mwh,
            pue=p.pue,
            annual_rate=annual_rate,
            credit_premium=credit_premium,
        )

    def srmc_usd_per_h100e_hour(self, *, h100e_per_mw: float, region: str) -> float:
        """Short-run marginal cost of an H100e-hour on chips of this density in
        ``region``: energy and the variable share of other running costs."""
        return spot_cost.srmc_usd_per_h100e_hour(
            power_price_usd_per_mwh=self.regions[region].power_price_usd_per_mwh,
            pue=self.p.pue,
            h100e_per_mw=h100e_per_mw,
            other_opex_usd_per_mw_month=self.p.other_opex_usd_per_mw_month,
            variable_opex_share=self.p.variable_opex_share,
        )
