"""`python -m service`: serve the API with uvicorn (flags override the DESCENT_* environment)."""

import argparse
import os

import uvicorn

from service.api.connections import GuardedHttpToolsProtocol
from service.config import Settings
from service.logs import logging_config


def main(argv: list[str] | None = None) -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m service", description="Serve the Descent API.")
    parser.add_argument("--host", default=defaults.host, help=f"interface (default {defaults.host})")
    parser.add_argument("--port", type=int, default=defaults.port, help=f"port (default {defaults.port})")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="worker processes")
    args = parser.parse_args(argv)
    # Workers build their app from the environment, so the flags travel there.
    os.environ.update(DESCENT_HOST=args.host, DESCENT_PORT=str(args.port), DESCENT_WORKERS=str(args.workers))
    uvicorn.run(
        "service.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=defaults.log_level,
        log_config=logging_config(defaults.log_level, defaults.log_format),
        timeout_graceful_shutdown=defaults.shutdown_timeout,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise (FORWARDED_ALLOW_IPS): any local
        # process could then pose as any client. Only the configured proxies are believed; with none, no one is.
        proxy_headers=bool(defaults.forwarded_allow_ips),
        forwarded_allow_ips=defaults.forwarded_allow_ips,
        # Slow and idle clients: see service/api/connections.py and service/api/body_timeout.py.
        http=GuardedHttpToolsProtocol,
        timeout_keep_alive=defaults.keep_alive_timeout,
        limit_concurrency=defaults.max_connections,
    )


if __name__ == "__main__":
    main()
