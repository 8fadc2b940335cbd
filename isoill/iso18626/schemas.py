"""The two ISO 18626 schemas, loaded once from package data with the network off, and what
their verdicts become: nothing, or a :class:`~isoill.iso18626.errors.Refusal`.

The first error libxml2 reports decides the errorType:

- a value the schema refuses (an enumeration, a datatype such as xs:dateTime, a facet):
  UnrecognisedDataValue;
- an element the schema does not declare anywhere, or an attribute not allowed where it
  stands: UnrecognisedDataElement;
- anything else (a missing element or attribute, a known element out of its place, text
  where elements belong): BadlyFormedMessage.

The errorValue names the schema, the element by its path (ISO 18626's elements by local
name, any other with its namespace, never by the sender's prefixes) and the line, with
libxml2's reason. Validation is cheap next to building the models (a few
tens of µs for a 5 KB Request); a schema object is not shared between threads.
"""

from __future__ import annotations

import re
from importlib import resources

from lxml import etree

from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.messages import NAMESPACE, MessageKind, Version

FILES = {
    Version.V1_2: "ISO-18626-v1_2.xsd",
    Version.V2021: "ISO-18626-2021-2.xsd",
}

_XS = "{http://www.w3.org/2001/XMLSchema}"

_VALUE_ERRORS = frozenset(
    f"SCHEMAV_CVC_{name}"
    for name in (
        "DATATYPE_VALID_1_2_1",
        "DATATYPE_VALID_1_2_2",
        "DATATYPE_VALID_1_2_3",
        "ENUMERATION_VALID",
        "FACET_VALID",
        "FRACTIONDIGITS_VALID",
        "LENGTH_VALID",
        "MAXEXCLUSIVE_VALID",
        "MAXINCLUSIVE_VALID",
        "MAXLENGTH_VALID",
        "MINEXCLUSIVE_VALID",
        "MININCLUSIVE_VALID",
        "MINLENGTH_VALID",
        "PATTERN_VALID",
        "TOTALDIGITS_VALID",
    )
)
_ATTRIBUTE_NOT_ALLOWED = frozenset(
    {"SCHEMAV_CVC_COMPLEX_TYPE_3_2_1", "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2", "SCHEMAV_CVC_TYPE_3_1_1"}
)
_NOT_EXPECTED = "This element is not expected"

_SUBJECT = re.compile(r"^Element '(?P<element>[^']*)'(?:, attribute '[^']*')?: ")
_PREFIX = re.compile(r"(?<=/)[^/:\[\]]+:")


class Schema:
    """One schema version: the compiled XSD and the names of every element it declares."""

    def __init__(self, version: Version) -> None:
        source = resources.files(__package__) / "schemas" / FILES[version]
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        document = etree.fromstring(source.read_bytes(), parser)
        self.version = version
        self.xsd = etree.XMLSchema(document)
        self.elements = frozenset(
            name for node in document.iter(f"{_XS}element") if (name := node.get("name"))
        )

    def first_error(self, root: etree._Element) -> etree._LogEntry | None:
        """None if ``root`` is valid, else the first error the schema reports."""
        if self.xsd.validate(root):
            return None
        return self.xsd.error_log[0]

    def error_type(self, error: etree._LogEntry) -> ErrorType:
        if error.type_name in _VALUE_ERRORS:
            return ErrorType.UNRECOGNISED_DATA_VALUE
        if error.type_name in _ATTRIBUTE_NOT_ALLOWED:
            return ErrorType.UNRECOGNISED_DATA_ELEMENT
        if _NOT_EXPECTED in error.message and not self._declares(error.message):
            return ErrorType.UNRECOGNISED_DATA_ELEMENT
        return ErrorType.BADLY_FORMED_MESSAGE

    def _declares(self, message: str) -> bool:
        subject = _SUBJECT.match(message)
        if subject is None:
            return False
        name = etree.QName(subject["element"])
        return name.namespace == NAMESPACE and name.localname in self.elements

    def describe(self, error: etree._LogEntry, root: etree._Element) -> str:
        """``error`` for a peer to read: where, and why, against which schema."""
        reason = _SUBJECT.sub("", error.message).replace(f"{{{NAMESPACE}}}", "")
        return f"not valid ISO 18626 {self.version}: {_where(error, root)}: {reason}"

    def check(self, root: etree._Element, kind: MessageKind | None) -> None:
        """Return if ``root`` is valid; else raise the :class:`Refusal` its first error means."""
        error = self.first_error(root)
        if error is not None:
            raise Refusal(
                self.error_type(error), self.describe(error, root), kind=kind, line=error.line
            )


def _where(error: etree._LogEntry, root: etree._Element) -> str:
    """The element ``error`` is about, as a path of names, and its line.

    libxml2's own path uses the sender's prefixes, or ``*`` for a default namespace; the
    element is found again by its name and line instead. A tree built in memory (no lines)
    keeps libxml2's path, prefixes cut off.
    """
    line = f" (line {error.line})" if error.line > 0 else ""
    subject = _SUBJECT.match(error.message)
    if subject is not None and line:
        for element in root.iter(subject["element"]):
            if element.sourceline == error.line:
                names = [_name(node) for node in element.iterancestors()]
                names.reverse()
                return "/" + "/".join([*names, _name(element)]) + line
    return (_PREFIX.sub("", error.path or "") or "the message") + line


def _name(element: etree._Element) -> str:
    """An ISO 18626 element's local name; any other with its namespace, ``{urn:x}name``."""
    name = etree.QName(element)
    return name.localname if name.namespace == NAMESPACE else name.text


#: Both schemas, compiled once when the wire layer is first imported.
SCHEMAS = {version: Schema(version) for version in Version}
