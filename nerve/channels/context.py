"""What a message sent from a flow sees of its run's event: the event itself and, read from its
properties as the Segment e-commerce spec names them, the order, the cart and the products.

Only what the event carries: a team alert or a webhook to a CRM must never show the sample's
made-up order (nerve/channels/sample.py is what templates are checked against, not sent with).
"""

from __future__ import annotations

from typing import Any


def of_event(trigger: dict[str, Any] | None) -> dict[str, Any]:
    """`event`, and `order` (an event with an `order_id`: Order Completed, Checkout Started),
    `cart` (one with a `cart_id`: Cart Viewed, Product Added) and `products` (its `products`,
    or the product a product event is about) where the event has them."""
    event = trigger if isinstance(trigger, dict) else {}
    properties = event.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    listed = properties.get("products")
    products: list[Any] = listed if isinstance(listed, list) else []
    if not products and ("product_id" in properties or "sku" in properties):
        products = [properties]
    found: dict[str, Any] = {"event": event}
    if products:
        found["products"] = products
    if "order_id" in properties:
        found["order"] = {**properties, "products": products}
    if "cart_id" in properties:
        found["cart"] = {"id": properties["cart_id"], **properties, "products": products}
    return found
