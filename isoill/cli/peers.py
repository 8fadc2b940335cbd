"""``isoill peers passwd SYMBOL --config FILE``: set the Prompt-1 userId and password a peer's
connections must authenticate with (only a salted scrypt hash is written); ``isoill peers
login SYMBOL --config FILE``: set the gateway's own Prompt-1 login at a target that wants one
(kept in clear: the gateway sends it); ``isoill peers agency-auth SYMBOL --config FILE
--account-id ID``: set the ``requestingAgencyAuthentication`` the gateway writes in what it
sends to an ISO 18626 peer that demands one (its securityCode in clear too). All go into the
credentials file (``[access] credentials``, by default ``credentials.toml`` beside the
configuration), which is created readable by its owner alone."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import sys
from pathlib import Path

from isoill.access import credentials as credentials_file
from isoill.access.credentials import (
    AgencyLogin,
    Credential,
    Credentials,
    CredentialsError,
    GatewayLogin,
)
from isoill.access.passwords import hash_password
from isoill.cli.common import BadInput
from isoill.config import Config, ConfigError, load
from isoill.ill.symbols import symbol_key
from isoill.router import RoutesError, RoutingTable

RELOAD = "the daemon reads it at start and on SIGHUP (isoill routes reload)"


def run_passwd(args: argparse.Namespace) -> None:
    config, symbol = _peer(args)
    if config.access.mode != "registered":
        raise BadInput(
            f'{args.config}: credentials are checked with [access] mode = "registered" only;'
            " set it first"
        )
    password = _stdin_password() if args.stdin else _prompted_password(symbol)
    path = config.access.credentials
    credentials = _read(path)
    earlier = credentials.peers.get(symbol)
    user_id = args.user or (earlier.user_id if earlier is not None else symbol)
    hashed = hash_password(password.encode("utf-8"))
    peers = {**credentials.peers, symbol: Credential(user_id=user_id, password_hash=hashed)}
    _write(path, dataclasses.replace(credentials, peers=peers))
    sys.stdout.write(
        f"{symbol}: Prompt-1 userId {user_id!r} and password set in {path}; {RELOAD}\n"
    )


def run_login(args: argparse.Namespace) -> None:
    config, symbol = _peer(args)
    if config.peer(symbol).forward_sender_login:
        raise BadInput(
            f"{args.config}: {symbol} has forward_sender_login: it gets the sender's login,"
            " not the gateway's; set one of them"
        )
    path = config.access.credentials
    credentials = _read(path)
    if args.remove:
        logins = {s: login for s, login in credentials.logins.items() if s != symbol}
        _write(path, dataclasses.replace(credentials, logins=logins))
        sys.stdout.write(f"{symbol}: no gateway login in {path}; {RELOAD}\n")
        return
    if args.user is None:
        raise BadInput("--user USERID is needed (or --remove)")
    password = _stdin_password() if args.stdin else _prompted_password(symbol)
    login = GatewayLogin(user_id=args.user, password=password)
    _write(path, dataclasses.replace(credentials, logins={**credentials.logins, symbol: login}))
    sys.stdout.write(
        f"{symbol}: the gateway logs in as {args.user!r} with each APDU it delivers there"
        f" (set in {path}); {RELOAD}\n"
    )


def run_agency_auth(args: argparse.Namespace) -> None:
    try:
        config = load(args.config)
        routes = RoutingTable.load(config.routes)
    except (ConfigError, RoutesError) as error:
        raise BadInput(str(error)) from None
    route = routes.route(args.symbol)
    if route is None or route.settings18626 is None:
        raise BadInput(f"{config.routes}: {symbol_key(args.symbol)} is no ISO 18626 peer there")
    symbol = symbol_key(route.symbol)
    path = config.access.credentials
    credentials = _read(path)
    if args.remove:
        agencies = {s: login for s, login in credentials.agencies.items() if s != symbol}
        _write(path, dataclasses.replace(credentials, agencies=agencies))
        sys.stdout.write(f"{symbol}: no requestingAgencyAuthentication in {path}; {RELOAD}\n")
        return
    if args.account_id is None:
        raise BadInput("--account-id ID is needed (or --remove)")
    code = _stdin_password() if args.stdin else _prompted_password(symbol, "securityCode")
    login = AgencyLogin(account_id=args.account_id, security_code=code)
    agencies = {**credentials.agencies, symbol: login}
    _write(path, dataclasses.replace(credentials, agencies=agencies))
    sys.stdout.write(
        f"{symbol}: the gateway authenticates as account {args.account_id!r} in the ISO 18626"
        f" messages it sends there (set in {path}); {RELOAD}\n"
    )


def _peer(args: argparse.Namespace) -> tuple[Config, str]:
    try:
        config = load(args.config)
    except ConfigError as error:
        raise BadInput(str(error)) from None
    symbol = symbol_key(args.symbol)
    if symbol not in config.peers:
        raise BadInput(f"{args.config}: {symbol} is not under [peers]")
    return config, symbol


def _read(path: Path) -> Credentials:
    try:
        return credentials_file.load(path)
    except CredentialsError as error:
        raise BadInput(str(error)) from None


def _write(path: Path, credentials: Credentials) -> None:
    try:
        credentials_file.save(path, credentials)
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from None


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("no password on stdin")
    return password


def _prompted_password(symbol: str, what: str = "Prompt-1 password") -> str:
    password = getpass.getpass(f"{what} for {symbol}: ")
    if not password:
        raise BadInput("empty password; nothing changed")
    if getpass.getpass("Again: ") != password:
        raise BadInput("the passwords differ; nothing changed")
    return password
