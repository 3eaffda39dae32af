"""The shop's side of an order, on a thread of its own: Shopify posts its webhooks to Nerve as
the order is paid, packed, shipped and delivered (now and then a delivery twice, as Shopify
retries one it thinks timed out); the warehouse takes the stock and the shop's ERP writes the new
levels to Nerve's catalog (`PATCH /api/v1/inventory`); the supplier delivers what went below its
minimum after its lead time.

Times are shop time at speed 1, divided by the demo's speed.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import structlog
from rich.text import Text

from nerve.demo import shopify
from nerve.demo.catalog import by_sku
from nerve.demo.people import Customer
from nerve.demo.stock import SECONDS_PER_LEAD_DAY, SUPPLY, WAREHOUSE, Shelves, store_location

log = structlog.get_logger(__name__)

PAID_AFTER = 2.0  # seconds: the payment provider confirms
PACKED_AFTER = 45.0  # the warehouse packs and hands the parcel to the carrier
DELIVERED_AFTER = 60.0  # and delivers it
COLLECTED_AFTER = 60.0  # a Click & Collect order picked up in the store
RETRY_SHARE = 0.05  # of the deliveries, those Shopify sends twice
CARRIER = "DHL"
KEEP = 30  # order ids kept for the demo's shop page


@dataclass(frozen=True)
class OrderFigures:
    orders: int  # orders the shop's platform took
    statuses: dict[str, int]  # order statuses posted and applied by Nerve: paid, shipped, ...
    outcomes: dict[str, int]  # Nerve's answers to the webhooks: applied, duplicate, ...
    failed: int  # webhooks or stock updates Nerve refused (HTTP errors)
    stock_updates: int  # stock levels written to Nerve's catalog
    deliveries: int  # supplier deliveries to the warehouse


@dataclass(order=True)
class _Job:
    at: float
    order: int
    act: Callable[[httpx.Client], None]


class BackOffice:
    def __init__(
        self, base_url: str, connector: shopify.ShopifyConnector, api_key: str, shelves: Shelves,
        *, speed: float = 1.0, seed: int = 7,
    ) -> None:  # fmt: skip
        self._base_url = base_url
        self._connector = connector
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self.shelves = shelves
        self._speed = speed
        self._rng = random.Random(f"{seed}:back-office")
        self._inbox: queue.SimpleQueue[tuple[dict[str, Any], Customer, str | None]] = (
            queue.SimpleQueue()
        )
        self._jobs: list[_Job] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._orders = self._failed = self._stock_updates = self._deliveries = 0
        self._statuses: Counter[str] = Counter()
        self._outcomes: Counter[str] = Counter()
        self._reordered: set[str] = set()
        self._recent: deque[str] = deque(maxlen=KEEP)  # order ids, newest first
        self._told: set[str] = set()  # first times the screen was told about

    # --- from the customers' thread -------------------------------------------------------------

    def ordered(self, order: dict[str, Any], customer: Customer, store: str | None) -> None:
        self._inbox.put((order, customer, store))

    # --- for the screen -------------------------------------------------------------------------

    def notes(self) -> list[Text]:
        found = []
        while not self._notes.empty():
            found.append(self._notes.get_nowait())
        return found

    def figures(self) -> OrderFigures:
        with self._lock:
            return OrderFigures(self._orders, dict(self._statuses), dict(self._outcomes),
                                self._failed, self._stock_updates, self._deliveries)  # fmt: skip

    def recent_orders(self) -> list[str]:
        """The ids of the latest orders the shop took in this run, newest first."""
        with self._lock:
            return list(self._recent)

    # --- the thread -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        try:
            with httpx.Client(base_url=self._base_url, timeout=10.0) as client:
                self._restock_low()
                while not stop.is_set():
                    while not self._inbox.empty():
                        self._take(*self._inbox.get_nowait())
                    if self._jobs and self._jobs[0].at <= time.monotonic():
                        job = heapq.heappop(self._jobs)
                        try:
                            job.act(client)
                        except httpx.HTTPError as exc:
                            self._refused(f"the shop could not reach Nerve: {exc!r}")
                        continue
                    stop.wait(0.1)
        except Exception:  # the shop goes on without it; the screen says so
            log.exception("demo back office stopped")
            self._notes.put(Text("  the shop's back office stopped (see the log)", style="red"))

    def _later(self, seconds: float, act: Callable[[httpx.Client], None]) -> None:
        at = time.monotonic() + seconds / self._speed
        heapq.heappush(self._jobs, _Job(at, next(self._count), act))

    def _take(self, order: dict[str, Any], customer: Customer, store: str | None) -> None:
        """The order reaches Shopify: created (a till's is paid at once), paid, then packed and
        shipped with its tracking number and delivered — or collected in the store."""
        with self._lock:
            self._orders += 1
            self._recent.appendleft(str(order["order_id"]))
        document = shopify.order(order, customer, paid=store is not None, store=store)
        self._later(0, lambda c: self._post(c, "orders/create", document))
        paid = {**document, "financial_status": "paid"}
        self._later(0 if store else PAID_AFTER, lambda c: self._paid(c, paid, store))
        if store is not None:
            return
        method = order.get("shipping_method")
        if method == "Click & Collect":
            self._later(PAID_AFTER + COLLECTED_AFTER, lambda c: self._post(
                c, "fulfillment_events/create",
                shopify.fulfillment_event(paid, "picked_up", None, None)))  # fmt: skip
            return
        number = f"JJD{self._rng.getrandbits(60) % 10**18:018d}"
        shipped = shopify.fulfilled(paid, number, CARRIER)
        packed = PAID_AFTER + PACKED_AFTER
        self._later(packed, lambda c: self._post(c, "orders/fulfilled", shipped))
        delivered = shopify.fulfillment_event(shipped, "delivered", number, CARRIER)
        self._later(packed + DELIVERED_AFTER,
                    lambda c: self._post(c, "fulfillment_events/create", delivered))  # fmt: skip

    def _paid(self, client: httpx.Client, document: dict[str, Any], store: str | None) -> None:
        self._post(client, "orders/paid", document)
        location = store_location(store) if store else WAREHOUSE
        changes = []
        for line in document["line_items"]:
            for place, level in self.shelves.take(line["sku"], line["quantity"], location).items():
                changes.append({"sku": line["sku"], "location": place, "on_hand": level})
        self._write_stock(client, changes)
        self._restock_low()

    def _post(self, client: httpx.Client, topic: str, document: dict[str, Any]) -> None:
        """One webhook as Shopify sends it; now and then twice with the same webhook id."""
        content = shopify.body(document)
        webhook_id = str(uuid.uuid4())
        sends = 2 if self._rng.random() < RETRY_SHARE else 1
        for _ in range(sends):
            answer = client.post(
                self._connector.path, content=content,
                headers=shopify.headers(topic, content, self._connector.secret, webhook_id),
            )  # fmt: skip
            if answer.status_code != 200:
                self._refused(f"Shopify's {topic}: HTTP {answer.status_code} {answer.text[:200]}")
                return
            outcome = answer.json()["outcome"]
            with self._lock:
                self._outcomes[outcome] += 1
                if outcome == "applied":
                    self._statuses[_status(topic, document)] += 1
            self._tell(topic, outcome, document)

    def _write_stock(self, client: httpx.Client, changes: list[dict[str, Any]]) -> None:
        if not changes:
            return
        answer = client.patch("/api/v1/inventory", json=changes, headers=self._auth)
        if answer.status_code != 200:
            self._refused(f"the stock update: HTTP {answer.status_code} {answer.text[:200]}")
            return
        with self._lock:
            self._stock_updates += len(changes)

    def _restock_low(self) -> None:
        """Order from the supplier what is below its minimum in the warehouse, once."""
        for sku, level, _ in self.shelves.low():
            if sku in self._reordered:
                continue
            self._reordered.add(sku)
            supply = SUPPLY[sku]
            quantity = supply.minimum * 3 - level
            self._later(supply.lead_time_days * SECONDS_PER_LEAD_DAY,
                        partial(self._delivered, sku=sku, quantity=quantity))  # fmt: skip

    def _delivered(self, client: httpx.Client, sku: str, quantity: int) -> None:
        level = self.shelves.deliver(sku, quantity)
        self._reordered.discard(sku)
        self._write_stock(client, [{"sku": sku, "location": WAREHOUSE, "on_hand": level}])
        with self._lock:
            self._deliveries += 1
        product = by_sku(sku)
        name = product.name if product else sku
        self._notes.put(Text.assemble(
            ("▲ ", "green"), f"The supplier ({SUPPLY[sku].supplier}) delivered {quantity} x ",
            (name, "bold"), f" to the warehouse: {level} on hand, written to Nerve's catalog"
            " (PATCH /api/v1/inventory)",
        ))  # fmt: skip

    def _tell(self, topic: str, outcome: str, document: dict[str, Any]) -> None:
        """A line for the first delivery of each topic, each retry Nerve stored once and each
        dead letter; the status line counts the others."""
        key = f"{topic}:{outcome}"
        if outcome == "applied" and key in self._told:
            return
        self._told.add(key)
        order = document.get("order_id") or document.get("id")
        what = {"applied": "applied", "duplicate": "a retry of a delivery already taken: stored"
                " once, not applied again", "dead_lettered": "kept in the connector's dead"
                " letters (GET /api/v1/connectors/dead-letters)"}.get(outcome, outcome)  # fmt: skip
        if outcome == "duplicate" and "duplicate" in self._told:
            return
        self._told.add(outcome)
        self._notes.put(Text.assemble(
            ("⇄ ", "blue"), ("Shopify ", "bold"), f"{topic} for order {order} → Nerve: {what}",
            (f" ({shopify.CONNECTOR}, signed with its secret)", "dim"),
        ))  # fmt: skip

    def _refused(self, reason: str) -> None:
        with self._lock:
            self._failed += 1
        self._notes.put(Text(f"  {reason}", style="red"))


def _status(topic: str, document: dict[str, Any]) -> str:
    """The order status a webhook tells Nerve (as the connector maps it)."""
    if topic == "fulfillment_events/create":
        carrier = str(document["status"])
        return {"in_transit": "shipped", "picked_up": "delivered"}.get(carrier, carrier)
    return {"orders/create": "created", "orders/paid": "paid",
            "orders/fulfilled": "shipped"}.get(topic, topic)  # fmt: skip
