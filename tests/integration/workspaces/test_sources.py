"""Sources by name or id, write-key revocation and rotation, and their audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from nerve.audit.models import AuditRecord
from nerve.db.engine import write_transaction
from nerve.errors import Conflict, InvalidInput, NotFound
from nerve.workspaces import service
from tests.factories import make_shop


def test_a_source_is_found_by_name_or_by_id_in_its_workspace_only(engine: Engine) -> None:
    shop = make_shop(engine)
    other = make_shop(engine, workspace="other shop", kinds=("web",))
    with engine.connect() as conn:
        by_name = service.find_source(conn, shop.workspace_id, "app")
        by_id = service.find_source(conn, shop.workspace_id, shop.source_ids["app"])
        assert by_name == by_id and by_name.name == "app"
        with pytest.raises(NotFound):
            service.find_source(conn, shop.workspace_id, other.source_ids["web"])
        with pytest.raises(NotFound):
            service.find_source(conn, shop.workspace_id, "kiosk")


def test_an_id_wins_over_a_source_named_like_another_sources_id(engine: Engine) -> None:
    shop = make_shop(engine, kinds=("web",))
    web_id = shop.source_ids["web"]
    with write_transaction(engine) as conn:
        service.create_source(conn, shop.workspace_id, web_id, "app")
        assert service.find_source(conn, shop.workspace_id, web_id).name == "web"


def test_revoking_twice_is_a_conflict_and_rotating_makes_a_new_working_key(
    engine: Engine,
) -> None:
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn:
        revoked = service.revoke_write_key(conn, shop.workspace_id, "web", actor="key_admin")
    assert revoked.write_key_revoked_at is not None
    with write_transaction(engine) as conn, pytest.raises(Conflict):
        service.revoke_write_key(conn, shop.workspace_id, "web", actor="key_admin")
    with engine.connect() as conn:
        assert service.find_source_by_write_key(conn, shop.write_keys["web"]) is None
        [listed] = service.list_sources(conn, shop.workspace_id)
        assert listed.write_key_revoked_at == revoked.write_key_revoked_at

    with write_transaction(engine) as conn:
        rotated = service.rotate_write_key(conn, shop.workspace_id, "web", actor="operator")
    assert rotated.write_key != shop.write_keys["web"] and rotated.write_key_revoked_at is None
    with engine.connect() as conn:
        assert service.find_source_by_write_key(conn, rotated.write_key) == rotated
        audit = conn.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.target)
            .where(AuditRecord.action.like("source.%"))
            .order_by(AuditRecord.id)
        ).all()
    assert [tuple(row) for row in audit] == [
        ("key_admin", "source.write_key.revoked", shop.source_ids["web"]),
        ("operator", "source.write_key.rotated", shop.source_ids["web"]),
    ]


def test_nerves_own_source_names_are_reserved(engine: Engine) -> None:
    """Nerve finds its own sources by name; one made by hand under such a name would have a
    working write key, and a head could send "Segment Entered" as Nerve."""
    shop = make_shop(engine, kinds=("web",))
    with write_transaction(engine) as conn, pytest.raises(InvalidInput, match="Nerve's own"):
        service.create_source(conn, shop.workspace_id, "Nerve segments", "server")
    with write_transaction(engine) as conn:
        own = service.own_source(conn, shop.workspace_id, "Nerve segments")
        assert service.find_source(conn, shop.workspace_id, own).write_key_revoked_at is not None
