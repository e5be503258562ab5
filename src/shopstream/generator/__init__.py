"""The shop simulator: a realistic, deterministic feed of shop events with ground truth.

:class:`Simulator` yields Arrow batches in the contract's schema and, apart from
them, a labels table naming every injected anomaly; :mod:`.files` writes the feed
as Parquet, JSON Lines or CSV, in backfill or live mode.
"""

from shopstream.generator.simulator import (
    ANOMALIES,
    ANOMALY_POPULATION,
    LABELS_SCHEMA,
    TEXT_FAULTS,
    Anomaly,
    GeneratedBatch,
    Simulator,
)

__all__ = [
    "ANOMALIES",
    "ANOMALY_POPULATION",
    "LABELS_SCHEMA",
    "TEXT_FAULTS",
    "Anomaly",
    "GeneratedBatch",
    "Simulator",
]
