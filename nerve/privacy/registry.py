"""Every kind of personal data Nerve holds, in the order an erasure deletes it and an export
shows it. A capability that stores something about a person adds its registration here."""

from __future__ import annotations

from nerve.audiences.privacy import AUDIENCE_MEMBERS
from nerve.carts.privacy import CARTS
from nerve.channels.privacy import MESSAGES, OPT_OUTS, PUSH_SUBSCRIPTIONS
from nerve.connectors.privacy import CONNECTOR_DELIVERIES
from nerve.consent.privacy import CONSENTS
from nerve.events.privacy import EVENTS
from nerve.flows.privacy import DIGESTS, FLOWS
from nerve.identity.privacy import IDENTITY
from nerve.orders.privacy import ORDERS
from nerve.personalization.privacy import SLOT_IMPRESSIONS
from nerve.privacy.subject import PersonalData
from nerve.profiles.privacy import PROFILE, TRAIT_HISTORY
from nerve.segments.privacy import SEGMENTS

# Flows first: a waiting run must not fire while the rest is erased. The identity graph last:
# the others are found through its profiles.
REGISTRY: tuple[PersonalData, ...] = (
    FLOWS,
    DIGESTS,
    MESSAGES,
    OPT_OUTS,
    PUSH_SUBSCRIPTIONS,
    CONSENTS,
    PROFILE,
    TRAIT_HISTORY,
    ORDERS,
    CARTS,
    SEGMENTS,
    SLOT_IMPRESSIONS,
    CONNECTOR_DELIVERIES,
    AUDIENCE_MEMBERS,
    EVENTS,
    IDENTITY,
)

# Tables that hold nothing about a person, and why. A new table must be registered above or
# named here (tests/integration/privacy/test_erasure.py checks).
NOT_PERSONAL: dict[str, str] = {
    "workspaces": "the shop's own settings",
    "sources": "the shop's heads and their write keys",
    "api_keys": "hashed secrets of the shop's team and systems",
    "identity_rules": "merge rules",
    "flows": "flow names",
    "flow_versions": "flow definitions written by the shop",
    "audit_log": "who did what to which id: the proof of an erasure names only the erased id",
    "erased_identifiers": "keyed hashes, kept so erased addresses stay suppressed",
    "secrets": "the shop's own credentials (SMTP, DKIM, providers), encrypted",
    "templates": "message template names",
    "template_versions": "message templates written by the shop",
    "suppressions": "keyed hashes of addresses that bounced, complained or left everything",
    "consent_topics": "the lists a shop offers (newsletter, back-in-stock): names and titles",
    "webhook_endpoints": "the shop's own receivers of flow webhooks: names, URLs, status",
    "products": "the shop's catalog: skus, names, prices, images, attributes",
    "inventory": "stock per sku and location, suppliers and their prices",
    "catalog_imports": "how far an import of a catalog file got: its hash, name and counts",
    "catalog_collections": "names of the shop's collections and when they went live",
    "shop_events": "facts about the shop's catalog (a price changed, stock ran low), no person",
    "broadcasts": "a flow's fan-outs over a segment: counts, and a cursor that is a bare id",
    "delivery_policies": "the shop's fatigue cap, quiet hours and send-time settings",
    "connectors": "the shop's connectors: platform, name, source (secrets are in `secrets`)",
    "connector_inventory_items": "the shop's inventory item ids and their skus",
    "recommendation_runs": "when the recommendations were trained, with counts and timings",
    "item_neighbors": "which products go with which: aggregates over all people",
    "popular_items": "the shop's bestsellers per category: aggregates over all people",
    "recommendation_schedules": "when each workspace's recommendations train next",
    "segments": "the shop's segments: keys, names, descriptions",
    "segment_versions": "segment definitions written by the shop",
    "segment_builds": "how far a segment's build got: counts and a cursor (the opaque id where "
    "a chunk of people ended, nothing about that person)",
    "slots": "the shop's content and product-list slots: keys and kinds",
    "slot_versions": "slot definitions written by the shop",
    "audience_syncs": "which segment goes to which destination, counts, and cursors (the "
    "opaque id where a page of members ended, nothing about that person)",
}
