"""The issue's running-shoe story, lived by the second customer (and every tenth after): her
laptop's home page shows the winter-jacket promotion; then on her phone, in the app, she looks
only at running shoes — Tempo Glide by Pacer Lab twice, onto her wishlist and into her cart; back
on the laptop (an anonymousId Nerve does not know as hers) the home page still shows the jackets,
until she signs in there: the same userId as on the phone, and Nerve answers with the
running-shoe collection — and pins the new collection on the running-shoes category page.

Pacer Lab is now her strongest brand and she allowed the app's offers: when the back office
drops a Pacer Lab price by 20 % or more, the brand-deal flow pushes it to her phone.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from nerve.demo.catalog import category_slug, in_category, product
from nerve.demo.ecommerce import money, product_properties
from nerve.demo.journeys import arrive, everyday_life, leave, visit_after
from nerve.demo.people import Customer, Device
from nerve.demo.shopping import Story, log_in, open_cart
from nerve.demo.visit import Call, Visit

RUNNING = "Running Shoes"
FAVOURITE = "RUN-002"  # Tempo Glide, by Pacer Lab: the brand whose price drops now and then
# Seconds (at speed 1): her laptop first, the phone soon after, the laptop again the next
# "day" — long enough for the phone's batch to reach Nerve and her segments to follow.
FIRST_VISIT_AFTER = 2.0
PHONE_AFTER = 5.0
LAPTOP_AGAIN_AFTER = 120.0
LISTING = "running_shoes_listing"


def runner_life(customer: Customer, rng: random.Random) -> Iterator[Call]:
    laptop = customer.devices[0]
    yield from visit_after(customer, FIRST_VISIT_AFTER, lambda: _laptop(customer, laptop, rng))
    yield from visit_after(customer, PHONE_AFTER, lambda: running_shoes_on_the_phone(customer, rng))
    yield from visit_after(
        customer, LAPTOP_AGAIN_AFTER, lambda: _laptop(customer, laptop, rng, sign_in=True)
    )
    yield from everyday_life(customer, rng)


def _laptop(customer: Customer, laptop: Device, rng: random.Random, sign_in: bool = False) -> Story:
    """The home page (its banner asked of Nerve on arrival); signing in, it asks again with the
    userId, then opens the running-shoes category, whose listing Nerve arranges."""
    v = Visit(customer, laptop, rng)
    yield from arrive(v)
    if not sign_in:
        return
    yield from log_in(v)
    yield v.view("Home", "/")
    yield v.personalize()
    yield v.view("Category", f"/c/{category_slug(RUNNING)}", RUNNING, category=RUNNING)
    yield v.personalize(f"home_banner,{LISTING}", context=f"category:{RUNNING}")


def running_shoes_on_the_phone(customer: Customer, rng: random.Random) -> Story:
    """In the app, signed in: the running shoes only, her favourite twice, on her wishlist and
    in her cart."""
    phone = next(d for d in customer.devices if d.head == "app")
    v = Visit(customer, phone, rng)
    yield from arrive(v)  # the app's push token, with the offers she allows
    yield from log_in(v)
    shoes = in_category(RUNNING)
    yield v.view("Category", f"/c/{category_slug(RUNNING)}", RUNNING, category=RUNNING)
    listed = [product_properties(p, position=i) for i, p in enumerate(shoes, start=1)]
    yield v.track("Product List Viewed", {"list_id": category_slug(RUNNING), "category": RUNNING,
                                          "products": listed})  # fmt: skip
    favourite = product(FAVOURITE)
    for item in [favourite, *(p for p in shoes if p is not favourite), favourite]:
        yield v.track("Product Clicked", product_properties(item))
        yield v.view("Product Detail", item.path, item.name, product_id=item.product_id)
        yield v.track("Product Viewed", {**product_properties(item), "value": money(item.price)})
    wishlist = {"wishlist_id": f"wl_{customer.user_id}", "wishlist_name": "My favourites"}
    yield v.track("Product Added to Wishlist", {**wishlist, **product_properties(favourite)})
    if customer.in_stock(favourite):
        cart = yield from open_cart(v)
        yield v.cart_call("add", cart, sku=favourite.sku, quantity=1)
    yield from leave(v)
