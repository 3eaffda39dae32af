"""The steps of a shopping visit that several stories share: the customer's cart, signing in,
the checkout with its shipping, coupon and payment steps, and the opt-ins a shop asks for on
the way — SMS about the cart at the checkout, notifications when the app starts.

The cart is Nerve's server cart (`carts.py`). Order and checkout ids must be unique across runs
of the demo (a shop would reject a reused order number), so they come from `uuid4`, not from the
seeded generator.
"""

from __future__ import annotations

import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from nerve.demo.carts import ShopCart
from nerve.demo.catalog import SHOP_NAME
from nerve.demo.ecommerce import COUPONS, Coupon, cart_products, money, order_properties
from nerve.demo.people import Customer
from nerve.demo.visit import Call, Visit

Story = Generator[Call, None, None]
CART_ALERTS = "cart-alerts"  # the SMS topic of the checkout's tick box
SMS_CONSENT_TEXT = (
    f"Text me about my cart. {SHOP_NAME} sends at most a few texts a week; msg & data rates may"
    " apply. Reply STOP to end."
)
APP_OFFERS = "app-offers"  # the push topic the app's notification prompt asks for
PUSH_CONSENT_TEXT = (
    f"“{SHOP_NAME}” would like to send you notifications: offers in the app and news about your"
    " orders."
)
CONSENT_TEXT_VERSION = "2025-03"


def _order_number() -> str:
    """Shaped like a Shopify order id (the head gets it back from the shop's checkout)."""
    return str(5_000_000_000_000 + uuid.uuid4().int % 10**12)


@dataclass
class Checkout:
    cart: ShopCart
    checkout_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    order_id: str = field(default_factory=_order_number)
    coupon: Coupon | None = None
    shipping_method: str | None = None  # chosen at the checkout's first step

    def properties(self, v: Visit, shipped: bool = True) -> dict[str, Any]:
        properties = order_properties(
            self.cart,
            order_id=self.order_id,
            checkout_id=self.checkout_id,
            coupon=self.coupon,
            affiliation=v.affiliation,
            shipped=shipped,
        )
        if self.shipping_method is not None:
            properties["shipping_method"] = self.shipping_method
        return properties


def open_cart(v: Visit) -> Generator[Call, None, ShopCart]:
    """The cart this device works with: the account's when signed in (the shop's backend asks
    Nerve for the person's open cart, whichever device started it), else the device's own."""
    device, customer = v.device, v.customer
    cart = device.cart
    wanted = (
        f"user_id:{device.user_id}" if device.user_id else f"anonymous_id:{device.anonymous_id}"
    )
    if cart is None or not cart.open or (device.user_id and cart.identifier != wanted):
        cart = ShopCart(wanted)
        yield v.cart_call("open", cart)
        device.cart = cart
    customer.cart = cart
    return cart


def read_cart(v: Visit, cart: ShopCart) -> Story:
    """The cart page loads the cart: merged, flagged, perhaps ordered on another head."""
    yield v.cart_call("read", cart)
    if not cart.open:
        forget(v.customer, cart)


def forget(customer: Customer, cart: ShopCart) -> None:
    if customer.cart is cart:
        customer.cart = None
    for device in customer.devices:
        if device.cart is not None and device.cart.cart_id == cart.cart_id:
            device.cart = None


def log_in(v: Visit) -> Story:
    """Sign in (or sign up); from now on every call from this device carries the userId. The
    identify goes at once, so Nerve merges the device's cart into the account's; the head then
    reads its cart again. The app registers its push token again, now under the userId."""
    if v.device.user_id:
        return
    signing_up = not v.customer.has_account
    if signing_up:
        yield v.view("Create Account", "/account/register")
    else:
        yield v.view("Sign In", "/account/login")
    v.customer.has_account = True
    v.device.user_id = v.customer.user_id
    yield v.identify(flush=True)
    if signing_up:
        yield v.track("Signed Up", {"type": "organic"})
    if v.device.head == "app":
        yield register_push(v)
    if v.device.cart is not None and v.device.cart.open:
        yield from read_cart(v, v.device.cart)


def register_push(v: Visit) -> Call:
    """The app hands its FCM token to Nerve, with the offers the customer allowed at the
    notification prompt (none: the token still gets order news)."""
    allowed = [APP_OFFERS] if v.customer.allows_push else []
    return v.register_push(allowed, PUSH_CONSENT_TEXT, CONSENT_TEXT_VERSION)


def sms_opt_in(v: Visit) -> Story:
    """The checkout's tick box "Text me about my cart", for signed-in customers (the shop knows
    their number): the shop's backend records the opt-in with Nerve, once."""
    customer = v.customer
    if customer.texts_ok and not customer.texting and v.device.user_id:
        customer.texting = True
        yield v.sms_consent(CART_ALERTS, SMS_CONSENT_TEXT, CONSENT_TEXT_VERSION)


def checkout(v: Visit) -> Generator[Call, None, dict[str, Any] | None]:
    """Check the customer's cart out (signing in first); returns the order's properties, or
    None when the cart turned out empty (ordered on another head meanwhile, or sold out)."""
    cart = v.customer.cart if v.customer.cart is not None else (yield from open_cart(v))
    yield v.view("Cart", "/cart")
    yield from read_cart(v, cart)
    available = [line for line in cart.lines if "sold_out" not in line.flags]
    if not cart.open or not available:
        return None
    started = Checkout(cart)
    yield v.track("Cart Viewed", {"cart_id": cart.cart_id, "products": cart_products(cart)})
    yield v.track("Checkout Started", started.properties(v))
    yield from log_in(v)
    yield from _shipping_step(v, started)
    yield from sms_opt_in(v)
    yield from _try_coupon(v, started)
    yield from _payment_step(v, started)
    order = started.properties(v)
    yield v.track("Order Completed", order)
    yield v.shop_order(order)
    yield v.view("Order Confirmation", "/checkout/confirmation", order_id=started.order_id)
    cart.status = "ordered"
    forget(v.customer, cart)
    v.customer.orders += 1
    return order


def _shipping_step(v: Visit, checkout: Checkout) -> Story:
    method = v.rng.choice(("DHL Standard", "DHL Express", "Click & Collect"))
    checkout.shipping_method = method
    step = {"checkout_id": checkout.checkout_id, "step": 1, "shipping_method": method}
    yield v.view("Checkout Shipping", "/checkout/shipping")
    yield v.track("Checkout Step Viewed", step)
    yield v.track("Checkout Step Completed", step)


def _payment_step(v: Visit, checkout: Checkout) -> Story:
    methods = {
        "app": ("Apple Pay", "Google Pay", "PayPal"),
        "web": ("PayPal", "Credit Card", "Klarna"),
    }
    method = v.rng.choice(methods[v.device.head])
    step = {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id, "step": 2}
    yield v.view("Checkout Payment", "/checkout/payment")
    yield v.track("Checkout Step Viewed", step)
    yield v.track("Payment Info Entered", {**step, "payment_method": method})
    yield v.track("Checkout Step Completed", {**step, "payment_method": method})


def _try_coupon(v: Visit, checkout: Checkout) -> Story:
    if v.rng.random() > 0.35:
        return
    coupon = v.rng.choice(COUPONS)
    entered = {
        "order_id": checkout.order_id,
        "cart_id": checkout.cart.cart_id,
        "coupon_id": coupon.code,
    }
    yield v.track("Coupon Entered", entered)
    if coupon.code == "WELCOME10" and v.customer.orders > 0:
        reason = "Only valid on a first order"
        yield v.track("Coupon Denied", {**entered, "coupon_name": coupon.name, "reason": reason})
        return
    checkout.coupon = coupon
    yield v.track("Coupon Applied", coupon_properties(checkout, coupon))


def coupon_properties(checkout: Checkout, coupon: Coupon) -> dict[str, Any]:
    return {
        "order_id": checkout.order_id,
        "cart_id": checkout.cart.cart_id,
        "coupon_id": coupon.code,
        "coupon_name": coupon.name,
        "discount": money(coupon.discount(checkout.cart.subtotal)),
    }
