"""The registry of benchmarked stages: ``shopstream bench STAGE`` looks names up here.

Each stage's ``run`` is a module-level function so a spawned process can receive it;
the heavy imports sit at the top of this module, so the child pays for them when it
unpickles ``run``, before the clock starts. Later stages (ingest, stream, detect) add
themselves to :data:`STAGES`.
"""

from __future__ import annotations

from shopstream.bench.baselines import PYTHON_LOOP
from shopstream.bench.harness import Stage
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

STAGES: dict[str, Stage] = {stage.name: stage for stage in (GENERATE,)}
