"""ASN.1 module ``IPIG-ILL-Request-Extension``, OID 1.0.10161.13.9.

Source: ``reference/asn1/ill-extensions.asn``. The IPIG profile's additions to an
ILL-Request (uniform title, material type, thesis details, payment method...); it replaces
OCLC's 1.0.10161.13.2 in IPIG profile v3. No tagging default in the header: EXPLICIT unless
marked IMPLICIT, so ``[1] CHOICE {...}`` and ``[n] ILL-String`` wrap their content.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit, implicit_constructed
from isoill.asn1.ill9702 import ILLString

__all__ = [
    "OID",
    "DissertationThesis",
    "DissertationThesisDetails",
    "IPIGILLRequestExtension",
    "ItemLanguage",
    "PaymentType",
    "RequestedMaterialFormat",
    "RightsInformation",
]

OID = "1.0.10161.13.9"


# Requested-Material-Format ::= ENUMERATED {
# 	archival-material (1), audio-cassette (2), audio-cD (3), computer-software (4),
# 	conference-proceedings (5), dVD (6), film8mm (7), film16-32mm (8),
# 	government-document (9), kit (10), legal-document (11),
# 	machine-readable-computer-file (12), manuscript (13), map (14), microform (15),
# 	monograph-bound (16), monograph-unbound (17), monograph-electronic (18),
# 	monograph-braille (19), music-score (20), newspaper-bound (21),
# 	newspaper-unbound (22), newspaper-film (23), official-publication (24), patent (25),
# 	phD-dissertation-own-institution (26), phD-dissertation-other-institution (27),
# 	photograph (28), serial-bound (29), serial-unbound (30), serial-microfilm (31),
# 	serial-microfiche (32), serial-opaque (33), serial-electonic (34),
# 	special-collection (35), standard (36), technical-report (37),
# 	thesis-own-institution (38), thesis-other-institution (39), translation (40),
# 	videocassette (41), videodisc (42), videorecording (43), videotape (44), other (45)
# 	}
class RequestedMaterialFormat(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("archival-material", 1),
        ("audio-cassette", 2),
        ("audio-cD", 3),
        ("computer-software", 4),
        ("conference-proceedings", 5),
        ("dVD", 6),
        ("film8mm", 7),
        ("film16-32mm", 8),
        ("government-document", 9),
        ("kit", 10),
        ("legal-document", 11),
        ("machine-readable-computer-file", 12),
        ("manuscript", 13),
        ("map", 14),
        ("microform", 15),
        ("monograph-bound", 16),
        ("monograph-unbound", 17),
        ("monograph-electronic", 18),
        ("monograph-braille", 19),
        ("music-score", 20),
        ("newspaper-bound", 21),
        ("newspaper-unbound", 22),
        ("newspaper-film", 23),
        ("official-publication", 24),
        ("patent", 25),
        ("phD-dissertation-own-institution", 26),
        ("phD-dissertation-other-institution", 27),
        ("photograph", 28),
        ("serial-bound", 29),
        ("serial-unbound", 30),
        ("serial-microfilm", 31),
        ("serial-microfiche", 32),
        ("serial-opaque", 33),
        ("serial-electonic", 34),  # sic
        ("special-collection", 35),
        ("standard", 36),
        ("technical-report", 37),
        ("thesis-own-institution", 38),
        ("thesis-other-institution", 39),
        ("translation", 40),
        ("videocassette", 41),
        ("videodisc", 42),
        ("videorecording", 43),
        ("videotape", 44),
        ("other", 45),
    )


# Dissertation-Thesis-Details ::= SEQUENCE {
# 	granting-institution 	[1] ILL-String OPTIONAL,
# 	date-granted         	[2] ILL-String OPTIONAL
# 	}
class DissertationThesisDetails(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "granting-institution", ILLString().subtype(explicitTag=explicit(1))
        ),
        namedtype.OptionalNamedType("date-granted", ILLString().subtype(explicitTag=explicit(2))),
    )


# Dissertation-Thesis ::= SEQUENCE {
# 	type    [1] CHOICE {
# 		phD-dissertation 		[1] IMPLICIT NULL,
# 		masters-thesis 			[2] IMPLICIT NULL,
# 		undergraduate-honors-thesis 	[3] IMPLICIT NULL,
# 		other 				[4] ILL-String
# 		} OPTIONAL,
# 	details [2] IMPLICIT Dissertation-Thesis-Details
# 	}
class DissertationThesis(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "type",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "phD-dissertation", univ.Null().subtype(implicitTag=implicit(1))
                    ),
                    namedtype.NamedType(
                        "masters-thesis", univ.Null().subtype(implicitTag=implicit(2))
                    ),
                    namedtype.NamedType(
                        "undergraduate-honors-thesis", univ.Null().subtype(implicitTag=implicit(3))
                    ),
                    namedtype.NamedType("other", ILLString().subtype(explicitTag=explicit(4))),
                )
            ).subtype(explicitTag=explicit(1)),
        ),
        namedtype.NamedType(
            "details", DissertationThesisDetails().subtype(implicitTag=implicit_constructed(2))
        ),
    )


# Item-Language ::= SEQUENCE OF ILL-String
# -- this sequence is in order of preference, using
# -- values defined in ISO 639-2:1998 or "ANY"
class ItemLanguage(univ.SequenceOf):
    componentType = ILLString()


# Payment-Type ::= SEQUENCE OF CHOICE {
# 	--order implies preferred order
# 	reciprocal-agreement 	[1] IMPLICIT NULL,
# 	prepaid 		[2] IMPLICIT NULL,
# 	uNESCO-voucher		[3] IMPLICIT NULL,
# 	aLIA-voucher		[4] IMPLICIT NULL,
# 	iFLA-voucher		[5] IMPLICIT NULL,
# 	other-voucher-or-coupon	[6] ILL-String,
# 	rLG-shares		[7] IMPLICIT NULL,
# 	oCLC-iFM		[8] IMPLICIT NULL,
# 	other-payment-scheme	[9] ILL-String,
# 	cash			[10] IMPLICIT NULL,
# 	check			[11] IMPLICIT NULL,
# 	credit-card 		[12] IMPLICIT SEQUENCE {
# 		type			[1] CHOICE {
# 			visa			[1] IMPLICIT NULL,
# 			master-card		[2] IMPLICIT NULL,
# 			american-express	[3] IMPLICIT NULL,
# 			diners-club		[4] IMPLICIT NULL,
# 			other			[5] ILL-String
# 			},
# 		card-number		[2] ILL-String,
# 		expiry-date		[3] ILL-String,
# 		name-on-card		[4] ILL-String
# 		},
# 	deposit-account		[13] IMPLICIT SEQUENCE {
# 		account-name		[1] ILL-String,
# 		account-number		[2] ILL-String
# 		},
# 	bank-electronic-payment [14] IMPLICIT SEQUENCE {
# 		bank-name		[1] ILL-String,
# 		bank-address		[2] ILL-String,
# 		routing-number		[3] ILL-String,
# 		account-number		[4] ILL-String
# 		},
# 	other-payment-type 	[15]	ILL-String
# 	}
class PaymentType(univ.SequenceOf):
    componentType = univ.Choice(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType(
                "reciprocal-agreement", univ.Null().subtype(implicitTag=implicit(1))
            ),
            namedtype.NamedType("prepaid", univ.Null().subtype(implicitTag=implicit(2))),
            namedtype.NamedType("uNESCO-voucher", univ.Null().subtype(implicitTag=implicit(3))),
            namedtype.NamedType("aLIA-voucher", univ.Null().subtype(implicitTag=implicit(4))),
            namedtype.NamedType("iFLA-voucher", univ.Null().subtype(implicitTag=implicit(5))),
            namedtype.NamedType(
                "other-voucher-or-coupon", ILLString().subtype(explicitTag=explicit(6))
            ),
            namedtype.NamedType("rLG-shares", univ.Null().subtype(implicitTag=implicit(7))),
            namedtype.NamedType("oCLC-iFM", univ.Null().subtype(implicitTag=implicit(8))),
            namedtype.NamedType(
                "other-payment-scheme", ILLString().subtype(explicitTag=explicit(9))
            ),
            namedtype.NamedType("cash", univ.Null().subtype(implicitTag=implicit(10))),
            namedtype.NamedType("check", univ.Null().subtype(implicitTag=implicit(11))),
            namedtype.NamedType(
                "credit-card",
                univ.Sequence(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "type",
                            univ.Choice(
                                componentType=namedtype.NamedTypes(
                                    namedtype.NamedType(
                                        "visa", univ.Null().subtype(implicitTag=implicit(1))
                                    ),
                                    namedtype.NamedType(
                                        "master-card", univ.Null().subtype(implicitTag=implicit(2))
                                    ),
                                    namedtype.NamedType(
                                        "american-express",
                                        univ.Null().subtype(implicitTag=implicit(3)),
                                    ),
                                    namedtype.NamedType(
                                        "diners-club", univ.Null().subtype(implicitTag=implicit(4))
                                    ),
                                    namedtype.NamedType(
                                        "other", ILLString().subtype(explicitTag=explicit(5))
                                    ),
                                )
                            ).subtype(explicitTag=explicit(1)),
                        ),
                        namedtype.NamedType(
                            "card-number", ILLString().subtype(explicitTag=explicit(2))
                        ),
                        namedtype.NamedType(
                            "expiry-date", ILLString().subtype(explicitTag=explicit(3))
                        ),
                        namedtype.NamedType(
                            "name-on-card", ILLString().subtype(explicitTag=explicit(4))
                        ),
                    )
                ).subtype(implicitTag=implicit_constructed(12)),
            ),
            namedtype.NamedType(
                "deposit-account",
                univ.Sequence(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "account-name", ILLString().subtype(explicitTag=explicit(1))
                        ),
                        namedtype.NamedType(
                            "account-number", ILLString().subtype(explicitTag=explicit(2))
                        ),
                    )
                ).subtype(implicitTag=implicit_constructed(13)),
            ),
            namedtype.NamedType(
                "bank-electronic-payment",
                univ.Sequence(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "bank-name", ILLString().subtype(explicitTag=explicit(1))
                        ),
                        namedtype.NamedType(
                            "bank-address", ILLString().subtype(explicitTag=explicit(2))
                        ),
                        namedtype.NamedType(
                            "routing-number", ILLString().subtype(explicitTag=explicit(3))
                        ),
                        namedtype.NamedType(
                            "account-number", ILLString().subtype(explicitTag=explicit(4))
                        ),
                    )
                ).subtype(implicitTag=implicit_constructed(14)),
            ),
            namedtype.NamedType(
                "other-payment-type", ILLString().subtype(explicitTag=explicit(15))
            ),
        )
    )


# Rights-Information ::= SEQUENCE {
# 	rights-information-country	[1] ILL-String,
# 	rights-information-type		[2] ILL-String,
# 	rights-information-value	[3] ILL-String
# 	}
class RightsInformation(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "rights-information-country", ILLString().subtype(explicitTag=explicit(1))
        ),
        namedtype.NamedType(
            "rights-information-type", ILLString().subtype(explicitTag=explicit(2))
        ),
        namedtype.NamedType(
            "rights-information-value", ILLString().subtype(explicitTag=explicit(3))
        ),
    )


# IPIG-ILL-Request-Extension ::= SEQUENCE OF CHOICE {
# 	uniform-title			[0] ILL-String,
# 	material-type			[1] Requested-Material-Format,
# 	responder-specific-info 	[2] ILL-String,
# 	dissertation-thesis		[3] Dissertation-Thesis,
# 	volume				[4] ILL-String,
# 	issue-number			[5] ILL-String,
# 	affiliations			[6] ILL-String,
# 	requested-material-language	[7] Item-Language,
# 	form-content-info		[8] ILL-String,
# 	payment-method			[9] Payment-Type,
# 	this-edition-only		[10] IMPLICIT NULL,
# 	unique-item-iD			[11] ILL-String,
# 	rights-info			[12] Rights-Information
# 	}
class IPIGILLRequestExtension(univ.SequenceOf):
    componentType = univ.Choice(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("uniform-title", ILLString().subtype(explicitTag=explicit(0))),
            namedtype.NamedType(
                "material-type", RequestedMaterialFormat().subtype(explicitTag=explicit(1))
            ),
            namedtype.NamedType(
                "responder-specific-info", ILLString().subtype(explicitTag=explicit(2))
            ),
            namedtype.NamedType(
                "dissertation-thesis", DissertationThesis().subtype(explicitTag=explicit(3))
            ),
            namedtype.NamedType("volume", ILLString().subtype(explicitTag=explicit(4))),
            namedtype.NamedType("issue-number", ILLString().subtype(explicitTag=explicit(5))),
            namedtype.NamedType("affiliations", ILLString().subtype(explicitTag=explicit(6))),
            namedtype.NamedType(
                "requested-material-language", ItemLanguage().subtype(explicitTag=explicit(7))
            ),
            namedtype.NamedType("form-content-info", ILLString().subtype(explicitTag=explicit(8))),
            namedtype.NamedType("payment-method", PaymentType().subtype(explicitTag=explicit(9))),
            namedtype.NamedType("this-edition-only", univ.Null().subtype(implicitTag=implicit(10))),
            namedtype.NamedType("unique-item-iD", ILLString().subtype(explicitTag=explicit(11))),
            namedtype.NamedType(
                "rights-info", RightsInformation().subtype(explicitTag=explicit(12))
            ),
        )
    )
