"""Naive implementations that shopstream's stages are measured against.

``python-loop`` generates events the way the GlobalMart reference generator did:
a pool of user and product dicts, then one Python dict per event with every field
drawn by ``random.choice``, a UUID per event, ``datetime`` timestamps, and the
60/30/10 mix of views, cart events and purchases, collected into a list. It is an
honest per-event baseline (seeded, so two runs make the same events), not a straw
man: no sleeps, no I/O, no validation.

>>> events = python_loop_events(3, seed=1)
>>> len(events), events == python_loop_events(3, seed=1)
(3, True)
>>> sorted(events[0])[:4]
['category', 'channel', 'country', 'device']
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shopstream.bench.harness import Baseline

USERS = 10_000
PRODUCTS = 1_000
START = datetime(2026, 1, 1, tzinfo=UTC)

EVENT_GROUPS = ("views", "cart", "purchase")
EVENT_GROUP_WEIGHTS = (60, 30, 10)
EVENT_TYPES = {
    "views": ("page_view", "product_view", "search"),
    "cart": ("add_to_cart", "remove_from_cart", "update_cart", "checkout_started"),
    "purchase": ("purchase",),
}
COUNTRIES = ("US", "GB", "DE", "FR", "JP")
CATEGORIES = ("Smartphones", "Laptops", "Headphones", "Men's Jeans", "Kitchen", "Books", "Toys", "Garden")
CHANNELS = ("web", "app")
DEVICES = ("desktop", "mobile", "tablet", "ios", "android")
PAYMENT_METHODS = ("card", "paypal", "apple_pay", "google_pay", "bank_transfer")
PAGES = ("/", "/deals", "/new", "/cart", "/account")


def _uuid_hex(rng: random.Random) -> str:
    return uuid.UUID(int=rng.getrandbits(128), version=4).hex


def python_loop_events(events: int, seed: int = 42) -> list[dict[str, Any]]:
    """``events`` shop events built one Python dict at a time."""
    rng = random.Random(seed)
    users: list[dict[str, Any]] = [
        {"user_id": _uuid_hex(rng), "country": rng.choice(COUNTRIES), "age": rng.randint(18, 80)}
        for _ in range(USERS)
    ]
    products: list[dict[str, Any]] = [
        {
            "product_id": _uuid_hex(rng),
            "category": rng.choice(CATEGORIES),
            "price": round(rng.uniform(5, 1500), 2),
        }
        for _ in range(PRODUCTS)
    ]
    active_sessions: dict[str, str] = {}
    clock = START
    generated: list[dict[str, Any]] = []
    for _ in range(events):
        user = rng.choice(users)
        product = rng.choice(products)
        group = rng.choices(EVENT_GROUPS, weights=EVENT_GROUP_WEIGHTS)[0]
        event_type = rng.choice(EVENT_TYPES[group])
        session_id = active_sessions.get(user["user_id"])
        if session_id is None or rng.random() < 0.1:
            session_id = active_sessions[user["user_id"]] = _uuid_hex(rng)
        clock += timedelta(milliseconds=rng.randint(1, 200))
        quantity = rng.randint(1, 5)
        event: dict[str, Any] = {
            "event_id": _uuid_hex(rng),
            "event_type": event_type,
            "event_ts": clock,
            "received_ts": clock + timedelta(milliseconds=rng.randint(5, 500)),
            "user_id": user["user_id"],
            "session_id": session_id,
            "channel": rng.choice(CHANNELS),
            "device": rng.choice(DEVICES),
            "country": user["country"],
            "product_id": product["product_id"],
            "category": product["category"],
            "unit_price": product["price"],
            "quantity": quantity,
        }
        if event_type == "page_view":
            event["page"] = rng.choice(PAGES)
        elif event_type == "purchase":
            event["order_id"] = _uuid_hex(rng)
            event["payment_method"] = rng.choice(PAYMENT_METHODS)
            event["order_total"] = round(product["price"] * quantity, 2)
        generated.append(event)
    return generated


def run_python_loop(events: int) -> int:
    """The ``python-loop`` baseline: events generated (the list is built, then dropped)."""
    return len(python_loop_events(events))


PYTHON_LOOP = Baseline(
    name="python-loop",
    description="one dict per event with random.choice per field (GlobalMart reference style)",
    run=run_python_loop,
    max_events=200_000,
)
