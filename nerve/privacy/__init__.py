"""Personal data: export everything held about a person, erase it everywhere, and keep erased
identifiers suppressed. Each capability says what it holds in its own `privacy.py`; the
registry lists them."""
