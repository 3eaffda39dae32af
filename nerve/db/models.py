"""Imports every capability's tables so `Base.metadata` is complete (Alembic, tests)."""

from nerve.audiences import models as audience_models
from nerve.audit import models as audit_models
from nerve.auth import models as auth_models
from nerve.carts import models as cart_models
from nerve.catalog import models as catalog_models
from nerve.channels import models as channel_models
from nerve.channels.push import models as push_models
from nerve.connectors import models as connector_models
from nerve.consent import models as consent_models
from nerve.db.base import Base
from nerve.events import models as event_models
from nerve.flows import digest_models
from nerve.flows import models as flow_models
from nerve.flows.broadcasts import models as broadcast_models
from nerve.identity import models as identity_models
from nerve.orders import models as order_models
from nerve.personalization import models as personalization_models
from nerve.privacy import models as privacy_models
from nerve.profiles import models as profile_models
from nerve.recommendations import models as recommendation_models
from nerve.secrets import models as secret_models
from nerve.segments import models as segment_models
from nerve.webhooks import models as webhook_models
from nerve.workspaces import models as workspace_models

metadata = Base.metadata

__all__ = [
    "audience_models",
    "audit_models",
    "auth_models",
    "broadcast_models",
    "cart_models",
    "catalog_models",
    "channel_models",
    "connector_models",
    "consent_models",
    "digest_models",
    "event_models",
    "flow_models",
    "identity_models",
    "metadata",
    "order_models",
    "personalization_models",
    "privacy_models",
    "profile_models",
    "push_models",
    "recommendation_models",
    "secret_models",
    "segment_models",
    "webhook_models",
    "workspace_models",
]
