"""``isoill operators add NAME --role ROLE --config FILE``: add an operator of the console or
change one's role and password (only a salted scrypt hash is written); ``isoill operators
list`` and ``remove``. The accounts file is ``[console] accounts`` (by default
``operators.toml`` beside the configuration), created readable by its owner alone; the
running console reads it again when it changes, so nothing needs a reload."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from isoill.access import operators
from isoill.access.operators import AccountsError, Operator
from isoill.access.passwords import hash_password
from isoill.cli.common import BadInput
from isoill.config import ConfigError, Console, load


def run_add(args: argparse.Namespace) -> None:
    path = _accounts(args.config)
    try:
        name = operators.check_name(args.name)
    except AccountsError as error:
        raise BadInput(str(error)) from None
    accounts = _read(path)
    password = _stdin_password() if args.stdin else _prompted_password(name)
    role = args.role or (accounts[name].role if name in accounts else None)
    if role is None:
        raise BadInput(f"{name} is a new operator: --role is needed")
    hashed = hash_password(password.encode("utf-8"))
    _write(path, {**accounts, name: Operator(name, role, hashed)})
    sys.stdout.write(f"operator {name}: role {role} and password set in {path}\n")


def run_remove(args: argparse.Namespace) -> None:
    path = _accounts(args.config)
    accounts = _read(path)
    if args.name not in accounts:
        raise BadInput(f"{path}: no operator {args.name}")
    _write(path, {name: a for name, a in accounts.items() if name != args.name})
    sys.stdout.write(f"operator {args.name}: removed from {path}; their sessions end now\n")


def run_list(args: argparse.Namespace) -> None:
    accounts = _read(_accounts(args.config))
    for name in sorted(accounts):
        sys.stdout.write(f"{name}  {accounts[name].role}\n")
    if not accounts:
        sys.stdout.write("no operators\n")


def _accounts(config_path: Path) -> Path:
    try:
        config = load(config_path)
    except ConfigError as error:
        raise BadInput(str(error)) from None
    console = config.console
    if console is None:  # the accounts file can be made before the console is turned on
        return config_path.parent / Console().accounts
    return console.accounts


def _read(path: Path) -> dict[str, Operator]:
    try:
        return operators.load(path)
    except AccountsError as error:
        raise BadInput(str(error)) from None


def _write(path: Path, accounts: dict[str, Operator]) -> None:
    try:
        operators.save(path, accounts)
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from None


def _stdin_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("no password on stdin")
    return password


def _prompted_password(name: str) -> str:
    password = getpass.getpass(f"Console password for {name}: ")
    if not password:
        raise BadInput("empty password; nothing changed")
    if getpass.getpass("Again: ") != password:
        raise BadInput("the passwords differ; nothing changed")
    return password
