"""A caller who may not do something is refused before its body is read: the answer does not
depend on what it sent (the status stays what it was when routes checked access themselves)."""

from __future__ import annotations

import pytest

from tests.helpers import create_db, sign_up_and_login

BAD_JSON = b"{not json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/settings"),
        ("POST", "/api/settings/env"),
        ("PATCH", "/api/settings/env/X"),
        ("POST", "/api/teams"),
        ("POST", "/api/exports"),
        ("PATCH", "/api/teams/alice"),
    ],
)
def test_the_anonymous_get_401_whatever_the_body(anonymous, method, path):
    answer = anonymous.request(method, path, content=BAD_JSON, headers={"Content-Type": "application/json"})
    assert answer.status_code == 401, answer.text


def test_an_outsider_gets_404_for_a_team_or_token_whatever_the_body(client):
    permissions = [{"db_id": create_db(client), "name": "read"}]  # a token needs one
    token = client.post("/api/tokens", json={"name": "t", "team_name": "alice", "permissions": permissions})
    assert token.status_code == 201, token.text
    outsider = {"Authorization": "Bearer " + sign_up_and_login(client, "mallory")}
    team = client.patch("/api/teams/alice", json={"billing_plan": 5}, headers=outsider)
    assert team.status_code == 404
    patched = client.patch(f"/api/tokens/{token.json()['id']}", json={"description": 5}, headers=outsider)
    assert patched.status_code == 404
    anonymous = client.patch(f"/api/tokens/{token.json()['id']}", content=BAD_JSON, headers={"Authorization": ""})
    assert anonymous.status_code == 401
