"""ISO 18626 messages from POST bodies and back: a hardened parse, validation against the
schema the peer speaks, the generated models; and models to bytes that validate. No I/O.

What :func:`parse` promises, in the order it checks:

1. A body over ``max_size`` bytes is refused before anything reads it.
2. Text must be UTF-8 (ISO 18626 §5.2): invalid UTF-8 is refused, and an ``encoding`` the
   XML declaration names otherwise is overridden, never followed.
3. A DOCTYPE is refused outright, so no entity is ever declared: nothing is expanded (no
   billion laughs), no file or URL is read (no external entities). The parser also resolves
   no entities, loads no DTD, has the network off, and keeps libxml2's limits (``huge_tree``
   off: 256 levels of nesting at most).
4. The root must be ``ISO18626Message`` in the ISO 18626 namespace, matched by namespace and
   local name, never by prefix. A bare message (``<request>`` as the root, which both schemas
   would accept and some peers send) is refused: without the envelope there is no ``version``,
   and nothing says which schema it follows.
5. The message is validated against one schema: the caller's (the peer's configured version)
   if given, else the one its ``version`` attribute points to
   (:func:`~isoill.iso18626.messages.version_for`). No fallback to the other schema: a peer
   that speaks 2021 and sends v1.2 is told so.

Every refusal is a :class:`~isoill.iso18626.errors.Refusal`, never another exception.

:func:`serialise` writes UTF-8 with the one prefix ``ill:`` (``ill:version``, ``ill:scheme``
qualified as the schemas demand), refuses a date-time without a time zone (peers parse them
as zoned values), and validates what it wrote against the model's own schema.
"""

from __future__ import annotations

import dataclasses
import re
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree
from xsdata.exceptions import ConverterError, ParserError
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.parsers.handlers import LxmlEventHandler
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.formats.dataclass.serializers.tree import TreeSerializer
from xsdata.models.datatype import XmlDateTime

from isoill.iso18626 import v1_2, v2021
from isoill.iso18626.errors import ErrorType, Refusal, bounded
from isoill.iso18626.messages import ENVELOPE, NAMESPACE, MessageKind, Version, version_for
from isoill.iso18626.schemas import SCHEMAS

#: The largest body :func:`parse` reads by default (the HTTP layer limits it too). A full
#: Request is about 5 KB.
MAX_SIZE = 1024 * 1024

#: The prefix :func:`serialise` writes for the ISO 18626 namespace.
PREFIX = "ill"

Message = v1_2.Iso18626Message | v2021.Iso18626Message

_KINDS = {kind.value: kind for kind in MessageKind}
_VERSION = f"{{{NAMESPACE}}}version"
_SECURITY_CODE = f"{{{NAMESPACE}}}securityCode"
_AUTHENTICATION = f"{{{NAMESPACE}}}requestingAgencyAuthentication"

_PARSER = etree.XMLParser(
    encoding="utf-8",
    resolve_entities=False,
    load_dtd=False,
    dtd_validation=False,
    no_network=True,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)
# The gateway's own stored documents: nothing resolved, nothing fetched all the same.
_OWN = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# What may stand before a DOCTYPE: an XML declaration or other processing instructions,
# comments, white space. Matched one item at a time (no nested repetition to backtrack).
_PROLOG = re.compile(rb"(?:[ \t\r\n]|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_BOM = b"\xef\xbb\xbf"

_CONTEXT = XmlContext()
_PARSER_CONFIG = ParserConfig(fail_on_unknown_properties=True, fail_on_converter_warnings=True)
_SERIALIZER_CONFIG = SerializerConfig()


class NotSerialisable(ValueError):
    """A model that would not make a valid message (isoill's fault, not a peer's)."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """A message accepted by :func:`parse`: which one, the schema it was validated against,
    the ``version`` it declared (as sent), the generated model of it, and the document as
    the store may keep it (``kept``: the body, without any ``securityCode``)."""

    kind: MessageKind
    version: Version
    declared_version: str
    model: Message
    kept: bytes


def parse(body: bytes, *, version: Version | None = None, max_size: int = MAX_SIZE) -> Parsed:
    """The message in ``body``, validated against ``version`` (the peer's, when configured)
    or the schema its ``version`` attribute points to.

    Raises :class:`Refusal` (and nothing else) for a body that is not a valid message.
    """
    if len(body) > max_size:
        raise Refusal(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"the message is {len(body)} bytes, over the limit of {max_size}",
        )
    _check_utf8(body)
    _refuse_doctype(body)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as error:
        raise Refusal(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"not well-formed XML (line {error.lineno}): {' '.join(error.msg.split())}",
            line=error.lineno,
        ) from None
    kind = _kind(root)
    declared = root.get(_VERSION)
    chosen = version or version_for(declared)
    SCHEMAS[chosen].check(root, kind)
    assert kind is not None and declared is not None  # the schema demands both
    kept = _without_security_codes(root, body)
    parser = XmlParser(config=_PARSER_CONFIG, context=_CONTEXT, handler=LxmlEventHandler)
    try:
        # (xsdata's parse consumes the tree: it clears each element once read)
        model: Message = (
            parser.parse(root, v1_2.Iso18626Message)
            if chosen is Version.V1_2
            else parser.parse(root, v2021.Iso18626Message)
        )
    except (ParserError, ConverterError) as error:
        # a value the schema allows but Python cannot hold (a year beyond 9999, say)
        raise Refusal(
            ErrorType.UNRECOGNISED_DATA_VALUE, f"{kind}: {bounded(str(error))}", kind=kind
        ) from None
    return Parsed(kind=kind, version=chosen, declared_version=declared, model=model, kept=kept)


def _without_security_codes(root: etree._Element, body: bytes) -> bytes:
    """``body`` without the ``securityCode`` of its ``requestingAgencyAuthentication``: a
    password, which is checked and never stored (SECURITY.md). The element is optional in
    both schemas, so what is kept stays valid; a body without one is kept as it came."""
    if next(root.iter(_SECURITY_CODE), None) is None:
        return body
    copy = deepcopy(root)
    for code in list(copy.iter(_SECURITY_CODE)):
        parent = code.getparent()
        assert parent is not None  # never the root: the schema says where it stands
        parent.remove(code)
    return etree.tostring(copy, encoding="UTF-8", xml_declaration=True)


def own_kind(document: bytes) -> MessageKind:
    """Which message ``document`` (one of the gateway's own) is: its envelope's child's name."""
    root = etree.fromstring(document, _OWN)
    return MessageKind(etree.QName(root[0]).localname)


def with_security_code(document: bytes, code: str) -> bytes:
    """``document`` (one of the gateway's own, as the store keeps it: without a
    ``securityCode``) with ``code`` as its ``requestingAgencyAuthentication``'s
    ``securityCode``, added at delivery so that the password is never stored. A document
    without that element (the peer had no credentials when the message was accepted) is
    sent as it is kept."""
    root = etree.fromstring(document, _OWN)
    authentication = next(root.iter(_AUTHENTICATION), None)
    if authentication is None:
        return document
    for stale in list(authentication.iter(_SECURITY_CODE)):
        authentication.remove(stale)
    # securityCode is the last of the element's sequence (accountId?, securityCode?).
    etree.SubElement(authentication, _SECURITY_CODE).text = code
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def serialise(model: Message) -> bytes:
    """``model`` as a UTF-8 document, valid against its schema.

    Raises :class:`NotSerialisable` for a date-time without a time zone, or for a model the
    schema refuses (a required element left empty, say).
    """
    unzoned = _unzoned(model, "ISO18626Message")
    if unzoned is not None:
        raise NotSerialisable(f"{unzoned}: a date-time without a time zone")
    version = Version.V1_2 if isinstance(model, v1_2.Iso18626Message) else Version.V2021
    serializer = TreeSerializer(config=_SERIALIZER_CONFIG, context=_CONTEXT)
    tree = serializer.render(model, ns_map={PREFIX: NAMESPACE})
    schema, root = SCHEMAS[version], tree.getroot()
    error = schema.first_error(root)
    if error is not None:
        raise NotSerialisable(schema.describe(error, root))
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True)


def _check_utf8(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        raise Refusal(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"not UTF-8 (line {line}, byte {error.start})",
            line=line,
        ) from None


def _refuse_doctype(body: bytes) -> None:
    start = len(_BOM) if body.startswith(_BOM) else 0
    prolog = _PROLOG.match(body, start)
    at = prolog.end() if prolog else start
    if body.startswith(b"<!DOCTYPE", at):
        line = body.count(b"\n", 0, at) + 1
        raise Refusal(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"a DOCTYPE is not accepted (line {line}): ISO 18626 messages declare no DTD",
            line=line,
        )


def _kind(root: etree._Element) -> MessageKind | None:
    """The message inside the envelope; refuses a root that is not the envelope."""
    name = etree.QName(root)
    if name.namespace != NAMESPACE:
        raise Refusal(
            ErrorType.BADLY_FORMED_MESSAGE,
            f"the root element {bounded(name.text, 120)} is not ISO 18626's {ENVELOPE}",
            line=root.sourceline,
        )
    if name.localname != ENVELOPE:
        bare = _KINDS.get(name.localname)
        reason = (
            f"a bare {bare} is not accepted: send it inside {ENVELOPE}, whose version says "
            "which schema it follows"
            if bare
            else f"the root element {bounded(name.localname, 120)} is not {ENVELOPE}"
        )
        raise Refusal(ErrorType.BADLY_FORMED_MESSAGE, reason, kind=bare, line=root.sourceline)
    child = next(iter(root), None)
    if child is None:
        return None
    inner = etree.QName(child)
    return _KINDS.get(inner.localname) if inner.namespace == NAMESPACE else None


def _unzoned(value: object, path: str) -> str | None:
    """The path to the first date-time in ``value`` without a time zone, if any."""
    if isinstance(value, XmlDateTime):
        return path if value.offset is None else None
    if isinstance(value, tuple):
        for index, item in enumerate(value):
            found = _unzoned(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            found = _unzoned(getattr(value, field.name), f"{path}.{field.name}")
            if found is not None:
                return found
    return None
