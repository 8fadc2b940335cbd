"""ISO 18626 XML for the commands that read APDU files (``isoill decode``, ``isoill send``):
a file whose first character is ``<`` is one ISO 18626 message (an ISO 10161 APDU never
starts with that byte: it would be a universal tag), read by the wire layer (validated
against the schema ``--version`` names, else the one its ``version`` attribute points to) and
mapped to the APDU it is for the gateway (:func:`isoill.bridge.inbound.inbound`), its
zone-less times read in ``--timezone``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from isoill.bridge import forms
from isoill.bridge.inbound import inbound
from isoill.bridge.messages import Confirmation
from isoill.bridge.settings import PeerSettings18626
from isoill.cli.common import BadInput
from isoill.codec.models import IllApdu
from isoill.iso18626 import wire
from isoill.iso18626.errors import Refusal
from isoill.iso18626.messages import Version

#: ``--version``'s choices, as the routes spell them.
VERSIONS = {"1.2": Version.V1_2, "2021": Version.V2021}


def is_xml(data: bytes) -> bool:
    return data.lstrip()[:1] == b"<"


@dataclass(frozen=True)
class Read18626:
    """One ISO 18626 message read: the wire layer's verdict, and the APDU it maps to (none
    for a Confirmation, which answers a message rather than being one)."""

    parsed: wire.Parsed
    apdu: IllApdu | None
    confirmation: Confirmation | None

    def described(self) -> dict[str, Any]:
        """What the message is, for JSON and for a line of text."""
        shown: dict[str, Any] = {
            "message": self.parsed.kind.value,
            "schema": self.parsed.version.value,
            "version": self.parsed.declared_version,
        }
        confirmation = self.confirmation
        if confirmation is not None:
            shown["status"] = "OK" if confirmation.ok else "ERROR"
            shown["errors"] = [
                {"type": str(error.type), "value": error.value} for error in confirmation.errors
            ]
        return shown


def read(name: str, data: bytes, version: str | None, timezone: str) -> Read18626:
    """File ``name``'s message; :class:`BadInput` with the wire layer's or the mapping's
    reason when it is not one the gateway takes."""
    try:
        settings = PeerSettings18626(
            version=VERSIONS[version] if version else Version.V1_2, timezone=timezone
        )
    except ValueError as error:
        raise BadInput(f"--timezone: {error}") from None
    try:
        parsed = wire.parse(data, version=VERSIONS[version] if version else None)
    except Refusal as refusal:
        raise BadInput(f"{name}: {refusal.error_type}: {refusal.error_value}") from None
    settings = PeerSettings18626(version=parsed.version, timezone=timezone)
    try:
        message = forms.read(parsed.model, settings.where)
    except ValueError as error:
        raise BadInput(f"{name}: {error}") from None
    if isinstance(message, Confirmation):
        return Read18626(parsed, None, message)
    found = inbound(parsed, settings)
    if isinstance(found, Refusal):
        raise BadInput(f"{name}: {found.error_type}: {found.error_value}")
    return Read18626(parsed, found.apdu, None)
