"""The demo's simulated people and places: customers with their own phones and laptops, and the
stores with their kiosks and tills. All drawn from a seeded random generator, so reproducible.

Contact data is fictional on purpose: e-mail domains are reserved by RFC 2606, phone numbers come
from ranges regulators set aside for fiction (Ofcom 020 7946 0xxx, Bundesnetzagentur 030 23125xxx),
and IP addresses from the documentation ranges of RFC 5737. (Ofcom's fictional mobile range,
07700 900xxx, is no use here: libphonenumber rejects it, so Nerve would not see a phone number.)
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nerve.demo import devices
from nerve.demo.carts import ShopCart
from nerve.demo.catalog import CATEGORIES, Product

if TYPE_CHECKING:
    from nerve.demo.stock import Shelves

FIRST_NAMES = (
    "Anna", "Lena", "Sophie", "Marie", "Emma", "Julia", "Laura", "Sara", "Noor", "Chiara",
    "Lucía", "Camille", "Ingrid", "Aylin", "Hannah", "Lukas", "Jonas", "Felix", "Paul", "Daan",
    "Luca", "Mateo", "Louis", "Oskar", "Finn", "Tom", "Jan", "Milan", "Ben", "Emil",
)  # fmt: skip
LAST_NAMES = (
    "Schmidt", "Müller", "Weber", "Fischer", "Becker", "Wagner", "Hoffmann", "Schulz", "de Vries",
    "Jansen", "van Dijk", "Bakker", "Rossi", "Bianchi", "García", "Martin", "Dubois", "Lindqvist",
    "Hansen", "Novak", "Kowalski", "Yilmaz", "Brown", "O'Neill", "Kaya", "Peeters",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")
SIGNING_UP_SHARE = 0.75  # of the customers, those who sign up for the newsletter at once
TEXTING_SHARE = 0.35  # of them, those who tick "text me about my cart" at a checkout
PUSH_SHARE = 0.6  # of the app's users, those who allow its offers at the notification prompt
RUNNERS_EVERY = 10  # the second customer and every tenth after live the running-shoe story


@dataclass(frozen=True)
class Store:
    code: str
    name: str
    city: str
    country: str
    locale: str
    timezone: str
    ip: str
    latitude: float
    longitude: float

    def kiosk(self, rng: random.Random) -> Device:
        """The in-store kiosk, for one session: a fresh anonymousId, the same hardware."""
        return Device("kiosk", random_uuid(rng), devices.kiosk(self.code, self.location()))

    def till(self, rng: random.Random) -> Device:
        """A till; the anonymousId is per sale so walk-in customers are never linked by it."""
        terminal = f"pos-{self.code.lower()}-0{rng.randint(1, 2)}"
        # 48 random bits: five digits repeat within some hundred sales, and Nerve would rightly
        # merge two customers whose sales shared an anonymousId.
        anonymous_id = f"{terminal}-sale-{rng.getrandbits(48):012x}"
        return Device("pos", anonymous_id, devices.till(terminal, self.location()), flush_at=10)

    def location(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "country": self.country,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "locale": self.locale,
            "timezone": self.timezone,
            "ip": self.ip,
        }


STORES = (
    Store("BER", "Berlin Mitte", "Berlin", "DE", "de-DE", "Europe/Berlin",
          "203.0.113.10", 52.5270, 13.4020),
    Store("HAM", "Hamburg Altona", "Hamburg", "DE", "de-DE", "Europe/Berlin",
          "203.0.113.20", 53.5503, 9.9350),
    Store("AMS", "Amsterdam Jordaan", "Amsterdam", "NL", "nl-NL", "Europe/Amsterdam",
          "203.0.113.30", 52.3752, 4.8840),
)  # fmt: skip


@dataclass(eq=False)
class Device:
    """One head on one device, with the state its Segment SDK keeps between calls."""

    head: str  # the source it reports to: web, app, kiosk or pos
    anonymous_id: str
    context: dict[str, Any]
    user_id: str | None = None
    page: dict[str, Any] | None = None  # web: the page being looked at (context.page)
    traits: dict[str, Any] | None = None  # sent as context.traits with every call
    flush_at: int = 1  # mobile SDKs queue calls and send them in batches
    queue: list[dict[str, Any]] = field(default_factory=list)
    identified: bool = False  # has sent an identify call since the demo started
    push_token: str | None = None  # the app's FCM registration token
    push_registered: bool = False  # has handed its push token to Nerve since the demo started
    cart: ShopCart | None = None  # the server cart this device's head holds a token for

    @property
    def label(self) -> str:
        """What the device is, as the screen names it: phone app, laptop, store tablet."""
        if self.head == "web":
            return "phone browser" if "Mobile" in str(self.context.get("userAgent")) else "laptop"
        return {"app": "phone app", "kiosk": "store kiosk", "pos": "store till"}[self.head]


@dataclass(eq=False)
class Customer:
    index: int
    user_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    home: Store
    devices: list[Device]
    has_account: bool
    favourite_category: str
    phone_os: str  # ios or android
    locale: str
    cart: ShopCart | None = None  # the cart the customer has in mind (the last one used)
    shelves: Shelves | None = None  # what the shop has in stock (None: everything)
    orders: int = 0
    signs_up: bool = False  # for the newsletter, on the first visit
    unsubscribed: bool = False  # left the newsletter with one click (set by the inbox)
    texts_ok: bool = False  # ticks "text me about my cart" at a checkout when signed in
    texting: bool = False  # has ticked it in this run of the demo
    allows_push: bool = False  # allows the app's offers at its notification prompt
    regular: bool = False  # the demo's regular, in three marketing flows at once (regular.py)
    runner: bool = False  # looks at running shoes on her phone; her laptop sees it (runner.py)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def typed_email(self, rng: random.Random) -> str:
        """The address as typed: phones capitalise, people hold shift; shops store it lower case."""
        roll = rng.random()
        if roll < 0.25:
            local, _, domain = self.email.partition("@")
            return (
                f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain.capitalize()}"
            )
        if roll < 0.3:
            return self.email.upper()
        return self.email

    def in_stock(self, product: Product) -> bool:
        return self.shelves is None or self.shelves.in_stock(product)

    def whereabouts(self) -> dict[str, Any]:
        """The context every device of this customer shares."""
        return {"locale": self.locale, "timezone": self.home.timezone}

    def install_app(self, rng: random.Random) -> Device:
        device = app_device(rng, self.phone_os, self.whereabouts())
        self.devices.append(device)
        return device

    def personal_device(self, rng: random.Random, head: str | None = None) -> Device:
        mine = [d for d in self.devices if head is None or d.head == head]
        return rng.choice(mine or self.devices)


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_customers(count: int, seed: int) -> list[Customer]:
    return [_customer(index, random.Random(f"{seed}:customer:{index}")) for index in range(count)]


def _customer(index: int, rng: random.Random) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = "".join(c for c in f"{first}.{last}".lower() if c.isalpha() or c == ".")
    home = rng.choice(STORES)
    has_account = rng.random() < 0.6
    customer = Customer(
        index=index,
        user_id=f"cus_{rng.getrandbits(48):012x}",
        first_name=first,
        last_name=last,
        email=f"{local.translate(_ASCII)}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}",
        phone=_phone(rng, home),
        home=home,
        devices=[],
        has_account=has_account,
        favourite_category=rng.choice(CATEGORIES),
        phone_os=rng.choice(("ios", "android")),
        locale=home.locale if rng.random() < 0.8 else rng.choice(("en-GB", "fr-FR", "it-IT")),
    )
    customer.devices = _personal_devices(rng, customer)
    customer.signs_up = rng.random() < SIGNING_UP_SHARE
    customer.texts_ok = rng.random() < TEXTING_SHARE
    customer.allows_push = rng.random() < PUSH_SHARE
    if index == 0:
        _make_regular(customer, rng)
    elif index % RUNNERS_EVERY == 1:
        _make_runner(customer, rng)
    return customer


def _make_regular(customer: Customer, rng: random.Random) -> None:
    """The first customer signs up, has an account and the app, allows its offers and ticks
    the SMS box: the one the welcome follows through every channel and the fatigue cap."""
    customer.regular = customer.signs_up = customer.has_account = True
    customer.texts_ok = customer.allows_push = True
    if not any(device.head == "app" for device in customer.devices):
        customer.install_app(rng)


def _make_runner(customer: Customer, rng: random.Random) -> None:
    """The second customer (and every tenth after): an account, the app signed in and allowing
    its offers, and a laptop whose browser has not signed in yet — a device Nerve does not
    know as hers until she signs in there."""
    customer.runner = customer.has_account = customer.allows_push = True
    customer.favourite_category = "Running Shoes"
    app = next((d for d in customer.devices if d.head == "app"), None) or customer.install_app(rng)
    app.user_id = customer.user_id
    customer.devices[0].user_id = None  # the laptop: a desktop browser, always the first device


_ASCII = str.maketrans({"ü": "u", "í": "i", "ç": "c", "'": ""})


def _phone(rng: random.Random, home: Store) -> str:
    if home.country == "DE":
        return f"+49 30 23125{rng.randint(0, 999):03d}"
    return f"+44 20 7946 0{rng.randint(0, 999):03d}"


def _personal_devices(rng: random.Random, customer: Customer) -> list[Device]:
    """Two or three devices: a browser always, the shop's app for three in four customers."""
    where = customer.whereabouts()
    home_ip = f"198.51.100.{rng.randint(2, 254)}"
    phone = customer.phone_os
    found = [_browser(rng, rng.choice(devices.DESKTOP_BROWSERS), where, home_ip)]
    if rng.random() < 0.75:
        found.append(app_device(rng, phone, where))
    if len(found) == 1 or rng.random() < 0.4:
        found.append(_browser(rng, devices.MOBILE_BROWSERS[phone], where, home_ip))
    for device in found:
        if customer.has_account and rng.random() < 0.5:
            device.user_id = customer.user_id
    return found


def _browser(rng: random.Random, user_agent: str, where: dict[str, Any], ip: str) -> Device:
    return Device("web", random_uuid(rng), devices.browser(user_agent, {**where, "ip": ip}))


def app_device(rng: random.Random, platform: str, where: dict[str, Any]) -> Device:
    """The shop's app on the customer's phone, on the mobile network."""
    ip = f"192.0.2.{rng.randint(2, 254)}"
    # The app's device id is new in every run of the demo, as after a reinstall: the app's
    # welcome offer goes once per phone (demo_app_offer), and so shows in every run.
    context = devices.phone_app(platform, str(uuid.uuid4()), {**where, "ip": ip})
    device = Device("app", random_uuid(rng), context, flush_at=5)
    device.push_token = _fcm_token(rng)
    return device


def _fcm_token(rng: random.Random) -> str:
    """Shaped like an FCM registration token: an instance id, a colon, 140 more characters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    instance = "".join(rng.choice(alphabet) for _ in range(22))
    return f"{instance}:APA91b" + "".join(rng.choice(alphabet) for _ in range(134))
