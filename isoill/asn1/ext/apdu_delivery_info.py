"""ASN.1 module ``ILL-APDU-Delivery-Info``, OID 1.0.10161.13.3.

Source: ``reference/asn1/ill-extensions.asn``. Transport addresses, aliases and accepted
encodings of the sender, the recipient and an optional transponder. No tagging default in the
header: EXPLICIT unless marked IMPLICIT (here every tag is marked IMPLICIT).
"""
# mypy: allow-subclassing-any

from pyasn1.type import constraint, namedtype, namedval, univ

from isoill.asn1.ext._tagging import implicit_constructed
from isoill.asn1.ill9702 import SystemAddress, SystemId

__all__ = ["OID", "APDUDeliveryInfo", "APDUDeliveryParameters", "APDUEncoding"]

OID = "1.0.10161.13.3"


# APDU-Encoding::=ENUMERATED {
# 	eDIFACT		(1),
# 	bER-IN-MIME	(2),
# 	bER		(3)
# }
class APDUEncoding(univ.Enumerated):
    namedValues = namedval.NamedValues(("eDIFACT", 1), ("bER-IN-MIME", 2), ("bER", 3))


# APDU-Delivery-Parameters::=SEQUENCE {
# 	encoding 	[0] IMPLICIT SEQUENCE SIZE (1..3) OF APDU-Encoding,
# 	transport	[1] IMPLICIT System-Address,
# 	aliases		[2] IMPLICIT SEQUENCE OF System-Id OPTIONAL
# }
class APDUDeliveryParameters(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "encoding",
            univ.SequenceOf(
                componentType=APDUEncoding(),
                subtypeSpec=constraint.ValueSizeConstraint(1, 3),
            ).subtype(implicitTag=implicit_constructed(0)),
        ),
        namedtype.NamedType(
            "transport", SystemAddress().subtype(implicitTag=implicit_constructed(1))
        ),
        namedtype.OptionalNamedType(
            "aliases",
            univ.SequenceOf(componentType=SystemId()).subtype(implicitTag=implicit_constructed(2)),
        ),
    )


# APDU-Delivery-Info::=SEQUENCE{
#   sender-info	  	[0] IMPLICIT SEQUENCE OF APDU-Delivery-Parameters,
#   recipient-info	[1] IMPLICIT SEQUENCE OF APDU-Delivery-Parameters,
#   transponder-info 	[2] IMPLICIT SEQUENCE OF APDU-Delivery-Parameters
# OPTIONAL
# }
class APDUDeliveryInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "sender-info",
            univ.SequenceOf(componentType=APDUDeliveryParameters()).subtype(
                implicitTag=implicit_constructed(0)
            ),
        ),
        namedtype.NamedType(
            "recipient-info",
            univ.SequenceOf(componentType=APDUDeliveryParameters()).subtype(
                implicitTag=implicit_constructed(1)
            ),
        ),
        namedtype.OptionalNamedType(
            "transponder-info",
            univ.SequenceOf(componentType=APDUDeliveryParameters()).subtype(
                implicitTag=implicit_constructed(2)
            ),
        ),
    )
