"""Live queries: a GraphQL operation run again whenever a commit changes what it returns.

- A subscription is a query kept open: `subscription { ... }` selects the Query's read fields (the
  Subscription type mirrors them, live_schema.py). It runs as that query, on the same engine path as
  an HTTP request (plans, limits, the borrow's deadline), and its result is sent again only when its
  digest differs from the last one sent.
- What wakes it: one watch connection per watched file per process (file_watches.py) polls
  `PRAGMA data_version`, which changes whenever any other connection, of any process, committed to
  the file; a change of the control plane's generation (a revoked token, a removed member, a read-only
  link turned off) wakes every subscription, since each run first resolves its caller again; a
  commit of this process wakes the file's subscriptions at once (the pool's after_write hook).
- Bounds: subscriptions open at once per caller and per database, in this process (settings
  graphql_max_subscriptions_per_principal and ..._per_database).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from graphql.language import Token

from airsequel.core.auth.access import Principal
from airsequel.core.auth.principals import Principals
from airsequel.core.errors import Forbidden, InvalidInput, NotFound, TooManyRequests
from airsequel.core.graphql.engine import CANNOT_READ, GraphQLEngine, mode_for
from airsequel.core.graphql.file_watches import FileWatches
from airsequel.core.registry.control_plane import DatabaseRecord

SUBSCRIPTION_KEYWORD = "subscription"


@dataclass(frozen=True)
class Operation:
    """A document as the socket runs it: its kind, and the text the engine executes (a subscription's
    keyword replaced by `query` padded to the same length, so that every error location still points
    into the text as sent)."""

    kind: str  # "subscription" | "query" | "mutation"
    text: str

    @property
    def is_live(self) -> bool:
        return self.kind == "subscription"


@dataclass(frozen=True)
class Caller:
    """Who opened the socket, as presented: resolved again before every run."""

    secret: str | None  # a session or API token; None: anonymous (or a read-only link)
    address: str  # the client's address: the share and bound of anonymous callers


@dataclass(frozen=True)
class Target:
    """The database as the socket's path named it."""

    database_id: str | None = None
    readonly_id: str | None = None

    @property
    def files_base(self) -> str:
        return f"/readonly/{self.readonly_id}" if self.readonly_id else f"/api/dbs/{self.database_id}"


@dataclass
class Subscription:
    target: Target
    caller: Caller
    operation: Operation
    variables: dict[str, Any] | None
    operation_name: str | None
    record: DatabaseRecord
    principal_key: str
    wake: Callable[[], None]
    last_digest: bytes | None = None
    runs: int = 0


@dataclass
class RunOutcome:
    result: dict[str, Any]
    changed: bool  # differs from the last result sent (always True for the first run)


@dataclass
class _Counts:
    by_principal: Counter[str] = field(default_factory=Counter)
    by_database: Counter[str] = field(default_factory=Counter)


def prepare(query: str, operation_name: str | None, max_chars: int) -> Operation:
    """The operation the socket runs; InvalidInput for a document that does not parse or names no
    operation (the engine checks everything else, as for an HTTP request)."""
    if len(query) > max_chars:
        raise InvalidInput(f"The query is longer than {max_chars} characters")
    try:
        document = parse(query)
    except GraphQLError as error:
        raise InvalidInput(error.message) from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1:
        raise InvalidInput("Unknown operation: name the operation to run with operationName")
    chosen = operations[0]
    if chosen.operation != OperationType.SUBSCRIPTION:
        return Operation(chosen.operation.value, query)
    keyword: Token | None = chosen.loc.start_token if chosen.loc is not None else None
    if keyword is None or keyword.value != SUBSCRIPTION_KEYWORD:
        raise InvalidInput("A subscription starts with the keyword 'subscription'")
    padded = "query".ljust(len(SUBSCRIPTION_KEYWORD))
    return Operation("subscription", query[: keyword.start] + padded + query[keyword.end :])


def principal_key(caller: Principal, address: str) -> str:
    """Whose bound (and share of the SQLite lane) a subscription counts against, as for HTTP requests:
    its user's, else its token's, else its client address's (anonymous callers, read-only links)."""
    if caller.user_id is not None:
        return f"user:{caller.user_id}"
    if caller.token_id is not None:
        return f"token:{caller.token_id}"
    return f"address:{address}"


class LiveQueries:
    """The live queries of one process."""

    def __init__(self, engine: GraphQLEngine, principals: Principals, *, poll_seconds: float = 0.15) -> None:
        self.engine = engine
        self.hosting = engine.hosting
        self.principals = principals
        self.watches = FileWatches(self.hosting.control.check_generation, poll_seconds=poll_seconds)
        self.hosting.pool.after_write.append(self.watches.nudge)  # this process's commits: at once
        self._counts = _Counts()
        self._lock = threading.Lock()

    # --- who and what ------------------------------------------------------------------------

    def resolve(self, caller: Caller, target: Target) -> tuple[Principal, DatabaseRecord]:
        """The caller and the database now (blocking: reads the control plane when it changed).
        NotAuthenticated for a token revoked or a session ended, NotFound for a database the caller
        may no longer see (or a read-only link turned off), Forbidden for a caller who may not read."""
        self.hosting.control.check_generation()  # what any process changed counts for this run
        if target.readonly_id is not None:
            record = self.hosting.get_by_readonly_id(target.readonly_id)
            return Principal.for_readonly_id(record), record
        principal = Principal.anonymous() if caller.secret is None else self.principals.from_secret(caller.secret)
        assert target.database_id is not None
        try:
            known = self.hosting.cached(target.database_id)
            record = known if known is not None else self.hosting.get(target.database_id)
        except NotFound:
            raise NotFound(f'Database "{target.database_id}" does not exist') from None
        if not mode_for(principal, record).can_read:
            raise Forbidden(CANNOT_READ)
        return principal, record

    def authenticate(self, caller: Caller) -> Principal:
        """The caller at `connection_init` (NotAuthenticated for an unknown secret)."""
        self.hosting.control.check_generation()
        return Principal.anonymous() if caller.secret is None else self.principals.from_secret(caller.secret)

    # --- opening and closing -----------------------------------------------------------------

    def open(
        self,
        caller: Caller,
        target: Target,
        operation: Operation,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        wake: Callable[[], None],
    ) -> Subscription:
        """A new subscription within the bounds (TooManyRequests past them); `wake` is called, from
        the watch thread, whenever its file or the control plane changed."""
        principal, record = self.resolve(caller, target)
        key = principal_key(principal, caller.address)
        current = self.hosting.live.current
        with self._lock:
            if self._counts.by_principal[key] >= current.graphql_max_subscriptions_per_principal:
                raise TooManyRequests(
                    f"Too many live queries open for this caller (at most "
                    f"{current.graphql_max_subscriptions_per_principal}): complete one first",
                    retry_after=None,
                )
            if self._counts.by_database[record.id] >= current.graphql_max_subscriptions_per_database:
                raise TooManyRequests(
                    f"Too many live queries open on this database (at most "
                    f"{current.graphql_max_subscriptions_per_database}): try again later",
                    retry_after=None,
                )
            self._counts.by_principal[key] += 1
            self._counts.by_database[record.id] += 1
        subscription = Subscription(target, caller, operation, variables, operation_name, record, key, wake)
        try:
            self.watches.add(record.file_key, self.hosting.file_path(record), wake)
        except BaseException:
            self._release(subscription)
            raise
        return subscription

    def close(self, subscription: Subscription) -> None:
        self.watches.remove(subscription.record.file_key, subscription.wake)
        self._release(subscription)

    def _release(self, subscription: Subscription) -> None:
        with self._lock:
            for counter, key in (
                (self._counts.by_principal, subscription.principal_key),
                (self._counts.by_database, subscription.record.id),
            ):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def open_count(self) -> int:
        with self._lock:
            return sum(self._counts.by_database.values())

    # --- running -----------------------------------------------------------------------------

    def run(self, subscription: Subscription) -> RunOutcome:
        """Run the operation once more, as its caller is now (blocking; on the SQLite lane). Raises the
        CoreError that ends the subscription (the caller or the database is gone)."""
        principal, record = self.resolve(subscription.caller, subscription.target)
        if record.file_key != subscription.record.file_key:  # the id now names another file
            raise NotFound("The database of this live query was replaced")
        return self._executed(subscription, principal, record)

    def run_once(
        self, caller: Caller, target: Target, operation: Operation, variables: Any, operation_name: str | None
    ) -> dict[str, Any]:
        """A query or mutation sent over the socket: answered once, as over HTTP."""
        self.hosting.control.check_generation()
        if target.readonly_id is not None:
            record = self.hosting.get_by_readonly_id(target.readonly_id)
            principal = Principal.for_readonly_id(record)
        else:
            principal = self.authenticate(caller)
            assert target.database_id is not None
            record = self.hosting.get(target.database_id)
        mode = mode_for(principal, record)
        return self.engine.execute(
            record, mode, operation.text, variables, operation_name, principal, target.files_base
        )

    def _executed(self, subscription: Subscription, principal: Principal, record: DatabaseRecord) -> RunOutcome:
        result = self.engine.execute(
            record,
            mode_for(principal, record),
            subscription.operation.text,
            subscription.variables,
            subscription.operation_name,
            principal,
            subscription.target.files_base,
        )
        digest = hashlib.blake2b(orjson.dumps(result, option=orjson.OPT_SORT_KEYS), digest_size=20).digest()
        changed = digest != subscription.last_digest
        subscription.last_digest = digest
        subscription.runs += 1
        return RunOutcome(result, changed)
