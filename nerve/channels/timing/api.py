"""`/api/v1/delivery-policy`: the workspace's fatigue cap, quiet hours and best-send-time
fallback (docs/delivery-policy.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.channels.timing import policy
from nerve.channels.timing.policy import DeliveryPolicy
from nerve.db.session import Db, WriteDb

router = APIRouter(prefix="/api/v1/delivery-policy", tags=["messages"], route_class=AdminRoute)


@router.get("", response_model=DeliveryPolicy)
def get_policy(
    db: Db, key: Annotated[Principal, requires(Permission.DELIVERY_POLICY_READ)]
) -> DeliveryPolicy:
    """The policy every marketing send is decided by; the defaults (no cap, no quiet hours)
    until one is saved."""
    return policy.load(db, key.workspace_id, fresh=True)


@router.put("", response_model=DeliveryPolicy)
def put_policy(
    db: WriteDb,
    key: Annotated[Principal, requires(Permission.DELIVERY_POLICY_WRITE)],
    document: DeliveryPolicy,
) -> DeliveryPolicy:
    """Replace the policy (audited); it applies to the sends decided from then on (in other
    processes than this one within 5 seconds)."""
    return policy.save(db, key.workspace_id, document, actor=key.key_id)
