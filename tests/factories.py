"""Shared factories for tests: simulated feeds small enough for unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import pyarrow as pa

from shopstream.generator import Simulator
from shopstream.settings import GeneratorSettings

CLOCK = datetime(2027, 1, 1, tzinfo=UTC)
"""An ingestion clock later than any simulated event: only injected times are in the future."""


@lru_cache(maxsize=8)
def simulated(
    days: float = 2.0, text_faults: bool = False, **settings: object
) -> tuple[Simulator, pa.Table, pa.Table]:
    """A simulator and the events and labels of ``days`` simulated days (cached per arguments)."""
    simulator = Simulator(GeneratorSettings(**settings), text_faults=text_faults)  # type: ignore[arg-type]
    batches = list(simulator.batches(days=days))
    events = pa.concat_tables([b.events for b in batches])
    labels = pa.concat_tables([b.labels for b in batches])
    return simulator, events, labels
