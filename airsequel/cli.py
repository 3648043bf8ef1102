"""The `airsequel` command: `serve` runs the server, `create-user` adds an account."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airsequel", description="Host SQLite databases with an instant API")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to listen on (AIRSEQUEL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (AIRSEQUEL_PORT, default 4185)")
    serve.add_argument("--data-dir", type=Path, help="data directory (AIRSEQUEL_DATA_DIR, default ./storage)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    create_user = commands.add_parser("create-user", help="create a user (works when sign-up is closed)")
    create_user.add_argument("username")
    create_user.add_argument("--email", required=True)
    create_user.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from standard input (never from the command line)",
    )
    create_user.add_argument("--server-admin", action="store_true")
    create_user.add_argument("--data-dir", type=Path, help="data directory (AIRSEQUEL_DATA_DIR, default ./storage)")
    restore_all = commands.add_parser("restore-all", help="rebuild a whole server from its Litestream replica")
    restore_all.add_argument("--replica-url", required=True, help="the AIRSEQUEL_REPLICA_URL the server replicated to")
    restore_all.add_argument("--data-dir", type=Path, required=True, help="a new, empty data directory")
    restore_all.add_argument("--s3-endpoint", help="S3-compatible endpoint (AIRSEQUEL_S3_ENDPOINT)")
    restore_all.add_argument("--timestamp", help="restore everything as of this time (ISO 8601), default latest")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "create-user":
        return create_user(args)
    if args.command == "restore-all":
        return restore_all(args)
    return 2


def restore_all(args: argparse.Namespace) -> int:
    """The control plane first, then every database it lists; each file must pass integrity_check."""
    import sqlite3

    from airsequel.core.errors import CoreError
    from airsequel.core.storage import replication

    data_dir: Path = args.data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        print(f"error: {data_dir} is not empty", file=sys.stderr)
        return 1
    (data_dir / "dbs").mkdir(parents=True)
    endpoint = args.s3_endpoint or None
    try:
        control = data_dir / "control.sqlite"
        replication.restore(
            replication.replica_url(args.replica_url, "control", endpoint=endpoint), control, args.timestamp
        )
        keys = [row[0] for row in sqlite3.connect(control).execute("SELECT file_key FROM databases")]
        for key in keys:
            target = data_dir / "dbs" / key / "main.sqlite"
            target.parent.mkdir()
            replication.restore(
                replication.replica_url(args.replica_url, "dbs", key, endpoint=endpoint), target, args.timestamp
            )
            conn = sqlite3.connect(target)
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
            if check != "ok":
                print(f"error: database {key} failed its integrity check: {check}", file=sys.stderr)
                return 1
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"restored the control plane and {len(keys)} database(s) into {data_dir}")
    return 0


def create_user(args: argparse.Namespace) -> int:
    from airsequel.config import Settings
    from airsequel.core.auth.accounts import Accounts
    from airsequel.core.auth.teams import Teams
    from airsequel.core.errors import CoreError
    from airsequel.core.registry.control_plane import ControlPlane

    settings = Settings.from_env(data_dir=args.data_dir)
    password = sys.stdin.readline().rstrip("\r\n")
    control = ControlPlane(settings.data_dir / "control.sqlite")
    try:
        teams = Teams(control)
        accounts = Accounts(control, teams, settings.outbox_dir or settings.data_dir / "outbox")
        user = accounts.create_user(args.username, args.email, password, server_admin=args.server_admin)
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        control.close()
    role = "server admin" if user.server_admin else "user"
    print(f"created {role} {user.username} with personal team {user.username}")
    return 0


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from airsequel.config import Settings
    from airsequel.http.app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    return 0
