"""One mail the server sends, and its plain-text form in the outbox directory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    body: str
    purpose: str  # "password-reset", "invitation", "email-verification": the outbox file's name, the log
    about: str  # the username or the invited address: the outbox file's name and the log (never a key)

    def as_text(self) -> str:
        """The outbox file: To and Subject lines, a blank line, the body."""
        return f"To: {self.recipient}\nSubject: {self.subject}\n\n{self.body}"
