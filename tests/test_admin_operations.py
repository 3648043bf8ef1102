"""Settings changes are one core operation each: checked whole, written in one transaction."""

from __future__ import annotations

import pytest

from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.errors import Forbidden, InvalidInput, NotAuthenticated
from tests.control_planes import control_plane_flag
from tests.helpers import create_db


def test_a_refused_server_settings_patch_changes_no_variable_either(client):
    assert client.post("/api/settings/env", json={"name": "KEEP", "value": "1"}).status_code == 201
    refused = client.patch("/api/settings", json={"envVars": [{"name": "NEW", "value": "2"}], "maxRowsPerResponse": 0})
    assert refused.status_code == 400
    assert refused.json() == {"errors": ["maxRowsPerResponse must be a number from 1 to 1e+06"]}
    settings = client.get("/api/settings").json()
    assert [v["name"] for v in settings["envVars"]] == ["KEEP"] and settings["maxRowsPerResponse"] == 10_000


def test_a_refused_database_settings_patch_changes_nothing(client):
    db = create_db(client, "CREATE TABLE t(a)")
    assert client.post(f"/api/dbs/{db}/env", json={"name": "KEEP", "value": "1"}).status_code == 201
    refused = client.patch(
        f"/api/dbs/{db}/settings", json={"envVars": [{"name": "NEW", "value": "2"}], "visibility": "everyone"}
    )
    assert refused.status_code == 400 and refused.json() == {"errors": ["visibility must be 'public' or 'private'"]}
    settings = client.get(f"/api/dbs/{db}/settings").json()
    assert [v["name"] for v in settings["envVars"]] == ["KEEP"] and settings["visibility"] == "private"


@pytest.mark.parametrize(
    ("caller", "error", "message"),
    [
        (Principal.anonymous(), NotAuthenticated, "Log in as a server admin"),
        (
            Principal(PrincipalKind.USER, user_id=2, username="bob"),
            Forbidden,
            "Only server admins manage server settings",
        ),
        (Principal(PrincipalKind.TOKEN, token_id=1), Forbidden, "Only server admins manage server settings"),
    ],
)
def test_server_settings_decide_who_may_change_them(services, caller, error, message):
    with pytest.raises(error) as refused:
        services.server_settings.update(caller, {"signup": "closed", "envVars": [{"name": "X", "value": "1"}]})
    assert str(refused.value) == message
    with pytest.raises(error):
        services.server_settings.create_variable(caller, "X", "1")
    assert services.settings.signup == "open"
    assert services.env_vars.in_scope("server", with_values=False) == []


def test_the_catalog_lists_nothing_to_the_anonymous(services):
    with pytest.raises(NotAuthenticated) as refused:
        services.catalog.visible_to(Principal.anonymous())
    assert str(refused.value) == "Log in or send an API token to list databases"


def test_database_settings_refuse_a_non_boolean_flag(services):
    record = services.hosting.create("flags")
    with pytest.raises(InvalidInput) as refused:
        services.database_settings.update(record, {"viewsTab": True, "auditing": "yes"})
    assert str(refused.value) == "auditing must be true or false"
    after = services.hosting.get(record.id)
    assert (after.views_tab, after.auditing) == (False, False)


@pytest.mark.parametrize(("value", "status"), [(2048.0, 200), ("2048", 400), (True, 400), (2048.5, 400), (10, 400)])
def test_settings_numbers_are_json_numbers(client, value, status):
    answer = client.patch("/api/settings", json={"maxUploadBytes": value})
    assert answer.status_code == status
    if status == 400:
        assert answer.json() == {"errors": ["maxUploadBytes must be a number from 1024 to 1.09951e+12"]}
        assert client.get("/api/settings").json()["maxUploadBytes"] == 1 << 30
    else:
        assert client.get("/api/settings").json()["maxUploadBytes"] == 2048


def test_a_stored_value_shadowed_by_the_environment_is_logged(tmp_path, caplog):
    from airsequel.config import Settings
    from airsequel.core.services import Services

    admin = Principal(PrincipalKind.USER, user_id=1, username="root", server_admin=True)
    first = Services.start(
        Settings.from_env(environ={}, data_dir=tmp_path, secret_key="k", control_plane=control_plane_flag(tmp_path))
    )
    first.server_settings.update(admin, {"signup": "closed"})
    first.stop()
    again = Services.start(
        Settings.from_env(
            environ={"AIRSEQUEL_SIGNUP": "open"},
            data_dir=tmp_path,
            secret_key="k",
            control_plane=control_plane_flag(tmp_path),
        )
    )
    again.stop()
    assert again.settings.signup == "open"
    assert "signup set through the API to 'closed' is overridden by AIRSEQUEL_SIGNUP ('open')" in caplog.text


def test_a_stored_secret_overridden_at_start_is_named_in_the_log_without_its_values(tmp_path, caplog):
    from airsequel.config import Settings
    from airsequel.core.services import Services

    admin = Principal(PrincipalKind.USER, user_id=1, username="root", server_admin=True)
    first = Services.start(
        Settings.from_env(environ={}, data_dir=tmp_path, secret_key="k", control_plane=control_plane_flag(tmp_path))
    )
    first.server_settings.update(admin, {"smtpPassword": "stored-secret-pw"})
    first.stop()
    again = Services.start(
        Settings.from_env(
            environ={"AIRSEQUEL_SMTP_PASSWORD": "env-secret-pw"},
            data_dir=tmp_path,
            secret_key="k",
            control_plane=control_plane_flag(tmp_path),
        )
    )
    again.stop()
    assert "smtpPassword set through the API is overridden by AIRSEQUEL_SMTP_PASSWORD" in caplog.text
    assert "stored-secret-pw" not in caplog.text and "env-secret-pw" not in caplog.text
