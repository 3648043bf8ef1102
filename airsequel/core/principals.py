"""Turning a presented secret (session token or API token) into a Principal."""

from __future__ import annotations

from airsequel.core.access import Kind, Principal
from airsequel.core.accounts import Accounts, User
from airsequel.core.errors import NotAuthenticated
from airsequel.core.teams import Teams
from airsequel.core.tokens import PREFIX, Tokens


class Principals:
    def __init__(self, accounts: Accounts, teams: Teams, tokens: Tokens) -> None:
        self.accounts = accounts
        self.teams = teams
        self.tokens = tokens

    def from_secret(self, secret: str) -> Principal:
        """A Bearer value: an API token (`ast_...`) or a session token. Unknown → 401."""
        if secret.startswith(PREFIX):
            grant = self.tokens.grant_for(secret)
            return Principal(Kind.TOKEN, token_id=grant.token_id, token_team=grant.team,
                             token_permissions=grant.permissions)
        user = self.accounts.user_for_session(secret)
        if user is None:
            raise NotAuthenticated("The session is unknown or has ended: log in again")
        return self.for_user(user)

    def for_user(self, user: User) -> Principal:
        return Principal(Kind.USER, user_id=user.id, username=user.username, server_admin=user.server_admin,
                         team_roles=self.teams.roles_of_user(user.id))
