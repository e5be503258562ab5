"""The data contract: every column of every event and entity, defined once.

Each column is a :class:`Column` in :data:`EVENT_COLUMNS` (or one of the entity
tuples); the Arrow schemas, the JSON Schema the collector publishes and the docs
are all derived from these tuples, so nothing else in shopstream defines a column.

Events travel as one wide Arrow table: the envelope columns are filled for every
event, the type-specific columns only for the types that use them (null elsewhere).
Money is ``decimal128(18, 2)``, quantities ``int32``, every timestamp is
microseconds in UTC, and categorical text is dictionary-encoded.

>>> EVENTS_SCHEMA.field("order_total").type
Decimal128Type(decimal128(18, 2))
>>> sorted(REQUIRED_BY_TYPE["add_to_cart"])[:4]
['channel', 'country', 'event_id', 'event_ts']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 2
"""Bumped whenever a column or event type is added, removed or changes meaning
(2: event type ``refund`` and payment method ``unknown``)."""

MONEY = pa.decimal128(18, 2)
QUANTITY = pa.int32()
TIMESTAMP = pa.timestamp("us", tz="UTC")
CATEGORY = pa.dictionary(pa.int32(), pa.string())
LINE_ITEM = pa.struct(
    [
        pa.field("product_id", pa.string(), nullable=False),
        pa.field("quantity", QUANTITY, nullable=False),
        pa.field("unit_price", MONEY, nullable=False),
    ]
)


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    SEARCH = "search"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    UPDATE_CART = "update_cart"
    CHECKOUT_STARTED = "checkout_started"
    PURCHASE = "purchase"
    PURCHASE_FAILED = "purchase_failed"
    USER_REGISTERED = "user_registered"
    USER_UPDATED = "user_updated"
    PRODUCT_UPDATED = "product_updated"
    REFUND = "refund"
    """Money paid back: a cancelled or returned order, or a write-off. Its items hold
    the units returned (positive) and ``order_total`` the amount refunded."""


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    POS = "pos"


class Device(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    IOS = "ios"
    ANDROID = "android"
    POS_TERMINAL = "pos_terminal"


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"
    APPLE_PAY = "apple_pay"
    GOOGLE_PAY = "google_pay"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    UNKNOWN = "unknown"
    """The source did not record it (imported history)."""


class FailureReason(StrEnum):
    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    GATEWAY_TIMEOUT = "gateway_timeout"
    FRAUD_CHECK = "fraud_check"


ALL_TYPES = frozenset(EventType)
SESSION_TYPES = frozenset(ALL_TYPES - {EventType.USER_UPDATED, EventType.PRODUCT_UPDATED})
"""Events a shopper causes in a session (registration happens in one, too)."""
PRODUCT_TYPES = frozenset(
    {
        EventType.PRODUCT_VIEW,
        EventType.ADD_TO_CART,
        EventType.REMOVE_FROM_CART,
        EventType.UPDATE_CART,
    }
)
CART_TYPES = frozenset({EventType.ADD_TO_CART, EventType.REMOVE_FROM_CART, EventType.UPDATE_CART})
ORDER_TYPES = frozenset(
    {EventType.CHECKOUT_STARTED, EventType.PURCHASE, EventType.PURCHASE_FAILED, EventType.REFUND}
)
SALE_TYPES = frozenset({EventType.PURCHASE, EventType.REFUND})
"""Events that carry line items: an order paid, or money paid back."""
CUSTOMER_TYPES = frozenset({EventType.USER_REGISTERED, EventType.USER_UPDATED})


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    ``used_by`` lists the event types that may carry a value; ``required_by`` those
    that must. ``enum`` closes the set of allowed values; ``minimum`` bounds a number.
    """

    name: str
    type: pa.DataType
    doc: str
    used_by: frozenset[EventType] = ALL_TYPES
    required_by: frozenset[EventType] = frozenset()
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    exclusive_minimum: bool = False


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


EVENT_COLUMNS: tuple[Column, ...] = (
    # -- envelope -------------------------------------------------------------------
    Column("event_id", pa.string(), "Unique id of the event; the dedupe key.", required_by=ALL_TYPES),
    Column(
        "event_type",
        CATEGORY,
        "What happened.",
        required_by=ALL_TYPES,
        enum=_values(EventType),
    ),
    Column("event_ts", TIMESTAMP, "When it happened (event time, UTC).", required_by=ALL_TYPES),
    Column("received_ts", TIMESTAMP, "When shopstream received it (set by ingestion, UTC)."),
    Column(
        "schema_version",
        pa.int16(),
        "Version of this contract the event was written against.",
        required_by=ALL_TYPES,
        minimum=1,
    ),
    Column("user_id", pa.string(), "Customer id; null while the shopper is anonymous."),
    Column(
        "session_id",
        pa.string(),
        "Id of the visit (web/app) or till session (pos).",
        used_by=SESSION_TYPES,
        required_by=SESSION_TYPES,
    ),
    Column(
        "channel",
        CATEGORY,
        "Where it happened: web shop, app or a store's till.",
        used_by=SESSION_TYPES,
        required_by=SESSION_TYPES,
        enum=_values(Channel),
    ),
    Column("store_id", pa.string(), "The branch, for channel pos.", used_by=SESSION_TYPES),
    Column(
        "country",
        CATEGORY,
        "ISO 3166-1 alpha-2 country of the shopper or store.",
        used_by=SESSION_TYPES | CUSTOMER_TYPES,
        required_by=SESSION_TYPES | {EventType.USER_REGISTERED},
    ),
    Column(
        "device",
        CATEGORY,
        "Device class of the session.",
        used_by=SESSION_TYPES,
        enum=_values(Device),
    ),
    # -- browsing -------------------------------------------------------------------
    Column(
        "page",
        pa.string(),
        "Path of the page viewed.",
        used_by=frozenset({EventType.PAGE_VIEW}),
        required_by=frozenset({EventType.PAGE_VIEW}),
    ),
    Column(
        "search_query",
        pa.string(),
        "What the shopper searched for.",
        used_by=frozenset({EventType.SEARCH}),
        required_by=frozenset({EventType.SEARCH}),
    ),
    Column(
        "results_count",
        pa.int32(),
        "Number of products the search returned.",
        used_by=frozenset({EventType.SEARCH}),
        minimum=0,
    ),
    # -- products and carts -------------------------------------------------------
    Column(
        "product_id",
        pa.string(),
        "The product viewed, put in or taken out of the cart, or updated.",
        used_by=PRODUCT_TYPES | {EventType.PRODUCT_UPDATED},
        required_by=PRODUCT_TYPES | {EventType.PRODUCT_UPDATED},
    ),
    Column(
        "category",
        CATEGORY,
        "Category of the product, as shown to the shopper.",
        used_by=PRODUCT_TYPES | {EventType.PRODUCT_UPDATED},
        required_by=frozenset({EventType.PRODUCT_UPDATED}),
    ),
    Column(
        "unit_price",
        MONEY,
        "Price of one unit as shown to the shopper.",
        used_by=PRODUCT_TYPES,
        minimum=0,
        exclusive_minimum=True,
    ),
    Column(
        "quantity",
        QUANTITY,
        "Units added or removed, or the line's new quantity (update_cart).",
        used_by=CART_TYPES,
        required_by=CART_TYPES,
        minimum=0,
        exclusive_minimum=True,
    ),
    # -- orders ---------------------------------------------------------------------
    Column(
        "order_id",
        pa.string(),
        "Id of the order being checked out, paid or failed.",
        used_by=ORDER_TYPES,
        required_by=ORDER_TYPES,
    ),
    Column(
        "payment_method",
        CATEGORY,
        "How the shopper paid.",
        used_by=frozenset({EventType.PURCHASE, EventType.PURCHASE_FAILED, EventType.REFUND}),
        required_by=frozenset({EventType.PURCHASE, EventType.PURCHASE_FAILED}),
        enum=_values(PaymentMethod),
    ),
    Column(
        "currency",
        CATEGORY,
        "ISO 4217 currency of the order's amounts.",
        used_by=ORDER_TYPES,
        required_by=SALE_TYPES,
    ),
    Column(
        "items",
        pa.list_(LINE_ITEM),
        "Line items of the order (or refund): product, quantity, unit price.",
        used_by=SALE_TYPES,
        required_by=SALE_TYPES,
    ),
    Column(
        "order_total",
        MONEY,
        "Value of the order (or the amount refunded): the sum of quantity x unit price over its items.",
        used_by=ORDER_TYPES,
        required_by=SALE_TYPES,
        minimum=0,
    ),
    Column(
        "failure_reason",
        CATEGORY,
        "Why the payment failed.",
        used_by=frozenset({EventType.PURCHASE_FAILED}),
        required_by=frozenset({EventType.PURCHASE_FAILED}),
        enum=_values(FailureReason),
    ),
    # -- customers ------------------------------------------------------------------
    Column(
        "email",
        pa.string(),
        "Customer's e-mail address.",
        used_by=CUSTOMER_TYPES,
        required_by=frozenset({EventType.USER_REGISTERED}),
    ),
    Column("customer_name", pa.string(), "Customer's full name.", used_by=CUSTOMER_TYPES),
    Column("city", pa.string(), "Customer's city.", used_by=CUSTOMER_TYPES),
    Column("age", pa.int16(), "Customer's age in years.", used_by=CUSTOMER_TYPES, minimum=0),
    Column(
        "registered_at",
        TIMESTAMP,
        "When the customer registered (UTC).",
        used_by=CUSTOMER_TYPES,
        required_by=frozenset({EventType.USER_REGISTERED}),
    ),
    # -- catalogue ------------------------------------------------------------------
    Column(
        "product_name",
        pa.string(),
        "Product's display name.",
        used_by=frozenset({EventType.PRODUCT_UPDATED}),
    ),
    Column("sku", pa.string(), "Stock-keeping unit.", used_by=frozenset({EventType.PRODUCT_UPDATED})),
    Column("brand", CATEGORY, "Product's brand.", used_by=frozenset({EventType.PRODUCT_UPDATED})),
    Column(
        "price",
        MONEY,
        "Catalogue price of one unit.",
        used_by=frozenset({EventType.PRODUCT_UPDATED}),
        required_by=frozenset({EventType.PRODUCT_UPDATED}),
        minimum=0,
        exclusive_minimum=True,
    ),
    Column(
        "cost",
        MONEY,
        "What one unit costs the shop.",
        used_by=frozenset({EventType.PRODUCT_UPDATED}),
        minimum=0,
    ),
    Column(
        "inventory",
        QUANTITY,
        "Units in stock after the update.",
        used_by=frozenset({EventType.PRODUCT_UPDATED}),
        required_by=frozenset({EventType.PRODUCT_UPDATED}),
        minimum=0,
    ),
    Column(
        "rating",
        pa.float32(),
        "Average customer rating, 1 to 5.",
        used_by=frozenset({EventType.PRODUCT_UPDATED}),
        minimum=0,
    ),
)

CUSTOMER_COLUMNS: tuple[Column, ...] = (
    Column("customer_id", pa.string(), "Customer id (the events' user_id)."),
    Column("email", pa.string(), "E-mail address."),
    Column("name", pa.string(), "Full name."),
    Column("country", CATEGORY, "ISO 3166-1 alpha-2 country."),
    Column("city", pa.string(), "City."),
    Column("age", pa.int16(), "Age in years."),
    Column("registered_at", TIMESTAMP, "When the customer registered (UTC)."),
)

PRODUCT_COLUMNS: tuple[Column, ...] = (
    Column("product_id", pa.string(), "Product id."),
    Column("sku", pa.string(), "Stock-keeping unit."),
    Column("name", pa.string(), "Display name."),
    Column("category", CATEGORY, "Category."),
    Column("brand", CATEGORY, "Brand."),
    Column("price", MONEY, "Catalogue price of one unit."),
    Column("cost", MONEY, "What one unit costs the shop."),
    Column("inventory", QUANTITY, "Units in stock at the start of the feed."),
    Column("rating", pa.float32(), "Average customer rating, 1 to 5."),
)

STORE_COLUMNS: tuple[Column, ...] = (
    Column("store_id", pa.string(), "Store id (the events' store_id)."),
    Column("name", pa.string(), "Store name."),
    Column("city", pa.string(), "City."),
    Column("country", CATEGORY, "ISO 3166-1 alpha-2 country."),
    Column("region", CATEGORY, "Sales region."),
)


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The Arrow schema of a column tuple; every field is nullable on the wire.

    Whether a value is required depends on the event type, so presence is checked
    by :func:`shopstream.events.conformance.violations`, not by the schema.
    """
    return pa.schema([pa.field(c.name, c.type, nullable=True) for c in columns])


EVENTS_SCHEMA = arrow_schema(EVENT_COLUMNS)
CUSTOMERS_SCHEMA = arrow_schema(CUSTOMER_COLUMNS)
PRODUCTS_SCHEMA = arrow_schema(PRODUCT_COLUMNS)
STORES_SCHEMA = arrow_schema(STORE_COLUMNS)
COLUMNS_BY_NAME = {c.name: c for c in EVENT_COLUMNS}
REQUIRED_BY_TYPE: dict[str, frozenset[str]] = {
    t.value: frozenset(c.name for c in EVENT_COLUMNS if t in c.required_by) for t in EventType
}
USED_BY_TYPE: dict[str, tuple[str, ...]] = {
    t.value: tuple(c.name for c in EVENT_COLUMNS if t in c.used_by) for t in EventType
}


def _json_type(column: Column) -> dict[str, Any]:
    """JSON Schema of one column's non-null value."""
    t = column.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    schema: dict[str, Any]
    if t == TIMESTAMP:
        schema = {"type": "string", "format": "date-time"}
    elif pa.types.is_decimal(t):
        schema = {"type": "number", "multipleOf": 0.01}
    elif pa.types.is_integer(t):
        schema = {"type": "integer"}
    elif pa.types.is_floating(t):
        schema = {"type": "number"}
    elif pa.types.is_list(t):
        schema = {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["product_id", "quantity", "unit_price"],
                "properties": {
                    "product_id": {"type": "string", "minLength": 1},
                    "quantity": {"type": "integer"},
                    "unit_price": {"type": "number", "multipleOf": 0.01},
                },
            },
        }
    else:
        schema = {"type": "string"}
    if column.enum is not None:
        schema["enum"] = list(column.enum)
    if column.minimum is not None:
        key = "exclusiveMinimum" if column.exclusive_minimum else "minimum"
        schema[key] = column.minimum
    return schema


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one event as the collector accepts it.

    Optional columns may be absent or null; each event type requires its own columns.
    """
    properties: dict[str, Any] = {}
    for column in EVENT_COLUMNS:
        value = _json_type(column)
        nullable = {"anyOf": [value, {"type": "null"}]}
        properties[column.name] = {"description": column.doc, **nullable}
    per_type = [
        {
            "if": {"properties": {"event_type": {"const": t.value}}},
            "then": {
                "required": sorted(REQUIRED_BY_TYPE[t.value]),
                "properties": {
                    name: _json_type(COLUMNS_BY_NAME[name]) for name in sorted(REQUIRED_BY_TYPE[t.value])
                },
            },
        }
        for t in EventType
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://shopstream.dev/schema/event/v{SCHEMA_VERSION}.json",
        "title": "shopstream event",
        "description": f"One shop event, contract version {SCHEMA_VERSION}. Timestamps are UTC.",
        "type": "object",
        "required": ["event_id", "event_type", "event_ts", "schema_version"],
        "properties": properties,
        "additionalProperties": False,
        "allOf": per_type,
    }
