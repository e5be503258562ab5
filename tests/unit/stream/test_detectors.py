"""One contract suite for every metric detector, hand-computed cases, and the baseline rule of
``detect_windows``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shopstream.settings import DetectorSettings
from shopstream.stream.detectors import (
    DETECTORS,
    NUMERIC,
    SEVERITIES,
    Baseline,
    Window,
    conversion_drop,
    data_quality,
    revenue_drop,
    traffic_spike,
)
from shopstream.stream.engine import detect_windows

SETTINGS = DetectorSettings()


def shop_window(rng: np.random.Generator, visits: float = 150.0) -> Window:
    """A healthy window of the simulated shop's size: Poisson visits, binomial funnel steps."""
    sessions = int(rng.poisson(visits))
    online = int(rng.binomial(sessions, 0.94))
    cart_visits = int(rng.binomial(online, 0.10))
    checkouts = int(rng.binomial(cart_visits, 0.46))
    attempts = int(rng.binomial(checkouts, 0.70))
    failed = int(rng.binomial(attempts, 0.04))
    orders = attempts - failed + int(rng.binomial(failed, 0.5))
    adds = int(rng.poisson(cart_visits * 2.2))
    top = int(rng.binomial(adds, 0.2))
    priced = int(rng.poisson(visits * 2))
    return Window(
        events=sessions * 9,
        sessions=sessions,
        online_sessions=online,
        carts=cart_visits,
        orders=orders + sessions - online,
        online_orders=orders,
        failed_payments=failed,
        revenue=orders * 120.0,
        cart_visits=cart_visits,
        checkout_visits=checkouts,
        visit_orders=orders,
        visit_failed_payments=failed,
        visit_revenue=orders * 120.0,
        priced_events=priced,
        top_category="Clothing",
        top_cart_adds=top,
        cart_adds=adds,
    )


def baseline_of(windows: list[Window]) -> Baseline:
    return Baseline.of({name: [float(getattr(w, name)) for w in windows] for name in NUMERIC})


def planted(kind: str, healthy: Window) -> Window:
    """The same window hit by the incident each detector is for, at full strength."""
    if kind == "revenue_drop":
        failed = healthy.visit_orders + healthy.visit_failed_payments
        return replace(healthy, visit_orders=0, visit_failed_payments=failed + 5, visit_revenue=0.0)
    if kind == "traffic_spike":
        return replace(healthy, sessions=healthy.sessions * 5)
    if kind == "traffic_drop":
        return replace(healthy, sessions=healthy.sessions // 10)
    if kind == "cart_abandonment_spike":
        return replace(healthy, cart_visits=40, checkout_visits=1, visit_orders=0, visit_revenue=0.0)
    if kind == "conversion_drop":
        return replace(healthy, online_sessions=400, visit_orders=0, visit_revenue=0.0)
    if kind == "data_quality":
        return replace(healthy, priced_events=300, missing_price=200)
    if kind == "category_imbalance":
        return replace(healthy, top_category="Pet Supplies", cart_adds=40, top_cart_adds=38)
    raise AssertionError(f"no planted incident for {kind}")


EXPECTED_SEVERITY = {
    "revenue_drop": "critical",
    "traffic_spike": "critical",
    "traffic_drop": "critical",
    "cart_abandonment_spike": "critical",
    "conversion_drop": "critical",
    "data_quality": "critical",
    "category_imbalance": "low",
}


def test_every_detector_has_a_planted_incident() -> None:
    assert set(EXPECTED_SEVERITY) == set(DETECTORS)


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_quiet_on_a_healthy_shop(kind: str) -> None:
    """No detector fires on 300 healthy windows judged against healthy baselines."""
    rng = np.random.default_rng(4)
    detector = DETECTORS[kind]
    fired = 0
    for _ in range(300):
        base = baseline_of([shop_window(rng) for _ in range(SETTINGS.baseline_windows)])
        recent = [shop_window(rng) for _ in range(SETTINGS.pool_windows)]
        fired += detector(recent, base, SETTINGS) is not None
    assert fired == 0


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_fires_on_a_planted_incident_with_its_severity(kind: str) -> None:
    rng = np.random.default_rng(5)
    base = baseline_of([shop_window(rng) for _ in range(SETTINGS.baseline_windows)])
    healthy = [shop_window(rng) for _ in range(SETTINGS.pool_windows)]
    hit = [healthy[0], *(planted(kind, w) for w in healthy[1:])]  # the incident began a window ago
    finding = DETECTORS[kind](hit, base, SETTINGS)
    assert finding is not None
    assert finding.anomaly_type == kind
    assert finding.severity == EXPECTED_SEVERITY[kind]
    assert finding.severity in (*SEVERITIES, "low")


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_needs_no_more_than_the_settings(kind: str) -> None:
    """A detector is a pure function: the same inputs give the same finding."""
    rng = np.random.default_rng(6)
    base = baseline_of([shop_window(rng) for _ in range(SETTINGS.baseline_windows)])
    hit = [planted(kind, shop_window(rng)) for _ in range(SETTINGS.pool_windows)]
    assert DETECTORS[kind](hit, base, SETTINGS) == DETECTORS[kind](hit, base, SETTINGS)


def flat(**figures: float) -> Window:
    values: dict[str, Any] = {name: 0 for name in NUMERIC}
    values.update(figures)
    return Window(**values)


def test_revenue_drop_hand_computed() -> None:
    # baseline: 100 visits a window bringing 1,000.00 from 5 orders, no failures -> 10.00 a visit
    base = baseline_of([flat(online_sessions=100, visit_orders=5, visit_revenue=1000.0)] * 12)
    # 100 visits, 450.00 from 2 orders, 8 payments failed: 55% below 1,000.00 -> critical (> 50%);
    # 8 failures of 10 attempts at the 2% floor: P(X >= 8 | 0.2) is far below 1e-4
    now = flat(online_sessions=100, visit_orders=2, visit_failed_payments=8, visit_revenue=450.0)
    finding = revenue_drop([now], base, SETTINGS)
    assert finding is not None
    assert (finding.severity, finding.observed, finding.expected) == ("critical", 450.0, 1000.0)
    # 35% below (medium) but with no failure and 4 orders of 5 expected: chance, not an incident
    assert (
        revenue_drop([flat(online_sessions=100, visit_orders=4, visit_revenue=650.0)], base, SETTINGS) is None
    )


def test_traffic_z_hand_computed() -> None:
    # a flat baseline of 100 visits at lags 12..1: the line is flat at 100 and its residuals are 0,
    # so the noise is Poisson, 100, plus the line's uncertainty at lag 0: 100 (1/12 + 6.5^2 / 143)
    # -> spread sqrt(137.9) = 11.74; at lag 1: 100 (1 + 1/12 + 5.5^2 / 143) -> 11.38
    base = baseline_of([flat(sessions=100)] * 12)
    # z = 48 / 11.74 = 4.09 now and 50 / 11.38 = 4.39 the window before: the smaller is high (> 4)
    finding = traffic_spike([flat(sessions=150), flat(sessions=148)], base, SETTINGS)
    assert finding is not None
    assert (finding.severity, finding.observed, finding.expected) == ("high", 148, 100.0)
    # 141 now: z = 3.49, medium
    medium = traffic_spike([flat(sessions=150), flat(sessions=141)], base, SETTINGS)
    assert medium is not None
    assert medium.severity == "medium"
    # one window alone, however far out, is not confirmed
    assert traffic_spike([flat(sessions=100), flat(sessions=400)], base, SETTINGS) is None


def test_traffic_follows_the_baseline_trend() -> None:
    # visits rising by 10 a window (lags 14..3): the trend expects 250 now, where the mean says 175
    base = Baseline.of({"sessions": [float(100 + 10 * i) for i in range(12)], "lag": list(range(14, 2, -1))})
    assert traffic_spike([flat(sessions=240), flat(sessions=250)], base, SETTINGS) is None


def test_conversion_drop_hand_computed() -> None:
    # baseline: 100 visits, 10 carts and 2 orders a window -> 2% conversion, 0.1 carts a visit,
    # 0.2 orders a cart
    base = baseline_of([flat(online_sessions=100, cart_visits=10, visit_orders=2)] * 12)
    # two windows of 200 visits, 8 carts and no order each: 0% (critical, < 1%). The orders alone,
    # none of 8 expected, are no proof (P = e^-8 = 3.4e-4); but 16 carts of 40 expected,
    # P(X <= 16 | 40) = 1.42e-5, and no order from them, 0.8^16 = 0.0281, give q = 3.99e-7 and
    # Fisher's q (1 - ln q) = 3.99e-7 x 15.73 = 6.3e-6, under 1e-4
    drop = flat(online_sessions=200, cart_visits=8, visit_orders=0)
    finding = conversion_drop([drop, drop], base, SETTINGS)
    assert finding is not None
    assert (finding.severity, finding.observed, finding.windows) == ("critical", 0.0, 2)
    assert finding.expected == pytest.approx(0.02)
    # the latest window alone: P(X <= 8 | 20) = 2.09e-3 and 0.8^8 = 0.168 -> 3.1e-3, not enough
    assert conversion_drop([drop], base, SETTINGS) is None
    # carts as usual (40 of 40) and no order: P = 0.542 and 0.8^40 = 1.33e-4 -> q = 7.2e-5,
    # Fisher 7.6e-4: the orders alone decide, and ten minutes without one are not enough
    usual_carts = flat(online_sessions=200, cart_visits=20, visit_orders=0)
    assert conversion_drop([usual_carts, usual_carts], base, SETTINGS) is None


def test_data_quality_hand_computed() -> None:
    # 40 of 100 product events without a price: 40% -> high (> 25%, not > 50%)
    finding = data_quality([flat(priced_events=100, missing_price=40)], Baseline.empty(), SETTINGS)
    assert finding is not None
    assert (finding.severity, finding.observed) == ("high", 0.4)
    # 10% exactly is not above the 10% floor; fewer than 20 events are not judged
    assert data_quality([flat(priced_events=100, missing_category=10)], Baseline.empty(), SETTINGS) is None
    assert data_quality([flat(priced_events=19, missing_price=19)], Baseline.empty(), SETTINGS) is None


def history_of(sessions: list[int]) -> dict[str, list[Any]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    history: dict[str, list[Any]] = {name: [0] * len(sessions) for name in NUMERIC}
    history["sessions"] = sessions
    history["window_start"] = [start + timedelta(minutes=5 * i) for i in range(len(sessions))]
    history["top_category"] = [None] * len(sessions)
    return history


def test_an_incident_does_not_become_its_own_baseline() -> None:
    """A traffic drop lasting 20 windows is reported in every one of its windows after confirmation:
    the windows it fired in stay out of the baseline, which would otherwise sink to the new level."""
    rng = np.random.default_rng(7)
    normal = [int(v) for v in rng.poisson(200, 30)]
    dropped = [int(v) for v in rng.poisson(20, 20)]
    history = history_of([*normal, *dropped, *(int(v) for v in rng.poisson(200, 5))])
    found = detect_windows(history, 0, {}, SETTINGS)
    drops = [index for index, finding in found if finding.anomaly_type == "traffic_drop"]
    assert drops == list(range(31, 50))
    # the same history judged in two batches, the second told what the first found
    first = detect_windows(history, 0, {}, SETTINGS)
    split = 40
    earlier = {
        kind: {history["window_start"][i] for i, f in first if f.anomaly_type == kind and i < split}
        for kind in DETECTORS
    }
    later = [(i, f) for i, f in first if i >= split]
    assert detect_windows(history, split, earlier, SETTINGS) == later
