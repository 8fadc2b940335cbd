"""The ``isoill`` command: one entry point, one module per group of subcommands.

The arguments of every command are in :mod:`isoill.cli.arguments`, which imports none of
the modules that do the work: ``main`` imports a command's module only to run it, and each
module imports what its commands use, so that a command that never decodes does not build the
codec's decoder.

Exit status: 0 success, 2 usage error, 3 bad input (one line on stderr naming the file,
the byte offset and the reason).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from isoill.cli.arguments import parser
from isoill.cli.common import EXIT_BAD_INPUT, EXIT_USAGE, BadInput, Usage

__all__ = ["EXIT_BAD_INPUT", "EXIT_USAGE", "BadInput", "command", "main"]


def command(module: str, function: str) -> Callable[[argparse.Namespace], None]:
    """The function that runs a command, named by its ``run`` (``isoill.cli.<module>``)."""
    run: Callable[[argparse.Namespace], None] = getattr(
        importlib.import_module(f"isoill.cli.{module}"), function
    )
    return run


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run = command(*args.run)
    try:
        run(args)
    except Usage as error:
        sys.stderr.write(f"isoill: {error}\n")
        sys.exit(EXIT_USAGE)
    except BadInput as error:
        sys.stderr.write(f"isoill: {error}\n")
        sys.exit(EXIT_BAD_INPUT)
    except BrokenPipeError:
        sys.exit(0)
