"""Identifiers: unguessable, URL-safe, validated before they come near the filesystem."""

from __future__ import annotations

import re
import secrets

from ulid import ULID

from airsequel.core.errors import NotFound

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_ID_PATTERN = re.compile(r"^[0-9a-z]{16,40}$")


def new_database_id() -> str:
    """A lowercase ULID: sortable by creation time, 80 random bits."""
    return str(ULID()).lower()


def new_readonly_id() -> str:
    """16 Crockford base32 characters: 80 random bits."""
    return "".join(secrets.choice(_CROCKFORD) for _ in range(16))


def new_file_key() -> str:
    """The internal, immutable name of a hosted file's directory (public ids can be regenerated)."""
    return str(ULID()).lower()


def is_valid_id(candidate: str) -> bool:
    return bool(_ID_PATTERN.fullmatch(candidate))


def checked_id(candidate: str) -> str:
    """Return `candidate` when it has the shape of one of our ids; otherwise the thing does not exist."""
    if not is_valid_id(candidate):
        raise NotFound(f"Database {candidate[:64]!r} does not exist")
    return candidate
