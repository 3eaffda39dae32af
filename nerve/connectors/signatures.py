"""What each shop platform's webhook request says in its headers: the signature (checked in
constant time against the raw body), the topic, and the delivery's id for dedupe.

- Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, raw body)); `X-Shopify-Topic`
  (orders/paid); `X-Shopify-Webhook-Id`, the same on each of the up to 8 retries.
- WooCommerce: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, raw body));
  `X-WC-Webhook-Topic` (order.updated); `X-WC-Webhook-Delivery-ID`. Saving a webhook in
  WooCommerce first posts an unsigned form `webhook_id=N` to check the URL answers.
- Shopware 6 (app system): `shopware-shop-signature` = hex(HMAC-SHA256(secret, raw body)); the
  topic is the body's `data.event` (checkout.order.placed); no delivery header, so the body's
  `source.eventId` when the shop sends one, else the body's hash (a retry repeats the body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Literal

Platform = Literal["shopify", "woocommerce", "shopware"]
PLATFORMS: tuple[Platform, ...] = ("shopify", "woocommerce", "shopware")

SIGNATURE_HEADERS: dict[Platform, str] = {
    "shopify": "x-shopify-hmac-sha256",
    "woocommerce": "x-wc-webhook-signature",
    "shopware": "shopware-shop-signature",
}
_TOPIC_HEADERS: dict[Platform, str] = {
    "shopify": "x-shopify-topic",
    "woocommerce": "x-wc-webhook-topic",
}
_DELIVERY_HEADERS: dict[Platform, str] = {
    "shopify": "x-shopify-webhook-id",
    "woocommerce": "x-wc-webhook-delivery-id",
}
_MAX_KEY = 128
_WOO_PING = re.compile(rb"webhook_id=\d{1,20}")


def signature(platform: Platform, secret: str, body: bytes) -> str:
    """The signature the platform sends with `body` (tests and the benchmark sign with it)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return digest.hex() if platform == "shopware" else base64.b64encode(digest).decode()


def verifies(platform: Platform, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    given = headers.get(SIGNATURE_HEADERS[platform], "").strip()
    if not given:
        return False
    expected = signature(platform, secret, body)
    if platform == "shopware":
        given = given.lower()
    # Constant time: a timing difference would let a forger learn the signature byte by byte.
    return hmac.compare_digest(given.encode(), expected.encode())


def is_woocommerce_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """WooCommerce's check of a new webhook's URL: unsigned, a form with only `webhook_id`."""
    return SIGNATURE_HEADERS["woocommerce"] not in headers and bool(
        _WOO_PING.fullmatch(body.strip())
    )


def topic_of(platform: Platform, headers: Mapping[str, str], document: Any) -> str:
    if platform == "shopware":
        data = document.get("data") if isinstance(document, dict) else None
        event = data.get("event") if isinstance(data, dict) else None
        return event[:_MAX_KEY] if isinstance(event, str) and event else "unknown"
    return headers.get(_TOPIC_HEADERS[platform], "").strip()[:_MAX_KEY] or "unknown"


def delivery_key_of(
    platform: Platform, headers: Mapping[str, str], document: Any, body: bytes
) -> str:
    """The delivery's id, the same on every retry: the platform's, else the body's hash."""
    given = ""
    if platform == "shopware":
        source = document.get("source") if isinstance(document, dict) else None
        event_id = source.get("eventId") if isinstance(source, dict) else None
        given = str(event_id) if isinstance(event_id, str | int) else ""
    else:
        given = headers.get(_DELIVERY_HEADERS[platform], "").strip()
    if given and len(given) <= _MAX_KEY - 3:
        return f"id:{given}"
    return "sha256:" + hashlib.sha256(body).hexdigest()
