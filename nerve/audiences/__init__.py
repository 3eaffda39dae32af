"""Audience sync: a segment kept in step with an ad platform's custom audience — hashed
identifiers of the members who allow it, added and removed as the membership changes — through
a destination (a signed webhook ships; platform connectors plug in), and a CSV export."""
