"""schemathesis against the in-process app on both databases: every operation of the OpenAPI
document, tracking included, is called with its documented examples and with generated input,
valid and invalid, and must answer without a server error, with a status, content type and
body its document lists.

A shop is seeded first (a person merged from two devices, an order, a flow with a run and a
dead letter), and the generated calls of operations with ids in their path also name these,
so the typed answers of real resources are checked, not only 404s.

The operations are driven through schemathesis's Python API with Hypothesis, one test per
database: its pytest plugin's fixture-bound schemas do not run on pytest 9.2 (they set a
node's `_nodeid`, which pytest no longer has). So `-k` cannot pick operations; to fuzz only
some, name parts of their paths: `NERVE_FUZZ_PATHS=/segments,/audiences pytest ...`.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python.asgi import get_client, shutdown_lifespans

from nerve.app import create_app
from nerve.connectors.signatures import signature
from nerve.secrets.vault import new_key
from nerve.settings import Settings
from tests.factories import Shop
from tests.receivers import Receiver
from tests.smtp import SmtpSink

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
# Per operation and way of generating: bounded so that one database's run stays near a minute.
EXAMPLES = 20
# Only the operations whose path contains one of these (all when unset).
ONLY = [part for part in os.environ.get("NERVE_FUZZ_PATHS", "").split(",") if part]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(fail_with=500)  # refuses every webhook: the run's step dead-letters
    yield receiver
    receiver.close()


@schemathesis.serializer("application/x-ndjson")
def _ndjson(context: Any, value: Any) -> bytes:
    """The catalog's bulk bodies (documented as NDJSON text): the generated text as sent."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode() + b"\n"


def _credentials(path: str, shop: Shop) -> dict[str, str]:
    """The shop's write key for the tracking endpoints, its admin key for the others."""
    if path.startswith("/v1/"):
        basic = base64.b64encode(f"{shop.write_keys['web']}:".encode()).decode()
        return {"Authorization": f"Basic {basic}"}
    return {"Authorization": f"Bearer {shop.secret_key}"}


def _seed(client: Any, shop: Shop, receiver: Receiver) -> dict[str, str]:
    """Real resources for the path parameters: their ids by parameter name."""
    admin = _credentials("/api/", shop)
    flow = {
        "name": "abandoned_cart",
        "trigger": {"event": "Checkout Started", "key": "properties.cart_id"},
        "nodes": [
            {"id": "remind", "action": "webhook", "with": {"url": receiver.url}, "retries": 0}
        ],
    }
    published = client.post("/api/v1/flows?environment=production", json=flow, headers=admin)
    assert published.status_code == 201, published.text
    batch = [
        {"type": "identify", "anonymousId": "phone", "traits": {"email": "anna@example.com"}},
        {"type": "identify", "anonymousId": "laptop", "userId": "anna"},
        {"type": "identify", "anonymousId": "laptop", "traits": {"email": "anna@example.com"}},
        {"type": "track", "userId": "anna", "event": "Order Completed",
         "properties": {"order_id": "o-1", "total": 99.5, "currency": "EUR"}},
        {"type": "track", "userId": "anna", "event": "Checkout Started",
         "properties": {"cart_id": "c-1"}},
    ]  # fmt: skip
    tracked = client.post("/v1/batch", json={"batch": batch}, headers=_credentials("/v1/", shop))
    assert tracked.json() == {"success": True}, tracked.text

    def get(path: str, **params: str) -> Any:
        response = client.get(path, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    deadline = time.monotonic() + 30
    while not get("/api/v1/dead-letters")["data"]:
        assert time.monotonic() < deadline, "the seeded run did not dead-letter"
        time.sleep(0.1)
    [letter] = get("/api/v1/dead-letters")["data"]
    # A key of its own to revoke and rotate: never the admin key the test runs with.
    spare = client.post("/api/v1/keys", json={"role": "analyst"}, headers=admin)
    assert spare.status_code == 201, spare.text
    secret = client.put("/api/v1/secrets/smtp.password", json={"value": "s3"}, headers=admin)
    assert secret.status_code == 200, secret.text
    template = {"name": "welcome", "subject": "Hi", "html": "<p>Hi {{ shop.name }}</p>"}
    saved = client.post("/api/v1/templates", json=template, headers=admin)
    assert saved.status_code == 201, saved.text
    endpoint = {"name": "crm", "url": receiver.url}
    made = client.post("/api/v1/webhook-endpoints", json=endpoint, headers=admin)
    assert made.status_code == 201, made.text
    slack = client.put("/api/v1/slack-destinations/team-alerts", json={"url": receiver.url},
                       headers=admin)  # fmt: skip
    assert slack.status_code == 201, slack.text
    slot = {"key": "home_banner", "default": "plain",
            "variants": [{"key": "plain", "content": {"title": "Hello"}}]}  # fmt: skip
    saved_slot = client.post("/api/v1/slots", json=slot, headers=admin)
    assert saved_slot.status_code == 201, saved_slot.text
    audience = _seed_audience(client, admin)
    broadcast = _seed_broadcast(client, admin)
    anna = get("/api/v1/profiles", identifier="email:anna@example.com")
    assert anna["merged_ids"], "the seed merges Anna's devices"
    commerce = _seed_commerce(client, admin)
    return commerce | {
        "profile_id": anna["id"],
        "merged_profile_id": anna["merged_ids"][0],  # what an unmerge names
        "flow_id": published.json()["flow_id"],
        "run_id": letter["run_id"],
        "dead_letter_id": letter["id"],
        "key_id": spare.json()["id"],
        "secret_name": "smtp.password",
        "template_name": "welcome",
        "endpoint_name": "crm",
        "destination_name": "team-alerts",
        "slot_key": "home_banner",
        "segment_key": "audience_seed",
        "audience_id": audience,
        "broadcast_id": broadcast,
        "version": "1",
        "token": "not-a-token",
        "channel": "email",
        "name": "newsletter",
        "write_key": shop.write_keys["web"],  # the SMS replies' path: signed, so 403
    }


def _seed_audience(client: Any, admin: dict[str, str]) -> str:
    """A segment exported as an audience (csv: nothing is sent while the fuzzer runs)."""
    segment = {"key": "audience_seed", "name": "Audience seed",
               "where": {"trait": "tier", "equals": "vip"}}  # fmt: skip
    made = client.post("/api/v1/segments", json=segment, headers=admin)
    assert made.status_code == 201, made.text
    audience = {"name": "seeded", "segment": "audience_seed", "destination": "csv"}
    synced = client.post("/api/v1/audiences", json=audience, headers=admin)
    assert synced.status_code == 201, synced.text
    audience_id: str = synced.json()["id"]
    return audience_id


def _seed_broadcast(client: Any, admin: dict[str, str]) -> str:
    """A flow for the seeded segment's members (`name`: newsletter), broadcast once."""
    flow = {"name": "newsletter",
            "trigger": {"type": "audience", "event": "broadcast", "segment": "audience_seed"},
            "nodes": [{"id": "later", "wait": "30d"}]}  # fmt: skip
    published = client.post("/api/v1/flows?environment=production", json=flow, headers=admin)
    assert published.status_code == 201, published.text
    started = client.post("/api/v1/flows/newsletter/broadcasts", json={}, headers=admin)
    assert started.status_code == 201, started.text
    broadcast_id: str = started.json()["id"]
    return broadcast_id


def _seed_commerce(client: Any, admin: dict[str, str]) -> dict[str, str]:
    """A product, an order (the seed's Order Completed), a cart, a Shopify connector and a
    delivery of it in the connector dead-letter list."""
    product = b'{"sku": "SHOE-1", "name": "Trail shoe", "price": "120.00", "currency": "EUR"}'
    synced = client.put("/api/v1/products", data=product,
                        headers=admin | {"Content-Type": "application/x-ndjson"})  # fmt: skip
    assert synced.status_code == 200, synced.text
    cart = client.post("/api/v1/carts", json={"identifier": "anonymous_id:phone"}, headers=admin)
    assert cart.status_code in (200, 201), cart.text
    secret = "shpss_fuzz_secret"
    connector = client.post("/api/v1/connectors", headers=admin, json={
        "platform": "shopify", "name": "shopify-main", "secret": secret})  # fmt: skip
    assert connector.status_code == 201, connector.text
    source_id = connector.json()["source_id"]
    body = b'{"id": 1}'
    delivered = client.post(f"/webhooks/shopify/{source_id}", data=body, headers={
        "X-Shopify-Topic": "no/such-topic", "X-Shopify-Webhook-Id": "fuzz-1",
        "X-Shopify-Hmac-Sha256": signature("shopify", secret, body)})  # fmt: skip
    assert delivered.json()["outcome"] == "dead_lettered", delivered.text
    return {"sku": "SHOE-1", "order_id": "o-1", "cart_id": cart.json()["id"],
            "platform": "shopify", "source_id": source_id,
            "delivery_id": str(delivered.json()["delivery_id"])}  # fmt: skip


def _failure(strategy: Any, examples: int) -> str | None:
    """Run the generated cases; the first failure (shrunk), or None."""

    @hypothesis.given(case=strategy)
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        return None  # no invalid input exists for it (no parameters, any string fits a path)
    except Exception as exc:  # a check failed: report it with the others
        return f"{type(exc).__name__}: {exc}"
    return None


def _strategies(
    operation: Any, headers: dict[str, str], ids: dict[str, str]
) -> Iterator[tuple[str, Any, int]]:
    """(what, strategy, how many examples) for one operation."""
    for index, example in enumerate(operation.get_strategies_from_examples(headers=headers)):
        yield f"documented example {index}", example, 1
    names = [parameter.name for parameter in operation.path_parameters]
    if names:
        known = {name: ids[name] for name in names}
        if operation.path.endswith("/unmerge"):
            known["profile_id"] = ids["merged_profile_id"]
        real = operation.as_strategy(headers=headers, path_parameters=known)
        yield "positive, seeded ids", real, EXAMPLES
    for mode in GenerationMode:
        yield mode.value, operation.as_strategy(generation_mode=mode, headers=headers), EXAMPLES


def test_every_operation_answers_as_documented(
    settings: Settings, shop: Shop, receiver: Receiver
) -> None:
    # Secrets can be stored and mail sent (without a key or an SMTP server, a 503 by design).
    sink = SmtpSink()
    mailing = {"secret_key": SecretStr(new_key()), "smtp_url": SecretStr(sink.url),
               "email_from": "Shop <hello@shop.example>"}  # fmt: skip
    app = create_app(settings.model_copy(update=mailing))
    # schemathesis runs the app's lifespan (its workers too) until told to stop: stop it
    # before the database is emptied or dropped.
    try:
        with get_client(app) as client:
            ids = _seed(client, shop, receiver)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures = []
        operations = [result.ok() for result in schema.get_all_operations()]
        operations = [o for o in operations if not ONLY or any(p in o.path for p in ONLY)]
        # Erasing the seeded person comes last: the other operations still find her.
        for operation in sorted(operations, key=lambda o: o.method.upper() == "DELETE"):
            headers = _credentials(operation.path, shop)
            for what, strategy, examples in _strategies(operation, headers, ids):
                failure = _failure(strategy, examples)
                if failure is not None:
                    failures.append(f"{operation.label} ({what}):\n{failure}")
    finally:
        shutdown_lifespans()
        sink.close()
    assert not failures, "\n\n".join(failures)
