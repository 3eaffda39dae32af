"""What training learns from, as plain arrays: who bought what in which order, who put what in
a cart and who viewed what, over the skus of the catalog. Built by `reading.py` from the
database and by the quality benchmark from generated orders alike."""

from __future__ import annotations

from dataclasses import dataclass, field

# How strongly an act says "wants this" (as profiles weigh interests): a purchase outweighs a
# cart add, a cart add a view.
PURCHASE, CART_ADD, VIEW = 5.0, 3.0, 1.0


@dataclass
class Interactions:
    """Index-coded acts. `items[i]` is a sku, `people[p]` a person id; orders are numbered."""

    items: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    # One row per (order, sku): person, item, order number.
    bought: list[tuple[int, int, int]] = field(default_factory=list)
    # Age in days of each `bought` row (popularity counts recent sales more).
    bought_age: list[float] = field(default_factory=list)
    carted: list[tuple[int, int]] = field(default_factory=list)
    viewed: list[tuple[int, int]] = field(default_factory=list)
    _item_index: dict[str, int] = field(default_factory=dict, repr=False)
    _person_index: dict[str, int] = field(default_factory=dict, repr=False)
    _order_index: dict[object, int] = field(default_factory=dict, repr=False)

    def item(self, sku: str) -> int:
        found = self._item_index.get(sku)
        if found is None:
            found = self._item_index[sku] = len(self.items)
            self.items.append(sku)
        return found

    def person(self, person_id: str) -> int:
        found = self._person_index.get(person_id)
        if found is None:
            found = self._person_index[person_id] = len(self.people)
            self.people.append(person_id)
        return found

    def order(self, key: object) -> int:
        found = self._order_index.get(key)
        if found is None:
            found = self._order_index[key] = len(self._order_index)
        return found

    @property
    def order_count(self) -> int:
        return len(self._order_index)

    def add_purchase(
        self, person_id: str, order_key: object, sku: str, age_days: float = 0.0
    ) -> None:
        self.bought.append((self.person(person_id), self.item(sku), self.order(order_key)))
        self.bought_age.append(max(age_days, 0.0))

    def add_cart(self, person_id: str, sku: str) -> None:
        self.carted.append((self.person(person_id), self.item(sku)))

    def add_view(self, person_id: str, sku: str) -> None:
        self.viewed.append((self.person(person_id), self.item(sku)))

    def counts(self) -> dict[str, int]:
        return {"items": len(self.items), "people": len(self.people),
                "orders": self.order_count, "order_lines": len(self.bought),
                "cart_adds": len(self.carted), "views": len(self.viewed)}  # fmt: skip
