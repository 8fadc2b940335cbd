"""ASN.1 module ``OCLCILLService``, OID 1.0.10161.4.1000.2.1.

Source: ``reference/asn1/ill-extensions.asn`` (OID from the comment in the module header).
OCLC's responder-specific-service in an ILL-Request: where Direct Request sends the request.
No tagging default in the header: EXPLICIT unless marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import implicit

__all__ = ["OID", "OCLCILLService", "OCLCILLServiceType"]

OID = "1.0.10161.4.1000.2.1"


#      OCLCILLServiceType ::= ENUMERATED {
#           directToProfile  (1),
#           directToLender   (2),
#           directToReview   (3)
#           }
class OCLCILLServiceType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("directToProfile", 1), ("directToLender", 2), ("directToReview", 3)
    )


# OCLCILLService ::= SEQUENCE {
#      oCLCILLServiceType    [0]  IMPLICIT OCLCILLServiceType
#      }
class OCLCILLService(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "oCLCILLServiceType", OCLCILLServiceType().subtype(implicitTag=implicit(0))
        ),
    )
