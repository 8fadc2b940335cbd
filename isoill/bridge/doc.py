"""The mapping as markdown, made from the mapping's own tables, for docs/iso18626.md (a test
keeps that copy equal to :func:`markdown`): so what the documentation says each message
becomes is what the code does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from isoill.bridge import as_v1_2
from isoill.bridge.codes import TABLES
from isoill.bridge.confirmations import ID_WORDS, INTAKE_ERRORS, RECEIVED_ERRORS
from isoill.bridge.inbound import ACTIONS, ANSWERS, RESHARE, STATUSES, Row
from isoill.bridge.outbound import FROM_REQUESTER, FROM_RESPONDER
from isoill.bridge.request import FIELDS, LOST_IN, LOST_OUT, TEXT_FIELDS

__all__ = ["HEADING", "markdown"]

#: The heading the generated part begins with.
HEADING = "### Generated from the mapping's tables"


def markdown() -> str:
    parts = [
        HEADING,
        "Made by `isoill.bridge.doc.markdown()` from the tables the mapping reads; "
        "`tests/bridge/test_bridge_doc.py` keeps this copy equal to it.",
        _outbound(),
        _inbound(),
        _request(),
        "#### Code lists\n\nEach table is read both ways: out, a 10161 value takes its row "
        "(or the default, naming the 10161 value in the note); in, an 18626 value its row, "
        "compared without case (or the default, naming the 18626 value in the note).",
        *(table.markdown().rstrip() for table in TABLES),
        _confirmations(),
        "#### What v1.2 cannot carry\n\n" + _bullets(as_v1_2.DROPPED),
    ]
    return "\n\n".join(part.rstrip() for part in parts) + "\n"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _bullets(items: tuple[str, ...]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _outbound() -> str:
    header = ("APDU", "ISO 18626 message", "fields", "lost")
    requester = [(name, r.message, r.how, r.lost) for name, r in FROM_REQUESTER.items()]
    responder = [(name, r.message, r.how, r.lost) for name, r in FROM_RESPONDER.items()]
    return (
        "#### ISO 10161 to ISO 18626\n\n"
        "What a requester sends, to an ISO 18626 supplier:\n\n"
        + _table(header, requester)
        + "\n\nWhat a responder sends, to an ISO 18626 requester (every SAM states the status; "
        "its reasonForMessage is the answer to the open question, Notification for a message "
        "that only says something, RequestResponse for the first answer, StatusChange after "
        "it):\n\n" + _table(header, responder)
    )


def _in_rows(rows: Mapping[str, Row]) -> list[tuple[str, ...]]:
    return [(when, f"{row.apdu} {row.variant}".strip(), row.how) for when, row in rows.items()]


def _inbound() -> str:
    header = ("ISO 18626", "APDU", "fields")
    reshare = {f"ReShare: {name}": row for name, row in RESHARE.items()}
    actions = {f"RAM {action}": row for action, row in ACTIONS.items()}
    answers = {f"SAM reason {reason}": row for reason, row in ANSWERS.items()}
    statuses = {f"SAM status {status}": row for status, row in STATUSES.items()}
    return (
        "#### ISO 18626 to ISO 10161\n\n"
        "A Request is an ILL-Request (the field table below). A requesting agency message by "
        "its action; a supplying agency message by its reason when that answers a question "
        "or only notifies, else by its status; the ReShare note specials first, for a peer "
        "that uses them:\n\n" + _table(header, _in_rows(reshare | actions | answers | statuses))
    )


def _request() -> str:
    text = [
        (f"item-id.{ours.replace('_', '-')}", f"bibliographicInfo/{_camel(theirs)}", "as written")
        for ours, theirs in TEXT_FIELDS
    ]
    rows = [(f.iso10161, f.iso18626, f.how) for f in FIELDS]
    return (
        "#### ILL-Request and Request\n\n"
        + _table(("ILL-Request", "Request", "how"), rows[:3] + text + rows[3:])
        + "\n\nLost coming in (what a Request has that the ILL-Request does not):\n\n"
        + _bullets(LOST_IN)
        + "\n\nLost going out (what an ILL-Request has that the Request does not):\n\n"
        + _bullets(LOST_OUT)
    )


def _confirmations() -> str:
    valued = {alternative for alternative, value in INTAKE_ERRORS if value is not None}
    intake = [
        (
            f"{alternative} {value}"
            if value
            else f"{alternative} (any other)"
            if alternative in valued
            else alternative,
            str(kind)
            if kind is not None
            else "UnsupportedActionType (Request, RAM), UnsupportedReasonForMessageType (SAM)",
        )
        for (alternative, value), kind in INTAKE_ERRORS.items()
    ]
    received = [
        (str(kind), f"{source.asn1_name} {alternative} {value}")
        for kind, (source, alternative, value) in RECEIVED_ERRORS.items()
    ]
    words = [
        (
            ", ".join(repr(word) for word in found),
            f"provider transaction-id-problem {problem.asn1_name}",
        )
        for found, problem in ID_WORDS
    ]
    return (
        "#### Confirmations\n\n"
        "Intake's acknowledgement is OK. A refusal is ERROR, its errorType by the "
        "error-report:\n\n"
        + _table(("error-report", "errorType"), intake)
        + "\n\nAn ERROR Confirmation from a target is an error-report for the sender of the "
        "APDU delivered: by errorValue first, when it says the request id is taken or "
        "unknown, then by errorType; the note quotes the errorType and errorValue:\n\n"
        + _table(("errorValue contains", "error-report"), words)
        + "\n\n"
        + _table(("errorType", "error-report"), received)
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
