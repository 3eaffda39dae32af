"""The demo workspace: one source per head of the shop and an admin key, reused across runs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from nerve.auth.service import create_key
from nerve.db.engine import write_transaction
from nerve.workspaces.service import SourceInfo, create_source, ensure_workspace, list_sources

DEMO_WORKSPACE = "demo"
# The demo's sources are named after their kind: one website, one app, the kiosks, the tills.
HEADS = ("web", "app", "kiosk", "pos")


@dataclass(frozen=True)
class DemoWorkspace:
    workspace_id: str
    sources: list[SourceInfo]
    admin_key: str
    staff_key: str  # the store tablets': look a customer up, view and edit the cart

    @property
    def write_keys(self) -> dict[str, str]:
        return {source.name: source.write_key for source in self.sources}


def prepare_workspace(engine: Engine) -> DemoWorkspace:
    """Create what is missing; new admin and staff keys every run, as secrets are only shown
    once."""
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, DEMO_WORKSPACE)
        existing = {source.name for source in list_sources(conn, workspace_id)}
        for head in HEADS:
            if head not in existing:
                create_source(conn, workspace_id, head, head)
        key = create_key(conn, workspace_id, "admin")
        staff = create_key(conn, workspace_id, "staff")
        by_name = {source.name: source for source in list_sources(conn, workspace_id)}
    heads = [by_name[head] for head in HEADS]
    return DemoWorkspace(workspace_id, heads, key.secret_key, staff.secret_key)
