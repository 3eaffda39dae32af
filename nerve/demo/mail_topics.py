"""The demo shop's second email topic, beside the `newsletter` every workspace has: the
preference page every reminder links to offers both, and a few customers choose on it."""

from __future__ import annotations

from sqlalchemy import Engine

from nerve.consent import topics
from nerve.db.engine import write_transaction

BACK_IN_STOCK = topics.Topic(
    "email", "back-in-stock", "Back in stock", "A mail when a product you wanted is available again"
)


def define_topics(engine: Engine, workspace_id: str) -> None:
    """Define the topic as a builder would (`PUT /api/v1/consent/topics/email/back-in-stock`);
    unchanged, it is left alone, so a rerun adds nothing to the audit log."""
    with write_transaction(engine) as conn:
        if BACK_IN_STOCK not in topics.listed(conn, workspace_id, BACK_IN_STOCK.channel):
            topics.put(conn, workspace_id, BACK_IN_STOCK, actor="nerve demo")
