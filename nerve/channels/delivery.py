"""Send one message on a channel other than email (SMS, push, Slack, a webhook) once per
idempotency key, through the same steps as a mail:

1. read: the person, an earlier attempt of this send, what the channel drafts (where it goes,
   the rendered content) and the checks every channel shares — erased, opted out, suppressed,
   no consent — in one read transaction;
2. log: the message log row (queued), with the fatigue cap and quiet hours decided in the same
   write transaction (nerve/channels/timing): a send over the cap is skipped or deferred, a send
   in quiet hours deferred, and the log says which;
3. deliver, outside any transaction, through the channel's provider;
4. finish: sent (and an event on the person's timeline), failed (the provider refused it for
   good), or back to queued to be retried.

A channel brings only what is its own (`Channel`): how to draft a message for a person and how
to hand it to its provider. A process killed between 2 and 4 delivers again on the retry, with
the same message id; the providers get the idempotency key to drop the copy where they can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from nerve.channels import engagement, messages, preferences, timing
from nerve.channels.models import Suppression
from nerve.channels.smtp import SendDeferred, SendRefused
from nerve.consent import service as consent
from nerve.db.base import new_id, utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.db.group_commit import GroupCommit
from nerve.identity import service as identity
from nerve.privacy import service as privacy
from nerve.profiles.schemas import Person
from nerve.profiles.view import person as person_view
from nerve.workspaces import service as workspaces

Kind = Literal["marketing", "transactional"]


@dataclass(frozen=True)
class ChannelRequest:
    workspace_id: str
    channel: str  # sms, push, slack, webhook
    profile_id: str | None
    idempotency_key: str
    kind: Kind = "marketing"
    topic: str | None = None  # the consent topic of a marketing SMS or push
    template: str | None = None
    # What the template sees beside the person: event, cart, order, products, digest.
    context: dict[str, Any] = field(default_factory=dict)
    flow: str | None = None
    run_id: str | None = None
    node: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the node's `with`, for the channel
    timing: dict[str, Any] = field(default_factory=dict)  # over_cap, quiet_hours, send_at


@dataclass(frozen=True)
class Drafted:
    """What a channel made of a request for a person: where it goes, what it says, or why it
    must not go."""

    recipient: str | None  # a phone number, a webhook endpoint's name, a Slack destination
    content: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None  # one line for the message log (an SMS's start, a push title)
    reason: str | None = None  # why it must not go (None: it may)
    details: dict[str, Any] = field(default_factory=dict)  # segments, endpoints, ...
    template_version_id: str | None = None
    # The address consent and suppression are checked for (None: the channel has none, as a
    # team's Slack or a shop's own system).
    address: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """What a provider is handed: the drafted message and how the log names it."""

    workspace_id: str
    row_id: str
    message_id: str
    idempotency_key: str
    drafted: Drafted


@dataclass(frozen=True)
class Sent:
    status: Literal["sent", "skipped", "failed", "bounced"]
    message_id: str
    reason: str | None = None
    id: str = ""  # the message log row
    details: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    name: str  # sms, push, slack, webhook
    # The identifier type of its addresses, as erasure keeps them (phone for SMS).
    address_type: str
    # Marketing messages on this channel need the person's consent to their topic (SMS, push);
    # a team's Slack and the shop's own systems do not.
    needs_consent: bool

    def draft(self, conn: Connection, request: ChannelRequest, person: Person | None) -> Drafted:
        """Where the message goes and what it says (raise NotFound for a missing template)."""
        ...

    def deliver(self, message: Outgoing) -> dict[str, Any]:
        """Hand it to the provider: what it answered, for the log's details. SendDeferred to
        retry later, SendRefused when it can never go (an invalid number, a gone endpoint)."""
        ...

    def close(self) -> None: ...


class Delivery:
    """Sends one channel's messages, each at most once per idempotency key."""

    def __init__(self, engine: Engine, channel: Channel) -> None:
        self.engine, self.channel = engine, channel
        # The log's writes of concurrent sends commit together (one SQLite writer, one fsync
        # for many), each committed before the send goes on — as email's do.
        self._log = GroupCommit(engine)
        self._sources: dict[str, str] = {}

    def close(self) -> None:
        self.channel.close()

    def send(self, request: ChannelRequest) -> Sent:
        """Send it, or find it was sent, or skip it with its reason; SendDeferred to retry
        later, timing.Deferred to try again at a time (quiet hours, the fatigue cap)."""
        assert request.channel == self.channel.name
        self._ensure_source(request.workspace_id)
        message_id = messages.channel_message_id(self.channel.name, request.idempotency_key)
        with self.engine.connect() as conn, conn.begin():
            earlier = messages.find(conn, request.workspace_id, request.idempotency_key)
            if earlier is not None and earlier.status not in AGAIN:
                return _done(earlier)
            person = _person(conn, request)
            drafted = self.channel.draft(conn, request, person)
            reason = drafted.reason or why_not(conn, self.channel, request, person, drafted)
        row_id = earlier.id if earlier is not None else new_id("msg")
        log = {"profile_id": request.profile_id, "channel": self.channel.name,
               "kind": request.kind, "topic": request.topic, "template": request.template,
               "template_version_id": drafted.template_version_id, "flow": request.flow,
               "run_id": request.run_id, "node": request.node, "message_id": message_id,
               "recipient": drafted.recipient, "subject": (drafted.summary or "")[:1000] or None,
               "details": drafted.details or None}  # fmt: skip
        zone = timing.timezone_of(person)
        try:
            logged = self._log.run(
                lambda conn: self._begin(conn, request, row_id, log, reason, zone)
            )
        except IntegrityError as exc:  # PostgreSQL: the other attempt's insert won
            raise SendDeferred("another attempt of this send is under way") from exc
        if isinstance(logged, Sent):
            return logged
        if isinstance(logged, timing.Deferred):
            raise logged
        outgoing = Outgoing(request.workspace_id, logged.id, message_id,
                            request.idempotency_key, drafted)  # fmt: skip
        try:
            answer = self.channel.deliver(outgoing)
        except SendRefused as exc:
            refused = str(exc)
            self._log.run(lambda conn: messages.finish(conn, logged.id, "failed", refused))
            return Sent("failed", message_id, str(exc), logged.id)
        except SendDeferred as exc:
            retry = f"will retry: {exc}"
            self._log.run(lambda conn: messages.finish(conn, logged.id, "queued", retry))
            raise
        details = {**drafted.details, **answer}

        def sent(conn: Connection) -> None:
            messages.finish(conn, logged.id, "sent", None, details or None)
            self._record(conn, request, person, {**log, "id": logged.id})

        self._log.run(sent)
        return Sent("sent", message_id, None, logged.id, details)

    def _begin(
        self, conn: Connection, request: ChannelRequest, row_id: str, log: dict[str, Any],
        reason: str | None, zone: str | None,
    ) -> Sent | messages.Logged | timing.Deferred:  # fmt: skip
        logged = messages.begin(conn, request.workspace_id, request.idempotency_key, row_id,
                                **log)  # fmt: skip
        if logged.status not in AGAIN:
            return _done(logged)
        if logged.id != row_id:
            raise SendDeferred("another attempt of this send is under way")
        if reason is not None:
            messages.finish(conn, logged.id, "skipped", reason)
            return Sent("skipped", logged.message_id, reason, logged.id)
        recipient = timing.Recipient(request.workspace_id, request.profile_id, zone)
        decision = timing.admit(conn, recipient, request.kind, self.channel.name,
                                request.timing, utcnow(), logged.id)  # fmt: skip
        if decision.skip is not None:
            messages.finish(conn, logged.id, "skipped", decision.skip, decision.details)
            return Sent("skipped", logged.message_id, decision.skip, logged.id)
        if decision.until is not None:
            why = f"deferred to {decision.until.isoformat()}: {decision.details.get('why', '')}"
            messages.finish(conn, logged.id, "deferred", why, decision.details)
            return timing.Deferred(decision.until, why)  # raised once this is committed
        if logged.status in ("deferred", "failed"):
            messages.finish(conn, logged.id, "queued")
        return logged

    def _record(
        self, conn: Connection, request: ChannelRequest, person: Person | None,
        log: dict[str, Any],
    ) -> None:  # fmt: skip
        """The send as an event on the person's timeline ("SMS Sent", "Push Sent")."""
        if person is None:
            return
        key = engagement.person_key([(i.type, i.value) for i in person.identifiers])
        if key is None:
            return
        name = f"{EVENT_NAMES.get(self.channel.name, self.channel.name.title())} Sent"
        row = engagement.event_row(
            request.workspace_id, self._sources[request.workspace_id], key, name,
            engagement.properties_of(log), utcnow(), f"{name}:{log['id']}",
        )  # fmt: skip
        dialect_of(conn).insert_events(conn, [row])

    def _ensure_source(self, workspace_id: str) -> None:
        """The workspace's hashing key and Nerve's own source for this channel exist (made
        once, in a write transaction), so reading a send only reads (SQLite cannot upgrade a
        read transaction that a concurrent send holds)."""
        if workspace_id not in self._sources:
            name = f"Nerve {self.channel.name}"
            with write_transaction(self.engine) as conn:
                workspaces.hash_key(conn, workspace_id)
                self._sources[workspace_id] = workspaces.own_source(conn, workspace_id, name)


AGAIN = messages.AGAIN
EVENT_NAMES = {"sms": "SMS", "push": "Push", "slack": "Slack", "webhook": "Webhook"}


def why_not(
    conn: Connection, channel: Channel, request: ChannelRequest, person: Person | None,
    drafted: Drafted,
) -> str | None:  # fmt: skip
    """Why this message must not go (None: it may): the checks every channel shares."""
    if request.profile_id is not None and person is None:
        return "the person was erased"
    marketing = request.kind == "marketing"
    if marketing and person is not None:
        left = preferences.of_person(conn, request.workspace_id, [person.id, *person.merged_ids])
        held = preferences.held_back(left, channel.name, request.flow)
        if held is not None:
            return held
    address = drafted.address
    if address is None:
        return None
    digest = privacy.identifier_hash(conn, request.workspace_id, address)
    if privacy.erased_among(conn, request.workspace_id, channel.address_type, [digest]):
        return "the address belongs to an erased person"
    reasons = set(conn.scalars(
        select(Suppression.reason).where(
            Suppression.workspace_id == request.workspace_id,
            Suppression.channel == channel.name, Suppression.address_hash == digest,
        )
    ))  # fmt: skip
    if request.kind == "transactional":
        reasons.discard("unsubscribed")  # leaving the offers is not leaving the order news
    if reasons:
        return f"the address is suppressed ({', '.join(sorted(reasons))})"
    if marketing and channel.needs_consent:
        topic = request.topic or ""
        agreed = consent.statuses(conn, request.workspace_id, channel.name, [address]).get(
            (address, topic)
        )
        if agreed != "subscribed":
            return f"no consent to {channel.name} {topic} ({agreed or 'never given'})"
    return None


def _person(conn: Connection, request: ChannelRequest) -> Person | None:
    if request.profile_id is None:
        return None
    person_id = identity.people_of(conn, {request.profile_id}).get(request.profile_id)
    return None if person_id is None else person_view(conn, request.workspace_id, person_id)


def _done(logged: messages.Logged) -> Sent:
    return Sent(logged.status, logged.message_id, logged.reason, logged.id)  # type: ignore[arg-type]
