"""``isoill store copy SQLITE_PATH POSTGRES_URL``: an SQLite store moved into PostgreSQL
(:mod:`isoill.store.copy`), while no daemon runs on it: the copy holds the store's lock
(``<store>.lock``, the one ``isoill serve`` takes), so it is refused while a daemon runs, and
a daemon started during the copy is refused."""

from __future__ import annotations

import argparse
import sys

from isoill.cli.common import BadInput
from isoill.cli.storeopts import table
from isoill.process.errors import CannotStart
from isoill.process.lock import StoreLock
from isoill.store.copy import copy
from isoill.store.errors import StoreError


def run_copy(args: argparse.Namespace) -> None:
    source = args.source
    if not source.is_file():
        raise BadInput(f"{source}: no queue database")
    try:
        lock = StoreLock.take(source)
    except CannotStart as error:
        raise BadInput(f"{error}; the copy needs the store at rest") from None
    try:
        copied = copy(source, args.destination)
    except StoreError as error:  # the URL holds no password: it may be shown
        raise BadInput(f"not copied, nothing was written into PostgreSQL: {error}") from None
    finally:
        lock.close()
    rows = [
        (
            entry.table,
            str(entry.rows),
            "derived"
            if entry.derived
            else ", ".join(f"{s} {n}" for s, n in sorted(entry.states.items())),
        )
        for entry in copied
    ]
    sys.stdout.write(table(("TABLE", "ROWS", "STATES"), rows))
    for entry in copied:
        for column in entry.defaulted:
            sys.stdout.write(f"{entry.table}.{column}: not in SQLite, left to its default\n")
    sys.stdout.write(f"copied {source} into {args.destination}; counts verified on both sides\n")
