"""Segment-compatible HTTP Tracking API: the heads report behaviour here."""
