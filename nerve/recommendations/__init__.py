"""Recommendations: frequently bought together, also bought/viewed, per person, popularity."""
