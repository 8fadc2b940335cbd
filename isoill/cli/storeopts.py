"""What the commands that read the store (``isoill queue``, ``isoill tx``) share: the database
their options name, opening it, and printing times, messages and tables. Nothing here prints
APDU bytes, and nothing here imports the codec or, without ``--config``, the configuration."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from isoill.cli.common import BadInput
from isoill.store.backend import Backend
from isoill.store.errors import StoreError
from isoill.store.open import open_store as open_backend
from isoill.store.records import MessageView
from isoill.store.setting import check_setting, is_url

#: The columns :func:`message_rows` adds after a message's own.
DELIVERY_COLUMNS = ("ADDRESS", "DELIVERY", "TRIES", "NEXT TRY", "NOTE")


def database(args: argparse.Namespace) -> Path | str:
    """The database that ``--config`` or ``--db`` names: an SQLite file or a PostgreSQL URL."""
    if args.config is None:
        setting: Path | str = args.db
        return setting
    # Imported for --config alone: the configuration (pydantic, and the codec's plan through
    # the rules) takes longer to import than a listing takes to run.
    from isoill.config import ConfigError, load  # noqa: PLC0415

    try:
        return load(args.config).store
    except ConfigError as error:
        raise BadInput(str(error)) from None


@contextmanager
def open_store(setting: Path | str) -> Iterator[Backend]:
    """The store ``setting`` names; an operator's typo must not create an empty SQLite file
    (a database a URL names is there or not: connecting creates none)."""
    try:
        check_setting(setting)
    except StoreError as error:
        raise BadInput(str(error)) from None
    if not is_url(setting) and not Path(setting).is_file():
        raise BadInput(f"{setting}: no queue database")
    try:
        store = open_backend(setting)
    except StoreError as error:  # a URL holds no password by now: it may be shown
        raise BadInput(f"{setting}: {error}") from None
    try:
        yield store
    finally:
        store.close()


def json_default(value: object) -> str:
    """``json.dump``'s ``default`` for the store's views: times in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def deliveries(count: int) -> str:
    """``1 delivery``, ``2 deliveries``."""
    return f"{count} delivery" if count == 1 else f"{count} deliveries"


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def message_rows(head: tuple[str, ...], message: MessageView) -> list[tuple[str, ...]]:
    """A message's table rows: ``head`` (its own cells) and :data:`DELIVERY_COLUMNS`, one row
    per delivery (one for a message without any, its reason as the note); ``head`` on the
    first only."""
    if not message.deliveries:
        return [(*head, "", "", "", "", message.reason or "")]
    blank = ("",) * len(head)
    return [
        (
            *(blank if index else head),
            delivery.address,
            delivery.state,
            str(delivery.attempts),
            when(delivery.next_attempt_at),
            delivery.last_error or "",
        )
        for index, delivery in enumerate(message.deliveries)
    ]


def table(columns: Sequence[str], rows: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns two spaces apart, under a header line."""
    lines = [tuple(columns), *rows]
    widths = [max(len(cell) for cell in column) for column in zip(*lines, strict=True)]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )
