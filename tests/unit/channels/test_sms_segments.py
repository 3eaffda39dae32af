"""SMS segments as handsets and Twilio count them: GSM-7 (its extension table counting double)
against UCS-2, 160/153 and 70/67 units per segment, no part split inside an escape or an emoji."""

from __future__ import annotations

import pytest

from nerve.channels.sms.segments import count


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("Your order S-77 has shipped", "GSM-7", 1),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),  # 2 x 153
        ("a" * 307, "GSM-7", 3),
        ("Grüße aus Köln, Ñandù à Ågård", "GSM-7", 1),  # all in the default alphabet
        ("Grüße aus Köln, Ñandú", "UCS-2", 1),  # ú is not (ù is)
        ("€" * 80, "GSM-7", 1),  # the extension table: escape + character, 160 septets
        ("€" * 81, "GSM-7", 2),
        # 306 septets would fill two parts of 153, but the € after 152 septets does not fit
        # the first part (escape and character stay together): it opens the second.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3),
        ("a" * 153 + "a" * 153, "GSM-7", 2),
        ("ł" * 70, "UCS-2", 1),  # one character outside GSM-7 makes the whole text UCS-2
        ("a" * 69 + "ł", "UCS-2", 1),
        ("a" * 70 + "ł", "UCS-2", 2),
        ("ł" * 134, "UCS-2", 2),  # 2 x 67
        ("ł" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 code units
        ("😀" * 36, "UCS-2", 2),
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 3),  # the emoji does not fit after 66 units
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    counted = count(text)
    assert (counted.encoding, counted.count) == (encoding, segments)
    assert counted.characters == len(text)


def test_the_log_gets_the_count_the_encoding_and_the_length() -> None:
    assert count("Hi 😀").as_details() == {"segments": 1, "encoding": "UCS-2", "characters": 4}
    assert count("{x}").units == 5  # braces are in the extension table
