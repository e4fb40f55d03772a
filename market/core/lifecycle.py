"""Money, failure and consolidation: the second half of the settlement stage.

Fundraising (with strategic investors and circular deals, each round bounded by the
lab's valuation), borrowing against assets (``market.core.credit``), lab exits, neocloud
defaults, distressed-asset auctions, acquisitions of weak rivals and merger review.
These procedures move firms, sites and contracts in the model; the decisions they
take rest on the plain functions in ``market.mechanisms.finance`` and ``market.mechanisms.metrics``.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from agents import Hyperscaler, Lab, Neocloud
from market.core import contracting, credit, estate
from market.core.credit import site_value_usd
from market.io.records import (
    HOURS_PER_MONTH,
    RFQ,
    ContractState,
    EndReason,
    FacilityStatus,
    Origin,
    Purpose,
    Sentiment,
)
from market.mechanisms import finance, metrics, valuation

if TYPE_CHECKING:
    from agents import Firm
    from market.core.model import ComputeMarket

# an acquisition's event says how much debt came with the firm from this amount on
DEBT_WORTH_MENTIONING_USD = 5e6
# acquisitions: (target type, other types that may buy it, the types of the segment
# that merger review measures), in the order the rivals are considered each month
ACQUISITION_SEGMENTS = (
    (Lab, (), (Lab,)),
    (Neocloud, (Hyperscaler,), (Hyperscaler, Neocloud, Lab)),
)


def settle(model: ComputeMarket) -> None:
    """Sentiment moves; short labs raise money; labs and neoclouds still short borrow
    against their sites and contracts, or exit (labs) and default (neoclouds); strong
    firms may buy distressed rivals."""
    p = model.p
    before = model.sentiment
    model.sentiment = Sentiment(
        finance.next_sentiment(model.sentiment, p.sentiment_persistence, float(model.rng.random()))
    )
    if model.sentiment != before:
        model.log("sentiment", f"investor sentiment turns from {before} to {model.sentiment}")
    labs = model.labs()
    ranked = sorted(labs, key=lambda lab: (-lab.capability, lab.unique_id))
    rank_score = {lab.unique_id: 1.0 - i / max(1, len(ranked) - 1) for i, lab in enumerate(ranked)}
    investors = Investors(model)
    try:
        for lab in labs:
            fundraise(model, lab, rank_score[lab.unique_id], investors)
    finally:
        investors.close()
    for firm in [*model.labs(), *model.of_type(Neocloud)]:
        credit.borrow_against_assets(model, firm)  # short of cash: borrow before exiting
    kept = KeptSizes()  # merger review's table of sizes, from one auction to the next
    for lab in model.labs():
        if lab.cash_usd < 0:
            exit_firm(model, lab, "runs out of cash and exits", kept)
    for neo in model.of_type(Neocloud):
        if neo.cash_usd < 0:
            model.counters["defaults"] += 1
            exit_firm(model, neo, "defaults on its debt", kept)
    acquisitions(model)


def mood(model: ComputeMarket) -> float:
    """Investors' mood: scales round sizes and valuations (normal: 1)."""
    p = model.p
    return {
        Sentiment.WINTER: p.sentiment_multiplier_winter,
        Sentiment.NORMAL: 1.0,
        Sentiment.BOOM: p.sentiment_multiplier_boom,
    }[model.sentiment]


def fundraise(
    model: ComputeMarket, lab: Lab, rank_score: float, investors: Investors | None = None
) -> None:
    p = model.p
    if not lab.wants_to_raise():
        return
    lab.last_raise_month = model.month
    growth = lab.revenue_growth_per_year()
    odds = finance.raise_probability(
        growth, rank_score, model.sentiment, finance.RaiseOdds.from_params(p)
    )
    if model.rng.random() >= odds:
        model.log("raise", f"{lab.name} fails to raise money ({model.sentiment} market)", lab.name)
        return
    value = valuation.valuation_usd(
        12.0 * lab.revenue_usd, p.valuation_revenue_multiple, mood(model)
    )
    bound = p.raise_max_share_of_valuation * value
    amount = valuation.raise_amount_usd(
        lab.raise_target_usd(mood(model)), value, p.raise_max_share_of_valuation
    )
    if amount <= 0:
        model.log("raise", f"{lab.name} fails to raise money (no revenue to value)", lab.name)
        return
    strategic = amount * p.strategic_investment_share
    investor = strategic_investor(model, lab, strategic, investors)
    if investor is None:
        strategic = 0.0
    model.ledger.pay(None, lab, amount - strategic, "equity raise")
    text = f"{lab.name} raises ${amount / 1e9:,.1f}B at a ${value / 1e9:,.0f}B valuation"
    if investor is not None:
        model.ledger.pay(investor, lab, strategic, "strategic investment")
        model.network.invested(investor.unique_id, lab.unique_id, strategic)
        lab.investors[investor.unique_id] = lab.investors.get(investor.unique_id, 0.0) + strategic
        text += f", ${strategic / 1e9:,.1f}B of it from {investor.name}"
        circular_deal(model, investor, lab, strategic)
    credit.record(model, lab, "equity", amount, value, bound, strategic)
    model.log("raise", text + f" ({model.sentiment} market)", lab.name)


def strategic_investor(
    model: ComputeMarket, lab: Lab, amount: float, investors: Investors | None = None
):
    """The richest hyperscaler that can spare the money and has capacity to sell."""
    if amount <= 0:
        return None
    richest = (
        investors.richest()
        if investors is not None
        else max(
            (h for h in model.of_type(Hyperscaler) if _can_invest(h)),
            key=lambda h: (h.cash_usd, -h.unique_id),
            default=None,
        )
    )
    if richest is None or richest.cash_usd <= model.p.strategic_investor_cash_multiple * amount:
        return None
    return richest


def _can_invest(h) -> bool:
    return h.active and bool(h.facilities or h.max_build_mw > 0)


class Investors:
    """The hyperscalers by cash, richest first (most cash, then lowest id), for the
    strategic-investor search of one fundraising round: a heap of (cash, firm) kept
    right by re-entering every firm whose cash the ledger saw move, so a search
    touches only the firms at the top instead of every hyperscaler."""

    def __init__(self, model: ComputeMarket) -> None:
        self.ledger = model.ledger
        self.ledger.touched = set()
        self.by_id = {h.unique_id: h for h in model.of_type(Hyperscaler)}
        self.heap = [(-h.cash_usd, h.unique_id) for h in self.by_id.values()]
        heapq.heapify(self.heap)

    def richest(self):
        touched = self.ledger.touched or set()
        for uid in touched & self.by_id.keys():
            heapq.heappush(self.heap, (-self.by_id[uid].cash_usd, uid))
        touched.clear()
        passed = []  # firms that cannot invest now may later: back in afterwards
        found = None
        while self.heap:
            cash, uid = self.heap[0]
            h = self.by_id[uid]
            if -cash != h.cash_usd:  # an old entry: the firm is in again with its cash
                heapq.heappop(self.heap)
            elif not _can_invest(h):
                passed.append(heapq.heappop(self.heap))
            else:
                found = h
                break
        for entry in passed:
            heapq.heappush(self.heap, entry)
        return found

    def close(self) -> None:
        self.ledger.touched = None


def circular_deal(model: ComputeMarket, investor, lab: Lab, amount: float) -> None:
    """The investor's money comes back as a compute commitment with the investor."""
    term = lab.term_months
    start = model.month + 1
    p = model.p
    res = lab.value_usd_per_h100e_hour(False) * p.circular_deal_value_markup
    floor = p.circular_deal_min_price_usd_per_h100e_hour
    size = amount / (max(model.spot_index, floor) * HOURS_PER_MONTH * term)
    for start_at in (start, model.month + investor.build_months() + 1):
        rfq = RFQ(
            buyer_id=lab.unique_id,
            capacity_h100e=size,
            start_month=start_at,
            term_months=term,
            contiguous=False,
            purpose=Purpose.INFERENCE,
            reservation_usd_per_h100e_hour=res,
            buyer_credit=lab.credit_rating,
        )
        quotes = investor.quotes(rfq)
        if quotes:
            q = min(quotes, key=lambda q: (q.ask_usd_per_h100e_hour, q.facility_id or 0))
            take = min(
                q.capacity_h100e, amount / (q.ask_usd_per_h100e_hour * HOURS_PER_MONTH * term)
            )
            if take >= 1.0:
                contracting.sign(
                    model,
                    lab,
                    q,
                    take,
                    q.ask_usd_per_h100e_hour,
                    Purpose.INFERENCE,
                    Origin.CIRCULAR_DEAL,
                )
                model.counters["circular_deals"] += 1
            return


# ---------------------------------------------------------------------- exits
def exit_firm(model: ComputeMarket, firm: Firm, why: str, kept: KeptSizes | None = None) -> None:
    """The firm leaves: its sellers file claims for the purchases it walks away from,
    which then end; its sites (with the contracts sold from them) are auctioned, the
    proceeds to the firm; its estate is paid out to lenders, sellers and owners
    (``market.core.estate``); its users go to rivals; what it still owes beyond its
    estate is written off."""
    model.log("exit", f"{firm.name} {why}", firm.name)
    model.counters["exits"] += 1
    claims = estate.file_claims(model, firm)
    for c in model.book.bought_by(firm.unique_id):
        model.book.end(c, EndReason.BUYER_EXIT, model.month)
    for f in list(firm.facilities):
        claims.proceeds_usd += auction_site(model, firm, f, kept)
    for c in model.book.sold_by(firm.unique_id):  # contracts whose site found no buyer
        model.book.end(c, EndReason.SELLER_EXIT, model.month)
    estate.pay_out(model, firm, claims)
    if isinstance(firm, Lab):
        users_to_rivals(model, firm)
    remove(model, firm)
    if kept is not None:
        kept.stale(firm)


def users_to_rivals(model: ComputeMarket, lab: Lab) -> None:
    """An exiting lab's users move to the labs that stay, in proportion to their
    shares (equally when none has any), so the shares still sum to 1."""
    rivals = [r for r in model.labs() if r is not lab]
    if not rivals or lab.share <= 0:
        return
    total = sum(r.share for r in rivals)
    for r in rivals:
        r.share += lab.share * (r.share / total if total > 0 else 1.0 / len(rivals))
    lab.share = 0.0


def remove(model: ComputeMarket, firm) -> None:
    model.ledger.write_off(firm)
    firm.active = False
    model.network.remove_firm(firm.unique_id)
    firm.remove()


def auction_site(model: ComputeMarket, seller, f, kept: KeptSizes | None = None) -> float:
    """Second-price auction among firms that can pay; merger review applies. The
    winner pays the seller; returns the price (0 when the site finds no buyer).
    ``kept``: firms' sizes kept from the auction before (``KeptSizes``)."""
    p = model.p
    value = site_value_usd(model, f) * (1.0 - p.distressed_asset_discount)
    bids = auction_bids(model, seller, value)
    sizes: dict[int, float] = {}  # firms' sizes before the sale, for merger review
    while bids:
        won = finance.second_price(bids, p.auction_reserve_share * value)
        if won is None:
            break
        winner_id, price = won
        winner = model.firm(winner_id)
        if p.merger_review != "off" and not sizes:  # only a review reads them
            sizes = kept.current(model) if kept is not None else firm_sizes(model)
        if review_blocks(model, sizes, winner_id, f.capacity_h100e, f"{f.name} to {winner.name}"):
            bids = [b for b in bids if b[1] != winner_id]
            continue
        model.ledger.pay(winner, seller, price, "asset purchase")
        transfer_site(model, seller, winner, f)
        if kept is not None:
            kept.stale(seller, winner)
        model.counters["acquisitions"] += 1
        model.log(
            "auction",
            f"{winner.name} buys {f.name} ({f.power_mw:,.0f} MW) from "
            f"{seller.name} at auction for ${price / 1e9:,.2f}B",
            winner.name,
            seller.name,
        )
        return price
    f.status = FacilityStatus.RETIRED
    if kept is not None:
        kept.stale(seller)
    for c in model.book.at_site(f.facility_id):
        model.book.end(c, EndReason.SELLER_EXIT, model.month)
    seller.facilities.remove(f)
    model.log("auction", f"{f.name} of {seller.name} finds no buyer and closes", seller.name)
    return 0.0


def auction_bids(model: ComputeMarket, seller, value: float) -> list[tuple[float, int]]:
    """(bid, firm id) of every firm that wants sites and has the cash for its bid: each
    bidder, in id order by type, bids ``value`` times a share drawn between
    ``auction_bid_min_share`` and that plus ``auction_bid_spread``. The draws are made
    in one call, which gives the numbers one draw per bidder in turn would."""
    p = model.p
    bidders = [
        firm for firm in model.firms() if firm is not seller and firm.active and firm.wants_sites()
    ]
    if not bidders:
        return []
    shares = p.auction_bid_min_share + p.auction_bid_spread * model.rng.random(len(bidders))
    amounts = (value * shares).tolist()
    return [
        (bid, firm.unique_id)
        for firm, bid in zip(bidders, amounts, strict=True)
        if firm.cash_usd >= bid
    ]


class KeptSizes:
    """Every firm's online capacity as merger review of an auction reads it
    (``firm_sizes``), kept from one auction to the next while a run of exits is
    auctioned. Only an auction moves or closes a site there, so only its seller's and
    winner's sizes change, and a firm that exits drops out: each of those is worked out
    again the way the whole table is, in place, so the table equals a fresh one, in
    the same order (at 10,000 agents a month with many defaults auctioned hundreds of
    sites, and every auction summed the sites of every firm)."""

    def __init__(self) -> None:
        self.sizes: dict[int, float] | None = None
        self._stale: dict[int, Firm] = {}

    def stale(self, *firms: Firm) -> None:
        """Firms whose sites moved or closed, or that left the market."""
        for firm in firms:
            self._stale[firm.unique_id] = firm

    def current(self, model: ComputeMarket) -> dict[int, float]:
        if self.sizes is None:
            self.sizes = firm_sizes(model)
            self._stale.clear()
        for uid, firm in self._stale.items():
            if uid not in self.sizes:
                continue
            if model.firm(uid) is firm:
                self.sizes[uid] = firm.online_capacity_h100e()
            else:  # it left the market
                del self.sizes[uid]
        self._stale.clear()
        return self.sizes


def firm_sizes(model: ComputeMarket) -> dict[int, float]:
    """Each firm's online capacity, in ``model.firms()`` order: for merger review."""
    return {x.unique_id: x.online_capacity_h100e() for x in model.firms()}


def transfer_site(model: ComputeMarket, old, new, f) -> None:
    old.facilities.remove(f)
    new.facilities.append(f)
    f.owner_id = new.unique_id
    for c in model.book.at_site(f.facility_id):
        if c.state == ContractState.ENDED:
            continue
        if c.buyer_id == new.unique_id:  # the buyer now owns the site it rented
            model.book.end(c, EndReason.MERGED, model.month)
            continue
        model.book.move_seller(c, new.unique_id)
    for s in model.suppliers():
        for o in s.orders:
            if o.facility_id == f.facility_id:
                o.buyer_id = new.unique_id


def review_blocks(
    model: ComputeMarket,
    sizes: dict,
    acquirer_id: int,
    added: float,
    what: str,
    target_id: int | None = None,
) -> bool:
    """Merger review: block when the deal pushes segment HHI over the threshold by
    more than the delta. ``sizes`` are the segment's firm sizes before the deal."""
    p = model.p
    if p.merger_review == "off":
        return False
    trial = dict(sizes)
    if target_id is None:
        target_id = -1
        trial[target_id] = added
    blocked, after, rise = metrics.merger_blocked(
        trial, acquirer_id, target_id, p.merger_hhi_threshold, p.merger_hhi_delta
    )
    if blocked:
        model.counters["blocked"] += 1
        model.log(
            "merger review",
            f"merger review blocks {what} (HHI would reach {after:,.0f}, up {rise:,.0f})",
        )
    return blocked


# ---------------------------------------------------------------------- acquisitions
def acquisitions(model: ComputeMarket) -> None:
    """Now and then the largest firm of a segment bids for a rival: its most distressed
    one at a distressed price, or else its smallest one at the going valuation."""
    p = model.p
    for target_type, other_buyers, segment in ACQUISITION_SEGMENTS:
        if model.rng.random() >= p.acquisition_rate:
            continue
        firms = model.of_type(target_type)
        if len(firms) < 2:
            continue
        buyers = list(firms) + [f for t in other_buyers for f in model.of_type(t)]
        acquirer = max(buyers, key=lambda f: (f.segment_size_h100e(), -f.unique_id))
        target, price = takeover_target(model, acquirer, [f for f in firms if f is not acquirer])
        if (
            acquirer.free_cash_usd()
            < p.acquisition_cash_cover * price + p.acquisition_cash_buffer_usd
        ):
            continue
        sizes = {x.unique_id: x.segment_size_h100e() for t in segment for x in model.of_type(t)}
        if review_blocks(
            model,
            sizes,
            acquirer.unique_id,
            0.0,
            f"{acquirer.name} acquiring {target.name}",
            target.unique_id,
        ):
            continue
        merge(model, acquirer, target, price)


def takeover_target(model: ComputeMarket, acquirer, rivals: list) -> tuple:
    """(target, price): the most distressed rival at its assets' distressed value, or
    else the smallest at its assets plus a revenue multiple at the market's mood."""
    p = model.p
    short = p.distressed_runway_share * p.fundraise_runway_months
    distressed = [f for f in rivals if f.runway_months() < short]
    assets = lambda f: sum(site_value_usd(model, s) for s in f.facilities)  # noqa: E731
    if distressed:
        target = min(distressed, key=lambda f: (f.runway_months(), f.unique_id))
        price = max(
            0.0,
            assets(target) * (1 - p.distressed_asset_discount) + target.cash_usd - target.debt_usd,
        )
        return target, price
    target = min(rivals, key=lambda f: (f.segment_size_h100e(), f.unique_id))
    price = max(
        0.0,
        assets(target)
        + target.cash_usd
        - target.debt_usd
        + 12.0 * target.revenue_usd * p.valuation_revenue_multiple * mood(model),
    )
    return target, price


def merge(model: ComputeMarket, acquirer, target, price: float) -> None:
    """``acquirer`` takes over ``target``: sites, contracts, cash, debt, users."""
    model.ledger.pay(acquirer, None, price, "acquisition")
    for f in list(target.facilities):
        transfer_site(model, target, acquirer, f)
    for c in model.book.sold_by(target.unique_id):
        model.book.move_seller(c, acquirer.unique_id)
    for c in model.book.bought_by(target.unique_id):
        if c.seller_id == acquirer.unique_id:
            model.book.end(c, EndReason.MERGED, model.month)
            continue
        model.book.move_buyer(c, acquirer.unique_id)
    model.ledger.pay(target, acquirer, max(0.0, target.cash_usd), "acquired cash")
    debt = target.debt_usd
    # the acquirer takes over every loan as it stands: rate, schedule, undrawn commitment
    acquirer.loans.extend(target.loans)
    target.loans = []
    acquirer.absorb(target)
    model.counters["acquisitions"] += 1
    model.log(
        "acquisition",
        f"{acquirer.name} acquires {target.name} for ${price / 1e9:,.2f}B"
        + (
            f" and takes on its ${debt / 1e9:,.2f}B of debt"
            if debt >= DEBT_WORTH_MENTIONING_USD
            else ""
        ),
        acquirer.name,
        target.name,
    )
    model.network.merge(acquirer.unique_id, target.unique_id)
    remove(model, target)
