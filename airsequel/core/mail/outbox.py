"""The fallback without SMTP: each mail is a text file in the outbox directory, for the operator to pass on."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from airsequel.core.clock import utc_now_iso
from airsequel.core.mail.messages import Mail

UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


def write_to_outbox(outbox: Path, mail: Mail) -> Path:
    """`<time>-<random>-<purpose>-<about>.txt`, written whole (a reader never sees half a message)."""
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{utc_now_iso().replace(':', '')}-{secrets.token_hex(3)}-{mail.purpose}-{UNSAFE.sub('_', mail.about)}.txt"
    path = outbox / name
    partial = outbox / f".{name}.partial"
    partial.write_text(mail.as_text())
    partial.replace(path)
    return path
