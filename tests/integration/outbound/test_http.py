"""Webhook calls under the outbound policy against real receivers on loopback: a host is
resolved once, every address it resolves to is checked, the connection goes to the checked
address (never to a second lookup's answer), TLS still verifies the host name, redirects are
not followed and refusals are permanent.

Host names under `.test` (RFC 6761 §6.2) resolve nowhere; the policies here resolve them with
a table, so a delivery proves the connection went to the address the policy checked."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from ipaddress import ip_address

import pytest
import trustme

from nerve.flows.calls import ActionCall, ActionRejected
from nerve.flows.webhook import WebhookSender
from nerve.outbound.addresses import IPAddress
from nerve.outbound.http import check_url
from nerve.outbound.policy import OutboundPolicy
from tests.receivers import Receiver

LOOPBACK = [ip_address("127.0.0.1")]


class Table:
    """A resolver with fixed answers that counts its lookups."""

    def __init__(self, **answers: list[IPAddress]) -> None:
        self.answers = {name.replace("_", "."): found for name, found in answers.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        return self.answers[host]


def _call(url: str, key: str = "run_1:remind:1") -> ActionCall:
    return ActionCall(
        workspace_id="wsp_1", run_id="run_1", flow="abandoned_cart", node="remind",
        profile_id="prf_1", idempotency_key=key, params={"url": url}, trigger={},
        timeout=5, environment="production",
    )  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _sender(policy: OutboundPolicy, **client: ssl.SSLContext) -> Iterator[WebhookSender]:
    sender = WebhookSender(policy, **client)
    yield sender
    sender.close()


def test_the_call_goes_to_the_address_the_policy_checked(receiver: Receiver) -> None:
    resolver = Table(receiver_test=LOOPBACK)
    policy = OutboundPolicy.allowing(["127.0.0.1/32"], resolver=resolver)
    for sender in _sender(policy):
        url = f"http://receiver.test:{receiver.port}/remind"
        assert sender(_call(url, "k1")) == {"status": 200}
        assert sender(_call(url, "k2")) == {"status": 200}
    [first, second] = receiver.deliveries
    assert first.headers["Host"] == f"receiver.test:{receiver.port}"
    assert (first.headers["webhook-id"], second.headers["webhook-id"]) == ("k1", "k2")
    # One lookup per connection (this receiver speaks HTTP/1.0: a connection per request).
    assert resolver.lookups == ["receiver.test", "receiver.test"]


def test_a_name_that_passed_validation_but_now_resolves_inside_is_refused(
    receiver: Receiver,
) -> None:
    """DNS rebinding: the name was fine as written; at the call it means loopback."""
    policy = OutboundPolicy(resolver=Table(rebind_test=LOOPBACK))
    url = f"http://rebind.test:{receiver.port}/remind"
    check_url(policy, url)  # as written: a name, left to the call
    for sender in _sender(policy):
        with pytest.raises(ActionRejected) as refused:
            sender(_call(url))
    assert str(refused.value).startswith("webhook refused by the outbound policy: rebind.test")
    assert "127.0.0.1, loopback" in str(refused.value)
    assert receiver.attempts == 0


def test_a_name_with_one_refused_address_among_public_ones_is_refused(receiver: Receiver) -> None:
    public_and_metadata = [ip_address("93.184.215.14"), ip_address("169.254.169.254")]
    policy = OutboundPolicy(resolver=Table(mixed_test=public_and_metadata))
    for sender in _sender(policy):
        with pytest.raises(ActionRejected, match=re.escape("169.254.169.254, link-local")):
            sender(_call(f"http://mixed.test:{receiver.port}/"))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "file:///etc/passwd",
    ],
)
def test_a_version_published_before_the_policy_is_refused_at_the_call(
    receiver: Receiver, url: str
) -> None:
    """What validation refuses is refused again when called: a version published under an
    earlier policy, or by an older Nerve, sends nothing."""
    for sender in _sender(OutboundPolicy()):
        with pytest.raises(ActionRejected, match="webhook `url` refused"):
            sender(_call(url.format(port=receiver.port)))
    assert receiver.attempts == 0


def test_a_real_loopback_receiver_is_called_when_the_setting_allows_it(receiver: Receiver) -> None:
    for sender in _sender(OutboundPolicy.allowing(["127.0.0.1/32"])):
        assert sender(_call(f"{receiver.url}/remind")) == {"status": 200}
    assert [d.path for d in receiver.deliveries] == ["/remind"]


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _https(authority: trustme.CA, name: str, names_seen: list[str]) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    context.sni_callback = lambda sock, server_name, ctx: names_seen.append(server_name)  # type: ignore[assignment,misc,func-returns-value]
    return Receiver(tls=context)


def test_tls_verifies_the_host_name_not_the_address_connected_to(authority: trustme.CA) -> None:
    names_seen: list[str] = []
    receiver = _https(authority, "receiver.test", names_seen)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    policy = OutboundPolicy.allowing(["127.0.0.1/32"], resolver=Table(receiver_test=LOOPBACK))
    try:
        for sender in _sender(policy, verify=client_context):
            assert sender(_call(f"https://receiver.test:{receiver.port}/")) == {"status": 200}
    finally:
        receiver.close()
    assert names_seen == ["receiver.test"]  # SNI (RFC 6066 §3) names the host, not 127.0.0.1


def test_a_certificate_for_another_name_is_refused(authority: trustme.CA) -> None:
    receiver = _https(authority, "other.test", [])
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    policy = OutboundPolicy.allowing(["127.0.0.1/32"], resolver=Table(receiver_test=LOOPBACK))
    try:
        for sender in _sender(policy, verify=client_context):
            with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
                sender(_call(f"https://receiver.test:{receiver.port}/"))
    finally:
        receiver.close()
    assert receiver.attempts == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_that_says_where_it_pointed_and_is_not_followed(
    receiver: Receiver, status: int
) -> None:
    elsewhere = Receiver()  # allowed, listening: still never called
    receiver.fail_with, receiver.location = status, f"{elsewhere.url}/moved"
    try:
        for sender in _sender(OutboundPolicy.allowing(["127.0.0.1/32"])):
            with pytest.raises(ActionRejected) as refused:
                sender(_call(f"{receiver.url}/remind"))
    finally:
        elsewhere.close()
    assert f"receiver answered {status}, redirecting to {elsewhere.url}/moved" in str(refused.value)
    assert "redirects are not followed" in str(refused.value)
    assert receiver.attempts == 1 and elsewhere.attempts == 0


def test_a_redirect_to_the_metadata_service_is_only_reported(receiver: Receiver) -> None:
    receiver.fail_with, receiver.location = 302, "http://169.254.169.254/latest/meta-data/"
    for sender in _sender(OutboundPolicy.allowing(["127.0.0.1/32"])):
        with pytest.raises(
            ActionRejected, match=re.escape("redirecting to http://169.254.169.254/")
        ):
            sender(_call(f"{receiver.url}/remind"))


def test_a_refusal_keeps_only_a_short_excerpt_of_the_answer(receiver: Receiver) -> None:
    receiver.fail_with, receiver.refusal = 400, b"x" * 1000
    for sender in _sender(OutboundPolicy.allowing(["127.0.0.1/32"])):
        with pytest.raises(ActionRejected) as refused:
            sender(_call(f"{receiver.url}/remind"))
    assert str(refused.value) == "receiver refused with 400: " + "x" * 200
