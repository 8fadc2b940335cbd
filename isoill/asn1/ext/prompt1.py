"""ASN.1 module ``AccessControlFormat-prompt-1``, OID 1.2.840.10003.8.1 (Z39.50 Prompt-1).

Source: Z39.50-1995 (ANSI/NISO Z39.50-2003), module ``AccessControlFormat-prompt-1``, as
shipped by YAZ in ``/usr/share/yaz/z39.50/z3950v3.asn``. ILL peers (OCLC in particular) put a
``response`` with userId and password in an ILL-Request extension to authenticate.

The module has no tagging default, so tags are EXPLICIT unless marked IMPLICIT. It imports
``InternationalString`` and ``DiagRec`` from ``Z39-50-APDU-1995``; ``InternationalString``
(``GeneralString``) is defined here, ``DiagRec`` is left open (see below).
"""
# mypy: allow-subclassing-any

from pyasn1.type import char, namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit, implicit_constructed
from isoill.asn1.external import External

__all__ = [
    "OID",
    "Challenge",
    "DiagRec",
    "Encryption",
    "InternationalString",
    "PromptId",
    "PromptObject",
    "Response",
]

OID = "1.2.840.10003.8.1"


# InternationalString ::= GeneralString      (from Z39-50-APDU-1995)
class InternationalString(char.GeneralString):
    pass


# DiagRec ::= CHOICE{
#     defaultFormat     DefaultDiagFormat,
#     externallyDefined EXTERNAL}            (from Z39-50-APDU-1995)
#
# Kept as an open type: only appears as promptResponse.diagnostic, which ILL peers do not
# send. A decoded value holds the DiagRec's encoding (one TLV, a SEQUENCE or an EXTERNAL);
# assign the encoded bytes to set one.
class DiagRec(univ.Any):
    pass


#  Encryption ::= SEQUENCE{
#   cryptType    [1] IMPLICIT OCTET STRING OPTIONAL,
#   credential    [2] IMPLICIT OCTET STRING OPTIONAL,
#                     --random number, SALT, or other factor
#   data        [3] IMPLICIT OCTET STRING}
class Encryption(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "cryptType", univ.OctetString().subtype(implicitTag=implicit(1))
        ),
        namedtype.OptionalNamedType(
            "credential", univ.OctetString().subtype(implicitTag=implicit(2))
        ),
        namedtype.NamedType("data", univ.OctetString().subtype(implicitTag=implicit(3))),
    )


#  PromptId ::= CHOICE{
#   enummeratedPrompt    [1] IMPLICIT SEQUENCE{
#                       type            [1] IMPLICIT INTEGER{
#                                       groupId    (0),
#                                       userId     (1),
#                                       password   (2),
#                                       newPassword  (3),
#                                       copyright    (4),
#                                       sessionId      (5)},
#                       suggestedString    [2] IMPLICIT InternationalString OPTIONAL},
#    nonEnumeratedPrompt  [2] IMPLICIT InternationalString}
# ("enummeratedPrompt" is the standard's own spelling)
class PromptId(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "enummeratedPrompt",
            univ.Sequence(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "type",
                        univ.Integer(
                            namedValues=namedval.NamedValues(
                                ("groupId", 0),
                                ("userId", 1),
                                ("password", 2),
                                ("newPassword", 3),
                                ("copyright", 4),
                                ("sessionId", 5),
                            )
                        ).subtype(implicitTag=implicit(1)),
                    ),
                    namedtype.OptionalNamedType(
                        "suggestedString",
                        InternationalString().subtype(implicitTag=implicit(2)),
                    ),
                )
            ).subtype(implicitTag=implicit_constructed(1)),
        ),
        namedtype.NamedType(
            "nonEnumeratedPrompt", InternationalString().subtype(implicitTag=implicit(2))
        ),
    )


#   Challenge ::= SEQUENCE OF SEQUENCE {
#     promptId      [1] PromptId,
#     defaultResponse  [2] IMPLICIT InternationalString OPTIONAL,
#      promptInfo      [3] CHOICE{
#                     character  [1] IMPLICIT InternationalString,
#                     encrypted  [2] IMPLICIT Encryption} OPTIONAL,
#     regExpr        [4] IMPLICIT InternationalString OPTIONAL,
#     responseRequired  [5] IMPLICIT NULL OPTIONAL,
#      allowedValues    [6] IMPLICIT SEQUENCE OF InternationalString OPTIONAL,
#     shouldSave      [7] IMPLICIT NULL OPTIONAL,
#         dataType        [8] IMPLICIT INTEGER{
#                              integer        (1),
#                           date            (2),
#                         float           (3),
#                         alphaNumeric  (4),
#                         url-urn       (5),
#                         boolean       (6)} OPTIONAL,
#         diagnostic       [9] IMPLICIT EXTERNAL OPTIONAL
#                 }
# (explanatory comments of the standard left out)
class Challenge(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("promptId", PromptId().subtype(explicitTag=explicit(1))),
            namedtype.OptionalNamedType(
                "defaultResponse", InternationalString().subtype(implicitTag=implicit(2))
            ),
            namedtype.OptionalNamedType(
                "promptInfo",
                univ.Choice(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "character", InternationalString().subtype(implicitTag=implicit(1))
                        ),
                        namedtype.NamedType(
                            "encrypted", Encryption().subtype(implicitTag=implicit_constructed(2))
                        ),
                    )
                ).subtype(explicitTag=explicit(3)),
            ),
            namedtype.OptionalNamedType(
                "regExpr", InternationalString().subtype(implicitTag=implicit(4))
            ),
            namedtype.OptionalNamedType(
                "responseRequired", univ.Null().subtype(implicitTag=implicit(5))
            ),
            namedtype.OptionalNamedType(
                "allowedValues",
                univ.SequenceOf(componentType=InternationalString()).subtype(
                    implicitTag=implicit_constructed(6)
                ),
            ),
            namedtype.OptionalNamedType("shouldSave", univ.Null().subtype(implicitTag=implicit(7))),
            namedtype.OptionalNamedType(
                "dataType",
                univ.Integer(
                    namedValues=namedval.NamedValues(
                        ("integer", 1),
                        ("date", 2),
                        ("float", 3),
                        ("alphaNumeric", 4),
                        ("url-urn", 5),
                        ("boolean", 6),
                    )
                ).subtype(implicitTag=implicit(8)),
            ),
            namedtype.OptionalNamedType(
                "diagnostic", External().subtype(implicitTag=implicit_constructed(9))
            ),
        )
    )


#   Response ::= SEQUENCE OF SEQUENCE {
#       promptId    [1] PromptId,
#     promptResponse  [2] CHOICE{
#                     string      [1] IMPLICIT InternationalString,
#                     accept      [2] IMPLICIT BOOLEAN,
#                     acknowledge  [3] IMPLICIT NULL,
#                     diagnostic    [4] DiagRec,
#                      encrypted    [5] IMPLICIT Encryption}}
# (explanatory comments of the standard left out)
class Response(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("promptId", PromptId().subtype(explicitTag=explicit(1))),
            namedtype.NamedType(
                "promptResponse",
                univ.Choice(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType(
                            "string", InternationalString().subtype(implicitTag=implicit(1))
                        ),
                        namedtype.NamedType(
                            "accept", univ.Boolean().subtype(implicitTag=implicit(2))
                        ),
                        namedtype.NamedType(
                            "acknowledge", univ.Null().subtype(implicitTag=implicit(3))
                        ),
                        namedtype.NamedType(
                            "diagnostic", DiagRec().subtype(explicitTag=explicit(4))
                        ),
                        namedtype.NamedType(
                            "encrypted", Encryption().subtype(implicitTag=implicit_constructed(5))
                        ),
                    )
                ).subtype(explicitTag=explicit(2)),
            ),
        )
    )


# PromptObject ::= CHOICE{
#   challenge      [1] IMPLICIT Challenge,
#    response        [2] IMPLICIT Response}
class PromptObject(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("challenge", Challenge().subtype(implicitTag=implicit_constructed(1))),
        namedtype.NamedType("response", Response().subtype(implicitTag=implicit_constructed(2))),
    )
