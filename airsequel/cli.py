"""The `airsequel` command: `airsequel serve [--host H] [--port P] [--data-dir DIR]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airsequel", description="Host SQLite databases with an instant API")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to listen on (AIRSEQUEL_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (AIRSEQUEL_PORT, default 4185)")
    serve.add_argument("--data-dir", type=Path, help="data directory (AIRSEQUEL_DATA_DIR, default ./storage)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from airsequel.config import Settings
    from airsequel.http.app import create_app

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env(host=args.host, port=args.port, data_dir=args.data_dir)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    return 0
