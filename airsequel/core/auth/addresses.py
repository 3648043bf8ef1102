"""Email addresses as accounts and invitations take them."""

from __future__ import annotations

import re

from airsequel.core.errors import InvalidInput

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}")


def checked_email(email: object, *, field: str = "email_address") -> str:
    """The address without surrounding spaces; 400 naming `field` when it is not one."""
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        raise InvalidInput(f"{field} must be a valid email address")
    return email.strip()
