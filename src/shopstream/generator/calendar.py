"""When shoppers come: daily and weekly rhythm, seasons, promotions and incidents.

Traffic is an intensity per minute and country (visits per minute), the product of
a local-time daily curve, a weekday factor, a yearly season with a November and
December peak, one-day category promotions and metric incidents. Promotions and
incidents are drawn per UTC day from ``(seed, day)``, so they do not depend on how
the stream is cut into chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from shopstream.generator.world import CATEGORY_NAMES, COUNTRY_SHARE, COUNTRY_UTC_OFFSET

MICROS_PER_MINUTE = 60_000_000
MINUTES_PER_DAY = 1440

# visits by local hour of day (midnight first), mean 1 after normalising
_HOURLY = np.array(
    [
        0.32,
        0.2,
        0.13,
        0.1,
        0.1,
        0.14,
        0.3,
        0.55,
        0.8,
        0.95,
        1.05,
        1.12,
        1.22,
        1.2,
        1.12,
        1.1,
        1.18,
        1.35,
        1.55,
        1.72,
        1.8,
        1.62,
        1.15,
        0.62,
    ]
)
_HOURLY = _HOURLY / _HOURLY.mean()
_WEEKDAY = np.array([0.96, 0.94, 0.96, 1.0, 1.04, 1.1, 1.0])  # Monday first


class Incident(StrEnum):
    """Metric incidents: a time range in which one of the shop's metrics goes wrong."""

    REVENUE_DROP = "revenue_drop"
    TRAFFIC_SPIKE = "traffic_spike"
    TRAFFIC_DROP = "traffic_drop"
    CART_ABANDONMENT_SPIKE = "cart_abandonment_spike"
    CONVERSION_DROP = "conversion_drop"
    MISSING_PRICES = "missing_prices"
    CATEGORY_DOMINANCE = "category_dominance"


INCIDENTS = tuple(Incident)


@dataclass(frozen=True)
class DayPlan:
    """Promotion and incidents of one UTC day; minutes count from midnight."""

    promo_category: int  # -1: no promotion that day
    promo_discount: float
    incident_kind: npt.NDArray[np.int64]
    incident_start: npt.NDArray[np.int64]
    incident_end: npt.NDArray[np.int64]
    incident_strength: npt.NDArray[np.float64]
    incident_category: npt.NDArray[np.int64]


def plan_day(seed: int, day: int, anomaly_rate: float) -> DayPlan:
    """The promotion and incidents of epoch day ``day``.

    Incidents last 20 to 60 minutes, never overlap, and cover about
    ``anomaly_rate`` of the day; their kinds rotate so every kind appears.
    """
    rng = np.random.default_rng([seed, 7, day])
    promo = rng.random() < 0.12
    promo_category = int(rng.integers(len(CATEGORY_NAMES))) if promo else -1
    promo_discount = float(rng.choice([0.1, 0.15, 0.2, 0.25, 0.3]))
    count = int(rng.poisson(anomaly_rate * MINUTES_PER_DAY / 40.0)) if anomaly_rate > 0 else 0
    count = min(count, 12)
    # one incident per two-hour slot at most, so they never overlap and leave room for a baseline
    slots = np.sort(rng.choice(12, size=count, replace=False)) if count else np.zeros(0, dtype=np.int64)
    duration = rng.integers(20, 61, size=count)
    start = slots * 120 + rng.integers(15, 120 - 60, size=count)
    kinds = (day * 3 + np.arange(count) + rng.integers(len(INCIDENTS))) % len(INCIDENTS)
    return DayPlan(
        promo_category=promo_category,
        promo_discount=promo_discount,
        incident_kind=kinds.astype(np.int64),
        incident_start=start.astype(np.int64),
        incident_end=(start + duration).astype(np.int64),
        incident_strength=rng.uniform(0.0, 1.0, size=count),
        incident_category=rng.integers(len(CATEGORY_NAMES), size=count).astype(np.int64),
    )


def season(day: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Yearly factor for epoch days: a mild summer dip and a November/December peak."""
    day_of_year = (day + 0) % 365.25
    # epoch day 0 is 1 January 1970, so day_of_year ~ 0 is early January
    base = 1.0 + 0.08 * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)
    black_friday = np.exp(-0.5 * ((day_of_year - 330) / 6.0) ** 2) * 0.45
    christmas = np.exp(-0.5 * ((day_of_year - 350) / 8.0) ** 2) * 0.35
    result: npt.NDArray[np.float64] = base + black_friday + christmas
    return result


def visit_intensity(first_minute: int, minutes: int, sessions_per_day: float) -> npt.NDArray[np.float64]:
    """Expected visits per (minute, country) for ``minutes`` epoch minutes from ``first_minute``.

    The daily curve follows each country's local clock, interpolated between hours. Every
    country's clock runs through the same stretch of local time, shifted: the curve is
    worked out once per minute of that stretch, then looked up per (minute, country).
    """
    offset = COUNTRY_UTC_OFFSET * 60
    earliest = int(offset.min())
    local_time = first_minute + earliest + np.arange(minutes + int(offset.max()) - earliest, dtype=np.int64)
    hour = (local_time % MINUTES_PER_DAY) / 60.0
    low = np.floor(hour).astype(np.int64)
    frac = hour - low
    daily = _HOURLY[low % 24] * (1 - frac) + _HOURLY[(low + 1) % 24] * frac
    day = local_time // MINUTES_PER_DAY
    weekday = _WEEKDAY[(day + 3) % 7]  # 1970-01-01 was a Thursday
    first_day = int(day[0])
    seasonal = season(np.arange(first_day, int(day[-1]) + 1))  # once per day, not per minute
    factor = daily * weekday * seasonal[day - first_day]
    at = np.arange(minutes)[:, None] + (offset - earliest)[None, :]
    result: npt.NDArray[np.float64] = (
        np.take(factor, at) * COUNTRY_SHARE[None, :] * (sessions_per_day / MINUTES_PER_DAY)
    )
    return result
