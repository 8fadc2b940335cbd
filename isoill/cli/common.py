"""What every subcommand shares: exit statuses and the bad-input error."""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_BAD_INPUT = 3


class BadInput(Exception):
    """Input that cannot be processed; the message is the one line shown to the user."""


class Usage(Exception):
    """Arguments that do not go together; the message is the one line shown to the user."""
