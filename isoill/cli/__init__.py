"""The ``isoill`` command: one entry point, one module per group of subcommands.

Exit status: 0 success, 2 usage error, 3 bad input (one line on stderr naming the file,
the byte offset and the reason).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from isoill.cli import check, codec, peer, peers, queue, replay, routes, send, serve, tx
from isoill.cli.common import EXIT_BAD_INPUT, EXIT_USAGE, BadInput

__all__ = ["EXIT_BAD_INPUT", "EXIT_USAGE", "BadInput", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="isoill", description="ISO 10161 ILL gateway")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for group in (codec, check, serve, routes, peers, queue, tx, send, peer, replay):
        group.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except BadInput as error:
        sys.stderr.write(f"isoill: {error}\n")
        sys.exit(EXIT_BAD_INPUT)
    except BrokenPipeError:
        sys.exit(0)
