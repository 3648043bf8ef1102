"""The server's long-lived parts, built once from the settings and shared by every request."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airsequel import __version__
from airsequel.config import LiveSettings, SettingError, Settings
from airsequel.core.admin.audit import AuditLog
from airsequel.core.admin.database_settings import DatabaseSettings
from airsequel.core.admin.env_vars import EnvVars
from airsequel.core.admin.server_settings import ServerSettings
from airsequel.core.admin.shared_settings import SharedLiveSettings
from airsequel.core.auth.access import Principal, is_server_admin
from airsequel.core.auth.accounts import Accounts, password_hasher
from airsequel.core.auth.login_throttle import LoginThrottle
from airsequel.core.auth.principals import Principals
from airsequel.core.auth.teams import Teams
from airsequel.core.auth.tokens import Tokens
from airsequel.core.cluster.node import ClusterNode, setting_problems
from airsequel.core.content.assets import Assets
from airsequel.core.content.charts import Charts
from airsequel.core.content.pages import Pages
from airsequel.core.content.records import Records
from airsequel.core.content.row_pages import RowPages
from airsequel.core.content.schema_edits import SchemaEdits
from airsequel.core.content.tables import Tables
from airsequel.core.exports.jobs import Exports
from airsequel.core.functions.calls import FunctionCalls
from airsequel.core.functions.diagnostics import diagnose
from airsequel.core.functions.store import Functions
from airsequel.core.graphql.engine import GraphQLEngine
from airsequel.core.layout import DataLayout
from airsequel.core.mail.mailer import Mailer
from airsequel.core.mail.queue import MailQueue
from airsequel.core.mail.sender import MailSender
from airsequel.core.prompts.assistant import Prompts
from airsequel.core.registry.control_plane import ControlPlane, DatabaseRecord
from airsequel.core.registry.postgres_engine import ControlPlaneUnreachable
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.deadline import Watchdog
from airsequel.core.storage.backups import Backups
from airsequel.core.storage.catalog import Catalog
from airsequel.core.storage.data_dir_lock import DataDirectoryLock, join_group
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.replication import Replication


@dataclass
class Services:
    control: ControlPlane
    pool: ConnectionPool
    hosting: Hosting
    teams: Teams
    accounts: Accounts
    tokens: Tokens
    principals: Principals
    login_throttle: LoginThrottle
    graphql: GraphQLEngine
    tables: Tables
    schema_edits: SchemaEdits
    exports: Exports
    assets: Assets
    server_settings: ServerSettings
    env_vars: EnvVars
    database_settings: DatabaseSettings
    audit: AuditLog
    charts: Charts
    backups: Backups
    catalog: Catalog
    records: Records
    pages: Pages
    replication: Replication | None

    live: LiveSettings
    layout: DataLayout
    mail_sender: MailSender | None = None  # sends the queued mails over SMTP (started with the background work)
    cluster: ClusterNode | None = None  # this server as a node of a cluster (--cluster)
    data_dir_lock: DataDirectoryLock | None = None  # held from start to stop: one data directory, one server
    worker: bool = False  # one of the processes of `serve --workers N` (the parent holds the lock)

    @property
    def settings(self) -> Settings:
        """The settings in force now (start-up values with what a server admin changed since)."""
        return self.live.current

    @classmethod
    def start(cls, settings: Settings) -> Services:
        """The services of the server that holds `settings.data_dir`: its lock is taken before anything
        in the directory is read or changed (DataDirectoryInUse if another server holds it)."""
        lock = DataDirectoryLock.acquire(settings.data_dir)
        try:
            started = cls._start_locked(settings)
        except BaseException:
            lock.release()
            raise
        started.data_dir_lock = lock
        return started

    @classmethod
    def start_group(cls, settings: Settings, lock: DataDirectoryLock) -> Services:
        """The start-up work of `serve --workers N`, done once by the parent that holds `lock`
        (migrations, the crash clean-up); the caller keeps the lock beyond these services' stop."""
        return cls._start_locked(settings)

    @classmethod
    def start_worker(cls, settings: Settings, group_marker: str | None, setup_digest: str | None) -> Services:
        """The services of one worker process of the server named by `group_marker` (see
        data_dir_lock.join_group; DataDirectoryInUse without it). No crash clean-up: the parent did
        it, and the other workers' uploads in tmp/ are not leftovers. `setup_digest`: that of the
        one setup link the parent printed, so that whichever worker answers takes it."""
        join_group(settings.data_dir, group_marker)
        started = cls._start_locked(settings, clean_up=False)
        started.worker = True
        started.accounts._setup_digest = setup_digest  # the parent's link (Accounts.setup_key made it)
        return started

    @classmethod
    def _start_locked(cls, settings: Settings, *, clean_up: bool = True) -> Services:
        layout = DataLayout(settings.data_dir)
        layout.root.mkdir(parents=True, exist_ok=True)
        control = ControlPlane(settings.control_plane or layout.control_file)
        # Values a server admin stores through any process reach every process's next request.
        live = SharedLiveSettings(settings.with_secret_key(), control)
        env_vars = EnvVars(control)
        server_settings = ServerSettings(control, live, env_vars)  # stored values first: all below reads them
        live.reload_with(lambda: server_settings.apply_stored(reloading=True))
        pool = ConnectionPool(
            max_open=settings.pool_size,
            max_database_bytes=settings.max_database_bytes,
            time_limit=lambda: live.current.sql_time_limit_seconds,
            watchdog=Watchdog(max_temp_bytes=lambda: live.current.max_temp_bytes),
            checkpoints=not settings.replica_url,  # replicated files are checkpointed by Litestream alone
        )
        replication = None
        if settings.replica_url:
            replication = Replication(
                layout, settings.replica_url, settings.s3_endpoint, control_file=control.engine == "sqlite"
            )
        audit = AuditLog(control)
        hosting = Hosting(layout, control, pool, live, audit, replication)
        cluster = None
        if settings.cluster:
            problems = setting_problems(settings)
            if problems or replication is None:
                raise SettingError("; ".join(problems))
            cluster = ClusterNode(settings, layout, control, hosting, pool, replication)  # sets hosting.node_id
        if clean_up:
            hosting.clean_up_after_crash()
        teams = Teams(control)
        hasher = password_hasher(settings.password_hashing)
        login_throttle = LoginThrottle(control)  # counted in the control plane: across worker processes
        outbox = settings.outbox_dir or layout.default_outbox_dir
        mailer = Mailer(outbox, control, live)
        accounts = Accounts(control, teams, outbox, hasher, live=live, throttle=login_throttle, mailer=mailer)
        mail_sender = MailSender(MailQueue(control), live, outbox)
        mailer.on_queued = mail_sender.wake
        tokens = Tokens(control, teams=teams)
        tables = Tables(hosting)
        catalog = Catalog(hosting, teams)
        charts = Charts(control, hosting)
        return cls(
            control=control,
            pool=pool,
            hosting=hosting,
            teams=teams,
            accounts=accounts,
            tokens=tokens,
            principals=Principals(accounts, teams, tokens),
            login_throttle=login_throttle,
            graphql=GraphQLEngine(hosting),
            tables=tables,
            schema_edits=SchemaEdits(hosting, tables),
            exports=Exports(control, hosting, layout.exports_dir, settings.export_ttl_days),
            assets=Assets(control, hosting, settings.max_asset_bytes),
            server_settings=server_settings,
            env_vars=env_vars,
            database_settings=DatabaseSettings(control, env_vars, replicated=replication is not None),
            audit=audit,
            charts=charts,
            backups=Backups(hosting, teams),
            catalog=catalog,
            records=Records(hosting),
            pages=Pages(hosting, catalog, tables, charts, teams, tokens),
            replication=replication,
            live=live,
            layout=layout,
            cluster=cluster,
            mail_sender=mail_sender,
        )

    @cached_property
    def row_pages(self) -> RowPages:
        """The row and schema pages' data (and the table page's foreign-key links)."""
        return RowPages(self.hosting, self.pages)

    @cached_property
    def prompts(self) -> Prompts:
        """The AI prompts, through the operator's language model (none configured: they answer 501)."""
        return Prompts(self.hosting, self.catalog, self.schema_edits, self.audit, self.live)

    def describe_function(self, caller: Principal, record: DatabaseRecord, function_id: str) -> dict[str, Any]:
        """describe-function: the model describes a function's current source, which the caller must
        be allowed to see as the functions API shows it."""
        shown = self.functions.show(caller, record, function_id)
        source = shown.get("content") or ""
        described = self.prompts.describe_source(caller, record, shown["name"], source, shown.get("runtime") or "deno")
        return {**described, "funcId": function_id}

    @functools.cached_property
    def functions(self) -> Functions:
        """The databases' cloud functions, their versions (diagnosed by Deno when saved) and invocations."""
        deno_dir = self.layout.root / "deno"
        return Functions(
            self.control, lambda code, language: diagnose(code, language, deno_dir), self.pages.navigation, self.audit
        )

    @functools.cached_property
    def function_calls(self) -> FunctionCalls:
        """Calls of cloud functions, each in a Deno process of its own (core/functions/sandbox.py)."""
        live = self.live
        return FunctionCalls(
            self.control, self.functions, self.teams, self.env_vars, lambda: live.current, self.layout.root / "deno"
        )

    def settings_behind(self) -> bool:
        """At the start of a request: look whether any process changed the control plane since this one
        last looked (one call on the generation's own connection; its caches follow from here on), and
        whether the run-time settings must then be read again (`catch_up_settings`, which reads the
        control plane and so may wait behind another process's write: not on the event loop)."""
        try:
            self.control.check_generation()
        except ControlPlaneUnreachable:
            # PostgreSQL is down or restarting: nothing can change there meanwhile, so this process
            # answers from what it last read (a node of a cluster stops once its lease runs out);
            # what needs the control plane itself answers 503.
            return False
        return isinstance(self.live, SharedLiveSettings) and self.live.behind()

    def catch_up_settings(self) -> None:
        if isinstance(self.live, SharedLiveSettings):
            self.live.refresh()

    def start_background_work(self) -> None:
        """Export workers, and the Litestream supervisor when backups are on."""
        if self.cluster is not None:
            self.exports.leases.node_id = self.cluster.node_id
            self.cluster.join()
        self.exports.start()
        if self.mail_sender is not None:
            self.mail_sender.start()
        if self.replication is not None:
            # follows the registry, whichever worker changes it; in a cluster the files this node holds
            self.replication.start(self.control, self.cluster.adoption.listed if self.cluster else None)
        if self.cluster is not None:
            self.cluster.start()

    def status(self, caller: Principal, *, replication_details: bool = False) -> dict[str, Any]:
        """GET /api/status: ok, or degraded while continuous backups are on but not running. The
        number of databases and the replication figures (the replica URL, file keys) are for server
        admins; anyone else, a load balancer included, gets the status and the version only (and
        costs no `litestream list`)."""
        admin = is_server_admin(caller)
        if self.replication is None:
            replication: dict[str, Any] = {"enabled": False}
        elif admin:
            replication = self.replication.health(details=replication_details)
        else:
            replication = {"enabled": True, "running": self.replication.pid is not None}
        healthy = not replication["enabled"] or replication["running"]
        minimal = {"status": "ok" if healthy else "degraded", "version": __version__}
        if not admin:
            return minimal
        return {**minimal, "numberOfDatabases": self.control.count_databases(), "replication": replication}

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            if self.data_dir_lock is not None:
                self.data_dir_lock.release()

    def _stop(self) -> None:
        self.exports.stop()  # first: a job still running would write to the control plane after its last sync
        if self.mail_sender is not None:
            self.mail_sender.stop()  # what it has not sent stays queued for the next start
        if self.cluster is not None:
            self.cluster.moves.stop()
        if self.replication is not None:
            self.replication.stop()  # ships everything not yet shipped, then ends Litestream
        if self.cluster is not None:
            self.cluster.stop()  # after the last ship: the others take this node's databases over at once
        self.pool.close_all()
        self.pool.watchdog.stop()
        self.control.close()
