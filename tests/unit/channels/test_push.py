"""The push channel's parts that need no server: VAPID keys in the forms shops keep them, the
VAPID token reused per push service, the FCM message and what FCM's answers mean, the
`send_push` options."""

from __future__ import annotations

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt  # type: ignore[import-untyped]

from nerve.channels.push import action, fcm, vapid
from nerve.channels.push.providers import Options, Target, outcome_of

TARGET = Target("psub_1", "fcm", "token-1", None, "user_id:anna")


def test_a_generated_key_loads_in_every_form_to_the_same_public_key() -> None:
    private = vapid.generate()
    key = vapid.load(private)
    public = vapid.public_key(private)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    assert vapid.public_key(pem) == vapid.public_key(vapid.b64url(der)) == public
    assert len(vapid.b64url_decode(public)) == 65 and vapid.b64url_decode(public)[0] == 4


def test_a_key_of_another_curve_or_no_key_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    with pytest.raises(ValueError, match="P-256"):
        vapid.load(other)
    with pytest.raises(ValueError):
        vapid.load("bm90IGEga2V5")


def test_one_token_per_push_service_is_reused_and_verifies() -> None:
    private = vapid.generate()
    signer = vapid.Signers("mailto:ops@shop.example").of("ws_1", private)
    first = signer.authorization("https://push.example")
    assert signer.authorization("https://push.example") == first
    other = signer.authorization("https://fcm.googleapis.com")
    assert other != first
    token, key = (part.split("=", 1)[1] for part in first.removeprefix("vapid ").split(","))
    assert key == vapid.public_key(private)
    claims = jwt.decode(token, key)
    assert claims["aud"] == "https://push.example" and claims["sub"] == "mailto:ops@shop.example"


def test_the_fcm_message_has_the_notification_and_string_data() -> None:
    payload = {"title": "Hi", "body": "Your cart", "image": "https://shop.example/i.png",
               "url": "https://shop.example/cart", "message_id": "push-1"}  # fmt: skip
    message = fcm.message(TARGET, payload, Options(ttl=600, urgency="low"))["message"]
    assert message == {
        "token": "token-1",
        "notification": {"title": "Hi", "body": "Your cart", "image": "https://shop.example/i.png"},
        "data": {"image": "https://shop.example/i.png", "url": "https://shop.example/cart",
                 "message_id": "push-1"},
        "android": {"ttl": "600s", "priority": "normal"},
    }  # fmt: skip


def _fcm_answer(status: int, error: dict[str, object] | None = None) -> str:
    content = orjson.dumps({"error": error}) if error is not None else b"<html>not found</html>"
    response = httpx.Response(status, content=content)
    return fcm._answer(TARGET, "https://fcm.example", response).outcome


def _fcm_error(status: str, code: str | None = None) -> dict[str, object]:
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": code}] if code else []  # fmt: skip
    return {"code": 0, "message": "m", "status": status, "details": details}


def test_what_fcm_answers_means_for_the_token() -> None:
    assert _fcm_answer(404, _fcm_error("NOT_FOUND", "UNREGISTERED")) == "gone"
    assert _fcm_answer(400, _fcm_error("INVALID_ARGUMENT", "UNREGISTERED")) == "gone"
    assert _fcm_answer(404) == "refused"  # a wrong URL or project must not empty the table
    assert _fcm_answer(429, _fcm_error("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")) == "retry"
    assert _fcm_answer(503, _fcm_error("UNAVAILABLE", "UNAVAILABLE")) == "retry"
    assert _fcm_answer(401, _fcm_error("UNAUTHENTICATED")) == "retry"
    assert _fcm_answer(403, _fcm_error("PERMISSION_DENIED", "SENDER_ID_MISMATCH")) == "refused"
    assert _fcm_answer(400, _fcm_error("INVALID_ARGUMENT", "INVALID_ARGUMENT")) == "refused"


def test_what_a_web_push_service_answers_means() -> None:
    assert [outcome_of(s) for s in (201, 404, 410, 429, 500, 503, 400, 403, 413)] == [
        "delivered", "gone", "gone", "retry", "retry", "retry", "refused", "refused", "refused",
    ]  # fmt: skip


def test_the_send_push_options_are_checked() -> None:
    assert action.parameter_problems({"ttl": 3600, "urgency": "high"}) == []
    problems = action.parameter_problems({"ttl": -1, "urgency": "urgent"})
    assert [p["path"] for p in problems] == ["ttl", "urgency"]
    assert action.parameter_problems({"ttl": True})[0]["path"] == "ttl"


def test_the_vapid_subject_is_a_contact() -> None:
    assert vapid.valid_subject("mailto:ops@shop.example")
    assert vapid.valid_subject("https://shop.example/contact")
    for wrong in ("", "ops@shop.example", "mailto:ops", "http://shop.example", "https://x"):
        assert not vapid.valid_subject(wrong), wrong
