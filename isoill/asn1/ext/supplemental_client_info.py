"""ASN.1 module ``ILL-Supplemental-Client-Info``, OID 1.0.10161.13.4.

Source: ``reference/asn1/ill-extensions.asn``. Structured data about the client (patron):
ids, names, addresses, status, costs, nested hierarchically. No tagging default in the
header: EXPLICIT unless marked IMPLICIT.

``ClientInfoData`` is recursive (``ClientInfoContent.nested`` holds a ``ClientInfoData``).
pyasn1 builds component specs from instances, so a recursive type cannot be written as two
plain class bodies; ``ClientInfoContent`` reads its components from a class attribute that is
filled in once ``ClientInfoData`` exists (see the class comment).
"""
# mypy: allow-subclassing-any

from typing import Any, ClassVar

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit, implicit_constructed
from isoill.asn1.ill9702 import Amount, ILLString, PostalAddress, SystemId

__all__ = [
    "OID",
    "ClientInfoContent",
    "ClientInfoData",
    "ClientInfoType",
    "StandardClientInfoType",
    "StatusCode",
    "SupplementalClientInfo",
]

OID = "1.0.10161.13.4"


# Standard-Client-Info-Type ::= ENUMERATED {
# -- tags for hierarchical levels :
# 	idInfo (0), nameInfo (1), contactInfo (2), statusInfo (3), otherInfo (4),
# 	homeAddressInfo (5), workAddressInfo (6), faxNumber (7), voiceNumber (8),
# 	pagerNumber (9), eMailInfo (10), notes (101), maximumCost (102), billingInfo (103),
# -- tags for id:
# 	systemIdNo (21), socialSecurityNo (22), accountNo (23), driversLicenceNo (24),
# 	other (25),
# -- tags for names:
# 	wholeName (30), lastName (31), firstName (32), initials (33), prefix (34), suffix (35),
# -- tags for addresses:
# 	name (40), department (100), streetAndNumber (41), additionalInfo (42),
# 	boxAddress (43), city-town (44), state-prov-region (45), country (46),
# 	postalCode (47),
# -- tags for dialling info:
# 	telephoneCountryCode (50), telephoneAreaCode (51), telephoneLocalNumber (52),
# 	teleponeExtension (53),
# -- tags for email:
# 	eMailService (60), eMailAddress (61)
# }
class StandardClientInfoType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("idInfo", 0),
        ("nameInfo", 1),
        ("contactInfo", 2),
        ("statusInfo", 3),
        ("otherInfo", 4),
        ("homeAddressInfo", 5),
        ("workAddressInfo", 6),
        ("faxNumber", 7),
        ("voiceNumber", 8),
        ("pagerNumber", 9),
        ("eMailInfo", 10),
        ("notes", 101),
        ("maximumCost", 102),
        ("billingInfo", 103),
        ("systemIdNo", 21),
        ("socialSecurityNo", 22),
        ("accountNo", 23),
        ("driversLicenceNo", 24),
        ("other", 25),
        ("wholeName", 30),
        ("lastName", 31),
        ("firstName", 32),
        ("initials", 33),
        ("prefix", 34),
        ("suffix", 35),
        ("name", 40),
        ("department", 100),
        ("streetAndNumber", 41),
        ("additionalInfo", 42),
        ("boxAddress", 43),
        ("city-town", 44),
        ("state-prov-region", 45),
        ("country", 46),
        ("postalCode", 47),
        ("telephoneCountryCode", 50),
        ("telephoneAreaCode", 51),
        ("telephoneLocalNumber", 52),
        ("teleponeExtension", 53),  # sic: the module spells it without the "h"
        ("eMailService", 60),
        ("eMailAddress", 61),
    )


# StatusCode ::= ENUMERATED {
# 	undergraduate (0), graduate (1), faculty (2), staff (3), visitor (4),
# 	generalUser (5), juvenile (6), vip (7), subscriber (8), suspended (9),
# 	other (10), unspecified (11)
# 	}
class StatusCode(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("undergraduate", 0),
        ("graduate", 1),
        ("faculty", 2),
        ("staff", 3),
        ("visitor", 4),
        ("generalUser", 5),
        ("juvenile", 6),
        ("vip", 7),
        ("subscriber", 8),
        ("suspended", 9),
        ("other", 10),
        ("unspecified", 11),
    )


# ClientInfoType ::= CHOICE {
# 	standard	[1] Standard-Client-Info-Type,
# 	local		[2] ILL-String
# 	}
class ClientInfoType(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("standard", StandardClientInfoType().subtype(explicitTag=explicit(1))),
        namedtype.NamedType("local", ILLString().subtype(explicitTag=explicit(2))),
    )


# ClientInfoContent ::= CHOICE {
# 	stringContent	[1] ILL-String,
# 	postalAddress	[2] IMPLICIT Postal-Address,
# 	nameOrId	[3] IMPLICIT System-Id,
# 	statusCode	[4] IMPLICIT StatusCode,
# 	definedNumber  	[5] IMPLICIT INTEGER,
# 	nested		[6] IMPLICIT ClientInfoData,
# 	amount		[7] IMPLICIT Amount
# }
#
# pyasn1 copies ``componentType`` into every instance when it is created, and
# ``ClientInfoData`` (which holds a ``ClientInfoContent`` instance) must exist before the
# ``nested`` alternative can be built. The property below makes every instance, including
# the one already inside ``ClientInfoData``, read the class-level ``_components`` set at the
# bottom of this module, which closes the cycle.
class ClientInfoContent(univ.Choice):
    _components: ClassVar[Any] = namedtype.NamedTypes()

    @property
    def componentType(self) -> Any:  # noqa: N802 - pyasn1 attribute name
        return ClientInfoContent._components


# ClientInfoData ::= SEQUENCE {
# 	infoType	      ClientInfoType,
# 	infoContent	[3] IMPLICIT SEQUENCE OF ClientInfoContent
# 	}
class ClientInfoData(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("infoType", ClientInfoType()),
        namedtype.NamedType(
            "infoContent",
            univ.SequenceOf(componentType=ClientInfoContent()).subtype(
                implicitTag=implicit_constructed(3)
            ),
        ),
    )


ClientInfoContent._components = namedtype.NamedTypes(
    namedtype.NamedType("stringContent", ILLString().subtype(explicitTag=explicit(1))),
    namedtype.NamedType(
        "postalAddress", PostalAddress().subtype(implicitTag=implicit_constructed(2))
    ),
    namedtype.NamedType("nameOrId", SystemId().subtype(implicitTag=implicit_constructed(3))),
    namedtype.NamedType("statusCode", StatusCode().subtype(implicitTag=implicit(4))),
    namedtype.NamedType("definedNumber", univ.Integer().subtype(implicitTag=implicit(5))),
    namedtype.NamedType("nested", ClientInfoData().subtype(implicitTag=implicit_constructed(6))),
    namedtype.NamedType("amount", Amount().subtype(implicitTag=implicit_constructed(7))),
)


# SupplementalClientInfo ::= SEQUENCE OF ClientInfoData
class SupplementalClientInfo(univ.SequenceOf):
    componentType = ClientInfoData()
