"""The Requests a simulated requester sends, from a TOML file (``isoill peer --requests``)::

    [[request]]
    title = "Dune"
    author = "Herbert, Frank"
    isbn = "9780441013593"
    service_type = "Loan"              # Loan (the default), Copy or CopyOrLoan
    note = "MOCK:LOANED_OVERDUE #RENEW#"
    record_id = "LOANED"               # supplierUniqueRecordId
    request_id = "req-1"               # requestingAgencyRequestId; else a new one
    email = "ill@example.org"          # deliver by e-mail (the supplier says sentVia Email),
    # postal = "Hauptstraße 1"         # or by post (Mail); neither: URL

Every key is optional; one the file does not know is refused, as is a value of the wrong
type, each problem on a line naming the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from isoill.tools.peer18626.messages import Address, ElectronicAddress, PostalAddress
from isoill.tools.peer18626.requester import Order

SERVICE_TYPES = ("Loan", "Copy", "CopyOrLoan")
_TEXT = ("title", "author", "isbn", "service_type", "note", "record_id", "request_id")
_KEYS = (*_TEXT, "email", "postal")


class OrdersError(Exception):
    """A requests file that cannot be used; one line per problem, each naming the file."""


def load(path: Path) -> list[Order]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise OrdersError(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise OrdersError(f"{path}: not UTF-8 text: {error}") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<requests>") -> list[Order]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise OrdersError(f"{source}: not TOML: {error}") from None
    problems = [f"{key!r} is not a [[request]] table" for key in document if key != "request"]
    tables = document.get("request", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append("request must be [[request]] tables")
        tables = []
    if not tables and not problems:
        problems.append("no [[request]]")
    orders = []
    for number, table in enumerate(tables, start=1):
        found = _problems(table)
        problems.extend(f"request {number}: {problem}" for problem in found)
        if not found:
            orders.append(_order(table))
    if problems:
        raise OrdersError("\n".join(f"{source}: {problem}" for problem in problems))
    return orders


def _problems(table: dict[str, object]) -> list[str]:
    problems = [f"unknown key {key!r}" for key in table if key not in _KEYS]
    problems += [
        f"{key} must be a string, got {value!r}"
        for key, value in table.items()
        if key in _KEYS and not isinstance(value, str)
    ]
    service = table.get("service_type", "Loan")
    if isinstance(service, str) and service not in SERVICE_TYPES:
        problems.append(f"service_type {service!r}: expected {', '.join(SERVICE_TYPES)}")
    if "email" in table and "postal" in table:
        problems.append("email and postal: give one delivery address")
    return problems


def _order(table: dict[str, object]) -> Order:
    text = {key: str(value) for key, value in table.items()}
    address: Address | None = None
    if "email" in text:
        address = ElectronicAddress("Email", text["email"])
    elif "postal" in text:
        address = PostalAddress(text["postal"])
    return Order(
        title=text.get("title"),
        author=text.get("author"),
        isbn=text.get("isbn"),
        record_id=text.get("record_id"),
        service_type=text.get("service_type", "Loan"),
        note=text.get("note"),
        request_id=text.get("request_id"),
        address=address,
    )
