"""One customer on one device for one session, and the Segment calls that session makes.

A story (see `journeys.py`) is a generator of `Call`s. The simulator sends a call, waits the next
call's `wait`, sends that one, and so on; so a story changes a device's state (a login, the page
being looked at) between two `yield`s exactly where a real device would change it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from nerve.demo.carts import ShopCart
from nerve.demo.catalog import SHOP_NAME, SHOP_URL
from nerve.demo.people import Customer, Device


@dataclass(frozen=True)
class Call:
    device: Device
    # identify, track, page or screen; subscribe: a sign-up form posted to Nerve; push_token:
    # the app's push registration; sms_consent: the shop's backend records an SMS opt-in;
    # cart: a cart API call (fields: op, cart, where, ...); shop_order: the order reaches the
    # shop's platform, which posts its webhooks to Nerve; personalize: the head asks Nerve what
    # to show (GET /v1/personalize); pause: no request, the customer is between two visits
    type: str
    fields: dict[str, Any]  # event, name, properties, traits; the sign-up form's fields
    wait: float  # seconds the customer spends before this call
    flush: bool = False  # send the device's queued batch now (an app going to the background)


class Visit:
    def __init__(
        self, customer: Customer, device: Device, rng: random.Random, affiliation: str = ""
    ) -> None:
        self.customer = customer
        self.device = device
        self.rng = rng
        self.affiliation = affiliation or _affiliation(device)
        self.referrer = ""
        self.installed = False  # the app was installed just now, for this visit

    def think(self) -> float:
        return round(self.rng.uniform(0.8, 4.0), 2)

    def view(self, name: str, path: str, title: str = "", **properties: Any) -> Call:
        """A page call on the web, a screen call in the apps."""
        if self.device.head != "web":
            return self._call("screen", {"name": name, "properties": properties})
        bare_path, _, query = path.partition("?")
        page = {
            "path": bare_path,
            "referrer": self.device.page["url"] if self.device.page else self.referrer,
            "search": f"?{query}" if query else "",
            "title": f"{title or name} | {SHOP_NAME}",
            "url": f"{SHOP_URL}{path}",
        }
        self.device.page = page
        return self._call("page", {"name": name, "properties": {**page, **properties}})

    def track(self, event: str, properties: dict[str, Any] | None = None, **options: Any) -> Call:
        return self._call("track", {"event": event, "properties": properties or {}}, **options)

    def identify(self, *, email_only: bool = False, flush: bool = False) -> Call:
        """Tell the shop who this is: traits as the customer typed them."""
        customer = self.customer
        traits: dict[str, Any] = {"email": customer.typed_email(self.rng)}
        if not email_only:
            traits |= {
                "firstName": customer.first_name,
                "lastName": customer.last_name,
                "name": customer.name,
                "phone": customer.phone,
                "address": {"city": customer.home.city, "country": customer.home.country},
            }
        self.device.identified = True
        return self._call("identify", {"traits": traits}, flush=flush)

    def subscribe(self, topic: str, consent_text: str, text_version: str) -> Call:
        """The shop's sign-up form, posted to Nerve's hosted endpoint with the address as typed
        (double opt-in: Nerve mails a confirmation link)."""
        fields = {
            "email": self.customer.typed_email(self.rng),
            "topic": topic,
            "consent_text": consent_text,
            "text_version": text_version,
        }
        return self._call("subscribe", fields)

    def register_push(self, topics: list[str], consent_text: str, text_version: str) -> Call:
        """The app's FCM registration token handed to Nerve (`POST /v1/push/subscriptions`),
        under the signed-in userId or else the device's anonymousId, with the push topics the
        customer allowed at the notification prompt."""
        device = self.device
        assert device.push_token is not None, "only the app has a push token"
        device.push_registered = True
        owner = {"userId": device.user_id} if device.user_id else \
            {"anonymousId": device.anonymous_id}  # fmt: skip
        fields = {"kind": "fcm", "token": device.push_token, **owner, "topics": topics}
        if topics:
            fields |= {"consent_text": consent_text, "text_version": text_version}
        return self._call("push_token", fields)

    def sms_consent(self, topic: str, consent_text: str, text_version: str) -> Call:
        """The checkout's SMS tick box, which the shop's backend records with Nerve
        (`POST /api/v1/consent` with the phone number) with what the customer saw and where."""
        context = self.device.context
        fields = {
            "phone": self.customer.phone,
            "topic": topic,
            "double_opt_in": False,  # Nerve sends no confirmation SMS
            "consent_text": consent_text,
            "text_version": text_version,
            "source_url": f"{SHOP_URL}/checkout/shipping",
            "ip": context.get("ip"),
            "user_agent": context.get("userAgent") or _app_agent(context),
        }
        return self._call("sms_consent", fields)

    def cart_call(self, op: str, cart: ShopCart, **fields: Any) -> Call:
        """A cart API call about `cart` from this device (`carts.CartCalls` makes it): `open`
        by the shop's backend, `add`/`remove`/`read`/`resume` by the head with its write key,
        `staff_view`/`staff_edit` by the store tablet."""
        where = "store tablet" if op.startswith("staff") else self.device.label
        return self._call("cart", {"op": op, "cart": cart, "where": where, **fields})

    def shop_order(self, order: dict[str, Any]) -> Call:
        """The order reaches the shop's platform (Shopify, its POS at a till), which tells Nerve
        by webhook; a till's stock is its store's."""
        store = self.customer.home.code if self.device.head == "pos" else None
        return self._call("shop_order", {"order": order, "customer": self.customer,
                                         "store": store}, flush=True)  # fmt: skip

    def personalize(self, slots: str = "home_banner", context: str | None = None) -> Call:
        """The head asks Nerve what to show on the page it renders (`GET /v1/personalize`)
        with the ids it has, and three recommended products."""
        fields: dict[str, Any] = {"slots": slots, "recommendations": 3,
                                  "customer": self.customer}  # fmt: skip
        if context is not None:
            fields["context"] = context
        # As the page renders, no time of the customer's own: nor a draw of the customer's
        # random generator, so each customer's story stays the one the seed gave before.
        return Call(self.device, "personalize", fields, 0.0)

    def _call(self, type_: str, fields: dict[str, Any], flush: bool = False) -> Call:
        return Call(self.device, type_, fields, self.think(), flush)


def pause_call(customer: Customer, seconds: float) -> Call:
    """Between two visits: nothing is sent; what comes next is decided after `seconds`."""
    return Call(customer.devices[0], "pause", {}, seconds)


def _app_agent(context: dict[str, Any]) -> str:
    """What the shop's app says it is, as its HTTP requests do."""
    app, os = context.get("app") or {}, context.get("os") or {}
    return f"{app.get('name', SHOP_NAME)}/{app.get('version', '')} ({os.get('name', '')} " \
        f"{os.get('version', '')})"  # fmt: skip


def _affiliation(device: Device) -> str:
    return f"{SHOP_NAME} App" if device.head == "app" else f"{SHOP_NAME} Online Shop"
