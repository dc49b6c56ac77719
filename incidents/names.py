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
    plain letters, a no-break space a space), without format characters (category Cf: the
    zero-width space, joiners, the soft hyphen, the byte-order mark, bidirectional marks), each
    run of whitespace one space, none at either end. Idempotent.

    >>> canonical_name("\\uff45\\uff54\\uff43\\uff44\\u200b  cluster\\u00a0")
    'etcd cluster'
    """
    # Format characters first: one between two letters could otherwise hide a composition.
    visible = "".join(c for c in name if unicodedata.category(c) != "Cf")
    normal = unicodedata.normalize("NFKC", visible)
    # NFKC makes no format character of letters, but drop any it leaves to stay idempotent.
    normal = "".join(c for c in normal if unicodedata.category(c) != "Cf")
    return " ".join(normal.split())
