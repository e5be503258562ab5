"""The python-loop baseline makes real, seeded, contract-shaped events with the 60/30/10 mix."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from shopstream.bench.baselines import EVENT_TYPES, python_loop_events, run_python_loop


def test_same_seed_same_events_other_seed_other_events() -> None:
    assert python_loop_events(200, seed=3) == python_loop_events(200, seed=3)
    assert python_loop_events(200, seed=3) != python_loop_events(200, seed=4)


def test_mix_is_sixty_thirty_ten() -> None:
    group_of = {event_type: group for group, types in EVENT_TYPES.items() for event_type in types}
    groups = Counter(group_of[event["event_type"]] for event in python_loop_events(20_000))

    assert groups["views"] / 20_000 == pytest.approx(0.60, abs=0.02)
    assert groups["cart"] / 20_000 == pytest.approx(0.30, abs=0.02)
    assert groups["purchase"] / 20_000 == pytest.approx(0.10, abs=0.02)


def test_events_carry_unique_ids_and_ordered_timestamps() -> None:
    events = python_loop_events(1_000)

    assert len({event["event_id"] for event in events}) == 1_000
    assert all(isinstance(event["event_ts"], datetime) for event in events)
    assert [event["event_ts"] for event in events] == sorted(event["event_ts"] for event in events)
    assert all(event["order_total"] > 0 for event in events if event["event_type"] == "purchase")


def test_run_counts_the_events_it_built() -> None:
    assert run_python_loop(123) == 123
