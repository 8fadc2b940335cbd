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
"""

from __future__ import annotations

from pyasn1.type import char, namedtype, tag, univ

__all__ = ["External", "ExternalEncoding", "ObjectDescriptor"]


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
