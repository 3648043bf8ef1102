"""Users, their passwords and sessions, and password resets.

Passwords are hashed with argon2 (argon2-cffi) and never returned or logged. Session tokens and reset
keys are random; only their SHA-256 is stored, so a copy of the control plane cannot be replayed.

The argon2 parameters come from a named profile (see `password_hasher`). A hash records the
parameters it was made with, so hashes made under another profile still verify, and are rehashed
with the current profile at the next successful login.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from airsequel.config import LiveSettings
from airsequel.core.auth.access import Principal, PrincipalKind, is_server_admin
from airsequel.core.auth.addresses import EMAIL, checked_email
from airsequel.core.auth.email_verification import EmailVerification
from airsequel.core.auth.invitations import Invitations
from airsequel.core.auth.keys import digest
from airsequel.core.auth.login_throttle import LoginThrottle
from airsequel.core.auth.teams import Teams, checked_team_name
from airsequel.core.clock import iso_from_datetime, utc_now_iso
from airsequel.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from airsequel.core.mail.mailer import Mailer
from airsequel.core.mail.messages import Mail
from airsequel.core.registry.connection import ControlConnection, ControlRow
from airsequel.core.registry.control_plane import ControlPlane

log = logging.getLogger("airsequel.accounts")

SESSION_DAYS = 30
RESET_KEY_MINUTES = 60
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
__all__ = ["EMAIL", "digest"]  # kept here for the modules that import them from accounts
WRONG_CREDENTIALS = "Wrong username or password"

# argon2id parameter sets by name. "strong" is what the server has always used (argon2-cffi's
# default, RFC 9106's low-memory recommendation), pinned here so a library upgrade cannot change it
# unnoticed. "fast-insecure-for-tests" makes a hash cost microseconds instead of ~0.1 s and 64 MiB;
# it protects nothing and is for test suites only.
HASHING_PROFILES: dict[str, Parameters] = {
    "strong": Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=3, memory_cost=65536, parallelism=4
    ),
    "fast-insecure-for-tests": Parameters(
        type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
    ),
}
DEFAULT_HASHING_PROFILE = "strong"


SETUP_LINK_USED = "The setup link is unknown or was used: the server log names the current one"


@dataclass
class User:
    id: int
    username: str
    email: str
    server_admin: bool
    created_utc: str


@dataclass
class Login:
    """A successful login: the user, the new session's token, and the user's teams (short form)."""

    user: User
    session_token: str
    teams: list[dict[str, Any]]


def password_hasher(profile: str = DEFAULT_HASHING_PROFILE) -> PasswordHasher:
    """The argon2 hasher of a named profile: "strong" (the default) or "fast-insecure-for-tests"."""
    try:
        return PasswordHasher.from_parameters(HASHING_PROFILES[profile])
    except KeyError:
        known = ", ".join(repr(name) for name in HASHING_PROFILES)
        raise ValueError(f"Unknown password hashing profile {profile!r}: use one of {known}") from None


class Accounts:
    def __init__(
        self,
        control: ControlPlane,
        teams: Teams,
        outbox: Path,
        hasher: PasswordHasher | None = None,
        *,
        live: LiveSettings | None = None,
        throttle: LoginThrottle | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        """`hasher`: None means the strong profile (a server passes the one its password_hashing
        setting names). `live`: where the `signup` setting is read (None: sign-up is
        open). `throttle`: what slows down password guessing at login and reset requests.
        `mailer`: how mails go out (None: all to the `outbox` directory)."""
        self.control = control
        self.teams = teams
        self.outbox = outbox
        self.mailer = mailer if mailer is not None else Mailer(outbox)
        self.verification = EmailVerification(control, self.mailer)
        self.invitations = Invitations(control, teams, self.mailer)
        self.hasher = hasher if hasher is not None else password_hasher()
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        self.live = live
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self._setup_digest: str | None = None
        self._setup_lock = threading.Lock()

    # --- users ------------------------------------------------------------------------------

    def sign_up(
        self,
        caller: Principal,
        username: str,
        email: str,
        password: str,
        *,
        setup_key: str | None = None,
        invitation_key: str | None = None,
    ) -> User:
        """A new user asked for over the API. A request over the network never makes a server admin
        by itself (a sign-up with a forged Host header would, through DNS rebinding): only the
        one-time `setup_key` (see `setup_key()`) does, and it works while sign-up is closed too.
        Without it, while sign-up is closed, only a server admin may create a user, or the holder of
        an invitation's key (invitations.py) for the address it was sent to. With SMTP on, the new
        address gets a verification link (an invitation's address is verified by it)."""
        if setup_key is not None and invitation_key is not None:
            raise InvalidInput("Send setupKey or invitationKey, not both")
        if setup_key is not None:
            user = self._sign_up_with_setup_key(setup_key, username, email, password)
        elif invitation_key is not None:
            redeem = self.invitations.redeem
            return self.create_user(
                username,
                email,
                password,
                first_is_admin=False,
                within=lambda conn, user_id: redeem(conn, invitation_key, email.strip(), user_id),
            )
        else:
            closed = self.live is not None and self.live.current.signup == "closed"
            if closed and not is_server_admin(caller):
                raise Forbidden("Sign-up is closed on this server: ask a server admin to create your account")
            user = self.create_user(username, email, password, first_is_admin=False)
        self.verification.send(user.id, user.username, user.email)
        return user

    def invite(self, caller: Principal, email: str, *, team: str | None = None, role: str | None = None) -> None:
        """POST /api/users/invite: mail a sign-up link (who may: see invitations.py)."""
        self.invitations.invite(caller, email, team=team, role=role)

    def verify_email(self, key: str) -> tuple[str, str]:
        """GET /verify-email/:key: the address of the key's user is verified; (username, address)."""
        return self.verification.verify(key)

    def create_user(
        self,
        username: str,
        email: str,
        password: str,
        *,
        server_admin: bool = False,
        first_is_admin: bool = True,
        only_while_no_server_admin: bool = False,
        within: Callable[[ControlConnection, int], None] | None = None,
    ) -> User:
        """A new user with a personal team of the same name, Admin there. Made by the operator
        (`airsequel create-user`), the first user of a server becomes server admin
        (`first_is_admin`); `sign_up`, the network's way in, never relies on that.
        `only_while_no_server_admin` (the setup key's sign-up): refused when a server admin exists by the time
        the write transaction holds the control plane, so two worker processes cannot both make one.
        `within`: more work in the same transaction, given the new user's id (an invitation's)."""
        username = checked_team_name(username, what="username")
        checked_email(email)
        checked_password(password)
        password_hash = self.hasher.hash(password)
        now = utc_now_iso()
        with self.control.transaction() as conn:
            if only_while_no_server_admin and conn.execute("SELECT 1 FROM users WHERE server_admin = 1").fetchone():
                raise Forbidden(SETUP_LINK_USED)
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise Conflict(f"The username {username!r} is taken")
            if conn.execute("SELECT 1 FROM users WHERE email = ?", (email.strip(),)).fetchone():
                raise Conflict("An account with this email address exists already")
            if conn.execute("SELECT 1 FROM teams WHERE name = ?", (username,)).fetchone():
                raise Conflict(f"The name {username!r} is taken by a team")
            first = conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
            user_id = conn.execute(
                "INSERT INTO users(username, email, password_hash, server_admin, created_utc) VALUES (?, ?, ?, ?, ?)"
                " RETURNING id",
                (username, email.strip(), password_hash, int(server_admin or (first and first_is_admin)), now),
            ).fetchone()[0]
            self.teams.insert_team(conn, username, admin_user_id=user_id)
            if within is not None:
                within(conn, user_id)
        user = self.user_by_name(username)
        assert user is not None
        return user

    def has_server_admin(self) -> bool:
        return bool(self.control.query("SELECT 1 FROM users WHERE server_admin = 1 LIMIT 1"))

    def setup_key(self) -> str | None:
        """A new one-time key that makes the account signed up with it a server admin, while the
        server has none (None once it has one). It replaces any earlier key and lives in this
        process only: `airsequel serve` prints the link at each start, and a restart ends it."""
        if self.has_server_admin():
            return None
        key = secrets.token_urlsafe(32)
        with self._setup_lock:
            self._setup_digest = digest(key)
        return key

    def _sign_up_with_setup_key(self, key: str, username: str, email: str, password: str) -> User:
        with self._setup_lock:  # taken out while the user is made, so two requests cannot both use it
            known = self._setup_digest
            if known is None or not secrets.compare_digest(known, digest(key)) or self.has_server_admin():
                raise Forbidden(SETUP_LINK_USED)
            self._setup_digest = None
        try:
            return self.create_user(username, email, password, server_admin=True, only_while_no_server_admin=True)
        except BaseException:
            with self._setup_lock:  # a taken username or a short password: the link still works
                if self._setup_digest is None:
                    self._setup_digest = known
            raise

    def user_by_name(self, username: str) -> User | None:
        rows = self.control.query(
            "SELECT id, username, email, server_admin, created_utc FROM users WHERE username = ?", (username,)
        )
        return _user(rows[0]) if rows else None

    def user_by_id(self, user_id: int) -> User | None:
        rows = self.control.query(
            "SELECT id, username, email, server_admin, created_utc FROM users WHERE id = ?", (user_id,)
        )
        return _user(rows[0]) if rows else None

    def profile(self, caller: Principal, username: str) -> dict[str, Any]:
        """A user as GET /api/users/:username shows it: to the user itself and to server admins. Anyone
        else learns nothing, not even whether the user exists."""
        if caller.kind == PrincipalKind.ANONYMOUS:
            raise NotAuthenticated("Log in to see a user")
        allowed = caller.kind == PrincipalKind.USER and (
            caller.server_admin or (caller.username or "").lower() == username.lower()
        )
        user = self.user_by_name(username) if allowed else None
        if user is None:
            raise NotFound(f"User {username!r} does not exist")
        verified = self.control.query("SELECT email_verified_utc FROM users WHERE id = ?", (user.id,))
        return {
            "emailVerified": bool(verified and verified[0][0] is not None),
            "serverRoles": ["admin"] if user.server_admin else [],
            "teams": self.teams.teams_of_user(user.id),
            "username": user.username,
        }

    # --- sessions ---------------------------------------------------------------------------

    def login(self, username: str, password: str, *, client_address: str) -> Login:
        """A new session for the user, throttled (see login_throttle.py): too many failed logins
        from this address for this username, from this address at all, or for this username from
        this address while many addresses fail for it → TooManyAttempts (429). Failures elsewhere
        never refuse the right password from an address that has none. A success forgets this
        address's failures for the username."""
        self.throttle.check_login(username, client_address)
        try:
            user, token = self._check_password(username, password)
        except NotAuthenticated:
            self.throttle.login_failed(username, client_address)
            raise
        self.throttle.login_succeeded(username, client_address)
        return Login(user, token, self.teams.teams_of_user(user.id))

    def _check_password(self, username: str, password: str) -> tuple[User, str]:
        """Check the password; return the user and a new session token. The same error, and the
        same work, whether or not the user exists."""
        rows = self.control.query("SELECT id, password_hash FROM users WHERE username = ?", (username,))
        stored = rows[0]["password_hash"] if rows else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
            ok = bool(rows)
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise NotAuthenticated(WRONG_CREDENTIALS)
        user_id = rows[0]["id"]
        if self.hasher.check_needs_rehash(stored):
            self.control.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (self.hasher.hash(password), user_id)
            )
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self.control.execute(
            "INSERT INTO sessions(token_hash, user_id, created_utc, expires_utc) VALUES (?, ?, ?, ?)",
            (digest(token), user_id, iso_from_datetime(now), iso_from_datetime(now + timedelta(days=SESSION_DAYS))),
        )
        user = self.user_by_id(user_id)
        assert user is not None
        return user, token

    def session(self, token: str) -> tuple[User, str] | None:
        """The user of a live session and when the session ends."""
        rows = self.control.query(
            "SELECT user_id, expires_utc FROM sessions WHERE token_hash = ? AND expires_utc > ?",
            (digest(token), utc_now_iso()),
        )
        user = self.user_by_id(rows[0][0]) if rows else None
        return (user, rows[0][1]) if user is not None else None

    def logout(self, caller: Principal, secret: str | None) -> None:
        """End the session whose token `secret` is, when the caller is the user logged in with it
        (an API token, a stale cookie or no secret at all ends nothing)."""
        if secret and caller.kind == PrincipalKind.USER:
            self.control.execute("DELETE FROM sessions WHERE token_hash = ?", (digest(secret),))

    # --- password reset ---------------------------------------------------------------------

    def request_password_reset(self, email: str, *, client_address: str) -> None:
        """Mail a single-use reset key (over SMTP, or into the outbox directory); say nothing about
        whether the address is known (the HTTP answer is the same). Every request counts against the
        client address in the throttle: that bounds how many reset mails one address can cause."""
        key = f"reset:{client_address}"
        self.throttle.check(key)
        self.throttle.failed(key)
        rows = self.control.query("SELECT id, username FROM users WHERE email = ?", (email.strip(),))
        if not rows:
            return
        key = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(minutes=RESET_KEY_MINUTES)
        self.control.execute(
            "INSERT INTO password_resets(key_hash, user_id, expires_utc) VALUES (?, ?, ?)",
            (digest(key), rows[0]["id"], iso_from_datetime(expires)),
        )
        # The key is the body's second line (line 5 of the outbox file): scripts read it there.
        body = (
            f"Your password reset key (valid {RESET_KEY_MINUTES} minutes, single use):\n{key}\n"
            f"Open {self.mailer.link(f'/password-reset/{key}')} or POST /api/users/reset-password/submit.\n"
        )
        mail = Mail(email.strip(), "Reset your airsequel password", body, "password-reset", rows[0]["username"])
        where = self.mailer.send(mail)
        log.warning("password reset requested for %s: %s", rows[0]["username"], where.replace("written", "key written"))

    def reset_password(self, key: str, password: str) -> None:
        """Set the new password with a reset key: the key, every other outstanding key of the user
        and every session of the user end with it."""
        checked_password(password)
        new_hash = self.hasher.hash(password)
        with self.control.transaction() as conn:
            row = conn.execute(
                "DELETE FROM password_resets WHERE key_hash = ? RETURNING user_id, expires_utc", (digest(key),)
            ).fetchone()
            if row is None or row["expires_utc"] <= utc_now_iso():
                raise InvalidInput("The reset key is unknown, used or expired")
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (new_hash, row["user_id"]))
            # Every session ends, the one that asked included (the form sends its user to log in
            # again), and so does every other outstanding key: one leaked mail must not outlive the reset.
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (row["user_id"],))
            conn.execute("DELETE FROM password_resets WHERE user_id = ?", (row["user_id"],))


def checked_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _user(row: ControlRow) -> User:
    return User(row["id"], row["username"], row["email"], bool(row["server_admin"]), row["created_utc"])
