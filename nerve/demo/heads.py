"""The website head asking Nerve what to show: on every home page render the demo's website calls
`GET /v1/personalize` with its write key and the ids it has (the device's anonymousId, the
userId once signed in), as a shop's head would. What it got is kept per customer for the demo's
page `/demo/head`, and the screen gets a line whenever a customer's home page banner changes —
the running-shoe collection instead of the winter-jacket promotion on her laptop, once her
phone told Nerve she looks only at running shoes.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.text import Text

from nerve.demo.people import Customer, Device

PATH = "/demo/head"
KEEP = 12  # customers shown on the page, the latest first
SLOT = "home_banner"
# How the screen names the banner variants of personalization.yaml.
BANNERS = {
    "winter_jacket": "winter jacket",
    "running_shoes": "running-shoe collection",
    "trail_shoes": "trail-shoe collection",
}


@dataclass(frozen=True)
class HeadFigures:
    asked: int  # GET /v1/personalize calls the heads made
    decisions: int  # slot decisions Nerve answered (one per slot asked)
    changed: int  # times a customer's home page banner changed


@dataclass
class Seen:
    """The latest answer a customer's device got, and the banners it showed before."""

    customer: str
    device: str
    signed_in: bool
    at: datetime
    banner: str | None
    reason: str
    segments: list[str]
    interests: list[str]
    recommendations: list[dict[str, Any]]
    pinned: list[str]
    banners: list[str] = field(default_factory=list)  # every banner change, oldest first


class HeadLog:
    """Written by the customers' thread (the heads), read by the screen and the page."""

    def __init__(self, base_url: str = "") -> None:
        self._base_url = base_url
        self._lock = threading.Lock()
        # (customer index, device's anonymousId) → the latest answer, newest last
        self._seen: OrderedDict[tuple[int, str], Seen] = OrderedDict()
        self._notes: queue.SimpleQueue[Text] = queue.SimpleQueue()
        self._asked = self._decisions = self._changed = 0

    def record(self, customer: Customer, device: Device, answer: dict[str, Any]) -> None:
        slot = (answer.get("slots") or {}).get(SLOT) or {}
        banner = slot.get("variant")
        listings = answer.get("product_lists") or {}
        seen = Seen(
            customer=customer.name, device=device.label, signed_in=bool(device.user_id),
            at=datetime.now(UTC), banner=banner, reason=str(slot.get("reason") or ""),
            segments=list(answer.get("segments") or []),
            interests=[i["key"] for i in answer.get("interests") or []],
            recommendations=list(answer.get("recommendations") or []),
            pinned=[sku for listing in listings.values() for sku in listing.get("pinned") or []],
        )  # fmt: skip
        with self._lock:
            self._asked += 1
            self._decisions += len(answer.get("slots") or {}) + len(listings)
            key = (customer.index, device.anonymous_id)
            before = self._seen.pop(key, None)
            seen.banners = list(before.banners) if before is not None else []
            if banner is not None and (not seen.banners or seen.banners[-1] != banner):
                seen.banners.append(banner)
                if len(seen.banners) > 1:
                    self._changed += 1
                    self._notes.put(_changed(seen, seen.banners[-2], self._base_url))
            self._seen[key] = seen

    def notes(self) -> list[Text]:
        found = []
        while not self._notes.empty():
            found.append(self._notes.get_nowait())
        return found

    def figures(self) -> HeadFigures:
        with self._lock:
            return HeadFigures(self._asked, self._decisions, self._changed)

    def latest(self) -> list[Seen]:
        """The devices whose banner changed first, then the others, the latest first."""
        with self._lock:
            seen = list(reversed(self._seen.values()))
        changed = [s for s in seen if len(s.banners) > 1]
        return (changed + [s for s in seen if len(s.banners) <= 1])[:KEEP]


def banner_name(variant: str | None) -> str:
    return BANNERS.get(variant or "", variant or "no banner")


def _changed(seen: Seen, before: str, base_url: str) -> Text:
    why = seen.reason.removeprefix("rule:")
    because = f" (rule {why}" if seen.reason.startswith("rule:") else f" ({seen.reason or '-'}"
    if seen.segments:
        because += f"; public segments: {', '.join(seen.segments)}"
    return Text.assemble(
        ("▣ ", "green"), (seen.customer, "bold"), f"'s {seen.device} home page:"
        f" {banner_name(before)} → ", (banner_name(seen.banner), "bold"),
        f"{because}; GET /v1/personalize)", (f" → {base_url}{PATH}", "cyan"),
    )  # fmt: skip
