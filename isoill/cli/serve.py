"""``isoill serve --config PATH``: run the gateway daemon."""

from __future__ import annotations

import argparse
import asyncio

import uvloop

from isoill import logs
from isoill.app import App
from isoill.cli.common import BadInput
from isoill.config import ConfigError, load
from isoill.router import RoutesError


def run_serve(args: argparse.Namespace) -> None:
    try:
        config = load(args.config)
    except ConfigError as error:
        raise BadInput(str(error)) from None
    logs.configure(config.log.format, config.log.level)
    run = uvloop.run if config.event_loop == "uvloop" else asyncio.run
    try:
        run(App(config).run())
    except (RoutesError, ConfigError) as error:  # ConfigError: a listener's TLS files
        raise BadInput(str(error)) from None
