"""A generated shop's history with the structure real orders have, for the quality benchmark
(bench/recommendations_quality.py) and its unit test: products in categories and brands with
a skewed popularity, people with tastes, consumables bought again from a loyal brand about
every usage period, complements bought together (a shoe with its sock), views before a buy.
Deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# Category → (share of the catalog, usage days for consumables, complement category).
CATEGORIES: dict[str, tuple[int, int | None, str | None]] = {
    "Running > Shoes": (12, None, "Running > Socks"),
    "Running > Socks": (8, None, None),
    "Running > Bottles": (6, None, None),
    "Outdoor > Jackets": (10, None, "Outdoor > Gloves"),
    "Outdoor > Gloves": (6, None, None),
    "Home > Coffee": (10, 30, "Home > Filters"),
    "Home > Filters": (4, 45, None),
    "Home > Tea": (8, 30, None),
    "Sport > Nutrition": (10, 21, "Running > Bottles"),
    "Apparel > Shirts": (14, None, "Apparel > Caps"),
    "Apparel > Caps": (6, None, None),
    "Kids > Toys": (6, None, None),
}
BRANDS = 20


@dataclass(frozen=True)
class Product:
    sku: str
    category: str
    brand: str
    usage_days: int | None


@dataclass(frozen=True)
class Order:
    person: str
    day: float  # days since the start of the history
    skus: tuple[str, ...]
    viewed: tuple[str, ...]  # what the person looked at before this order


@dataclass
class Shop:
    products: list[Product]
    orders: list[Order] = field(default_factory=list)

    @property
    def category_of(self) -> dict[str, str | None]:
        return {p.sku: p.category for p in self.products}

    @property
    def usage_days(self) -> dict[str, int | None]:
        return {p.sku: p.usage_days for p in self.products}


def _catalog(count: int, rng: random.Random) -> dict[str, list[Product]]:
    shares = sum(share for share, _, _ in CATEGORIES.values())
    found: dict[str, list[Product]] = {}
    for category, (share, usage, _) in CATEGORIES.items():
        size = max(3, round(count * share / shares))
        prefix = category.split(" > ")[1][:4].upper()
        found[category] = [
            Product(f"{prefix}-{n:03d}", category, f"Brand {rng.randrange(BRANDS)}", usage)
            for n in range(size)
        ]
    return found


def _zipf(items: list[Product], rng: random.Random) -> Product:
    """Popularity skew: the k-th item is picked about 1/k as often as the first."""
    weights = [1.0 / (k + 1) for k in range(len(items))]
    return rng.choices(items, weights)[0]


def _complement(product: Product, catalog: dict[str, list[Product]]) -> Product | None:
    """Each product's own complement (the shoe's sock): fixed by its position."""
    target = CATEGORIES[product.category][2]
    if target is None:
        return None
    pool = catalog[target]
    return pool[int(product.sku.rsplit("-", 1)[1]) % len(pool)]


def generate(people: int = 5000, products: int = 500, days: int = 365, seed: int = 13) -> Shop:
    rng = random.Random(seed)
    catalog = _catalog(products, rng)
    shop = Shop([p for items in catalog.values() for p in items])
    names = list(CATEGORIES)
    for n in range(people):
        person = f"person-{n:05d}"
        tastes = rng.sample(names, 2)
        staple = _zipf(catalog[rng.choice(names)], rng)  # loyal to one consumable, maybe
        day = rng.uniform(0, days * 0.6)
        for _ in range(1 + min(int(rng.expovariate(0.45)), 9)):
            if day > days:
                break
            if staple.usage_days and rng.random() < 0.5:
                main = staple  # the loyal brand again
            else:
                main = _zipf(catalog[rng.choice(tastes)], rng)
            skus = [main.sku]
            extra = _complement(main, catalog)
            if extra is not None and rng.random() < 0.6:
                skus.append(extra.sku)
            if rng.random() < 0.25:
                skus.append(_zipf(catalog[rng.choice(tastes)], rng).sku)
            looked = [_zipf(catalog[main.category], rng).sku for _ in range(rng.randint(1, 4))]
            shop.orders.append(Order(person, day, tuple(dict.fromkeys(skus)),
                                     tuple(dict.fromkeys([*looked, main.sku]))))  # fmt: skip
            day += (main.usage_days or 60) * rng.uniform(0.8, 1.4)
    shop.orders.sort(key=lambda o: (o.day, o.person))
    return shop
