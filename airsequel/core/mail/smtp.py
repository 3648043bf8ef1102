"""Sending one mail over SMTP with the server's settings: STARTTLS (the default), TLS from the start, or none.

The server's certificate is checked against the system's certificate authorities (Python's default
context, which honours SSL_CERT_FILE); with STARTTLS a server that does not offer it is an error, never a
fall back to clear text. Every step has a time limit (SMTP_TIMEOUT_SECONDS)."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from airsequel.config import Settings
from airsequel.core.mail.messages import Mail

SMTP_TIMEOUT_SECONDS = 10.0
USUAL_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def smtp_port(settings: Settings) -> int:
    return settings.smtp_port or USUAL_PORTS[settings.smtp_tls]


def sender_address(settings: Settings) -> str:
    return settings.smtp_from or f"airsequel@{settings.smtp_host or 'localhost'}"


def email_message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address(settings)
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender_address(settings).rpartition("@")[2] or None)
    message.set_content(mail.body)
    return message


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def deliver(settings: Settings, mail: Mail, opened: Callable[[smtplib.SMTP], None] | None = None) -> None:
    """Send `mail` through the configured SMTP server; any failure raises (OSError, smtplib.SMTPException).
    `opened`: told the connection before it connects (so that a stopping server can cut it short)."""
    host = settings.smtp_host
    if not host:
        raise smtplib.SMTPException("No SMTP server is configured (smtp_host)")
    if settings.smtp_user and settings.smtp_tls == "none" and not is_loopback(host):
        # AUTH over a plain connection would show the password to the network.
        raise smtplib.SMTPException(
            f"Refusing to send the SMTP password to {host} without TLS: set smtp_tls to starttls or tls"
        )
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_tls == "tls":
        smtp = smtplib.SMTP_SSL(timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(timeout=SMTP_TIMEOUT_SECONDS)
    # the name TLS checks the certificate against (__init__ sets it only when it connects at once)
    smtp._host = host  # type: ignore[attr-defined]
    if opened is not None:
        opened(smtp)
    with smtp:
        smtp.connect(host, smtp_port(settings))
        if settings.smtp_tls == "starttls":
            smtp.starttls(context=context)
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(email_message(settings, mail))
