"""The mail queue and its sender, on a real control plane and real sockets: bounded, logged retries against an
SMTP port that refuses connections; two senders (two worker processes) deliver each mail once; a request never
waits for a silent SMTP server; SMTP turned off sends what waits to the outbox."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from airsequel.config import LiveSettings, Settings
from airsequel.core.mail.messages import Mail
from airsequel.core.mail.queue import MailQueue
from airsequel.core.mail.sender import MailSender
from airsequel.core.mail.smtp import deliver
from airsequel.core.services import Services
from airsequel.http.app import create_app
from tests.helpers import sign_up_and_login
from tests.mail_fixtures import PASSWORD, USER, SmtpServer, free_port

MAIL = Mail("joe@example.com", "Hello", "the body\n", "password-reset", "joe")


def _live(settings: Settings, **changes: object) -> LiveSettings:
    return LiveSettings(settings.changed({"smtp_host": "127.0.0.1", "smtp_tls": "none", **changes}))


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_an_undeliverable_mail_is_retried_a_bounded_number_of_times_and_logged(
    services: Services, tmp_path: Path, caplog
):
    queue = MailQueue(services.control)
    live = _live(services.settings, smtp_port=free_port())  # nothing listens there: refused at once
    sender = MailSender(queue, live, tmp_path / "outbox", retry_delays=(0.05, 0.1), poll_seconds=0.05)
    caplog.set_level(logging.WARNING, logger="airsequel.mail")
    queue.enqueue(MAIL)
    sender.start()
    try:
        _wait_until(lambda: queue.waiting() == 0)
        time.sleep(0.3)  # would be time for more attempts, were there any
    finally:
        sender.stop()
    lines = [record.getMessage() for record in caplog.records if record.name == "airsequel.mail"]
    assert [line.split(" (attempt ")[1][:6] for line in lines[:2]] == ["1 of 3", "2 of 3"], lines
    assert "next attempt in 0.05 s" in lines[0] and "next attempt in 0.1 s" in lines[1]
    assert len(lines) == 3 and "given up after 3 attempts" in lines[2] and "joe@example.com" in lines[2]
    assert "ConnectionRefusedError" in lines[2]
    assert not (tmp_path / "outbox").exists()


def test_two_senders_deliver_each_mail_once(services: Services, tmp_path: Path):
    queue = MailQueue(services.control)
    with SmtpServer() as smtp:
        live = _live(services.settings, smtp_port=smtp.port)
        senders = [MailSender(queue, live, tmp_path, poll_seconds=0.02) for _ in range(2)]
        for number in range(12):
            queue.enqueue(Mail(f"user{number}@example.com", f"mail {number}", "body\n", "invitation", str(number)))
        for sender in senders:
            sender.start()
        try:
            _wait_until(lambda: queue.waiting() == 0)
            time.sleep(0.1)
        finally:
            for sender in senders:
                sender.stop()
        assert sorted(message["Subject"] for message in smtp.messages) == sorted(f"mail {n}" for n in range(12))


def test_a_queued_mail_goes_to_the_outbox_once_smtp_is_turned_off(services: Services, tmp_path: Path):
    queue = MailQueue(services.control)
    queue.enqueue(MAIL)
    live = LiveSettings(services.settings)  # smtp_host unset
    sender = MailSender(queue, live, tmp_path / "outbox", poll_seconds=0.02, smtp_off_grace=0.3)
    sender.start()
    try:
        time.sleep(0.15)
        assert queue.waiting() == 1  # not at once: another worker's view of the settings may be a second old
        _wait_until(lambda: queue.waiting() == 0)
    finally:
        sender.stop()
    [written] = (tmp_path / "outbox").glob("*-password-reset-joe.txt")
    assert written.read_text() == "To: joe@example.com\nSubject: Hello\n\nthe body\n"


@pytest.fixture
def silent_smtp():
    """A port that accepts connections and never says a word (an SMTP server that hangs)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_request_never_waits_for_a_silent_smtp_server(settings: Settings, silent_smtp: int):
    configured = settings.changed({"smtp_host": "127.0.0.1", "smtp_port": silent_smtp, "smtp_tls": "none"}, "flag")
    with TestClient(create_app(configured), raise_server_exceptions=False) as client:
        sign_up_and_login(client, "alice")
        started = time.monotonic()
        answer = client.post("/api/users/reset-password", json={"email": "alice@example.org"})
        assert answer.status_code == 200 and answer.json() == {}
        assert time.monotonic() - started < 1.0
        queue = MailQueue(client.app.state.services.control)  # type: ignore[attr-defined]
        assert queue.waiting() >= 1  # the verification and the reset wait for the silent server
        assert not (settings.data_dir / "outbox").exists()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd sees STARTTLS only
def test_tls_from_the_first_byte_with_auth(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """smtp_tls=tls (SMTPS, port 465's way): the certificate is checked (SSL_CERT_FILE names the test's own CA)."""
    with SmtpServer(tls_dir=tmp_path, implicit_tls=True) as smtp:
        assert smtp.certificate is not None
        changes = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_tls": "tls", "smtp_user": USER}
        configured = settings.changed({**changes, "smtp_password": PASSWORD, "smtp_from": "db@example.org"})
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            deliver(configured, MAIL)  # the system's CAs do not know the self-signed certificate
        monkeypatch.setenv("SSL_CERT_FILE", str(smtp.certificate))
        deliver(configured, MAIL)
        [message] = smtp.messages
        assert (message["From"], message["To"], message["Subject"]) == ("db@example.org", "joe@example.com", "Hello")
