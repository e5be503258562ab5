"""The registry of benchmarked stages: ``shopstream bench STAGE`` looks names up here.

Each stage's ``run`` is a module-level function so a spawned process can receive it;
the heavy imports sit at the top of this module, so the child pays for them when it
unpickles ``run``, before the clock starts. Later stages (ingest, stream, detect) add
themselves to :data:`STAGES`.
"""

from __future__ import annotations

from shopstream.bench.baselines import PYTHON_LOOP
from shopstream.bench.detect_stage import detect_week
from shopstream.bench.harness import Stage
from shopstream.bench.ingest_stages import PYDANTIC_LOOP, ingest_feed, prepare_jsonl, prepare_parquet
from shopstream.generator import Simulator
from shopstream.settings import GeneratorSettings


def generate_events(events: int) -> int:
    """Simulate the shop with default settings until ``events`` events exist."""
    simulator = Simulator(GeneratorSettings())
    return sum(batch.events.num_rows for batch in simulator.batches(events=events))


GENERATE = Stage(
    name="generate",
    description="the shop simulator (numpy + Arrow), default settings",
    run=generate_events,
    baseline=PYTHON_LOOP,
)

INGEST = Stage(
    name="ingest",
    description="ingest simulated events from Parquet into a DuckDB file (decode, validate, dedupe, persist)",
    run=ingest_feed,
    baseline=PYDANTIC_LOOP,
    prepare=prepare_parquet,
)
INGEST_JSONL = Stage(
    name="ingest-jsonl",
    description="ingest simulated events from JSON Lines into a DuckDB file",
    run=ingest_feed,
    baseline=PYDANTIC_LOOP,
    prepare=prepare_jsonl,
)

DETECT = Stage(
    name="detect",
    description="stream a simulated week and score the detectors against the simulator's labels",
    run=detect_week,
)

STAGES: dict[str, Stage] = {stage.name: stage for stage in (GENERATE, INGEST, INGEST_JSONL, DETECT)}
