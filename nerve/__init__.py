"""Nerve: the self-hosted marketing-automation brain for headless commerce."""

__version__ = "0.1.0"
