"""The 360° profile: traits with survivorship, computed attributes, timeline, GDPR export/erase."""
