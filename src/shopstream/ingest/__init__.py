"""Ingestion: sources, decoding, validation, dedupe, quarantine and the ledger.

Every record that reaches shopstream ends in exactly one place — accepted into
``events``, quarantined with a reason, or recognised as a duplicate — and each
batch's ledger row proves it (see :mod:`shopstream.ingest.pipeline`).
"""

from shopstream.ingest.errors import IngestError, LedgerError, MappingError, QuarantineError
from shopstream.ingest.mapping import Mapping, load_mapping
from shopstream.ingest.pipeline import BatchLedger, Ingestor, IngestReport
from shopstream.ingest.rules import Reason
from shopstream.ingest.sources import FileSource, PayloadSource, RawBatch, SimulatorSource
from shopstream.ingest.store import connect

__all__ = [
    "BatchLedger",
    "FileSource",
    "IngestError",
    "IngestReport",
    "Ingestor",
    "LedgerError",
    "Mapping",
    "MappingError",
    "PayloadSource",
    "QuarantineError",
    "RawBatch",
    "Reason",
    "SimulatorSource",
    "connect",
    "load_mapping",
]
