"""The shop simulator: a deterministic stream of Arrow event batches with labels.

:class:`Simulator` cuts simulated time into chunks (a fixed number of minutes that
holds a few hundred thousand events at the configured traffic). For each chunk it:

1. simulates the visits (:mod:`shopstream.generator.visits`) and the customer events;
2. runs the stock model: sales lower each product's stock, which is restocked by
   ``product_updated`` events when it falls to its reorder point;
3. injects record anomalies and feed faults at ``anomaly_rate`` (see
   :data:`ANOMALY_POPULATION`) and keeps their ground truth in a separate labels table;
4. orders the rows by the time they reach the shop's feed: late events and re-sent
   duplicates are held back and emitted in a later chunk when their time comes.

The same settings and seed give the same batches, byte for byte.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property, partial
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from shopstream.events.contract import EVENTS_SCHEMA, SCHEMA_VERSION, TIMESTAMP, FailureReason
from shopstream.generator.calendar import INCIDENTS, MICROS_PER_MINUTE, MINUTES_PER_DAY
from shopstream.generator.columns import (
    category,
    digit_matrix,
    fixed,
    hex_ids,
    hex_matrix,
    lookup,
    money,
    nulls,
    splitmix64_scalar,
    spread,
    strings,
    take_ids,
    timestamps,
)
from shopstream.generator.visits import (
    CHANNELS,
    CODE,
    DEVICES,
    EVENT_TYPES,
    PAGES,
    PAYMENTS,
    QUERIES,
    Visits,
    groups,
    join,
    ranges,
    simulate_visits,
    since,
)
from shopstream.generator.world import (
    CATEGORY_NAMES,
    COUNTRIES,
    COUNTRY_CODES,
    World,
    build_world,
    start_micros,
)
from shopstream.settings import GeneratorSettings

MICROS = 1_000_000
_T = TypeVar("_T")
_U = TypeVar("_U")
BOGUS_EVENT_TYPES = ("coupon_applied", "wishlist_add", "PageView")
EVENT_TYPE_VALUES = tuple(t.value for t in EVENT_TYPES) + BOGUS_EVENT_TYPES
ALL_CITIES = tuple(city for c in COUNTRIES for city in c[4])
_PAGES, _QUERIES, _CITIES = pa.array(PAGES), pa.array(QUERIES), pa.array(ALL_CITIES)
MISSABLE = ("event_ts", "session_id", "channel", "country")
_MISSABLE_CODE = {"session_id": "visit", "channel": "channel", "country": "country"}
"""The row column whose -1 makes a missable field null anyway."""
_CHUNK_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880)
_EVENTS_PER_VISIT = 9.0
_CHUNK_TARGET_EVENTS = 800_000
"""Upper bound of a chunk's events (estimated at ``_EVENTS_PER_VISIT``, so real chunks hold
about half): larger chunks pay the per-chunk Python work and GIL hand-offs less often; beyond
this the columns stop fitting in cache and time goes up again (measured at 150k-700k)."""
OPEN_MINUTES = 30
"""How long the shop has been open when the feed starts: the visits that began in these
minutes and are still under way give the feed's first minutes their events, as many as
the minutes after at the default funnel (the ``flat`` preset's longest visits leave its
first ten minutes about 2% short)."""
_OPEN_TARGET_EVENTS = 8 * _CHUNK_TARGET_EVENTS
"""Upper bound of the events simulated (estimated as for chunks) for the visits under way
when the feed opens: a live feed of thousands of events a second is opened on fewer minutes
rather than waiting seconds for its first event."""
_WORKERS = 2
"""Threads that simulate and build chunks; numpy and Arrow release the GIL in their loops."""
_LOOKAHEAD = 2
"""Chunks simulated ahead of the one whose batch is awaited. A worker cuts a chunk (stock and
feed order, in chunk order) right after simulating it and submits its build as a task of its
own, so that at the end of a run the last two builds share the two workers."""


class Anomaly(StrEnum):
    """Every kind of injected anomaly; each has a ground-truth label."""

    NEGATIVE_PRICE = "negative_price"
    NEGATIVE_INVENTORY = "negative_inventory"
    ZERO_INVENTORY = "zero_inventory"
    HIGH_QUANTITY = "high_quantity"
    PRICE_SPIKE = "price_spike"
    BOT_SESSION = "bot_session"
    FUTURE_REGISTRATION = "future_registration"
    DUPLICATE = "duplicate"
    MISSING_FIELD = "missing_field"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    LATE = "late"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_CUSTOMER = "unknown_customer"
    WRONG_TYPE = "wrong_type"
    UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
    TRUNCATED_JSON = "truncated_json"
    REVENUE_DROP = "revenue_drop"
    TRAFFIC_SPIKE = "traffic_spike"
    TRAFFIC_DROP = "traffic_drop"
    CART_ABANDONMENT_SPIKE = "cart_abandonment_spike"
    CONVERSION_DROP = "conversion_drop"
    MISSING_PRICES = "missing_prices"
    CATEGORY_DOMINANCE = "category_dominance"


ANOMALIES = tuple(Anomaly)
_A = {kind: np.int8(i) for i, kind in enumerate(ANOMALIES)}
_ENTITY_COLUMNS = ("product_id", "order_id", "user_id")
_ENTITY_COLUMN = {
    Anomaly.NEGATIVE_PRICE: "product_id",
    Anomaly.NEGATIVE_INVENTORY: "product_id",
    Anomaly.ZERO_INVENTORY: "product_id",
    Anomaly.UNKNOWN_PRODUCT: "product_id",
    Anomaly.HIGH_QUANTITY: "order_id",
    Anomaly.PRICE_SPIKE: "order_id",
    Anomaly.FUTURE_REGISTRATION: "user_id",
    Anomaly.UNKNOWN_CUSTOMER: "user_id",
}
_ENTITY_OF_KIND = np.array(
    [
        _ENTITY_COLUMNS.index(_ENTITY_COLUMN[kind]) if kind in _ENTITY_COLUMN else len(_ENTITY_COLUMNS)
        for kind in ANOMALIES
    ],
    np.int8,
)
"""Per kind, the column of ``_ENTITY_COLUMNS`` its label's ``entity_id`` comes from (past the end: none)."""
FEED_FAULTS = (
    Anomaly.DUPLICATE,
    Anomaly.MISSING_FIELD,
    Anomaly.UNKNOWN_EVENT_TYPE,
    Anomaly.LATE,
    Anomaly.UNKNOWN_PRODUCT,
    Anomaly.UNKNOWN_CUSTOMER,
    Anomaly.WRONG_TYPE,
    Anomaly.UNPARSABLE_TIMESTAMP,
    Anomaly.TRUNCATED_JSON,
)
TEXT_FAULTS = frozenset({Anomaly.WRONG_TYPE, Anomaly.UNPARSABLE_TIMESTAMP, Anomaly.TRUNCATED_JSON})
"""Faults only a text feed can carry; typed outputs (Arrow, Parquet) never get them."""

ANOMALY_POPULATION: dict[Anomaly, tuple[str, float]] = {
    Anomaly.NEGATIVE_PRICE: ("product_updated events", 1 / 3),
    Anomaly.NEGATIVE_INVENTORY: ("product_updated events", 1 / 3),
    Anomaly.ZERO_INVENTORY: ("product_updated events", 1 / 3),
    Anomaly.HIGH_QUANTITY: ("purchases", 1 / 2),
    Anomaly.PRICE_SPIKE: ("purchases", 1 / 2),
    Anomaly.BOT_SESSION: ("web and app visits", 1 / 10),
    Anomaly.FUTURE_REGISTRATION: ("user_registered events", 1.0),
    **{kind: ("visit events (non-bot)", 1 / len(FEED_FAULTS)) for kind in FEED_FAULTS},
    **{Anomaly(kind.value): ("time", 1 / len(INCIDENTS)) for kind in INCIDENTS},
}
"""Kind -> (population it is drawn from, share of ``anomaly_rate``): with rate r a
kind affects about ``r * share`` of its population (incidents: of the time)."""

LABELS_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string(), nullable=False),
        pa.field("event_id", pa.string()),
        pa.field("entity_id", pa.string()),
        pa.field("position", pa.int64()),
        pa.field("start_ts", TIMESTAMP),
        pa.field("end_ts", TIMESTAMP),
        pa.field("detail", pa.string()),
    ]
)
"""Ground truth, kept apart from the events: ``position`` is the row's offset in the
emitted stream, ``entity_id`` the product, order, customer or session concerned."""


@dataclass(frozen=True)
class GeneratedBatch:
    """One chunk of the feed: events in the contract's schema and their labels."""

    offset: int
    """Position of the first event in the whole stream."""
    events: pa.Table
    end_ts: datetime
    """Simulated time up to which this batch has emitted the feed."""
    make_labels: Callable[[], pa.Table] = field(repr=False, compare=False)
    """Works :attr:`labels` out."""

    @cached_property
    def labels(self) -> pa.Table:
        """The ground truth of the batch's anomalies (:data:`LABELS_SCHEMA`), worked out when
        first read: a consumer that wants only the events, as ingestion, never pays for it."""
        return self.make_labels()


@dataclass(frozen=True)
class _Sales:
    """Units sold per order line: what lowers the stock."""

    product: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.int64]
    ts: npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Chunk:
    """What simulating one chunk gives, before stock and ordering."""

    parts: list[_Rows]
    """Visit rows, customer-event rows and re-sent duplicates, each in its own column set."""
    sales: _Sales
    chunk: int
    bot_visit: npt.NDArray[np.int64]
    bot_start_us: npt.NDArray[np.int64]
    bot_events: npt.NDArray[np.int64]
    session_ids: npt.NDArray[np.uint8]
    """The session id of each visit of the chunk (registrations' visits last), as 16-byte rows."""
    incidents: list[tuple[int, int, int, float, int]]


@dataclass(frozen=True)
class _Bots:
    """The bot visits first seen in a batch: their chunk, visit numbers, starts and events."""

    chunk: int
    visit: npt.NDArray[np.int64]
    start_us: npt.NDArray[np.int64]
    events: npt.NDArray[np.int64]


@dataclass
class _StockState:
    sold: npt.NDArray[np.int64]
    restocks: npt.NDArray[np.int64]


@dataclass
class _Feed:
    """What passes from one chunk's cut to the next one's, in chunk order."""

    stock: _StockState
    pending: list[_Rows] = field(default_factory=list)
    """Rows of earlier chunks held back because they reach the feed later."""
    emitted: int = 0
    chunks: int = 0
    """Chunks cut so far."""
    over: bool = False
    """The last batch has been cut (or the feed was closed, or a chunk failed): no more cuts."""


@contextmanager
def _in_turn(previous: threading.Event, mine: threading.Event, feed: _Feed) -> Iterator[None]:
    """Runs the body after the chunk before has had its turn, then lets the next chunk have
    its own; a failure ends the feed, so that later chunks cut nothing."""
    previous.wait()
    try:
        yield
    except BaseException:
        feed.over = True
        raise
    finally:
        mine.set()


def _estimated_events_per_minute(settings: GeneratorSettings) -> float:
    """Events per simulated minute on the day's average, at ``_EVENTS_PER_VISIT``."""
    return settings.sessions_per_day * _EVENTS_PER_VISIT / MINUTES_PER_DAY


def chunk_minutes(settings: GeneratorSettings) -> int:
    """Minutes of simulated time per chunk: the largest step that stays near the target size."""
    per_minute = _estimated_events_per_minute(settings)
    fitting = [m for m in _CHUNK_MINUTES if m * per_minute <= _CHUNK_TARGET_EVENTS]
    return fitting[-1] if fitting else 1


def open_minutes(settings: GeneratorSettings) -> int:
    """Minutes of visits simulated before the feed opens: :data:`OPEN_MINUTES`, or as many
    as :data:`_OPEN_TARGET_EVENTS` allows."""
    per_minute = _estimated_events_per_minute(settings)
    return int(min(OPEN_MINUTES, _OPEN_TARGET_EVENTS // max(per_minute, 1.0)))


class Simulator:
    """A simulated shop. ``text_faults`` adds the faults only text feeds can carry."""

    def __init__(self, settings: GeneratorSettings, *, text_faults: bool = False) -> None:
        self.settings = settings
        self.text_faults = text_faults
        self.world: World = build_world(settings)
        self.chunk_minutes = chunk_minutes(settings)
        self.open_minutes = open_minutes(settings)
        n_products, n_customers = self.world.n_products, self.world.n_customers
        # ids that exist nowhere in the catalogue or customer base, for referential faults
        self._product_ids = np.concatenate([self.world.product_ids, digit_matrix("P9", np.arange(1000), 5)])
        self._customer_ids = np.concatenate([self.world.customer_ids, digit_matrix("C9", np.arange(1000), 7)])
        self._unknown_product0, self._unknown_customer0 = n_products, n_customers
        # the category of product p at p + 1 (a row without one reads slot 0); unknown products
        # show the category of the last real one
        category_of = self.world.product_category
        self._product_category = np.concatenate([[0], category_of, np.full(1000, category_of[-1])]).astype(
            np.int32
        )
        self._salt = splitmix64_scalar(settings.seed)
        self._blank = np.zeros(0, np.uint8)
        """Zeros that the batches' all-null columns (and currency's codes) view: allocated once,
        not per batch, and only ever read."""

    def batches(
        self, *, events: int | None = None, days: float | None = None, start: datetime | None = None
    ) -> Iterator[GeneratedBatch]:
        """The feed from ``start`` (default: the settings' start) until ``events`` events
        have been emitted or ``days`` of simulated time have passed (at least one is given).
        """
        if events is None and days is None:
            raise ValueError("give events or days")
        first_minute = start_micros(start or self.settings.start) // MICROS_PER_MINUTE
        end_us = (
            None
            if days is None
            else (first_minute * MICROS_PER_MINUTE + int(days * MINUTES_PER_DAY * MICROS_PER_MINUTE))
        )
        feed = _Feed(
            _StockState(np.zeros(self.world.n_products, np.int64), np.zeros(self.world.n_products, np.int64))
        )

        def past_end(chunk: int) -> bool:
            """Whether the chunk before ``chunk`` ended a --days run (then none is simulated)."""
            return (
                end_us is not None
                and chunk > 0
                and (first_minute + chunk * self.chunk_minutes) * MICROS_PER_MINUTE >= end_us
            )

        with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
            cutting: deque[Future[tuple[Future[GeneratedBatch], bool] | None]] = deque()
            turn = threading.Event()
            turn.set()  # the first chunk cuts without waiting
            submitted = 0

            def simulate_ahead() -> None:
                """Submits the chunks that may be needed, up to _LOOKAHEAD whose cut is not taken yet."""
                nonlocal submitted, turn
                while not past_end(submitted) and (
                    not cutting
                    or (
                        len(cutting) < _LOOKAHEAD
                        and _may_need(events, feed.emitted, feed.chunks, submitted - feed.chunks)
                    )
                ):
                    mine = threading.Event()
                    cutting.append(
                        pool.submit(
                            self._simulate_and_cut,
                            pool,
                            feed,
                            submitted,
                            first_minute,
                            end_us,
                            events,
                            turn,
                            mine,
                        )
                    )
                    submitted, turn = submitted + 1, mine

            try:
                while True:
                    simulate_ahead()
                    cut = cutting.popleft().result()
                    if cut is None:  # cannot be: the chunk before it would have been the last
                        raise RuntimeError("a chunk after the end of the feed")
                    building, final = cut
                    simulate_ahead()  # before waiting for the batch: keep both workers busy
                    yield building.result()
                    if final:
                        return
            finally:
                feed.over = True  # chunks still running skip their cut and build
                # the latest first: a chunk that starts anyway finds the one before it started
                for future in reversed(cutting):
                    future.cancel()

    def _simulate_and_cut(
        self,
        pool: ThreadPoolExecutor,
        feed: _Feed,
        chunk: int,
        first_minute: int,
        end_us: int | None,
        events: int | None,
        previous: threading.Event,
        mine: threading.Event,
    ) -> tuple[Future[GeneratedBatch], bool] | None:
        """One chunk on a worker: simulated (in parallel with other chunks), then cut in turn
        (stock and feed order, after the chunk before it); its batch is then built as a task
        of its own. Gives that task and whether the batch is the last; None once the feed
        has ended."""
        minute = first_minute + chunk * self.chunk_minutes
        simulated: _Chunk | Exception | None = None
        try:
            if not feed.over:  # else the chunk was submitted ahead for nothing: the feed has ended
                simulated = self._simulate_chunk(chunk, minute)
        except Exception as error:  # raised in turn, so that later chunks do not wait for it
            simulated = error
        with _in_turn(previous, mine, feed):
            if isinstance(simulated, Exception):
                raise simulated
            if feed.over or simulated is None:
                return None
            part = simulated
            parts, due, offset, cut_us, final = self._cut(feed, part, minute, end_us, events)
            return pool.submit(self._build, parts, part, due, offset, cut_us, pool), final

    def _cut(
        self, feed: _Feed, part: _Chunk, minute: int, end_us: int | None, events: int | None
    ) -> tuple[list[_Rows], npt.NDArray[np.int64], int, int, bool]:
        """The stock of one chunk and which of its rows (with those held back before) reach
        the feed now: the rows, the due ones' indexes in feed order, their offset in the
        stream, the batch's end time and whether it is the last. Runs in chunk order."""
        chunk_end_us = (minute + self.chunk_minutes) * MICROS_PER_MINUTE
        final = end_us is not None and chunk_end_us >= end_us
        cut_us = end_us if (final and end_us is not None) else chunk_end_us
        stock_rows = self._stock_chunk(part.chunk, minute, part.sales, feed.stock)
        parts = [*feed.pending, *part.parts, stock_rows]
        emit = np.concatenate([p.columns["emit"] for p in parts])
        order = stable_order(emit)
        if final and end_us is not None:
            # the end of a --days run: what is still held back is flushed as late
            # arrivals, and events of visits that run past the end are not part of it
            ts = np.concatenate([p.columns["ts"] for p in parts])
            due, held = order[np.take(ts, order) < end_us], order[:0]
        else:
            split = int(np.searchsorted(np.take(emit, order), cut_us, side="left"))
            due, held = order[:split], order[split:]
        offset = feed.emitted
        if events is not None and offset + len(due) >= events:
            due, final = due[: events - offset], True
        feed.pending = [_Rows.gather(parts, held)._used_lines()]  # held rows keep only their lines
        feed.emitted += len(due)
        feed.chunks += 1
        feed.over = final
        return parts, due, offset, cut_us, final

    # -- one chunk: simulated in parallel, stock in order, built in parallel ----------------
    def _simulate_chunk(self, chunk: int, minute: int) -> _Chunk:
        """Visits, customer events, order anomalies and feed faults of one chunk (no shared state)."""
        settings, world = self.settings, self.world
        rng = np.random.default_rng([settings.seed, 2, minute])
        visits = simulate_visits(world, settings, rng, minute, self.chunk_minutes, opening=chunk == 0)
        if chunk == 0:
            visits = join([*self._under_way(minute), visits])
        visit_columns = _visit_rows(visits)
        sales = _sales(visits, visit_columns)
        customer_columns = self._customer_rows(rng, minute, visits.n_visits)
        first = 0
        for columns in (visit_columns, customer_columns):
            n = len(columns["ts"])
            columns["chunk"] = _constant(chunk, n, np.int32)
            columns["row"] = np.arange(first, first + n, dtype=np.uint32)
            columns["kind"] = np.full(n, -1, np.int8)
            columns["detail"] = np.full(n, -1, np.int8)
            first += n
        columns, n = visit_columns, len(visit_columns["ts"])
        # only purchases point at order lines (every purchase has an order at this point)
        purchases = np.flatnonzero(columns["event_type"] == CODE["purchase"])
        for name, per_order in (
            ("line_count", visits.order_line_count),
            ("line_start", visits.order_line_start),
        ):
            columns[name] = np.zeros(n, np.int32)
            columns[name][purchases] = per_order[columns["order"][purchases]]
        lines: dict[str, npt.NDArray[Any]] = {
            "product": visits.line_product,
            "quantity": visits.line_quantity,
            "price": visits.line_price_cents,
        }
        per_visit: dict[str, npt.NDArray[Any]] = {
            "channel": visits.visit_channel,
            "device": visits.visit_device,
            "country": visits.visit_country,
            "store": visits.visit_store,
            "bot": visits.visit_is_bot,
        }
        visit_rows = _Rows(visit_columns, lines, per_visit)
        customer_rows = _Rows(customer_columns, _no_lines())
        self._order_anomalies(rng, visit_rows)
        self._registration_anomalies(rng, customer_columns)
        self._feed_faults(rng, visit_columns, visits.visit_is_bot)
        customer_columns["emit"] = _arrival(rng, customer_columns["ts"])
        parts = [visit_rows, customer_rows]
        duplicates = np.flatnonzero(visit_columns["kind"] == _A[Anomaly.DUPLICATE])
        if len(duplicates):
            visit_columns["kind"][duplicates] = -1  # the original stays clean; the copy is the fault
            copies = visit_rows.take(duplicates)
            copies.columns["kind"][:] = _A[Anomaly.DUPLICATE]
            copies.columns["emit"] += (rng.uniform(1, 600, len(duplicates)) * MICROS).astype(np.int64)
            parts.append(copies)
        bots = np.flatnonzero(visits.visit_is_bot)
        n_sessions = int(customer_columns["visit"].max(initial=visits.n_visits - 1)) + 1
        return _Chunk(
            parts=parts,
            sales=sales,
            chunk=chunk,
            bot_visit=bots,
            bot_start_us=visits.visit_start_us[bots],
            bot_events=visits.visit_events[bots],
            session_ids=hex_matrix(chunk, np.arange(n_sessions), salt=self._salt + 2),
            incidents=visits.incidents,
        )

    def _under_way(self, minute: int) -> list[Visits]:
        """The visits of the :func:`open_minutes` before the feed opens at ``minute``, from
        then on: the shop is open already, so its first minutes are as busy as the next.
        Simulated a chunk's minutes at a time, so memory stays that of a chunk."""
        settings, world, start_us = self.settings, self.world, minute * MICROS_PER_MINUTE
        step = max(1, min(self.chunk_minutes, self.open_minutes))
        return [
            since(
                simulate_visits(
                    world, settings, np.random.default_rng([settings.seed, 5, m]), m, min(step, minute - m)
                ),
                start_us,
            )
            for m in range(minute - self.open_minutes, minute, step)
        ]

    def _stock_chunk(self, chunk: int, minute: int, sales: _Sales, stock: _StockState) -> _Rows:
        """The chunk's ``product_updated`` rows; advances the stock state (runs in order)."""
        rng = np.random.default_rng([self.settings.seed, 4, minute])
        columns = self._stock_rows(rng, minute, sales, stock)
        n = len(columns["ts"])
        columns["chunk"] = _constant(chunk, n, np.int32)
        columns["row"] = np.arange(1 << 31, (1 << 31) + n, dtype=np.uint32)  # apart from the visit rows
        columns["emit"] = _arrival(rng, columns["ts"])
        columns["kind"] = np.full(n, -1, np.int8)
        self._catalogue_anomalies(rng, columns)
        return _Rows(columns, _no_lines())

    def _build(
        self,
        parts: list[_Rows],
        part: _Chunk,
        due: npt.NDArray[np.int64],
        offset: int,
        cut_us: int,
        pool: Executor,
    ) -> GeneratedBatch:
        """The batch of the rows now due (indexes into ``parts`` stacked), as Arrow."""
        now = _Rows.gather(parts, due, without=frozenset({"emit"}))
        # the chunk's bots that have events in this batch (earlier chunks' were labelled before)
        bot_rows = np.flatnonzero(now.columns["bot"])
        bot_rows = bot_rows[now.columns["chunk"][bot_rows] == part.chunk]
        seen = np.zeros(int(part.bot_visit.max(initial=-1)) + 1, bool)
        seen[now.columns["visit"][bot_rows]] = True
        present = seen[part.bot_visit]
        bots = _Bots(
            part.chunk, part.bot_visit[present], part.bot_start_us[present], part.bot_events[present]
        )
        kind = now.columns["kind"]
        labelled = np.flatnonzero(kind >= 0)
        rows = self._arrow(now, part, pool)
        # only what the labels need is kept for them: not the chunk's rows
        make_labels = partial(
            self._labels,
            offset,
            rows,
            labelled,
            kind[labelled],
            now.columns["detail"][labelled],
            bots,
            part.incidents,
        )
        return GeneratedBatch(
            offset=offset,
            events=rows,
            end_ts=datetime.fromtimestamp(cut_us / MICROS, tz=UTC),
            make_labels=make_labels,
        )

    def _customer_rows(
        self, rng: np.random.Generator, minute: int, n_visits: int
    ) -> dict[str, npt.NDArray[Any]]:
        """Registrations of customers whose registration time falls in the chunk, and profile updates."""
        world = self.world
        lo, hi = minute * MICROS_PER_MINUTE, (minute + self.chunk_minutes) * MICROS_PER_MINUTE
        registering = np.flatnonzero(
            (world.customer_registered_us >= lo) & (world.customer_registered_us < hi)
        )
        n_updates = int(
            rng.poisson(0.003 * self.settings.sessions_per_day * self.chunk_minutes / MINUTES_PER_DAY)
        )
        updating = rng.integers(world.n_customers, size=n_updates)
        update_ts = lo + (rng.random(n_updates) * (hi - lo)).astype(np.int64)
        updating_ok = world.customer_registered_us[updating] < update_ts
        updating, update_ts = updating[updating_ok], update_ts[updating_ok]
        n_reg, n_upd = len(registering), len(updating)
        customer = np.concatenate([registering, updating]).astype(np.int64)
        etype = np.concatenate(
            [np.full(n_reg, CODE["user_registered"]), np.full(n_upd, CODE["user_updated"])]
        ).astype(np.int8)
        country = world.customer_country[customer]
        city_count = np.array([len(c[4]) for c in COUNTRIES])
        city_offset = np.concatenate([[0], np.cumsum(city_count)])
        new_city = city_offset[country] + rng.integers(0, 1 << 30, len(customer)) % city_count[country]
        channel = np.where(rng.random(n_reg) < 0.6, 0, 1).astype(np.int8)
        return {
            "event_type": etype,
            "ts": np.concatenate([world.customer_registered_us[registering], update_ts]),
            "visit": np.concatenate([n_visits + np.arange(n_reg), np.full(n_upd, -1)]).astype(np.int64),
            "user": customer,
            "channel": np.concatenate([channel, np.full(n_upd, -1, np.int8)]),
            "device": np.concatenate(
                [np.where(channel == 0, 0, 3).astype(np.int8), np.full(n_upd, -1, np.int8)]
            ),
            "country": country.astype(np.int16),
            "customer_ref": np.concatenate([registering, np.full(n_upd, -1)]).astype(np.int64),
            "city": new_city.astype(np.int64),
            "registered_us": np.concatenate(
                [world.customer_registered_us[registering], np.zeros(n_upd, np.int64)]
            ),
        }

    def _stock_rows(
        self,
        rng: np.random.Generator,
        minute: int,
        sales: _Sales,
        stock: _StockState,
    ) -> dict[str, npt.NDArray[Any]]:
        """Stock falls with every purchase; a product is restocked by its usual order size
        when it reaches its reorder point. Emits the restocks and periodic catalogue syncs."""
        world = self.world
        sale_product, sale_qty, sale_ts = sales.product, sales.quantity, sales.ts
        lo = minute * MICROS_PER_MINUTE
        n_sync = int(rng.poisson(0.04 * world.n_products * self.chunk_minutes / MINUTES_PER_DAY))
        sync_product = rng.integers(world.n_products, size=n_sync)
        sync_ts = lo + (rng.random(n_sync) * self.chunk_minutes * MICROS_PER_MINUTE).astype(np.int64)
        product = np.concatenate([sale_product, sync_product]).astype(np.int64)
        qty = np.concatenate([sale_qty, np.zeros(n_sync, np.int64)])
        ts = np.concatenate([sale_ts, sync_ts])
        is_sync = np.concatenate([np.zeros(len(sale_product), bool), np.ones(n_sync, bool)])
        by = np.lexsort((ts, product))
        product, qty, ts, is_sync = product[by], qty[by], ts[by], is_sync[by]
        first_of_product = np.ones(len(product), dtype=bool)
        first_of_product[1:] = product[1:] != product[:-1]
        running = np.cumsum(qty)
        group_base = np.maximum.accumulate(np.where(first_of_product, running - qty, 0))
        sold = stock.sold[product] + running - group_base
        initial = world.product_inventory[product]
        reorder = np.maximum(10, initial // 5)
        restocks = np.ceil(np.maximum(0, sold - (initial - reorder)) / initial).astype(np.int64)
        previous = np.where(first_of_product, stock.restocks[product], np.roll(restocks, 1))
        restocked = (restocks > previous) & ~is_sync
        level = initial - sold + initial * restocks
        emit = restocked | is_sync
        if len(product):
            last = np.ones(len(product), dtype=bool)
            last[:-1] = product[1:] != product[:-1]
            stock.sold[product[last]] = sold[last]
            stock.restocks[product[last]] = restocks[last]
        p = product[emit]
        ratings = (
            np.clip(world.product_rating[p] + rng.normal(0, 0.05, len(p)), 1, 5).round(1).astype(np.float32)
        )
        return {
            "event_type": np.full(len(p), CODE["product_updated"], np.int8),
            "ts": ts[emit] + np.where(is_sync[emit], 0, MICROS),
            "product": p,
            "price_cents": world.product_price_cents[p],
            "inventory": level[emit],
            "rating": ratings,
        }

    def _catalogue_anomalies(self, rng: np.random.Generator, rows: dict[str, npt.NDArray[Any]]) -> None:
        """Catalogue updates with a negative price, a negative or a zero stock."""
        rate = self.settings.anomaly_rate
        if rate <= 0:
            return
        etype, kind = rows["event_type"], rows["kind"]
        updates = np.flatnonzero((etype == CODE["product_updated"]) & (rng.random(len(etype)) < rate))
        which = rng.integers(3, size=len(updates))
        negative_price, negative_inventory, zero_inventory = (updates[which == k] for k in range(3))
        rows["price_cents"][negative_price] = -rows["price_cents"][negative_price]
        rows["inventory"][negative_inventory] = -rng.integers(1, 60, len(negative_inventory))
        rows["inventory"][zero_inventory] = 0
        kind[negative_price], kind[negative_inventory], kind[zero_inventory] = (
            _A[Anomaly.NEGATIVE_PRICE],
            _A[Anomaly.NEGATIVE_INVENTORY],
            _A[Anomaly.ZERO_INVENTORY],
        )

    def _order_anomalies(self, rng: np.random.Generator, table: _Rows) -> None:
        """Fraud-like orders: huge quantities or spiked prices."""
        rate = self.settings.anomaly_rate
        if rate <= 0:
            return
        rows, lines = table.columns, table.lines
        etype, kind = rows["event_type"], rows["kind"]
        purchases = np.flatnonzero(etype == CODE["purchase"])
        purchases = purchases[rng.random(len(purchases)) < rate]
        line = rows["line_start"][purchases] + (
            rng.random(len(purchases)) * rows["line_count"][purchases]
        ).astype(np.int64)
        spike = rng.random(len(purchases)) < 0.5
        quantity, price = lines["quantity"], lines["price"]
        old = quantity[line].astype(np.int64) * price[line]
        quantity[line[~spike]] = rng.integers(50, 1001, int((~spike).sum()))
        price[line[spike]] = np.round(price[line[spike]] * rng.uniform(5, 20, int(spike.sum()))).astype(
            np.int64
        )
        new = quantity[line].astype(np.int64) * price[line]
        rows["order_total"][purchases] += new - old
        kind[purchases] = np.where(spike, _A[Anomaly.PRICE_SPIKE], _A[Anomaly.HIGH_QUANTITY])

    def _registration_anomalies(self, rng: np.random.Generator, rows: dict[str, npt.NDArray[Any]]) -> None:
        """Registrations dated in the future."""
        rate = self.settings.anomaly_rate
        if rate <= 0:
            return
        etype, kind = rows["event_type"], rows["kind"]
        registrations = np.flatnonzero((etype == CODE["user_registered"]) & (rng.random(len(etype)) < rate))
        rows["registered_us"][registrations] = rows["ts"][registrations] + (
            rng.uniform(30, 400, len(registrations)) * 86_400 * MICROS
        ).astype(np.int64)
        kind[registrations] = _A[Anomaly.FUTURE_REGISTRATION]

    def _feed_faults(
        self, rng: np.random.Generator, rows: dict[str, npt.NDArray[Any]], visit_is_bot: npt.NDArray[np.bool_]
    ) -> None:
        """Faults real feeds have, on visit events of human visitors: each kind at rate/9."""
        rate = self.settings.anomaly_rate
        n = len(rows["ts"])
        rows["emit"] = _arrival(rng, rows["ts"])
        if rate <= 0:
            return
        hit = _bernoulli_rows(rng, n, rate)  # look at eligibility on these few rows only
        hit = hit[
            (rows["visit"][hit] >= 0)
            & ~np.take(visit_is_bot, rows["visit"][hit])
            & (rows["kind"][hit] < 0)
            & (rows["event_type"][hit] != CODE["user_registered"])
        ]
        pick = rng.integers(len(FEED_FAULTS), size=len(hit))
        allowed = [kind not in TEXT_FAULTS or self.text_faults for kind in FEED_FAULTS]
        for k, fault in enumerate(FEED_FAULTS):
            where = hit[pick == k]
            if fault is Anomaly.UNKNOWN_PRODUCT:
                where = where[rows["product"][where] >= 0]
            if fault is Anomaly.UNKNOWN_CUSTOMER:
                where = where[rows["user"][where] >= 0]
            if not allowed[k]:
                continue
            rows["kind"][where] = _A[fault]
            if fault is Anomaly.MISSING_FIELD:
                rows["detail"][where] = rng.integers(len(MISSABLE), size=len(where))
            elif fault is Anomaly.UNKNOWN_EVENT_TYPE:
                rows["event_type"][where] = len(EVENT_TYPES) + rng.integers(
                    len(BOGUS_EVENT_TYPES), size=len(where)
                )
            elif fault is Anomaly.LATE:
                delay = np.exp(rng.uniform(np.log(120), np.log(3 * 3600), len(where)))
                rows["emit"][where] = rows["ts"][where] + (delay * MICROS).astype(np.int64)
            elif fault is Anomaly.UNKNOWN_PRODUCT:
                rows["product"][where] = self._unknown_product0 + rng.integers(1000, size=len(where))
            elif fault is Anomaly.UNKNOWN_CUSTOMER:
                rows["user"][where] = self._unknown_customer0 + rng.integers(1000, size=len(where))

    # -- Arrow ----------------------------------------------------------------------------
    def _arrow(self, table: _Rows, part: _Chunk, pool: Executor) -> pa.Table:
        """The rows as an Arrow table in the contract's schema (half of the columns on another
        worker of ``pool`` if one is free)."""
        world, rows, lines = self.world, table.columns, table.lines
        n = table.size
        etype = rows["event_type"]
        # a missing field is a rare fault: clear it from the few rows that have one
        missing = np.flatnonzero(rows["kind"] == _A[Anomaly.MISSING_FIELD])
        present = {}
        for k, name in enumerate(MISSABLE):
            present[name] = np.ones(n, bool) if name == "event_ts" else rows[_MISSABLE_CODE[name]] >= 0
            present[name][missing[rows["detail"][missing] == k]] = False
        product = rows["product"]
        has_product = product >= 0
        purchases = np.flatnonzero(etype == CODE["purchase"])  # a purchase whose type was garbled has none
        line_count = rows["line_count"][purchases]
        line = ranges(rows["line_start"][purchases], line_count)
        items = pa.StructArray.from_arrays(
            [
                take_ids(world.product_ids, lines["product"][line]),
                fixed(lines["quantity"][line], pa.int32()),
                money(lines["price"][line]),
            ],
            fields=list(EVENTS_SCHEMA.field("items").type.value_type),
        )
        counts = np.zeros(n + 1, np.int32)
        counts[purchases + 1] = line_count
        offsets = np.cumsum(counts, dtype=np.int32)  # not in place: that would hold the GIL
        is_purchase = np.zeros(n, bool)
        is_purchase[purchases] = True
        is_cart = (etype >= CODE["add_to_cart"]) & (etype <= CODE["update_cart"])
        is_update = etype == CODE["product_updated"]
        has_order = rows["order"] >= 0
        customer_ref = rows["customer_ref"]
        is_customer = customer_ref >= 0
        customer_rows = np.flatnonzero(is_customer)  # a few registrations and profile updates
        customers = np.take(customer_ref, customer_rows)
        age = np.zeros(n, np.int16)
        age[customer_rows] = np.take(world.customer_age, customers)
        order_rows = np.flatnonzero(has_order)
        has_city, has_page, has_query = rows["city"] >= 0, rows["page"] >= 0, rows["query"] >= 0
        has_user = rows["user"] >= 0
        chunk = rows["chunk"]
        if len(self._blank) < 16 * n + 8:  # another thread may grow it too: each copy is zeros
            self._blank = np.zeros(2 * (16 * n + 8), np.uint8)
            self._blank.flags.writeable = False
        blank = self._blank

        def id_columns() -> dict[str, pa.Array]:
            """The hashed, looked-up and spread string columns: about half of the work."""
            return {
                "event_id": hex_ids(chunk, rows["row"], salt=self._salt + 1),
                "user_id": take_ids(self._customer_ids, rows["user"], valid=has_user),
                "session_id": self._session_ids(chunk, rows["visit"], present["session_id"], part),
                "store_id": take_ids(world.store_ids, rows["store"], valid=rows["store"] >= 0),
                "page": spread(_PAGES.take(np.compress(has_page, rows["page"])), has_page),
                "search_query": spread(_QUERIES.take(np.compress(has_query, rows["query"])), has_query),
                "product_id": take_ids(self._product_ids, product, valid=has_product),
                "order_id": hex_ids(
                    np.take(chunk, order_rows),
                    np.take(rows["order"], order_rows),
                    salt=self._salt + 3,
                    valid=has_order,
                ),
            }

        def other_columns() -> dict[str, pa.Array]:
            """The rest: fixed-width values and dictionary codes, mostly as they are."""
            return {
                "event_type": category(etype, EVENT_TYPE_VALUES),
                "event_ts": timestamps(rows["ts"], valid=present["event_ts"]),
                "received_ts": nulls(n, TIMESTAMP, blank),
                "schema_version": fixed(np.full(n, SCHEMA_VERSION, np.int16), pa.int16()),
                "channel": category(rows["channel"], [c.value for c in CHANNELS], valid=present["channel"]),
                "country": category(rows["country"], COUNTRY_CODES, valid=present["country"]),
                "device": category(rows["device"], [d.value for d in DEVICES], valid=rows["device"] >= 0),
                "results_count": fixed(rows["results"], pa.int32(), valid=has_query),
                # unknown products (a fault) show the category of a real one: the id is what is wrong
                "category": category(
                    lookup(self._product_category, product + 1), CATEGORY_NAMES, valid=has_product
                ),
                "unit_price": money(rows["unit_price"], valid=rows["price_shown"]),
                "quantity": fixed(rows["quantity"], pa.int32(), valid=is_cart),
                "payment_method": category(
                    rows["payment"], [p.value for p in PAYMENTS], valid=rows["payment"] >= 0
                ),
                "currency": category(blank[: 4 * n].view(np.int32), ["USD"], valid=has_order),
                "items": pa.ListArray.from_buffers(
                    EVENTS_SCHEMA.field("items").type,
                    n,
                    [pa.py_buffer(np.packbits(is_purchase, bitorder="little")), pa.py_buffer(offsets)],
                    children=[items],
                ),
                "order_total": money(rows["order_total"], valid=has_order),
                "failure_reason": category(
                    rows["failure"], [f.value for f in FailureReason], valid=rows["failure"] >= 0
                ),
                "email": spread(
                    world.customers.column("email").take(customers).combine_chunks(), is_customer
                ),
                "customer_name": spread(
                    world.customers.column("name").take(customers).combine_chunks(), is_customer
                ),
                "city": spread(_CITIES.take(np.compress(has_city, rows["city"])), has_city),
                "age": fixed(age, pa.int16(), valid=is_customer),
                "registered_at": timestamps(rows["registered_us"], valid=is_customer),
                "product_name": nulls(n, pa.string(), blank),
                "sku": nulls(n, pa.string(), blank),
                "brand": nulls(n, EVENTS_SCHEMA.field("brand").type, blank),
                "price": money(rows["price_cents"], valid=is_update),
                "cost": nulls(n, EVENTS_SCHEMA.field("cost").type, blank),
                "inventory": fixed(rows["inventory"], pa.int32(), valid=is_update),
                "rating": fixed(rows["rating"], pa.float32(), valid=is_update),
            }

        others, ids = _in_parallel(pool, other_columns, id_columns)
        columns = others | ids
        return pa.table([columns[f.name] for f in EVENTS_SCHEMA], schema=EVENTS_SCHEMA)

    def _session_ids(
        self,
        chunk: npt.NDArray[np.int32],
        visit: npt.NDArray[np.int32],
        valid: npt.NDArray[np.bool_],
        part: _Chunk,
    ) -> pa.Array:
        """Session ids of the valid rows: copied from the chunk's table of them, but for the
        few rows of earlier chunks (held back until now), which are hashed one by one.

        Null rows get 16 bytes too: nearly every row has a session, and counting them to
        leave those out would cost more than the bytes."""
        ids = (
            np.take(part.session_ids, visit, axis=0, mode="clip")
            if len(part.session_ids)
            else np.zeros((len(visit), 16), np.uint8)  # a chunk without visits
        )
        earlier = np.flatnonzero((chunk != part.chunk) & valid)
        ids[earlier] = hex_matrix(chunk[earlier], visit[earlier], salt=self._salt + 2)
        return strings(ids, valid)

    def _labels(
        self,
        offset: int,
        rows: pa.Table,
        labelled: npt.NDArray[np.int64],
        k: npt.NDArray[np.int8],
        detail_codes: npt.NDArray[np.int8],
        bots: _Bots,
        incidents: list[tuple[int, int, int, float, int]],
    ) -> pa.Table:
        """A batch's labels: its labelled rows (at ``labelled``, of kinds ``k``), the bots
        first seen in it and the incidents that start in its chunk."""
        sub = rows.select(["event_id", *_ENTITY_COLUMNS]).take(pa.array(labelled))
        entity = pc.choose(
            pa.array(_ENTITY_OF_KIND[k]),
            *(sub.column(name).combine_chunks() for name in _ENTITY_COLUMNS),
            pa.nulls(len(labelled), pa.string()),
        )
        detail = pc.if_else(
            pa.array((k == _A[Anomaly.MISSING_FIELD]) & (detail_codes >= 0)),
            pa.array(MISSABLE).take(pa.array(np.maximum(detail_codes, 0))),
            pa.scalar(None, pa.string()),
        )
        row_labels = pa.table(
            {
                "kind": category(k, [a.value for a in ANOMALIES]).dictionary_decode(),
                "event_id": sub.column("event_id"),
                "entity_id": entity,
                "position": pa.array(offset + labelled, pa.int64()),
                "detail": detail,
            }
        )
        bot_labels = pa.table(
            {
                "kind": pa.array([Anomaly.BOT_SESSION.value] * len(bots.visit), pa.string()),
                "entity_id": hex_ids(bots.chunk, bots.visit, salt=self._salt + 2),
                "start_ts": timestamps(bots.start_us),
                "detail": pa.array([f"{k} events" for k in bots.events], pa.string()),
            }
        )
        incident_labels = pa.table(
            {
                "kind": pa.array([INCIDENTS[i[0]].value for i in incidents], pa.string()),
                "start_ts": timestamps(np.array([i[1] for i in incidents], np.int64)),
                "end_ts": timestamps(np.array([i[2] for i in incidents], np.int64)),
                "detail": pa.array(
                    [
                        f"strength={i[3]:.2f}"
                        + (
                            f" category={CATEGORY_NAMES[i[4]]}"
                            if INCIDENTS[i[0]].value == "category_dominance"
                            else ""
                        )
                        for i in incidents
                    ],
                    pa.string(),
                ),
            }
        )
        return pa.concat_tables(
            [_conform(t, LABELS_SCHEMA) for t in (row_labels, bot_labels, incident_labels)]
        )


def _in_parallel(pool: Executor, here: Callable[[], _T], there: Callable[[], _U]) -> tuple[_T, _U]:
    """``here()`` and ``there()``, the latter on a worker of ``pool`` that is free now or
    becomes free before ``here()`` is done; else after it, on this thread.

    So a batch's build can take a second worker when it has nothing else to do (at the end
    of a run), and no worker ever waits for one that is busy.

    >>> with ThreadPoolExecutor(max_workers=1) as pool:
    ...     _in_parallel(pool, lambda: 1, lambda: 2)
    (1, 2)
    """
    try:
        future = pool.submit(there)
    except RuntimeError:  # the pool is shutting down: the feed was closed
        return here(), there()
    first = here()
    return first, there() if future.cancel() else future.result()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with every column of ``schema``, missing ones null."""
    n = table.num_rows
    return pa.table(
        [
            table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
            for f in schema
        ],
        schema=schema,
    )


def _may_need(events: int | None, emitted: int, chunks: int, in_flight: int) -> bool:
    """Whether one more chunk may be needed to reach ``events``, judged from the average of
    the ``chunks`` emitted so far (with 10% to spare): a chunk simulated for nothing at the
    end costs as much as a batch.

    >>> _may_need(1000, 800, 4, 1), _may_need(1000, 800, 4, 2), _may_need(None, 0, 0, 5)
    (True, False, True)
    """
    if events is None or chunks == 0:
        return True
    return emitted + 0.9 * in_flight * emitted / chunks < events


def stable_order(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.argsort(values, kind="stable")``, faster: one sort of unique keys (value, index).

    numpy's stable sort of int64 is a merge sort; packing the index into the low bits
    makes every key distinct, so the much faster default sort gives the same order.

    >>> stable_order(np.array([5, 3, 5, 1])).tolist()
    [3, 1, 0, 2]
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, np.int64)
    low = int(values.min())
    index_bits = n.bit_length()
    if (int(values.max()) - low).bit_length() + index_bits > 63:
        return np.argsort(values, kind="stable")
    keys = values - low
    keys <<= index_bits  # in place: this runs on the main thread, between the workers' steps
    keys |= np.arange(n)
    keys.sort()
    keys &= (1 << index_bits) - 1
    return keys


_ROW_DEFAULTS: dict[str, tuple[type[np.generic], int | float | bool]] = {
    "event_type": (np.int8, -1),
    "ts": (np.int64, 0),
    "visit": (np.intp, -1),  # an index into per-visit tables
    "user": (np.int32, -1),
    "channel": (np.int32, -1),  # int32 like an Arrow dictionary index: no cast when built
    "device": (np.int32, -1),
    "country": (np.int32, -1),
    "store": (np.int16, -1),
    "page": (np.int8, -1),
    "query": (np.int16, -1),
    "results": (np.int32, 0),
    "product": (np.int32, -1),
    "unit_price": (np.int64, 0),
    "price_shown": (np.bool_, False),
    "quantity": (np.int32, 0),
    "order": (np.int32, -1),
    "payment": (np.int8, -1),
    "failure": (np.int8, -1),
    "order_total": (np.int64, 0),
    "customer_ref": (np.int32, -1),
    "city": (np.int16, -1),
    "registered_us": (np.int64, 0),
    "price_cents": (np.int64, 0),
    "inventory": (np.int32, 0),
    "rating": (np.float32, 0.0),
    "bot": (np.bool_, False),
    "chunk": (np.int32, 0),
    "row": (np.uint32, 0),
    "line_start": (np.int32, 0),
    "line_count": (np.int32, 0),
    "emit": (np.int64, 0),
    "kind": (np.int8, -1),
    "detail": (np.int8, -1),
}


def _sales(visits: Visits, rows: dict[str, npt.NDArray[Any]]) -> _Sales:
    """The order lines of the chunk's purchases, at the purchase's time."""
    purchase_rows = np.flatnonzero(rows["event_type"] == CODE["purchase"])
    order = rows["order"][purchase_rows]
    counts = visits.order_line_count[order]
    line = ranges(visits.order_line_start[order], counts)
    return _Sales(
        product=visits.line_product[line].astype(np.int64),
        quantity=visits.line_quantity[line].astype(np.int64),
        ts=np.take(rows["ts"][purchase_rows], groups(counts)),
    )


def _visit_rows(visits: Visits) -> dict[str, npt.NDArray[Any]]:
    return {
        "event_type": visits.event_type,
        "ts": visits.ts_us,
        "visit": visits.visit,
        "user": visits.user,
        "page": visits.page,
        "query": visits.query,
        "results": visits.results,
        "product": visits.product,
        "unit_price": visits.unit_price_cents,
        "price_shown": visits.price_shown,
        "quantity": visits.quantity,
        "order": visits.order,
        "payment": visits.payment,
        "failure": visits.failure,
        "order_total": visits.order_total_cents,
    }


def _arrival(rng: np.random.Generator, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """When events reach the feed: their time plus network jitter (mean 0.3 s), so nearby
    events arrive slightly out of order."""
    jitter: npt.NDArray[np.int64] = lookup(_JITTER_TABLE, rng.integers(0, 1 << 16, len(ts), dtype=np.uint16))
    return ts + jitter


_JITTER_TABLE = np.sort(np.random.default_rng(0).exponential(0.3 * MICROS, 1 << 16)).astype(np.int64)
"""Network jitter in microseconds (exponential, mean 0.3 s) as 65,536 quantiles: a table
lookup is cheaper than an exponential draw."""


def _bernoulli_rows(rng: np.random.Generator, n: int, rate: float) -> npt.NDArray[np.int64]:
    """The rows among ``n`` that a draw with probability ``rate`` hits, found by geometric
    gaps between hits: a few draws instead of one per row.

    >>> _bernoulli_rows(np.random.default_rng(0), 10, 1.0).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    hits: list[npt.NDArray[np.int64]] = []
    last = -1
    while last < n:  # usually once: enough gaps are drawn for the expected hits and then some
        gaps = rng.geometric(rate, int(n * rate + 4 * (n * rate) ** 0.5) + 16)
        rows = last + np.cumsum(gaps)
        hits.append(rows)
        last = int(rows[-1])
    found = np.concatenate(hits)
    hit: npt.NDArray[np.int64] = found[: np.searchsorted(found, n)]
    return hit


def _constant(value: int, n: int, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A read-only column of ``n`` rows all holding ``value``, in one element of memory
    (:meth:`_Rows.gather` fills it instead of taking from it).

    >>> _constant(7, 3, np.int32).tolist()
    [7, 7, 7]
    """
    return np.broadcast_to(np.array(value, dtype), (n,))


def _no_lines() -> dict[str, npt.NDArray[Any]]:
    return {
        "product": np.zeros(0, np.int64),
        "quantity": np.zeros(0, np.int32),
        "price": np.zeros(0, np.int64),
    }


@dataclass
class _Rows:
    """Event rows as numpy columns, with the order lines their purchases point into."""

    columns: dict[str, npt.NDArray[Any]]
    lines: dict[str, npt.NDArray[Any]]
    per_visit: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    """Columns given once per visit, not per row: row i's value is at ``columns["visit"][i]``."""

    @property
    def size(self) -> int:
        return len(self.columns["ts"])

    def values(self, name: str, rows: npt.NDArray[np.integer]) -> npt.NDArray[Any] | None:
        """Column ``name`` at ``rows`` (None if these rows lack it)."""
        if name in self.per_visit:
            return np.take(self.per_visit[name], np.take(self.columns["visit"], rows))
        column = self.columns.get(name)
        return None if column is None else np.take(column, rows)

    def take(self, index: npt.NDArray[np.integer]) -> _Rows:
        """The rows at ``index``, with only the lines they use (renumbered)."""
        columns = {name: np.take(values, index) for name, values in self.columns.items()}
        return _Rows(columns, self.lines, self.per_visit)._used_lines()

    def _used_lines(self) -> _Rows:
        """These rows with only the order lines they point at, renumbered."""
        if "line_count" not in self.columns:
            return self
        columns = dict(self.columns)
        count = columns["line_count"]
        with_lines = np.flatnonzero(count)
        used = ranges(columns["line_start"][with_lines], count[with_lines])
        columns["line_start"] = np.zeros(len(count), np.int32)  # renumbered where there are lines
        columns["line_start"][with_lines] = np.cumsum(count[with_lines]) - count[with_lines]
        return _Rows(columns, {name: values[used] for name, values in self.lines.items()}, self.per_visit)

    @staticmethod
    def gather(
        parts: list[_Rows], index: npt.NDArray[np.int64], without: frozenset[str] = frozenset()
    ) -> _Rows:
        """The rows at ``index`` of ``parts`` stacked, but the columns in ``without``, with
        the lines of all parts (those of rows not taken too).

        Only the largest part (the visit rows) is taken from in full, without stacking it
        with the others; the few rows ``index`` picks from the other parts are copied in
        after. A column that the largest part lacks takes its default elsewhere.
        """
        sizes = [p.size for p in parts]
        bounds = np.cumsum([0, *sizes])
        line_base = np.cumsum([0] + [len(p.lines["product"]) for p in parts])
        big = int(np.argmax(sizes))
        lo, hi = int(bounds[big]), int(bounds[big + 1])
        small = np.flatnonzero((index < lo) | (index >= hi))
        dense = len(index) > 8 * len(small)  # else (rows held back) every row is a small one
        if dense:
            big_index = index - lo
            big_index[small] = 0
        else:
            small = np.arange(len(index))
        small_index = index[small]
        small_part = np.searchsorted(bounds, small_index, side="right") - 1
        picks = [
            (i, small[small_part == i], small_index[small_part == i] - bounds[i])
            for i in range(len(parts))
            if (i != big or not dense) and sizes[i]
        ]
        columns = {}
        looked_up: dict[str, npt.NDArray[Any]] = {}
        for name, (dtype, default) in _ROW_DEFAULTS.items():
            if name in without:
                continue
            big_column = parts[big].columns.get(name)
            if dense and name in looked_up:
                column = looked_up.pop(name)
            elif dense and big_column is not None and big_column.strides == (0,):  # a _constant
                column = np.full(len(index), big_column[0] if len(big_column) else default, dtype)
            elif dense and big_column is not None:
                column = np.take(big_column, big_index).astype(dtype, copy=False)
                if name == "line_start":  # into the stacked lines
                    column += line_base[big]
                if name == "visit":  # before the other parts' visits are copied in
                    looked_up = {
                        key: np.take(table, column).astype(_ROW_DEFAULTS[key][0], copy=False)
                        for key, table in parts[big].per_visit.items()
                    }
            else:
                # zeroed memory is cheaper than a fill: pages nobody writes are never touched
                column = np.zeros(len(index), dtype) if default == 0 else np.full(len(index), default, dtype)
            for i, where, rows in picks:
                piece = parts[i].values(name, rows)
                if piece is None:
                    column[where] = default
                elif name == "line_start":
                    column[where] = piece + line_base[i]
                else:
                    column[where] = piece
            columns[name] = column
        lines = {name: np.concatenate([p.lines[name] for p in parts]) for name in parts[0].lines}
        return _Rows(columns, lines)
