"""Durations a marketer writes: `2h`, `30m`, `1d 12h`, `90s`, `2w`, or ISO 8601 `PT2H`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Ten years: longer waits are typos, and past ~2.7 million years no timedelta can hold one.
MAX_DAYS = 3650
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_ISO = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    raw = text.strip().lower().replace(",", " ")
    iso = _ISO.match(text.strip().upper())
    if iso and any(iso.groupdict().values()):
        parts = {k: float(v or 0) for k, v in iso.groupdict().items()}
        seconds = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    else:
        found = _PART.findall(raw)
        if not found or _PART.sub("", raw).strip():
            raise ValueError(f"{text!r} is not a duration; write e.g. 2h, 30m, 1d 12h or PT2H")
        seconds = sum(float(number) * _UNITS[unit] for number, unit in found)
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    if seconds > MAX_DAYS * 86400:
        raise ValueError(f"a duration is at most {MAX_DAYS} days")
    return timedelta(seconds=seconds)
