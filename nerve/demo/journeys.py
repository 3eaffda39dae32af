"""Shopping stories the simulated customers live through: browsing, carts left behind and picked
up on another device, checkouts, kiosk sessions and till sales.

Event names and properties follow the Segment E-commerce Spec v2
(https://segment.com/docs/connections/spec/ecommerce/v2/) and the mobile lifecycle spec. The
checkout and what every visit shares on the way to it are `shopping`'s.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from functools import partial
from urllib.parse import quote_plus

from nerve.demo.carts import CartLine, ShopCart
from nerve.demo.catalog import (
    ADD_ONS,
    CATEGORIES,
    SEARCHES,
    SHOP_NAME,
    Product,
    category_slug,
    in_category,
    product,
)
from nerve.demo.devices import APP_VERSION
from nerve.demo.ecommerce import COUPONS, cart_products, money, product_properties
from nerve.demo.people import Customer
from nerve.demo.shopping import (
    Checkout,
    Story,
    checkout,
    coupon_properties,
    forget,
    log_in,
    open_cart,
    read_cart,
    register_push,
    sms_opt_in,
)
from nerve.demo.visit import Call, Visit, pause_call

Scenario = Callable[[Customer, random.Random], Story]
_ENTRIES = (
    ("", "/"),
    ("https://duckduckgo.com/", "/"),
    ("https://www.google.com/", "/"),
    ("https://mail.example/", "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_trail"),
)
_ARRIVALS_WITHIN = 30.0  # seconds in which all customers show up for the first time
NEWSLETTER = "newsletter"  # the consent topic of the sign-up form and of the cart reminders
CONSENT_TEXT = (
    f"Yes, send me the {SHOP_NAME} newsletter: offers, running tips and reminders of what I left"
    " in my cart. I can unsubscribe at any time."
)
CONSENT_TEXT_VERSION = "2025-03"


def customer_life(customer: Customer, rng: random.Random) -> Iterator[Call]:
    """Everything one customer does, visit after visit, until the demo stops.

    The first visits are spread over the heads so that every head shows up within a minute;
    most customers sign up for the newsletter first. Between two visits the customer pauses (a
    `pause` call): what they do next is decided when the pause is over, so a click in a mail
    can bring them back to the shop first (`mail_visits`).
    """
    pause = rng.uniform(0.0, _ARRIVALS_WITHIN)
    if customer.signs_up:
        yield from visit_after(customer, pause, lambda: newsletter_sign_up(customer, rng))
        pause = rng.uniform(5.0, 20.0)
    opening = OPENINGS[customer.index % len(OPENINGS)]
    yield from visit_after(customer, pause, lambda: opening(customer, rng))
    yield from everyday_life(customer, rng)


def everyday_life(customer: Customer, rng: random.Random) -> Iterator[Call]:
    """Visit after visit, each a scenario drawn when the pause before it is over."""
    while True:
        pause = rng.uniform(30.0, 120.0)
        yield from visit_after(
            customer, pause, lambda: _next_scenario(customer, rng)(customer, rng)
        )


def visit_after(customer: Customer, pause: float, story: Callable[[], Story]) -> Story:
    yield pause_call(customer, pause)
    calls = story()  # decided now, when the pause is over
    first = next(calls, None)
    if first is not None:
        yield replace(first, wait=0.0)
        yield from calls


def _next_scenario(customer: Customer, rng: random.Random) -> Scenario:
    if customer.unsubscribed:  # annoyed by the reminder: that cart is forgotten
        customer.cart = None
    if customer.cart is not None and customer.cart.open and rng.random() < 0.5:
        return resume_cart
    scenarios: list[Scenario] = [browse_only, abandon_cart, buy_now, store_visit, store_purchase,
                                 cart_across_devices]  # fmt: skip
    return rng.choices(scenarios, weights=[28, 28, 18, 10, 8, 8])[0]


def browse_only(customer: Customer, rng: random.Random, head: str | None = None) -> Story:
    v = _visit(customer, rng, head)
    yield from arrive(v)
    seen = yield from browse(v)
    if v.device.user_id and rng.random() < 0.5:
        yield _wishlist(v, rng.choice(seen))
    yield from leave(v)


def newsletter_sign_up(customer: Customer, rng: random.Random, head: str | None = None) -> Story:
    """The newsletter box on the website or in the app: the head identifies the visitor by the
    address typed and posts the form to Nerve, which mails the confirmation link."""
    v = _visit(customer, rng, head or rng.choice([d.head for d in customer.devices]))
    yield from arrive(v)
    yield v.identify(email_only=True)
    yield v.subscribe(NEWSLETTER, CONSENT_TEXT, CONSENT_TEXT_VERSION)
    yield from leave(v)


def abandon_cart(customer: Customer, rng: random.Random, head: str | None = None) -> Story:
    v = _visit(customer, rng, head)
    yield from arrive(v)
    seen = yield from browse(v)
    cart = yield from fill_cart(v, seen)
    if rng.random() < 0.8:
        yield v.view("Cart", "/cart")
        yield from read_cart(v, cart)
        if not cart.open or not cart.lines:
            yield from leave(v)
            return
        yield v.track("Cart Viewed", {"cart_id": cart.cart_id, "products": cart_products(cart)})
        if rng.random() < 0.75:  # gone at the shipping costs: the abandoned-cart flow's case
            if not v.device.user_id:  # a guest checkout asks for the e-mail address first
                yield v.identify(email_only=True)
            yield v.track("Checkout Started", Checkout(cart).properties(v))
            yield from sms_opt_in(v)
    if customer.has_account and rng.random() < 0.5:
        yield from log_in(v)  # "sign in to save your cart"
    yield from leave(v)


def buy_now(customer: Customer, rng: random.Random, head: str | None = None) -> Story:
    v = _visit(customer, rng, head)
    yield from arrive(v)
    seen = yield from browse(v)
    yield from fill_cart(v, seen)
    yield from checkout(v)
    yield from leave(v)


def resume_cart(customer: Customer, rng: random.Random) -> Story:
    """Come back to the cart: on any device once it is the account's (Nerve's cart follows
    the person), else on the device that holds it."""
    cart = customer.cart
    assert cart is not None
    holders = [d for d in customer.devices if d.cart is cart]
    if cart.identifier.startswith("user_id:"):
        device = rng.choice(customer.devices)
    elif holders:
        device = holders[0]
    else:  # an anonymous kiosk cart: nobody can find it again
        customer.cart = None
        yield from browse_only(customer, rng)
        return
    v = Visit(customer, device, rng)
    yield from arrive(v)
    yield from log_in(v)
    if device.cart is None:  # signed in here: the account's cart, started elsewhere
        yield from open_cart(v)
    yield from checkout(v)
    yield from leave(v)


def cart_across_devices(customer: Customer, rng: random.Random) -> Story:
    """The issue's cross-device cart: two items in the cart on a phone without signing in, one
    on the laptop signed in, then signing in on the phone merges both carts into one; now and
    then the customer finishes at the store, where the sales assistant's tablet finds the cart
    by e-mail."""
    phone = next((d for d in customer.devices if d.head == "app" and not d.user_id), None)
    phone = phone or next((d for d in customer.devices if not d.user_id), None)
    if phone is None:  # signed in everywhere: a new phone, the app freshly installed
        phone = customer.install_app(rng)
    laptop = next((d for d in customer.devices if d is not phone and d.head == "web"),
                  customer.devices[0] if customer.devices[0] is not phone else None)  # fmt: skip
    v = Visit(customer, phone, rng)
    v.installed = phone.head == "app" and not phone.push_registered
    yield from arrive(v)
    seen = yield from browse(v)
    yield from fill_cart(v, seen, at_least=2)
    yield from leave(v)
    if laptop is not None:
        yield pause_call(customer, rng.uniform(4.0, 12.0))
        v = Visit(customer, laptop, rng)
        yield from arrive(v)
        yield from log_in(v)
        seen = yield from browse(v)
        yield from fill_cart(v, seen, at_most=1)
        yield from leave(v)
    yield pause_call(customer, rng.uniform(4.0, 12.0))
    v = Visit(customer, phone, rng)
    yield from arrive(v)
    yield from log_in(v)  # Nerve merges the phone's cart into the account's
    yield from open_cart(v)
    yield v.view("Cart", "/cart")
    if rng.random() < 0.5:
        yield from leave(v)
        yield pause_call(customer, rng.uniform(4.0, 12.0))
        yield from store_purchase(customer, rng, pick_up=True)
        return
    yield from leave(v)


def store_visit(customer: Customer, rng: random.Random) -> Story:
    """Look around on the store's kiosk, and often buy at the till."""
    v = Visit(customer, customer.home.kiosk(rng), rng)
    yield v.view("Welcome", "/")
    seen = yield from browse(v)
    if customer.has_account:
        v.device.user_id = customer.user_id  # scans the loyalty card in the app
        yield v.identify(flush=True)
        yield from fill_cart(v, seen)  # reserves the shoes in the account's cart
    elif rng.random() < 0.5:
        yield v.identify(email_only=True)  # "send me the product details"
    if rng.random() < 0.5:
        yield from store_purchase(customer, rng)


def store_purchase(customer: Customer, rng: random.Random, pick_up: bool = False) -> Story:
    """A sale at the till: the customer's account when known, always the e-mail for the
    receipt. A customer with a cart open often asks for it: the sales assistant's tablet
    (staff key) finds it by e-mail, shows it and edits it, and the till sells it."""
    till = customer.home.till(rng)
    till.user_id = customer.user_id if customer.has_account else None
    till.traits = {"email": customer.typed_email(rng)}
    v = Visit(customer, till, rng, f"{SHOP_NAME} {customer.home.name}")
    cart = ShopCart(f"email:{customer.email}")
    if customer.cart is not None and (pick_up or rng.random() < 0.6):
        yield from _at_the_tablet(v, cart)
    if cart.open and cart.lines:
        forget(customer, cart)
        checkout = Checkout(cart)  # the order names the cart: it closes it, whichever head
    else:
        fresh = ShopCart(f"anonymous_id:{till.anonymous_id}", cart_id=uuid.uuid4().hex)
        choice = [p for p in in_category(customer.favourite_category) if customer.in_stock(p)]
        if not choice:
            return
        fresh.lines.append(CartLine(rng.choice(choice), 1))
        checkout = Checkout(fresh)
    if rng.random() < 0.2:
        checkout.coupon = COUPONS[-1]
        yield v.track("Coupon Applied", coupon_properties(checkout, checkout.coupon))
    payment = rng.choice(("Card", "Cash", "Apple Pay", "Google Pay"))
    properties = {**checkout.properties(v, shipped=False), "payment_method": payment}
    yield v.track("Order Completed", properties, flush=True)
    yield v.shop_order(properties)
    customer.orders += 1


def _at_the_tablet(v: Visit, cart: ShopCart) -> Story:
    """The sales assistant looks the cart up by the customer's e-mail, takes out what is sold
    out and, now and then, adds a second pair of what the customer tried on."""
    yield v.cart_call("staff_view", cart, identifier=cart.identifier)
    if not cart.open:
        return
    for line in [line for line in cart.lines if "sold_out" in line.flags]:
        yield v.cart_call("staff_edit", cart, sku=line.product.sku, quantity=0)
    if cart.lines and v.rng.random() < 0.3:
        line = cart.lines[0]
        yield v.cart_call("staff_edit", cart, sku=line.product.sku, quantity=line.quantity + 1)


OPENINGS: tuple[Scenario, ...] = (
    partial(buy_now, head="web"),
    partial(abandon_cart, head="app"),
    store_visit,
    store_purchase,
    cart_across_devices,
)


def _visit(customer: Customer, rng: random.Random, head: str | None) -> Visit:
    """A visit on one of the customer's own devices; asking for the app may install it."""
    if head == "app" and not any(d.head == "app" for d in customer.devices):
        visit = Visit(customer, customer.install_app(rng), rng)
        visit.installed = True
        return visit
    return Visit(customer, customer.personal_device(rng, head), rng)


def arrive(v: Visit) -> Story:
    """Open the app, or land on the website from somewhere."""
    if v.device.head != "app":
        v.device.page = None
        v.referrer, path = v.rng.choice(_ENTRIES)
        yield v.view("Home", path)
        yield v.personalize()  # the home page's banner, decided by Nerve
    else:
        if v.installed:
            yield v.track("Application Installed", dict(APP_VERSION))
        opened = {"from_background": v.rng.random() < 0.3, **APP_VERSION}
        yield v.track("Application Opened", opened)
        if not v.device.push_registered:  # the app's first start in this run of the demo
            yield register_push(v)
        yield v.view("Home", "/")
    if v.device.user_id and not v.device.identified:
        # Signed in before the demo started: the head restores the session and, as shops do
        # on start-up, identifies the customer with the traits it keeps.
        yield v.identify()


def leave(v: Visit) -> Story:
    if v.device.head == "app":
        yield v.track("Application Backgrounded", flush=True)


def browse(v: Visit) -> Generator[Call, None, list[Product]]:
    """Search or open a category, then look at a few products; returns those looked at."""
    rng = v.rng
    if rng.random() < 0.4:
        query, category = rng.choice(SEARCHES)
        yield v.track("Products Searched", {"query": query})
        yield v.view("Search Results", f"/search?q={quote_plus(query)}", query=query)
        list_id = "search-results"
    else:
        category = v.customer.favourite_category if rng.random() < 0.6 else rng.choice(CATEGORIES)
        yield v.view("Category", f"/c/{category_slug(category)}", category, category=category)
        list_id = category_slug(category)
    products = in_category(category)
    listed = [product_properties(p, position=i) for i, p in enumerate(products, start=1)]
    yield v.track(
        "Product List Viewed", {"list_id": list_id, "category": category, "products": listed}
    )
    seen = rng.sample(products, k=rng.randint(1, min(3, len(products))))
    for item in seen:
        position = products.index(item) + 1
        yield v.track("Product Clicked", product_properties(item, position=position))
        yield v.view("Product Detail", item.path, item.name, product_id=item.product_id)
        yield v.track("Product Viewed", {**product_properties(item), "value": money(item.price)})
    return seen


def fill_cart(
    v: Visit, seen: list[Product], at_least: int = 1, at_most: int = 3
) -> Generator[Call, None, ShopCart]:
    """Put what was looked at (and is in stock) in the server cart through the cart API, with
    the head's write key and the cart's token; the API records `Product Added`/`Removed`."""
    cart, rng = (yield from open_cart(v)), v.rng
    wanted = [item for item in seen if v.customer.in_stock(item)]
    for item in wanted[: min(max(rng.randint(1, 2), at_least), at_most)]:
        yield v.cart_call("add", cart, sku=item.sku, quantity=1)
    add_on = product(rng.choice(ADD_ONS))
    if (
        at_most > 1
        and v.customer.in_stock(add_on)
        and (rng.random() < 0.5 or len(wanted) < at_least)
    ):
        yield v.cart_call("add", cart, sku=add_on.sku, quantity=rng.randint(1, 2))
    if len(cart.lines) > at_least and rng.random() < 0.25:
        yield v.cart_call("remove", cart, sku=rng.choice(cart.lines).product.sku)
    return cart


def _wishlist(v: Visit, item: Product) -> Call:
    wishlist = {"wishlist_id": f"wl_{v.customer.user_id}", "wishlist_name": "My favourites"}
    return v.track("Product Added to Wishlist", {**wishlist, **product_properties(item)})
