"""The shop's marketing desk, on a thread of its own, through Nerve's admin API as a marketer's
tools would: once some orders exist it looks at the VIP newsletter's blast radius
(`POST /api/v1/flows/demo_vip_newsletter/broadcasts/preview`) and starts the broadcast; now and
then it drops a Pacer Lab price by a quarter (`PUT /api/v1/products`, as the shop's catalogue
sync does) and puts it back later — each drop a `price_changed` catalog event that starts the
brand-deal flow for the people whose top brand is Pacer Lab.

Times are shop time at speed 1, divided by the demo's speed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
import structlog
from rich.text import Text

from nerve.demo.audience_setup import VIP_NEWSLETTER
from nerve.demo.catalog import Product, product
from nerve.demo.stock import product_line

log = structlog.get_logger(__name__)

VIP_AFTER = 240.0  # seconds before the newsletter may go (some customers ordered twice by then)
VIP_ORDERS = 4  # orders the shop took first
DROP_AFTER = 300.0  # the first Pacer Lab price drop
DROP_LASTS = 300.0  # the price is back after this
DROP_EVERY = 900.0  # and drops again
DISCOUNT = Decimal("0.25")
ON_SALE = "RUN-002"  # Tempo Glide by Pacer Lab
_TICK = 0.25  # seconds between two looks at the clock


@dataclass(frozen=True)
class PromotionFigures:
    broadcast: str | None  # the VIP newsletter's broadcast id, once started
    audience: int | None  # its blast radius when started
    drops: int  # price drops of the brand on sale


class Promotions:
    def __init__(
        self, base_url: str, api_key: str, *, speed: float = 1.0, orders: Callable[[], int],
    ) -> None:  # fmt: skip
        self._base_url = base_url
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._speed = speed
        self._orders = orders
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._broadcast: str | None = None
        self._audience: int | None = None
        self._drops = 0
        self._looked_at = float("-inf")  # when the blast radius was last previewed

    def notes(self) -> list[Text]:
        found = []
        while not self._notes.empty():
            found.append(self._notes.get_nowait())
        return found

    def figures(self) -> PromotionFigures:
        return PromotionFigures(self._broadcast, self._audience, self._drops)

    def run(self, stop: threading.Event) -> None:
        started = time.monotonic()
        on_sale = False
        try:
            with httpx.Client(base_url=self._base_url, timeout=10.0, headers=self._auth) as client:
                while not stop.wait(_TICK):
                    now = (time.monotonic() - started) * self._speed
                    if self._broadcast is None and now >= VIP_AFTER:
                        self._vip_newsletter(client, now)
                    wanted = now >= DROP_AFTER and (now - DROP_AFTER) % DROP_EVERY < DROP_LASTS
                    if wanted != on_sale:
                        on_sale = self._price(client, product(ON_SALE), wanted)
        except Exception:  # the shop goes on without it; the screen says so
            log.exception("demo marketing desk stopped")
            self._notes.put(Text("  the shop's marketing desk stopped (see the log)", style="red"))

    def _vip_newsletter(self, client: httpx.Client, now: float) -> None:
        """Start the broadcast once VIPs exist; the preview says how many first."""
        if self._orders() < VIP_ORDERS or now - self._looked_at < 30.0:
            return
        self._looked_at = now
        path = f"/api/v1/flows/{VIP_NEWSLETTER}/broadcasts"
        preview = client.post(f"{path}/preview", json={})
        if preview.status_code != 200:
            self._refused(f"the VIP newsletter's preview: HTTP {preview.status_code}"
                          f" {preview.text[:200]}")  # fmt: skip
            return
        audience = int(preview.json()["audience"])
        if audience == 0:
            return
        started = client.post(path, json={})
        if started.status_code != 201:
            self._refused(f"the VIP newsletter: HTTP {started.status_code} {started.text[:200]}")
            return
        self._broadcast, self._audience = started.json()["id"], audience
        self._notes.put(Text.assemble(
            ("▶ ", "green"), ("VIP newsletter", "bold"), f": the back office looked at the blast"
            f" radius — {audience} VIP{'' if audience == 1 else 's'} (POST"
            f" {path}/preview) — and started the broadcast {self._broadcast}: one run per member,"
            " each waiting for “09:00” before the mail",
        ))  # fmt: skip

    def _price(self, client: httpx.Client, item: Product, sale: bool) -> bool:
        """The shop's catalogue sync with the sale price (or the regular one again); returns
        whether the product is on sale now."""
        price = (item.price * (1 - DISCOUNT)).quantize(Decimal("0.01")) if sale else item.price
        line = product_line(item).model_copy(update={"price": price})
        answer = client.put("/api/v1/products", json=[line.model_dump(mode="json")])
        if answer.status_code != 200:
            self._refused(f"the price change: HTTP {answer.status_code} {answer.text[:200]}")
            return not sale
        if sale:
            self._drops += 1
            self._notes.put(Text.assemble(
                ("% ", "magenta"), ("Price drop", "bold"), f": {item.name} by {item.brand}"
                f" €{item.price} → €{price} (-{DISCOUNT * 100:.0f} %), written to Nerve's catalog"
                " (PUT /api/v1/products): a price_changed event starts demo_brand_deal for"
                f" whoever's top brand is {item.brand} and allowed the app's offers",
            ))  # fmt: skip
        else:
            self._notes.put(Text(f"  {item.name} is back at €{item.price}", style="dim"))
        return sale

    def _refused(self, reason: str) -> None:
        self._notes.put(Text(f"  {reason}", style="red"))
