"""Characters that text fields refuse.

NUL is refused in every text field: Postgres text cannot hold it, and no client
has a use for it. Names people read (display names) also refuse the characters
that make one name look like another or hide part of it: other control
characters, bidirectional overrides and isolates, and zero-width characters.
They are refused, not stripped, so what is stored is what the client sent.
"""

from __future__ import annotations

import re
import unicodedata

NUL = "\x00"
# Bidirectional embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069);
# zero-width space, non-joiner, joiner (U+200B-U+200D), word joiner (U+2060), BOM (U+FEFF).
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")


def has_nul(value: str) -> bool:
    return NUL in value


def unreadable_character(value: str) -> str | None:
    """The first character a display name must not hold, written as U+XXXX, or None."""
    for char in value:
        if _INVISIBLE.match(char) or unicodedata.category(char) == "Cc":
            return f"U+{ord(char):04X}"
    return None
