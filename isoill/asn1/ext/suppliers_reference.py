"""ASN.1 module ``Suppliers-Reference``, OID 1.0.10161.13.7.

Source: ``reference/asn1/ill-extensions.asn``. The supplier's own reference for a
transaction (OCLC returns it with answers). The module identifier is ``{1 0 10161 13 7}``
while the comment under it says 1.0.10161.13.17; the identifier, which is what peers put in
the EXTERNAL, is used. No tagging default in the header: EXPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, univ

from isoill.asn1.ext._tagging import explicit
from isoill.asn1.ill9702 import ILLString

__all__ = ["OID", "SuppliersReference"]

OID = "1.0.10161.13.7"


# Suppliers-Reference ::= SEQUENCE {
#               supplier-authority [0]   ILL-String,
#               -- identifier of the name of the supplier, e.g. BL
#               supplier-reference [1]  ILL-String
#               -- allocated by the supplier, semantics defined only in
#               -- the domain of the supplier, e.g. for BL this is
#               -- ART Request Number used as a billing reference.
#     }
class SuppliersReference(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("supplier-authority", ILLString().subtype(explicitTag=explicit(0))),
        namedtype.NamedType("supplier-reference", ILLString().subtype(explicitTag=explicit(1))),
    )
