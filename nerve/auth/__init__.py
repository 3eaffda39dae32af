"""Secret API keys for the admin API."""
