"""The shape of a person's data export: one section per registered kind of personal data."""

from __future__ import annotations

from pydantic import BaseModel, Field

from nerve.audiences.schemas import ExportedAudienceMembership
from nerve.carts.schemas import ExportedCart
from nerve.channels.push.schemas import PushSubscriptionRecord
from nerve.channels.schemas import LoggedMessage, OptOutRecord
from nerve.connectors.schemas import ExportedDelivery
from nerve.consent.schemas import ConsentRecord
from nerve.events.schemas import Event
from nerve.flows.schemas import ExportedDigest, ExportedRun
from nerve.identity.schemas import MergeRecord
from nerve.orders.schemas import OrderRecord
from nerve.personalization.schemas import ShownSlot
from nerve.profiles.schemas import Person, TraitObservation
from nerve.segments.schemas import SegmentExport


class ProfileExport(BaseModel):
    """Everything held about one person (GDPR Art. 15 and 20)."""

    profile: Person
    trait_history: list[TraitObservation] = Field(description="Every trait value ever seen")
    orders: list[OrderRecord]
    carts: list[ExportedCart] = Field(
        default_factory=list, description="The person's carts with their lines and merges"
    )
    audience_members: list[ExportedAudienceMembership] = Field(
        default_factory=list,
        description="Ad-platform audiences the person was sent to (as hashes) and not removed from",
    )
    shop_deliveries: list[ExportedDelivery] = Field(
        default_factory=list,
        description="Shop webhooks naming the person that were kept (dead-lettered), with bodies",
    )
    merges: list[MergeRecord]
    events: list[Event]
    flow_runs: list[ExportedRun] = Field(description="The person's runs through flows, with steps")
    messages: list[LoggedMessage] = Field(description="Every message sent, skipped or bounced")
    consents: list[ConsentRecord] = Field(description="Consents with their proof records")
    digests: list[ExportedDigest] = Field(
        description="Events of the person collected by flows' digest nodes"
    )
    opt_outs: list[OptOutRecord] = Field(
        description="What the person left on the preference page: everything, a channel, a flow"
    )
    push_subscriptions: list[PushSubscriptionRecord] = Field(
        description="Browsers and apps that get push messages, by the identifier they were "
        "registered under"
    )
    slot_impressions: list[ShownSlot] = Field(
        description="Personalization decisions shown: slot, variant, experiment arm"
    )
    segments: SegmentExport | None = Field(
        default=None, description="The segments the person is in, and their entries and exits"
    )
