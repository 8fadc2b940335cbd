"""ASN.1 module ``OCLC-Prism-ILL-Error``, OID 1.0.10161.13.1.

Source: ``reference/asn1/ill-extensions.asn`` (OCLC's error detail carried in a
Status-Or-Error-Report). The module header names no tagging default, so tags are EXPLICIT
unless marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit
from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "OCLCPrismIllError"]

OID = "1.0.10161.13.1"


# OCLC-Prism-Ill-Error ::= SEQUENCE OF SEQUENCE{
#       prism-Ill-Field-Id     [0]  IMPLICIT INTEGER  OPTIONAL,
#       prism-Ill-Error-Code   [1]  IMPLICIT ENUMERATED{
#                                    missing-required-field(1),
#                                    invalid-field-length(2),
#                                    invalid-field-id(3),
#                                    invalid-data-format(4),
#                                    invalid-institution-symbol(5),
#                                    resource-limitation(6),
#                                    unknown-result(7)
#                                   } OPTIONAL,
#      prism-Ill-Error-Text   [2]  ILL-String OPTIONAL }
class OCLCPrismIllError(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.OptionalNamedType(
                "prism-Ill-Field-Id", univ.Integer().subtype(implicitTag=implicit(0))
            ),
            namedtype.OptionalNamedType(
                "prism-Ill-Error-Code",
                univ.Enumerated(
                    namedValues=namedval.NamedValues(
                        ("missing-required-field", 1),
                        ("invalid-field-length", 2),
                        ("invalid-field-id", 3),
                        ("invalid-data-format", 4),
                        ("invalid-institution-symbol", 5),
                        ("resource-limitation", 6),
                        ("unknown-result", 7),
                    )
                ).subtype(implicitTag=implicit(1)),
            ),
            namedtype.OptionalNamedType(
                "prism-Ill-Error-Text", ILLString().subtype(explicitTag=explicit(2))
            ),
        )
    )
