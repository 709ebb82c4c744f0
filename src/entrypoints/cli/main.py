"""`aigateway serve | migrate`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from aigateway import __version__
from aigateway.application.use_cases.bootstrap import StartupError
from aigateway.entrypoints.ioc.settings import ConfigError, Settings, load_settings

APP_FACTORY = "aigateway.entrypoints.http.app:create_app"


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "aiohttp.access", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(message: str, code: int) -> int:
    print(f"aigateway: error: {message}", file=sys.stderr)
    return code


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> int:
    import uvicorn

    from aigateway.entrypoints.bootstrap import preflight

    generated = asyncio.run(preflight(settings))
    if generated:
        print(
            "aigateway: generated an admin key (shown once; only its hash is stored):\n"
            f"    {generated}",
            file=sys.stderr,
            flush=True,
        )
    where = (
        "SQLite + in-process stores"
        if settings.embedded and not settings.redis.url
        else "database + Redis"
    )
    server = settings.server
    print(
        f"aigateway {__version__} serving on http://{server.host}:{server.port} ({where})",
        file=sys.stderr,
        flush=True,
    )
    # uvicorn re-raises the signal that stopped it once shutdown is complete; a handler of our
    # own turns SIGTERM after a graceful shutdown into exit status 0.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=settings.server.workers if settings.server.workers > 1 else None,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.logging.level.lower(),
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aigateway", description="Self-hosted LLM API gateway")
    parser.add_argument("--version", action="version", version=f"aigateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the gateway")
    serve_cmd.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, help="port (default 8080)")
    serve_cmd.add_argument(
        "--workers", type=int, help="worker processes (default 1; >1 needs Redis)"
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    args = parser.parse_args(argv)

    overrides = {"server": {k: getattr(args, k, None) for k in ("host", "port", "workers")}}
    try:
        settings = load_settings(overrides=overrides)
        configure_logging(settings.logging.level)
        if args.command == "migrate":
            from aigateway.entrypoints.bootstrap import migrate

            asyncio.run(migrate(settings))
            print("aigateway: the database schema is up to date", file=sys.stderr)
            return 0
        return serve(settings)
    except ConfigError as exc:
        return _fail(f"invalid configuration: {exc}", 2)
    except StartupError as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
