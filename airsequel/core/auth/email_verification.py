"""Email verification: a sign-up mails a link to /verify-email/<key>; following it marks the address verified.

Only the key's SHA-256 is stored; a key is single use and expires after VERIFICATION_DAYS. Sent only
when SMTP is on (docs/mail.md): the outbox is for what an operator must pass on by hand (invitations,
resets), and nothing on this server requires a verified address. An account made from an invitation
is verified by it (the key came through that mailbox)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from airsequel.core.auth.keys import digest, new_key
from airsequel.core.clock import iso_from_datetime, utc_now_iso
from airsequel.core.errors import InvalidInput
from airsequel.core.mail.mailer import Mailer
from airsequel.core.mail.messages import Mail
from airsequel.core.registry.control_plane import ControlPlane

log = logging.getLogger("airsequel.accounts")

VERIFICATION_DAYS = 3
UNKNOWN_KEY = "This verification link is unknown, used or expired"


class EmailVerification:
    def __init__(self, control: ControlPlane, mailer: Mailer) -> None:
        self.control = control
        self.mailer = mailer

    def send(self, user_id: int, username: str, email: str) -> None:
        """Mail a verification link to the user's address (when SMTP is on)."""
        if not self.mailer.smtp_on:
            return
        key = new_key()
        expires = datetime.now(UTC) + timedelta(days=VERIFICATION_DAYS)
        self.control.execute(
            "INSERT INTO email_verifications(key_hash, user_id, email, expires_utc) VALUES (?, ?, ?, ?)",
            (digest(key), user_id, email, iso_from_datetime(expires)),
        )
        link = self.mailer.link(f"/verify-email/{key}")
        body = (
            f"Hello {username},\n\nplease confirm that {email} is your address: open\n{link}\n\n"
            f"The link works once, for {VERIFICATION_DAYS} days. If you did not sign up, ignore this mail.\n"
        )
        where = self.mailer.send(
            Mail(email, "Confirm your airsequel email address", body, "email-verification", username)
        )
        log.info("email verification for %s: %s", username, where)

    def verify(self, key: str) -> tuple[str, str]:
        """Mark the address of the key's user verified; the key ends. (username, address)."""
        now = utc_now_iso()
        with self.control.transaction() as conn:
            row = conn.execute(
                "DELETE FROM email_verifications WHERE key_hash = ? RETURNING user_id, email, expires_utc",
                (digest(key),),
            ).fetchone()
            if row is None or row["expires_utc"] <= now:
                raise InvalidInput(UNKNOWN_KEY)
            user = conn.execute(
                "UPDATE users SET email_verified_utc = coalesce(email_verified_utc, ?) WHERE id = ? AND email = ?"
                " RETURNING username",
                (now, row["user_id"], row["email"]),
            ).fetchone()
            if user is None:  # the account is gone, or its address changed since the mail
                raise InvalidInput(UNKNOWN_KEY)
        return user["username"], row["email"]
