"""The mails waiting to go out over SMTP, kept in the control plane (table mail_queue).

A request only adds a row (`enqueue`): it never waits for the SMTP server. Each process's sender
(sender.py) claims a due mail with one compare-and-set statement, as export jobs are claimed: the row
gets the sender's id and a lease, so two worker processes never send the same mail, and a mail whose
sender died (or stopped in the middle of an attempt) is taken again once its lease runs out. A mail
is deleted once sent or given up: the queue never keeps a key longer than it takes to deliver it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from airsequel.core.clock import utc_now_iso
from airsequel.core.mail.messages import Mail
from airsequel.core.registry.control_plane import ControlPlane

LEASE_SECONDS = 120.0  # longer than one attempt can take (each SMTP step has its own time limit)

_TAKEABLE = "next_attempt_at <= :now AND (lease_until IS NULL OR lease_until < :now)"

CLAIM = f"""
UPDATE mail_queue SET claimed_by = :me, lease_until = :until, attempts = attempts + 1
WHERE id = (SELECT id FROM mail_queue WHERE {_TAKEABLE} ORDER BY next_attempt_at, id LIMIT 1) AND {_TAKEABLE}
RETURNING id, recipient, subject, body, purpose, attempts
"""


@dataclass(frozen=True)
class QueuedMail:
    id: int
    mail: Mail
    attempts: int  # this attempt included


class MailQueue:
    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def enqueue(self, mail: Mail) -> int:
        # No cached answer depends on these rows: the generation stays (bump=False).
        with self.control.transaction(bump=False) as conn:
            row = conn.execute(
                "INSERT INTO mail_queue(recipient, subject, body, purpose, next_attempt_at, created_utc)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (mail.recipient, mail.subject, mail.body, f"{mail.purpose}:{mail.about}", time.time(), utc_now_iso()),
            ).fetchone()
        return int(row[0])

    def next_due(self) -> float | None:
        """When the next mail may be tried (wall-clock seconds; a leased one when its lease ends), None if none waits."""
        rows = self.control.query(
            "SELECT min(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at THEN lease_until"
            " ELSE next_attempt_at END) FROM mail_queue"
        )
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def claim(self, sender_id: str) -> QueuedMail | None:
        now = time.time()
        with self.control.transaction(bump=False) as conn:
            row = conn.execute(CLAIM, {"me": sender_id, "until": now + LEASE_SECONDS, "now": now}).fetchone()
        if row is None:
            return None
        purpose, _, about = str(row["purpose"]).partition(":")
        mail = Mail(row["recipient"], row["subject"], row["body"], purpose, about)
        return QueuedMail(int(row["id"]), mail, int(row["attempts"]))

    def sent(self, queued: QueuedMail) -> None:
        self.control.execute("DELETE FROM mail_queue WHERE id = ?", (queued.id,), bump=False)

    def retry_later(self, queued: QueuedMail, sender_id: str, delay: float, error: str) -> None:
        """Back in the queue, due in `delay` seconds (only while this sender still holds the claim)."""
        self.control.execute(
            "UPDATE mail_queue SET next_attempt_at = ?, lease_until = NULL, claimed_by = NULL, last_error = ?"
            " WHERE id = ? AND claimed_by = ?",
            (time.time() + delay, error[:1000], queued.id, sender_id),
            bump=False,
        )

    def waiting(self) -> int:
        return int(self.control.query("SELECT count(*) FROM mail_queue")[0][0])
