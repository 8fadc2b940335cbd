"""The Prompt-1 credentials an APDU carries: a ``response`` of the Z39.50 Prompt-1 extension
(1.2.840.10003.8.1) in the APDU's extensions, with a userId and a password string, as OCLC
wants on the first ILL-Request of a connection (``yaz-illclient -o -u USER -p PASSWORD``).
Read with :func:`login_of`; :func:`login_extension` writes one, for the gateway's own login.
"""

from __future__ import annotations

from typing import NamedTuple

from isoill.asn1.ext.prompt1 import OID
from isoill.codec.encoder import encode_extension
from isoill.codec.models import (
    EnummeratedPrompt,
    Extension,
    External,
    ExternalEncoding,
    IllApdu,
    PromptId,
    PromptObject,
    PromptResponse,
    ResponseItem,
)
from isoill.codec.text import Text

USER_ID = 1  # PromptId enummeratedPrompt type userId(1)
PASSWORD = 2  # and password(2)
IDENTIFIER = 1  # the Extension's identifier yaz-illclient gives its Prompt-1


class Login(NamedTuple):
    user_id: str
    password: bytes  # as sent: compared byte for byte

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"Login(user_id={self.user_id!r})"


def login_of(apdu: IllApdu) -> Login | None:
    """The userId and password of the first Prompt-1 response in ``apdu`` that has both."""
    for extension in extensions_of(apdu):
        item = extension.item
        if not isinstance(item, External) or item.direct_reference != OID:
            continue
        prompt = item.encoding.single_asn1_type
        if isinstance(prompt, PromptObject) and prompt.response is not None:
            login = _login(prompt.response)
            if login is not None:
                return login
    return None


def login_extension(user_id: str, password: bytes) -> bytes:
    """BER of one Extension carrying ``user_id`` (written in UTF-8) and ``password`` as a
    Prompt-1 response, as ``yaz-illclient -o -u -p`` writes it: identifier 1, critical false,
    the userId prompt then the password prompt, each answer an InternationalString. The
    lengths are definite; yaz's are too while an element's contents fit in 127 octets (it
    writes longer constructed elements with indefinite lengths)."""
    answers = ((USER_ID, user_id.encode()), (PASSWORD, password))
    response = tuple(
        ResponseItem(
            promptid=PromptId(enummeratedprompt=EnummeratedPrompt(type=prompt)),
            promptresponse=PromptResponse(string=Text(answer)),
        )
        for prompt, answer in answers
    )
    item = External(
        direct_reference=OID,
        encoding=ExternalEncoding(single_asn1_type=PromptObject(response=response)),
    )
    return encode_extension(Extension(identifier=IDENTIFIER, critical=False, item=item))


def extensions_of(apdu: IllApdu) -> tuple[Extension, ...]:
    """The extensions of any ILL-APDU: each type has one ``...-extensions`` component."""
    for name in type(apdu).model_fields:
        if name.endswith("_extensions"):
            found: tuple[Extension, ...] | None = getattr(apdu, name)
            return found or ()
    return ()


def _login(response: tuple[ResponseItem, ...]) -> Login | None:
    strings: dict[int, bytes] = {}
    for item in response:
        prompt = item.promptid.enummeratedprompt
        answer = item.promptresponse.string
        if prompt is not None and answer is not None:
            strings.setdefault(prompt.type, answer.raw)
    if USER_ID not in strings or PASSWORD not in strings:
        return None
    return Login(strings[USER_ID].decode("utf-8", "replace"), strings[PASSWORD])
