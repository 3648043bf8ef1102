"""Invitations (POST /api/users/invite): a mail with a sign-up link whose key lets its holder sign up.

Who may invite (decided with access.py's rules): a server admin invites anyone to the server; a team's
Admins (and server admins) invite to that team with `"team"` and an optional `"role"` (Viewer unless
said), and the account signed up with the key joins the team with that role. A plain user without
`"team"` is refused (403): otherwise any account could make the server mail any address. The key works
while sign-up is closed, once, for INVITATION_DAYS, and only with the address it was sent to (which
the account then has verified). Each user may cause MAX_INVITES_PER_HOUR invitations an hour."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airsequel.core.auth.access import Principal, Role, TeamAction, authorize_team, is_server_admin, require_user
from airsequel.core.auth.addresses import checked_email
from airsequel.core.auth.keys import digest, new_key
from airsequel.core.auth.login_throttle import LoginThrottle, TooManyAttempts
from airsequel.core.auth.teams import Teams
from airsequel.core.clock import iso_from_datetime, utc_now_iso
from airsequel.core.errors import Conflict, Forbidden, InvalidInput, TooManyRequests
from airsequel.core.mail.mailer import Mailer
from airsequel.core.mail.messages import Mail
from airsequel.core.registry.connection import ControlConnection
from airsequel.core.registry.control_plane import ControlPlane

log = logging.getLogger("airsequel.accounts")

INVITATION_DAYS = 7
MAX_INVITES_PER_HOUR = 50
MAX_INVITES_TO_AN_ADDRESS_PER_HOUR = 3  # by everyone together: nobody makes the server mail one address over and over
MAX_TEAM_INVITES_PER_HOUR = 500  # by all team Admins together (every user administers a personal team)
UNKNOWN_INVITATION = "This invitation is unknown, used or expired: ask for a new one"
ROLES = ", ".join(repr(role.value) for role in Role)


class Invitations:
    def __init__(self, control: ControlPlane, teams: Teams, mailer: Mailer) -> None:
        self.control = control
        self.teams = teams
        self.mailer = mailer
        # counted in the control plane, like failed logins: the same bound across worker processes
        self.throttle = LoginThrottle(control, max_failures=MAX_INVITES_PER_HOUR, window=3600.0)
        self.address_throttle = LoginThrottle(control, max_failures=MAX_INVITES_TO_AN_ADDRESS_PER_HOUR, window=3600.0)
        self.server_throttle = LoginThrottle(control, max_failures=MAX_TEAM_INVITES_PER_HOUR, window=3600.0)

    def invite(self, caller: Principal, email: str, *, team: str | None = None, role: str | None = None) -> None:
        require_user(caller)
        address = checked_email(email, field="email")
        team_id, team_name, chosen = None, None, None
        if team is None:
            if role is not None:
                raise InvalidInput('"role" is the role in a team: send "team" with it')
            if not is_server_admin(caller):
                raise Forbidden(
                    'Only server admins invite people to the server; a team Admin invites to the team: send "team"'
                )
        else:
            authorize_team(caller, TeamAction.ADMINISTER, team)
            found = self.teams.get(team)
            team_id, team_name = found.id, found.name
            try:
                chosen = Role(role if role is not None else Role.VIEWER.value)
            except ValueError:
                raise InvalidInput(f"role must be one of {ROLES}") from None
        if self.control.query("SELECT 1 FROM users WHERE email = ?", (address,)):
            raise Conflict("An account with this email address exists already: add it to the team by its username")
        throttle_key = f"invite:{caller.user_id}"
        try:
            self.throttle.check(throttle_key)
        except TooManyAttempts as error:
            raise TooManyRequests(
                f"You sent {MAX_INVITES_PER_HOUR} invitations within an hour: try again in {error.retry_after} s",
                retry_after=error.retry_after,
            ) from None
        try:
            self.address_throttle.check(f"invite-to:{address.lower()}")
            if not is_server_admin(caller):
                self.server_throttle.check("invite:teams")
        except TooManyAttempts as error:
            raise TooManyRequests(
                f"Too many invitations were sent to this address, or by the teams of this server, within an hour:"
                f" try again in {error.retry_after} s",
                retry_after=error.retry_after,
            ) from None
        self.throttle.failed(throttle_key)
        self.address_throttle.failed(f"invite-to:{address.lower()}")
        if not is_server_admin(caller):
            self.server_throttle.failed("invite:teams")
        key = new_key()
        now = datetime.now(UTC)
        self.control.execute(
            "INSERT INTO invitations(key_hash, email, team_id, role, invited_by, created_utc, expires_utc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                digest(key),
                address,
                team_id,
                chosen.value if chosen else None,
                caller.user_id,
                iso_from_datetime(now),
                iso_from_datetime(now + timedelta(days=INVITATION_DAYS)),
            ),
        )
        link = self.mailer.link(f"/signup?invitation={key}")
        where = f"the team {team_name} as {chosen.value}" if chosen and team_name else "airsequel"
        body = (
            f"Hello,\n\n{caller.username} invites you to {where}. Create your account here:\n{link}\n\n"
            f"The link works once, for {INVITATION_DAYS} days, with this address ({address}).\n"
            f"Invitation key (to sign up through the API, as invitationKey):\n{key}\n"
        )
        subject = f"{caller.username} invites you to airsequel"
        sent = self.mailer.send(Mail(address, subject, body, "invitation", address))
        log.info("invitation of %s by %s: %s", address, caller.username, sent)

    def redeem(self, conn: ControlConnection, key: str, email: str, user_id: int) -> None:
        """Inside the sign-up's transaction: the key ends (with every other invitation of the address),
        the address counts as verified, and the new user joins the invitation's team."""
        row = conn.execute(
            "DELETE FROM invitations WHERE key_hash = ? RETURNING email, team_id, role, expires_utc, invited_by",
            (digest(key),),
        ).fetchone()
        if row is None or row["expires_utc"] <= utc_now_iso() or not _inviter_still_may(conn, row):
            raise InvalidInput(UNKNOWN_INVITATION)
        if row["email"].lower() != email.lower():
            raise InvalidInput(f"This invitation is for {row['email']}: sign up with that address")
        conn.execute("DELETE FROM invitations WHERE email = ?", (email,))
        conn.execute("UPDATE users SET email_verified_utc = ? WHERE id = ?", (utc_now_iso(), user_id))
        if row["team_id"] is not None:
            conn.execute(
                "INSERT INTO memberships(team_id, user_id, role) VALUES (?, ?, ?)",
                (row["team_id"], user_id, row["role"]),
            )


def _inviter_still_may(conn: ControlConnection, row: Any) -> bool:
    """An invitation is as good as its sender's right today: one whose inviter was deleted, or is no
    longer a server admin (to the server) or an Admin of the team (to a team), has ended."""
    inviter = row["invited_by"]
    if inviter is None:
        return False
    if conn.execute("SELECT 1 FROM users WHERE id = ? AND server_admin = 1", (inviter,)).fetchone():
        return True
    if row["team_id"] is None:
        return False
    return bool(
        conn.execute(
            "SELECT 1 FROM memberships WHERE team_id = ? AND user_id = ? AND role = 'Admin'", (row["team_id"], inviter)
        ).fetchone()
    )
