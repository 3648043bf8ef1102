"""Issue 16, point 10: slow uploads exhausted the server's file descriptors (10,500 slow `POST /dbs`
connections, then every other request was reset).

Now connections are bounded (max_connections → uvicorn's limit_concurrency: past it, 503 at once),
and a body that stalls for body_timeout_seconds ends its request with 408 and removes the temporary
file. Tried against a real server with a bounded number of real slow connections."""

from __future__ import annotations

import socket
import time

import httpx2
import pytest

from tests.helpers import PASSWORD
from tests.server_process import running_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAX_CONNECTIONS = 20
SLOW_CONNECTIONS = 50
BODY_TIMEOUT = 1.5


def slow_upload(port: int, token: str) -> socket.socket:
    """A POST /dbs that promises a megabyte and sends its first bytes only."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        (
            f"POST /dbs?name=slow HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: text/csv\r\nContent-Length: 1000000\r\n\r\na,b\n1,2\n"
        ).encode()
    )
    return sock


def response_of(sock: socket.socket, timeout: float) -> bytes:
    """What the server sent on this connection within `timeout` (b"" if nothing; raises on a reset)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pass
    return received


def test_slow_uploads_are_bounded_and_a_stalled_one_is_dropped(tmp_path):
    data_dir = tmp_path / "data"
    env = {"AIRSEQUEL_MAX_CONNECTIONS": str(MAX_CONNECTIONS), "AIRSEQUEL_BODY_TIMEOUT": str(BODY_TIMEOUT)}
    with running_server(data_dir, env) as base:
        port = int(base.rsplit(":", 1)[1])
        with httpx2.Client(base_url=base, timeout=10) as http:
            http.post("/api/users", json={"username": "sam", "email_address": "s@example.org", "password": PASSWORD})
            token = http.post("/api/login", json={"username": "sam", "password": PASSWORD}).json()["sessionToken"]
            http.cookies.clear()
        sockets = []
        started = time.monotonic()
        for _ in range(SLOW_CONNECTIONS):
            sockets.append(slow_upload(port, token))
        # Past the limit, a connection is answered 503 at once; the ones within it wait for their body.
        time.sleep(0.5)
        answers = [response_of(sock, 0.01) for sock in sockets]
        refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
        waiting = [sock for sock, a in zip(sockets, answers, strict=True) if a == b""]
        assert len(refused) + len(waiting) == SLOW_CONNECTIONS, answers
        assert len(refused) >= SLOW_CONNECTIONS - MAX_CONNECTIONS
        assert 0 < len(waiting) <= MAX_CONNECTIONS
        # Meanwhile another request gets an answer (503 or served), never a hang or a reset.
        t0 = time.monotonic()
        with httpx2.Client(base_url=base, timeout=5) as other:
            status = other.get("/api/status").status_code
        assert status in (200, 503) and time.monotonic() - t0 < 2
        # The waiting uploads stall: each gets 408 after body_timeout_seconds, and tmp/ is empty again.
        stalled = [response_of(sock, BODY_TIMEOUT + 5) for sock in waiting]
        assert all(a.startswith(b"HTTP/1.1 408") for a in stalled), stalled
        dropped_after = time.monotonic() - started
        for sock in sockets:
            sock.close()
        assert list((data_dir / "tmp").iterdir()) == []
        with httpx2.Client(base_url=base, timeout=5) as after:
            assert after.get("/api/status").status_code == 200
            assert after.get("/api/dbs", headers={"Authorization": f"Bearer {token}"}).json()["numberOfDatabases"] == 0
        assert dropped_after < BODY_TIMEOUT + 6


def test_a_stalled_body_gets_408_with_a_clear_message(tmp_path):
    data_dir = tmp_path / "data"
    with running_server(data_dir, {"AIRSEQUEL_BODY_TIMEOUT": "0.5"}) as base:
        port = int(base.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            f"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"username":'.encode()
        )
        t0 = time.monotonic()
        answer = response_of(sock, 5)
        sock.settimeout(5)
        while b'"}]}' not in answer and b'"]}' not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        waited = time.monotonic() - t0
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"The request body stalled: no bytes arrived for 0.5 s (body_timeout_seconds)" in answer
        assert 0.4 < waited < 3
