"""Issue 16, point 9: a fresh server gives nobody admin rights through a request it cannot trust.

The attack: DNS rebinding. A page on attacker.example makes the victim's browser send a sign-up to a
fresh server on 127.0.0.1 with `Host: attacker.example`; the first user used to become server admin.
Now only the one-time setup link (printed by `airsequel serve`) or `airsequel create-user
--server-admin` makes a server admin, and a server reached on loopback answers only loopback names."""

from __future__ import annotations

import subprocess
import sys

import httpx2
import pytest

from airsequel.core.admin.server_settings import parse_host_header
from airsequel.core.auth.access import Principal
from airsequel.core.errors import Forbidden
from airsequel.core.services import Services
from tests.helpers import PASSWORD, setup_key_from_log
from tests.server_process import running_server, server_log

SIGN_UP = {"username": "mallory", "email_address": "mallory@example.org", "password": PASSWORD}


def users(services: Services) -> list[tuple[str, int]]:
    return [tuple(row) for row in services.control.query("SELECT username, server_admin FROM users ORDER BY id")]


def login(client, username: str) -> dict[str, str]:
    token = client.post("/api/login", json={"username": username, "password": PASSWORD}).json()["sessionToken"]
    client.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


def test_a_first_sign_up_with_a_foreign_host_is_not_admin(anonymous):
    """In process (the TestClient's connection is not a loopback one): the sign-up is answered, but
    the account is an ordinary user."""
    services = anonymous.app.state.services
    answer = anonymous.post("/api/users", json=SIGN_UP, headers={"Host": "attacker.example"})
    assert answer.status_code == 201
    assert users(services) == [("mallory", 0)]
    mallory = login(anonymous, "mallory")
    assert anonymous.get("/api/users/mallory", headers=mallory).json()["serverRoles"] == []
    refused = anonymous.get("/api/settings", headers=mallory)
    assert refused.status_code == 403


def test_the_setup_key_makes_one_server_admin_once(anonymous):
    services = anonymous.app.state.services
    key = services.accounts.setup_key()
    wrong = anonymous.post("/api/users", json={**SIGN_UP, "setupKey": key[:-2] + "xx"})
    assert wrong.status_code == 403
    assert wrong.json() == {"errors": ["The setup link is unknown or was used: the server log names the current one"]}
    assert users(services) == []
    short = anonymous.post("/api/users", json={**SIGN_UP, "setupKey": key, "password": "short"})
    assert short.status_code == 400 and users(services) == []  # a refused sign-up leaves the link usable
    services.live.apply({"signup": "closed"})  # the operator's link works while sign-up is closed
    made = anonymous.post("/api/users", json={**SIGN_UP, "username": "root", "setupKey": key})
    assert made.status_code == 201 and users(services) == [("root", 1)]
    again = anonymous.post("/api/users", json={**SIGN_UP, "setupKey": key})
    assert again.status_code == 403 and users(services) == [("root", 1)]
    assert services.accounts.setup_key() is None  # a server with an admin hands out no new link


def test_a_new_setup_key_ends_the_earlier_one(services):
    first, second = services.accounts.setup_key(), services.accounts.setup_key()
    with pytest.raises(Exception, match="setup link is unknown"):
        services.accounts.sign_up(Principal.anonymous(), "root", "root@example.org", PASSWORD, setup_key=first)
    assert services.accounts.sign_up(
        Principal.anonymous(), "root", "root@example.org", PASSWORD, setup_key=second
    ).server_admin


def test_the_setup_page_is_a_sign_up_form_carrying_the_key(anonymous):
    page = anonymous.get("/setup/some-key")
    assert page.status_code == 200
    assert "Create the server admin account" in page.text
    assert '<input type="hidden" name="setupKey" value="some-key">' in page.text


@pytest.mark.parametrize(
    "host, parsed",
    [
        ("db.example.org", ("db.example.org", None)),
        ("DB.Example.org.:8443", ("db.example.org", 8443)),
        ("[::1]:4185", ("[::1]", 4185)),
        ("db.example.org:@evil.example", None),
        ("db.example.org@evil.example", None),
        ("db.example.org:80:81", None),
        ("db.example.org:99999", None),
        ("db.example.org/x", None),
        ("[not-an-address]", None),
        ("", None),
    ],
)
def test_host_headers_are_parsed_strictly(host, parsed):
    assert parse_host_header(host) == parsed


def test_allowed_hosts_refuse_a_host_with_a_smuggled_name(client):
    assert client.patch("/api/settings", json={"allowedHosts": ["db.example.org", "testserver"]}).status_code == 200
    assert client.get("/api/status", headers={"Host": "db.example.org:4185"}).status_code == 200
    refused = client.get("/api/status", headers={"Host": "db.example.org:@evil.example"})
    assert refused.status_code == 403
    assert refused.json() == {
        "errors": ["The Host header 'db.example.org:@evil.example' is not a host name with an optional port"]
    }


def test_loopback_connections_answer_loopback_names_only(settings):
    services = Services.start(settings)
    try:
        decide = services.server_settings.host_refusal
        for name in ("localhost", "localhost:4185", "127.0.0.1:80", "[::1]:4185", "LOCALHOST"):
            assert decide(name, local_address="127.0.0.1") is None, name
            assert decide(name, local_address="::1") is None, name
        assert "not a loopback name" in (decide("attacker.example", local_address="127.0.0.1") or "")
        assert "not a loopback name" in (decide("127.0.0.2", local_address="127.0.0.1") or "")
        assert decide("attacker.example", local_address="192.0.2.7") is None  # not loopback: allowedHosts decides
        services.live.apply({"allowed_hosts": ("db.example.org",)})
        assert decide("db.example.org", local_address="127.0.0.1") is None  # a proxy on the same machine
        assert decide("localhost", local_address="127.0.0.1") is not None  # the operator named the hosts
    finally:
        services.stop()


@pytest.mark.e2e
def test_dns_rebinding_against_a_fresh_loopback_server(tmp_path):
    """The attack exactly as found: a real server on 127.0.0.1, a sign-up with Host attacker.example."""
    data_dir = tmp_path / "data"
    with running_server(data_dir) as base:
        port = base.rsplit(":", 1)[1]
        http = httpx2.Client(base_url=base, timeout=10)
        refused = http.post("/api/users", json=SIGN_UP, headers={"Host": "attacker.example"})
        assert refused.status_code == 403
        assert refused.json()["errors"][0].startswith("The host 'attacker.example' is not a loopback name")
        assert http.get("/api/status", headers={"Host": f"attacker.example:{port}"}).status_code == 403
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
            assert http.get("/api/status", headers={"Host": host}).status_code == 200, host
        # Nothing was created: the first sign-up through our own name is an ordinary user.
        assert http.post("/api/users", json=SIGN_UP).status_code == 201
        assert http.get("/api/users/mallory", headers=login(http, "mallory")).json()["serverRoles"] == []
        # The operator's link from the log makes the admin.
        key = setup_key_from_log(data_dir)
        assert http.get(f"/setup/{key}").status_code == 200
        made = http.post(
            "/api/users",
            json={"username": "root", "email_address": "root@example.org", "password": PASSWORD, "setupKey": key},
        )
        assert made.status_code == 201
        assert http.get("/api/users/root", headers=login(http, "root")).json()["serverRoles"] == ["admin"]
        assert http.post("/api/users", json={**SIGN_UP, "username": "late", "setupKey": key}).status_code == 403


@pytest.mark.e2e
def test_create_user_server_admin_then_no_setup_link(tmp_path):
    data_dir = tmp_path / "data"
    made = subprocess.run(
        [sys.executable, "-m", "airsequel", "create-user", "root", "--email", "root@example.org", "--password-stdin"]
        + ["--server-admin", "--data-dir", str(data_dir)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created server admin root with personal team root"
    with running_server(data_dir) as base:
        http = httpx2.Client(base_url=base, timeout=10)
        assert http.get("/api/users/root", headers=login(http, "root")).json()["serverRoles"] == ["admin"]
    assert "/setup/" not in server_log(data_dir).read_text()


def test_the_setup_sign_up_checks_for_an_admin_inside_its_write(services):
    """Worker processes each hold the setup key's digest: the one check that two of them cannot both pass is
    the one made inside the control plane's write transaction (BEGIN IMMEDIATE serialises processes)."""
    services.accounts.create_user("first", "first@example.org", PASSWORD, server_admin=True)
    # Another worker passed its own in-memory check before the admin above was committed, then writes:
    with pytest.raises(Forbidden, match="setup link is unknown or was used"):
        services.accounts.create_user(
            "second", "second@example.org", PASSWORD, server_admin=True, only_while_no_server_admin=True
        )
    assert services.accounts.user_by_name("second") is None
    assert services.accounts.user_by_name("first").server_admin
