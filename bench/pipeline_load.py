"""The end-to-end benchmark's load generator: a shop's people, as Segment batches over HTTP.

    .venv/bin/python bench/pipeline_load.py --url http://127.0.0.1:8000 --write-key KEY
        [--rate EVENTS_PER_S] [--duration S] [--connections 8] [--people 20000] [--tag T]

Runs in its own process (bench/pipeline.py starts it), so building and sending bodies does not
share a GIL with the measurements. Each person browses anonymously on a device (Product
Viewed / Product Added with `anonymousId`), signs in (`identify` with `userId`, email and name:
the anonymous profile joins theirs), shops signed in and completes orders (order_id, revenue,
cart_id); now and then they pick up a new device and start anonymously again. Prints
`LOAD_STARTED` when the first request leaves and one `LOAD_RESULT {json}` line at the end
(SIGTERM ends it early, after the requests in flight).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

BATCH_EVENTS = 100
_PRODUCTS = [
    ("prod_10231", "Trail Runner 2", "Running Shoes", "Northpeak", 129.0),
    ("prod_10457", "Road Glide 5", "Running Shoes", "Swiftfoot", 149.0),
    ("prod_20114", "Storm Shell Jacket", "Jackets", "Northpeak", 219.0),
    ("prod_20871", "Down Vest Light", "Jackets", "Alpenglow", 119.0),
    ("prod_30012", "Merino Running Socks (3 pairs)", "Accessories", "Swiftfoot", 24.9),
    ("prod_30540", "Hydration Belt 500ml", "Accessories", "Riverline", 34.5),
    ("prod_40220", "Ultralight Tent 2P", "Outdoor", "Alpenglow", 389.0),
    ("prod_40918", "Trekking Poles Carbon", "Outdoor", "Northpeak", 89.0),
]
_FIRST = ["Anna", "Ben", "Chloé", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas"]
_LAST = ["Müller", "Schmidt", "Dubois", "Rossi", "García", "Novak", "Jansen", "Berg"]
_WEB = {
    "library": {"name": "analytics.js", "version": "5.2.1"},
    "locale": "de-DE",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
}
_APP = {
    "library": {"name": "analytics-ios", "version": "4.1.8"},
    "locale": "de-DE",
    "device": {"type": "ios", "model": "iPhone15,2"},
    "app": {"name": "Shop", "version": "3.4"},
}


@dataclass
class Person:
    number: int
    device: int = 0
    signed_in: bool = False
    cart: list[tuple[str, str, str, str, float]] = field(default_factory=list)
    carts: int = 0
    orders: int = 0


class Shop:
    """The people's next events, one at a time, from a seeded random stream."""

    def __init__(self, people: int, tag: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = [Person(n) for n in range(people)]
        self.tag = tag
        self.sent = 0

    def batch(self) -> bytes:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        messages = [self._next(self.rng.choice(self.people), now) for _ in range(BATCH_EVENTS)]
        return orjson.dumps({"batch": messages, "sentAt": now})

    def _next(self, person: Person, now: str) -> dict[str, Any]:
        self.sent += 1
        roll = self.rng.random()
        if not person.signed_in:
            if roll < 0.55:
                message = self._viewed(person)
            elif roll < 0.8:
                message = self._added(person)
            else:
                message = self._identify(person)
        elif roll < 0.5:
            message = self._viewed(person)
        elif roll < 0.75:
            message = self._added(person)
        elif roll < 0.9 and person.cart:
            message = self._order(person)
        elif roll < 0.95:
            message = self._viewed(person)
        else:  # a new device: anonymous again until they sign in there too
            person.device += 1
            person.signed_in = False
            message = self._viewed(person)
        message["messageId"] = f"{self.tag}-{self.sent}"
        message["timestamp"] = now
        message["context"] = _APP if person.device % 2 else _WEB
        message["anonymousId"] = f"anon-{self.tag}-{person.number}-{person.device}"
        if person.signed_in:
            message["userId"] = f"user_{person.number:06d}"
        return message

    def _viewed(self, person: Person) -> dict[str, Any]:
        product_id, name, category, brand, price = self.rng.choice(_PRODUCTS)
        properties = {
            "product_id": product_id,
            "name": name,
            "category": category,
            "brand": brand,
            "price": price,
            "currency": "EUR",
            "url": f"https://shop.example.com/p/{product_id}",
        }
        return {"type": "track", "event": "Product Viewed", "properties": properties}

    def _added(self, person: Person) -> dict[str, Any]:
        product = self.rng.choice(_PRODUCTS)
        if not person.cart:
            person.carts += 1
        person.cart.append(product)
        product_id, name, category, brand, price = product
        properties = {
            "cart_id": self._cart_id(person),
            "product_id": product_id,
            "name": name,
            "category": category,
            "brand": brand,
            "price": price,
            "quantity": 1,
            "currency": "EUR",
        }
        return {"type": "track", "event": "Product Added", "properties": properties}

    def _identify(self, person: Person) -> dict[str, Any]:
        person.signed_in = True
        first, last = _FIRST[person.number % 10], _LAST[person.number % 8]
        traits = {
            "email": f"{first.lower()}.{person.number}@example.com",
            "first_name": first,
            "last_name": last,
        }
        return {"type": "identify", "traits": traits}

    def _order(self, person: Person) -> dict[str, Any]:
        person.orders += 1
        products = [
            {"product_id": p[0], "name": p[1], "price": p[4], "quantity": 1} for p in person.cart
        ]
        revenue = round(sum(p[4] for p in person.cart), 2)
        properties = {
            "order_id": f"ord-{self.tag}-{person.number}-{person.orders}",
            "cart_id": self._cart_id(person),
            "revenue": revenue,
            "total": revenue,
            "currency": "EUR",
            "products": products,
        }
        person.cart = []
        return {"type": "track", "event": "Order Completed", "properties": properties}

    def _cart_id(self, person: Person) -> str:
        return f"cart-{self.tag}-{person.number}-{person.carts}"


@dataclass
class Tally:
    ok_requests: int = 0
    failed_requests: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""


async def _connection(
    client: httpx.AsyncClient, shop: Shop, pace: _Pace, stop: asyncio.Event, tally: Tally
) -> None:
    while not stop.is_set():
        await pace.wait()
        if stop.is_set():
            return
        body = shop.batch()
        started = time.perf_counter()
        try:
            response = await client.post("/v1/batch", content=body)
            ok = response.status_code == 200
            error = "" if ok else f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        tally.latencies.append(time.perf_counter() - started)
        if ok:
            tally.ok_requests += 1
        else:
            tally.failed_requests += 1
            tally.first_error = tally.first_error or error
            await asyncio.sleep(0.1)


class _Pace:
    """Batches at `rate` events/s over all connections (no limit when rate is 0)."""

    def __init__(self, rate: float) -> None:
        self.interval = BATCH_EVENTS / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()

    async def wait(self) -> None:
        if not self.interval:
            return
        slot = self.next_at
        self.next_at = max(slot, time.monotonic() - 1.0) + self.interval  # no burst after a stall
        delay = slot - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    shop = Shop(args.people, args.tag, args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.call_later(args.duration, stop.set)
    tally = Tally()
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(
        base_url=args.url, auth=(args.write_key, ""), limits=limits, headers=headers, timeout=60
    ) as client:
        pace = _Pace(args.rate)
        started = time.monotonic()
        print("LOAD_STARTED", flush=True)
        tasks = [
            asyncio.create_task(_connection(client, shop, pace, stop, tally))
            for _ in range(args.connections)
        ]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies) or [0.0]
    return {
        "ok_requests": tally.ok_requests,
        "failed_requests": tally.failed_requests,
        "ok_events": tally.ok_requests * BATCH_EVENTS,
        "seconds": round(elapsed, 3),
        "events_per_second": round(tally.ok_requests * BATCH_EVENTS / elapsed, 1),
        "request_p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "request_p99_ms": round(
            1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1
        ),
        "first_error": tally.first_error,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--write-key", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="events/s; 0: as fast as it can")
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds (or SIGTERM)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--tag", default="run", help="in message, device, cart and order ids")
    parser.add_argument("--seed", type=int, default=7)
    result = asyncio.run(run(parser.parse_args()))
    print("LOAD_RESULT " + orjson.dumps(result).decode(), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
