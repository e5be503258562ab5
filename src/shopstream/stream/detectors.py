"""Metric detectors: pure functions of the latest closed 5-minute windows and their baseline.

Each detector takes ``recent``, the windows being judged (oldest first; the last is the
window an anomaly is reported for, at most ``pool_windows`` of them), the figures of the
windows before them that make its baseline (:class:`Baseline`: the previous
``baseline_windows`` windows in which this detector did not fire, so an incident does not
become the norm), and the thresholds; it returns a :class:`Finding` with a severity, or
``None``. The severity levels follow the anomaly-detection guide; because a 5-minute window
of this shop holds a few hundred visits and a handful of orders, a level alone fires on
noise, so every rule also needs the change to be unlikely under the baseline
(``significance``, a Poisson tail) or, for traffic, to hold in two windows running. Three
habits make that possible while still reporting an incident within two windows of its
start:

- **cohort figures**: carts, checkouts, payments and orders are counted in the window
  in which their *visit started* (``update_visit_outcomes.sql``), so the visits an incident
  touches are compared with the visits that came before, not diluted by visits that
  started before it and pay 5-20 minutes later;
- **pooling**: the sparse rules (revenue, abandonment, conversion, category) judge the
  latest window alone and pooled with the one or two before it, and report the most
  significant; the baseline always ends before the oldest window judged;
- **rates, not levels**: sparse figures are compared per visit (or per cart), so the daily
  rhythm of traffic does not read as an incident; traffic itself is compared with the
  baseline's linear trend.

>>> w = Window(events=100, sessions=100, online_sessions=100, carts=10, orders=0, online_orders=0,
...            failed_payments=9, revenue=0.0, priced_events=50, missing_price=40)
>>> data_quality([w], Baseline.empty(), DetectorSettings()).severity
'critical'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from shopstream.settings import DetectorSettings


@dataclass(frozen=True)
class Window:
    """The figures of one 5-minute window (see ``window_history.sql``).

    Event-time figures count the events whose time falls in the window; the cohort
    figures (``cart_visits`` to ``visit_revenue``) count what the online visits that
    *started* in the window went on to do; ``cart_adds`` counts the window's cart adds and
    ``top_cart_adds`` those of its ``top_category``.
    """

    events: int
    sessions: int
    online_sessions: int
    carts: int
    orders: int
    online_orders: int
    failed_payments: int
    revenue: float
    cart_visits: int = 0
    checkout_visits: int = 0
    visit_orders: int = 0
    visit_failed_payments: int = 0
    visit_revenue: float = 0.0
    priced_events: int = 0
    missing_price: int = 0
    missing_category: int = 0
    top_category: str | None = None
    top_cart_adds: int = 0
    cart_adds: int = 0


NUMERIC = tuple(f.name for f in fields(Window) if f.name != "top_category")


@dataclass(frozen=True)
class Baseline:
    """The same figures over the baseline's windows, one array per figure.

    ``lag`` (optional) says how many windows each lies before the window being reported;
    without it the baseline is taken to be the windows right before the judged ones.

    >>> b = Baseline.of({"events": [100.0, 110.0, 120.0, 130.0]})
    >>> b.mean("events"), round(b.std("events"), 1), b.total("events"), b.lags().tolist()
    (115.0, 12.9, 460.0, [4.0, 3.0, 2.0, 1.0])
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

    def total(self, name: str) -> float:
        return float(self.columns[name].sum()) if len(self) else 0.0

    def lags(self) -> npt.NDArray[np.float64]:
        if "lag" in self.columns:
            return self.columns["lag"]
        return np.arange(len(self), 0, -1, dtype=np.float64)


@dataclass(frozen=True)
class Finding:
    """What a detector found in a window (``windows``: how many windows its evidence pooled)."""

    anomaly_type: str
    severity: str
    description: str
    observed: float
    expected: float | None
    scope: str = "all"
    windows: int = 1


Detector = Callable[[Sequence[Window], Baseline, DetectorSettings], Finding | None]
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
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    if lam > 500:
        return 0.5 * math.erfc(-(k + 0.5 - lam) / math.sqrt(2 * lam))
    log_lam = math.log(lam)
    return min(1.0, sum(math.exp(i * log_lam - lam - math.lgamma(i + 1)) for i in range(int(k) + 1)))


def poisson_sf(k: float, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam); nothing is unlikely when nothing is expected.

    >>> round(poisson_sf(5, 1.0), 4), poisson_sf(0, 0.0)
    (0.0037, 1.0)
    """
    return 1.0 - poisson_cdf(k - 1, lam)


def binomial_cdf(k: float, n: float, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p) (``n`` rounded to a whole number).

    >>> round(binomial_cdf(1, 4, 0.5), 4), binomial_cdf(-1, 4, 0.5), binomial_cdf(4, 4, 0.5)
    (0.3125, 0.0, 1.0)
    """
    trials = round(n)
    if k < 0:
        return 0.0
    if k >= trials or p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(trials + 1)
    terms = (
        math.exp(log_n - math.lgamma(i + 1) - math.lgamma(trials - i + 1) + i * log_p + (trials - i) * log_q)
        for i in range(int(k) + 1)
    )
    return min(1.0, sum(terms))


def pooled(recent: Sequence[Window], name: str) -> float:
    """The sum of one figure over ``recent``.

    >>> w = Window(events=1, sessions=2, online_sessions=2, carts=0, orders=0, online_orders=0,
    ...            failed_payments=0, revenue=10.0)
    >>> pooled([w, w, w], "revenue")
    30.0
    """
    return float(sum(getattr(w, name) for w in recent))


def _scan(
    recent: Sequence[Window],
    judge: Callable[[Sequence[Window]], tuple[float, Finding] | None],
    t: DetectorSettings,
) -> Finding | None:
    """The most significant finding of ``judge`` over the latest window alone and pooled with the
    one or two before it: ``judge`` returns its finding with the tail probability behind it, which
    must be under ``significance``."""
    best: tuple[float, Finding] | None = None
    for size in range(1, len(recent) + 1):
        judged = judge(recent[-size:])
        if judged is not None and judged[0] < t.significance and (best is None or judged[0] < best[0]):
            best = judged
    return None if best is None else best[1]


def revenue_drop(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """The revenue of the latest visits far below what the baseline's visits brought.

    Over the latest window, or it pooled with the one or two before (the most significant
    pool is reported), let *visits* be the online visits that started there and *revenue*
    what their orders brought (cohort figures). Expected revenue is *visits* times the
    baseline's revenue per online visit; the drop ``1 - revenue / expected`` gives the
    severity (``revenue_drop``: >30% medium, >40% high, >50% critical). It must also be
    unlikely: the visits' failed payments above the baseline's failure share (at least 2%)
    or their orders below the baseline's orders per visit, each with a Poisson tail under
    ``significance``. Half a baseline at least (the first half hour of a stream).
    """
    if len(base) < t.baseline_windows // 2:
        return None
    base_visits = base.total("online_sessions")
    if base_visits <= 0 or base.total("visit_revenue") <= 0:
        return None
    per_visit = base.total("visit_revenue") / base_visits
    orders_per_visit = base.total("visit_orders") / base_visits
    base_attempts = base.total("visit_orders") + base.total("visit_failed_payments")
    usual_failure = max(base.total("visit_failed_payments") / max(base_attempts, 1.0), 0.02)

    def judge(pool: Sequence[Window]) -> tuple[float, Finding] | None:
        visits = pooled(pool, "online_sessions")
        expected = per_visit * visits
        if expected <= 0:
            return None
        revenue = pooled(pool, "visit_revenue")
        drop = 1 - revenue / expected
        severity = _level(drop, t.revenue_drop)
        if severity is None:
            return None
        orders, failed = pooled(pool, "visit_orders"), pooled(pool, "visit_failed_payments")
        attempts = orders + failed
        p = min(
            poisson_sf(failed, attempts * usual_failure),
            poisson_cdf(orders, visits * orders_per_visit),
        )
        finding = Finding(
            "revenue_drop",
            severity,
            f"Revenue dropped {drop:.0%} below its baseline ({expected:,.2f} -> {revenue:,.2f}) for the"
            f" {visits:.0f} visits of the last {len(pool) * 5} minutes; {failed:.0f} of {attempts:.0f}"
            " payments failed.",
            revenue,
            expected,
            windows=len(pool),
        )
        return p, finding

    return _scan(recent, judge, t)


def _traffic_z(recent: Sequence[Window], base: Baseline, back: int) -> tuple[float, float]:
    """How far the visits started in ``recent[-1 - back]`` lie from the baseline's trend, in standard
    deviations; with the expected visits.

    The expectation is the baseline's trend line extended to the window: the daily rhythm moves
    traffic by tens of percent an hour, and a plain mean of the last hour trails it. The line is
    Theil-Sen's (the median of the slopes between pairs of baseline windows, through the median
    residual), so the first window of an incident, which did not fire on its own and so stays in
    the baseline, cannot bend it. The spread is the window's own noise (the larger of the robust
    residual variance, 1.4826 MAD squared, and the Poisson variance of the expectation) plus the
    uncertainty of the line there. Traffic is counted in visits, not events: a visit's events come
    in bursts of tens, so events scatter several times more than visits and would cry wolf.
    """
    y = base.columns["sessions"]
    x = -base.lags()
    x0 = -float(back)
    n = len(y)
    i, j = np.triu_indices(n, k=1)
    steps = x[j] - x[i]
    slope = float(np.median((y[j] - y[i])[steps != 0] / steps[steps != 0])) if (steps != 0).any() else 0.0
    residual = y - slope * x
    intercept = float(np.median(residual))
    expected = max(intercept + slope * x0, 0.0)
    noise = (1.4826 * float(np.median(np.abs(residual - intercept)))) ** 2
    x_mean = float(x.mean())
    sxx = float(((x - x_mean) ** 2).sum())
    line = max(noise, expected, 1.0) * (1 / n + ((x0 - x_mean) ** 2 / sxx if sxx > 0 else 0.0))
    spread = math.sqrt(max(noise, expected, 1.0) + line)
    return (recent[-1 - back].sessions - expected) / spread, expected


def _traffic(recent: Sequence[Window], base: Baseline, t: DetectorSettings, sign: float) -> Finding | None:
    if len(base) < t.baseline_windows // 2 or len(recent) < 2:
        return None
    z_now, expected = _traffic_z(recent, base, 0)
    z_before, _ = _traffic_z(recent, base, 1)
    # confirmation: the window before must be as far out, so a single noisy window stays quiet
    severity = _level(min(sign * z_now, sign * z_before), t.traffic_z)
    if severity is None:
        return None
    kind = "traffic_spike" if sign > 0 else "traffic_drop"
    now = recent[-1]
    return Finding(
        kind,
        severity,
        f"Traffic {'spike' if sign > 0 else 'drop'}: {now.sessions} visits (expected ~{expected:,.0f},"
        f" z = {z_now:.1f}; the window before z = {z_before:.1f}); {now.events} events.",
        now.sessions,
        expected,
        windows=2,
    )


def traffic_spike(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """Many more visits than the baseline's trend, in the latest two windows.

    z = (visits started - trend) / spread (see ``_traffic_z``) for the latest window and
    the one before; both must reach ``traffic_z`` and the smaller gives the severity (z >= 3
    medium, 4 high, 5 critical). Two windows are needed because a z of 3 happens by chance
    a few times a week in 2,016 windows; an injected surge outlasts 20 minutes, so it still
    shows by its second or third window. Half a baseline at least (the first half hour of a stream).
    """
    return _traffic(recent, base, t, 1.0)


def traffic_drop(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """Many fewer visits than the baseline's trend, in the latest two windows (as ``traffic_spike``,
    with -z)."""
    return _traffic(recent, base, t, -1.0)


def cart_abandonment_spike(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """Carts left far more often than the baseline's, and above the floor.

    Over the latest window, or it pooled with the one or two before (most significant pool
    reported): *carts* = online visits started there that filled a cart, *orders* = their
    orders; abandonment = ``1 - orders / carts`` gives the severity (``abandonment_rate``:
    >70% medium, >80% high, >90% critical). It must be ``abandonment_z`` (2.5) binomial
    standard deviations above the baseline's abandonment, and the carts that reached the
    checkout must be unlikely few: a binomial tail of the checkouts among the carts, at the
    baseline's checkouts per cart, under ``significance`` (checkouts outnumber orders, and a
    shop whose payments fail is ``revenue_drop``'s, not this rule's).
    """
    if len(base) < t.baseline_windows // 2:
        return None
    base_carts = base.total("cart_visits")
    if base_carts <= 0:
        return None
    expected = 1 - min(base.total("visit_orders"), base_carts) / base_carts
    checkout_share = base.total("checkout_visits") / base_carts

    def judge(pool: Sequence[Window]) -> tuple[float, Finding] | None:
        carts = pooled(pool, "cart_visits")
        if carts <= 0:
            return None
        orders = pooled(pool, "visit_orders")
        rate = 1 - min(orders, carts) / carts
        severity = _level(rate, t.abandonment_rate)
        z = (rate - expected) / math.sqrt(max(expected * (1 - expected), 0.01) / carts)
        if severity is None or z < t.abandonment_z:
            return None
        checkouts = pooled(pool, "checkout_visits")
        p = binomial_cdf(checkouts, carts, checkout_share)
        finding = Finding(
            "cart_abandonment_spike",
            severity,
            f"Cart abandonment spike: {rate:.0%} (expected ~{expected:.0%}, z = {z:.1f}); of {carts:.0f}"
            f" carts started in the last {len(pool) * 5} minutes, {checkouts:.0f} reached checkout and"
            f" {orders:.0f} ordered.",
            rate,
            expected,
            windows=len(pool),
        )
        return p, finding

    return _scan(recent, judge, t)


def fisher(p_one: float, p_two: float) -> float:
    """Fisher's combination of two independent tail probabilities: P(chi-square with 4 degrees of
    freedom >= -2 ln(p_one p_two)), which is ``q (1 - ln q)`` for their product ``q``.

    >>> round(fisher(0.01, 0.01), 6), fisher(1.0, 1.0), fisher(0.0, 0.5)
    (0.001021, 1.0, 0.0)
    """
    q = p_one * p_two
    return q * (1 - math.log(q)) if q > 0 else 0.0


def conversion_drop(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """Online conversion below the floor and unlikely low against the baseline's funnel.

    Over the latest window, or it pooled with the one or two before (most significant pool
    reported): conversion = orders of the online visits started there / those visits
    (cohort figures); it gives the severity (``conversion_rate``: <3% medium, <2% high, <1%
    critical). It must also be unlikely, judged on the two steps a conversion is made of:
    the visits that filled a cart (a Poisson tail of the carts below ``visits`` times the
    baseline's carts per visit) and the carts that ordered (a binomial tail of the orders
    among the carts at the baseline's orders per cart), the two tails combined by Fisher's
    method (:func:`fisher`) under ``significance``. A window holds about 20 carts but only
    5 orders, so two windows without an order are no proof on their own (P = e^-9 at best,
    over 1e-4), while a drop that also empties the carts shows in them at once. Half a
    baseline at least (the first half hour of a stream).
    """
    if len(base) < t.baseline_windows // 2:
        return None
    base_visits, base_carts = base.total("online_sessions"), base.total("cart_visits")
    if base_visits <= 0 or base_carts <= 0:
        return None
    expected = base.total("visit_orders") / base_visits
    carts_per_visit = base_carts / base_visits
    orders_per_cart = min(base.total("visit_orders"), base_carts) / base_carts

    def judge(pool: Sequence[Window]) -> tuple[float, Finding] | None:
        visits = pooled(pool, "online_sessions")
        if visits <= 0:
            return None
        orders, carts = pooled(pool, "visit_orders"), pooled(pool, "cart_visits")
        rate = orders / visits
        severity = _level(rate, t.conversion_rate, below=True)
        if severity is None:
            return None
        p = fisher(poisson_cdf(carts, visits * carts_per_visit), binomial_cdf(orders, carts, orders_per_cart))
        finding = Finding(
            "conversion_drop",
            severity,
            f"Conversion drop: {rate:.1%} of the {visits:.0f} visits of the last {len(pool) * 5} minutes"
            f" bought (expected ~{expected:.1%}); {carts:.0f} filled a cart (expected"
            f" ~{visits * carts_per_visit:.0f}).",
            rate,
            expected,
            windows=len(pool),
        )
        return p, finding

    return _scan(recent, judge, t)


def data_quality(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """Too many product events without a price or a category in the latest window.

    share = the larger of the events missing a price and those missing a category, over the
    window's product events (views, cart adds, removals, updates; 20 at least); severity by
    ``missing_share`` (>10% medium, >25% high, >50% critical). No baseline: a healthy feed
    misses none, so a tenth missing is no accident.
    """
    now = recent[-1]
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


def category_imbalance(recent: Sequence[Window], base: Baseline, t: DetectorSettings) -> Finding | None:
    """One category takes most of what shoppers put in their carts (low severity).

    The latest window's top category by cart adds, pooled with the one or two windows before
    while they have the same top category (the most significant pool reported): its share of
    those windows' cart adds must exceed ``category_share`` (60%) with ``category_adds`` (20)
    adds at least, and be unlikely for a usual category: a Poisson tail of its adds above
    ``adds * category_share / 2`` under ``significance`` (no category of this shop takes more
    than about a third, even on its promotion day). The guide measures sales; cart adds are
    the earliest sales figure with enough counts (a window holds 5-20 online order lines, too
    few to tell a dominant category within 10 minutes).
    """
    top = recent[-1].top_category
    if top is None:
        return None
    same = 1
    while same < len(recent) and recent[-1 - same].top_category == top:
        same += 1

    def judge(pool: Sequence[Window]) -> tuple[float, Finding] | None:
        adds, top_adds = pooled(pool, "cart_adds"), pooled(pool, "top_cart_adds")
        if adds < t.category_adds or top_adds / adds <= t.category_share:
            return None
        p = poisson_sf(top_adds, adds * t.category_share / 2)
        share = top_adds / adds
        finding = Finding(
            "category_imbalance",
            "low",
            f"Category imbalance: {top} took {share:.0%} of {adds:.0f} cart adds in the last"
            f" {len(pool) * 5} minutes.",
            share,
            t.category_share,
            scope=f"category={top}",
            windows=len(pool),
        )
        return p, finding

    return _scan(recent[-same:], judge, t)


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
