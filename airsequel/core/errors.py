"""Errors the core raises. Each kind names what went wrong and carries the HTTP status that says it
(the core speaks no HTTP otherwise: the status is just the number a caller over HTTP gets)."""

from __future__ import annotations

from typing import ClassVar


class CoreError(Exception):
    """Base class: `messages` are safe to show to the caller."""

    status: ClassVar[int] = 400

    def __init__(self, *messages: str) -> None:
        super().__init__(*messages)
        self.messages = list(messages)

    def __str__(self) -> str:
        return "; ".join(self.messages)


class InvalidInput(CoreError):
    """The request is malformed or names something that cannot exist (400)."""

    status = 400


class NotAuthenticated(CoreError):
    """A login or token would help (401)."""

    status = 401


class Forbidden(CoreError):
    """The caller is known but lacks the right (403)."""

    status = 403


class NotFound(CoreError):
    """No such thing, or the caller may not know it exists (404)."""

    status = 404


class Conflict(CoreError):
    """The thing exists already or is in a state that forbids the change (409)."""

    status = 409


class TooLarge(CoreError):
    """An upload, query or result exceeds a configured limit (413)."""

    status = 413


class Unprocessable(CoreError):
    """Well-formed but unusable content, such as a corrupt SQLite file or a ragged CSV (422)."""

    status = 422


class NotConfigured(CoreError):
    """A feature that needs something the operator has not set up, e.g. a language model (501)."""

    status = 501


class UpstreamFailed(CoreError):
    """A service the server called on the caller's behalf failed, e.g. the language model (502)."""

    status = 502


class Unavailable(CoreError):
    """The stored data cannot be reached right now: a missing or unreadable file, a full disk (503)."""

    status = 503


class SqlError(CoreError):
    """SQLite refused or aborted a user's statement (400). `partial` is never set: nothing was written."""

    status = 400


class TooManyRequests(CoreError):
    """The caller is over its share (429); `retry_after` seconds until a retry may succeed (None:
    waiting does not help, e.g. a quota of databases: no Retry-After is sent)."""

    status = 429

    def __init__(self, *messages: str, retry_after: int | None = 1) -> None:
        super().__init__(*messages)
        self.retry_after = retry_after


class TimedOut(CoreError):
    """Work the server ran against a hosted file took longer than the time limit and was stopped (504).
    (A caller's own SQL that runs too long is a SqlError instead, as POST /sql has always answered.)"""

    status = 504


class InsufficientStorage(CoreError):
    """The disk (or a quota of bytes) has no room for the write; nothing was written (507)."""

    status = 507
