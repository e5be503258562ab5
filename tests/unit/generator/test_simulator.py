"""The simulated shop: funnel, rhythm, determinism, anomalies and their labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from factories import simulated
from shopstream.events import violations
from shopstream.generator import ANOMALY_POPULATION, Anomaly, GeneratedBatch, Simulator
from shopstream.generator.calendar import INCIDENTS, MINUTES_PER_DAY, plan_day
from shopstream.generator.summary import summarize
from shopstream.generator.world import CATEGORY_NAMES
from shopstream.settings import FunnelSettings, GeneratorSettings

RATE = 0.05


def test_funnel_converts_like_a_real_shop() -> None:
    """2-4% of web/app visits convert and 65-75% of carts are abandoned (no anomalies)."""
    _, events, labels = simulated(days=3.0, anomaly_rate=0.0)
    summary = summarize(events, labels)
    assert 0.02 <= summary.conversion_rate <= 0.04
    assert 0.65 <= summary.cart_abandonment_rate <= 0.75
    assert summary.events_by_type["product_view"] > summary.events_by_type["add_to_cart"] > summary.orders


def test_flat_preset_follows_the_reference_mix() -> None:
    """The GlobalMart preset: views dominate, then cart events, then purchases."""
    _, events, _ = simulated(days=0.5, anomaly_rate=0.0, funnel=FunnelSettings(preset="flat"))
    counts = summarize(events).events_by_type
    views = counts.get("page_view", 0) + counts.get("product_view", 0) + counts.get("search", 0)
    carts = sum(
        counts.get(t, 0) for t in ("add_to_cart", "remove_from_cart", "update_cart", "checkout_started")
    )
    assert views > carts > counts.get("purchase", 0) > 0


def test_daily_rhythm_is_visible() -> None:
    """The busiest hour of the day sees far more events than the quietest."""
    _, events, _ = simulated(days=3.0, anomaly_rate=0.0)
    hours = pc.hour(events.column("event_ts")).to_numpy(zero_copy_only=False)
    per_hour = np.bincount(hours, minlength=24)
    assert per_hour.max() >= 1.8 * per_hour.min()


def test_repeat_customers_spread_their_orders() -> None:
    """A few customers order often while most order once: structure for RFM."""
    _, events, _ = simulated(days=3.0, anomaly_rate=0.0)
    purchases = events.filter(pc.equal(events.column("event_type"), "purchase")).column("user_id").drop_null()
    orders_per_customer = pc.value_counts(purchases).field("counts").to_numpy()
    assert orders_per_customer.max() >= 5
    assert np.median(orders_per_customer) <= 2


def test_same_seed_same_batches_other_seed_other_batches() -> None:
    def first_batch(seed: int) -> pa.Table:
        return next(Simulator(GeneratorSettings(seed=seed)).batches(events=20_000)).events

    assert first_batch(3).equals(first_batch(3))
    assert not first_batch(3).equals(first_batch(4))


def test_labels_are_worked_out_when_first_read_and_only_once() -> None:
    batch = next(Simulator(GeneratorSettings()).batches(events=20_000))
    calls = []
    lazy = GeneratedBatch(
        batch.offset, batch.events, batch.end_ts, make_labels=lambda: calls.append(1) or batch.labels
    )
    assert lazy.events.num_rows == 20_000
    assert calls == []
    assert lazy.labels is lazy.labels
    assert lazy.labels.equals(batch.labels)
    assert calls == [1]


def test_events_mode_stops_at_exactly_n() -> None:
    batches = list(Simulator(GeneratorSettings(sessions_per_day=200_000)).batches(events=500_001))
    assert sum(b.events.num_rows for b in batches) == 500_001
    assert [b.offset for b in batches] == list(np.cumsum([0] + [b.events.num_rows for b in batches[:-1]]))


def test_rate_zero_gives_no_anomalies_and_a_clean_contract() -> None:
    _, events, labels = simulated(days=1.0, anomaly_rate=0.0, text_faults=True)
    assert labels.num_rows == 0
    assert violations(events).num_rows == 0
    assert pc.count_distinct(events.column("event_id")).as_py() == events.num_rows


def _share(labels: pa.Table, kind: Anomaly) -> int:
    return int(pc.sum(pc.equal(labels.column("kind"), kind.value)).as_py() or 0)


def test_every_feed_fault_appears_at_its_rate() -> None:
    """Each of the 9 feed faults hits about rate/9 of human visit events (+-25%)."""
    _, events, labels = simulated(days=3.0, text_faults=True, anomaly_rate=RATE)
    bots = labels.filter(pc.equal(labels.column("kind"), "bot_session")).column("entity_id")
    entity = pa.array(["product_updated", "user_updated", "user_registered"])
    human = events.filter(
        pc.and_(
            pc.invert(pc.is_in(events.column("session_id"), value_set=bots.combine_chunks())),
            pc.invert(pc.is_in(events.column("event_type").cast(pa.string()), value_set=entity)),
        )
    )
    population = human.num_rows - _share(labels, Anomaly.DUPLICATE)
    with_product = pc.sum(pc.is_valid(human.column("product_id"))).as_py()
    with_user = pc.sum(pc.is_valid(human.column("user_id"))).as_py()
    expected_share = RATE * ANOMALY_POPULATION[Anomaly.DUPLICATE][1]
    for kind in (
        Anomaly.DUPLICATE,
        Anomaly.MISSING_FIELD,
        Anomaly.UNKNOWN_EVENT_TYPE,
        Anomaly.LATE,
        Anomaly.WRONG_TYPE,
        Anomaly.UNPARSABLE_TIMESTAMP,
        Anomaly.TRUNCATED_JSON,
    ):
        assert _share(labels, kind) / population == pytest.approx(expected_share, rel=0.25), kind
    assert _share(labels, Anomaly.UNKNOWN_PRODUCT) / with_product == pytest.approx(expected_share, rel=0.25)
    assert _share(labels, Anomaly.UNKNOWN_CUSTOMER) / with_user == pytest.approx(expected_share, rel=0.25)


def test_record_anomalies_appear_at_their_rate() -> None:
    """Catalogue, order, bot and registration anomalies hit their populations at the stated shares."""
    _, events, labels = simulated(days=3.0, anomaly_rate=RATE, products=50_000, customers=1_000_000)
    event_type = events.column("event_type").cast(pa.string())

    def count(event: str) -> int:
        return int(pc.sum(pc.equal(event_type, event)).as_py())

    def check(kind: Anomaly, population: int, rel: float) -> None:
        assert _share(labels, kind) / population == pytest.approx(
            RATE * ANOMALY_POPULATION[kind][1], rel=rel
        ), kind

    for kind in (Anomaly.NEGATIVE_PRICE, Anomaly.NEGATIVE_INVENTORY, Anomaly.ZERO_INVENTORY):
        check(kind, count("product_updated"), 0.35)
    for kind in (Anomaly.HIGH_QUANTITY, Anomaly.PRICE_SPIKE):
        purchases = events.filter(pc.equal(event_type, "purchase"))
        check(kind, pc.count_distinct(purchases.column("event_id")).as_py(), 0.25)
    check(Anomaly.FUTURE_REGISTRATION, count("user_registered"), 0.4)
    web_app = events.filter(
        pc.is_in(events.column("channel").cast(pa.string()), value_set=pa.array(["web", "app"]))
    )
    visits = pc.count_distinct(web_app.column("session_id")).as_py()
    check(Anomaly.BOT_SESSION, visits, 0.25)


def test_incidents_cover_their_share_of_time_and_every_kind_appears() -> None:
    plans = [plan_day(seed=42, day=20_454 + d, anomaly_rate=RATE) for d in range(56)]
    minutes = sum(int((p.incident_end - p.incident_start).sum()) for p in plans)
    assert minutes / (56 * MINUTES_PER_DAY) == pytest.approx(RATE, rel=0.3)
    kinds = {int(k) for p in plans for k in p.incident_kind}
    assert kinds == set(range(len(INCIDENTS)))
    assert all(plan_day(42, d, 0.0).incident_kind.size == 0 for d in range(20_454, 20_470))


def test_labels_point_at_real_events_and_entities() -> None:
    simulator, events, labels = simulated(days=3.0, text_faults=True, anomaly_rate=RATE)
    rows = labels.filter(pc.is_valid(labels.column("position")))
    positions = rows.column("position").to_numpy()
    assert events.column("event_id").take(pa.array(positions)).equals(rows.column("event_id"))
    kinds = rows.column("kind").to_numpy(zero_copy_only=False)
    entity = rows.column("entity_id").to_numpy(zero_copy_only=False)
    products = set(simulator.world.products.column("product_id").to_pylist())
    customers = set(simulator.world.customers.column("customer_id").to_pylist())
    orders = set(events.column("order_id").drop_null().to_pylist())
    sessions = set(events.column("session_id").drop_null().to_pylist())
    for kind, entity_id in zip(kinds, entity, strict=True):
        if kind in ("negative_price", "negative_inventory", "zero_inventory"):
            assert entity_id in products
        elif kind in ("high_quantity", "price_spike"):
            assert entity_id in orders
        elif kind == "future_registration":
            assert entity_id in customers
        elif kind == "unknown_product":
            assert entity_id not in products
        elif kind == "unknown_customer":
            assert entity_id not in customers
    bot_ids = labels.filter(pc.equal(labels.column("kind"), "bot_session")).column("entity_id").to_pylist()
    assert bot_ids
    assert set(bot_ids) <= sessions
    incident = labels.filter(pc.is_valid(labels.column("start_ts")))
    assert incident.num_rows > 0


def test_bots_make_an_impossible_number_of_events_in_minutes() -> None:
    _, events, labels = simulated(days=3.0, text_faults=True, anomaly_rate=RATE)
    bots = labels.filter(pc.equal(labels.column("kind"), "bot_session")).column("entity_id").combine_chunks()
    bot_events = events.filter(pc.is_in(events.column("session_id"), value_set=bots))
    per_session = bot_events.group_by("session_id").aggregate(
        [("event_ts", "count"), ("event_ts", "min"), ("event_ts", "max")]
    )
    counts = per_session.column("event_ts_count").to_numpy()
    duration = pc.subtract(per_session.column("event_ts_max"), per_session.column("event_ts_min")).cast(
        pa.int64()
    )
    assert counts.min() >= 40
    assert counts.max() <= 200
    assert np.percentile(duration.to_numpy() / 60e6, 95) < 10


def test_stock_falls_with_sales_and_is_restocked() -> None:
    simulator, events, _labels = simulated(days=3.0, anomaly_rate=0.0)
    updates = events.filter(pc.equal(events.column("event_type"), "product_updated"))
    assert updates.num_rows > 0
    inventory = updates.column("inventory").to_numpy()
    assert (inventory > 0).all()
    initial = dict(
        zip(
            simulator.world.products.column("product_id").to_pylist(),
            simulator.world.products.column("inventory").to_pylist(),
            strict=True,
        )
    )
    below_start = [
        inv < initial[p] for p, inv in zip(updates.column("product_id").to_pylist(), inventory, strict=True)
    ]
    assert any(below_start)


@pytest.mark.slow
def test_works_at_ten_million_customers_and_a_quarter_million_products() -> None:
    simulator = Simulator(GeneratorSettings(customers=10_000_000, products=250_000))
    assert simulator.world.customers.num_rows == 10_000_000
    assert simulator.world.products.num_rows == 250_000
    assert simulator.world.customers.column("customer_id")[-1].as_py() == "C10000000"
    batch = next(simulator.batches(events=100_000))
    unknown = batch.labels.filter(pc.equal(batch.labels.column("kind"), "unknown_customer"))
    mask = np.ones(batch.events.num_rows, dtype=bool)
    mask[unknown.column("position").to_numpy() - batch.offset] = False
    users = batch.events.column("user_id").filter(pa.array(mask)).drop_null()
    assert len(users) > 1000
    assert pc.all(pc.less_equal(users, "C10000000")).as_py()  # ids of real customers only
    labelled = set(batch.labels.column("position").drop_null().to_pylist())
    assert {batch.offset + r for r in violations(batch.events).column("row").to_pylist()} <= labelled


def test_big_spenders_place_bigger_orders() -> None:
    """The latent spend level shows in order values: structure for monetary segments and CLV."""
    simulator, events, _ = simulated(days=3.0, anomaly_rate=0.0)
    web = events.filter(
        pc.and_(
            pc.and_(
                pc.equal(events.column("event_type"), "purchase"),
                pc.not_equal(events.column("channel").cast(pa.string()), "pos"),
            ),
            pc.is_valid(events.column("user_id")),
        )
    )
    users = web.column("user_id").to_pylist()
    index = np.array([int(u[1:]) - 1 for u in users])
    spend = simulator.world.customer_spend[index]
    totals = web.column("order_total").cast(pa.float64()).to_numpy()
    low, high = np.quantile(spend, [0.25, 0.75])
    assert totals[spend >= high].mean() > 1.2 * totals[spend <= low].mean()


def _events_ts(start: datetime, days: float, seed: int) -> npt.NDArray[np.int64]:
    simulator = Simulator(GeneratorSettings(seed=seed, start=start, sessions_per_day=2_000_000))
    ts = [
        b.events.column("event_ts").drop_null().cast(pa.int64()).to_numpy()
        for b in simulator.batches(days=days)
    ]
    return np.concatenate(ts)


def test_the_feed_opens_on_a_shop_with_visits_under_way() -> None:
    """The first minutes are as busy as the same minutes of a feed that began an hour before
    (they were about 3/4 as busy when the shop opened with the feed), and none is earlier."""
    opens = datetime(2026, 3, 4, 13, 0, tzinfo=UTC)
    opens_us = int(opens.timestamp() * 1_000_000)
    ten_minutes = 10 * 60 * 1_000_000
    fresh = steady = 0
    for seed in range(1, 4):
        ts = _events_ts(opens, 10 / MINUTES_PER_DAY, seed)
        assert ts.min() >= opens_us
        fresh += len(ts)
        ts = _events_ts(opens - timedelta(hours=1), 70 / MINUTES_PER_DAY, seed)
        steady += int(((ts >= opens_us) & (ts < opens_us + ten_minutes)).sum())
    assert fresh / steady == pytest.approx(1.0, abs=0.04)


def test_an_incident_under_way_when_the_feed_opens_is_labelled_from_then() -> None:
    day = 20_516  # 2026-03-04
    plan = plan_day(42, day, RATE)
    assert len(plan.incident_start)
    began = datetime.fromtimestamp((day * MINUTES_PER_DAY + int(plan.incident_start[0])) * 60, UTC)
    ends = datetime.fromtimestamp((day * MINUTES_PER_DAY + int(plan.incident_end[0])) * 60, UTC)
    opens = began + timedelta(minutes=5)
    simulator = Simulator(GeneratorSettings(start=opens, anomaly_rate=RATE))
    labels = pa.concat_tables([b.labels for b in simulator.batches(days=0.02)])
    incidents = labels.filter(pc.is_valid(labels.column("end_ts")))
    assert incidents.column("kind").to_pylist()[:1] == [INCIDENTS[int(plan.incident_kind[0])].value]
    assert incidents.column("start_ts").to_pylist()[:1] == [opens]
    assert incidents.column("end_ts").to_pylist()[:1] == [ends]


def test_a_row_is_priced_by_the_promotion_of_its_own_day() -> None:
    """Visits under way at midnight see the new day's prices: no discount from yesterday's
    promotion (2025-12-31 has 10% off Grocery at seed 1; 2026-01-01, the start, has none)."""
    assert CATEGORY_NAMES[plan_day(1, 20_453, 0.0).promo_category] == "Grocery"
    assert plan_day(1, 20_454, 0.0).promo_category == -1
    simulator = Simulator(GeneratorSettings(seed=1, anomaly_rate=0.0))
    events = pa.concat_tables([b.events for b in simulator.batches(days=0.1)])
    catalogue = simulator.world.products.select(["product_id", "price"])
    shown = events.select(["product_id", "category", "unit_price"])
    priced = shown.filter(pc.is_valid(shown.column("unit_price"))).join(catalogue, "product_id")
    assert priced.num_rows > 0
    grocery = priced.filter(pc.equal(priced.column("category"), "Grocery"))
    assert grocery.num_rows > 0
    assert pc.all(pc.equal(priced.column("unit_price"), priced.column("price"))).as_py()
