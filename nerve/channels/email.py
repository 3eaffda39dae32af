"""Send one email to one person: render their template version, skip what must not go out,
log it, hand it to the transport — once per idempotency key.

The message log row is written before the transport is called and marked `sent` after: a
process killed in between sends again on retry, with the same Message-ID (derived from the key),
so a recipient's client shows one message. A hard bounce (5xx) suppresses the address for every
later send, marketing and transactional.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from nerve.channels import context as event_context
from nerve.channels import engagement, links, messages, mime, send_checks, templates, timing
from nerve.channels.dkim_keys import Signer
from nerve.channels.messages import Logged
from nerve.channels.models import Suppression
from nerve.channels.smtp import SendDeferred, SendRefused, SmtpSender, parse_url
from nerve.db.base import new_id, utcnow
from nerve.db.dialect import dialect_of
from nerve.db.engine import write_transaction
from nerve.db.group_commit import Batcher, GroupCommit
from nerve.errors import InvalidInput, NotFound
from nerve.identity.extract import normalize_email
from nerve.privacy import service as privacy
from nerve.profiles.schemas import Person
from nerve.profiles.view import people_of_profiles
from nerve.secrets import service as secrets
from nerve.secrets.vault import Vault
from nerve.settings import Settings
from nerve.workspaces import service as workspaces


class Transport(Protocol):
    def send(self, sender: str, recipient: str, raw: bytes) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class EmailRequest:
    workspace_id: str
    profile_id: str | None
    template: str | None
    idempotency_key: str
    kind: Literal["marketing", "transactional"] = "marketing"
    topic: str | None = None
    # What the template sees beside the person: event, cart, order, products.
    context: dict[str, Any] = field(default_factory=dict)
    flow: str | None = None
    run_id: str | None = None
    node: str | None = None
    # The transactional API's: an address to send to (a customer not known yet), and content
    # compiled from the request instead of a saved template.
    address: str | None = None
    content: dict[str, str] | None = None
    # Signed links to put in `message` beside the unsubscribe link: name → path (c: confirm).
    links: dict[str, str] = field(default_factory=dict)
    # The flow node's timing options (nerve/channels/timing): over_cap, quiet_hours, send_at.
    timing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """A send read and rendered, not yet logged: its log row's id and values, why it is
    skipped (None: it goes), the message as SMTP carries it."""

    row_id: str
    log: dict[str, Any]
    reason: str | None
    raw: bytes
    # How Nerve's own events about this send name the person (None: no one to attach them to).
    person: tuple[str, str] | None = None
    timezone: str | None = None  # the person's, for quiet hours


@dataclass(frozen=True)
class Sent:
    status: Literal["sent", "skipped", "bounced"]
    message_id: str
    reason: str | None = None
    id: str = ""  # the message log row


class EmailService:
    def __init__(
        self,
        engine: Engine,
        sender: str,
        transport: Transport,
        shop: dict[str, Any],
        public_url: str = "http://127.0.0.1:8000",
        unsubscribe_mailto: str = "",
        signer: Signer | None = None,
        track: bool = True,
    ) -> None:
        self.signer, self.track = signer, track
        self._sources: dict[str, str] = {}  # workspace → Nerve's own email source
        self._log = GroupCommit(engine)
        self._drafter: Batcher[EmailRequest, Sent | Draft] = Batcher(self._drafts, 100)
        self.engine, self.transport, self.shop = engine, transport, shop
        self.sender, self.public_url = sender, public_url.rstrip("/")
        self.unsubscribe_mailto = unsubscribe_mailto
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "nerve.invalid"

    def send(self, request: EmailRequest) -> Sent:
        """Send it (or find it was sent, or skip it with a reason); SendDeferred to retry.

        The other sender threads' sends go along: reading and rendering in one read transaction
        for a group of them (the people read together), the writes (log the send, mark it
        sent) group-committed (one writer on SQLite, one fsync for many mails), each committed
        before the next step."""
        self._ensure_key(request.workspace_id)
        draft = self._drafter.run(request)
        if isinstance(draft, Sent):
            return draft
        try:
            logged = self._log.run(lambda conn: self._begin(conn, request, draft))
        except IntegrityError as exc:  # PostgreSQL: the other attempt's insert won
            raise SendDeferred("another attempt of this send is under way") from exc
        if isinstance(logged, Sent):
            return logged
        if isinstance(logged, timing.Deferred):
            raise logged
        recipient, workspace_id = str(draft.log["recipient"]), request.workspace_id
        try:
            self.transport.send(parseaddr(self.sender)[1], recipient, draft.raw)
        except SendRefused as exc:
            reason = str(exc)

            address_refused = exc.address

            def bounced(conn: Connection) -> None:
                messages.finish(conn, logged.id, "bounced", reason)
                if address_refused:  # not for content or policy refusals
                    suppress(conn, workspace_id, recipient, "hard_bounce", reason)
                self._record(conn, workspace_id, draft, engagement.BOUNCED)

            self._log.run(bounced)
            return Sent("bounced", logged.message_id, reason, logged.id)
        except SendDeferred as exc:
            retry = f"will retry: {exc}"
            self._log.run(lambda conn: messages.finish(conn, logged.id, "queued", retry))
            raise

        def sent(conn: Connection) -> None:
            messages.finish(conn, logged.id, "sent")
            self._record(conn, workspace_id, draft, engagement.SENT)

        self._log.run(sent)
        return Sent("sent", logged.message_id, None, logged.id)

    def _begin(
        self, conn: Connection, request: EmailRequest, draft: Draft
    ) -> Sent | Logged | timing.Deferred:
        """The send's log row (queued), or what an earlier attempt of it came to, or why it
        must wait (the fatigue cap, quiet hours: decided here, in the transaction that logs
        it, so two workers never both send the message that crosses the cap)."""
        logged = messages.begin(conn, request.workspace_id, request.idempotency_key,
                                draft.row_id, **draft.log)  # fmt: skip
        if logged.status not in messages.AGAIN:  # sent, skipped or bounced before: never again
            return Sent(logged.status, logged.message_id, logged.reason, logged.id)  # type: ignore[arg-type]
        if logged.id != draft.row_id:  # another attempt logged it a moment ago
            raise SendDeferred("another attempt of this send is under way")
        if draft.reason is not None:
            messages.finish(conn, logged.id, "skipped", draft.reason)
            return Sent("skipped", logged.message_id, draft.reason, logged.id)
        recipient = timing.Recipient(request.workspace_id, request.profile_id, draft.timezone)
        decision = timing.admit(conn, recipient, request.kind, "email", request.timing, utcnow(),
                                logged.id)  # fmt: skip
        if decision.skip is not None:
            messages.finish(conn, logged.id, "skipped", decision.skip, decision.details)
            return Sent("skipped", logged.message_id, decision.skip, logged.id)
        if decision.until is not None:
            reason = f"deferred to {decision.until.isoformat()}: {decision.details.get('why', '')}"
            messages.finish(conn, logged.id, "deferred", reason, decision.details)
            return timing.Deferred(decision.until, reason)
        if logged.status in ("deferred", "failed"):
            messages.finish(conn, logged.id, "queued")
        return logged

    def _record(self, conn: Connection, workspace_id: str, draft: Draft, name: str) -> None:
        """The send as an event on the person's timeline (flows may wait for it)."""
        if draft.person is None:
            return
        row = engagement.event_row(
            workspace_id, self._sources[workspace_id], draft.person, name,
            engagement.properties_of({**draft.log, "id": draft.row_id}), utcnow(),
            f"{name}:{draft.row_id}",
        )  # fmt: skip
        dialect_of(conn).insert_events(conn, [row])

    def _ensure_key(self, workspace_id: str) -> None:
        """The workspace's link key and Nerve's own email source exist (made once, in a write
        transaction), so drafting a mail only reads."""
        if workspace_id not in self._sources:
            with write_transaction(self.engine) as conn:
                workspaces.hash_key(conn, workspace_id)
                source = workspaces.own_source(conn, workspace_id, engagement.SOURCE_NAME)
            self._sources[workspace_id] = source

    def _drafts(self, requests: Sequence[EmailRequest]) -> list[Sent | Draft | Exception]:
        """Drafts of a group of sends, read in one transaction, their people together."""
        drafts: list[Sent | Draft | Exception] = []
        with self.engine.connect() as conn, conn.begin():
            people: dict[str, Person] = {}
            for workspace_id in {r.workspace_id for r in requests}:
                wanted = [r.profile_id for r in requests if r.workspace_id == workspace_id]
                people |= people_of_profiles(conn, workspace_id, filter(None, wanted))
            persons = [people.get(r.profile_id) if r.profile_id else None for r in requests]
            # Logged and sent as identity keeps addresses (lower-case), so an erase finds them.
            addresses = [_normal(r.address) or _email_of(p)
                         for r, p in zip(requests, persons, strict=True)]  # fmt: skip
            checks = send_checks.read(conn, requests, addresses, persons)
            for request, person, address in zip(requests, persons, addresses, strict=True):
                try:
                    drafts.append(self._draft(conn, request, person, address, checks))
                except Exception as exc:  # this send's problem (no such template): its own
                    drafts.append(exc)
        return drafts

    def _draft(
        self, conn: Connection, request: EmailRequest, person: Person | None,
        address: str | None, checks: send_checks.Checks,
    ) -> Sent | Draft:  # fmt: skip
        key = request.idempotency_key
        message_id = messages.message_id(key, self.domain)
        earlier = checks.earlier.get((request.workspace_id, key))
        if earlier is not None and earlier.status not in messages.AGAIN:
            return Sent(earlier.status, earlier.message_id, earlier.reason, earlier.id)  # type: ignore[arg-type]
        version_id, compiled = None, request.content
        if request.template is not None:
            version = checks.version(request.workspace_id, request.template)
            if version.channel != "email":
                raise NotFound(f"{request.template!r} is a {version.channel} template, not a mail")
            version_id, compiled = version.id, version.compiled
        assert compiled is not None, "a template or content"
        view = templates.person_context(person) if person is not None else {}
        row_id = earlier.id if earlier is not None else new_id("msg")
        unsubscribe = f"{self.public_url}/u/{links.token(conn, request.workspace_id, 'u', row_id)}"
        preferences = f"{self.public_url}/p/{links.token(conn, request.workspace_id, 'p', row_id)}"
        message = {"unsubscribe_url": unsubscribe, "topic": request.topic,
                   "preferences_url": preferences}  # fmt: skip
        for name, path in request.links.items():
            signed = links.token(conn, request.workspace_id, path, row_id)
            message[name] = f"{self.public_url}/{path}/{signed}"
        if person is None and request.profile_id is None:  # an address only: who the caller says
            view = request.context.get("person") or {}
        # What the event carries (its order, cart, products) and what the caller gives — never
        # the sample's made-up values, which templates are checked against, not sent with.
        carried = event_context.of_event(request.context.get("event"))
        found = event_context.with_stored_cart(conn, request.workspace_id, carried, self.public_url)
        person_id = person.id if person is not None else None
        found = event_context.with_recommendations(conn, request.workspace_id, found, person_id)
        context = {"shop": self.shop, **found, **request.context, "person": view,
                   "message": message}  # fmt: skip
        rendered = templates.render(compiled, context)
        log = {"profile_id": request.profile_id, "channel": "email", "kind": request.kind,
               "topic": request.topic, "template": request.template,
               "template_version_id": version_id, "flow": request.flow,
               "run_id": request.run_id, "node": request.node, "message_id": message_id,
               "recipient": address, "subject": rendered["subject"]}  # fmt: skip
        erased = request.profile_id is not None and person is None
        reason = checks.why_not(request, address, erased, person)
        if reason is not None:
            return Draft(row_id, log, reason, b"")
        assert address is not None
        if request.kind == "marketing":
            rendered = mime.with_footer(rendered, unsubscribe, str(self.shop.get("imprint") or ""))
        if self.track:
            rendered, log["links"] = self._tracked(conn, request, row_id, rendered)
        headers = self._marketing_headers(unsubscribe, request.topic or "mail", row_id, conn,
                                          request.workspace_id) if request.kind == "marketing" \
            else {}  # fmt: skip
        raw = mime.build(sender=self.sender, to=address, rendered=rendered,
                         message_id=message_id, headers=headers)  # fmt: skip
        if self.signer is not None:
            raw = self.signer.sign(conn, request.workspace_id, self.domain, raw)
        identifiers = [(i.type, i.value) for i in person.identifiers] if person else []
        return Draft(row_id, log, None, raw, engagement.person_key(identifiers),
                     timing.timezone_of(person))  # fmt: skip

    def _tracked(
        self, conn: Connection, request: EmailRequest, row_id: str, rendered: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """Outside links through signed redirects (with UTM parameters), and an open pixel."""
        workspace_id = request.workspace_id

        def redirect(index: int) -> str:
            signed = links.token(conn, workspace_id, "l", row_id, str(index))
            return f"{self.public_url}/l/{signed}"

        campaign = request.flow or request.template or request.kind
        rendered, targets = engagement.track_links(
            rendered, f"{self.public_url}/", campaign, request.node or request.template or "",
            redirect,
        )  # fmt: skip
        pixel = f"{self.public_url}/o/{links.token(conn, workspace_id, 'o', row_id)}"
        return engagement.with_pixel(rendered, pixel), targets

    def _marketing_headers(
        self, unsubscribe: str, topic: str, row_id: str, conn: Connection, workspace_id: str
    ) -> dict[str, str]:
        """One-click unsubscribe as Gmail and Yahoo require of bulk senders (RFC 8058), and the
        list the mail belongs to (RFC 2919)."""
        targets = [f"<{unsubscribe}>"]
        if self.unsubscribe_mailto:
            mark = links.token(conn, workspace_id, "u", row_id)
            targets.append(f"<mailto:{self.unsubscribe_mailto}?subject=unsubscribe%20{mark}>")
        return {
            "List-Unsubscribe": ", ".join(targets),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"<{topic}.{self.domain}>",
        }


def _normal(address: str | None) -> str | None:
    """An address as given, normalised when it is one (an invalid one is refused later)."""
    return address and (normalize_email(address) or address)


def _email_of(person: Person | None) -> str | None:
    """The person's (first) email address, as templates see it (`person.email`)."""
    if person is None:
        return None
    return next((i.value for i in person.identifiers if i.type == "email"), None)


def suppress(conn: Connection, workspace_id: str, address: str, reason: str, detail: str) -> None:
    normal = normalize_email(parseaddr(address)[1] or address)
    if normal is None:
        raise InvalidInput(f"not an email address: {address!r}")
    row = {"workspace_id": workspace_id, "channel": "email", "reason": reason,
           "address_hash": privacy.identifier_hash(conn, workspace_id, normal),
           "detail": detail[:1000]}  # fmt: skip
    insert = dialect_of(conn).insert_ignoring_duplicates(
        Suppression.__table__, ["workspace_id", "channel", "address_hash", "reason"]
    )
    conn.execute(insert, [row])


def email_service(engine: Engine, settings: Settings) -> EmailService | None:
    """The configured service (SMTP at NERVE_SMTP_URL, from NERVE_EMAIL_FROM), or None."""
    url = settings.smtp_url.get_secret_value()
    if not url or not settings.email_from:
        return None
    shop = {"name": settings.shop_name, "url": settings.shop_url, "imprint": settings.shop_imprint}
    vault = Vault(settings.secret_key.get_secret_value())
    server = parse_url(url)
    if server.username and not server.password:  # the password is kept as a secret
        server = parse_url(url, _smtp_password(engine, vault))
    return EmailService(
        engine, settings.email_from, SmtpSender(server), shop, settings.base_url,
        settings.unsubscribe_mailto, Signer(vault),
    )  # fmt: skip


SMTP_PASSWORD = "smtp.password"


def _smtp_password(engine: Engine, vault: Vault) -> str | None:
    with engine.connect() as conn, conn.begin():
        workspace = workspaces.find_workspace(conn, workspaces.DEFAULT_WORKSPACE)
        if workspace is None:
            return None
        return secrets.reveal(conn, vault, workspace, SMTP_PASSWORD)
