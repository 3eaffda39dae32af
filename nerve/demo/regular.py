"""The demo's regular: the first customer, whose opening the welcome describes. She signs up for
the newsletter on the website and confirms it, then opens the app — allowing its offers at the
notification prompt — signs in, fills a cart, ticks "text me about my cart" at the checkout and
leaves at the shipping costs. So she is in three marketing flows at once: the app's offer (a
push), the cart reminder mails and the cart reminder by SMS, and the demo's delivery policy
holds her to its cap. After that she lives as every customer does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from nerve.demo.ecommerce import cart_products
from nerve.demo.journeys import (
    arrive,
    browse,
    everyday_life,
    fill_cart,
    leave,
    newsletter_sign_up,
    visit_after,
)
from nerve.demo.people import Customer
from nerve.demo.shopping import Checkout, Story, log_in, sms_opt_in
from nerve.demo.visit import Call, Visit

# Seconds (at speed 1) before her first visit, and between the sign-up and the app. She clicks
# the confirmation link within 40 s (the inbox's pace), long before her cart's first reminder.
FIRST_VISIT_AFTER = 1.0
APP_AFTER = 3.0


def regular_life(customer: Customer, rng: random.Random) -> Iterator[Call]:
    yield from visit_after(
        customer, FIRST_VISIT_AFTER, lambda: newsletter_sign_up(customer, rng, head="web")
    )
    yield from visit_after(customer, APP_AFTER, lambda: cart_left_in_the_app(customer, rng))
    yield from everyday_life(customer, rng)


def cart_left_in_the_app(customer: Customer, rng: random.Random) -> Story:
    app = next(device for device in customer.devices if device.head == "app")
    v = Visit(customer, app, rng)
    yield from arrive(v)  # the app starts: its push token, with the offers she allowed
    yield from log_in(v)  # her account: the shop knows her phone number
    seen = yield from browse(v)
    cart = yield from fill_cart(v, seen)
    yield v.view("Cart", "/cart")
    yield v.track("Cart Viewed", {"cart_id": cart.cart_id, "products": cart_products(cart)})
    yield v.track("Checkout Started", Checkout(cart).properties(v))
    yield from sms_opt_in(v)
    yield from leave(v)
