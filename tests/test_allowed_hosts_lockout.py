"""PATCH /api/settings may not set an allowedHosts that refuses the host the request came through: the
caller would be locked out of the server it is changing. The refusal is a 400 naming that host, and no
setting of the body changes."""

from __future__ import annotations

import pytest

from airsequel.core.admin.server_settings import RequestHost
from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.errors import InvalidInput


def test_an_allowed_hosts_without_the_request_s_host_is_refused_and_nothing_changes(client):
    before = client.get("/api/settings").json()
    refused = client.patch("/api/settings", json={"allowedHosts": ["db.example.org"], "signup": "closed"})
    assert refused.status_code == 400
    message = refused.json()["errors"][0]
    assert "'testserver'" in message and "allowedHosts" in message and "'db.example.org'" in message
    after = client.get("/api/settings")
    assert after.status_code == 200  # the next request still works
    assert after.json()["allowedHosts"] == before["allowedHosts"] == []
    assert after.json()["signup"] == "open"  # all or nothing: the other setting of the body is not applied


def test_the_readme_example_sent_through_127_0_0_1_is_refused_naming_that_host(client):
    readme = {
        "allowedHosts": ["db.example.org", "localhost:4185"],
        "signup": "closed",  # (the README's sqlTimeLimitSeconds left out: the suite's servers fix it at start)
        "maxRowsPerResponse": 5000,
        "maxUploadBytes": 104857600,
    }
    through = {"Host": "127.0.0.1:4185"}
    refused = client.patch("/api/settings", json=readme, headers=through)
    assert refused.status_code == 400 and "'127.0.0.1:4185'" in refused.json()["errors"][0]
    settings = client.get("/api/settings", headers=through)
    assert settings.status_code == 200
    assert settings.json()["allowedHosts"] == [] and settings.json()["maxRowsPerResponse"] == 10000
    # the same body sent through a host it names is applied, and that host keeps working
    applied = client.patch("/api/settings", json=readme, headers={"Host": "localhost:4185"})
    assert applied.status_code == 200, applied.text
    assert client.get("/api/settings", headers={"Host": "localhost:4185"}).json()["maxRowsPerResponse"] == 5000
    assert client.get("/api/status", headers=through).status_code == 403  # the list now decides


def test_a_list_that_names_the_request_s_host_is_applied_and_the_next_request_works(client):
    for allowed in (["testserver"], ["db.example.org", "TestServer"]):
        applied = client.patch("/api/settings", json={"allowedHosts": allowed})
        assert applied.status_code == 200, (allowed, applied.text)
        assert client.get("/api/settings").json()["allowedHosts"] == [entry.lower() for entry in allowed]
    assert client.get("/api/status", headers={"Host": "elsewhere.example"}).status_code == 403
    # a name:port entry answers that port only: the request's Host has none, so it would lock the caller out
    refused = client.patch("/api/settings", json={"allowedHosts": ["testserver:80"]})
    assert refused.status_code == 400 and "'testserver'" in refused.json()["errors"][0]
    assert client.get("/api/settings").json()["allowedHosts"] == ["db.example.org", "testserver"]


def test_emptying_the_list_from_a_name_a_loopback_connection_does_not_answer_is_refused(services):
    """On a loopback connection an empty allowedHosts answers loopback names only: a proxy on the same
    machine forwarding `db.example.org` would be locked out by emptying the list."""
    admin = Principal(PrincipalKind.USER, user_id=1, username="root", server_admin=True)
    services.server_settings.update(admin, {"allowedHosts": ["db.example.org"]})
    with pytest.raises(InvalidInput) as refused:
        services.server_settings.update(
            admin, {"allowedHosts": [], "signup": "closed"}, via=RequestHost("db.example.org", "127.0.0.1")
        )
    assert "'db.example.org'" in str(refused.value) and "loopback" in str(refused.value)
    assert services.live.current.allowed_hosts == ("db.example.org",) and services.live.current.signup == "open"
    services.server_settings.update(admin, {"allowedHosts": []}, via=RequestHost("localhost:4185", "127.0.0.1"))
    assert services.live.current.allowed_hosts == ()
