"""Structured logging (structlog): JSON lines, or readable lines on a terminal.

Loggers are bound per connection (peer address) and per APDU (transaction, type). Patron data
(client-id) and credentials are never bound; anything that could hold them is logged at debug.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

import structlog


def configure(form: str = "auto", level: str = "info", **fields: Any) -> None:
    """Log lines in ``form`` from ``level`` up; ``fields`` are on every line (a worker's
    ``worker=N``)."""
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
            *([functools.partial(_fields, fields)] if fields else []),
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *rendering,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        # A line in one write (print's two would interleave with a worker's on the same pipe).
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _fields(fields: dict[str, Any], logger: Any, name: str, event: dict[str, Any]) -> Any:
    return {**event, **fields}


def get(**context: Any) -> Any:
    return structlog.get_logger("isoill").bind(**context)
