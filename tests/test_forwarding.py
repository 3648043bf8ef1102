"""Node-to-node forwarding (airsequel/http/forwarding.py, socket_forwarding.py) between real uvicorn processes:
two targets ("a", "b") and a front that forwards to them (tests/forwarding_apps.py). A call through the front is
compared with the same call made directly to the target."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from airsequel.http.forwarding import (
    FORWARDED_AT,
    FORWARDED_BY,
    FORWARDED_SIGNATURE,
    ForwardingSignature,
    raw_target,
)
from tests.forwarding_apps import IDLE_SECONDS, PATTERN, PROTOCOL, pattern_bytes
from tests.server_process import free_port

SECRET = "the cluster's shared secret key"
ROOT = Path(__file__).resolve().parent.parent


class Servers:
    def __init__(self, tmp: Path) -> None:
        self.spool = tmp / "spool"
        self.spool.mkdir()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.a = self._start("target", "--name", "a")
        self.b = self._start("target", "--name", "b")
        self.front = self._start("front", "--spool", str(self.spool))
        self.front_pid = self.processes[-1].pid
        for base in (self.a, self.b, self.front):
            self._wait(base)

    def _start(self, *arguments: str) -> str:
        port = free_port()
        command = [sys.executable, "-m", "tests.forwarding_apps", *arguments, "--port", str(port), "--secret", SECRET]
        self.processes.append(subprocess.Popen(command, cwd=ROOT))
        return f"http://127.0.0.1:{port}"

    def _wait(self, base: str) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                httpx2.get(f"{base}/status/200", headers={"x-test-target": self.a}, timeout=1)
                return
            except httpx2.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{base} did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    running = Servers(tmp_path_factory.mktemp("forwarding"))
    yield running
    running.stop()


def through(servers: Servers, target: str | None = None, retarget: str | None = None) -> httpx2.Client:
    headers = {"x-test-target": target or servers.a}
    if retarget:
        headers["x-test-retarget"] = retarget
    return httpx2.Client(base_url=servers.front, headers=headers, timeout=60)


def raw_exchange(client: httpx2.Client, method: str, url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (less Date, which differs by the second) and the body's bytes as sent (not decoded)."""
    with client.stream(method, url) as response:
        body = b"".join(response.iter_raw())
        headers = sorted((k.lower(), v) for k, v in response.headers.multi_items() if k.lower() != "date")
        return response.status_code, headers, body


def echo(response: httpx2.Response) -> dict:
    assert response.status_code == 200, response.text
    return orjson.loads(response.content)


def header_values(seen: dict, name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key == name]


# --- the same answers as a direct call ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/status/404"),
        ("POST", "/status/418"),
        ("GET", "/status/500"),
        ("GET", "/status/204"),
        ("GET", "/empty"),
        ("GET", "/gzip"),
        ("GET", "/download?size=100000"),
        ("GET", "/download?size=100000&chunked=1"),
        ("HEAD", "/download?size=5000"),
    ],
)
def test_a_forwarded_answer_is_the_direct_one(servers, method, path):
    with httpx2.Client(base_url=servers.a, headers={"x-test-target": servers.a}) as direct, through(servers) as front:
        assert raw_exchange(front, method, path) == raw_exchange(direct, method, path)
    if path == "/gzip":  # passed on compressed, as sent
        with through(servers) as front:
            assert front.get(path).json() == {"packed": "x" * 1000}


def test_the_request_reaches_the_owner_as_the_client_sent_it(servers):
    body = os.urandom(5000)
    with through(servers) as front:
        response = front.post(
            "/echo/a%2Fb/%C3%A9?x=1&y=%20z&x=2",
            content=body,
            headers={
                "user-agent": "the client's agent",
                "cookie": "session=abc",
                "authorization": "Bearer token",
                "x-forwarded-for": "203.0.113.7",
                "connection": "keep-alive, x-hop",
                "x-hop": "one connection only",
                "x-airsequel-forwarded-by": "forged",
                "X-Airsequel-Anything": "forged",
            },
        )
    seen = echo(response)
    assert seen["method"] == "POST"
    assert seen["raw_path"] == "/echo/a%2Fb/%C3%A9"
    assert seen["query"] == "x=1&y=%20z&x=2"
    assert seen["length"] == len(body) and seen["sha256"] == hashlib.sha256(body).hexdigest()
    assert header_values(seen, "content-length") == ["5000"]
    assert header_values(seen, "host") == [servers.front.removeprefix("http://")]  # the client's Host, kept
    assert header_values(seen, "user-agent") == ["the client's agent"]
    assert header_values(seen, "cookie") == ["session=abc"]
    assert header_values(seen, "authorization") == ["Bearer token"]
    assert header_values(seen, "x-forwarded-for") == ["203.0.113.7, 127.0.0.1"]
    # Exactly the client's headers arrive (none of the forwarder's HTTP client's own), less the hop-by-hop ones
    # and the client's x-airsequel-*, plus the signed forwarding headers.
    sent = {name.lower() for name in response.request.headers}
    assert {name for name, _ in seen["headers"]} == (sent - {"connection", "x-hop", "x-airsequel-anything"}) | {
        "x-airsequel-forwarded-at",
        "x-airsequel-forwarded-signature",
        "x-airsequel-forwarded-for",
        "x-airsequel-forwarded-proto",
    }
    # The client's own x-airsequel-* headers are gone; the front's are there, signed.
    assert header_values(seen, "x-airsequel-forwarded-by") == ["front"]
    assert header_values(seen, "x-airsequel-anything") == []
    assert header_values(seen, "x-airsequel-forwarded-for") == ["127.0.0.1"]
    assert header_values(seen, "x-airsequel-forwarded-proto") == ["http"]
    assert seen["verified"] == "front"


def test_a_chunked_upload_stays_chunked_and_a_get_has_no_body(servers):
    parts = [os.urandom(70000) for _ in range(5)]
    with through(servers) as front:
        seen = echo(front.put("/echo", content=iter(parts)))
        plain = echo(front.get("/echo"))
    assert seen["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()
    assert header_values(seen, "transfer-encoding") == ["chunked"] and header_values(seen, "content-length") == []
    assert plain["length"] == 0
    assert header_values(plain, "transfer-encoding") == [] and header_values(plain, "content-length") == []


def test_a_cookie_the_owner_sets_reaches_its_client_only(servers):
    with through(servers) as first:
        assert first.get("/cookie").headers["set-cookie"] == "session=secret-of-one-user; Path=/"
    with through(servers) as second:
        seen = echo(second.get("/echo"))
    assert header_values(seen, "cookie") == []


# --- 421: the database moved ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3000, 3 * 1024 * 1024 + 17])  # in the spool's memory; past it, in its file
def test_a_421_is_retried_once_on_the_new_owner_with_the_same_body(servers, size):
    body = os.urandom(size)
    with through(servers, servers.a, retarget=servers.b) as front:
        response = front.post("/echo?refuse=a", content=body)
    seen = echo(response)
    assert seen["node"] == "b" and response.headers["x-airsequel-node"] == "b"
    assert seen["length"] == size and seen["sha256"] == hashlib.sha256(body).hexdigest()
    assert seen["verified"] == "front"
    assert servers.spool.exists() and list(servers.spool.iterdir()) == []  # the spool file is gone


def test_a_421_with_a_chunked_body_is_replayed_whole(servers):
    parts = [os.urandom(300_000) for _ in range(6)]
    with through(servers, servers.a, retarget=servers.b) as front:
        seen = echo(front.post("/echo?refuse=a", content=iter(parts)))
    assert seen["node"] == "b" and seen["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


def test_a_421_with_no_new_owner_is_a_503(servers):
    with through(servers, servers.a) as front:
        response = front.post("/echo?refuse=a", content=b"data")
    assert response.status_code == 503
    assert response.json() == {
        "errors": [f"Node {servers.a} no longer owns this database, and no other owner is known yet: try again"]
    }
    assert response.headers["retry-after"] == "1"


def test_a_second_421_is_a_503(servers):
    with through(servers, servers.a, retarget=servers.b) as front:
        response = front.post("/echo?refuse=a,b", content=b"data")
    assert response.status_code == 503
    message = response.json()["errors"][0]
    assert message.startswith(f"Nodes {servers.a} and {servers.b} both answered that they do not own this database")


def test_an_unreachable_node_is_a_503_with_its_address(servers):
    nowhere = f"http://127.0.0.1:{free_port()}"
    with through(servers, nowhere) as front:
        response = front.post("/echo", content=b"x" * 10000)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    [message] = response.json()["errors"]
    assert message.startswith(f"Node {nowhere} did not answer: ")


@pytest.mark.slow
def test_a_node_that_does_not_answer_in_time_is_a_503(servers):
    with through(servers) as front:
        started = time.monotonic()
        response = front.get("/slow?seconds=4")
    assert response.status_code == 503
    assert response.json() == {"errors": [f"Node {servers.a} did not answer: timed out (ReadTimeout)"]}
    assert IDLE_SECONDS <= time.monotonic() - started < 3.5


def test_a_response_that_breaks_off_is_cut_for_the_client(servers):
    with through(servers) as front:
        with pytest.raises(httpx2.RemoteProtocolError):
            front.get("/cut")
        assert front.get("/status/200").status_code == 200  # the front serves on


def test_a_client_that_leaves_stops_the_request_to_the_owner(servers):
    with through(servers) as front, front.stream("GET", "/endless") as response:
        assert response.status_code == 200
        next(response.iter_raw())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not httpx2.get(f"{servers.a}/download-stops").json():
        time.sleep(0.05)
    assert len(httpx2.get(f"{servers.a}/download-stops").json()) == 1


def spool_files(servers: Servers) -> list[str]:
    """The front's open descriptors of spool files (unnamed: /proc shows them as '<spool dir>/#N (deleted)')."""
    fds = Path(f"/proc/{servers.front_pid}/fd")
    links = []
    for fd in fds.iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue  # closed meanwhile
    return [link for link in links if link.startswith(str(servers.spool))]


def wait_for(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_client_that_leaves_mid_upload_leaves_no_spool_behind(servers):
    host = servers.front.removeprefix("http://")
    connection = socket.create_connection(("127.0.0.1", int(host.split(":")[1])))
    head = f"POST /echo HTTP/1.1\r\nHost: {host}\r\nx-test-target: {servers.a}\r\ncontent-length: 10000000\r\n\r\n"
    connection.sendall(head.encode() + os.urandom(3 * 1024 * 1024))
    assert wait_for(lambda: len(spool_files(servers)) == 1)  # past 1 MiB the spool is a file
    connection.close()
    assert wait_for(lambda: spool_files(servers) == [])
    with through(servers) as front:
        assert front.get("/status/200").status_code == 200


# --- the signature -------------------------------------------------------------------------------------------


def signed_scope(signature: ForwardingSignature, *, at: int | None = None, extra: dict | None = None) -> dict:
    headers = [(b"host", b"node-b"), (b"cookie", b"s=1")]
    headers += signature.headers(
        "a", "POST", b"/dbs/x/sql?y=1", extra or {"x-airsequel-forwarded-for": "10.0.0.9"}, at=at
    )
    return {
        "type": "http",
        "method": "POST",
        "path": "/dbs/x/sql",
        "raw_path": b"/dbs/x/sql",
        "query_string": b"y=1",
        "headers": headers,
    }


def with_header(scope: dict, name: bytes, value: bytes | None) -> dict:
    headers = [(k, v) for k, v in scope["headers"] if k != name]
    return {**scope, "headers": headers + ([(name, value)] if value is not None else [])}


def test_a_valid_signature_names_the_forwarding_node():
    signature = ForwardingSignature(SECRET)
    assert signature.verify(signed_scope(signature)) == "a"
    assert raw_target(signed_scope(signature)) == b"/dbs/x/sql?y=1"
    now = time.time()
    assert signature.verify(signed_scope(signature, at=int(now) - 59), now=now) == "a"
    assert signature.verify(signed_scope(signature, at=int(now) + 59), now=now) == "a"
    # Headers that are not x-airsequel-* may change on the way (a proxy adds one): not signed.
    assert signature.verify(with_header(signed_scope(signature), b"via", b"1.1 proxy")) == "a"


def test_a_forged_stale_or_altered_signature_is_refused():
    signature = ForwardingSignature(SECRET)
    scope = signed_scope(signature)
    now = time.time()
    refused = {
        "another key": signed_scope(ForwardingSignature("another secret")),
        "61 s old": signed_scope(signature, at=int(now) - 61),
        "61 s ahead": signed_scope(signature, at=int(now) + 61),
        "no signature": with_header(scope, FORWARDED_SIGNATURE.encode(), None),
        "no node": with_header(scope, FORWARDED_BY.encode(), None),
        "another node": with_header(scope, FORWARDED_BY.encode(), b"b"),
        "another time": with_header(scope, FORWARDED_AT.encode(), str(int(now) + 1).encode()),
        "a changed client": with_header(scope, b"x-airsequel-forwarded-for", b"10.0.0.10"),
        "a removed header": with_header(scope, b"x-airsequel-forwarded-for", None),
        "an added header": with_header(scope, b"x-airsequel-admin", b"yes"),
        "a repeated header": {**scope, "headers": scope["headers"] + [(b"x-airsequel-forwarded-for", b"10.0.0.9")]},
        "another method": {**scope, "method": "DELETE"},
        "another path": {**scope, "raw_path": b"/dbs/y/sql"},
        "another query": {**scope, "query_string": b"y=2"},
        "a bad signature": with_header(scope, FORWARDED_SIGNATURE.encode(), b"00" * 32),
    }
    assert {case: signature.verify(forged, now=now) for case, forged in refused.items()} == dict.fromkeys(refused)


def test_a_signed_header_must_be_an_airsequel_one():
    with pytest.raises(ValueError, match="x-airsequel-"):
        ForwardingSignature(SECRET).headers("a", "GET", b"/", {"x-user": "alice"})


# --- WebSockets ----------------------------------------------------------------------------------------------


def front_socket(servers: Servers, path: str, **options):
    url = servers.front.replace("http://", "ws://") + path
    headers = {"x-test-target": options.pop("target", servers.a), **options.pop("headers", {})}
    return ws_connect(url, additional_headers=headers, open_timeout=10, **options)


def test_a_websocket_round_trip_through_the_front(servers):
    headers = {"cookie": "session=abc", "authorization": "Bearer t", "origin": servers.front, "x-airsequel-x": "1"}
    with front_socket(servers, "/ws?db=1", subprotocols=[PROTOCOL], headers=headers) as ws:
        assert ws.subprotocol == PROTOCOL
        hello = orjson.loads(ws.recv(timeout=5))
        ws.send('{"type": "connection_init"}')
        assert ws.recv(timeout=5) == '{"type": "connection_init"}'
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=5) == b"\x00\x01binary"
    assert hello["node"] == "a" and hello["verified"] == "front"
    assert hello["raw_path"] == "/ws" and hello["query"] == "db=1" and hello["subprotocols"] == [PROTOCOL]
    assert header_values(hello, "cookie") == ["session=abc"]
    assert header_values(hello, "authorization") == ["Bearer t"]
    assert header_values(hello, "origin") == [servers.front]
    assert header_values(hello, "host") == [servers.front.removeprefix("http://")]
    assert header_values(hello, "x-airsequel-x") == []


def test_a_close_passes_through_both_ways(servers):
    with front_socket(servers, "/ws", subprotocols=[PROTOCOL]) as ws:
        ws.recv(timeout=5)
        ws.send("close 4403 Forbidden: no access")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert (ws.close_code, ws.close_reason) == (4403, "Forbidden: no access")

    before = len(httpx2.get(f"{servers.a}/ws-closes").json())
    with front_socket(servers, "/ws") as ws:
        assert ws.subprotocol is None
        ws.recv(timeout=5)
        ws.close(4000, "the client is done")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(closes := httpx2.get(f"{servers.a}/ws-closes").json()) == before:
        time.sleep(0.05)
    assert closes[-1] == [4000, "the client is done"]


def test_a_refused_or_unreachable_websocket_is_refused_to_the_client(servers):
    direct = servers.a.replace("http://", "ws://") + "/ws-refuse"
    with pytest.raises(InvalidStatus) as refused_directly:
        ws_connect(direct, open_timeout=5)
    with pytest.raises(InvalidStatus) as refused:
        front_socket(servers, "/ws-refuse")
    assert refused.value.response.status_code == refused_directly.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as unreachable:
        front_socket(servers, "/ws", target=f"http://127.0.0.1:{free_port()}")
    assert unreachable.value.response.status_code == 503
    assert orjson.loads(unreachable.value.response.body)["errors"][0].startswith("Node http://127.0.0.1:")


# --- gigabytes in bounded memory -----------------------------------------------------------------------------

BIG = 300 * 1024 * 1024
BOUND_KB = 64 * 1024  # what the front's peak resident memory may grow by while 300 MB pass through it


def front_memory(servers: Servers, what: str) -> dict:
    return httpx2.get(f"{servers.front}/__front/{what}", timeout=10).json()


@pytest.mark.slow
def test_a_300_mb_upload_streams_through_in_bounded_memory(servers):
    start = front_memory(servers, "reset-peak")
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for chunk in pattern_bytes(BIG):
            digest.update(chunk)
            yield chunk

    with through(servers) as front:
        seen = echo(front.post("/echo", content=body(), headers={"content-length": str(BIG)}))
    peak = front_memory(servers, "memory")
    assert seen["length"] == BIG and seen["sha256"] == digest.hexdigest()
    grown = peak["hwm_kb"] - start["rss_kb"]
    print(
        f"\nupload of 300 MB: the front's peak RSS grew by {grown / 1024:.1f} MiB (from {start['rss_kb'] / 1024:.1f} MiB)"
    )
    assert grown < BOUND_KB


@pytest.mark.slow
def test_a_300_mb_download_streams_through_in_bounded_memory(servers):
    start = front_memory(servers, "reset-peak")
    digest, size = hashlib.sha256(), 0
    with through(servers) as front, front.stream("GET", f"/download?size={BIG}&chunked=1") as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            digest.update(chunk)
            size += len(chunk)
    peak = front_memory(servers, "memory")
    expected = hashlib.sha256()
    for chunk in pattern_bytes(BIG):
        expected.update(chunk)
    assert size == BIG and digest.hexdigest() == expected.hexdigest()
    grown = peak["hwm_kb"] - start["rss_kb"]
    print(
        f"\ndownload of 300 MB: the front's peak RSS grew by {grown / 1024:.1f} MiB (from {start['rss_kb'] / 1024:.1f} MiB)"
    )
    assert grown < BOUND_KB
    assert len(PATTERN) == 1 << 20
