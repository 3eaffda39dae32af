"""Secrets: the shop's credentials (SMTP password, DKIM keys, later provider tokens), encrypted
at rest, written through the API and CLI, never read back by either."""
