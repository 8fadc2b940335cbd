"""ASN.1 module ``Internal-Reference-Number``, OID 1.0.10161.13.8.

Source: ``reference/asn1/ill-extensions.asn``: the module identifier ``{1 0 10161 13 8}``
gives the OID. The requester's and responder's local references for a transaction. No
tagging default in the header: EXPLICIT unless marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, univ

from isoill.asn1.ext._tagging import explicit, implicit_constructed
from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "InternalReference", "InternalReferenceType"]

OID = "1.0.10161.13.8"


# Internal-Reference-Type ::= SEQUENCE {
#     reference-authority    [0]  ILL-String OPTIONAL,
#     -- identifier of the domain of the service-user
#     internal-reference      [1] ILL-String
#     -- allocated by the service-user, semantics defined only in
#     -- the domain of that service-user.
#     }
class InternalReferenceType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "reference-authority", ILLString().subtype(explicitTag=explicit(0))
        ),
        namedtype.NamedType("internal-reference", ILLString().subtype(explicitTag=explicit(1))),
    )


# Internal-Reference ::= SEQUENCE {
#     requester-reference   [0]  IMPLICIT Internal-Reference-Type
# OPTIONAL,
#     responder-reference   [1]  IMPLICIT Internal-Reference-Type
# OPTIONAL
#     }
class InternalReference(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "requester-reference",
            InternalReferenceType().subtype(implicitTag=implicit_constructed(0)),
        ),
        namedtype.OptionalNamedType(
            "responder-reference",
            InternalReferenceType().subtype(implicitTag=implicit_constructed(1)),
        ),
    )
