"""The catalog quality report: products missing what shopping feeds and accessible shops ask
for (an image, its alt text, a GTIN, a category), and attribute values spelled several ways
within one category ("XL", "xl", "X-Large"; "Grey", "Gray"), which split filters and facets."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from nerve.catalog.events import missing
from nerve.catalog.models import Product
from nerve.db.base import table

_LISTED_SKUS = 100
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
# Spellings that mean the same value once case and punctuation are gone.
_SAME = {
    "extrasmall": "xs", "xsmall": "xs", "small": "s", "medium": "m", "large": "l",
    "extralarge": "xl", "xlarge": "xl", "xxlarge": "xxl", "2xl": "xxl", "extraextralarge": "xxl",
    "3xl": "xxxl", "xxxlarge": "xxxl", "grey": "gray", "colour": "color",
}  # fmt: skip


def same_value(value: Any) -> str:
    """The value every spelling of it shares: "X-Large", "xlarge" and "XL" are all "xl"."""
    key = _NOT_ALPHANUMERIC.sub("", str(value).lower())
    return _SAME.get(key, key)


def _spellings(rows: list[Any]) -> list[dict[str, Any]]:
    seen: dict[tuple[str | None, str, str], Counter[str]] = {}
    for row in rows:
        for name, value in (row.attributes or {}).items():
            key = (row.category, same_value(name), same_value(value))
            seen.setdefault(key, Counter())[str(value)] += 1
    problems = []
    for (category, attribute, _), counts in sorted(seen.items(), key=lambda i: str(i[0])):
        if len(counts) > 1:
            problems.append({"category": category, "attribute": attribute,
                             "spellings": dict(counts.most_common()),
                             "suggested": counts.most_common(1)[0][0]})  # fmt: skip
    return problems


def report(conn: Connection, workspace_id: str) -> dict[str, Any]:
    """The report over the workspace's active and draft products (archived ones are gone
    from the shop)."""
    products = table(Product).c
    rows = list(conn.execute(
        select(products.sku, products.category, products.gtin, products.image_url,
               products.image_alt, products.attributes)
        .where(products.workspace_id == workspace_id, products.status != "archived")
        .order_by(products.sku)
    ))  # fmt: skip
    failing: dict[str, list[str]] = {"image": [], "image_alt": [], "gtin": [], "category": []}
    for row in rows:
        for check in missing(dict(row._mapping)):
            failing[check].append(row.sku)
    return {
        "products": len(rows),
        "missing": {check: len(skus) for check, skus in failing.items()},
        "missing_skus": {check: skus[:_LISTED_SKUS] for check, skus in failing.items()},
        "inconsistent_attributes": _spellings(rows),
    }
