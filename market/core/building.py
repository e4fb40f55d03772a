"""Sites and chips: new sites, construction, chip orders and their delivery."""

from __future__ import annotations

import math
import operator
from functools import reduce
from typing import TYPE_CHECKING

from market.core.calendar import month_label
from market.core.grid import NEVER_MONTH
from market.io.records import ChipBatch, ChipOrder, Facility, FacilityStatus, FirmKind
from market.mechanisms import investment

if TYPE_CHECKING:
    from agents import ChipSupplier, Firm
    from market.core.model import ComputeMarket

# a site's oldest chips' installation month (``sites_capacity_h100e``)
_OLDEST = operator.attrgetter("oldest_installed_month")

# a buyer whose credit is not known when a build starts (no contract behind it)
NEUTRAL_CREDIT = 0.5


def new_facility(
    model: ComputeMarket,
    owner: Firm,
    name: str,
    region: str,
    power_mw: float,
    status: FacilityStatus,
    online_month: int,
    build_cost: float,
) -> Facility:
    f = Facility(
        model.new_id("facility"),
        name,
        owner.unique_id,
        region,
        power_mw,
        status,
        online_month,
        build_cost,
        build_started_month=model.month,
    )
    f.ordered_generation = model.tech.generation
    f.chip_cost_usd_per_h100e = model.tech.merchant_price_usd_per_h100e()
    model.facilities[f.facility_id] = f
    owner.facilities.append(f)
    owner.forget_free_sites()
    return f


def start_build(
    model: ComputeMarket, firm: Firm, h100e: float, for_contract: bool = False, user=None
):
    """Start a site for ``h100e`` of today's chips: book the grid, pay for the building
    (unless a signed contract finances it) and order the chips (ones ``user``, the
    buyer it is built for, can run)."""
    density = model.tech.density_now()
    mw = h100e / density
    region = model.regions[firm.region]
    built = model.month + firm.build_months()
    grid = region.book(model.month, mw)
    online = max(built, grid)
    cost = mw * model.p.facility_cost_usd_per_mw
    f = new_facility(
        model,
        firm,
        f"{firm.name} site {len(firm.facilities) + 1}",
        firm.region,
        mw,
        FacilityStatus.UNDER_CONSTRUCTION,
        online,
        cost,
    )
    f.grid_ready_month = grid
    if not for_contract:
        firm.finance_build(
            cost, model.tech.build_cost_usd(firm, h100e), 0.0, NEUTRAL_CREDIT, site=f
        )
    order_chips(model, firm, f, h100e, user)
    model.log(
        "build",
        f"{firm.name} starts building {f.name} ({mw:,.0f} MW, online "
        f"{month_label(model.p['start_month'], min(online, 10**6))})",
        firm.name,
    )
    return f


def order_chips(model: ComputeMarket, firm: Firm, f: Facility, h100e: float, user=None) -> None:
    """Order from the supplier with the lowest price once its backlog is counted: a
    long backlog means idle sites while waiting (``chip_backlog_cost_per_month``). A
    site built for a buyer gets chips that buyer's software runs on: merchant GPUs, or
    a captive program's ASICs only when the buyer is that program's parent or
    partner. A provider building to sell to whoever comes values ASICs by the share
    of users whose labs can run them (``sellable_share``). The order is placed in
    ``chip_order_lots`` equal lots, each with the supplier that is cheapest once the
    lots of this order already placed with it are counted in its backlog: a large
    order is spread over several suppliers rather than queued at one (1: one
    supplier takes the whole order)."""
    options = model.tech.suppliers_for(firm)
    if user is not None:
        options = [s for s in options if s.sells_to(user)] or options
    if not options or h100e <= 0:
        return
    placed = _lots_by_supplier(model, firm, options, h100e, user is None)
    gen = model.tech.generation
    prices = []
    for s, lot_h100e in placed:
        o = ChipOrder(
            model.new_id("order"),
            firm.unique_id,
            s.unique_id,
            f.facility_id,
            lot_h100e,
            model.month,
            s.quote_price(firm),
            long_term_agreement=firm.long_term_chip_deals or s.captive,
            generation=gen,
        )
        s.add_order(o)
        prices.append((lot_h100e, o.price_usd_per_h100e))
    f.pending_h100e += h100e
    forget_sites_scan(model, f)
    add_to_outlook(model, h100e)
    f.ordered_generation = gen
    # what the site's chips cost per H100e, the lots' prices weighted by their size
    f.chip_cost_usd_per_h100e = (
        prices[0][1] if len(prices) == 1 else sum(q * p for q, p in prices) / h100e
    )


def _lots_by_supplier(
    model: ComputeMarket, firm: Firm, options: list, h100e: float, for_market: bool
) -> list[tuple[ChipSupplier, float]]:
    """(supplier, H100e) for each supplier that takes lots of the order, in the order
    they were first chosen (``order_chips``)."""
    backlog_cost = model.p.chip_backlog_cost_per_month
    lots = max(1, int(model.p.chip_order_lots))
    lot_h100e = h100e / lots
    taken: dict[int, float] = {}
    order: list = []

    def cost(s) -> tuple[float, int]:
        queued = s.backlog_h100e() + taken.get(s.unique_id, 0.0)
        price = s.quote_price(firm) * (
            1 + backlog_cost * queued / max(s.production_h100e_per_month, 1.0)
        )
        if for_market and s.captive:
            price /= max(sellable_share(model, s), 1e-9)
        return price, s.unique_id

    for _ in range(lots):
        s = min(options, key=cost)
        if s.unique_id not in taken:
            order.append(s)
        taken[s.unique_id] = taken.get(s.unique_id, 0.0) + lot_h100e
    if lots == 1:
        return [(order[0], h100e)]
    return [(s, taken[s.unique_id]) for s in order]


def sellable_share(model: ComputeMarket, supplier: ChipSupplier) -> float:
    """Share of users served by labs that run ``supplier``'s chips (all labs for a
    merchant; a captive program's parent and partners among labs for an ASIC).

    A captive program looks up its parent and partners by name instead of asking every
    lab: the same labs, added in the same (id) order, so the same float; asking every
    lab made a market with a program per copy quadratic in its size."""
    if not supplier.captive:
        return sum(lab.share for lab in model.labs())
    named = (
        model.firms_by_name.get(n) for n in (supplier.captive_parent_name, *supplier.partner_names)
    )
    labs = {
        f.unique_id: f
        for f in named
        if f is not None and f.kind == FirmKind.LAB and model.firm(f.unique_id) is f
    }
    return sum(labs[uid].share for uid in sorted(labs))


def order_alive(model: ComputeMarket, o: ChipOrder) -> bool:
    f = model.facilities.get(o.facility_id)
    return (
        f is not None and f.status != FacilityStatus.RETIRED and model.firm(o.buyer_id) is not None
    )


def deliver_chips(model: ComputeMarket, supplier: ChipSupplier, o: ChipOrder, h100e: float) -> None:
    f = model.facilities.get(o.facility_id)
    buyer = model.firm(o.buyer_id)
    if f is None or buyer is None:
        o.delivered_h100e = o.h100e  # cancelled: nothing ships
        return
    o.delivered_h100e += h100e
    f.pending_h100e = max(0.0, f.pending_h100e - h100e)
    model.appraisal.forget_sites()  # new chips at the site
    f.chips.append(ChipBatch(o.generation, h100e, model.month, o.price_usd_per_h100e))
    buyer.draw_loans(f.facility_id, h100e * o.price_usd_per_h100e)  # a build loan pays its share
    model.ledger.pay(buyer, supplier, h100e * o.price_usd_per_h100e, "chips")
    model.network.supplied(supplier.unique_id, buyer.unique_id, h100e)


# ---------------------------------------------------------------- investment discipline
def outlook(model: ComputeMarket, months_ahead: int) -> tuple[float, float]:
    """(compute the market is expected to want, capacity it is expected to have)
    ``months_ahead`` from now: users' forecast demand plus training in last month's
    proportion to it,
    against every site's chips still alive then plus the chips on order (sites under
    construction included). Kept for the month; a build started adds to it."""
    key = (model.month, months_ahead)
    hit = model.outlook_cache.get(key)
    if hit is None:
        if model.outlook_cache and next(iter(model.outlook_cache))[0] != model.month:
            model.outlook_cache.clear()
        target = model.month + months_ahead
        capacity = sites_capacity_h100e(model, target - model.p.chip_useful_life_months)
        # users' demand as forecast, and training growing with it from what it used
        # last month (plans a lab cannot fund or place are not demand)
        demand_now = max(model.demand_h100e, 1.0)
        training = model.metrics.get("training_h100e", 0.0)
        need = model.demand_forecast_h100e(months_ahead) * (1.0 + training / demand_now)
        hit = model.outlook_cache[key] = (need, capacity)
    return hit


def sites_capacity_h100e(model: ComputeMarket, retire: int) -> float:
    """Every site's chips installed after month ``retire`` plus those on order, added
    one after another in the sites' order (the order of their ids: sites are only ever
    added, each with the next id). While the investment stage runs the sum is kept
    (``Appraisal.sites_scan``) and given again for another ``retire`` when both fall
    before the oldest chips of any site then (every site's alive chips are all its
    chips, the same terms), with the sites added since summed on after it."""
    appraisal = model.appraisal
    scan = appraisal.sites_scan
    if scan is not None and retire < scan[0]:
        oldest, capacity, last_id = scan
        sites = _sites_after(model, last_id)
        new = sites
    else:
        retired = FacilityStatus.RETIRED
        sites = [f for f in model.facilities.values() if f.status != retired]
        capacity = 0.0
        # the oldest chips found before, at the sites then (``chips_oldest``)
        oldest, last_id = appraisal.chips_oldest or (math.inf, -1)
        new = _sites_after(model, last_id) if last_id >= 0 else sites
    if sites:
        capacity = reduce(
            operator.add, [f.alive_h100e(retire) + f.pending_h100e for f in sites], capacity
        )
    if new:
        oldest = min(oldest, min(map(_OLDEST, new)))
    if appraisal.keeps_scan and model.facilities:
        last_id = next(reversed(model.facilities))
        appraisal.chips_oldest = (oldest, last_id)
        if retire < oldest:
            appraisal.sites_scan = (oldest, capacity, last_id)
    return capacity


def _sites_after(model: ComputeMarket, last_id: int) -> list[Facility]:
    """The sites not retired with an id above ``last_id``, in the sites' order."""
    tail = []
    for f in reversed(model.facilities.values()):
        if f.facility_id <= last_id:
            break
        if f.status != FacilityStatus.RETIRED:
            tail.append(f)
    tail.reverse()
    return tail


def forget_sites_scan(model: ComputeMarket, f: Facility) -> None:
    """Site ``f``'s chips on order or its status changed: a kept sum of the sites that
    counts it no longer holds (``sites_capacity_h100e``). Its chips are the same, so the
    oldest chips found stay a bound (a site given up only leaves younger ones)."""
    scan = model.appraisal.sites_scan
    if scan is not None and f.facility_id <= scan[2]:
        model.appraisal.sites_scan = None


def outlook_kept(model: ComputeMarket, months_ahead: int) -> bool:
    """Whether the outlook a builder reads ``months_ahead`` from now (``expected_utilisation``)
    is kept for this month already: reading it again then changes nothing, as a first
    read would (a first read sums the sites as they are, later builds are added to it)."""
    return (model.month, min(months_ahead, model.p.chip_useful_life_months)) in model.outlook_cache


def add_to_outlook(model: ComputeMarket, h100e: float) -> None:
    """Capacity just ordered counts in every later builder's outlook this month."""
    for key, (need, capacity) in model.outlook_cache.items():
        model.outlook_cache[key] = (need, capacity + h100e)


def new_chips_may_pay(model: ComputeMarket, months_ahead: int, extra: float) -> bool:
    """False when no builder can expect to use ``extra`` >= 0 H100e of new chips
    ``months_ahead`` from now at ``chip_order_defer_utilisation``: even one whose own
    capacity was all in use (a recent utilisation of 1, the most a firm reports) expects
    less, before the new chips are counted, and counting them only lowers the market's
    share in use. ``chips_pay`` and ``build_pays`` then defer at once, whoever asks, so
    they answer without working out the builder's own utilisation. Reads the outlook
    exactly where ``expected_utilisation`` would."""
    p = model.p
    need, capacity = outlook(model, min(months_ahead, p.chip_useful_life_months))
    weight = p.utilisation_forecast_weight
    if not (extra >= 0 and need >= 0 and capacity > 0 and 0.0 <= weight <= 1.0):
        return True  # no bound to lean on
    best = investment.expected_utilisation(1.0, need, capacity, weight)
    return not best < p.chip_order_defer_utilisation


def expected_utilisation(model: ComputeMarket, firm: Firm, months_ahead: int, extra: float):
    """The utilisation ``firm`` expects ``months_ahead`` from now with ``extra`` H100e
    more in the market (``investment.expected_utilisation``)."""
    # no forecast reaches past the chips' life (a site that waits for ever for the
    # grid is valued by its discounting, not by a demand forecast)
    need, capacity = outlook(model, min(months_ahead, model.p.chip_useful_life_months))
    return investment.expected_utilisation(
        firm.recent_utilisation(), need, capacity + extra, model.p.utilisation_forecast_weight
    )


def expected_price_usd_per_h100e_hour(model: ComputeMarket, new_floor: float) -> float:
    """The rental price a builder expects on average over a new chip's life: today's
    index moving toward the cost floor of the generation on sale (with the base
    margin) as the fleet turns over, one generation interval at a time."""
    p = model.p
    long_run = new_floor * (1.0 + p.base_margin)
    tau = max(1.0, float(p.generation_interval_months))
    life = max(1.0, float(p.chip_useful_life_months))
    weight = tau / life * (1.0 - math.exp(-life / tau))
    index = model.spot_index if math.isfinite(model.spot_index) else long_run
    return long_run + (index - long_run) * weight


def margin_value_usd(
    model: ComputeMarket, firm: Firm, h100e: float, utilisation: float, months_to_online: int
) -> float:
    """Present value of the margin ``h100e`` of new chips at ``firm``'s site would earn
    over their life at the expected price and ``utilisation`` (no capex)."""
    rate = firm.annual_rate()
    price, running_cost = price_and_running_cost(
        model, model.tech.best_chip_price(firm), firm.region, rate
    )
    return investment.build_npv_usd(
        h100e=h100e,
        capex_usd=0.0,
        price_usd_per_h100e_hour=price,
        utilisation=utilisation,
        running_cost_usd_per_h100e_hour=running_cost,
        annual_rate=rate,
        life_months=model.p.chip_useful_life_months,
        build_months=max(0, months_to_online),
    )


def price_and_running_cost(
    model: ComputeMarket, chip_price: float, region: str, rate: float
) -> tuple[float, float]:
    """(the rental price expected over a new chip's life, its short-run running cost)
    per H100e-hour for today's chips bought at ``chip_price`` in ``region`` at ``rate``.
    Kept while the investment stage runs (``Appraisal.prices``), keyed by everything
    they are worked out from that can change during a run."""
    tech = model.tech
    density = tech.density_now()
    kept = model.appraisal.prices
    key = (chip_price, region, rate, density, model.spot_index)
    hit = kept.get(key) if kept is not None else None
    if hit is None:
        floor = tech.cost_floor_usd_per_h100e_hour(
            chip_cost_usd_per_h100e=chip_price,
            h100e_per_mw=density,
            region=region,
            annual_rate=rate,
        )
        hit = (
            expected_price_usd_per_h100e_hour(model, floor),
            tech.srmc_usd_per_h100e_hour(h100e_per_mw=density, region=region),
        )
        if kept is not None:
            kept[key] = hit
    return hit


def chips_pay(model: ComputeMarket, firm: Firm, f: Facility, h100e: float) -> bool:
    """Whether filling spare power at ``f`` with ``h100e`` of new chips clears the
    hurdle on the chips' cost (the building is there already)."""
    ahead = max(0, f.online_month - model.month)
    if not new_chips_may_pay(model, ahead, h100e):
        return False  # anyone would hold them at once
    u = expected_utilisation(model, firm, ahead, h100e)
    if u < model.p.chip_order_defer_utilisation:
        return False  # it would hold them at once
    capex = h100e * model.tech.best_chip_price(firm)
    value = margin_value_usd(model, firm, h100e, u, ahead)
    return value - capex > model.p.investment_hurdle * capex


def months_to_online(model: ComputeMarket, firm: Firm, h100e: float) -> int:
    """Months until a site of ``h100e`` started now would run: its build time, or the
    wait for its region's grid to connect its power if that is longer (the site comes
    online when both are done, ``start_build``). A connection that never comes counts
    as ``NEVER_MONTH`` months."""
    mw = h100e / model.tech.density_now()
    ready = model.regions[firm.region].ready_month(model.month, mw)
    grid = math.ceil(ready) - model.month if math.isfinite(ready) else NEVER_MONTH
    return max(firm.build_months(), min(grid, NEVER_MONTH))


def build_pays(model: ComputeMarket, firm: Firm, h100e: float) -> bool:
    """Whether a new site of ``h100e`` clears the hurdle: the value of its margin at the
    utilisation expected once it is online (itself counted in the market's capacity),
    discounted over the months until it is built and connected to the grid
    (``months_to_online``), over the capex of the chips and of the building's share used
    over the chips' life."""
    p, tech = model.p, model.tech
    months = months_to_online(model, firm, h100e)
    if not new_chips_may_pay(model, months, h100e):
        return False  # anyone would hold the new site's chips at once
    u = expected_utilisation(model, firm, months, h100e)
    if u < p.chip_order_defer_utilisation:
        return False  # it would hold the new site's chips at once
    value = margin_value_usd(model, firm, h100e, u, months)
    rate = firm.annual_rate()
    building = h100e / tech.density_now() * p.facility_cost_usd_per_mw
    used = investment.annuity_factor(rate, p.chip_useful_life_months) / max(
        investment.annuity_factor(rate, p.facility_life_months), 1e-9
    )
    capex = h100e * tech.best_chip_price(firm) + building * min(1.0, used)
    return value - capex > p.investment_hurdle * capex


def reviewable(model: ComputeMarket, f: Facility) -> bool:
    """A site its owner may stop or hold chips for: chips still on order and no
    contract sold from it (a signed contract's capacity is built as promised)."""
    if f.status == FacilityStatus.RETIRED or f.pending_h100e < 1.0:
        return False
    return not any(True for _ in model.book.at_site_view(f.facility_id))


def orders_by_site(model: ComputeMarket) -> dict[int, list[tuple[ChipSupplier, ChipOrder]]]:
    out: dict[int, list] = {}
    for s in model.suppliers():
        for o in s.orders:
            if o.open_h100e > 1e-6:
                out.setdefault(o.facility_id, []).append((s, o))
    return out


def review_investments(model: ComputeMarket, firm: Firm, orders: dict[int, list]) -> None:
    """A builder's monthly review of what it is building and has on order, on the same
    valuation as a new build: a site under construction is finished, paused or
    cancelled (``investment.construction_choice``; the money spent is sunk), and the
    chips still on order for a site in service are taken, deferred or cancelled
    (``investment.chip_order_choice``). Sites sold under contract are left alone."""
    retired = FacilityStatus.RETIRED
    for f in list(firm.facilities):
        # (most sites have no chips on order: ``reviewable``'s first test, inline)
        if f.pending_h100e < 1.0 or f.status == retired or not reviewable(model, f):
            continue
        ahead = max(0, f.online_month - model.month)
        u = expected_utilisation(model, firm, ahead, 0.0)
        value = margin_value_usd(model, firm, f.pending_h100e, u, ahead)
        remaining = f.pending_h100e * f.chip_cost_usd_per_h100e
        site_orders = orders.get(f.facility_id, [])
        if f.status == FacilityStatus.UNDER_CONSTRUCTION:
            spoken_for = firm.pending_chip_cost_usd() - remaining
            choice = investment.construction_choice(
                remaining_capex_usd=remaining,
                completion_value_usd=value,
                penalty_share=model.p.construction_pause_penalty_share,
                funds_available_usd=firm.cash_usd - spoken_for,
            )
            construction(model, firm, f, choice, site_orders)
        else:
            action, _ = investment.chip_order_choice(
                open_value_usd=remaining,
                expected_utilisation=u,
                defer_below_utilisation=model.p.chip_order_defer_utilisation,
                cancel_penalty_share=model.p.chip_order_cancel_penalty_share,
                value_if_delivered_usd=value,
            )
            if action == "cancel":
                cancel_orders(model, firm, f, site_orders)
            elif action == "defer":
                for _s, o in site_orders:
                    o.held_until_month = model.month + 1


def construction(model: ComputeMarket, firm: Firm, f: Facility, choice, site_orders) -> None:
    """Carry out a construction choice: a pause holds the chips and pushes the opening
    back a month (its penalty paid when the pause starts); a cancel ends the chip
    orders (each at its penalty) and gives the site up if it has no chips yet."""
    if choice.action == "continue":
        if f.paused:
            f.paused = False
            model.log("build", f"{firm.name} resumes building {f.name}", firm.name)
        return
    if choice.action == "cancel":
        cancel_orders(model, firm, f, site_orders)
        pay_penalty(model, firm, None, choice.penalty_usd, "construction penalty")
        f.paused = False
        if f.installed_h100e < 1.0:
            f.status = FacilityStatus.RETIRED
            firm.forget_free_sites()
            forget_sites_scan(model, f)
        model.log(
            "build",
            f"{firm.name} cancels building {f.name} ({f.power_mw:,.0f} MW; "
            f"penalty ${choice.penalty_usd / 1e9:,.2f}B)",
            firm.name,
        )
        return
    if not f.paused:
        f.paused = True
        pay_penalty(model, firm, None, choice.penalty_usd, "construction penalty")
        model.log(
            "build",
            f"{firm.name} pauses building {f.name} (penalty ${choice.penalty_usd / 1e9:,.2f}B)",
            firm.name,
        )
    f.online_month = max(f.online_month, model.month + 1) + 1
    for _s, o in site_orders:
        o.held_until_month = model.month + 1


def cancel_orders(model: ComputeMarket, firm: Firm, f: Facility, site_orders) -> None:
    """Cancel the undelivered chips for ``f``; each supplier keeps its penalty."""
    share = model.p.chip_order_cancel_penalty_share
    cancelled = 0.0
    for s, o in site_orders:
        left = s.cancel_order(o)
        pay_penalty(model, firm, s, share * left * o.price_usd_per_h100e, "chip order penalty")
        cancelled += left
    f.pending_h100e = max(0.0, f.pending_h100e - cancelled)
    forget_sites_scan(model, f)
    model.counters["chip_orders_cancelled_h100e"] += cancelled
    add_to_outlook(model, -cancelled)
    if cancelled >= 1.0:
        model.log(
            "build",
            f"{firm.name} cancels {cancelled:,.0f} H100e of chips on order for {f.name}",
            firm.name,
        )


def pay_penalty(model: ComputeMarket, firm: Firm, payee, amount: float, memo: str) -> None:
    """A penalty is paid from cash, at most what the firm holds."""
    paid = min(max(0.0, amount), max(0.0, firm.cash_usd))
    if paid > 0:
        model.ledger.pay(firm, payee, paid, memo)


class Appraisal:
    """The hurdle tests of this module as a service the agents reach through their
    World interface (agents never import the model's modules).

    While the investment stage runs (``keeps_scan``) it keeps the outlook's last sum of
    the sites (``sites_scan``: the oldest chips' installation month then, the sum, and
    the last site's id; ``sites_capacity_h100e``) and the oldest chips it found
    (``chips_oldest``). Sites change during the stage only through this module (a new
    site, chips ordered or cancelled, a site given up), which forgets the sum when the
    site changed is one it counts; chips arriving forget both, as does the stage's end. It keeps the expected rental price and running cost of new chips
    (``prices``, ``price_and_running_cost``) for the stage too: their inputs are its key,
    and the parameters and regions' power prices they also read hold for the run."""

    def __init__(self, model: ComputeMarket) -> None:
        self.model = model
        self.keeps_scan = False
        self.sites_scan: tuple[float, float, int] | None = None
        # the oldest chips' installation month at the sites up to an id, or below it
        self.chips_oldest: tuple[float, int] | None = None
        # (expected price, running cost) by their inputs (``price_and_running_cost``)
        self.prices: dict[tuple, tuple[float, float]] | None = None

    def keep_scan(self, keep: bool) -> None:
        """Start (True) or end (False) keeping the sum of the sites and the expected
        prices; either forgets them."""
        self.keeps_scan = keep
        self.forget_sites()
        self.prices = {} if keep else None

    def forget_sites(self) -> None:
        """Forget the sum of the sites and the oldest chips found."""
        self.sites_scan = None
        self.chips_oldest = None

    def build_pays(self, firm: Firm, h100e: float) -> bool:
        return build_pays(self.model, firm, h100e)

    def chips_pay(self, firm: Firm, f: Facility, h100e: float) -> bool:
        return chips_pay(self.model, firm, f, h100e)

    def outlook_kept(self, months_ahead: int) -> bool:
        return outlook_kept(self.model, months_ahead)
