"""`/api/v1/…/recommendations`: what goes with a product, what to show a person (the shop's
backend, the store tablet), and training on demand."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from nerve.admin_routes import AdminRoute
from nerve.auth.api import requires
from nerve.auth.roles import Permission
from nerve.auth.service import Principal
from nerve.db.session import Db, WriteDb
from nerve.errors import NotFound, documented
from nerve.recommendations import service
from nerve.recommendations.schemas import Kind, Recommendations, TrainingStatus

router = APIRouter(tags=["recommendations"], route_class=AdminRoute)
Reader = Annotated[Principal, requires(Permission.RECOMMENDATIONS_READ)]
Writer = Annotated[Principal, requires(Permission.RECOMMENDATIONS_WRITE)]
_KIND = (
    "bought_together: in the same orders; also_bought: by the same people in other "
    "orders; also_viewed: viewed by the same people"
)
Limit = Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="How many, at most")]


@router.get("/api/v1/products/{sku}/recommendations", response_model=Recommendations,
            responses=documented(NotFound))  # fmt: skip
def for_product(
    db: Db, key: Reader, sku: Annotated[str, Path(description="The product's sku")],
    kind: Annotated[Kind, Query(description=_KIND)] = "bought_together",
    limit: Limit = 10,
) -> dict[str, Any]:  # fmt: skip
    """Active, in-stock products that go with this one, best first (empty until a training
    run has seen it with others)."""
    found = service.for_product_checked(db, key.workspace_id, sku, kind=kind, limit=limit)
    return {"items": found}


@router.get("/api/v1/profiles/{profile_id}/recommendations", response_model=Recommendations,
            responses=documented(NotFound))  # fmt: skip
def for_profile(
    db: Db, key: Reader, profile_id: Annotated[str, Path(description="Any profile id of the "
                                                       "person")], limit: Limit = 10,
) -> dict[str, Any]:  # fmt: skip
    """What to show this person: consumables due again, the model's picks from their views,
    cart adds and purchases, then bestsellers; never what they bought or have in their cart."""
    return {"items": service.for_profile(db, key.workspace_id, profile_id, limit=limit)}


@router.post("/api/v1/recommendations/train", response_model=TrainingStatus, status_code=202)
def train(db: WriteDb, key: Writer) -> dict[str, Any]:
    """Queue a training run of this workspace's recommendations; a worker starts it within
    seconds. The answer shows the queue and the latest runs."""
    return service.queue_training(db, key.workspace_id)


@router.get("/api/v1/recommendations/training", response_model=TrainingStatus)
def training_status(db: Db, key: Reader) -> dict[str, Any]:
    """When the workspace trains next and its latest runs (counts, seconds per step)."""
    return service.training_status(db, key.workspace_id)
