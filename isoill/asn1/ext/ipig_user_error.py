"""ASN.1 module ``IPIG-Additional-User-Error-Information``, OID 1.0.10161.13.6.

Source: ``reference/asn1/ill-extensions.asn``. Detail for a Status-Or-Error-Report user
error: which element was truncated, missing, too long or not understood, named by a path
such as ``ILL-REQUEST.item-id.title``. No tagging default in the header: EXPLICIT unless
marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, univ

from isoill.asn1.ext._tagging import explicit, implicit_constructed
from isoill.asn1.ill9702 import ILLString

__all__ = [
    "OID",
    "AdditionalUserErrorReportInfo",
    "ElementTruncated",
    "Identifier",
    "UnrecognizedData",
    "UnsupportedFieldLength",
]

OID = "1.0.10161.13.6"


# Identifier ::= ILL-String
# -- ILL-String should be formatted as follows:
# -- APDU-identifier[.identifier.[identifier...]]
# -- ILL-REQUEST.item-id.title
class Identifier(ILLString):
    pass


# Element-Truncated ::= SEQUENCE {
# 	element		[0]	Identifier,
# 	truncated-value	[1]	ILL-String
# 	}
class ElementTruncated(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("element", Identifier().subtype(explicitTag=explicit(0))),
        namedtype.NamedType("truncated-value", ILLString().subtype(explicitTag=explicit(1))),
    )


# Unsupported-Field-Length ::= SEQUENCE {
# 	element		[0]	Identifier,
# 	min-length	[1]	INTEGER OPTIONAL,
# 	max-length	[2]	INTEGER OPTIONAL
# 	}
class UnsupportedFieldLength(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("element", Identifier().subtype(explicitTag=explicit(0))),
        namedtype.OptionalNamedType("min-length", univ.Integer().subtype(explicitTag=explicit(1))),
        namedtype.OptionalNamedType("max-length", univ.Integer().subtype(explicitTag=explicit(2))),
    )


# Unrecognized-Data ::= SEQUENCE {
# 	element		[0]	Identifier,
# 	data		[1]	ILL-String OPTIONAL,
# 	expected-format	[2]	ILL-String OPTIONAL,
# 	supported-values[3]	ILL-String OPTIONAL
# 	}
class UnrecognizedData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("element", Identifier().subtype(explicitTag=explicit(0))),
        namedtype.OptionalNamedType("data", ILLString().subtype(explicitTag=explicit(1))),
        namedtype.OptionalNamedType(
            "expected-format", ILLString().subtype(explicitTag=explicit(2))
        ),
        namedtype.OptionalNamedType(
            "supported-values", ILLString().subtype(explicitTag=explicit(3))
        ),
    )


# Additional-User-Error-Report-Info ::= SEQUENCE OF CHOICE {
# 	element-truncated	 [4]	IMPLICIT Element-Truncated,
# 	missing-required-element [5]	Identifier,
# 	unsupported-field-length [6]	IMPLICIT Unsupported-Field-Length,
# 	unrecognized-data	 [7]	IMPLICIT Unrecognized-Data,
# 	inconsistent-data	 [8]	ILL-String,
# 	other			 [9]	ILL-String
# 	}
class AdditionalUserErrorReportInfo(univ.SequenceOf):
    componentType = univ.Choice(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType(
                "element-truncated",
                ElementTruncated().subtype(implicitTag=implicit_constructed(4)),
            ),
            namedtype.NamedType(
                "missing-required-element", Identifier().subtype(explicitTag=explicit(5))
            ),
            namedtype.NamedType(
                "unsupported-field-length",
                UnsupportedFieldLength().subtype(implicitTag=implicit_constructed(6)),
            ),
            namedtype.NamedType(
                "unrecognized-data",
                UnrecognizedData().subtype(implicitTag=implicit_constructed(7)),
            ),
            namedtype.NamedType("inconsistent-data", ILLString().subtype(explicitTag=explicit(8))),
            namedtype.NamedType("other", ILLString().subtype(explicitTag=explicit(9))),
        )
    )
