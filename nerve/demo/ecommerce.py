"""Coupons and order arithmetic of the demo shop, as Segment E-commerce Spec v2 properties.

https://segment.com/docs/connections/spec/ecommerce/v2/ — prices include German VAT (19 %),
as European shops show them, so `tax` is the VAT contained in the price and `revenue` is net.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from nerve.demo.carts import ShopCart
from nerve.demo.catalog import CURRENCY, Product

VAT_RATE = Decimal("0.19")
SHIPPING_FEE = Decimal("4.95")
FREE_SHIPPING_FROM = Decimal("50.00")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Coupon:
    code: str
    name: str
    percent_off: int = 0
    amount_off: Decimal = Decimal(0)

    def discount(self, subtotal: Decimal) -> Decimal:
        off = subtotal * self.percent_off / 100 + self.amount_off
        return min(off, subtotal).quantize(_CENT, ROUND_HALF_UP)


COUPONS: tuple[Coupon, ...] = (
    Coupon("WELCOME10", "10% off your first order", percent_off=10),
    Coupon("SPRINGTRAIL15", "Spring trail sale: 15% off", percent_off=15),
    Coupon("RUNCLUB5", "Run club: 5 EUR off", amount_off=Decimal(5)),
)


def money(amount: Decimal) -> float:
    """Segment sends amounts as JSON numbers."""
    return float(amount.quantize(_CENT, ROUND_HALF_UP))


def product_properties(
    product: Product, *, position: int | None = None, quantity: int | None = None
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "product_id": product.product_id,
        "sku": product.sku,
        "category": product.category,
        "name": product.name,
        "brand": product.brand,
        "variant": product.variant,
        "price": money(product.price),
        "currency": CURRENCY,
        "url": product.url,
        "image_url": product.image_url,
    }
    if quantity is not None:
        properties["quantity"] = quantity
    if position is not None:
        properties["position"] = position
    return properties


def cart_products(cart: ShopCart) -> list[dict[str, Any]]:
    return [
        product_properties(line.product, position=index, quantity=line.quantity)
        for index, line in enumerate(cart.lines, start=1)
    ]


def order_properties(
    cart: ShopCart,
    *,
    order_id: str,
    checkout_id: str,
    coupon: Coupon | None,
    affiliation: str,
    shipped: bool = True,
) -> dict[str, Any]:
    """`Checkout Started` / `Order Completed` properties for this cart.

    `cart_id` is not in the spec for these two events; shops add it so that an order can be
    matched with the checkout it completes (the abandoned-cart flow's goal does).
    """
    subtotal = cart.subtotal
    discount = coupon.discount(subtotal) if coupon else Decimal(0)
    paid = subtotal - discount
    shipping = SHIPPING_FEE if shipped and paid < FREE_SHIPPING_FROM else Decimal(0)
    tax = (paid - paid / (1 + VAT_RATE)).quantize(_CENT, ROUND_HALF_UP)
    properties: dict[str, Any] = {
        "checkout_id": checkout_id,
        "cart_id": cart.cart_id,
        "order_id": order_id,
        "affiliation": affiliation,
        "total": money(paid + shipping),
        "subtotal": money(paid),
        "revenue": money(paid - tax),
        "shipping": money(shipping),
        "tax": money(tax),
        "discount": money(discount),
        "currency": CURRENCY,
        "products": cart_products(cart),
    }
    if coupon:
        properties["coupon"] = coupon.code
    return properties
