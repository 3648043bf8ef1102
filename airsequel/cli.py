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
    create_user.add_argument("--password-stdin", action="store_true", required=True,
                             help="read the password from standard input (never from the command line)")
    create_user.add_argument("--server-admin", action="store_true")
    create_user.add_argument("--data-dir", type=Path, help="data directory (AIRSEQUEL_DATA_DIR, default ./storage)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "create-user":
        return create_user(args)
    return 2


def create_user(args: argparse.Namespace) -> int:
    from airsequel.config import Settings
    from airsequel.core.accounts import Accounts
    from airsequel.core.control_plane import ControlPlane
    from airsequel.core.errors import CoreError
    from airsequel.core.teams import Teams

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
