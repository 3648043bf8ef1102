"""Secrets the server hands out once (session tokens, reset, verification and invitation keys): random,
and stored only as their SHA-256, so a copy of the control plane cannot be replayed."""

from __future__ import annotations

import hashlib
import secrets


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)
