"""`nerve serve` with one route more, for the tracking benchmark only: `POST /v1/ping` answers
like a tracking call but stores nothing — the bare baseline (HTTP, middleware, reading the body)
that the tracking figures are compared with. The product has no such route.

Run as `python bench/tracking_app.py --host H --port P [--workers N] [--without-guards]`.
`--without-guards` takes out what issue 9 added to ingest (the depth check, the suppression of
erased people's events, the exact-number scan) to measure what they cost: never in a product.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nerve.app import create_app as create_nerve_app
from nerve.server.config import server_options
from nerve.settings import get_settings

_SUCCESS = b'{"success":true}'


async def ping(request: Request) -> Response:
    await request.body()
    return Response(_SUCCESS, media_type="application/json")


def _remove_guards() -> None:
    import orjson

    from nerve import numbers
    from nerve.privacy.suppression import Suppressed
    from nerve.tracking import normalize

    normalize._check_depth = lambda document, payload: None  # type: ignore[assignment]
    Suppressed.erased_in = lambda self, payload: []  # type: ignore[method-assign]
    numbers.loads = orjson.loads
    numbers.dumps = lambda value, option=None: orjson.dumps(value, option=option)  # type: ignore[assignment]


def create_app() -> FastAPI:
    if os.environ.get("NERVE_BENCH_WITHOUT_GUARDS"):
        _remove_guards()
    app = create_nerve_app()
    app.router.routes.insert(0, Route("/v1/ping", ping, methods=["POST"]))  # before /v1/{path}
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--without-guards", action="store_true")
    args = parser.parse_args()
    if args.without_guards:
        os.environ["NERVE_BENCH_WITHOUT_GUARDS"] = "1"  # read by every worker process
    settings = get_settings()
    uvicorn.run(
        "bench.tracking_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        loop="uvloop",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=10,
        **server_options(settings),
    )


if __name__ == "__main__":
    main()
