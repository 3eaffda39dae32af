"""structlog set-up: console lines for people, JSON lines for log shippers."""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: str = "info", fmt: str = "console") -> None:
    renderers: list[structlog.types.Processor] = (
        # JSON lines carry a traceback as text in `exception` (the console renderer prints it).
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if fmt == "json"
        # Plain tracebacks: rich's pretty ones cost a worker real CPU when it logs in a loop.
        else [
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            )
        ]
    )
    logging.basicConfig(level=level.upper(), format="%(message)s")
    # Libraries' chatter (a line per HTTP call, per migration context) is not the operator's news.
    for name in ("alembic", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
