"""ASN.1 module ``IPIG-System-Number``, OID 1.0.10161.6.1.

Source: ``reference/asn1/ill-extensions.asn``: the module identifier ``{1 0 10161 6 1}``
gives the OID. Record numbers of the requested item in well-known bibliographic systems.
No tagging default in the header: EXPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit
from isoill.asn1.ill9702 import ILLString, SystemId

__all__ = ["OID", "IPIGsystemnumber", "WellKnownSystem"]

OID = "1.0.10161.6.1"


# Well-Known-System::=ENUMERATED
# 	{
# 		library-of-Congress	(1),
# 		bNB			(2),
# 		canadiana		(3),
# 		oCLC			(4),
# 		dialog			(5),
# 		rLIN			(6),
# 		wLN			(7),
# 		cARL			(8)
# 	}
class WellKnownSystem(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("library-of-Congress", 1),
        ("bNB", 2),
        ("canadiana", 3),
        ("oCLC", 4),
        ("dialog", 5),
        ("rLIN", 6),
        ("wLN", 7),
        ("cARL", 8),
    )


# IPIG-system-number::=SEQUENCE OF SEQUENCE
# {
#  	type		CHOICE
# 	{
# 		well-known	[1]Well-Known-System,
# 		other		[2]System-Id
# 	},
# 	database-ID		[3]ILL-String OPTIONAL,
# 	number			[4]ILL-String
# }
# (the type name keeps the module's lower-case "system-number", hyphens dropped)
class IPIGsystemnumber(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType(
                "type",
                univ.Choice(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "well-known", WellKnownSystem().subtype(explicitTag=explicit(1))
                        ),
                        namedtype.NamedType("other", SystemId().subtype(explicitTag=explicit(2))),
                    )
                ),
            ),
            namedtype.OptionalNamedType(
                "database-ID", ILLString().subtype(explicitTag=explicit(3))
            ),
            namedtype.NamedType("number", ILLString().subtype(explicitTag=explicit(4))),
        )
    )
