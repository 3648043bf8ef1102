"""Mail: the messages the server sends (invitations, email verification, password resets), written to the
outbox directory or queued in the control plane and sent over SMTP by a background thread (docs/mail.md)."""
