"""A change to the routes file as an operator makes it in the console: one peer's addresses,
aliases and move window set (or the peer added, or removed), checked as ``isoill routes check``
checks a file, and shown as a diff before it is applied.

The edit is made on the file's own text with tomlkit, which keeps every comment and the
layout of what the edit does not touch. Pure: text in, text out."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from isoill.ill.symbols import symbol_key
from isoill.router import RoutesError, RoutingTable

__all__ = ["MoveEdit", "Proposal", "RouteEdit", "diff", "edited", "propose"]


@dataclass(frozen=True)
class MoveEdit:
    """A move window: from ``start`` the old and the ``to`` addresses, from ``cutover`` only
    ``to``."""

    to: tuple[str, ...]
    start: datetime
    cutover: datetime


@dataclass(frozen=True)
class RouteEdit:
    """Peer ``symbol`` as it is to be; ``remove``: the peer is to go."""

    symbol: str
    addresses: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    move: MoveEdit | None = None
    remove: bool = False


@dataclass(frozen=True)
class Proposal:
    """An edit worked out: the new text, its diff against the old, and the problems that
    keep it from being applied (none: it may be)."""

    before: str
    after: str
    diff: str
    problems: tuple[str, ...]


def edited(text: str, edit: RouteEdit) -> str:
    """``text`` (a routes file) with ``edit`` made; ``RoutesError`` if ``text`` is not TOML
    or has no ``[peers]`` table to edit."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as error:
        raise RoutesError("<routes>", [f"not valid TOML: {error}"]) from None
    peers = document.setdefault("peers", tomlkit.table(is_super_table=True))
    if not isinstance(peers, Table):
        raise RoutesError("<routes>", ["peers is not a table"])
    name = _existing_name(peers, edit.symbol)
    if edit.remove:
        if name is not None:
            del peers[name]
        return tomlkit.dumps(document)
    if name is None:
        name = edit.symbol.strip()
        peers[name] = tomlkit.table()
    peer = peers[name]
    if not isinstance(peer, Table):
        raise RoutesError("<routes>", [f"peer {name}: expected a [peers.{name}] table"])
    _set_list(peer, "aliases", edit.aliases)
    _set_list(peer, "addresses", edit.addresses)
    if edit.move is None:
        if "move" in peer:
            del peer["move"]
    else:
        move = tomlkit.table()
        move["to"] = _array(edit.move.to)
        move["start"] = edit.move.start
        move["cutover"] = edit.move.cutover
        peer["move"] = move
    return tomlkit.dumps(document)


def propose(text: str, edit: RouteEdit, source: str = "routes.toml") -> Proposal:
    """The edit made and checked; the problems are those ``isoill routes check`` would find
    in the new file (or that the old one cannot be edited)."""
    try:
        after = edited(text, edit)
    except RoutesError as error:
        return Proposal(text, text, "", error.problems)
    return check(text, after, source)


def check(before: str, after: str, source: str = "routes.toml") -> Proposal:
    """``after`` as a replacement of ``before``: its diff and its problems."""
    problems: Sequence[str] = ()
    try:
        RoutingTable.parse(after, source)
    except RoutesError as error:
        problems = error.problems
    return Proposal(before, after, diff(before, after, source), tuple(problems))


def diff(before: str, after: str, name: str = "routes.toml") -> str:
    """A unified diff, ``before`` as a/NAME and ``after`` as b/NAME; empty when equal."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"a/{name}",
        f"b/{name}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _existing_name(peers: Table, symbol: str) -> str | None:
    """The key under which ``symbol`` already is, compared as the router compares symbols."""
    wanted = symbol_key(symbol)
    return next((str(key) for key in peers if symbol_key(str(key)) == wanted), None)


def _set_list(table: Table, key: str, values: tuple[str, ...]) -> None:
    if values:
        table[key] = _array(values)
    elif key in table:
        del table[key]


def _array(values: tuple[str, ...]) -> tomlkit.items.Array:
    array = tomlkit.array()
    array.extend(values)
    return array
