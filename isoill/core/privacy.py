"""What a target may see of an APDU: the sender's Prompt-1 login is the gateway's to read, and
the patron's client-id goes only to targets that do not withhold it. Both are cut out of the
APDU's own bytes (:mod:`isoill.codec.splice`); nothing else is re-encoded."""

from __future__ import annotations

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec.decoder import decode
from isoill.codec.models import External, IllApdu, ILLRequest
from isoill.codec.splice import with_extension, without_extensions, without_field
from isoill.ill.prompt import extensions_of


def without_login(apdu: IllApdu, ber: bytes) -> tuple[IllApdu, bytes]:
    """The APDU without its Prompt-1 extensions (userId and password in clear), before the
    store, the capture or a target sees it; decoded again, so that what the rules and the
    reports read is what is kept. The decoded extensions say whether there is one: most
    APDUs carry none, and their bytes are not walked again."""
    if not any(
        isinstance(extension.item, External) and extension.item.direct_reference == PROMPT_1
        for extension in extensions_of(apdu)
    ):
        return apdu, ber
    cut = without_extensions(ber, PROMPT_1)
    return decode(cut), cut


def withheld(ber: bytes, apdu: IllApdu, withhold_client_id: bool) -> bytes | None:
    """An ILL-Request's bytes without its client-id (the patron), for a target that withholds
    it; ``None`` when there is nothing to withhold."""
    if not withhold_client_id or not isinstance(apdu, ILLRequest) or apdu.client_id is None:
        return None
    return without_field(ber, "client-id")


def with_gateway_login(ber: bytes, login: bytes) -> bytes:
    """The stored APDU as it goes to a target that wants the gateway's own login (``login``:
    the Extension's bytes): with it, in place of any other Prompt-1."""
    return with_extension(without_extensions(ber, PROMPT_1), login)


def scrubbed(ber: bytes, forward_sender_login: bool) -> bytes | None:
    """For a target that takes the sender's Prompt-1 login: the APDU as it is kept once
    delivered, without it (``None``: kept as it is)."""
    if not forward_sender_login:
        return None
    cut = without_extensions(ber, PROMPT_1)
    return None if cut == ber else cut
