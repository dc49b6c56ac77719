"""The one spelling of a service name (issue 17, the breaker's item 2).

Two names a person reads as one ("etcd", "etcd" with a zero-width space, fullwidth "ｅｔｃｄ",
"Kubernetes  API server" with two spaces or a no-break space) are one name: every way in (the
incident form, the API, the importer, the admin, game days) stores and looks names up in this
form, so the unique constraint on LOWER(name) sees them as the same and no second service is
made. Case is kept as typed; names are compared ignoring case (`models.same_name`).
"""

from __future__ import annotations

import unicodedata


def canonical_name(name: str) -> str:
    """`name` in its one spelling: Unicode NFKC (fullwidth and compatibility forms become their
    plain letters, a no-break space a space), without characters shown as nothing (`_invisible`:
    format characters such as the zero-width space, joiners, the soft hyphen, the byte-order
    mark; variation selectors, the combining grapheme joiner, Hangul fillers), each
    run of whitespace one space, none at either end. Idempotent.

    >>> canonical_name("\\uff45\\uff54\\uff43\\uff44\\u200b  cluster\\u00a0")
    'etcd cluster'
    """
    # Invisible characters first: one between two letters could otherwise hide a composition.
    # NFKC makes U+1160 of the Hangul fillers U+3164 and U+FFA0: dropped again, until stable.
    normal = name
    while True:
        visible = "".join(c for c in normal if not _invisible(c))
        again = unicodedata.normalize("NFKC", visible)
        if again == normal:
            break
        normal = again
    return " ".join(normal.split())


# Unicode's Default_Ignorable_Code_Point characters that are not format characters (Cf): shown
# as nothing, yet letters to a database, so "etcd" + a variation selector or the combining
# grapheme joiner inside, or a name of only Hangul fillers, looked like "etcd" or like nothing
# (DerivedCoreProperties.txt, Unicode 15.1: U+034F, U+115F-1160, U+17B4-17B5, U+180B-180F,
# U+3164, U+FE00-FE0F, U+FFA0, U+E0100-E01EF, and unassigned ones).
_IGNORABLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
)  # fmt: skip


def _invisible(char: str) -> bool:
    """Whether `char` shows as nothing: a format character (Cf: the zero-width space, joiners,
    the soft hyphen, the byte-order mark, bidirectional marks) or another default-ignorable
    code point (a variation selector, the combining grapheme joiner, a Hangul filler)."""
    point = ord(char)
    if unicodedata.category(char) == "Cf":
        return True
    return any(low <= point <= high for low, high in _IGNORABLE_RANGES)
