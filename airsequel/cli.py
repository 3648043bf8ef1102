"""The `airsequel` command: `serve` runs the server, `create-user` adds an account."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airsequel.config import Settings


def build_parser() -> argparse.ArgumentParser:
    from airsequel import __version__
    from airsequel.config import SETTINGS, SETTINGS_DEFAULTS
    from airsequel.setting_values import type_name

    parser = argparse.ArgumentParser(prog="airsequel", description="Host SQLite databases with an instant API")
    parser.add_argument("--version", action="version", version=f"airsequel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    # One flag per setting that has one, from the settings table (airsequel/config.py).
    for name, spec in SETTINGS.items():
        if spec.flag and SETTINGS_DEFAULTS[name] is False:  # a switch: given means on
            serve.add_argument(
                spec.flag, dest=name, action="store_const", const="1", help=f"{spec.help} ({spec.env}=1)"
            )
        elif spec.flag:
            default = SETTINGS_DEFAULTS[name]
            shown = "none" if default in (None, ()) else default
            serve.add_argument(
                spec.flag,
                dest=name,
                metavar=type_name(name).upper().replace(" ", "_") if not spec.choices else None,
                choices=spec.choices,
                type=port_text if name == "port" else str,
                help=f"{spec.help} ({spec.env}, default {shown})".replace("%", "%%"),
            )
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
    restore_all.add_argument(
        "--control-plane",
        default=os.environ.get("AIRSEQUEL_CONTROL_PLANE", ""),
        metavar="URL",
        help="the server's postgresql:// control plane (AIRSEQUEL_CONTROL_PLANE): restore the hosted files it lists",
    )
    migrate = commands.add_parser(
        "migrate-control-plane", help="copy the control plane from control.sqlite into PostgreSQL, verified"
    )
    migrate.add_argument("--to", required=True, metavar="URL", help="an empty PostgreSQL database: postgresql://...")
    migrate.add_argument("--data-dir", type=Path, help="data directory (AIRSEQUEL_DATA_DIR, default ./storage)")
    return parser


PORT_RULE = "a port must be a whole number from 1 to 65535"


def port_problem(text: str) -> str | None:
    """What is wrong with `text` as the port to listen on, or None. Plain ASCII digits only (no sign,
    underscores, spaces or other scripts' digits, which int() would take), from 1 to 65535: 0 would
    let the system pick a port that the setup link and the log could not name."""
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        return f"{PORT_RULE}, got {text!r}"
    return None


def port_text(text: str) -> str:
    """argparse `type` of --port: refused as argparse refuses (usage, message, exit status 2)."""
    problem = port_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "create-user":
        return create_user(args)
    if args.command == "restore-all":
        return restore_all(args)
    if args.command == "migrate-control-plane":
        return migrate_control_plane(args)
    return 2


def restore_all(args: argparse.Namespace) -> int:
    """Rebuild a data directory from the replica (core/storage/disaster_recovery.py). Exit status: 0
    everything restored, 2 some databases were not (named on stderr), 1 nothing was (no control
    plane, or the directory is not empty)."""
    from airsequel.core.errors import CoreError
    from airsequel.core.layout import DataLayout
    from airsequel.core.storage.disaster_recovery import restore_all as restore_data_dir

    layout = DataLayout(args.data_dir.resolve())
    try:
        report = restore_data_dir(
            layout,
            args.replica_url,
            endpoint=args.s3_endpoint or None,
            timestamp=args.timestamp,
            control_plane=args.control_plane or "",
        )
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.control_plane:
        print(f"restored {report.restored} database(s) of the PostgreSQL control plane into {layout.root}")
    else:
        print(f"restored the control plane and {report.restored} database(s) into {layout.root}")
    for missing in report.missing:
        print(
            f"not restored: database {missing.database_id} {missing.name!r} of {missing.owner!r}: {missing.reason}",
            file=sys.stderr,
        )
    if report.missing:
        print(
            f"error: {len(report.missing)} of {report.listed} database(s) had no usable replica and were left out",
            file=sys.stderr,
        )
        return 2
    return 0


def migrate_control_plane(args: argparse.Namespace) -> int:
    """Copy control.sqlite into PostgreSQL (core/registry/control_plane_copy.py), with the server stopped.
    Exit status: 0 copied and verified, 1 nothing copied (the reason on stderr), 2 bad arguments."""
    from airsequel.core.errors import CoreError
    from airsequel.core.layout import DataLayout
    from airsequel.core.registry.control_plane_copy import copy_control_plane
    from airsequel.core.registry.postgres_engine import is_postgres_url
    from airsequel.core.storage.data_dir_lock import DataDirectoryInUse, DataDirectoryLock

    if not is_postgres_url(args.to):
        print("error: --to must be a postgresql:// URL", file=sys.stderr)
        return 2
    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    layout = DataLayout(settings.data_dir)
    if not layout.control_file.exists():
        print(f"error: {layout.control_file} does not exist: nothing to copy", file=sys.stderr)
        return 1
    try:
        lock = DataDirectoryLock.acquire(layout.root)
    except DataDirectoryInUse as error:
        print(f"error: stop the server first: {error}", file=sys.stderr)
        return 1
    try:
        report = copy_control_plane(layout.control_file, args.to)
    except (CoreError, OSError) as error:
        print(f"error: nothing was copied: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # psycopg's (connection refused, permission denied): say it, no traceback
        print(f"error: nothing was copied: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    for table, rows in report.rows.items():
        print(f"{table}: {rows} row(s) copied and verified")
    print(
        f"copied {report.total} row(s) of {len(report.rows)} table(s) and verified them row for row;"
        f" serve with --control-plane {_without_password(args.to)} (control.sqlite is left as it was)"
    )
    return 0


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def create_user(args: argparse.Namespace) -> int:
    from airsequel.core.auth.accounts import Accounts, password_hasher
    from airsequel.core.auth.teams import Teams
    from airsequel.core.errors import CoreError
    from airsequel.core.layout import DataLayout
    from airsequel.core.registry.control_plane import ControlPlane

    settings = _settings(data_dir=args.data_dir)
    if settings is None:
        return 2
    layout = DataLayout(settings.data_dir)
    password = sys.stdin.readline().rstrip("\r\n")
    control = ControlPlane(settings.control_plane or layout.control_file)
    try:
        teams = Teams(control)
        outbox = settings.outbox_dir or layout.default_outbox_dir
        accounts = Accounts(control, teams, outbox, password_hasher(settings.password_hashing))
        user = accounts.create_user(args.username, args.email, password, server_admin=args.server_admin)
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        control.close()
    role = "server admin" if user.server_admin else "user"
    print(f"created {role} {user.username} with personal team {user.username}")
    return 0


def _settings(**flags: object) -> Settings | None:
    """The settings from flags and environment, or None after saying what is wrong."""
    from airsequel.config import SettingError, Settings

    try:
        return Settings.from_sources(os.environ, flags)
    except SettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from airsequel.config import SETTINGS
    from airsequel.core.storage.data_dir_lock import DataDirectoryInUse
    from airsequel.http.app import create_app

    if args.port is None and "AIRSEQUEL_PORT" in os.environ:
        problem = port_problem(os.environ["AIRSEQUEL_PORT"])
        if problem is not None:
            print(f"error: AIRSEQUEL_PORT: {problem}", file=sys.stderr)
            return 2
    settings = _settings(**{name: getattr(args, name) for name in SETTINGS if SETTINGS[name].flag})
    if settings is None:
        return 2
    from airsequel.core.cluster.node import setting_problems

    problems = setting_problems(settings)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    level = settings.log_level
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.workers > 1:
        return serve_workers(settings)
    try:
        app = create_app(settings)
    except DataDirectoryInUse as in_use:  # before anything in the directory was touched
        print(f"error: {in_use}", file=sys.stderr)
        return 3
    _print_setup_link(settings, app.state.services.accounts.setup_key())
    _raise_open_file_limit(settings.max_connections)
    uvicorn.run(app, **_uvicorn_options(settings))
    return 0


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    trusted = list(settings.trusted_proxies)
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        # X-Forwarded-For and X-Forwarded-Proto count only from the proxies the operator named
        # (uvicorn's default believes any loopback peer); the client address every throttle and
        # share uses is then the one uvicorn puts into the request.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        # Past max_connections connections (a slow-upload flood), uvicorn answers 503 at once
        # (per worker process with --workers).
        "limit_concurrency": settings.max_connections,
    }


def serve_workers(settings: Settings) -> int:
    """`serve --workers N`: this process holds the data directory's lock, does the start-up work
    once (migrations, crash clean-up, the setup link), then uvicorn's process manager runs N worker
    processes on one listening socket and starts a new one when one dies. Each worker builds its
    services from the settings resolved here (worker_app.py), and dies with this process."""
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    from airsequel.core.auth.accounts import digest
    from airsequel.core.services import Services
    from airsequel.core.storage.data_dir_lock import DataDirectoryInUse, DataDirectoryLock
    from airsequel.http.worker_app import STARTUP_FAILURE, WORKER_ENV, worker_environment

    try:
        lock = DataDirectoryLock.acquire(settings.data_dir)
    except DataDirectoryInUse as in_use:
        print(f"error: {in_use}", file=sys.stderr)
        return 3
    try:
        start_up = Services.start_group(settings, lock)
        try:
            key = start_up.accounts.setup_key()
        finally:
            start_up.stop()  # only the lock stays: the workers open their own connections
        os.environ[WORKER_ENV] = worker_environment(settings, lock.group_marker(), digest(key) if key else None)
        _print_setup_link(settings, key)
        _raise_open_file_limit(settings.max_connections)
        config = uvicorn.Config(
            "airsequel.http.worker_app:create_worker_app",
            factory=True,
            workers=settings.workers,
            **_uvicorn_options(settings),
        )
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
        if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
            print("error: a worker process failed to start (its error is logged above)", file=sys.stderr)
            return 3
        return 0
    finally:
        lock.release()


def _raise_open_file_limit(max_connections: int) -> None:
    """Raise the soft limit of open files to the hard one: each connection holds a descriptor (an
    upload two), beside the SQLite files. Warn when even the hard limit leaves too few."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as error:
            logging.getLogger("airsequel").warning("could not raise the open-file limit from %s: %s", soft, error)
    if soft != resource.RLIM_INFINITY and soft < 2 * max_connections + 256:
        logging.getLogger("airsequel").warning(
            "the open-file limit (%s) is low for max_connections %s: lower max_connections or raise the limit",
            soft,
            max_connections,
        )


def _print_setup_link(settings: Settings, key: str | None) -> None:
    """While the server has no server admin, say how to make one: a request over the network cannot
    be trusted to (a Host header can be forged through DNS rebinding), so the one-time link goes to
    the operator's terminal and log only."""
    if key is None:
        return
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0") else "[::1]" if settings.host == "::" else settings.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    print(
        f"No server admin yet. Open http://{host}:{settings.port}/setup/{key} to create the server admin"
        " account (works once, until the next start), or run"
        " `airsequel create-user NAME --email ADDRESS --password-stdin --server-admin`.",
        file=sys.stderr,
        flush=True,
    )
