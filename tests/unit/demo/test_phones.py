"""The demo's phone network takes what Nerve's own SMS and FCM providers send — with the
credentials Nerve keeps as secrets, and only with them — and its page shows what arrived,
escaped; the demo's key for those secrets is made once and kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nerve.channels.push.fcm import Credentials, Fcm
from nerve.channels.push.providers import Options, Target
from nerve.channels.sms.provider import Account, SmsMessage, TwilioProvider
from nerve.channels.smtp import SendDeferred
from nerve.demo.channel_setup import cap_window
from nerve.demo.people import make_customers
from nerve.demo.phone_pages import phone_router
from nerve.demo.phones import ACCOUNT_SID, FCM_PROJECT, SENDER, PhoneNetwork
from nerve.demo.recipients import Recipients
from nerve.demo.team_alerts import TeamChannel
from nerve.demo.vault_key import KEY_FILE, demo_key
from nerve.errors import DemoError
from nerve.outbound import http
from nerve.outbound.policy import OutboundPolicy

LOOPBACK = OutboundPolicy.allowing(["127.0.0.1/32"])


@pytest.fixture
def network() -> Iterator[PhoneNetwork]:
    phones = PhoneNetwork(keep=3)
    phones.credentials("sms-token", "fcm-token")
    phones.start()
    yield phones
    phones.stop()


def _sms(network: PhoneNetwork, to: str, body: str, token: str = "sms-token") -> dict[str, object]:
    provider = TwilioProvider(network.url, LOOPBACK)
    try:
        return provider.send(
            Account(ACCOUNT_SID, token, SENDER), SmsMessage(to, body, "sms-1", "key-1")
        )
    finally:
        provider.close()


def test_an_sms_from_nerves_twilio_provider_arrives_with_its_sid(network: PhoneNetwork) -> None:
    answer = _sms(network, "+493023125001", "Stride & Trail: <b>your order</b> is on its way")
    [arrived] = network.messages()
    assert arrived.kind == "sms" and arrived.to == "+493023125001"
    assert arrived.idempotency_key == "key-1"  # the demo matches it with the message log
    assert answer["sid"] == arrived.provider_id and network.count("sms") == 1


def test_a_wrong_token_is_refused_as_twilio_refuses_it(network: PhoneNetwork) -> None:
    with pytest.raises(SendDeferred):  # 401: the account is wrong, not the message
        _sms(network, "+493023125001", "Hello", token="not-the-secret")
    assert network.messages() == []


def test_a_push_from_nerves_fcm_provider_arrives_with_nerves_message_id(
    network: PhoneNetwork,
) -> None:
    client = http.client(LOOPBACK, limits=httpx.Limits())
    target = Target("psub_1", "fcm", "tok:APA91b" + "x" * 40, None, "user_id:cus_1")
    payload = {"title": "Welcome", "body": "Socks on us", "url": "https://s.example/offer",
               "message_id": "push-1"}  # fmt: skip
    with client:
        answer = Fcm(client, LOOPBACK, network.url).send(
            target, payload, Options(), Credentials(FCM_PROJECT, "fcm-token")
        )
        refused = Fcm(client, LOOPBACK, network.url).send(
            target, payload, Options(), Credentials(FCM_PROJECT, "stale-token")
        )
    assert answer.outcome == "delivered" and refused.outcome == "retry"
    [arrived] = network.messages()
    assert (arrived.kind, arrived.title, arrived.body) == ("push", "Welcome", "Socks on us")
    assert arrived.message_id == "push-1" and arrived.url == "https://s.example/offer"


def test_the_phones_page_shows_the_newest_first_escaped_and_keeps_the_last(
    network: PhoneNetwork,
) -> None:
    customer = make_customers(1, seed=7)[0]
    for number in range(4):
        _sms(network, customer.phone.replace(" ", ""), f"<script>alert({number})</script>")
    app = FastAPI()
    team = TeamChannel()
    app.include_router(phone_router(network, team, Recipients([customer])))
    try:
        with TestClient(app) as client:
            page = client.get("/demo/phones")
            listed = client.get("/demo/phones.json").json()["data"]
            slack = client.get("/demo/slack")
    finally:
        team.close()
    assert "<script>" not in page.text and "&lt;script&gt;alert(3)" in page.text
    assert "4 SMS and 0 pushes so far (3 kept)" in page.text
    assert [m["number"] for m in listed] == [4, 3, 2]
    assert listed[0]["customer"] == customer.name
    assert slack.status_code == 200 and "No alert yet" in slack.text


def test_the_team_channel_takes_slack_posts() -> None:
    team = TeamChannel()
    try:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Big order"}}]
        answer = httpx.post(team.url(), json={"text": "Big order: €200.00", "blocks": blocks})
        [alert] = team.alerts()
    finally:
        team.close()
    assert answer.status_code == 200 and answer.text == "ok"
    assert alert.text == "Big order: €200.00" and alert.blocks == blocks and team.count == 1


def test_the_demo_keeps_its_secret_key_beside_its_database(tmp_path: Path) -> None:
    key, kept = demo_key("", tmp_path)
    assert kept == tmp_path / KEY_FILE and kept.stat().st_mode & 0o777 == 0o600
    assert demo_key("", tmp_path) == (key, kept)  # the next run reads the same key
    assert demo_key("configured-key", tmp_path) == ("configured-key", None)
    kept.write_text("\n")
    with pytest.raises(DemoError, match="is empty"):
        demo_key("", tmp_path)


@pytest.mark.parametrize(
    ("speed", "window"), [(1, "15m"), (10, "90s"), (40, "1m"), (1000, "1m"), (0.5, "30m")]
)
def test_the_cap_window_is_squeezed_by_the_speed_to_a_minute_at_least(
    speed: float, window: str
) -> None:
    assert cap_window(speed) == window
