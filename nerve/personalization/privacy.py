"""Personal data in personalization: which variants a person (or a device of theirs) was shown."""

from __future__ import annotations

from nerve.personalization import impressions
from nerve.privacy.subject import PersonalData

SLOT_IMPRESSIONS = PersonalData(
    "slot_impressions", ("slot_impressions",), erase=impressions.erase, export=impressions.export
)
