"""Structured logging (structlog): JSON lines, or readable lines on a terminal.

Loggers are bound per connection (peer address) and per APDU (transaction, type). Patron data
(client-id) and credentials are never bound; anything that could hold them is logged at debug.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog


def configure(form: str = "auto", level: str = "info") -> None:
    console = form == "console" or (form == "auto" and sys.stderr.isatty())
    # The console renderer formats a traceback (``log.exception``) itself; for JSON lines it
    # becomes the ``exception`` field, a string.
    rendering: list[Any] = (
        [structlog.dev.ConsoleRenderer()]
        if console
        else [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *rendering,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def get(**context: Any) -> Any:
    return structlog.get_logger("isoill").bind(**context)
