"""Errors of ingestion: bad configuration or a broken system, never bad data.

Bad data becomes a quarantine row with a :class:`~shopstream.ingest.rules.Reason`;
these exceptions are for what a user or an operator has to fix.
"""

from __future__ import annotations

from shopstream.errors import ShopstreamError


class IngestError(ShopstreamError):
    """Ingestion cannot run as asked (a missing file, an unknown format)."""


class MappingError(IngestError):
    """A mapping file cannot be used; the message names the file and the key."""


class LedgerError(IngestError):
    """A batch broke ``received = accepted + quarantined + duplicates``: a bug, so ingestion stops."""


class QuarantineError(IngestError):
    """A quarantine command names records that do not exist."""
