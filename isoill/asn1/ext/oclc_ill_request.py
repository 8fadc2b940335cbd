"""ASN.1 module ``OCLCILLRequestExtension``, OID 1.0.10161.13.2.

Sources: ``reference/asn1/ill-extensions.asn`` (module header ``EXPLICIT TAGS``, every tag
also written ``EXPLICIT``) and ``reference/asn1/oclc-ill-req-ext.asn`` (YAZ's copy, no tagging
default and therefore EXPLICIT as well). Both texts define the same type with the same tags,
so it is written once, here. The ``SystemNo`` type that YAZ's file adds after it has its own
OID and lives in :mod:`isoill.asn1.ext.system_no`.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, univ

from isoill.asn1.ext._tagging import explicit
from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "OCLCILLRequestExtension"]

OID = "1.0.10161.13.2"


# OCLCILLRequestExtension ::= SEQUENCE {
#     clientDepartment  [0] EXPLICIT ILL-String OPTIONAL,
#     paymentMethod     [1] EXPLICIT ILL-String OPTIONAL,
#     uniformTitle      [2] EXPLICIT ILL-String OPTIONAL,
#     dissertation      [3] EXPLICIT ILL-String OPTIONAL,
#     issueNumber       [4] EXPLICIT ILL-String OPTIONAL,
#     volume            [5] EXPLICIT ILL-String OPTIONAL,
#     affiliations      [6] EXPLICIT ILL-String OPTIONAL,
#     source            [7] EXPLICIT ILL-String OPTIONAL
# }
class OCLCILLRequestExtension(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "clientDepartment", ILLString().subtype(explicitTag=explicit(0))
        ),
        namedtype.OptionalNamedType("paymentMethod", ILLString().subtype(explicitTag=explicit(1))),
        namedtype.OptionalNamedType("uniformTitle", ILLString().subtype(explicitTag=explicit(2))),
        namedtype.OptionalNamedType("dissertation", ILLString().subtype(explicitTag=explicit(3))),
        namedtype.OptionalNamedType("issueNumber", ILLString().subtype(explicitTag=explicit(4))),
        namedtype.OptionalNamedType("volume", ILLString().subtype(explicitTag=explicit(5))),
        namedtype.OptionalNamedType("affiliations", ILLString().subtype(explicitTag=explicit(6))),
        namedtype.OptionalNamedType("source", ILLString().subtype(explicitTag=explicit(7))),
    )
