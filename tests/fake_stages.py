"""Cheap, real stages for testing the bench harness.

They live in a module importable by name (``tests/`` is on ``sys.path`` through
``conftest.py``) because the harness sends a stage's ``run`` to a spawned process
by reference, and test modules imported in pytest's importlib mode cannot be found
again there.
"""

from __future__ import annotations

from shopstream.bench.harness import Baseline, Stage

MIB = 1024 * 1024


def count_events(events: int) -> int:
    """A stage that does nothing per event, as fast as a stage can be."""
    return events


def count_events_one_by_one(events: int) -> int:
    """A baseline that touches every event in a Python loop."""
    counted = 0
    for _ in range(events):
        counted += 1
    return counted


def hold_64_mib(events: int) -> int:
    """A stage whose peak memory is known: it holds 64 MiB of written bytes."""
    held = b"x" * (64 * MIB)
    return events if held else 0


def count_stage(max_baseline_events: int) -> Stage:
    """The ``count`` stage with its ``loop`` baseline capped at ``max_baseline_events``."""
    return Stage(
        name="count",
        description="returns its input",
        run=count_events,
        baseline=Baseline(
            name="loop",
            description="counts in Python",
            run=count_events_one_by_one,
            max_events=max_baseline_events,
        ),
    )
