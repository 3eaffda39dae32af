"""The demo shop's fixed catalogue: a small running-gear assortment with brands and EUR prices.

The shop and its brands are invented; its web addresses use the reserved `.example` top-level
domain (RFC 2606), so nothing the demo sends points at a real site.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SHOP_NAME = "Stride & Trail"
SHOP_URL = "https://strideandtrail.example"
IMAGE_URL = "https://cdn.strideandtrail.example/products"
CURRENCY = "EUR"


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    brand: str
    category: str
    variant: str
    price: Decimal

    @property
    def sku(self) -> str:
        return f"{self.product_id}-{self.variant.split(' / ')[-1].replace(' ', '')}"

    @property
    def slug(self) -> str:
        return "-".join("".join(c for c in self.name.lower() if c.isalnum() or c == " ").split())

    @property
    def path(self) -> str:
        return f"/p/{self.slug}"

    @property
    def url(self) -> str:
        return f"{SHOP_URL}{self.path}"

    @property
    def image_url(self) -> str:
        return f"{IMAGE_URL}/{self.product_id.lower()}.jpg"


def _product(
    product_id: str, name: str, brand: str, category: str, variant: str, price: str
) -> Product:
    return Product(product_id, name, brand, category, variant, Decimal(price))


PRODUCTS: tuple[Product, ...] = (
    _product(
        "RUN-001", "Velocity 3", "Stridewell", "Running Shoes", "Ocean Blue / EU 42", "139.95"
    ),
    _product("RUN-002", "Tempo Glide", "Pacer Lab", "Running Shoes", "Black / EU 44", "119.00"),
    _product("RUN-003", "Cloudline Max", "Stridewell", "Running Shoes", "Coral / EU 39", "159.95"),
    _product("TRL-001", "Ridgeback GTX", "Ridgeline", "Trail Shoes", "Moss / EU 43", "169.00"),
    _product("TRL-002", "Scree Runner 2", "Fjellstig", "Trail Shoes", "Slate / EU 41", "144.50"),
    _product("TRL-003", "Summit Sky", "Ridgeline", "Trail Shoes", "Amber / EU 40", "154.95"),
    _product("SCK-001", "Merino Crew Socks 2-Pack", "Norrland", "Socks", "Grey / 39-42", "24.95"),
    _product("SCK-002", "Blister Guard Low", "Pacer Lab", "Socks", "White / 43-46", "16.50"),
    _product("SCK-003", "Compression Sleeves", "Stridewell", "Socks", "Black / M", "34.90"),
    _product("JKT-001", "Stormshell Jacket", "Norrland", "Jackets", "Navy / M", "189.00"),
    _product("JKT-002", "Featherlite Wind Jacket", "Pacer Lab", "Jackets", "Lime / S", "99.95"),
    _product("JKT-003", "Thermal Hybrid Vest", "Fjellstig", "Jackets", "Black / L", "129.00"),
    _product(
        "APP-001", "Split Shorts 5in", "Stridewell", "Shorts & Tights", "Graphite / M", "44.95"
    ),
    _product("APP-002", "Winter Tights", "Norrland", "Shorts & Tights", "Black / S", "69.95"),
    _product("ACC-001", "Hydration Vest 8L", "Ridgeline", "Accessories", "Forest / M", "119.00"),
    _product("ACC-002", "Headlamp 400", "Fjellstig", "Accessories", "Black / One Size", "54.90"),
    _product(
        "ACC-003", "Energy Gel 12-Pack", "Pacer Lab", "Accessories", "Salted Caramel", "29.40"
    ),
)

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(p.category for p in PRODUCTS))

# What people type into the search box, with the category they are after.
SEARCHES: tuple[tuple[str, str], ...] = (
    ("running shoes", "Running Shoes"),
    ("cushioned road shoe", "Running Shoes"),
    ("trail shoes waterproof", "Trail Shoes"),
    ("gtx", "Trail Shoes"),
    ("merino socks", "Socks"),
    ("rain jacket", "Jackets"),
    ("wind jacket", "Jackets"),
    ("winter tights", "Shorts & Tights"),
    ("hydration vest", "Accessories"),
    ("headlamp", "Accessories"),
)

# Small things that are added to a cart next to a pair of shoes.
ADD_ONS: tuple[str, ...] = ("SCK-001", "SCK-002", "ACC-003")


def category_slug(category: str) -> str:
    return category.lower().replace(" & ", "-").replace(" ", "-")


def in_category(category: str) -> list[Product]:
    return [p for p in PRODUCTS if p.category == category]


def product(product_id: str) -> Product:
    return next(p for p in PRODUCTS if p.product_id == product_id)


def by_sku(sku: str) -> Product | None:
    return next((p for p in PRODUCTS if p.sku == sku), None)
