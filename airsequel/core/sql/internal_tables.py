"""Tables in a hosted file that belong to the server, not to its users.

Litestream keeps `_litestream_seq` and `_litestream_lock` in every file it replicates. They are
left out of every listing, schema and copy, and user SQL can neither read nor change them.
"""

from __future__ import annotations

INTERNAL_PREFIX = "_litestream_"


def is_internal_table(name: str | None) -> bool:
    return name is not None and name.lower().startswith(INTERNAL_PREFIX)
