"""A real SMTP server for the mail tests: aiosmtpd on a free loopback port, keeping what it receives.

`SmtpServer(tls_dir=...)` offers STARTTLS with a self-signed certificate (clients trust it through
SSL_CERT_FILE) and then requires it, with AUTH for USER/PASSWORD."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "smtp secret 42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, valid one day (made with `cryptography`, which moto brings along)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Keeper:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


class SmtpServer:
    def __init__(self, *, tls_dir: Path | None = None, implicit_tls: bool = False, port: int | None = None) -> None:
        """`tls_dir`: STARTTLS required (AUTH too); with `implicit_tls`, TLS from the first byte instead."""
        self.keeper = _Keeper()
        self.port = port or free_port()
        self.certificate: Path | None = None
        options: dict[str, Any] = {}
        if tls_dir is not None:
            self.certificate, key = self_signed_certificate(tls_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certificate, key)
            options = {"authenticator": _authenticator, "auth_required": True}
            if implicit_tls:
                options.update(ssl_context=context, auth_require_tls=False)  # aiosmtpd sees STARTTLS only
            else:
                options.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.keeper.messages)

    def wait_for(self, recipient: str, subject_part: str, timeout: float = 15) -> EmailMessage:
        """The first mail to `recipient` whose subject has `subject_part`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self.keeper.changed:
            while True:
                for message in self.keeper.messages:
                    if message["To"] == recipient and subject_part in message["Subject"]:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(m["To"], m["Subject"]) for m in self.keeper.messages]
                    raise AssertionError(f"no mail to {recipient} about {subject_part!r} (got {got})")
                self.keeper.changed.wait(left)


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path_start: str) -> str:
    found = re.search(rf"(http://\S+{re.escape(path_start)}\S+)", body_of(message))
    assert found, body_of(message)
    return found[1]
