"""Metric detectors: pure functions of one closed 5-minute window and its rolling baseline.

Each detector takes the window's figures (:class:`Window`), the figures of the
windows before it that make its baseline (:class:`Baseline`, the previous
``baseline_windows`` windows in which this detector did not fire, so an incident
does not become the norm), and the thresholds; it returns a :class:`Finding` with
a severity, or ``None``. Thresholds follow the anomaly-detection guide; where a
threshold alone would fire on noise (a quiet night has few orders) the change must
also be unlikely under the baseline (``significance``, a Poisson tail).

>>> w = Window(events=100, sessions=100, online_sessions=100, carts=10, orders=0, online_orders=0,
...            failed_payments=9, revenue=0.0, priced_events=50, missing_price=40, missing_category=0,
...            top_category=None, top_lines=0, lines=0)
>>> data_quality(w, Baseline.empty(), DetectorSettings()).severity
'critical'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from shopstream.settings import DetectorSettings


@dataclass(frozen=True)
class Window:
    """The figures of one 5-minute window (see ``window_history.sql``)."""

    events: int
    sessions: int
    online_sessions: int
    carts: int
    orders: int
    online_orders: int
    failed_payments: int
    revenue: float
    priced_events: int
    missing_price: int
    missing_category: int
    top_category: str | None
    top_lines: int
    lines: int


NUMERIC = tuple(f.name for f in fields(Window) if f.name != "top_category")


@dataclass(frozen=True)
class Baseline:
    """The same figures over the baseline's windows, one array per figure.

    >>> b = Baseline.of({"events": [100.0, 110.0, 120.0, 130.0]})
    >>> b.mean("events"), round(b.std("events"), 1)
    (115.0, 12.9)
    """

    columns: dict[str, npt.NDArray[np.float64]]

    @classmethod
    def of(cls, columns: dict[str, list[float]]) -> Baseline:
        return cls({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()})

    @classmethod
    def empty(cls) -> Baseline:
        return cls({name: np.zeros(0) for name in NUMERIC})

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def mean(self, name: str) -> float:
        return float(self.columns[name].mean()) if len(self) else 0.0

    def std(self, name: str) -> float:
        return float(self.columns[name].std(ddof=1)) if len(self) > 1 else 0.0


@dataclass(frozen=True)
class Finding:
    """What a detector found in a window."""

    anomaly_type: str
    severity: str
    description: str
    observed: float
    expected: float | None
    scope: str = "all"


Detector = Callable[[Window, Baseline, DetectorSettings], Finding | None]
SEVERITIES = ("medium", "high", "critical")


def _level(value: float, levels: tuple[float, float, float], *, below: bool = False) -> str | None:
    """The severity of ``value`` against ascending (or, ``below``, descending) levels.

    >>> _level(0.45, (0.30, 0.40, 0.50)), _level(0.015, (0.03, 0.02, 0.01), below=True)
    ('high', 'high')
    """
    found = None
    for severity, level in zip(SEVERITIES, levels, strict=True):
        if (value < level) if below else (value > level):
            found = severity
    return found


def poisson_cdf(k: float, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam); a normal approximation for large means.

    >>> round(poisson_cdf(0, 2.0), 4), round(poisson_cdf(2, 2.0), 4)
    (0.1353, 0.6767)
    """
    if lam <= 0:
        return 1.0
    if k < 0:
        return 0.0
    if lam > 500:
        return 0.5 * math.erfc(-(k + 0.5 - lam) / math.sqrt(2 * lam))
    log_lam = math.log(lam)
    return min(1.0, sum(math.exp(i * log_lam - lam - math.lgamma(i + 1)) for i in range(int(k) + 1)))


def poisson_sf(k: float, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam).

    >>> round(poisson_sf(5, 1.0), 4)
    0.0037
    """
    return 1.0 - poisson_cdf(k - 1, lam)


def revenue_drop(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Revenue well below the baseline, with fewer orders or more failed payments than chance allows."""
    if len(base) < t.baseline_windows:
        return None
    expected = base.mean("revenue")
    if expected <= 0:
        return None
    drop = 1 - now.revenue / expected
    severity = _level(drop, t.revenue_drop)
    if severity is None:
        return None
    few_orders = poisson_cdf(now.orders, base.mean("orders")) < t.significance
    attempts = now.orders + now.failed_payments
    usual_failure = max(
        base.mean("failed_payments") / max(base.mean("orders") + base.mean("failed_payments"), 1), 0.02
    )
    failing = poisson_sf(now.failed_payments, attempts * usual_failure) < t.significance
    if not (few_orders or failing):
        return None
    return Finding(
        "revenue_drop",
        severity,
        f"Revenue dropped {drop:.0%} below its baseline ({expected:,.2f} -> {now.revenue:,.2f});"
        f" {now.failed_payments} of {attempts} payments failed.",
        now.revenue,
        expected,
    )


def _traffic_z(now: Window, base: Baseline) -> tuple[float, float]:
    """How far the visits started in the window lie from the baseline, in standard deviations.

    Traffic is counted in visits, not events: a visit's events come in bursts of tens,
    so events scatter several times more than visits and would cry wolf.
    """
    expected = base.mean("sessions")
    spread = max(base.std("sessions"), math.sqrt(max(expected, 1.0)))
    return (now.sessions - expected) / spread, expected


def traffic_spike(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Many more events than the baseline (z-score)."""
    if len(base) < t.baseline_windows:
        return None
    z, expected = _traffic_z(now, base)
    severity = _level(z, t.traffic_z)
    if severity is None:
        return None
    return Finding(
        "traffic_spike",
        severity,
        f"Traffic spike: {now.sessions} visits (expected ~{expected:,.0f}, z = {z:.1f});"
        f" {now.events} events.",
        now.sessions,
        expected,
    )


def traffic_drop(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Many fewer events than the baseline (z-score)."""
    if len(base) < t.baseline_windows:
        return None
    z, expected = _traffic_z(now, base)
    severity = _level(-z, t.traffic_z)
    if severity is None:
        return None
    return Finding(
        "traffic_drop",
        severity,
        f"Traffic drop: {now.sessions} visits (expected ~{expected:,.0f}, z = {z:.1f}); {now.events} events.",
        now.sessions,
        expected,
    )


def _abandonment(carts: float, orders: float) -> float:
    return 1.0 - min(orders, carts) / carts if carts > 0 else 0.0


def cart_abandonment_spike(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Abandonment (1 - orders / carts started) far above its baseline and above the floor."""
    if len(base) < t.baseline_windows or now.carts <= 0:
        return None
    rate = _abandonment(now.carts, now.online_orders)
    carts = base.columns["carts"]
    rates = np.array([_abandonment(c, o) for c, o in zip(carts, base.columns["online_orders"], strict=True)])
    expected = float(rates[carts > 0].mean()) if (carts > 0).any() else 0.0
    chance = math.sqrt(max(expected * (1 - expected), 0.01) / now.carts)
    spread = max(float(rates.std(ddof=1)) if len(rates) > 1 else 0.0, chance)
    z = (rate - expected) / spread
    severity = _level(rate, t.abandonment_rate)
    if severity is None or z < t.abandonment_z:
        return None
    # the orders missing must be unlikely too: a quiet window has few carts
    if poisson_cdf(now.online_orders, now.carts * (1 - expected)) >= t.significance:
        return None
    return Finding(
        "cart_abandonment_spike",
        severity,
        f"Cart abandonment spike: {rate:.0%} (expected ~{expected:.0%}); {now.carts} carts started,"
        f" {now.online_orders} orders.",
        rate,
        expected,
    )


def conversion_drop(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Online conversion (orders / sessions started) below the floor and well below its baseline."""
    if len(base) < t.baseline_windows or now.online_sessions <= 0:
        return None
    rate = now.online_orders / now.online_sessions
    severity = _level(rate, t.conversion_rate, below=True)
    if severity is None:
        return None
    sessions = base.columns["online_sessions"].sum()
    expected = float(base.columns["online_orders"].sum() / sessions) if sessions > 0 else 0.0
    if poisson_cdf(now.online_orders, now.online_sessions * expected) >= t.significance:
        return None
    return Finding(
        "conversion_drop",
        severity,
        f"Conversion drop: {rate:.1%} of {now.online_sessions} sessions bought (expected ~{expected:.1%}).",
        rate,
        expected,
    )


def data_quality(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """Too many product events without a price or a category."""
    if now.priced_events < 20:
        return None
    share = max(now.missing_price, now.missing_category) / now.priced_events
    severity = _level(share, t.missing_share)
    if severity is None:
        return None
    what = "price" if now.missing_price >= now.missing_category else "category"
    return Finding(
        "data_quality",
        severity,
        f"Data quality: {share:.0%} of {now.priced_events} product events have no {what}.",
        share,
        None,
    )


def category_imbalance(now: Window, base: Baseline, t: DetectorSettings) -> Finding | None:
    """One category takes most of the window's order lines (20 lines at least)."""
    if now.lines < 20 or now.top_category is None:
        return None
    share = now.top_lines / now.lines
    if share <= t.category_share:
        return None
    return Finding(
        "category_imbalance",
        "low",
        f"Category imbalance: {now.top_category} took {share:.0%} of {now.lines} order lines.",
        share,
        t.category_share,
        scope=f"category={now.top_category}",
    )


DETECTORS: dict[str, Detector] = {
    "revenue_drop": revenue_drop,
    "traffic_spike": traffic_spike,
    "traffic_drop": traffic_drop,
    "cart_abandonment_spike": cart_abandonment_spike,
    "conversion_drop": conversion_drop,
    "data_quality": data_quality,
    "category_imbalance": category_imbalance,
}
"""Every metric detector by the anomaly type it reports."""
