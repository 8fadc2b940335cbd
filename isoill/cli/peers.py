"""``isoill peers passwd SYMBOL --config FILE``: set the Prompt-1 userId and password a peer's
connections must authenticate with. Only a salted scrypt hash is written, into the
credentials file (``[access] credentials``, by default ``credentials.toml`` beside the
configuration), which is created readable by its owner alone."""

from __future__ import annotations

import argparse
import getpass
import sys

from isoill.access import credentials as credentials_file
from isoill.access.credentials import Credential, CredentialsError
from isoill.access.passwords import hash_password
from isoill.cli.common import BadInput
from isoill.config import ConfigError, load


def run_passwd(args: argparse.Namespace) -> None:
    try:
        config = load(args.config)
    except ConfigError as error:
        raise BadInput(str(error)) from None
    if config.access.mode != "registered":
        raise BadInput(
            f'{args.config}: credentials are checked with [access] mode = "registered" only;'
            " set it first"
        )
    symbol = args.symbol.strip().upper()
    if symbol not in config.peers:
        raise BadInput(f"{args.config}: {symbol} is not under [peers]")
    password = _stdin_password() if args.stdin else _prompted_password(symbol)
    path = config.access.credentials
    try:
        credentials = credentials_file.load(path)
    except CredentialsError as error:
        raise BadInput(str(error)) from None
    earlier = credentials.get(symbol)
    user_id = args.user or (earlier.user_id if earlier is not None else symbol)
    hashed = hash_password(password.encode("utf-8"))
    credentials[symbol] = Credential(user_id=user_id, password_hash=hashed)
    try:
        credentials_file.save(path, credentials)
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from None
    sys.stdout.write(
        f"{symbol}: Prompt-1 userId {user_id!r} and password set in {path};"
        " the daemon reads it at start and on SIGHUP (isoill routes reload)\n"
    )


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("no password on stdin")
    return password


def _prompted_password(symbol: str) -> str:
    password = getpass.getpass(f"Prompt-1 password for {symbol}: ")
    if not password:
        raise BadInput("empty password; nothing changed")
    if getpass.getpass("Again: ") != password:
        raise BadInput("the passwords differ; nothing changed")
    return password
