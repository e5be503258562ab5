"""The data contract: event types, their columns, Arrow and JSON schemas.

Everything that defines a column lives in :mod:`shopstream.events.contract`;
:mod:`shopstream.events.conformance` checks a whole table against it.
"""

from shopstream.events.conformance import Violation, violations
from shopstream.events.contract import (
    CUSTOMERS_SCHEMA,
    EVENT_COLUMNS,
    EVENTS_SCHEMA,
    PRODUCTS_SCHEMA,
    SCHEMA_VERSION,
    STORES_SCHEMA,
    Channel,
    Device,
    EventType,
    FailureReason,
    PaymentMethod,
    json_schema,
)

__all__ = [
    "CUSTOMERS_SCHEMA",
    "EVENTS_SCHEMA",
    "EVENT_COLUMNS",
    "PRODUCTS_SCHEMA",
    "SCHEMA_VERSION",
    "STORES_SCHEMA",
    "Channel",
    "Device",
    "EventType",
    "FailureReason",
    "PaymentMethod",
    "Violation",
    "json_schema",
    "violations",
]
