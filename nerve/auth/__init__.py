"""Who may do what: secret API keys, the roles they carry, and the permission every admin route
and CLI command declares."""
