"""The background thread that sends the queued mails (queue.py) over SMTP, one at a time.

A request that causes a mail never waits for it: it queues the mail and wakes this thread. A mail that
cannot be delivered is tried again after RETRY_DELAYS (10 s, 1 min, 5 min, 30 min): MAX_ATTEMPTS in
all, each failure logged as a warning, the last one as an error, and the mail is then dropped. Every
worker process of `serve --workers N` runs a sender; the claims in the control plane make each mail go
out once. At stop, a mail not yet sent stays queued for the next start (or another worker); an attempt
still waiting on a slow SMTP server is abandoned after STOP_WAIT_SECONDS and taken again when its lease
ends. If SMTP was turned off meanwhile (still off SMTP_OFF_GRACE_SECONDS after the first try), the queued mail
is written to the outbox directory instead."""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from airsequel.config import LiveSettings, Settings
from airsequel.core import ids
from airsequel.core.mail.messages import Mail
from airsequel.core.mail.outbox import write_to_outbox
from airsequel.core.mail.queue import MailQueue, QueuedMail
from airsequel.core.mail.smtp import deliver

log = logging.getLogger("airsequel.mail")

RETRY_DELAYS: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0)
POLL_SECONDS = 5.0  # how often a sender looks for mails other processes queued, or retries that came due
STOP_WAIT_SECONDS = 3.0
# A sender that sees SMTP off at a mail's first try waits this long before the outbox: the process that queued
# it saw SMTP on, and this one's view of the settings may lag behind another worker's change by a second or so.
SMTP_OFF_GRACE_SECONDS = 10.0


class MailSender:
    def __init__(
        self,
        queue: MailQueue,
        live: LiveSettings,
        outbox: Path,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        poll_seconds: float = POLL_SECONDS,
        smtp_off_grace: float = SMTP_OFF_GRACE_SECONDS,
        send: Callable[[Settings, Mail, Callable[[smtplib.SMTP], None]], None] = deliver,
    ) -> None:
        """`retry_delays`: the wait after each failed attempt but the last (MAX_ATTEMPTS = len + 1)."""
        self.queue = queue
        self.live = live
        self.outbox = outbox
        self.retry_delays = tuple(retry_delays)
        self.poll_seconds = poll_seconds
        self.smtp_off_grace = smtp_off_grace
        self.send = send
        self.sender_id = f"{socket.gethostname()}:{os.getpid()}:{ids.new_ulid()}"  # which process claimed a mail
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: smtplib.SMTP | None = None  # the attempt in progress

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="airsequel-mail", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._cut_short()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_SECONDS)
            if self._thread.is_alive():
                log.warning("mail sender stopped in the middle of an attempt: the mail stays queued")
            self._thread = None

    def _cut_short(self) -> None:
        """End the attempt in progress (a silent SMTP server would hold the stop for its time limit): it fails
        as an attempt, and the mail stays queued."""
        connection = self._connection
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _opened(self, connection: smtplib.SMTP) -> None:
        self._connection = connection
        if self._stopping.is_set():
            raise smtplib.SMTPException("The server is stopping")

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                wait = self._step()
            except Exception as error:  # the control plane away (PostgreSQL restarting): try again later
                if self._stopping.is_set():
                    return
                log.warning("mail sender: %s; trying again in %g s", error, self.poll_seconds)
                wait = self.poll_seconds
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()

    def _step(self) -> float:
        """Send one due mail, or say how long to wait for the next one."""
        due = self.queue.next_due()
        now = time.time()
        if due is None or due > now:
            return self.poll_seconds if due is None else min(self.poll_seconds, max(due - now, 0.01))
        queued = self.queue.claim(self.sender_id)
        if queued is not None:
            self.attempt(queued)
        return 0

    def attempt(self, queued: QueuedMail) -> None:
        mail, settings = queued.mail, self.live.current
        what = f"mail {queued.id} ({mail.purpose} for {mail.about})"
        if not settings.smtp_host:
            if queued.attempts == 1:
                self.queue.retry_later(queued, self.sender_id, self.smtp_off_grace, "SMTP is off in this process")
                return
            path = write_to_outbox(self.outbox, mail)
            self.queue.sent(queued)
            log.warning("%s: SMTP is off now, written to %s instead", what, path)
            return
        try:
            self.send(settings, mail, self._opened)
        except Exception as error:  # refused, unreachable, timed out, a bad address: all count as attempts
            self._connection = None
            reason = f"{type(error).__name__}: {error}"
            if self._stopping.is_set():
                self.queue.retry_later(queued, self.sender_id, 0, reason)  # for the next start, without waiting
                log.warning("%s not sent: the server is stopping (it stays queued)", what)
                return
            if queued.attempts >= self.max_attempts:
                self.queue.sent(queued)
                log.error(
                    "%s not delivered to %s: given up after %d attempts (%s)",
                    what,
                    mail.recipient,
                    queued.attempts,
                    reason,
                )
                return
            delay = self.retry_delays[queued.attempts - 1]
            self.queue.retry_later(queued, self.sender_id, delay, reason)
            log.warning(
                "%s not delivered to %s (attempt %d of %d: %s); next attempt in %g s",
                what,
                mail.recipient,
                queued.attempts,
                self.max_attempts,
                reason,
                delay,
            )
            return
        self._connection = None
        self.queue.sent(queued)
        log.info("%s sent to %s", what, mail.recipient)
