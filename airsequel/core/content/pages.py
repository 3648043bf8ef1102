"""What the server-rendered web pages show: one method per page, returning all of the page's data.

Each method decides what the caller may see and do there (a page's buttons follow the caller's
rights), and adds the navigation every page has: the logged-in user and their teams. The pages
themselves (templates, redirects) are the HTTP layer's.
"""

from __future__ import annotations

from typing import Any

from airsequel.core.auth.access import Action, Principal, PrincipalKind, TeamAction, authorize, may, require_user
from airsequel.core.auth.teams import Teams
from airsequel.core.auth.tokens import Tokens
from airsequel.core.content.charts import Charts, chart_columns
from airsequel.core.content.editing_schema import editing_schema
from airsequel.core.content.tables import Tables
from airsequel.core.registry.control_plane import DatabaseRecord
from airsequel.core.sql.introspection import TABLE, read_tables
from airsequel.core.sql.script import quote_identifier
from airsequel.core.sql.table_schema import find_table
from airsequel.core.storage.catalog import Catalog
from airsequel.core.storage.hosting import Hosting

HOME_PAGE_DATABASES = 500


class Pages:
    def __init__(
        self, hosting: Hosting, catalog: Catalog, tables: Tables, charts: Charts, teams: Teams, tokens: Tokens
    ) -> None:
        self.hosting = hosting
        self.catalog = catalog
        self.tables = tables
        self.charts = charts
        self.teams = teams
        self.tokens = tokens

    def navigation(self, caller: Principal) -> dict[str, Any]:
        """What every page shows: the user's name and teams (None and none for anyone else)."""
        is_user = caller.kind == PrincipalKind.USER
        teams = self.teams.teams_of_user(caller.user_id) if is_user and caller.user_id is not None else []
        return {"user": caller.username if is_user else None, "teams": teams}

    def home(self, caller: Principal) -> dict[str, Any]:
        """The databases the user works with. Only for users: anyone else is refused
        (NotAuthenticated, Forbidden) and should log in."""
        require_user(caller)
        databases, total = self.catalog.visible_to(caller, HOME_PAGE_DATABASES, 0)
        navigation = self.navigation(caller)
        # Where Create and Upload may put a database: the user's own team first (preselected), then the
        # teams in which their roles allow it (a Viewer's team is not offered).
        own = (caller.username or "").lower()
        names = [team["name"] for team in navigation["teams"]]
        creatable = [n for n in names if n.lower() == own or self.teams.allows(caller, TeamAction.CREATE_DATABASE, n)]
        creatable.sort(key=lambda n: n.lower() != own)
        return {**navigation, "databases": databases, "total": total, "create_teams": creatable}

    def database(self, caller: Principal, record: DatabaseRecord) -> dict[str, Any]:
        """A database's tables (with their row counts and, for the chart form, their columns) and charts,
        and what the caller may do with it: `can_edit_schema` (rename and delete tables) while the schema
        is not locked."""
        authorize(caller, Action.READ, record)
        can_write = may(caller, Action.WRITE, record)
        return {
            **self.navigation(caller),
            "db": record,
            "tables": self._tables_with_counts(record),
            "charts": self.charts.of_database("charts", record),
            "can_write": can_write,
            "can_edit_schema": can_write and not record.schema_locked,
            "can_manage": may(caller, Action.MANAGE, record),
            "can_create": caller.kind == PrincipalKind.USER,
        }

    def table(self, caller: Principal, record: DatabaseRecord, name: str) -> dict[str, Any]:
        """A table of the database; `editable` when it is a table (not a view) the caller may write."""
        authorize(caller, Action.READ, record)
        table = self.tables.table_json(record, name)
        editable = may(caller, Action.WRITE, record) and table["tableType"] == TABLE
        page = {**self.navigation(caller), "db": record, "table": table, "editable": editable}
        if editable:  # what the row and column forms need (static/table_editing.js)
            with self.hosting.read_snapshot(record) as conn:
                page["editing"] = editing_schema(find_table(conn, name))
        return page

    def sql(self, caller: Principal, record: DatabaseRecord) -> dict[str, Any]:
        """The SQL page, with a first query to run: the first table's first rows."""
        authorize(caller, Action.READ, record)
        first = record.tables[0]["name"] if record.tables else None
        default_query = f"SELECT * FROM {quote_identifier(first)} LIMIT 10;" if first else "SELECT sqlite_version();"
        return {
            **self.navigation(caller),
            "db": record,
            "default_query": default_query,
            "schema": self.sql_schema(record),
        }

    def sql_schema(self, record: DatabaseRecord) -> dict[str, list[str]]:
        """The tables and views with their columns, in order, for the SQL editor's autocomplete."""
        with self.hosting.read_snapshot(record) as conn:
            return {table.name: [column.name for column in table.columns] for table in read_tables(conn)}

    def readonly(
        self, viewer: Principal, record: DatabaseRecord, page: str, table: str | None = None
    ) -> dict[str, Any]:
        """A page of the read-only view (`page`: "database", "table" or "sql"), for anyone holding the
        link: the page's data as the link sees it (it may read, nothing more, so no page offers a
        change), the viewer's own navigation, and in place of the record a stand-in with only what a
        reader may see (its name and description: not its id, team, visibility or tokens)."""
        link = Principal.for_readonly_id(record)
        if page == "table":
            data = self.table(link, record, table or "")
        elif page == "sql":
            data = self.sql(link, record)
        else:
            authorize(link, Action.READ, record)
            data = {"tables": self._tables_with_counts(record)}
        return {
            **data,
            **self.navigation(viewer),
            "db": {"name": record.name, "description": record.description},
            "db_base": f"/readonly/{record.readonly_id}",
            "editable": False,
        }

    def team(self, caller: Principal, name: str) -> dict[str, Any]:
        """A team's members to whoever sees the team; its tokens and databases to its Admins only."""
        team = self.teams.authorized(caller, TeamAction.VIEW, name)
        is_admin = self.teams.allows(caller, TeamAction.ADMINISTER, name)
        members = self.teams.members_of(team)
        admins = [m["username"] for m in members if "Admin" in m["roles"]]
        for member in members:  # the last Admin is offered neither removal nor another role
            member["last_admin"] = admins == [member["username"]]
        return {
            **self.navigation(caller),
            "team": team,
            "members": members,
            "is_admin": is_admin,
            "tokens": self.tokens.list_for_team(team) if is_admin else [],
            "team_databases": self.teams.databases_json(team) if is_admin else [],
        }

    def _tables_with_counts(self, record: DatabaseRecord) -> list[dict[str, Any]]:
        # Copies: the record's own table list may be the cached one every request shares.
        tables = [dict(table) for table in self.tables.ordered_tables(record)]
        with self.hosting.read_snapshot(record) as conn:
            columns = chart_columns(conn)
            for table in tables:
                table["columns"] = columns.get(table["name"], [])
                try:
                    table["rows"] = conn.execute(f"SELECT count(*) FROM {quote_identifier(table['name'])}").fetchone()[
                        0
                    ]
                except Exception:  # noqa: BLE001 - a broken view still gets listed
                    table["rows"] = "?"
        return tables
