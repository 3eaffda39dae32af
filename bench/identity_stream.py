"""A seeded shop traffic stream for the identity benchmark: customers, their devices, logins.

Each customer browses on ~3 devices (a phone app, browsers) in sessions spread over 30 days,
and signs in on some of them, so the resolver has devices to merge into the customer. A few
sessions happen on shared store kiosks, where one device is signed into by many customers (the
resolver refuses those merges and re-links the kiosk). The plan is compact tuples; messages are
built chunk by chunk, in time order, when they are inserted.
"""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from nerve.demo.catalog import CURRENCY, PRODUCTS, SHOP_URL, Product

START = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_SECONDS = 30 * 86_400
# Action codes of a planned event.
PAGE, VIEWED, ADDED, ORDER, IDENTIFY = range(5)
_ACTIONS = (PAGE, VIEWED, ADDED, ORDER)
_ACTION_CUMULATIVE = tuple(itertools.accumulate((40, 38, 16, 6)))
_DEVICE_COUNTS = (1, 2, 3, 4, 5)
_DEVICE_COUNT_CUMULATIVE = tuple(itertools.accumulate((10, 25, 35, 20, 10)))  # mean 2.95
_SIGN_IN_SHARE = 0.6  # of a customer's devices; at least one always signs in
_KIOSK_SHARE = 0.02  # customers who also sign in once at a store kiosk
_MEAN_SESSION_EVENTS = 6.0
_MEAN_GAP_SECONDS = 45.0
_FIRST_NAMES = (
    "Anna", "Lukas", "Mia", "Leon", "Emma", "Finn", "Sofia", "Jonas", "Lea", "Paul", "Hannah",
    "Elias", "Marie", "Noah", "Lina", "Felix", "Clara", "Ben", "Ida", "Emil",
)  # fmt: skip
_LAST_NAMES = (
    "Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch",
    "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann", "Hartmann", "Krüger",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
_TIMEZONES = ("Europe/Berlin",) * 6 + ("Europe/Vienna", "Europe/Zurich")
_WEB_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36"
)
_KIOSK_AGENT = "Mozilla/5.0 (X11; Linux x86_64) StrideKiosk/2.4 Chrome/128.0.0.0"


@dataclass(frozen=True)
class Customer:
    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    timezone: str


@dataclass(frozen=True)
class Device:
    anonymous_id: str
    kind: str  # the source kind it reports to: web, app or kiosk


@dataclass
class Plan:
    """Who does what when: `steps` are (seconds since START, customer, device, action, signed in)
    in time order; devices and customers are indexes into the lists."""

    customers: list[Customer]
    devices: list[Device]
    steps: list[tuple[float, int, int, int, bool]]
    expected_persons: int
    signed_in_devices: int
    anonymous_devices: int
    kiosk_sessions: int


def plan_stream(events: int, customers: int, seed: int) -> Plan:
    if customers < 1 or events < 2 * customers:
        raise ValueError("need at least one customer and two events per customer")
    rng = random.Random(seed)
    kiosks = [Device(_uuid(rng), "kiosk") for _ in range(max(1, customers // 1000))]
    plan = Plan([], list(kiosks), [], 0, 0, 0, 0)
    for index, count in enumerate(_events_per_customer(rng, events, customers)):
        plan.customers.append(_customer(rng, index))
        _plan_customer(rng, plan, index, count, range(len(kiosks)))
    plan.steps.sort()
    return plan


def _events_per_customer(rng: random.Random, events: int, customers: int) -> list[int]:
    """Two events each, the rest spread by a heavy-tailed weight: a few customers do a lot."""
    counts = [2] * customers
    weights = [rng.lognormvariate(0.0, 1.0) for _ in range(customers)]
    for index in rng.choices(range(customers), weights=weights, k=events - 2 * customers):
        counts[index] += 1
    return counts


def _customer(rng: random.Random, index: int) -> Customer:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    local = f"{first}.{last}".lower().replace("ü", "ue")
    return Customer(
        user_id=f"cus_{index:07d}",
        email=f"{local}{index}@{rng.choice(_DOMAINS)}",
        first_name=first,
        last_name=last,
        phone=f"+49151{index:08d}" if rng.random() < 0.3 else None,
        timezone=rng.choice(_TIMEZONES),
    )


def _plan_customer(
    rng: random.Random, plan: Plan, customer: int, count: int, kiosks: range
) -> None:
    kinds = ["app" if rng.random() < 0.5 else "web"]
    kinds += ["web"] * (rng.choices(_DEVICE_COUNTS, cum_weights=_DEVICE_COUNT_CUMULATIVE)[0] - 1)
    own = list(range(len(plan.devices), len(plan.devices) + len(kinds)))
    plan.devices.extend(Device(_uuid(rng), kind) for kind in kinds)
    sizes = _session_sizes(rng, count)
    # (start, size, device); the first device is the one used most.
    sessions = [
        (rng.random() * WINDOW_SECONDS, size, rng.choices(own, [3] + [1] * (len(own) - 1))[0])
        for size in sizes
    ]
    if len(sessions) >= 2 and rng.random() < _KIOSK_SHARE:
        start, size, _ = sessions[-1]
        sessions[-1] = (start, size, rng.choice(kiosks))
        plan.kiosk_sessions += 1
    sessions.sort()
    used = list(dict.fromkeys(d for _, _, d in sessions if d in own))
    signing_in = {d for d in used if rng.random() < _SIGN_IN_SHARE} or {rng.choice(used)}
    login_session = {
        device: rng.choice([i for i, s in enumerate(sessions) if s[2] == device])
        for device in signing_in
    }
    plan.signed_in_devices += len(signing_in)
    plan.anonymous_devices += len(used) - len(signing_in)
    plan.expected_persons += 1 + len(used) - len(signing_in)
    for number, (start, size, device) in enumerate(sessions):
        if device in own:
            login = login_session.get(device)
            signed_in = login is not None and number > login
            login_at = rng.randrange(size) if number == login else -1
        else:  # a kiosk: the previous customer signed out; this one signs in after a look
            signed_in, login_at = False, min(1, size - 1)
        at = start
        for position in range(size):
            if position:
                at += rng.expovariate(1.0 / _MEAN_GAP_SECONDS)
            if position == login_at:
                plan.steps.append((at, customer, device, IDENTIFY, True))
                signed_in = True
                continue
            action = _ACTIONS[bisect.bisect(_ACTION_CUMULATIVE, rng.random() * 100)]
            if action == ORDER and not signed_in:  # checkout asks to sign in
                action = VIEWED
            plan.steps.append((at, customer, device, action, signed_in))


def _session_sizes(rng: random.Random, count: int) -> list[int]:
    sizes = []
    while count > 0:
        size = min(count, 1 + int(rng.expovariate(1.0 / (_MEAN_SESSION_EVENTS - 1))))
        sizes.append(size)
        count -= size
    return sizes


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class _Item:
    """A catalogue product with its e-commerce properties worked out once (they are shared)."""

    path: str
    category: str
    properties: dict[str, Any]
    price: Decimal


def _item(product: Product) -> _Item:
    properties = {
        "product_id": product.product_id,
        "sku": product.sku,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "variant": product.variant,
        "price": float(product.price),
        "currency": CURRENCY,
        "url": product.url,
    }
    return _Item(product.path, product.category, properties, product.price)


_ITEMS = tuple(_item(product) for product in PRODUCTS)


class MessageBuilder:
    """Segment messages for planned steps (Segment spec + e-commerce spec v2 properties)."""

    def __init__(self, plan: Plan, seed: int) -> None:
        self.plan = plan
        self._rng = random.Random(seed + 1)
        self._orders = 0

    def message(self, step: tuple[float, int, int, int, bool]) -> tuple[dict[str, Any], str]:
        """The message for one step and the kind of source (web, app, kiosk) that sends it."""
        at, customer_index, device_index, action, signed_in = step
        customer = self.plan.customers[customer_index]
        device = self.plan.devices[device_index]
        item = self._rng.choice(_ITEMS)
        message: dict[str, Any] = {
            "messageId": _uuid(self._rng),
            "anonymousId": device.anonymous_id,
            "timestamp": (START + timedelta(seconds=at)).isoformat(timespec="milliseconds"),
            "context": _context(device, customer, item.path),
        }
        if signed_in:
            message["userId"] = customer.user_id
        if action == IDENTIFY:
            message.update(type="identify", traits=self._traits(customer))
        elif action == PAGE:
            page = "screen" if device.kind == "app" else "page"
            message.update(type=page, name=item.category, properties={"path": item.path})
        elif action == ORDER:
            message.update(type="track", event="Order Completed", properties=self._order())
        else:
            event = "Product Viewed" if action == VIEWED else "Product Added"
            message.update(type="track", event=event, properties=item.properties)
        return message, device.kind

    def identify(self, user_id: str, anonymous_id: str, email: str, at: datetime) -> dict[str, Any]:
        """A sign-in that links `anonymous_id` to `user_id` (for the merge latency)."""
        return {
            "type": "identify",
            "messageId": _uuid(self._rng),
            "userId": user_id,
            "anonymousId": anonymous_id,
            "timestamp": at.isoformat(timespec="milliseconds"),
            "traits": {"email": email},
            "context": {"library": {"name": "analytics.js", "version": "next-1.70.0"}},
        }

    def browsing(self, anonymous_id: str, at: datetime) -> dict[str, Any]:
        """An anonymous page or product view (for the one big anonymous profile)."""
        item = self._rng.choice(_ITEMS)
        message: dict[str, Any] = {
            "messageId": _uuid(self._rng),
            "anonymousId": anonymous_id,
            "timestamp": at.isoformat(timespec="milliseconds"),
            "context": _context(Device(anonymous_id, "web"), None, item.path),
        }
        if self._rng.random() < 0.5:
            message.update(type="page", name=item.category, properties={"path": item.path})
        else:
            message.update(type="track", event="Product Viewed", properties=item.properties)
        return message

    def _traits(self, customer: Customer) -> dict[str, Any]:
        email = customer.email
        if self._rng.random() < 0.25:  # typed with capitals on this device
            local, _, domain = email.partition("@")
            email = f"{local.title()}@{domain.capitalize()}"
        traits: dict[str, Any] = {
            "email": email,
            "firstName": customer.first_name,
            "lastName": customer.last_name,
        }
        if customer.phone:
            traits["phone"] = customer.phone
        return traits

    def _order(self) -> dict[str, Any]:
        self._orders += 1
        lines = [
            (item, self._rng.choice((1, 1, 1, 2)))
            for item in self._rng.sample(_ITEMS, self._rng.choice((1, 1, 2, 3)))
        ]
        total = sum((item.price * quantity for item, quantity in lines), Decimal(0))
        return {
            "order_id": f"ORD-{self._orders:08d}",
            "total": float(total),
            "revenue": float((total / Decimal("1.19")).quantize(Decimal("0.01"))),
            "currency": CURRENCY,
            "products": [{**item.properties, "quantity": quantity} for item, quantity in lines],
        }


def _context(device: Device, customer: Customer | None, path: str) -> dict[str, Any]:
    timezone = customer.timezone if customer else "Europe/Berlin"
    if device.kind == "app":
        return {
            "library": {"name": "analytics-swift", "version": "1.6.1"},
            "app": {"name": "Stride & Trail", "version": "3.2.0", "build": "412"},
            "device": {"manufacturer": "Apple", "model": "iPhone15,2", "type": "ios"},
            "os": {"name": "iOS", "version": "18.1"},
            "locale": "de-DE",
            "timezone": timezone,
        }
    return {
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "page": {"path": path, "url": f"{SHOP_URL}{path}", "referrer": ""},
        "userAgent": _KIOSK_AGENT if device.kind == "kiosk" else _WEB_AGENT,
        "locale": "de-DE",
        "timezone": timezone,
    }
