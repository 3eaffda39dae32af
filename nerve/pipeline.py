"""The attached-event pipeline: every capability that must see each event identity resolution
attaches, in the order they run, inside the resolver's transaction.

Identity imports none of them; the runtime hands this list to the resolver. A capability that
needs to see events (segments, carts, consent, ...) adds its consumer here, at the place its
inputs are ready: flows run last, because their conditions read the person as the consumers
before them left it.
"""

from __future__ import annotations

from nerve.carts.pipeline import apply_cart_events
from nerve.flows.routing import route_events
from nerve.identity.attached import Consumer
from nerve.orders.pipeline import record_orders
from nerve.profiles.pipeline import update_profiles
from nerve.segments.pipeline import update_segments

CONSUMERS: tuple[Consumer, ...] = (
    Consumer("profiles", update_profiles),
    Consumer("orders", record_orders),
    Consumer("carts", apply_cart_events),
    Consumer("segments", update_segments),
    Consumer("flows", route_events),
)
