"""Turning a presented secret (session token or API token) into a Principal."""

from __future__ import annotations

from airsequel.core.auth.access import Principal, PrincipalKind
from airsequel.core.auth.accounts import Accounts, User, digest
from airsequel.core.auth.teams import Teams
from airsequel.core.auth.tokens import PREFIX, Tokens
from airsequel.core.clock import SYSTEM_CLOCK, Clock, epoch_from_iso, has_passed
from airsequel.core.errors import NotAuthenticated
from airsequel.core.registry.generation_cache import GenerationCache


class Principals:
    def __init__(self, accounts: Accounts, teams: Teams, tokens: Tokens, clock: Clock = SYSTEM_CLOCK) -> None:
        self.accounts = accounts
        self.teams = teams
        self.tokens = tokens
        self.clock = clock  # what the expiry of a cached answer is checked against (tests inject a ManualClock)
        # secret digest -> (principal, valid until (seconds since the epoch) or None)
        self._cache: GenerationCache[str, tuple[Principal, float | None]] = GenerationCache(accounts.control)

    def cached(self, secret: str) -> Principal | None:
        """The principal for `secret` when the answer is cached and still current (no I/O)."""
        entry = self._cache.peek(digest(secret))
        if entry is None or has_passed(entry[1], self.clock):
            return None
        if entry[0].token_id is not None:
            self.tokens.touch(entry[0].token_id)
        return entry[0]

    def from_secret(self, secret: str) -> Principal:
        """A Bearer value: an API token (`ast_...`) or a session token. Unknown → 401."""
        principal = self.cached(secret)
        if principal is not None:
            return principal
        principal, valid_until = self._cache.get_or_load(digest(secret), lambda: self._load(secret))
        if has_passed(valid_until, self.clock):
            raise NotAuthenticated(
                "The API token has expired" if secret.startswith(PREFIX) else "The session has ended"
            )
        return principal

    def _load(self, secret: str) -> tuple[Principal, float | None]:
        if secret.startswith(PREFIX):
            grant = self.tokens.grant_for(secret)
            expires = epoch_from_iso(grant.expiration_utc) if grant.expiration_utc else None
            return Principal(
                PrincipalKind.TOKEN, token_id=grant.token_id, token_team=grant.team, token_permissions=grant.permissions
            ), expires
        found = self.accounts.session(secret)
        if found is None:
            raise NotAuthenticated("The session is unknown or has ended: log in again")
        user, expires_utc = found
        return self.for_user(user), epoch_from_iso(expires_utc) if expires_utc else None

    def for_user(self, user: User) -> Principal:
        return Principal(
            PrincipalKind.USER,
            user_id=user.id,
            username=user.username,
            server_admin=user.server_admin,
            team_roles=self.teams.roles_of_user(user.id),
        )
