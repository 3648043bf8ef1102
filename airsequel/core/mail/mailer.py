"""What the accounts code calls to send a mail: over SMTP (queued, sent by sender.py) when smtp_host is
set, else written to the outbox directory at once; and the server's public address for the links."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from airsequel.config import LiveSettings, Settings
from airsequel.core.mail.messages import Mail
from airsequel.core.mail.outbox import write_to_outbox
from airsequel.core.mail.queue import MailQueue
from airsequel.core.registry.control_plane import ControlPlane

log = logging.getLogger("airsequel.mail")

WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def public_base_url(settings: Settings) -> str:
    """The links' address: public_url when it is an http(s) URL, else http:// the listen address (a
    wildcard address as localhost). Never the Host header of the request that causes the mail: a
    forged one would send a reset link, key included, to another site."""
    url = (settings.public_url or "").strip().rstrip("/")
    if url.startswith(("http://", "https://")) and len(url) > len("https://"):
        return url
    if url:
        log.warning("publicUrl %r is not an http:// or https:// address: links use the listen address", url)
    host = "localhost" if settings.host in WILDCARDS else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


class Mailer:
    def __init__(self, outbox: Path, control: ControlPlane | None = None, live: LiveSettings | None = None) -> None:
        """Without `control` and `live` (the CLI's accounts), every mail goes to the outbox."""
        self.outbox = outbox
        self.queue = MailQueue(control) if control is not None else None
        self.live = live
        self.on_queued: Callable[[], None] | None = None  # the process's sender, woken for each new mail

    @property
    def smtp_on(self) -> bool:
        return self.queue is not None and self.live is not None and bool(self.live.current.smtp_host)

    def link(self, path: str) -> str:
        settings = self.live.current if self.live is not None else Settings()
        return public_base_url(settings) + path

    def send(self, mail: Mail) -> str:
        """Queue or write `mail`; never waits for an SMTP server. Says where it went, for the log."""
        if self.smtp_on:
            assert self.queue is not None
            number = self.queue.enqueue(mail)
            if self.on_queued is not None:
                self.on_queued()
            return f"queued for SMTP as mail {number}"
        return f"written to {write_to_outbox(self.outbox, mail)}"
