"""The sample a template is checked and previewed against when no real person is chosen: the
shape of what a send hands it, with values a marketer recognises."""

from __future__ import annotations

from typing import Any

_PRODUCT = {
    "product_id": "RUN-42", "sku": "RUN-42-39", "name": "Trail Runner 2", "brand": "Asics",
    "category": "Running Shoes", "price": 119.9, "currency": "EUR", "quantity": 1,
    "url": "https://shop.example/p/run-42", "image_url": "https://shop.example/i/run-42.jpg",
}  # fmt: skip

_OTHER_PRODUCT = _PRODUCT | {"product_id": "RUN-7", "sku": "RUN-7-41", "name": "Road Racer",
                             "url": "https://shop.example/p/run-7"}  # fmt: skip

# What `recommendations` holds (nerve/recommendations/schemas.py `Recommended`, as a dict).
_RECOMMENDED = [
    {"sku": sku, "product_id": sku.rsplit("-", 1)[0], "name": name, "price": price,
     "currency": "EUR", "url": f"https://shop.example/p/{sku.lower()}",
     "image_url": f"https://shop.example/i/{sku.lower()}.jpg", "score": score, "reason": reason}
    for sku, name, price, score, reason in (
        ("SOCK-3-M", "Running Socks", "12.90", 0.82, "personal"),
        ("BOTTLE-1", "Trail Bottle", "19.90", 0.61, "personal"),
        ("CAP-9", "Run Cap", "24.00", 0.44, "popular_in_category"),
        ("GEL-12", "Energy Gel", "2.50", 0.3, "popular"),
    )
]  # fmt: skip

SAMPLE: dict[str, Any] = {
    "person": {
        "id": "prf_sample",
        "email": "anna@example.com",
        "phone": None,
        "user_id": "anna",
        "identifiers": [
            {"type": "email", "value": "anna@example.com"},
            {"type": "user_id", "value": "anna"},
        ],
        "traits": {"first_name": "Anna", "last_name": "Berg", "email": "anna@example.com"},
        "computed": {
            "order_count": 2,
            "total_spent": 219.8,
            "average_order_value": 109.9,
            "timezone": "Europe/Berlin",
            "interests": {"category:Running Shoes": 4.2},
        },
    },
    "event": {"event": "Product Added", "properties": {**_PRODUCT, "cart_id": "cart-1"}},
    "cart": {
        "id": "cart-1",
        "products": [_PRODUCT],
        "total": 119.9,
        "currency": "EUR",
        "url": "https://shop.example/cart",
    },
    "order": {"order_id": "S-1001", "total": 119.9, "currency": "EUR", "products": [_PRODUCT]},
    "products": [_PRODUCT],
    "recommendations": _RECOMMENDED,
    # What a flow's digest node collected: the properties of each event, in order.
    "digest": {
        "items": [_PRODUCT, _OTHER_PRODUCT],
        "count": 2,
        "opened_at": "2026-12-01T09:00:00+00:00",
        "closes_at": "2026-12-01T10:00:00+00:00",
    },
    "message": {
        "unsubscribe_url": "https://nerve.example/u/sample",
        "preferences_url": "https://nerve.example/p/sample",
        "confirm_url": "https://nerve.example/c/sample",
        "topic": "newsletter",
    },
    "shop": {
        "name": "Example Shop",
        "url": "https://shop.example",
        "imprint": "Example Shop GmbH, Hauptstr. 1, 10115 Berlin",
    },
}
