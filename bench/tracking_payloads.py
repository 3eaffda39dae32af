"""Realistic Segment e-commerce messages for the tracking benchmark, as wrk body templates.

Every template holds `{{MID}}` where the message id goes; `bench/tracking.lua` fills it with a
fresh id per request, and the storage reference fills it the same way, so both store the same
bytes. The messages follow Segment's e-commerce spec ("Product Viewed", "Product Added").
"""

from __future__ import annotations

import random
from typing import Any

import orjson

PLACEHOLDER = "{{MID}}"
BATCH_EVENTS = 100

_SENT_AT = "2026-11-22T10:15:31.000Z"
_PRODUCTS = [
    ("Running Shoes", "Trail Runner 2", "Northpeak"),
    ("Running Shoes", "Road Glide 5", "Swiftfoot"),
    ("Jackets", "Storm Shell Jacket", "Northpeak"),
    ("Jackets", "Down Vest Light", "Alpenglow"),
    ("Accessories", "Merino Running Socks (3 pairs)", "Swiftfoot"),
    ("Accessories", "Hydration Belt 500ml", "Riverline"),
    ("Outdoor", "Ultralight Tent 2P", "Alpenglow"),
    ("Outdoor", "Trekking Poles Carbon", "Northpeak"),
]
_VARIANTS = ["blue / 42", "black / 44", "red / 39", "green / M", "grey / L", "one size"]
_LIBRARIES = [("analytics.js", "5.2.1"), ("analytics-ios", "4.1.8"), ("analytics-node", "6.2.0")]


def _message(rng: random.Random, message_id: str) -> dict[str, Any]:
    category, name, brand = rng.choice(_PRODUCTS)
    slug = name.lower().replace(" ", "-").replace("(", "").replace(")", "")
    product_number = rng.randrange(10_000, 99_999)
    added = rng.random() < 0.3
    properties: dict[str, Any] = {
        "product_id": f"prod_{product_number}",
        "sku": f"{brand[:2].upper()}-{product_number}-{rng.randrange(10, 99)}",
        "category": category,
        "name": name,
        "brand": brand,
        "variant": rng.choice(_VARIANTS),
        "price": round(rng.uniform(9, 400), 2),
        "quantity": rng.randrange(1, 3) if added else 1,
        "currency": "EUR",
        "position": rng.randrange(1, 24),
        "url": f"https://shop.example.com/p/{slug}",
    }
    if added:
        properties["cart_id"] = f"cart_{rng.randrange(10**8, 10**9)}"
    library, version = rng.choice(_LIBRARIES)
    user = rng.randrange(1, 5_000)
    return {
        "type": "track",
        "event": "Product Added" if added else "Product Viewed",
        "userId": f"user_{user:05d}",
        "anonymousId": f"anon-{user:05d}-{rng.randrange(16**8):08x}",
        "messageId": message_id,
        "timestamp": f"2026-11-22T10:15:{rng.randrange(0, 30):02d}.{rng.randrange(1000):03d}Z",
        "properties": properties,
        "context": {"library": {"name": library, "version": version}},
    }


def single_event_template(seed: int = 1) -> str:
    """One track call's body, as sent to `/v1/track` (or to `/v1/ping` for the baseline)."""
    message = _message(random.Random(seed), PLACEHOLDER)
    del message["type"]
    return orjson.dumps(message).decode()


def batch_template(events: int = BATCH_EVENTS, seed: int = 2) -> str:
    """A `/v1/batch` body of `events` messages; event k's id is `{{MID}}-k`."""
    rng = random.Random(seed)
    batch = [_message(rng, f"{PLACEHOLDER}-{index}") for index in range(events)]
    return orjson.dumps({"batch": batch, "sentAt": _SENT_AT}).decode()


def fill(template: str, message_id: str) -> bytes:
    """The body wrk sends for this template when its id counter reads `message_id`."""
    return template.replace(PLACEHOLDER, message_id).encode()
