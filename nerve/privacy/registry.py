"""Every kind of personal data Nerve holds, in the order an erasure deletes it and an export
shows it. A capability that stores something about a person adds its registration here."""

from __future__ import annotations

from nerve.events.privacy import EVENTS
from nerve.identity.privacy import IDENTITY
from nerve.orders.privacy import ORDERS
from nerve.privacy.subject import PersonalData
from nerve.profiles.privacy import PROFILE, TRAIT_HISTORY

# The identity graph comes last: the others are found through its profiles.
REGISTRY: tuple[PersonalData, ...] = (PROFILE, TRAIT_HISTORY, ORDERS, EVENTS, IDENTITY)
