"""Which identifiers an event carries, normalised (emails lower-cased, phones E.164)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers

from nerve.identity.rules import MergeRules


@dataclass(frozen=True, order=True)
class Ident:
    type: str
    value: str


def normalize_email(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    if "@" not in email or len(email) > 255 or " " in email:
        return None
    return email


def normalize_phone(raw: Any, region: str) -> str | None:
    if not isinstance(raw, str | int):
        return None
    return _e164(str(raw), region)


@lru_cache(maxsize=65_536)
def _e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _traits(payload: dict[str, Any]) -> dict[str, Any]:
    traits: dict[str, Any] = {}
    context = payload.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        traits.update(context["traits"])
    if payload.get("type") == "identify" and isinstance(payload.get("traits"), dict):
        traits.update(payload["traits"])
    return traits


def identifiers(payload: dict[str, Any], rules: MergeRules) -> list[Ident]:
    """Every identifier in the event, strongest first (by the workspace's priority)."""
    found: set[Ident] = set()
    if payload.get("userId"):
        found.add(Ident("user_id", str(payload["userId"])))
    if payload.get("anonymousId"):
        found.add(Ident("anonymous_id", str(payload["anonymousId"])))
    traits = _traits(payload)
    if email := normalize_email(traits.get("email")):
        found.add(Ident("email", email))
    if phone := normalize_phone(traits.get("phone"), rules.default_region):
        found.add(Ident("phone", phone))
    for name in rules.external_id_traits:
        value = traits.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            found.add(Ident(name, str(value)[:255]))
    context = payload.get("context")
    external = context.get("externalIds") if isinstance(context, dict) else None
    if isinstance(external, list):
        for item in external:
            if isinstance(item, dict) and item.get("id") and isinstance(item.get("type"), str):
                found.add(Ident(item["type"][:64], str(item["id"])[:255]))
    return sorted(found, key=lambda ident: (rules.rank(ident.type), ident))


def alias_previous(payload: dict[str, Any]) -> str | None:
    previous = payload.get("previousId")
    if payload.get("type") != "alias" or previous in (None, ""):
        return None
    return str(previous)


def traits_of(payload: dict[str, Any]) -> dict[str, Any]:
    """Profile traits carried by the event (identify traits and context.traits)."""
    return _traits(payload)
