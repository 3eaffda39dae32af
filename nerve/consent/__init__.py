"""Consent: who agreed to which mail, with the proof a data-protection officer can show."""
