"""The server's long-lived parts, built once from the settings and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass

from airsequel.config import Settings
from airsequel.core.admin.audit import AuditLog
from airsequel.core.admin.env_vars import EnvVars
from airsequel.core.admin.server_settings import ServerSettings
from airsequel.core.auth.accounts import Accounts
from airsequel.core.auth.login_throttle import LoginThrottle
from airsequel.core.auth.principals import Principals
from airsequel.core.auth.teams import Teams
from airsequel.core.auth.tokens import Tokens
from airsequel.core.content.assets import Assets
from airsequel.core.content.charts import Charts
from airsequel.core.content.tables import Tables
from airsequel.core.exports.jobs import Exports
from airsequel.core.graphql.engine import GraphQLEngine
from airsequel.core.registry.control_plane import ControlPlane
from airsequel.core.sql.connections import ConnectionPool
from airsequel.core.sql.runner import SqlLimits
from airsequel.core.storage.backups import Backups
from airsequel.core.storage.hosting import Hosting
from airsequel.core.storage.replication import Replication


@dataclass
class Services:
    settings: Settings
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
    exports: Exports
    assets: Assets
    server_settings: ServerSettings
    env_vars: EnvVars
    audit: AuditLog
    charts: Charts
    backups: Backups
    replication: Replication | None

    @classmethod
    def start(cls, settings: Settings) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        settings.ensure_secret_key()
        control = ControlPlane(settings.data_dir / "control.sqlite")
        pool = ConnectionPool(max_open=settings.pool_size, max_database_bytes=settings.max_database_bytes)
        limits = SqlLimits(
            time_limit_seconds=settings.sql_time_limit_seconds,
            max_rows=settings.max_rows,
            max_response_bytes=settings.max_response_bytes,
            max_query_bytes=settings.max_query_bytes,
        )
        hosting = Hosting(settings.data_dir, control, pool, limits, settings.max_database_bytes)
        hosting.clean_up_after_crash()
        replication = None
        if settings.replica_url:
            replication = Replication(settings.data_dir, settings.replica_url, settings.s3_endpoint)
            hosting.replication = replication
        teams = Teams(control)
        accounts = Accounts(control, teams, settings.outbox_dir or settings.data_dir / "outbox")
        tokens = Tokens(control)
        return cls(
            settings=settings,
            control=control,
            pool=pool,
            hosting=hosting,
            teams=teams,
            accounts=accounts,
            tokens=tokens,
            principals=Principals(accounts, teams, tokens),
            login_throttle=LoginThrottle(),
            graphql=GraphQLEngine(hosting),
            tables=Tables(hosting),
            exports=Exports(control, hosting, settings.data_dir / "exports", settings.export_ttl_days),
            assets=Assets(control, hosting, settings.max_asset_bytes),
            server_settings=ServerSettings(control, settings, limits),
            env_vars=EnvVars(control),
            audit=AuditLog(control),
            charts=Charts(control),
            backups=Backups(hosting),
            replication=replication,
        )

    def start_background_work(self) -> None:
        """Export workers, and the Litestream supervisor when backups are on."""
        self.exports.start()
        if self.replication is not None:
            files = [
                (row[0], self.settings.data_dir / "dbs" / row[0] / "main.sqlite")
                for row in self.control.query("SELECT file_key FROM databases")
            ]
            self.replication.start(files)

    def stop(self) -> None:
        if self.replication is not None:
            self.replication.stop()
        self.exports.stop()
        self.pool.close_all()
        self.control.close()
