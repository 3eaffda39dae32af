"""The event store: every tracked event, deduplicated per source, queryable by the admin API."""
