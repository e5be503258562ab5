"""Shopper behaviour: the visits of one stretch of time, as arrays of event rows.

A chunk of minutes gets Poisson visit counts per minute and country; each visit is
then laid out as consecutive event rows in a fixed order of segments (browsing,
view-and-add pairs, cart updates, removals, checkout, failed payment, purchase),
with every segment filled for all visits at once through repeated offsets, so
there is no Python loop per visit or event. Bots, in-store (pos) sales and the
``flat`` preset use the same layout. The result is :class:`Visits`: numpy columns
in visit-major order, plus the line items of every order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from shopstream.events.contract import Channel, Device, EventType, PaymentMethod
from shopstream.generator.calendar import (
    MICROS_PER_MINUTE,
    MINUTES_PER_DAY,
    DayPlan,
    Incident,
    plan_day,
    visit_intensity,
)
from shopstream.generator.columns import lookup
from shopstream.generator.world import (
    CATEGORIES,
    CATEGORY_NAMES,
    CATEGORY_SHARE,
    COUNTRIES,
    PAYMENT_SHARE,
    World,
)
from shopstream.settings import GeneratorSettings

EVENT_TYPES = tuple(EventType)
CODE: dict[str, np.int8] = {t.value: np.int8(i) for i, t in enumerate(EVENT_TYPES)}
CHANNELS = tuple(Channel)
DEVICES = tuple(Device)
PAYMENTS = tuple(PaymentMethod)
PAGES = (
    "/",
    "/deals",
    "/new",
    "/account",
    "/help",
    "/cart",
    *tuple("/category/" + name.lower().replace(" & ", "-").replace(" ", "-") for name in CATEGORY_NAMES),
)
CATEGORY_PAGE = 6  # index of the first category page in PAGES
QUERIES = tuple(q for c in CATEGORIES for noun in c[5] for q in (noun.lower(), f"{c[4][0]} {noun}".lower()))
_QUERY_BOUNDS = np.cumsum([0] + [2 * len(c[5]) for c in CATEGORIES])
_INCIDENT_CODE = {kind: i for i, kind in enumerate(Incident)}
BROWSE_MIX = (0.30, 0.55, 0.15)  # page_view, product_view, search after the landing page
BOT_MIX = (0.2, 0.7, 0.1)
BOT_MIN_EVENTS = 50
"""A bot makes 50 to 200 events in a few minutes: more than a person can."""


@dataclass
class Visits:
    """Event rows (visit-major) and order lines of one chunk; -1 means "none"."""

    n_visits: int
    visit_start_us: npt.NDArray[np.int64]
    visit_is_bot: npt.NDArray[np.bool_]
    visit_events: npt.NDArray[np.int64]
    visit_channel: npt.NDArray[np.int32]
    visit_device: npt.NDArray[np.int32]
    visit_country: npt.NDArray[np.int32]
    visit_store: npt.NDArray[np.int16]
    """Per visit: its rows' channel, device, country and store (looked up through ``visit``,
    which is cheaper than copying them to every row). The codes are int32, the width of an
    Arrow dictionary index, so that the looked-up rows need no cast."""
    # per event row
    visit: npt.NDArray[np.intp]
    event_type: npt.NDArray[np.int8]
    ts_us: npt.NDArray[np.int64]
    user: npt.NDArray[np.int32]
    page: npt.NDArray[np.int8]
    query: npt.NDArray[np.int16]
    results: npt.NDArray[np.int32]
    product: npt.NDArray[np.int32]
    unit_price_cents: npt.NDArray[np.int64]
    price_shown: npt.NDArray[np.bool_]
    quantity: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32]
    payment: npt.NDArray[np.int8]
    failure: npt.NDArray[np.int8]
    order_total_cents: npt.NDArray[np.int64]
    # per order (index = order number within the chunk): its lines
    order_line_start: npt.NDArray[np.int64]
    order_line_count: npt.NDArray[np.int64]
    line_product: npt.NDArray[np.int32]
    line_quantity: npt.NDArray[np.int32]
    line_price_cents: npt.NDArray[np.int64]
    incidents: list[tuple[int, int, int, float, int]] = field(default_factory=list)
    """(kind, start_us, end_us, strength, category) of incidents in this chunk."""


def groups(counts: npt.NDArray[np.integer]) -> npt.NDArray[np.intp]:
    """For counts per group, the group of each member: ``np.repeat(np.arange(len(counts)), counts)``.

    Made with a scatter and a cumulative sum instead, because ``np.repeat`` holds the
    GIL and the chunks are simulated on threads (so does a cumulative sum in place, or one
    that casts: this one writes a new array of its input's type). The groups are ``intp``, numpy's index
    type: ``np.take`` copies an index of any other type to it first.

    >>> groups(np.array([2, 0, 1, 3])).tolist()
    [0, 0, 2, 3, 3, 3]
    """
    first = np.cumsum(counts) - counts
    members = np.flatnonzero(counts)
    steps = np.zeros(int(first[-1] + counts[-1]) if len(counts) else 0, dtype=np.intp)
    # the group number rises at a group's first member
    steps[np.take(first, members)] = np.diff(members, prepend=0)
    group: npt.NDArray[np.intp] = np.cumsum(steps)
    return group


def _ranks(counts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """For counts per group: the group of each member and its rank within the group."""
    group = groups(counts)
    rank = np.arange(len(group)) - np.take(np.cumsum(counts) - counts, group)
    return group, rank


def ranges(starts: npt.NDArray[np.integer], counts: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Concatenation of ``range(start, start + count)`` for every pair, without a loop.

    >>> ranges(np.array([5, 0]), np.array([2, 3])).tolist()
    [5, 6, 0, 1, 2]
    """
    group = groups(counts)
    shift = starts.astype(np.int64) - (np.cumsum(counts) - counts)
    result: npt.NDArray[np.int64] = np.arange(len(group)) + np.take(shift, group)
    return result


_TABLE_SIZE = 4096


@lru_cache(maxsize=64)
def _share_table(shares: tuple[float, ...], values: tuple[int, ...] | None = None) -> npt.NDArray[np.int8]:
    """4096 slots, each holding an index (or the value at it) in proportion to its share
    (a lookup-table sampler)."""
    cdf = np.cumsum(shares) / sum(shares)
    table: npt.NDArray[np.int8] = np.minimum(
        np.searchsorted(cdf, (np.arange(_TABLE_SIZE) + 0.5) / _TABLE_SIZE, side="right"), len(cdf) - 1
    ).astype(np.int8)  # a byte per draw: every share list here is short
    if values is not None:
        table = np.array(values, np.int8)[table]
    return table


def _choice(
    rng: np.random.Generator,
    shares: tuple[float, ...] | npt.NDArray[np.float64],
    n: int,
    values: npt.NDArray[np.int8] | None = None,
) -> npt.NDArray[np.int8]:
    """``n`` weighted draws of indexes, or of ``values`` at them, by table lookup (shares
    resolved to 1/4096).

    >>> _choice(np.random.default_rng(0), (0.0, 1.0), 3, np.array([7, 9], np.int8)).tolist()
    [9, 9, 9]
    """
    table = _share_table(
        tuple(float(x) for x in np.asarray(shares)), None if values is None else tuple(values.tolist())
    )
    return lookup(table, rng.integers(0, _TABLE_SIZE, n, dtype=np.int16), writable=True)


_GAP_TABLE = np.sort(
    np.minimum(np.random.default_rng(0).lognormal(np.log(25.0), 0.9, 1 << 16), 900.0) * 1_000_000
).astype(np.int64)
"""Seconds between a human's events (median 25 s, capped at 15 min), as 65,536 quantiles."""
_RESULTS_TABLE = np.sort(np.random.default_rng(0).poisson(40, 1 << 16)).astype(np.int32)
"""Products a search returns (Poisson, mean 40), as 65,536 quantiles: a table lookup is
cheaper than a Poisson draw."""


def _minute_plans(
    seed: int, first_minute: int, minutes: int, rate: float, opening: bool
) -> tuple[dict[int, DayPlan], list[tuple[int, int, int, float, int]]]:
    """The day plans of the minutes and the incidents that start in them; ``opening`` also
    gives those under way at the first minute, from it on."""
    days = range(first_minute // MINUTES_PER_DAY, (first_minute + minutes - 1) // MINUTES_PER_DAY + 1)
    plans = {day: plan_day(seed, day, rate) for day in days}
    incidents = []
    for day, plan in plans.items():
        for k, s, e, strength, cat in zip(
            plan.incident_kind,
            plan.incident_start,
            plan.incident_end,
            plan.incident_strength,
            plan.incident_category,
            strict=True,
        ):
            start, end = day * MINUTES_PER_DAY + int(s), day * MINUTES_PER_DAY + int(e)
            under_way = opening and start < first_minute < end
            if first_minute <= start < first_minute + minutes or under_way:
                incidents.append(
                    (
                        int(k),
                        max(start, first_minute) * MICROS_PER_MINUTE,
                        end * MICROS_PER_MINUTE,
                        float(strength),
                        int(cat),
                    )
                )
    return plans, incidents


def simulate_visits(
    world: World,
    settings: GeneratorSettings,
    rng: np.random.Generator,
    first_minute: int,
    minutes: int,
    *,
    opening: bool = False,
) -> Visits:
    """All visits starting in ``minutes`` epoch minutes from ``first_minute``, with the
    incidents that start in them (and, when ``opening`` the feed, those already under way)."""
    funnel = settings.funnel
    rate = settings.anomaly_rate
    plans, incidents = _minute_plans(settings.seed, first_minute, minutes, rate, opening)

    # -- per-minute conditions: incidents and promotions -------------------------------
    minute = first_minute + np.arange(minutes, dtype=np.int64)
    day = minute // MINUTES_PER_DAY
    incident = np.full(minutes, -1, dtype=np.int64)
    strength = np.zeros(minutes)
    incident_category = np.zeros(minutes, dtype=np.int64)
    promo_category = np.full(minutes, -1, dtype=np.int64)
    for d, plan in plans.items():
        in_day = day == d
        promo_category[in_day] = plan.promo_category
        for k, s, e, st, cat in zip(
            plan.incident_kind,
            plan.incident_start,
            plan.incident_end,
            plan.incident_strength,
            plan.incident_category,
            strict=True,
        ):
            within = in_day & (minute % MINUTES_PER_DAY >= s) & (minute % MINUTES_PER_DAY < e)
            incident[within], strength[within], incident_category[within] = k, st, cat

    intensity = visit_intensity(first_minute, minutes, settings.sessions_per_day)
    factor = np.where(promo_category >= 0, 1.2, 1.0)
    factor = np.where(incident == _INCIDENT_CODE[Incident.TRAFFIC_SPIKE], 3.5 + 2.5 * strength, factor)
    factor = np.where(incident == _INCIDENT_CODE[Incident.TRAFFIC_DROP], 0.08 + 0.17 * strength, factor)
    counts = rng.poisson(intensity * factor[:, None]).ravel()
    n = int(counts.sum())
    cell = groups(counts)
    v_minute = (cell // len(COUNTRIES)).astype(np.int64)
    v_country = (cell % len(COUNTRIES)).astype(np.int16)
    v_start = (first_minute + v_minute) * MICROS_PER_MINUTE + (rng.random(n) * MICROS_PER_MINUTE).astype(
        np.int64
    )
    v_incident = incident[v_minute]
    v_strength = strength[v_minute]

    def during(kind: Incident) -> npt.NDArray[np.bool_]:
        active: npt.NDArray[np.bool_] = v_incident == _INCIDENT_CODE[kind]
        return active

    # -- who visits, where, on what ----------------------------------------------------
    is_pos = rng.random(n) < funnel.pos_share
    store = np.full(n, -1, dtype=np.int64)
    if is_pos.any():
        picked = world.stores_by_country.draw(rng, v_country[is_pos].astype(np.int64))
        picked = np.where(picked >= 0, picked, rng.integers(len(world.store_country), size=len(picked)))
        store[is_pos] = picked
        v_country[is_pos] = world.store_country[picked]
    is_bot = ~is_pos & (rng.random(n) < rate / 10)
    channel = np.where(is_pos, 2, np.where(rng.random(n) < 0.6, 0, 1)).astype(np.int8)
    channel[is_bot] = 0
    device = np.where(
        channel == 0, _choice(rng, (0.45, 0.45, 0.10), n), np.where(rng.random(n) < 0.5, 3, 4)
    ).astype(np.int8)
    device[is_pos] = 5
    device[is_bot] = 0
    known = np.flatnonzero(np.where(is_pos, rng.random(n) < 0.4, rng.random(n) < funnel.login_rate) & ~is_bot)
    customer = np.full(n, -1, dtype=np.int64)
    customer[known] = world.customers_by_country.draw(rng, v_country[known].astype(np.int64))
    not_yet = (customer >= 0) & (world.customer_registered_us[np.maximum(customer, 0)] > v_start)
    customer[not_yet] = -1
    interest = _choice(rng, CATEGORY_SHARE, n)
    v_promo = promo_category[v_minute]
    boosted = (v_promo >= 0) & (rng.random(n) < 0.25)
    interest = np.where(boosted, v_promo, interest)
    dominated = during(Incident.CATEGORY_DOMINANCE) & (rng.random(n) < 0.9)
    interest = np.where(dominated, incident_category[v_minute], interest)

    # -- how far each visit goes ------------------------------------------------------
    human = ~is_pos & ~is_bot
    n_browse = np.zeros(n, dtype=np.int64)
    n_primary = np.zeros(n, dtype=np.int64)
    checkout = np.zeros(n, dtype=bool)
    failed = np.zeros(n, dtype=bool)
    purchased = np.zeros(n, dtype=bool)
    if funnel.preset == "funnel":
        bounce = rng.random(n) < funnel.bounce_rate
        n_browse = np.ones(n, dtype=np.int64)
        stay = np.flatnonzero(~bounce)
        n_browse[stay] += np.minimum(rng.geometric(0.22, len(stay)), 30)
        cart_p = min(1.0, funnel.cart_rate / max(1e-9, 1 - funnel.bounce_rate))
        cart_p_visit = np.where(during(Incident.CONVERSION_DROP), cart_p * 0.5, cart_p)
        cart = human & ~bounce & (rng.random(n) < cart_p_visit)
        # big spenders fill bigger carts: the monetary spread RFM and lifetime value look for
        with_cart = np.flatnonzero(cart)
        spender = customer[with_cart]
        spend = np.where(spender >= 0, world.customer_spend[np.maximum(spender, 0)], 1.0)
        n_primary[with_cart] = np.minimum(rng.geometric(np.clip(0.62 / spend, 0.25, 0.9)), 6)
        checkout_p = np.where(
            during(Incident.CART_ABANDONMENT_SPIKE),
            funnel.checkout_rate * (0.05 + 0.2 * (1 - v_strength)),
            funnel.checkout_rate,
        )
        checkout = cart & (rng.random(n) < checkout_p)
        pay_p = np.where(during(Incident.CONVERSION_DROP), funnel.purchase_rate * 0.15, funnel.purchase_rate)
        pay = checkout & (rng.random(n) < pay_p)
        fail_p = np.where(during(Incident.REVENUE_DROP), 0.7 + 0.25 * v_strength, funnel.payment_failure_rate)
        failed = pay & (rng.random(n) < fail_p)
        retry_p = np.where(during(Incident.REVENUE_DROP), 0.05, 0.5)
        purchased = pay & (~failed | (rng.random(n) < retry_p))
    else:  # flat: independent events in the 60/30/10 mix, each purchase its own one-line order
        length = 1 + np.minimum(rng.geometric(0.12, n), 60)
        views, carts, buys = (rng.binomial(length, share) for share in funnel.flat_mix)
        n_browse = np.maximum(views, 1).astype(np.int64)
        n_primary = np.where(human, carts, 0).astype(np.int64)
        checkout = human & (buys > 0) & (n_primary > 0)
        purchased = checkout.copy()
    n_browse = np.where(is_pos, 0, n_browse)
    bots = np.flatnonzero(is_bot)
    n_browse[bots] = rng.integers(BOT_MIN_EVENTS, 201, size=len(bots))

    # cart adds: primaries plus bundle partners, right after the product that brought them
    primary_visit, _ = _ranks(n_primary)
    bundled = rng.random(len(primary_visit)) < funnel.bundle_rate
    add_visit = np.take(primary_visit, groups(1 + bundled))
    is_partner = np.zeros(len(add_visit), dtype=bool)
    is_partner[np.cumsum(1 + bundled)[bundled] - 1] = True
    add_product = _products_of(world, rng, interest[add_visit], spread=0.1)
    add_product[is_partner] = world.product_partner[add_product[np.flatnonzero(is_partner) - 1]]
    add_qty = _quantities(rng, len(add_visit))
    n_adds = np.bincount(add_visit, minlength=n).astype(np.int64)
    add_first = np.cumsum(n_adds) - n_adds
    has_update = (n_adds > 0) & (rng.random(n) < 0.15)
    has_remove = (n_adds >= 2) & (rng.random(n) < 0.2)
    updated = add_first + (rng.random(n) * np.maximum(n_adds, 1)).astype(np.int64)
    removed = add_first + (rng.random(n) * np.maximum(n_adds, 1)).astype(np.int64)
    new_qty = rng.integers(1, 5, size=n).astype(np.int32)
    final_qty = add_qty.copy()
    final_qty[updated[has_update]] = new_qty[has_update]
    kept = np.ones(len(add_visit), dtype=bool)
    kept[removed[has_remove]] = False

    # in-store sales: one purchase of a few products straight away
    pos_lines = np.zeros(n, dtype=np.int64)
    pos_lines[is_pos] = np.minimum(rng.geometric(0.45, int(is_pos.sum())), 8)
    pos_visit, _ = _ranks(pos_lines)
    pos_product = _products_of(world, rng, _choice(rng, CATEGORY_SHARE, len(pos_visit)), spread=1.0)
    pos_partner = rng.random(len(pos_visit)) < funnel.bundle_rate * 0.5
    pos_product = np.where(
        pos_partner & (np.arange(len(pos_visit)) > 0),
        world.product_partner[np.roll(pos_product, 1)],
        pos_product,
    )
    purchased = purchased | is_pos

    # -- layout: each visit's rows in segment order -----------------------------------
    segments = [
        n_browse,
        2 * n_adds,
        has_update.astype(np.int64),
        has_remove.astype(np.int64),
        (checkout & ~is_pos).astype(np.int64),
        failed.astype(np.int64),
        purchased.astype(np.int64),
    ]
    visit_events = segments[0].copy()
    for counts_of_segment in segments[1:]:
        visit_events += counts_of_segment  # cheaper than np.sum of the stacked segments
    base = np.cumsum(visit_events) - visit_events
    offset = base.copy()
    seg_start = []
    for counts_of_segment in segments:
        seg_start.append(offset.copy())
        offset += counts_of_segment
    total = int(visit_events.sum())
    visit = groups(visit_events)
    product = np.full(total, -1, dtype=np.int32)
    quantity = np.zeros(total, dtype=np.int32)
    page = np.full(total, -1, dtype=np.int8)
    query = np.full(total, -1, dtype=np.int16)
    results = np.zeros(total, dtype=np.int32)

    # browsing: drawn for every row, then the later segments (few rows) write over theirs
    browse_codes = np.array(
        [CODE[EventType.PAGE_VIEW], CODE[EventType.PRODUCT_VIEW], CODE[EventType.SEARCH]], np.int8
    )
    etype = _choice(rng, BROWSE_MIX, total, browse_codes)
    bot_rows = ranges(base[is_bot], visit_events[is_bot])  # bots only browse
    etype[bot_rows] = _choice(rng, BOT_MIX, len(bot_rows), browse_codes)
    landing_rows = base[(n_browse > 0) & ~is_bot]  # humans land on a page
    etype[landing_rows] = CODE[EventType.PAGE_VIEW]
    # the rows of the segments after browsing: view-and-add pairs, then one row each
    add_rank = np.arange(len(add_visit)) - np.take(add_first, add_visit)
    view_rows = np.take(seg_start[1], add_visit) + 2 * add_rank
    upd_rows, rm_rows, ck_rows, fl_rows, pu_rows = (
        np.compress(flag, start)
        for start, flag in zip(
            seg_start[2:], (has_update, has_remove, checkout & ~is_pos, failed, purchased), strict=True
        )
    )
    etype[view_rows] = CODE[EventType.PRODUCT_VIEW]
    etype[view_rows + 1] = CODE[EventType.ADD_TO_CART]
    for rows, code in zip((upd_rows, rm_rows, ck_rows, fl_rows, pu_rows), _SEGMENT_CODES, strict=True):
        etype[rows] = code
    # product views here include those of view-and-add pairs, whose products are set below
    viewing = np.flatnonzero(etype == CODE[EventType.PRODUCT_VIEW])
    product[viewing] = _products_of(world, rng, np.take(interest, np.take(visit, viewing)), spread=0.25)
    paging = np.flatnonzero(etype == CODE[EventType.PAGE_VIEW])
    first_row = np.zeros(total, dtype=bool)
    first_row[landing_rows] = True
    landing = np.take(first_row, paging) & (rng.random(len(paging)) < 0.5)
    page[paging] = np.where(
        landing,
        0,
        np.where(
            rng.random(len(paging)) < 0.6,
            CATEGORY_PAGE + np.take(interest, np.take(visit, paging)),
            rng.integers(0, CATEGORY_PAGE, len(paging)),
        ),
    )
    searching = np.flatnonzero(etype == CODE[EventType.SEARCH])
    cat = np.take(interest, np.take(visit, searching))
    query[searching] = _QUERY_BOUNDS[cat] + (
        rng.random(len(searching)) * (_QUERY_BOUNDS[cat + 1] - _QUERY_BOUNDS[cat])
    ).astype(np.int64)
    results[searching] = lookup(_RESULTS_TABLE, rng.integers(0, 1 << 16, len(searching), dtype=np.uint16))

    # view-and-add pairs
    product[view_rows] = product[view_rows + 1] = add_product
    quantity[view_rows + 1] = add_qty
    # updates and removals
    product[upd_rows] = add_product[updated[has_update]]
    quantity[upd_rows] = new_qty[has_update]
    product[rm_rows] = add_product[removed[has_remove]]
    quantity[rm_rows] = final_qty[removed[has_remove]]

    # -- time: gaps within the visit ---------------------------------------------------
    elapsed = np.cumsum(lookup(_GAP_TABLE, rng.integers(0, 1 << 16, total, dtype=np.uint16)))
    # bots keep a pace of their own: only differences within a visit count, so the running
    # sum over their rows (whole visits, in order) may start afresh
    elapsed[bot_rows] = np.cumsum(rng.integers(300_000, 2_500_000, len(bot_rows)))
    # a visit's first event is at its start: take off what the gaps summed to before it
    first_row = np.minimum(base, total - 1)
    ts_us = np.take(v_start - np.take(elapsed, first_row), visit)
    ts_us += elapsed

    # -- prices as shown: catalogue price less the promotion of the row's day ----------
    priced = np.flatnonzero(product >= 0)
    priced_product = np.take(product, priced)
    catalogue_price = lookup(world.product_price_cents, priced_product)
    unit_price = np.zeros(total, dtype=np.int64)
    unit_price[priced] = catalogue_price
    first_day = first_minute // MINUTES_PER_DAY
    row_day = np.take(ts_us, priced) // (MICROS_PER_MINUTE * MINUTES_PER_DAY) - first_day
    # visits that run past the last minute may reach a day after it
    day_plans = [
        plans.get(first_day + d) or plan_day(settings.seed, first_day + d, rate)
        for d in range(int(row_day.max(initial=-1)) + 1)
    ]
    day_promo = np.array([plan.promo_category for plan in day_plans], np.int64)
    if (day_promo >= 0).any():  # a promotion runs: its category's products are cheaper
        on_promo = np.flatnonzero(
            lookup(world.product_category, priced_product) == np.take(day_promo, row_day)
        )
        day_discount = np.array([plan.promo_discount for plan in day_plans])
        discount = np.take(day_discount, np.take(row_day, on_promo))
        unit_price[priced[on_promo]] = np.round(catalogue_price[on_promo] * (1 - discount)).astype(np.int64)
    price_shown = np.zeros(total, dtype=bool)
    price_shown[priced] = True
    if during(Incident.MISSING_PRICES).any():
        priced_visit = np.take(visit, priced)
        price_shown[priced] = ~during(Incident.MISSING_PRICES)[priced_visit] | (
            rng.random(len(priced)) >= 0.35 + 0.5 * v_strength[priced_visit]
        )

    # -- orders: the kept cart lines (or the till's lines), priced as added ------------
    add_price = unit_price[view_rows + 1] if len(view_rows) else np.zeros(0, dtype=np.int64)
    order_of_visit = np.full(n, -1, dtype=np.int64)
    has_order = checkout | is_pos
    order_of_visit[has_order] = np.arange(int(has_order.sum()))
    web_line = kept & has_order[add_visit]
    pos_price = world.product_price_cents[pos_product]
    line_visit = np.concatenate([add_visit[web_line], pos_visit])
    line_product = np.concatenate([add_product[web_line], pos_product]).astype(np.int32)
    line_quantity = np.concatenate([final_qty[web_line], _quantities(rng, len(pos_visit))]).astype(np.int32)
    line_price = np.concatenate([add_price[web_line], pos_price])
    line_order = order_of_visit[line_visit]
    by_order = np.argsort(line_order, kind="stable")
    line_order, line_product = line_order[by_order], line_product[by_order]
    line_quantity, line_price = line_quantity[by_order], line_price[by_order]
    n_orders = int(has_order.sum())
    order_line_count = np.bincount(line_order, minlength=n_orders).astype(np.int64)
    order_line_start = np.cumsum(order_line_count) - order_line_count
    order_total = (
        np.bincount(line_order, weights=line_quantity * line_price, minlength=n_orders)
        .round()
        .astype(np.int64)
    )
    order = np.full(total, -1, dtype=np.int32)
    order_rows = np.concatenate([ck_rows, fl_rows, pu_rows])
    order[order_rows] = order_of_visit[visit[order_rows]]
    order_total_cents = np.zeros(total, dtype=np.int64)
    order_total_cents[order_rows] = lookup(order_total, np.take(order, order_rows))
    payment = np.full(total, -1, dtype=np.int8)
    paying = np.concatenate([fl_rows, pu_rows])
    method = _choice(rng, tuple(PAYMENT_SHARE.values()), n)
    method = np.where(
        is_pos,
        np.where(
            rng.random(n) < 0.35, PAYMENTS.index(PaymentMethod.CASH), PAYMENTS.index(PaymentMethod.CARD)
        ),
        method,
    )
    payment[paying] = method[visit[paying]]
    failure = np.full(total, -1, dtype=np.int8)
    failure[fl_rows] = _choice(rng, (0.5, 0.25, 0.15, 0.1), len(fl_rows))

    # -- anonymous browsing before login ----------------------------------------------
    user = np.take(customer.astype(np.int32), visit)
    late_login = (customer >= 0) & ~is_pos & (rng.random(n) < 0.3)
    before_login = (rng.random(n) * np.maximum(n_browse, 1)).astype(np.int64)  # rows browsed anonymously
    user[ranges(base[late_login], before_login[late_login])] = -1

    return Visits(
        n_visits=n,
        visit_start_us=v_start,
        visit_is_bot=is_bot,
        visit_events=visit_events,
        visit_channel=channel.astype(np.int32),
        visit_device=device.astype(np.int32),
        visit_country=v_country.astype(np.int32),
        visit_store=store.astype(np.int16),
        visit=visit,
        event_type=etype,
        ts_us=ts_us,
        user=user,
        page=page,
        query=query,
        results=results,
        product=product,
        unit_price_cents=unit_price,
        price_shown=price_shown,
        quantity=quantity,
        order=order,
        payment=payment,
        failure=failure,
        order_total_cents=order_total_cents,
        order_line_start=order_line_start,
        order_line_count=order_line_count,
        line_product=line_product,
        line_quantity=line_quantity,
        line_price_cents=line_price,
        incidents=incidents,
    )


_PER_VISIT = (
    "visit_start_us",
    "visit_is_bot",
    "visit_events",
    "visit_channel",
    "visit_device",
    "visit_country",
    "visit_store",
)
_PER_ROW = (
    "visit",
    "event_type",
    "ts_us",
    "user",
    "page",
    "query",
    "results",
    "product",
    "unit_price_cents",
    "price_shown",
    "quantity",
    "order",
    "payment",
    "failure",
    "order_total_cents",
)
_PER_ORDER = ("order_line_start", "order_line_count")
_PER_LINE = ("line_product", "line_quantity", "line_price_cents")
"""The arrays of :class:`Visits`, by what they have one value for."""


def since(visits: Visits, start_us: int) -> Visits:
    """What of ``visits`` happens from ``start_us`` on: the visits still under way then,
    with their later rows, orders and lines only, and none of their incidents.

    A visit's rows are in time order, so each keeps a tail, and its start and event count
    become those of the tail. A bot under way stays a bot (labelled as one) only if its
    tail still has :data:`BOT_MIN_EVENTS`: a shorter one does not show what makes it a bot.
    """
    rows = np.flatnonzero(visits.ts_us >= start_us)
    old_visit = np.take(visits.visit, rows)
    kept_visit = np.zeros(visits.n_visits, bool)
    kept_visit[old_visit] = True
    old_order = np.take(visits.order, rows)
    ordering = old_order >= 0
    kept_order = np.zeros(len(visits.order_line_count), bool)
    kept_order[old_order[ordering]] = True
    orders = np.flatnonzero(kept_order)
    line_count = visits.order_line_count[orders]
    line = ranges(visits.order_line_start[orders], line_count)
    picks = [(_PER_VISIT, np.flatnonzero(kept_visit)), (_PER_ROW, rows), (_PER_LINE, line)]
    tail = {name: getattr(visits, name)[at] for names, at in picks for name in names}
    visit = np.take(np.cumsum(kept_visit) - 1, old_visit)
    visit_events = np.bincount(visit, minlength=len(tail["visit_events"])).astype(np.int64)
    tail["order"][ordering] = np.take(np.cumsum(kept_order) - 1, old_order[ordering])  # a copy: renumbered
    tail |= {
        "visit": visit.astype(np.intp),
        "visit_start_us": np.maximum(tail["visit_start_us"], start_us),
        "visit_events": visit_events,
        "visit_is_bot": tail["visit_is_bot"] & (visit_events >= BOT_MIN_EVENTS),
        "order_line_start": np.cumsum(line_count) - line_count,
        "order_line_count": line_count,
    }
    return Visits(n_visits=len(visit_events), **tail)


def join(parts: list[Visits]) -> Visits:
    """The visits of ``parts`` as one chunk's, in order: visit and order numbers of each
    part follow those of the parts before it."""
    if len(parts) == 1:
        return parts[0]

    def numbered(name: str, sizes: list[int]) -> npt.NDArray[Any]:
        """The parts' ``name`` numbers, each after those of the parts before (-1 stays "none")."""
        firsts = np.cumsum([0, *sizes[:-1]])
        return np.concatenate(
            [
                np.where(numbers >= 0, numbers + first, numbers).astype(numbers.dtype)
                for numbers, first in zip((getattr(p, name) for p in parts), firsts, strict=True)
            ]
        )

    names = (*_PER_VISIT, *_PER_ROW, *_PER_ORDER, *_PER_LINE)
    joined = {name: np.concatenate([getattr(p, name) for p in parts]) for name in names}
    joined |= {
        "visit": numbered("visit", [p.n_visits for p in parts]),
        "order": numbered("order", [len(p.order_line_count) for p in parts]),
        "order_line_start": numbered("order_line_start", [len(p.line_product) for p in parts]),
    }
    return Visits(
        n_visits=sum(p.n_visits for p in parts),
        incidents=[incident for p in parts for incident in p.incidents],
        **joined,
    )


_SEGMENT_CODES = tuple(
    CODE[t]
    for t in (
        EventType.UPDATE_CART,
        EventType.REMOVE_FROM_CART,
        EventType.CHECKOUT_STARTED,
        EventType.PURCHASE_FAILED,
        EventType.PURCHASE,
    )
)


def _products_of(
    world: World, rng: np.random.Generator, interest: npt.NDArray[np.integer], spread: float
) -> npt.NDArray[np.int64]:
    """Products by popularity, from the visit's category of interest (or, with ``spread``, any)."""
    categories = interest.copy()
    wander = np.flatnonzero(rng.random(len(interest)) < spread)
    categories[wander] = _choice(rng, CATEGORY_SHARE, len(wander))
    size = lookup(world.product_table_size, categories)
    slot = lookup(world.product_table_start, categories) + (rng.random(len(interest)) * size).astype(np.int64)
    picked: npt.NDArray[np.int64] = np.take(world.product_table, slot, mode="clip")
    if not world.product_table_size.all():  # a category without products (tiny catalogues): any product
        empty = np.flatnonzero(size == 0)
        picked[empty] = rng.integers(world.n_products, size=len(empty))
    return picked


def _quantities(rng: np.random.Generator, n: int) -> npt.NDArray[np.int32]:
    """Units per cart line: mostly one, sometimes a few."""
    return (1 + _choice(rng, (0.78, 0.15, 0.04, 0.02, 0.01), n)).astype(np.int32)
