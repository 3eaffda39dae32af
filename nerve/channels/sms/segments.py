"""How many SMS an SMS text costs: GSM-7 when every character is in the GSM 03.38 alphabet
(its extension table's characters take two septets, escape and character), UCS-2 otherwise.

3GPP TS 23.040 §9.2.3.24.1: a message longer than one SMS carries a 6-byte concatenation
header in each part, so a part holds 153 septets instead of 160 (GSM-7) and 67 UTF-16 code
units instead of 70 (UCS-2). A part never ends between an escape and its character, nor
between the two halves of a surrogate pair (an emoji), as handsets and Twilio split them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet (the escape, 0x1B, is not a character of a text).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet too.
EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    count: int  # SMS parts the provider bills; 0 for an empty text
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    characters: int

    def as_details(self) -> dict[str, int | str]:
        return {"segments": self.count, "encoding": self.encoding,
                "characters": self.characters}  # fmt: skip


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if all(c in BASIC or c in EXTENSION for c in text) else "UCS-2"


def count(text: str) -> Segments:
    encoding = encoding_of(text)
    if encoding == "GSM-7":
        widths = [2 if c in EXTENSION else 1 for c in text]
    else:
        widths = [2 if ord(c) > 0xFFFF else 1 for c in text]  # a surrogate pair in UTF-16
    units = sum(widths)
    return Segments(encoding, _parts(widths, encoding), units, len(text))


def _parts(widths: list[int], encoding: Encoding) -> int:
    units = sum(widths)
    if units == 0:
        return 0
    if units <= SINGLE[encoding]:
        return 1
    size, parts, filled = PART[encoding], 1, 0
    for width in widths:
        if filled + width > size:  # this character does not fit: it starts the next part
            parts, filled = parts + 1, 0
        filled += width
    return parts
