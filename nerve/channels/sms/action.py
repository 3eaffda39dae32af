"""What a `send_sms` node's `with` may say beside the options every send has."""

from __future__ import annotations

from typing import Any

# max_segments: the most SMS parts this step's message may take (NERVE_SMS_MAX_SEGMENTS
# otherwise); 10 is the most Twilio advises for a message to arrive whole.
PARAMETERS: tuple[str, ...] = ("max_segments",)
MOST_SEGMENTS = 10


def parameter_problems(params: dict[str, Any]) -> list[dict[str, str]]:
    limit = params.get("max_segments")
    if limit is None:
        return []
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MOST_SEGMENTS:
        return [{"path": "max_segments", "reason": f"a whole number from 1 to {MOST_SEGMENTS}"}]
    return []
