"""What a message sent from a flow sees of its run's event: the event itself and, read from its
properties as the Segment e-commerce spec names them, the order, the cart and the products.

Only what the event carries: a team alert or a webhook to a CRM must never show the sample's
made-up order (nerve/channels/sample.py is what templates are checked against, not sent with).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, overload

from sqlalchemy import Connection

from nerve.carts import service as carts
from nerve.db.base import utcnow
from nerve.recommendations import service as recommendations
from nerve.settings import get_settings


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


def with_stored_cart(
    conn: Connection, workspace_id: str, found: dict[str, Any], public_url: str
) -> dict[str, Any]:
    """`cart` as it is stored now, when the event names a Nerve cart (`cart_id`): its `lines`
    (with their sold-out, inactive and price-changed flags), `subtotal` and `resume_url` (a
    signed `/r/TOKEN` link valid for NERVE_CART_RESUME_DAYS) over what the event carried."""
    cart = found.get("cart")
    if not isinstance(cart, dict) or not isinstance(cart.get("id"), str):
        return found
    expires_at = utcnow() + timedelta(days=get_settings().cart_resume_days)
    stored = carts.mail_cart(conn, workspace_id, cart["id"], public_url, expires_at)
    return found if stored is None else {**found, "cart": {**cart, **stored}}


class Recommendations(Sequence[dict[str, Any]]):
    """`recommendations` in a template: the person's top 10 products (name, url, image_url,
    price, currency, sku, ...), read only when the template uses them
    (`{% for p in recommendations limit: 3 %}`): most mails never pay for the lookup."""

    def __init__(self, conn: Connection, workspace_id: str, person_id: str | None) -> None:
        self._conn, self._workspace_id, self._person_id = conn, workspace_id, person_id
        self._items: list[dict[str, Any]] | None = None

    def _loaded(self) -> list[dict[str, Any]]:
        if self._items is None:
            found = recommendations.for_person(self._conn, self._workspace_id, self._person_id)
            self._items = [item.model_dump() for item in found]
        return self._items

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._loaded())


def with_recommendations(
    conn: Connection, workspace_id: str, found: dict[str, Any], person_id: str | None
) -> dict[str, Any]:
    """`recommendations` for the message's person (the shop's bestsellers without one)."""
    return {**found, "recommendations": Recommendations(conn, workspace_id, person_id)}
