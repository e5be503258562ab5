"""Benchmarks: ``shopstream bench STAGE`` is the one way performance is measured.

:mod:`~shopstream.bench.harness` runs a registered stage and its baseline each in a
fresh process; :mod:`~shopstream.bench.stages` is the registry;
:mod:`~shopstream.bench.baselines` holds the naive implementations compared against.
The registry is imported lazily (it pulls in every stage) by whoever needs it.
"""

from shopstream.bench.errors import BenchError, UnknownStageError
from shopstream.bench.harness import (
    DEFAULT_EVENTS,
    Baseline,
    BenchResult,
    Measurement,
    Stage,
    bench,
    find_stage,
    measure,
)

__all__ = [
    "DEFAULT_EVENTS",
    "Baseline",
    "BenchError",
    "BenchResult",
    "Measurement",
    "Stage",
    "UnknownStageError",
    "bench",
    "find_stage",
    "measure",
]
