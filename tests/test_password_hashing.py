"""Argon2 profiles: production keeps the strong parameters; hashes from either profile verify with the other."""

from __future__ import annotations

import re

import pytest

from airsequel.config import Settings
from airsequel.core.auth.accounts import password_hasher
from airsequel.core.services import Services
from tests.control_planes import control_plane_flag
from tests.helpers import PASSWORD, sign_up_and_login


def parameters(encoded: str) -> dict[str, int]:
    """The m=, t= and p= values of an encoded argon2 hash."""
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", encoded)
    assert match, encoded
    return dict(zip("mtp", map(int, match.groups())))


def test_the_default_profile_keeps_the_strong_parameters(tmp_path):
    strong = {"m": 65536, "t": 3, "p": 4}
    assert parameters(password_hasher().hash(PASSWORD)) == strong
    assert parameters(password_hasher("strong").hash(PASSWORD)) == strong
    assert parameters(password_hasher("fast-insecure-for-tests").hash(PASSWORD)) == {"m": 8, "t": 1, "p": 1}
    # Without the variable (a production server), the accounts of a server hash with the strong profile.
    for environ, expected in (({}, strong), ({"AIRSEQUEL_PASSWORD_HASHING": "fast-insecure-for-tests"}, None)):
        started = Services.start(
            Settings.from_env(
                environ=environ,
                data_dir=tmp_path / str(len(environ)),
                secret_key="k",
                control_plane=control_plane_flag(tmp_path / str(len(environ))),
            )
        )
        try:
            made = parameters(started.accounts.hasher.hash(PASSWORD))
            assert made == (expected or {"m": 8, "t": 1, "p": 1})
        finally:
            started.stop()
    with pytest.raises(ValueError, match="Unknown password hashing profile 'weak'"):
        password_hasher("weak")


def test_a_hash_of_one_profile_verifies_with_the_other():
    strong, fast = password_hasher("strong"), password_hasher("fast-insecure-for-tests")
    for maker, checker in ((strong, fast), (fast, strong)):
        encoded = maker.hash(PASSWORD)
        assert checker.verify(encoded, PASSWORD)
        assert checker.check_needs_rehash(encoded)
        with pytest.raises(Exception, match="does not match"):
            checker.verify(encoded, PASSWORD + "!")


def test_a_user_with_a_strong_hash_logs_in_to_a_fast_server_and_is_rehashed(anonymous):
    sign_up_and_login(anonymous, "alice")
    control = anonymous.app.state.services.control
    control.execute(
        "UPDATE users SET password_hash = ? WHERE username = 'alice'", (password_hasher("strong").hash(PASSWORD),)
    )
    assert anonymous.post("/api/login", json={"username": "alice", "password": PASSWORD}).status_code == 200
    stored = control.query("SELECT password_hash FROM users WHERE username = 'alice'")[0][0]
    assert parameters(stored) == {"m": 8, "t": 1, "p": 1}
    assert anonymous.post("/api/login", json={"username": "alice", "password": "wrong password"}).status_code == 401
