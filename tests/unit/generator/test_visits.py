"""Visits cut at the feed's start (``since``) and stacked into one chunk (``join``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from shopstream.generator import Simulator
from shopstream.generator.calendar import MICROS_PER_MINUTE
from shopstream.generator.visits import BOT_MIN_EVENTS, Visits, join, ranges, simulate_visits, since
from shopstream.settings import GeneratorSettings

SETTINGS = GeneratorSettings(sessions_per_day=300_000)
FIRST_MINUTE = 29_500_000  # an epoch minute in 2026
ROW_FIELDS = ("event_type", "ts_us", "user", "page", "product", "quantity", "payment", "order_total_cents")
VISIT_FIELDS = ("visit_channel", "visit_country", "visit_store", "visit_is_bot")
LINE_FIELDS = ("line_product", "line_quantity", "line_price_cents")


def _visits(first_minute: int, minutes: int, seed: int) -> Visits:
    world = Simulator(SETTINGS).world
    return simulate_visits(world, SETTINGS, np.random.default_rng(seed), first_minute, minutes)


Columns = dict[str, npt.NDArray[Any]]


def _rows(visits: Visits) -> tuple[Columns, Columns]:
    """Every row with what it reaches through its visit, and the lines of each row's order
    (in row order): what a feed shows of them."""
    rows = {name: getattr(visits, name) for name in ROW_FIELDS}
    rows |= {name: getattr(visits, name)[visits.visit] for name in VISIT_FIELDS}
    has_order = visits.order >= 0
    order = visits.order[has_order]
    rows["line_count"] = np.zeros(len(visits.ts_us), np.int64)
    rows["line_count"][has_order] = visits.order_line_count[order]
    line = ranges(visits.order_line_start[order], visits.order_line_count[order])
    return rows, {name: getattr(visits, name)[line] for name in LINE_FIELDS}


def _select(rows: Columns, lines: Columns, chosen: npt.NDArray[np.bool_]) -> tuple[Columns, Columns]:
    """The chosen rows and their orders' lines."""
    first = np.cumsum(rows["line_count"]) - rows["line_count"]
    line = ranges(first[chosen], rows["line_count"][chosen])
    return {k: v[chosen] for k, v in rows.items()}, {k: v[line] for k, v in lines.items()}


def _equal(a: Columns, b: Columns) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_since_keeps_the_tails_of_the_visits_under_way() -> None:
    visits = _visits(FIRST_MINUTE, 60, seed=1)
    cut_us = (FIRST_MINUTE + 45) * MICROS_PER_MINUTE
    tail = since(visits, cut_us)
    keep = visits.ts_us >= cut_us  # the original's rows from the cut on
    assert (keep & (visits.visit_start_us[visits.visit] < cut_us)).any()  # visits under way at the cut
    assert (keep & (visits.order >= 0)).any()
    rows, lines = _rows(tail)
    expected_rows, expected_lines = _select(*_rows(visits), keep)
    # a bot's tail stays a bot's if it still makes an impossible number of events
    tail_events = np.bincount(visits.visit[keep], minlength=visits.n_visits)[visits.visit[keep]]
    short = expected_rows["visit_is_bot"] & (tail_events < BOT_MIN_EVENTS)
    assert short.any()
    assert (expected_rows["visit_is_bot"] & ~short).any()
    expected_rows["visit_is_bot"] = expected_rows["visit_is_bot"] & ~short
    _equal(rows, expected_rows)
    _equal(lines, expected_lines)
    assert (tail.visit_start_us >= cut_us).all()
    np.testing.assert_array_equal(tail.visit_events, np.bincount(tail.visit, minlength=tail.n_visits))
    assert tail.visit_events.min() >= 1  # no visit without rows is kept
    assert tail.incidents == []


def test_join_numbers_each_parts_visits_and_orders_after_those_before() -> None:
    early = since(_visits(FIRST_MINUTE - 30, 30, seed=2), FIRST_MINUTE * MICROS_PER_MINUTE)
    later = _visits(FIRST_MINUTE, 30, seed=3)
    joined = join([early, later])
    assert joined.n_visits == early.n_visits + later.n_visits
    (a_rows, a_lines), (b_rows, b_lines) = _rows(early), _rows(later)
    rows, lines = _rows(joined)
    _equal(rows, {k: np.concatenate([a_rows[k], b_rows[k]]) for k in rows})
    _equal(lines, {k: np.concatenate([a_lines[k], b_lines[k]]) for k in lines})
    np.testing.assert_array_equal(
        joined.visit_start_us, np.concatenate([early.visit_start_us, later.visit_start_us])
    )
    assert join([later]) is later
