"""The customers' carts are Nerve's server carts: what a head knows of one (`ShopCart`, its id,
token and lines as the cart API last answered), and the cart API calls the heads, the shop's
backend and the store tablet make (`CartCalls`, on the customers' thread).

- The shop's backend (admin key) opens the cart a device or an account should use:
  `POST /api/v1/carts` answers the person's open cart, or opens one under the identifier.
- A head (the app, the website, the kiosk) changes and reads it with its write key and the cart
  token: `/v1/cart/{token}`. The cart API records `Product Added`/`Removed` itself, so the heads
  do not track those; everything else they send stays Segment's e-commerce events.
- Signing in on a device merges its anonymous cart into the account's (Nerve's pipeline does
  it on the identify); the head reads its cart again and finds the merged one.
- The store tablet (staff key) looks the customer's cart up by e-mail and edits it.
- A resume link in a reminder mail (`/r/TOKEN`) sends the browser to the shop's cart page with
  the cart token; the head there reads the cart with it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from nerve.demo.catalog import Product, by_sku


@dataclass
class CartLine:
    product: Product
    quantity: int
    flags: list[str] = field(default_factory=list)  # sold_out, inactive, price_changed


@dataclass(eq=False)
class ShopCart:
    """A cart as the cart API last showed it to a head."""

    identifier: str  # whom the backend opened (or found) it for: anonymous_id:… or user_id:…
    cart_id: str = ""
    token: str = ""
    lines: list[CartLine] = field(default_factory=list)
    status: str = "new"  # new (not opened yet), open, merged, ordered
    heads: list[str] = field(default_factory=list)  # the devices that used it, in order
    merged: bool = False  # another device's cart went into it when its owner signed in

    @property
    def subtotal(self) -> Decimal:
        return sum((line.product.price * line.quantity for line in self.lines), Decimal(0))

    @property
    def open(self) -> bool:
        return self.status == "open"

    def used_on(self, device: str) -> None:
        if not self.heads or self.heads[-1] != device:
            self.heads.append(device)

    def take(self, answer: dict[str, Any]) -> None:
        """What the cart API answered: a merged cart answers with the one it went into."""
        if self.cart_id and answer["id"] != self.cart_id:
            self.merged = True
        self.cart_id, self.token, self.status = answer["id"], answer["token"], answer["status"]
        lines = []
        for line in answer["lines"]:
            product = by_sku(line["sku"])
            if product is not None:
                lines.append(CartLine(product, int(line["quantity"]), list(line["flags"])))
        self.lines = lines


@dataclass
class CartFigures:
    opened: int = 0  # carts the backend opened or found for a device or an account
    merged: int = 0  # carts found merged into the account's cart after a sign-in
    moved: int = 0  # carts used on two heads or more (phone → laptop → store tablet)
    staff_views: int = 0  # carts the store tablet looked up
    staff_edits: int = 0  # lines the store tablet changed
    resumed: int = 0  # carts restored from a resume link on another device
    flagged: int = 0  # lines the cart API flagged sold out, inactive or changed in price


class CartCalls:
    """The cart API calls, made with the right key for who makes them."""

    def __init__(
        self, client: httpx.Client, write_keys: dict[str, str], api_key: str, staff_key: str
    ) -> None:
        self._client = client
        self._write_keys = write_keys
        self._api = {"Authorization": f"Bearer {api_key}"}
        self._staff = {"Authorization": f"Bearer {staff_key}"}
        self._lock = threading.Lock()
        self.figures = CartFigures()
        self._moved: set[str] = set()

    def call(
        self, op: str, head: str, where: str, cart: ShopCart, fields: dict[str, Any]
    ) -> str | None:
        """Make the call from `head` on the device `where` (a phone's app, a laptop, the store
        tablet); None when it worked, else why not (for the screen's failure count)."""
        answer = self._send(op, head, cart, fields)
        if answer is None:
            return None
        if answer.status_code == 409:  # an order closed it meanwhile (on another head)
            cart.status = "ordered"
            return None
        if answer.status_code == 404 and op == "staff_view":  # no open cart under the e-mail
            cart.status = "none"
            return None
        if answer.status_code not in (200, 201):
            return f"cart {op}: HTTP {answer.status_code} {answer.text[:300]}"
        was_merged = cart.merged
        cart.take(answer.json())
        cart.used_on(where)
        self._count(op, cart, was_merged)
        return None

    def _send(
        self, op: str, head: str, cart: ShopCart, fields: dict[str, Any]
    ) -> httpx.Response | None:
        key = (self._write_keys[head], "")
        if op == "open":
            return self._client.post("/api/v1/carts", json={"identifier": cart.identifier},
                                     headers=self._api)  # fmt: skip
        if op == "resume":  # the browser follows the link as far as the shop's cart page
            landed = self._client.get(fields["url"], follow_redirects=False)
            token = parse_qs(urlsplit(landed.headers.get("location", "")).query).get("cart_token")
            if landed.status_code != 303 or not token:
                return landed
            cart.token = token[0]
            return self._client.get(f"/v1/cart/{cart.token}", auth=key)
        if op == "staff_view":
            return self._client.get("/api/v1/carts", params={"identifier": fields["identifier"]},
                                    headers=self._staff)  # fmt: skip
        if op == "staff_edit":
            return self._client.put(f"/api/v1/carts/{cart.cart_id}/lines/{fields['sku']}",
                                    json={"quantity": fields["quantity"]},
                                    headers=self._staff)  # fmt: skip
        if not cart.token:
            return None
        path = f"/v1/cart/{cart.token}"
        if op == "add":
            line = {"sku": fields["sku"], "quantity": fields["quantity"]}
            return self._client.post(f"{path}/lines", json=line, auth=key)
        if op == "remove":
            return self._client.delete(f"{path}/lines/{fields['sku']}", auth=key)
        return self._client.get(path, auth=key)  # read

    def _count(self, op: str, cart: ShopCart, was_merged: bool) -> None:
        with self._lock:
            figures = self.figures
            if op == "open":
                figures.opened += 1
            elif op == "staff_view":
                figures.staff_views += 1
            elif op == "staff_edit":
                figures.staff_edits += 1
            elif op == "resume":
                figures.resumed += 1
            if cart.merged and not was_merged:
                figures.merged += 1
            if len(set(cart.heads)) >= 2 and cart.cart_id not in self._moved:
                self._moved.add(cart.cart_id)
                figures.moved += 1
            if op in ("read", "staff_view", "resume"):
                figures.flagged += sum(1 for line in cart.lines if line.flags)
