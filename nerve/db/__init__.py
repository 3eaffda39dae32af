"""Storage: one engine factory, one metadata, and the SQL that differs by dialect."""
