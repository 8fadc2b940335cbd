"""The ``isoill`` command line: every command's arguments and help, and what runs it.

A command names the function that runs it (``run``: a module of :mod:`isoill.cli` and a
function in it) rather than holding it, and this module imports nothing that a command uses:
building the parser, all that ``isoill --help`` does, stays cheap, and a command imports its
module, and what that uses, only when it runs.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

from isoill.codec.framing import DEFAULT_MAX_APDU_SIZE
from isoill.store.errors import StoreError
from isoill.store.records import MESSAGE_STATES
from isoill.store.setting import store_setting

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: The forms of APDU files (:func:`isoill.cli.inputs.apdus`).
FORMS = ("ber", "hex", "json")

#: The queue database of ``isoill queue`` and ``isoill tx`` without ``--config`` or ``--db``.
DEFAULT_DB = Path("var/isoill.sqlite3")

#: Seconds ``isoill send`` waits to connect, and for each reply.
DEFAULT_TIMEOUT = 30.0


def parser() -> argparse.ArgumentParser:
    """The parser of every ``isoill`` command; each one's ``run`` is ``(module, function)``."""
    isoill = argparse.ArgumentParser(prog="isoill", description="ISO 10161 ILL gateway")
    commands = isoill.add_subparsers(required=True, metavar="COMMAND")
    for add in (
        _codec,
        _check,
        _serve,
        _routes,
        _peers,
        _operators,
        _queue,
        _tx,
        _store_commands,
        _send,
        _peer,
        _replay,
    ):
        add(commands)
    return isoill


def _runs(command: argparse.ArgumentParser, module: str, function: str) -> None:
    """``command`` runs ``function`` of ``isoill.cli.<module>``."""
    command.set_defaults(run=(module, function))


def _codec(commands: Commands) -> None:
    decode_cmd = commands.add_parser(
        "decode", help="decode BER APDUs (or ISO 18626 XML, as its APDU) to text or JSON"
    )
    decode_cmd.add_argument(
        "files", nargs="+", metavar="FILE", help="APDU or ISO 18626 XML files, - for stdin"
    )
    decode_cmd.add_argument("--hex", action="store_true", help="input is hex text")
    decode_cmd.add_argument(
        "--format",
        choices=("text", "json"),
        help="output form (default: text on a terminal, json otherwise)",
    )
    decode_cmd.add_argument(
        "--max-size", type=int, default=DEFAULT_MAX_APDU_SIZE, help="largest APDU in bytes"
    )
    _iso18626_options(decode_cmd)
    _runs(decode_cmd, "codec", "run_decode")

    encode_cmd = commands.add_parser("encode", help="encode the JSON form of APDUs to BER")
    encode_cmd.add_argument("file", metavar="FILE.json", help="one APDU or a list; - for stdin")
    encode_cmd.add_argument("-o", "--output", metavar="OUT", help="output file (default stdout)")
    _runs(encode_cmd, "codec", "run_encode")


def _iso18626_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--version",
        choices=("1.2", "2021"),
        help="the ISO 18626 schema XML files follow (default: as their version attribute says)",
    )
    command.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="the ISO 10161 side's IANA zone, for ISO 18626 times (default UTC)",
    )


def _check(commands: Commands) -> None:
    check = commands.add_parser("check", help="run a rules profile on APDU files")
    check.add_argument("files", nargs="+", metavar="FILE", help="APDU files, - for stdin")
    check.add_argument("--profile", required=True, help="profile name (see isoill rules)")
    check.add_argument("--form", choices=FORMS, default="ber", help="input form")
    check.add_argument("--at", help="judge as at this UTC time (ISO 8601; default now)")
    _add_profiles_option(check)
    _runs(check, "check", "run_check")

    rules = commands.add_parser("rules", help="list the rules profiles and their rules")
    rules.add_argument("--markdown", action="store_true", help="print the docs/rules.md table")
    _add_profiles_option(rules)
    _runs(rules, "rules", "run_rules")


def _add_profiles_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--config", type=Path, help="also know the profiles this configuration defines"
    )


def _serve(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the gateway daemon")
    serve.add_argument("--config", required=True, type=Path, help="configuration file")
    serve.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="N worker processes on the same listening sockets, under a supervisor that"
        " restarts one that dies (an SQLite store allows 1); default: one process, unsupervised",
    )
    _runs(serve, "serve", "run_serve")


def _routes(commands: Commands) -> None:
    routes = commands.add_parser("routes", help="routing table tools")
    actions = routes.add_subparsers(required=True, metavar="COMMAND")
    check = actions.add_parser(
        "check", help="validate a routes file and print the routes in effect"
    )
    check.add_argument("file", metavar="FILE", help="routes file (TOML)")
    check.add_argument(
        "--at",
        type=_instant,
        metavar="DATETIME",
        help="show the routes in effect at this instant, e.g. 2026-12-15T00:00:00Z (default: now)",
    )
    _runs(check, "routes", "run_check")
    reload = actions.add_parser(
        "reload", help="check the routes file, then tell the running daemon to reload it"
    )
    reload.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    _runs(reload, "reload", "run_reload")


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r}") from None
    if instant.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone: add Z or an offset")
    return instant


def _peers(commands: Commands) -> None:
    peers = commands.add_parser("peers", help="peers' credentials")
    actions = peers.add_subparsers(required=True, metavar="COMMAND")
    passwd = actions.add_parser(
        "passwd", help="set the Prompt-1 userId and password a peer must authenticate with"
    )
    passwd.add_argument("symbol", metavar="SYMBOL", help="the peer, as under [peers]")
    passwd.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    passwd.add_argument(
        "--user", metavar="USERID", help="Prompt-1 userId (default: as before, else SYMBOL)"
    )
    passwd.add_argument(
        "--stdin", action="store_true", help="read the password from stdin's first line"
    )
    _runs(passwd, "peers", "run_passwd")
    login = actions.add_parser(
        "login", help="set the gateway's own Prompt-1 login at a target that wants one"
    )
    login.add_argument("symbol", metavar="SYMBOL", help="the target, as under [peers]")
    login.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    login.add_argument("--user", metavar="USERID", help="the gateway's Prompt-1 userId there")
    login.add_argument(
        "--stdin", action="store_true", help="read the password from stdin's first line"
    )
    login.add_argument("--remove", action="store_true", help="send no login there any more")
    _runs(login, "peers", "run_login")
    agency = actions.add_parser(
        "agency-auth",
        help="set the requestingAgencyAuthentication sent to an ISO 18626 peer that wants one",
    )
    agency.add_argument("symbol", metavar="SYMBOL", help="the ISO 18626 peer, as in the routes")
    agency.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    agency.add_argument("--account-id", metavar="ID", help="the accountId the peer gave")
    agency.add_argument(
        "--stdin", action="store_true", help="read the securityCode from stdin's first line"
    )
    agency.add_argument("--remove", action="store_true", help="send none there any more")
    _runs(agency, "peers", "run_agency_auth")


def _operators(commands: Commands) -> None:
    command = commands.add_parser("operators", help="the console's operator accounts")
    actions = command.add_subparsers(required=True, metavar="COMMAND")
    add = actions.add_parser("add", help="add an operator, or set one's role and password")
    add.add_argument("name", metavar="NAME", help="lower-case letters, digits, '.', '_', '-'")
    add.add_argument(
        "--role",
        choices=("viewer", "operator", "admin"),
        help="viewer reads; operator also works the queue; admin also changes routes",
    )
    add.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    add.add_argument(
        "--stdin", action="store_true", help="read the password from stdin's first line"
    )
    _runs(add, "operators", "run_add")
    remove = actions.add_parser("remove", help="remove an operator (their sessions end)")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    _runs(remove, "operators", "run_remove")
    list_cmd = actions.add_parser("list", help="the operators and their roles")
    list_cmd.add_argument("--config", required=True, type=Path, help="the daemon's configuration")
    _runs(list_cmd, "operators", "run_list")


def _queue(commands: Commands) -> None:
    queue = commands.add_parser("queue", help="list, resend, release and refuse queued APDUs")
    actions = queue.add_subparsers(required=True, metavar="ACTION")

    list_cmd = actions.add_parser("list", help="the newest messages and their deliveries")
    list_cmd.add_argument("--state", choices=MESSAGE_STATES, help="only messages in this state")
    list_cmd.add_argument("--peer", metavar="SYMBOL", help="only those from or to SYMBOL")
    list_cmd.add_argument("--type", metavar="APDU", help="only APDUs of this type (ILL-Request)")
    list_cmd.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    list_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_db_option(list_cmd)
    _runs(list_cmd, "queue", "run_list")

    resend_cmd = actions.add_parser("resend", help="queue a message's failed deliveries again")
    resend_cmd.add_argument("id", type=int, metavar="ID", help="message id from queue list")
    _add_db_option(resend_cmd)
    _runs(resend_cmd, "actions", "run_resend")

    release_cmd = actions.add_parser("release", help="deliver a held request to its target")
    release_cmd.add_argument("id", type=int, metavar="ID", help="message id from queue list")
    _add_daemon_config_option(release_cmd)
    _runs(release_cmd, "actions", "run_release")

    refuse_cmd = actions.add_parser(
        "refuse", help="refuse a held request and tell its requester, if it has a route"
    )
    refuse_cmd.add_argument("id", type=int, metavar="ID", help="message id from queue list")
    refuse_cmd.add_argument(
        "--reason",
        default="refused by the gateway's operator",
        metavar="TEXT",
        help="kept with the message and sent to the requester as the report's note",
    )
    _add_daemon_config_option(refuse_cmd)
    _runs(refuse_cmd, "actions", "run_refuse")


def _store_commands(commands: Commands) -> None:
    store = commands.add_parser("store", help="move a store from SQLite to PostgreSQL")
    actions = store.add_subparsers(required=True, metavar="ACTION")

    copy_cmd = actions.add_parser(
        "copy",
        help="copy an SQLite store (no daemon running on it) into an empty PostgreSQL store",
    )
    copy_cmd.add_argument("source", type=Path, metavar="SQLITE_PATH", help="the SQLite store")
    copy_cmd.add_argument(
        "destination",
        type=_postgres_url,
        metavar="POSTGRES_URL",
        help="the PostgreSQL store: a libpq URL without a password (PGPASSWORD or ~/.pgpass)",
    )
    _runs(copy_cmd, "store", "run_copy")


def _postgres_url(text: str) -> str:
    """A PostgreSQL URL, without a password."""
    setting = _store(text)
    if not isinstance(setting, str):
        raise argparse.ArgumentTypeError(f"not a PostgreSQL URL (postgresql://...): {text}")
    return setting


def _add_daemon_config_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--config",
        type=Path,
        required=True,
        help="the daemon's configuration: its store, and its routes for the addresses",
    )


def _tx(commands: Commands) -> None:
    tx = commands.add_parser("tx", help="list transactions and show their history")
    actions = tx.add_subparsers(required=True, metavar="ACTION")

    list_cmd = actions.add_parser("list", help="the newest transactions, parties and states")
    list_cmd.add_argument(
        "--state",
        metavar="S",
        help="only those where either party's machine is in state S (e.g. PENDING; any case)",
    )
    list_cmd.add_argument(
        "--peer",
        metavar="SYMBOL",
        help="only those with SYMBOL as requester or responder (any case, outer spaces ignored)",
    )
    list_cmd.add_argument(
        "--qualifier", metavar="Q", help="only those whose transaction-qualifier is Q, exactly"
    )
    list_cmd.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    list_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_db_option(list_cmd)
    _runs(list_cmd, "tx", "run_list")

    show_cmd = actions.add_parser("show", help="a transaction and every APDU of it")
    show_cmd.add_argument("id", type=int, metavar="ID", help="transaction id from tx list")
    show_cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    show_cmd.add_argument(
        "--messages",
        action="store_true",
        help="also each message's both sides: the APDU decoded and its ISO 18626 XML"
        " (patron data included)",
    )
    _add_db_option(show_cmd)
    _runs(show_cmd, "tx", "run_show")


def _add_db_option(command: argparse.ArgumentParser) -> None:
    """The store a command reads: ``--config``'s or ``--db`` (see
    :func:`isoill.cli.storeopts.database`)."""
    where = command.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help="the daemon's configuration: use its store")
    where.add_argument(
        "--db",
        type=_store,
        default=DEFAULT_DB,
        help=f"queue database: an SQLite file (default {DEFAULT_DB}) or a PostgreSQL URL",
    )


def _store(text: str) -> Path | str:
    """``--db``: a PostgreSQL URL as it is (without a password), anything else a path."""
    try:
        return store_setting(text)
    except StoreError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _send(commands: Commands) -> None:
    command = commands.add_parser(
        "send",
        help="send APDUs to an ILL server and print its replies",
        description="Send APDUs lock-step (each reply read before the next APDU goes) and print"
        " every reply. Exit status as yaz-illclient's: 0 acknowledged, 7 error report, 6 wrong"
        " reply, 5 no reply, 4 no connection; with several APDUs the worst (4, 5, 6, 7, 0).",
    )
    command.add_argument(
        "address",
        type=_destination,
        metavar="HOST:PORT|URL",
        help="an ISO 10161 server, or an ISO 18626 peer's http(s) URL (XML files are POSTed)",
    )
    command.add_argument(
        "files", nargs="+", metavar="FILE", help="APDU or ISO 18626 XML files, - for stdin"
    )
    command.add_argument("--form", choices=FORMS, default="ber", help="input form")
    command.add_argument("--per-apdu", action="store_true", help="one connection per APDU")
    command.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"to connect, and for each reply (default {DEFAULT_TIMEOUT:g})",
    )
    command.add_argument("--json", action="store_true", help="print the replies in the JSON form")
    _iso18626_options(command)
    _runs(command, "send", "run_send")


def _destination(text: str) -> tuple[str, int] | str:
    """An ISO 18626 URL as it is, else ``host:port``."""
    if text.lower().startswith(("http://", "https://")):
        return text
    return _address(text)


def _address(text: str, *, any_port: bool = False) -> tuple[str, int]:
    """``host:port`` (an IPv6 host in brackets) as host and port; port 0 only with
    ``any_port``. For argparse: a bad one is a usage error."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    lowest = 0 if any_port else 1
    if not colon or not host or not port.isdigit() or not lowest <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _positive(text: str) -> int:
    """A whole number from 1 up; for argparse, anything else is a usage error."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 up")
    return int(text)


def _listen_address(text: str) -> tuple[str, int]:
    return _address(text, any_port=True)


#: The ISO 18626 schema versions ``isoill peer --protocol iso18626`` speaks, by option value.
ISO18626_VERSIONS = ("1.2", "2021")


#: The options of ``isoill peer`` that one protocol, or one ISO 18626 role, takes (by dest).
#: Those of the other are refused (:func:`peer_options_given`), so none is silently ignored;
#: hence no defaults here: the commands apply them.
PEER_OPTIONS = {
    "iso10161": ("symbol", "script", "close_after_answer"),
    "iso18626": ("role", "agency", "peer_url", "version", "delay", "timeout"),
    "supplier": ("scenario", "unknown"),
    "requester": (
        "peer_agency",
        "title",
        "author",
        "service_type",
        "note",
        "requests",
        "return_after",
    ),
}


def peer_options_given(args: argparse.Namespace, group: str) -> list[str]:
    """The options of ``group`` (:data:`PEER_OPTIONS`) given in ``args``, as written."""
    names = PEER_OPTIONS[group]
    return [
        "--" + name.replace("_", "-") for name in names if getattr(args, name) not in (None, False)
    ]


class _Protocol(argparse.Action):
    """``--protocol`` also chooses the module that runs ``isoill peer``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.run = ("peer18626", "run_peer") if values == "iso18626" else ("peer", "run_peer")


def _agency(text: str) -> str:
    """``TYPE:VALUE``, both parts non-empty; for argparse."""
    kind, colon, value = text.partition(":")
    if not colon or not kind.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not TYPE:VALUE (ISIL:DE-1, say)")
    return text


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text.split("/", 3)[2]) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 up")
    return seconds


def _peer(commands: Commands) -> None:
    command = commands.add_parser(
        "peer",
        help="run a simulated ILL peer that answers by script (ISO 10161, or ISO 18626)",
        description="Listen as a simulated ILL peer and print a line per exchange. ISO 10161"
        " (the default): listen as the peer SYMBOL, answer each APDU by the script (by default"
        " with a status-report) and print time, sender's address, type, transaction-id and"
        " answer. ISO 18626 (--protocol iso18626): play a supplier that answers Requests by"
        " scenario, or a requester that takes a loan to its end, over HTTP, and print time,"
        " direction, address, message, transaction and answer. Stops on SIGINT or SIGTERM"
        " (a requester also once every request it sent has ended).",
    )
    command.add_argument(
        "--protocol",
        choices=("iso10161", "iso18626"),
        default="iso10161",
        action=_Protocol,
        help="the protocol the peer speaks (default iso10161)",
    )
    command.add_argument(
        "--listen", required=True, type=_listen_address, metavar="HOST:PORT", help="port 0: any"
    )
    command.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="append every APDU received to FILE (BER); ISO 18626: every exchange, a JSON"
        " line each",
    )
    iso10161 = command.add_argument_group("ISO 10161")
    iso10161.add_argument("--symbol", help="this peer's library symbol (required)")
    iso10161.add_argument("--script", type=Path, metavar="FILE", help="answers by APDU type (TOML)")
    iso10161.add_argument(
        "--close-after-answer",
        action="store_true",
        help="close each connection after answering its first APDU (a per-APDU peer)",
    )
    iso18626 = command.add_argument_group("ISO 18626 (--protocol iso18626)")
    iso18626.add_argument("--role", choices=("supplier", "requester"), help="required")
    iso18626.add_argument(
        "--agency", type=_agency, metavar="TYPE:VALUE", help="this peer's agency id (required)"
    )
    iso18626.add_argument(
        "--peer-url",
        type=_url,
        metavar="URL",
        help="where the other side takes POSTs: a supplier's SAMs go there, a requester's"
        " Requests and RAMs (required)",
    )
    iso18626.add_argument("--version", choices=ISO18626_VERSIONS, help="schema (default 1.2)")
    iso18626.add_argument(
        "--delay",
        type=_seconds,
        metavar="SECONDS",
        help="before each message the peer sends of its own accord (default 0.1)",
    )
    iso18626.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="for each answer to what the peer sends (default 10)",
    )
    iso18626.add_argument(
        "--scenario",
        metavar="S",
        help="supplier: the scenario of a Request that names none (default LOANED; see"
        " docs/tools.md)",
    )
    iso18626.add_argument(
        "--unknown",
        choices=("ok", "error"),
        help="supplier: the answer to a RAM of an unknown transaction (default ok)",
    )
    iso18626.add_argument(
        "--peer-agency",
        type=_agency,
        metavar="TYPE:VALUE",
        help="requester: the supplier's agency id (required)",
    )
    iso18626.add_argument("--title", help="requester: the title asked for")
    iso18626.add_argument("--author", help="requester: its author")
    iso18626.add_argument(
        "--service-type",
        choices=("Loan", "Copy", "CopyOrLoan"),
        help="requester: default Loan",
    )
    iso18626.add_argument(
        "--note",
        help="requester: serviceInfo's note: MOCK:SCENARIO for the supplier, #RENEW#, #CANCEL#",
    )
    iso18626.add_argument(
        "--requests",
        type=Path,
        metavar="FILE",
        help="requester: send the [[request]] of this TOML file instead (docs/tools.md)",
    )
    iso18626.add_argument(
        "--return-after",
        type=_seconds,
        metavar="SECONDS",
        help="requester: how long it keeps a loan before ShippedReturn (default 1)",
    )
    _runs(command, "peer", "run_peer")


def _replay(commands: Commands) -> None:
    command = commands.add_parser("replay", help="replay a capture against a gateway and check")
    command.add_argument("capture", type=Path, metavar="CAPTURE", help="pcap, pcapng, BER or hex")
    command.add_argument("--to", required=True, metavar="HOST:PORT", help="the gateway")
    command.add_argument("--expect", type=Path, metavar="FILE", help="expectations (TOML)")
    command.add_argument("--timing", choices=("asis", "fast"), default="fast")
    command.add_argument("--form", choices=("auto", "ber", "hex", "pcap", "pcapng"), default="auto")
    command.add_argument("--port", type=int, help="only connections to this server port")
    command.add_argument("--stream", type=int, help="only this TCP stream (from 0)")
    command.add_argument("--timeout", type=float, default=30.0, help="seconds per reply")
    _runs(command, "replay", "run_replay")
