"""Identifiers: unguessable, URL-safe, validated before they come near the filesystem.

Every id made here draws its random part afresh from the operating system's CSPRNG. python-ulid's
own `ULID()` (and `ULID.from_timestamp`) is monotonic: a second id within the same millisecond is the
first plus one, so an id made just after a victim's could be guessed from it. No id here is derived
from another, and the file key (the name of a hosted file's directory) is not derived from the
public id at all.
"""

from __future__ import annotations

import re
import secrets
import time

from ulid import ULID

from airsequel.core.errors import NotFound

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_PATTERN = re.compile(r"^[0-9a-z]{16,40}$")
_FILE_KEY_LENGTH = 26  # the length of the ULIDs file keys were before: the same shape on disk


def new_ulid() -> str:
    """A lowercase ULID (26 characters, sortable by creation time) whose 80 random bits are fresh for
    every id: never the previous id plus one."""
    timestamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    return str(ULID.from_bytes(timestamp + secrets.token_bytes(10))).lower()


def new_database_id() -> str:
    """A lowercase ULID: sortable by creation time, 80 fresh random bits."""
    return new_ulid()


def new_readonly_id() -> str:
    """16 Crockford base32 characters: 80 random bits."""
    return _random_text(16)


def new_file_key() -> str:
    """The internal, immutable name of a hosted file's directory (public ids can be regenerated):
    26 random Crockford base32 characters (130 bits), with no time in it and nothing shared with
    the database's public id. Existing databases keep the keys they have."""
    return _random_text(_FILE_KEY_LENGTH)


def _random_text(length: int) -> str:
    return "".join(secrets.choice(_CROCKFORD) for _ in range(length))


def is_valid_id(candidate: str) -> bool:
    return bool(_ID_PATTERN.fullmatch(candidate))


def checked_id(candidate: str) -> str:
    """Return `candidate` when it has the shape of one of our ids; otherwise the thing does not exist."""
    if not is_valid_id(candidate):
        raise NotFound(f"Database {candidate[:64]!r} does not exist")
    return candidate
