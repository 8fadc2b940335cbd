# mypy: allow-subclassing-any
"""The X.208 (1988) EXTERNAL type and ObjectDescriptor, as pyasn1 classes.

pyasn1 ships no EXTERNAL type, yet ISO 10161 uses it for extension payloads,
responder-specific data, supplemental item descriptions and bibliographic
numbers. These classes follow the pre-1994 definition that the ILL module was
written against (not the later X.680 form with ``identification``)::

    EXTERNAL ::= [UNIVERSAL 8] IMPLICIT SEQUENCE {
        direct-reference      OBJECT IDENTIFIER OPTIONAL,
        indirect-reference    INTEGER OPTIONAL,
        data-value-descriptor ObjectDescriptor OPTIONAL,
        encoding              CHOICE {
            single-ASN1-type  [0] ANY,
            octet-aligned     [1] IMPLICIT OCTET STRING,
            arbitrary         [2] IMPLICIT BIT STRING
        }
    }

``single-ASN1-type`` carries an explicit ``[0]``: its value is the complete
encoding (tag, length and contents) of the embedded type, which the decoder
hands back as raw bytes for the caller to decode with the right spec.

pyasn1 0.6 cannot decode a *tagged* ANY sent with indefinite length (its
``AnyPayloadDecoder`` hands a bare ``bytes`` object to the enclosing decoder,
which then fails with ``AttributeError``), and for an untagged indefinite ANY it
drops the closing end-of-contents octets. YAZ uses indefinite lengths for every
constructed value over 127 bytes, so an EXTERNAL or extension item of that size
would not decode. :func:`ber_decode` is pyasn1's BER decoder with a corrected
ANY decoder; use it instead of ``pyasn1.codec.ber.decoder.decode`` for ILL data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyasn1 import error
from pyasn1.codec.ber import decoder
from pyasn1.type import char, namedtype, tag, tagmap, univ

__all__ = ["BER_TYPE_MAP", "External", "ExternalEncoding", "ObjectDescriptor", "ber_decode"]


# ObjectDescriptor ::= [UNIVERSAL 7] IMPLICIT GraphicString
class ObjectDescriptor(char.GraphicString):
    """Human-readable description of a data value (universal tag 7)."""

    tagSet = char.GraphicString.tagSet.tagImplicitly(
        tag.Tag(tag.tagClassUniversal, tag.tagFormatSimple, 7)
    )
    typeId = char.GraphicString.getTypeId()


# encoding CHOICE {
#     single-ASN1-type  [0] ANY,
#     octet-aligned     [1] IMPLICIT OCTET STRING,
#     arbitrary         [2] IMPLICIT BIT STRING
# }
class ExternalEncoding(univ.Choice):
    """The ``encoding`` alternative of EXTERNAL (anonymous in X.208)."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "single-ASN1-type",
            univ.Any().subtype(
                explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0)
            ),
        ),
        namedtype.NamedType(
            "octet-aligned",
            univ.OctetString().subtype(
                implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 1)
            ),
        ),
        namedtype.NamedType(
            "arbitrary",
            univ.BitString().subtype(
                implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatSimple, 2)
            ),
        ),
    )


# EXTERNAL ::= [UNIVERSAL 8] IMPLICIT SEQUENCE {
#     direct-reference      OBJECT IDENTIFIER OPTIONAL,
#     indirect-reference    INTEGER OPTIONAL,
#     data-value-descriptor ObjectDescriptor OPTIONAL,
#     encoding              CHOICE { ... }
# }
class External(univ.Sequence):
    """X.208 EXTERNAL: a value of some other abstract syntax, named by OID or integer."""

    tagSet = tag.initTagSet(tag.Tag(tag.tagClassUniversal, tag.tagFormatConstructed, 8))
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("direct-reference", univ.ObjectIdentifier()),
        namedtype.OptionalNamedType("indirect-reference", univ.Integer()),
        namedtype.OptionalNamedType("data-value-descriptor", ObjectDescriptor()),
        namedtype.NamedType("encoding", ExternalEncoding()),
    )


# --- BER decoding of indefinite-length ANY ----------------------------------------

_EOC = b"\x00\x00"


def _read(stream: Any, n: int) -> bytes:
    data: bytes = stream.read(n)
    if len(data) < n:
        raise error.SubstrateUnderrunError(f"{n} octets wanted, {len(data)} left")
    return data


def _read_tlv(stream: Any) -> bytes:
    """Read one complete BER element (nested indefinite lengths included) from ``stream``."""
    head = _read(stream, 1)
    if head[0] & 0x1F == 0x1F:  # high tag number form
        while True:
            octet = _read(stream, 1)
            head += octet
            if not octet[0] & 0x80:
                break
    first = _read(stream, 1)
    head += first
    if first[0] == 0x80:  # indefinite: elements up to and including end-of-contents
        while True:
            element = _read_tlv(stream)
            head += element
            if element == _EOC:
                return head
    length = first[0]
    if length & 0x80:
        octets = _read(stream, length & 0x7F)
        head += octets
        length = int.from_bytes(octets, "big")
    return head + _read(stream, length)


class _AnyDecoder(decoder.AnyPayloadDecoder):
    """pyasn1's ANY decoder with the indefinite-length case done right."""

    def indefLenValueDecoder(  # noqa: N802 - pyasn1 names it
        self,
        substrate: Any,
        asn1Spec: Any,  # noqa: N803
        tagSet: Any = None,  # noqa: N803
        length: Any = None,
        state: Any = None,
        decodeFun: Any = None,  # noqa: N803
        substrateFun: Any = None,  # noqa: N803
        **options: Any,
    ) -> Iterator[Any]:
        if substrateFun is not None:  # open-type machinery: leave it to pyasn1
            yield from super().indefLenValueDecoder(
                substrate, asn1Spec, tagSet, length, state, decodeFun, substrateFun, **options
            )
            return
        spec = asn1Spec
        if asn1Spec is None:
            tagged = False
        elif asn1Spec.__class__ is tagmap.TagMap:
            tagged = tagSet in asn1Spec
            spec = asn1Spec[tagSet] if tagged else None
        else:
            tagged = tagSet == asn1Spec.tagSet
        if tagged:
            # the value of a tagged ANY is what is inside the tag
            value = b""
        else:
            # an untagged ANY keeps its own header; re-read it
            end_of_header = substrate.tell()
            substrate.seek(substrate.markedPosition)
            value = _read(substrate, end_of_header - substrate.markedPosition)
            spec = None
        while True:
            element = _read_tlv(substrate)
            if element == _EOC:
                break
            value += element
        if not tagged:
            value += _EOC
        yield self._createComponent(spec, tagSet if tagged else None, value, **options)


#: pyasn1's BER type map with the corrected ANY decoder.
BER_TYPE_MAP: dict[Any, Any] = {**decoder.TYPE_MAP, univ.Any.typeId: _AnyDecoder()}


def ber_decode(substrate: bytes, asn1Spec: Any) -> tuple[Any, bytes]:  # noqa: N803
    """Decode one BER value like ``pyasn1.codec.ber.decoder.decode``; returns (value, rest)."""
    value, rest = decoder.decode(substrate, asn1Spec=asn1Spec, typeMap=BER_TYPE_MAP)
    return value, bytes(rest)
