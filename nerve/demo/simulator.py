"""Sends the simulated customers' calls to the tracking API over HTTP, as the heads' SDKs would:
the website and the kiosks one call per request, the apps and tills in `/v1/batch` requests.

All customers live on one thread. Their next calls wait in a queue ordered by due time, so the
customers interleave like real traffic while each one's story stays reproducible from the seed.
A click in a mail (handed over by the inbox) brings its customer back to the shop between two
visits.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from nerve.demo.back_office import BackOffice
from nerve.demo.carts import CartCalls
from nerve.demo.heads import HeadLog
from nerve.demo.journeys import customer_life
from nerve.demo.mail_visits import MailClick, MailClicks
from nerve.demo.people import Customer, Device, make_customers
from nerve.demo.regular import regular_life
from nerve.demo.runner import runner_life
from nerve.demo.visit import Call
from nerve.demo.workspace import HEADS

log = structlog.get_logger(__name__)

_CLICKS_EVERY = 0.25  # seconds: how soon a click in a mail brings its customer back


@dataclass
class TrafficStats:
    """What the server has accepted; written by the simulator thread, read by the display."""

    by_head: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HEADS, 0))
    orders: int = 0
    revenue: float = 0.0  # sum of Order Completed totals, EUR
    sign_ups: int = 0  # newsletter forms posted to Nerve
    push_tokens: int = 0  # app push tokens registered with Nerve
    sms_opt_ins: int = 0  # checkout SMS opt-ins the shop's backend recorded with Nerve
    failed: int = 0
    last_failure: str = ""

    @property
    def events(self) -> int:
        return sum(self.by_head.values())


class Simulator:
    def __init__(
        self,
        base_url: str,
        write_keys: Mapping[str, str],
        customers: int,
        *,
        speed: float = 1.0,
        seed: int = 7,
        mail_clicks: MailClicks | None = None,
        api_key: str = "",
        staff_key: str = "",
        back_office: BackOffice | None = None,
        heads: HeadLog | None = None,
    ) -> None:
        self.stats = TrafficStats()
        self.heads = heads or HeadLog(base_url)  # what the website heads got from Nerve
        self._api_key = api_key  # the shop backend's, for what it records with Nerve
        self._staff_key = staff_key  # the store tablets'
        self._back_office = back_office
        self.carts: CartCalls | None = None  # the cart API calls, once the customers run
        self.error: Exception | None = None
        self._base_url = base_url
        self._write_keys = dict(write_keys)
        self._customers = make_customers(customers, seed)
        for customer in self._customers:
            customer.shelves = back_office.shelves if back_office is not None else None
        self._speed = speed
        self._seed = seed
        self._mail_clicks = mail_clicks or MailClicks()
        self._lives: list[Iterator[Call]] = []
        self._due: list[tuple[float, int, int, Call]] = []  # at, order, customer, call
        self._next: dict[int, tuple[int, Call]] = {}  # customer → the order and call due
        self._order = itertools.count()
        self._waiting: dict[int, MailClick] = {}  # clicks of customers in the middle of a visit
        self._visits_from_mail = itertools.count()

    @property
    def customers(self) -> list[Customer]:
        return list(self._customers)

    def run(self, stop: threading.Event) -> None:
        """Send traffic until `stop` is set, then send what the apps still hold."""
        try:
            with httpx.Client(base_url=self._base_url, timeout=10.0) as client:
                self.carts = CartCalls(client, self._write_keys, self._api_key, self._staff_key)
                transport = _Transport(client, self._write_keys, self.stats, self._api_key,
                                       self.carts, self._back_office, self.heads)  # fmt: skip
                try:
                    self._send_until(stop, transport)
                finally:
                    for customer in self._customers:
                        for device in customer.devices:
                            transport.flush(device)
        except Exception as exc:  # reported by the display and the exit code, not lost
            log.exception("demo customers stopped")
            self.error = exc

    def _send_until(self, stop: threading.Event, transport: _Transport) -> None:
        self._lives = [
            _life(customer)(customer, random.Random(f"{self._seed}:life:{customer.index}"))
            for customer in self._customers
        ]
        for index in range(len(self._lives)):
            self._schedule(index)
        while self._due and not stop.is_set():
            for click in self._mail_clicks.taken():
                self._back_from_mail(click)
            at, order, index, call = self._due[0]
            if self._next[index][0] != order:  # put off by a click in a mail
                heapq.heappop(self._due)
                continue
            delay = at - time.monotonic()
            if delay > 0:
                stop.wait(min(delay, _CLICKS_EVERY))
                continue
            heapq.heappop(self._due)
            transport.send(call)
            self._schedule(index)

    def _schedule(self, index: int) -> None:
        call = next(self._lives[index])
        if call.type == "pause" and index in self._waiting:
            call = self._divert(index, self._waiting.pop(index), call)
        self._push(index, call)

    def _push(self, index: int, call: Call) -> None:
        order = next(self._order)
        self._next[index] = (order, call)
        heapq.heappush(self._due, (time.monotonic() + call.wait / self._speed, order, index, call))

    def _back_from_mail(self, click: MailClick) -> None:
        """Between two visits the customer follows the click at once; in the middle of one,
        when it is over."""
        index = click.customer.index
        pending = self._next[index][1]
        if pending.type == "pause":
            self._push(index, self._divert(index, click, pending))
        else:
            self._waiting[index] = click

    def _divert(self, index: int, click: MailClick, pause: Call) -> Call:
        """The visit the click begins, then the pause the customer was in, then their life."""
        rng = random.Random(f"{self._seed}:mail:{index}:{next(self._visits_from_mail)}")
        life = itertools.chain(self._mail_clicks.visit(click, rng), [pause], self._lives[index])
        self._lives[index] = life
        return next(life)


class _Transport:
    """The SDK part of every device: queue, batch, send with the head's write key."""

    def __init__(
        self, client: httpx.Client, write_keys: Mapping[str, str], stats: TrafficStats,
        api_key: str, carts: CartCalls, back_office: BackOffice | None, heads: HeadLog,
    ) -> None:  # fmt: skip
        self._client = client
        self._write_keys = write_keys
        self._stats = stats
        self._api_key = api_key
        self._carts = carts
        self._back_office = back_office
        self._heads = heads

    def send(self, call: Call) -> None:
        if call.type == "pause":
            return
        if call.type == "cart":
            self._cart(call)
            return
        if call.type == "shop_order":
            self.flush(call.device)  # the head's Order Completed first, as in a real checkout
            if self._back_office is not None:
                fields = call.fields
                self._back_office.ordered(fields["order"], fields["customer"], fields["store"])
            return
        if call.type == "subscribe":
            self._subscribe(call)
            return
        if call.type in ("push_token", "sms_consent"):
            self._opt_in(call)
            return
        if call.type == "personalize":
            self._personalize(call)
            return
        device = call.device
        device.queue.append(_message(call))
        if call.flush or len(device.queue) >= device.flush_at:
            self.flush(device)

    def _cart(self, call: Call) -> None:
        """A cart API call; the app sends what it queued first, so Nerve sees the sign-in
        before the cart is read."""
        self.flush(call.device)
        fields = dict(call.fields)
        op, cart, where = fields.pop("op"), fields.pop("cart"), fields.pop("where")
        try:
            problem = self._carts.call(op, call.device.head, where, cart, fields)
        except httpx.HTTPError as exc:
            problem = f"cart {op}: {exc!r}"
        if problem is not None:
            self._failed(f"{call.device.head} {problem}")

    def flush(self, device: Device) -> None:
        messages, device.queue = device.queue, []
        if not messages:
            return
        if device.flush_at == 1:
            path, body = f"/v1/{messages[0]['type']}", {**messages[0], "sentAt": _now()}
        else:
            path, body = "/v1/batch", {"batch": messages, "sentAt": _now()}
        if self._post(path, body, device.head):
            self._count(device.head, messages)

    def _post(self, path: str, body: dict[str, Any], head: str) -> bool:
        try:
            response = self._client.post(path, json=body, auth=(self._write_keys[head], ""))
        except httpx.HTTPError as exc:
            self._failed(f"{head} {path}: {exc!r}")
            return False
        if response.status_code != 200:
            self._failed(f"{head} {path}: HTTP {response.status_code} {response.text[:300]}")
            return False
        return True

    def _subscribe(self, call: Call) -> None:
        """The sign-up form: the website posts it form-encoded with the write key as a field,
        as an HTML form does; the app posts JSON with the key as Basic auth."""
        device, key = call.device, self._write_keys[call.device.head]
        headers = {"User-Agent": str(device.context.get("userAgent", "StrideAndTrailApp"))}
        try:
            if device.head == "web":
                if device.page:
                    headers["Referer"] = device.page["url"]
                fields = {**call.fields, "writeKey": key}
                response = self._client.post("/v1/subscribe", data=fields, headers=headers)
            else:
                response = self._client.post(
                    "/v1/subscribe", json=call.fields, auth=(key, ""), headers=headers
                )
        except httpx.HTTPError as exc:
            self._failed(f"{device.head} /v1/subscribe: {exc!r}")
            return
        if response.status_code != 201:
            self._failed(f"{device.head} /v1/subscribe: HTTP {response.status_code} "
                         f"{response.text[:300]}")  # fmt: skip
            return
        self._stats.sign_ups += 1

    def _opt_in(self, call: Call) -> None:
        """The app registers its push token with its write key, as its SDK would; the shop's
        backend records an SMS opt-in with its API key."""
        device = call.device
        if call.type == "push_token":
            path = "/v1/push/subscriptions"
            auth: dict[str, Any] = {"auth": (self._write_keys[device.head], "")}
        else:
            path = "/api/v1/consent"
            auth = {"headers": {"Authorization": f"Bearer {self._api_key}"}}
        try:
            response = self._client.post(path, json=call.fields, **auth)
        except httpx.HTTPError as exc:
            self._failed(f"{device.head} {path}: {exc!r}")
            return
        if response.status_code not in (200, 201):
            self._failed(f"{device.head} {path}: HTTP {response.status_code} "
                         f"{response.text[:300]}")  # fmt: skip
            return
        if call.type == "push_token":
            self._stats.push_tokens += 1
        else:
            self._stats.sms_opt_ins += 1

    def _personalize(self, call: Call) -> None:
        """The head asks what to show, with the ids its SDK has (the events it queued first, as
        a page's analytics calls go before its next render)."""
        device = call.device
        self.flush(device)
        fields = dict(call.fields)
        customer = fields.pop("customer")
        query = {**fields, "anonymousId": device.anonymous_id}
        if device.user_id:
            query["userId"] = device.user_id
        try:
            response = self._client.get("/v1/personalize", params=query,
                                        auth=(self._write_keys[device.head], ""))  # fmt: skip
        except httpx.HTTPError as exc:
            self._failed(f"{device.head} /v1/personalize: {exc!r}")
            return
        if response.status_code != 200:
            self._failed(f"{device.head} /v1/personalize: HTTP {response.status_code} "
                         f"{response.text[:300]}")  # fmt: skip
            return
        self._heads.record(customer, device, response.json())

    def _count(self, head: str, messages: list[dict[str, Any]]) -> None:
        self._stats.by_head[head] += len(messages)
        for message in messages:
            if message.get("event") == "Order Completed":
                self._stats.orders += 1
                self._stats.revenue += message["properties"]["total"]

    def _failed(self, reason: str) -> None:
        self._stats.failed += 1
        self._stats.last_failure = reason


def _life(customer: Customer) -> Callable[[Customer, random.Random], Iterator[Call]]:
    if customer.regular:
        return regular_life
    return runner_life if customer.runner else customer_life


def _message(call: Call) -> dict[str, Any]:
    """The call as the device's SDK would send it, stamped with the device's clock."""
    device = call.device
    context = dict(device.context)
    if device.page:
        context["page"] = device.page
    if device.traits:
        context["traits"] = device.traits
    message = {
        "type": call.type,
        **call.fields,
        "anonymousId": device.anonymous_id,
        "messageId": str(uuid.uuid4()),  # unique across runs, or a rerun would be deduplicated
        "timestamp": _now(),
        "context": context,
    }
    if device.user_id:
        message["userId"] = device.user_id
    return message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
