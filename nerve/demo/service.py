"""`nerve demo`: the demo shop on the embedded SQLite database, with the API server and simulated
customers on every head running in one process until Ctrl-C, SIGTERM or `--duration`.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine

from nerve.demo import commerce_feed, display, farewell, shopify
from nerve.demo.audience_feed import AudienceFeed
from nerve.demo.audience_setup import AudienceSetup, prepare_audiences
from nerve.demo.back_office import BackOffice
from nerve.demo.cart_flow import (
    FLOW_NAME,
    CartFlowCounts,
    PublishedFlow,
    publish_flow,
    save_templates,
    stored_receiver_port,
)
from nerve.demo.catalog import SHOP_NAME, SHOP_URL
from nerve.demo.channel_feed import ChannelFeed, ChannelFigures
from nerve.demo.channel_setup import DemoChannels, prepare_channels
from nerve.demo.commerce_feed import CommerceFigures
from nerve.demo.head_pages import head_router
from nerve.demo.heads import HeadLog
from nerve.demo.identity import IdentityCounts
from nerve.demo.inbox import Inbox
from nerve.demo.mail_feed import MailFeed, MailFigures
from nerve.demo.mail_pages import mail_router
from nerve.demo.mail_topics import define_topics
from nerve.demo.mail_visits import MailClicks
from nerve.demo.mailbox import DemoMailbox
from nerve.demo.phone_pages import phone_router
from nerve.demo.phones import ACCOUNT_SID, FCM_PROJECT, SENDER, PhoneNetwork
from nerve.demo.promotions import Promotions
from nerve.demo.recipients import Recipients
from nerve.demo.sends import SendLog
from nerve.demo.server import DemoError, DemoServer
from nerve.demo.shop_backend import RECEIVER_NETWORK, ShopBackend
from nerve.demo.shop_pages import shop_router
from nerve.demo.simulator import Simulator
from nerve.demo.stock import stock_catalog
from nerve.demo.team_alerts import TeamChannel
from nerve.demo.vault_key import demo_key
from nerve.demo.workspace import DemoWorkspace, prepare_workspace
from nerve.outbound.policy import OutboundPolicy
from nerve.secrets.vault import Vault
from nerve.services import provide_services
from nerve.settings import Settings

# Always the embedded database in the working directory, whatever NERVE_DATABASE_URL says:
# the demo must never write its invented customers into a real shop's database.
DATABASE_FILE = "nerve-demo.db"
# The demo shop's mail: from an address under a reserved name (RFC 2606), to the demo's own SMTP
# server, whatever NERVE_SMTP_URL says — the demo must never mail its invented customers.
EMAIL_FROM = f"{SHOP_NAME} <hello@strideandtrail.example>"
IMPRINT = f"{SHOP_NAME} GmbH (invented for the Nerve demo), Torstraße 1, 10119 Berlin"


class DemoSettings(BaseSettings):
    """The simulated customers' knobs (the acceptance test runs them twenty times faster)."""

    model_config = SettingsConfigDict(env_prefix="NERVE_DEMO_", env_file=".env", extra="ignore")

    speed: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="Run the simulated customers this many times faster (`--speed` wins).",
    )
    seed: int = Field(default=7, description="Another number simulates other customers.")


def run_demo(
    *, host: str, port: int, customers: int, duration: float | None, speed: float | None = None
) -> None:
    console = Console(highlight=False)
    try:
        healthy = _run(console, host, port, customers, duration, speed)
    except DemoError as exc:
        Console(stderr=True).print(f"[red]error[/red] {exc.message}")
        raise SystemExit(1) from None
    except KeyboardInterrupt:  # Ctrl-C while setting up, before the demo handles signals
        raise SystemExit(130) from None
    if not healthy:
        raise SystemExit(1)


def demo_settings(host: str, port: int, smtp_url: str = "", phones_url: str = "") -> Settings:
    url_host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in url_host and not url_host.startswith("["):
        url_host = f"[{url_host}]"
    settings = Settings(
        database_url=f"sqlite:///{DATABASE_FILE}",
        host=host,
        port=port,
        public_url=f"http://{url_host}:{port}",
        smtp_url=smtp_url,
        email_from=EMAIL_FROM,
        unsubscribe_mailto="",
        shop_name=SHOP_NAME,
        shop_url=SHOP_URL,
        # A resume link in a reminder sends the browser to the shop's cart page with the cart
        # token; the demo's customers read the cart there with it.
        shop_cart_url=f"{SHOP_URL}/cart",
        shop_imprint=IMPRINT,
        # SMS and app pushes go to the demo's own phone network, whatever NERVE_SMS_URL and
        # NERVE_PUSH_FCM_URL say: the demo must never text or push its invented customers.
        sms_url=phones_url,
        sms_account_sid=ACCOUNT_SID,
        sms_from=SENDER,
        sms_messaging_service_sid="",
        push_fcm_url=phones_url or "https://fcm.invalid",
        push_fcm_project=FCM_PROJECT,
    )
    if "log_level" not in settings.model_fields_set:
        # The demo's screen says what happens; logs only speak up about problems, unless
        # NERVE_LOG_LEVEL asks for more.
        settings.log_level = "warning"
    # The demo's shop backend, phone network and Slack channel listen on loopback, which Nerve
    # calls only when allowed: the demo allows its own, next to what NERVE_OUTBOUND_ALLOW says.
    settings.outbound_allow = [*settings.outbound_allow, RECEIVER_NETWORK]
    return settings


@dataclass
class _Parts:
    """What one demo run is made of, beside the server."""

    workspace: DemoWorkspace
    identity: IdentityCounts
    simulator: Simulator
    backend: ShopBackend
    flow: PublishedFlow
    inbox: Inbox
    mail: MailFeed
    carts: CartFlowCounts
    channels: DemoChannels
    channel_feed: ChannelFeed
    recipients: Recipients
    back_office: BackOffice
    audiences: AudienceSetup
    promotions: Promotions
    audience_feed: AudienceFeed


@dataclass
class _Places:
    """The demo's stand-ins for the world outside Nerve: mail, phones, the team's Slack."""

    mailbox: DemoMailbox
    phones: PhoneNetwork
    team: TeamChannel


def _run(
    console: Console,
    host: str,
    port: int,
    customers: int,
    duration: float | None,
    speed: float | None,
) -> bool:
    """Run the demo; False when the simulated customers failed."""
    knobs = _knobs(speed)
    if customers < 0:
        raise DemoError("--customers must be 0 or more")
    # The demo's own SMTP server and phone network: every mail, SMS and push Nerve sends in
    # the demo goes there, nowhere else.
    with _places() as places:
        settings = demo_settings(host, port, places.mailbox.url, places.phones.url)
        key, key_file = demo_key(settings.secret_key.get_secret_value(), _database().parent)
        settings.secret_key = SecretStr(key)
        # The demo's own engine, next to the server's: it reads the figures for the screen.
        with provide_services(settings, migrate_schema=True) as services:
            parts = _prepare(services.engine, services.vault, settings, places, knobs, customers)
            routers = [mail_router(places.mailbox),
                       phone_router(places.phones, places.team, parts.recipients),
                       shop_router(services.engine, parts.workspace.workspace_id,
                                   parts.simulator, parts.back_office),
                       head_router(parts.simulator.heads)]  # fmt: skip
            server = DemoServer(settings, routers)
            stop = threading.Event()
            parts.backend.start()
            places.phones.start()
            with _stopped_by_signals(stop, server):
                try:
                    server.start(settings.base_url)
                    display.welcome(console, parts.workspace, settings.base_url, _database(),
                                    parts.simulator.customers, knobs.speed, parts.flow,
                                    parts.backend.url, places.mailbox.url,
                                    parts.channels, parts.audiences)  # fmt: skip
                    elapsed = _simulate(console, parts, stop, duration)
                finally:
                    server.stop()  # first: mails and webhooks being sent still arrive
                    parts.backend.stop()
            return _report(console, parts, knobs.speed, elapsed, key_file)


@contextmanager
def _places() -> Iterator[_Places]:
    with DemoMailbox() as mailbox:
        phones, team = PhoneNetwork(), TeamChannel()
        try:
            yield _Places(mailbox, phones, team)
        finally:
            phones.stop()
            team.close()


def _prepare(
    engine: Engine, vault: Vault, settings: Settings, places: _Places, knobs: DemoSettings,
    customers: int,
) -> _Parts:  # fmt: skip
    """The workspace, the templates and the flows saved; the customers, their inbox and what
    counts for the screen made."""
    workspace = prepare_workspace(engine)
    ws = workspace.workspace_id
    clicks = MailClicks()  # from the customers' inbox to the customers in the shop
    # The catalogue into Nerve's catalog, and the shop's Shopify connector.
    shelves = stock_catalog(engine, ws)
    connector = shopify.connect(engine, vault, ws)
    back_office = BackOffice(settings.base_url, connector, workspace.admin_key, shelves,
                             speed=knobs.speed, seed=knobs.seed)  # fmt: skip
    heads = HeadLog(settings.base_url)
    simulator = Simulator(settings.base_url, workspace.write_keys, customers, speed=knobs.speed,
                          seed=knobs.seed, mail_clicks=clicks, api_key=workspace.admin_key,
                          staff_key=workspace.staff_key, back_office=back_office,
                          heads=heads)  # fmt: skip
    promotions = Promotions(settings.base_url, workspace.admin_key, speed=knobs.speed,
                            orders=lambda: back_office.figures().orders)  # fmt: skip
    backend = _shop_backend(engine, ws, settings.port)
    save_templates(engine, ws)
    define_topics(engine, ws)
    outbound = OutboundPolicy.configured(settings)
    flow = publish_flow(engine, ws, backend.url, knobs.speed, outbound)
    channels = prepare_channels(engine, vault, outbound, ws, knobs.speed, places.phones,
                                places.team)  # fmt: skip
    # Segments, slots and the flows for a segment's members: after the consent topics their
    # segments and flows name.
    audiences = prepare_audiences(engine, ws, knobs.speed, outbound)
    sends = SendLog(engine, ws, FLOW_NAME)
    inbox = Inbox(settings.base_url, simulator.customers, speed=knobs.speed, seed=knobs.seed,
                  clicks=clicks)  # fmt: skip
    places.mailbox.on_arrival(inbox.deliver)
    recipients = Recipients(simulator.customers)
    return _Parts(
        workspace=workspace,
        identity=IdentityCounts(engine, ws),
        simulator=simulator,
        backend=backend,
        flow=flow,
        inbox=inbox,
        mail=MailFeed(places.mailbox, sends, inbox, clicks, simulator.customers, settings.base_url),
        carts=CartFlowCounts(engine, ws, sends, backend),
        channels=channels,
        channel_feed=ChannelFeed(places.phones, places.team, sends, recipients, settings.base_url),
        recipients=recipients,
        back_office=back_office,
        audiences=audiences,
        promotions=promotions,
        audience_feed=AudienceFeed(engine, ws, audiences.segments, heads, promotions),
    )


def _shop_backend(engine: Engine, workspace_id: str, demo_port: int) -> ShopBackend:
    """Listen where the published flow already sends its webhook, if that port is free: no new
    flow version, and webhooks due since the last demo run reach this one."""
    stored = stored_receiver_port(engine, workspace_id)
    try:
        return ShopBackend([stored] if stored != demo_port else [])
    except OSError as exc:
        raise DemoError(f"cannot start the demo's shop backend: {exc}") from None


def _knobs(speed: float | None) -> DemoSettings:
    try:
        knobs = DemoSettings()
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = f"NERVE_DEMO_{str(problem['loc'][0]).upper()}"
        raise DemoError(f"{name}: {problem['msg'].lower()}") from None
    if speed is not None:
        knobs.speed = speed
    if knobs.speed <= 0:
        raise DemoError("the speed must be above 0")
    return knobs


def _simulate(
    console: Console, parts: _Parts, stop: threading.Event, duration: float | None
) -> float:
    """Customers shop and read their mail on threads of their own while this one shows what
    happens; returns how long."""
    started = time.monotonic()
    deadline = None if duration is None else started + duration
    threads = [
        threading.Thread(target=parts.simulator.run, args=(stop,), name="nerve-demo-customers"),
        threading.Thread(target=parts.inbox.run, args=(stop,), name="nerve-demo-inbox"),
        threading.Thread(target=parts.back_office.run, args=(stop,), name="nerve-demo-shop"),
        threading.Thread(target=parts.promotions.run, args=(stop,), name="nerve-demo-marketing"),
    ]
    for thread in threads:
        thread.start()
    try:
        display.watch(console, parts.simulator.stats, parts.identity.figures, parts.carts.figures,
                      lambda: _news(parts), stop, deadline)  # fmt: skip
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return time.monotonic() - started


def _news(parts: _Parts) -> tuple[list[Text], MailFigures, ChannelFigures, CommerceFigures]:
    """What happened since the last call, one line each: mail first (it reads the message log
    the channels' lines need), then SMS, pushes, Slack and the fatigue cap, then Shopify's
    webhooks and the stock, then segments, the heads' banners and broadcasts; and the
    figures."""
    lines = parts.mail.lines() + parts.channel_feed.lines() + parts.back_office.notes()
    lines += parts.audience_feed.lines()
    commerce = commerce_feed.figures(parts.simulator, parts.back_office)
    return lines, parts.mail.figures(), parts.channel_feed.figures(), commerce


def _report(
    console: Console, parts: _Parts, speed: float, elapsed: float, key_file: Path | None
) -> bool:
    simulator = parts.simulator
    for line in _news(parts)[0]:  # what happened while the demo stopped
        console.print(line, soft_wrap=True)
    farewell.farewell(
        console,
        simulator.stats,
        parts.identity.figures(fresh=True),
        parts.carts.figures(fresh=True),
        parts.mail.figures(),
        parts.channel_feed.figures(),
        commerce_feed.figures(parts.simulator, parts.back_office),
        parts.flow,
        speed,
        elapsed,
        _database(),
        key_file,
        parts.audience_feed.figures(),
    )
    if simulator.error is not None:
        console.print(f"[red]The simulated customers stopped early:[/red] {simulator.error!r}")
        return False
    return True


def _database() -> Path:
    return Path(DATABASE_FILE).resolve()


@contextmanager
def _stopped_by_signals(stop: threading.Event, server: DemoServer) -> Iterator[None]:
    """Ctrl-C or SIGTERM stops the demo gracefully; a second one stops the server at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            server.hurry()
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
