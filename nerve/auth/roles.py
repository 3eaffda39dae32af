"""Roles and what each may do: the one table every admin route and CLI command is checked
against.

The roles follow how a shop team works (the RACI of the automation guide): the owner of the
system (`admin`: keys, rules, secrets, erasure), the people who build automations (`builder`:
flows, later templates, segments, slots), those who read and report (`analyst`: read only), and
the store staff on a tablet (`staff`: look a customer up, their orders, stock and cart —
nothing else). The shop's backend syncs catalog, orders and carts with an `admin` key.
"""

from __future__ import annotations

from enum import StrEnum

from nerve.errors import Forbidden


class Permission(StrEnum):
    """One thing a route or command does. Named `<resource>:<verb>`; a route states exactly one."""

    EVENTS_READ = "events:read"
    PROFILES_READ = "profiles:read"
    PROFILES_UNMERGE = "profiles:unmerge"
    PROFILES_EXPORT = "profiles:export"
    PROFILES_ERASE = "profiles:erase"
    IDENTITY_RULES_READ = "identity_rules:read"
    IDENTITY_RULES_WRITE = "identity_rules:write"
    FLOWS_READ = "flows:read"
    FLOWS_WRITE = "flows:write"
    BROADCASTS_SEND = "broadcasts:send"
    TEMPLATES_READ = "templates:read"
    TEMPLATES_WRITE = "templates:write"
    MESSAGES_READ = "messages:read"
    MESSAGES_SEND = "messages:send"
    SUPPRESSIONS_READ = "suppressions:read"
    SUPPRESSIONS_WRITE = "suppressions:write"
    FEEDBACK_WRITE = "feedback:write"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    CONSENT_TOPICS_WRITE = "consent_topics:write"
    DEAD_LETTERS_REPLAY = "dead_letters:replay"
    SOURCES_READ = "sources:read"
    SOURCES_WRITE = "sources:write"
    KEYS_MANAGE = "keys:manage"
    SECRETS_MANAGE = "secrets:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    SLACK_DESTINATIONS_MANAGE = "slack_destinations:manage"
    DELIVERY_POLICY_READ = "delivery_policy:read"
    DELIVERY_POLICY_WRITE = "delivery_policy:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    CARTS_READ = "carts:read"
    CARTS_WRITE = "carts:write"
    CONNECTORS_MANAGE = "connectors:manage"
    RECOMMENDATIONS_READ = "recommendations:read"
    RECOMMENDATIONS_WRITE = "recommendations:write"
    AUDIENCES_READ = "audiences:read"
    AUDIENCES_MANAGE = "audiences:manage"
    SLOTS_READ = "slots:read"
    SLOTS_WRITE = "slots:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"


ADMIN, BUILDER, ANALYST, STAFF = "admin", "builder", "analyst", "staff"

_READ = {
    Permission.EVENTS_READ,
    Permission.PROFILES_READ,
    Permission.IDENTITY_RULES_READ,
    Permission.FLOWS_READ,
    Permission.TEMPLATES_READ,
    Permission.MESSAGES_READ,
    Permission.SUPPRESSIONS_READ,
    Permission.CONSENT_READ,
    Permission.SOURCES_READ,
    Permission.DELIVERY_POLICY_READ,
    Permission.CATALOG_READ,
    Permission.ORDERS_READ,
    Permission.CARTS_READ,
    Permission.RECOMMENDATIONS_READ,
    Permission.AUDIENCES_READ,
    Permission.SLOTS_READ,
    Permission.SEGMENTS_READ,
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    ADMIN: frozenset(Permission),
    BUILDER: frozenset(
        _READ
        | {Permission.FLOWS_WRITE, Permission.TEMPLATES_WRITE, Permission.DEAD_LETTERS_REPLAY}
        # Starting a flow for every member of a segment, pausing and cancelling it.
        | {Permission.BROADCASTS_SEND}
        | {Permission.CONSENT_TOPICS_WRITE}
        # The suppression list (imports, a wrongly bounced address taken off) and a relay's
        # bounce and complaint feedback: the mail's deliverability, which builders look after.
        | {Permission.SUPPRESSIONS_WRITE, Permission.FEEDBACK_WRITE}
        # The shop's own systems that flows call (webhook endpoints) and their signing
        # secrets: a builder wires a flow to its receiver and hands the receiver the secret.
        | {Permission.WEBHOOKS_MANAGE}
        # The team's Slack channels that flows post alerts to, likewise.
        | {Permission.SLACK_DESTINATIONS_MANAGE}
        # How often and when marketing reaches people (fatigue cap, quiet hours): the
        # builders' flows are what it holds back.
        | {Permission.DELIVERY_POLICY_WRITE}
        # Retraining the recommendations on demand (they also retrain on a schedule).
        | {Permission.RECOMMENDATIONS_WRITE}
        # Segments kept in sync with the ad platforms' audiences: the builders' segments.
        | {Permission.AUDIENCES_MANAGE}
        # Content slots and their A/B tests: what the heads show, the builders' work.
        | {Permission.SLOTS_WRITE}
        # Segment definitions: who the builders' flows, slots and broadcasts are for.
        | {Permission.SEGMENTS_WRITE}
    ),
    ANALYST: frozenset(_READ),
    # The store tablet: look a customer up, see what they ordered and what is in stock, and
    # view or change their cart — every change in the audit log with the staff key.
    STAFF: frozenset(
        {Permission.PROFILES_READ, Permission.CATALOG_READ, Permission.ORDERS_READ}
        | {Permission.CARTS_READ, Permission.CARTS_WRITE}
        # What to suggest to the customer at the counter.
        | {Permission.RECOMMENDATIONS_READ}
    ),
}
ROLES = tuple(ROLE_PERMISSIONS)


def allowed(role: str, permission: Permission | str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(permission: Permission | str) -> list[str]:
    return [role for role, granted in ROLE_PERMISSIONS.items() if permission in granted]


def authorize(role: str, permission: Permission | str) -> None:
    """Raise Forbidden unless `role` grants `permission`."""
    if not allowed(role, permission):
        raise Forbidden(
            f"the {role} role may not do this ({permission})",
            details={"permission": str(permission), "roles": roles_with(permission)},
        )
