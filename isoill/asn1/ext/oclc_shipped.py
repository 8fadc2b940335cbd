"""ASN.1 module ``OCLC-Shipped-Extension``, OID 1.0.10161.13.1000.2.6.

Source: ``reference/asn1/ill-extensions.asn`` (OID from the comment in the module header).
The payment method a lender states when it ships. No tagging default in the header: EXPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, univ

from isoill.asn1.ext._tagging import explicit
from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "OCLCShippedExtension"]

OID = "1.0.10161.13.1000.2.6"


# OCLC-Shipped-Extension ::= SEQUENCE {
#      paymentMethod           [0]   ILL-String
# }
class OCLCShippedExtension(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("paymentMethod", ILLString().subtype(explicitTag=explicit(0))),
    )
