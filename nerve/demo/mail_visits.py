"""Customers who come back to the shop through a link in a mail: the inbox's thread hands each
click over (`MailClicks.clicked`), the customers' thread lets the customer land on the page the
redirect pointed to — and often check the cart out — and the screen hears what came of it.

The demo attributes an order to the click when it is made in the visit the click began: the
plainest last-click rule, said as such on the screen. Until one such order was made in a run,
every customer who comes back with a cart still open orders it, so every run shows one.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rich.text import Text

from nerve.demo.carts import ShopCart
from nerve.demo.catalog import Product
from nerve.demo.ecommerce import money, product_properties
from nerve.demo.people import Customer, Device
from nerve.demo.shopping import Story, checkout
from nerve.demo.visit import Visit

ORDERING_SHARE = 0.6  # of the customers back through a click who still have a cart, those who buy


@dataclass(frozen=True)
class MailClick:
    customer: Customer
    product: Product | None  # the product whose link was clicked (None: the cart's button)
    landing_url: str  # where Nerve's redirect sent the customer (with its utm_* parameters)
    mail: str  # the mail as the screen names it: "the cart reminder (mail 31)"
    on_phone: bool  # read on the phone: the link opens in the phone's browser

    @property
    def resumes_cart(self) -> bool:
        """The "Back to your cart" button: Nerve's resume link (`/r/TOKEN`), which restores
        the cart in whichever browser opens it."""
        return self.product is None

    @property
    def words(self) -> str:
        return self.product.name if self.product is not None else "Back to your cart"


@dataclass(frozen=True)
class ClickFigures:
    back: int  # visits that began with a click in a mail
    ordered: int  # of them, those that ended in an order
    revenue: float  # those orders' totals, EUR


class MailClicks:
    """Clicks handed from the inbox's thread to the customers' thread, and the orders that came
    of them handed to the screen's thread."""

    def __init__(self) -> None:
        self._clicks: queue.SimpleQueue[MailClick] = queue.SimpleQueue()
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._back = 0
        self._ordered = 0
        self._revenue = 0.0

    def clicked(self, click: MailClick) -> None:
        self._clicks.put(click)

    def taken(self) -> list[MailClick]:
        """The clicks since the last call (for the customers' thread)."""
        found = []
        while not self._clicks.empty():
            found.append(self._clicks.get_nowait())
        return found

    def visit(self, click: MailClick, rng: random.Random) -> Story:
        """The visit the click begins, as the customer's device reports it."""
        with self._lock:
            self._back += 1
            buys = self._ordered == 0 or rng.random() < ORDERING_SHARE
        return _back_from_mail(click, rng, buys, lambda order: self._order(click, order))

    def notes(self) -> list[Text]:
        found = []
        while not self._notes.empty():
            found.append(self._notes.get_nowait())
        return found

    def figures(self) -> ClickFigures:
        with self._lock:
            return ClickFigures(self._back, self._ordered, self._revenue)

    def _order(self, click: MailClick, order: dict[str, Any]) -> None:
        total = float(order["total"])
        with self._lock:
            self._ordered += 1
            self._revenue += total
        self._notes.put(
            Text.assemble(
                ("€ ", "green"), (click.customer.name, "bold"),
                f" ordered €{total:,.2f} (order {order['order_id']}) in the visit begun by the"
                f" click on “{click.words}” in {click.mail}: the demo's last-click"
                " attribution",
            )
        )  # fmt: skip


def _back_from_mail(
    click: MailClick, rng: random.Random, buys: bool, ordered: Callable[[dict[str, Any]], None]
) -> Story:
    """Land on the product page in the browser the mail program opens, look at it, and check
    the cart out when `buys` — if the cart is still there (it may have been ordered on another
    head meanwhile)."""
    customer, item = click.customer, click.product
    v = Visit(customer, browser_for(customer, click.on_phone), rng)
    v.device.page = None
    v.referrer = ""  # a mail program sends no Referer: the utm_* parameters say where from
    if item is None:  # the resume link: this browser gets the cart, whichever device began it
        cart = ShopCart("resume link")
        yield v.cart_call("resume", cart, url=click.landing_url)
        if not cart.open:
            return
        v.device.cart = customer.cart = cart
    else:
        landing = urlsplit(click.landing_url)
        path = f"{landing.path}?{landing.query}" if landing.query else landing.path
        yield v.view("Product Detail", path, item.name, product_id=item.product_id)
        yield v.track("Product Viewed", {**product_properties(item), "value": money(item.price)})
    if customer.cart is None or not buys:
        return
    order = yield from checkout(v)
    if order is not None:
        ordered(order)


def browser_for(customer: Customer, on_phone: bool) -> Device:
    """The browser a link in a mail opens in: on the phone when the mail is read there."""
    browsers = [device for device in customer.devices if device.head == "web"]
    on_phones = [d for d in browsers if "Mobile" in str(d.context.get("userAgent"))]
    return (on_phones if on_phone and on_phones else browsers)[0]
