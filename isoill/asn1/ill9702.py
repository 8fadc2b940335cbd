# mypy: allow-subclassing-any
"""pyasn1 types for the ASN.1 module ISO-10161-ILL-1 (the ILL protocol APDUs).

The module is defined in ISO 10161-1:1997 together with its Amendment 1 (protocol
version 2), in the form distributed as the ASN.1 file ``ill9702.asn``. Its
abstract syntax is identified by the object identifier 1.0.10161.2.1.

The module header is ``ISO-10161-ILL-1 DEFINITIONS EXPLICIT TAGS``, so a bare
``[n] T`` *wraps* the encoding of ``T`` in a constructed context tag, and only
``[n] IMPLICIT T`` replaces the tag of ``T``. Each APDU is an
``[APPLICATION n] SEQUENCE``, encoded as ``6x len 30 len ...``.

Layout of this file: the APDUs reference many helper types that the standard
lists after them (in alphabetical order); Python needs those classes first, so
the helpers come first, grouped by topic, followed by the twenty APDUs in the
order of the standard and finally the ``ILL-APDU`` CHOICE. The ASN.1 text of
every type is repeated in a comment above its class. Component names are the
ASN.1 identifiers unchanged (``iLL-service-type``, ``can-send-RECEIVED``).

Notes on the mapping:

* ``ANY DEFINED BY`` becomes a tagged ``univ.Any``: its value is the complete
  TLV of the embedded value, to be decoded by the caller once the defining
  field (extension identifier, OID) is known.
* ``EXTERNAL`` comes from :mod:`isoill.asn1.external`.
* Size and alphabet constraints are attached as pyasn1 constraints where pyasn1
  can express them. ``ILL-String (SIZE (n))`` cannot be: a size constraint on a
  pyasn1 CHOICE counts chosen alternatives, not characters, and real peers send
  13-digit ISBNs anyway. Those fields stay plain ``ILL-String``.
"""

from __future__ import annotations

import string

from pyasn1.type import char, constraint, namedtype, namedval, tag, univ

from isoill.asn1.external import External

__all__ = [
    "APDU_TYPES",
    "ILLAPDU",
    "ILL_ABSTRACT_SYNTAX",
    "AccountNumber",
    "AlreadyForwarded",
    "AlreadyTriedListType",
    "Amount",
    "AmountString",
    "Cancel",
    "CancelReply",
    "CheckedIn",
    "ClientId",
    "ConditionalReply",
    "ConditionalResults",
    "CostInfoType",
    "CurrentState",
    "Damaged",
    "DamagedDetails",
    "DateDue",
    "DeliveryAddress",
    "DeliveryService",
    "EDIFACTString",
    "ElectronicDeliveryService",
    "ErrorReport",
    "EstimateResults",
    "Expired",
    "Extension",
    "ForwardNotification",
    "GeneralProblem",
    "HistoryReport",
    "HoldPlacedResults",
    "ILLAPDUType",
    "ILLAnswer",
    "ILLRequest",
    "ILLServiceType",
    "ILLString",
    "ISODate",
    "ISOTime",
    "IntermediaryProblem",
    "ItemId",
    "LocationInfo",
    "LocationsResults",
    "Lost",
    "MediumType",
    "Message",
    "NameOfPersonOrInstitution",
    "Overdue",
    "PersonOrInstitutionSymbol",
    "PlaceOnHoldType",
    "PostalAddress",
    "ProviderErrorReport",
    "ReasonLocsProvided",
    "ReasonNoReport",
    "ReasonUnfilled",
    "Recall",
    "Received",
    "Renew",
    "RenewAnswer",
    "ReportSource",
    "RequesterOptionalMessagesType",
    "ResponderOptionalMessagesType",
    "RetryResults",
    "Returned",
    "SearchType",
    "SecurityProblem",
    "SendToListType",
    "ServiceDateTime",
    "Shipped",
    "ShippedServiceType",
    "StateTransitionProhibited",
    "StatusOrErrorReport",
    "StatusQuery",
    "StatusReport",
    "SupplementalItemDescription",
    "SupplyDetails",
    "SupplyMediumInfoType",
    "SupplyMediumType",
    "SystemAddress",
    "SystemId",
    "ThirdPartyInfoType",
    "TransactionId",
    "TransactionIdProblem",
    "TransactionResults",
    "TransactionType",
    "TransportationMode",
    "UnableToPerform",
    "UnfilledResults",
    "UnitsPerMediumType",
    "UserErrorReport",
    "WillSupplyResults",
]

#: Object identifier of the ISO-10161-ILL-1 abstract syntax.
ILL_ABSTRACT_SYNTAX = univ.ObjectIdentifier("1.0.10161.2.1")


# --- tag helpers -------------------------------------------------------------


def _explicit(n: int) -> tag.Tag:
    """Tag for a plain ``[n]`` (explicit, hence always constructed)."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


def _implicit(n: int) -> tag.Tag:
    """Tag for ``[n] IMPLICIT`` on a primitive type."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatSimple, n)


def _implicit_constructed(n: int) -> tag.Tag:
    """Tag for ``[n] IMPLICIT`` on a SEQUENCE / SEQUENCE OF type."""
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


def _application(n: int) -> tag.Tag:
    return tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, n)


def _enumerated(*values: tuple[str, int]) -> univ.Enumerated:
    """An anonymous ENUMERATED with the given (name, number) pairs."""
    return univ.Enumerated(namedValues=namedval.NamedValues(*values))


# =============================================================================
# Character strings, dates and times
# =============================================================================

_EDIFACT_ALPHABET = (
    string.ascii_uppercase + string.ascii_lowercase + string.digits + " .,-()/=!\"%&*;<>'+:?"
)


# EDIFACTString ::= VisibleString
#     (FROM ("A"|"B"| ... |"Z"|"a"| ... |"z"|"1"| ... |"0"|
#            " "|"."|","|"-"|"("|")"|"/"|"="|"!"|"""|"%"|"&"|
#            "*"|";"|"<"|">"|"'"|"+"|":"|"?"))
class EDIFACTString(char.VisibleString):
    """VisibleString limited to the UN/EDIFACT level A character repertoire."""

    subtypeSpec = char.VisibleString.subtypeSpec + constraint.PermittedAlphabetConstraint(
        *_EDIFACT_ALPHABET
    )


# ILL-String ::= CHOICE {
#     GeneralString,
#     -- may contain any ISO registered G (graphic) and C (control) character set
#     EDIFACTString
#     }
#     -- may not include leading or trailing spaces
#     -- may not consist only of space (" ") or non-printing characters
class ILLString(univ.Choice):
    """Free text; peers put UTF-8, Latin-1 or ASCII bytes into the GeneralString."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("GeneralString", char.GeneralString()),
        namedtype.NamedType("EDIFACTString", EDIFACTString()),
    )


# Account-Number ::= ILL-String
class AccountNumber(ILLString):
    pass


# Security-Problem ::= ILL-String
class SecurityProblem(ILLString):
    pass


# Transportation-Mode ::= ILL-String
class TransportationMode(ILLString):
    pass


# ISO-Date ::= VisibleString
#     -- conforms to ISO 8601, length = 8, fixed, YYYYMMDD
class ISODate(char.VisibleString):
    pass


# ISO-Time ::= VisibleString
#     -- conforms to ISO 8601, length = 6, fixed, HHMMSS
#     -- local time of person or institution invoking service
class ISOTime(char.VisibleString):
    pass


# AmountString ::= PrintableString
#     (FROM ("1"|"2"|"3"|"4"|"5"|"6"|"7"|"8"|"9"|"0"|" "|"."|","))
class AmountString(char.PrintableString):
    subtypeSpec = char.PrintableString.subtypeSpec + constraint.PermittedAlphabetConstraint(
        *(string.digits + " .,")
    )


# =============================================================================
# Enumerations
# =============================================================================


# Current-State ::= ENUMERATED {
#     nOT-SUPPLIED (1), pENDING (2), iN-PROCESS (3), fORWARD (4), cONDITIONAL (5),
#     cANCEL-PENDING (6), cANCELLED (7), sHIPPED (8), rECEIVED (9), rENEW-PENDING (10),
#     nOT-RECEIVED-OVERDUE (11), rENEW-OVERDUE (12), oVERDUE (13), rETURNED (14),
#     cHECKED-IN (15), rECALL (16), lOST (17), uNKNOWN (18)
#     }
class CurrentState(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("nOT-SUPPLIED", 1),
        ("pENDING", 2),
        ("iN-PROCESS", 3),
        ("fORWARD", 4),
        ("cONDITIONAL", 5),
        ("cANCEL-PENDING", 6),
        ("cANCELLED", 7),
        ("sHIPPED", 8),
        ("rECEIVED", 9),
        ("rENEW-PENDING", 10),
        ("nOT-RECEIVED-OVERDUE", 11),
        ("rENEW-OVERDUE", 12),
        ("oVERDUE", 13),
        ("rETURNED", 14),
        ("cHECKED-IN", 15),
        ("rECALL", 16),
        ("lOST", 17),
        ("uNKNOWN", 18),
    )


# General-Problem ::= ENUMERATED {
#     unrecognized-APDU (1), mistyped-APDU (2), badly-structured-APDU (3),
#     protocol-version-not-supported (4), other (5)
#     }
class GeneralProblem(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("unrecognized-APDU", 1),
        ("mistyped-APDU", 2),
        ("badly-structured-APDU", 3),
        ("protocol-version-not-supported", 4),
        ("other", 5),
    )


# ILL-APDU-Type ::= ENUMERATED {
#     iLL-REQUEST (1), fORWARD-NOTIFICATION (2), sHIPPED (3), iLL-ANSWER (4),
#     cONDITIONAL-REPLY (5), cANCEL (6), cANCEL-REPLY (7), rECEIVED (8), rECALL (9),
#     rETURNED (10), cHECKED-IN (11), oVERDUE (12), rENEW (13), rENEW-ANSWER (14),
#     lOST (15), dAMAGED (16), mESSAGE (17), sTATUS-QUERY (18),
#     sTATUS-OR-ERROR-REPORT (19), eXPIRED (20)
#     }
class ILLAPDUType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("iLL-REQUEST", 1),
        ("fORWARD-NOTIFICATION", 2),
        ("sHIPPED", 3),
        ("iLL-ANSWER", 4),
        ("cONDITIONAL-REPLY", 5),
        ("cANCEL", 6),
        ("cANCEL-REPLY", 7),
        ("rECEIVED", 8),
        ("rECALL", 9),
        ("rETURNED", 10),
        ("cHECKED-IN", 11),
        ("oVERDUE", 12),
        ("rENEW", 13),
        ("rENEW-ANSWER", 14),
        ("lOST", 15),
        ("dAMAGED", 16),
        ("mESSAGE", 17),
        ("sTATUS-QUERY", 18),
        ("sTATUS-OR-ERROR-REPORT", 19),
        ("eXPIRED", 20),
    )


# ILL-Service-Type ::= ENUMERATED {
#     loan (1), copy-non-returnable (2), locations (3), estimate (4),
#     responder-specific (5)
#     }
class ILLServiceType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("loan", 1),
        ("copy-non-returnable", 2),
        ("locations", 3),
        ("estimate", 4),
        ("responder-specific", 5),
    )


# Shipped-Service-Type ::= ILL-Service-Type (loan | copy-non-returnable)
class ShippedServiceType(ILLServiceType):
    subtypeSpec = ILLServiceType.subtypeSpec + constraint.SingleValueConstraint(1, 2)


# Intermediary-Problem ::= ENUMERATED {
#     cannot-send-onward (1)
#     }
class IntermediaryProblem(univ.Enumerated):
    namedValues = namedval.NamedValues(("cannot-send-onward", 1))


# Medium-Type ::= ENUMERATED {
#     printed (1), microform (3), film-or-video-recording (4), audio-recording (5),
#     machine-readable (6), other (7)
#     }
class MediumType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("printed", 1),
        ("microform", 3),
        ("film-or-video-recording", 4),
        ("audio-recording", 5),
        ("machine-readable", 6),
        ("other", 7),
    )


# Place-On-Hold-Type ::= ENUMERATED {
#     yes (1), no (2), according-to-responder-policy (3)
#     }
class PlaceOnHoldType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("yes", 1),
        ("no", 2),
        ("according-to-responder-policy", 3),
    )


# Reason-Locs-Provided ::= ENUMERATED {
#     in-use-on-loan (1), in-process (2), lost (3), non-circulating (4), not-owned (5),
#     on-order (6), volume-issue-not-yet-available (7), at-bindery (8), lacking (9),
#     not-on-shelf (10), on-reserve (11), poor-condition (12), cost-exceeds-limit (13),
#     on-hold (19), other (27), responder-specific (28)
#     }
class ReasonLocsProvided(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("in-use-on-loan", 1),
        ("in-process", 2),
        ("lost", 3),
        ("non-circulating", 4),
        ("not-owned", 5),
        ("on-order", 6),
        ("volume-issue-not-yet-available", 7),
        ("at-bindery", 8),
        ("lacking", 9),
        ("not-on-shelf", 10),
        ("on-reserve", 11),
        ("poor-condition", 12),
        ("cost-exceeds-limit", 13),
        ("on-hold", 19),
        ("other", 27),
        ("responder-specific", 28),
    )


# Reason-No-Report ::= ENUMERATED {
#     temporary (1), permanent (2)
#     }
class ReasonNoReport(univ.Enumerated):
    namedValues = namedval.NamedValues(("temporary", 1), ("permanent", 2))


# Reason-Unfilled ::= ENUMERATED {
#     in-use-on-loan (1), in-process (2), lost (3), non-circulating (4), not-owned (5),
#     on-order (6), volume-issue-not-yet-available (7), at-bindery (8), lacking (9),
#     not-on-shelf (10), on-reserve (11), poor-condition (12), cost-exceeds-limit (13),
#     charges (14), prepayment-required (15), lacks-copyright-compliance (16),
#     not-found-as-cited (17), locations-not-found (18), on-hold (19),
#     policy-problem (20), mandatory-messaging-not-supported (21),
#     expiry-not-supported (22), requested-delivery-services-not-supported (23),
#     preferred-delivery-time-not-possible (24), other (27), responder-specific (28)
#     }
class ReasonUnfilled(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("in-use-on-loan", 1),
        ("in-process", 2),
        ("lost", 3),
        ("non-circulating", 4),
        ("not-owned", 5),
        ("on-order", 6),
        ("volume-issue-not-yet-available", 7),
        ("at-bindery", 8),
        ("lacking", 9),
        ("not-on-shelf", 10),
        ("on-reserve", 11),
        ("poor-condition", 12),
        ("cost-exceeds-limit", 13),
        ("charges", 14),
        ("prepayment-required", 15),
        ("lacks-copyright-compliance", 16),
        ("not-found-as-cited", 17),
        ("locations-not-found", 18),
        ("on-hold", 19),
        ("policy-problem", 20),
        ("mandatory-messaging-not-supported", 21),
        ("expiry-not-supported", 22),
        ("requested-delivery-services-not-supported", 23),
        ("preferred-delivery-time-not-possible", 24),
        ("other", 27),
        ("responder-specific", 28),
    )


# Report-Source ::= ENUMERATED {
#     user (1), provider (2)
#     }
class ReportSource(univ.Enumerated):
    namedValues = namedval.NamedValues(("user", 1), ("provider", 2))


# Supply-Medium-Type ::= ENUMERATED {
#     printed (1), photocopy (2), microform (3), film-or-video-recording (4),
#     audio-recording (5), machine-readable (6), other (7)
#     }
class SupplyMediumType(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("printed", 1),
        ("photocopy", 2),
        ("microform", 3),
        ("film-or-video-recording", 4),
        ("audio-recording", 5),
        ("machine-readable", 6),
        ("other", 7),
    )


# Transaction-Id-Problem ::= ENUMERATED {
#     duplicate-transaction-id (1), invalid-transaction-id (2),
#     unknown-transaction-id (3)
#     }
class TransactionIdProblem(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("duplicate-transaction-id", 1),
        ("invalid-transaction-id", 2),
        ("unknown-transaction-id", 3),
    )


# Transaction-Results ::= ENUMERATED {
#     conditional (1), retry (2), unfilled (3), locations-provided (4),
#     will-supply (5), hold-placed (6), estimate (7)
#     }
class TransactionResults(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("conditional", 1),
        ("retry", 2),
        ("unfilled", 3),
        ("locations-provided", 4),
        ("will-supply", 5),
        ("hold-placed", 6),
        ("estimate", 7),
    )


# Transaction-Type ::= ENUMERATED {
#     simple (1), chained (2), partitioned (3)
#     }
class TransactionType(univ.Enumerated):
    namedValues = namedval.NamedValues(("simple", 1), ("chained", 2), ("partitioned", 3))


# Unable-To-Perform ::= ENUMERATED {
#     not-available (1), resource-limitation (2), other (3)
#     }
class UnableToPerform(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("not-available", 1),
        ("resource-limitation", 2),
        ("other", 3),
    )


# =============================================================================
# Names, identifiers and addresses
# =============================================================================


# Name-Of-Person-Or-Institution ::= CHOICE {
#     name-of-person       [0] ILL-String,
#     name-of-institution  [1] ILL-String
#     }
class NameOfPersonOrInstitution(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("name-of-person", ILLString().subtype(explicitTag=_explicit(0))),
        namedtype.NamedType("name-of-institution", ILLString().subtype(explicitTag=_explicit(1))),
    )


# Person-Or-Institution-Symbol ::= CHOICE {
#     person-symbol       [0] ILL-String,
#     institution-symbol  [1] ILL-String
#     }
class PersonOrInstitutionSymbol(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("person-symbol", ILLString().subtype(explicitTag=_explicit(0))),
        namedtype.NamedType("institution-symbol", ILLString().subtype(explicitTag=_explicit(1))),
    )


# System-Id ::= SEQUENCE {
#     --at least one of the following must be present
#     person-or-institution-symbol  [0] Person-Or-Institution-Symbol OPTIONAL,
#     name-of-person-or-institution [1] Name-Of-Person-Or-Institution OPTIONAL
#     }
class SystemId(univ.Sequence):
    """Who a system is. The "at least one" rule is not enforced (yaz sends ``a3 00``)."""

    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "person-or-institution-symbol",
            PersonOrInstitutionSymbol().subtype(explicitTag=_explicit(0)),
        ),
        namedtype.OptionalNamedType(
            "name-of-person-or-institution",
            NameOfPersonOrInstitution().subtype(explicitTag=_explicit(1)),
        ),
    )


# System-Address ::= SEQUENCE {
#     telecom-service-identifier [0] ILL-String OPTIONAL,
#     telecom-service-address    [1] ILL-String OPTIONAL
#     }
class SystemAddress(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "telecom-service-identifier", ILLString().subtype(explicitTag=_explicit(0))
        ),
        namedtype.OptionalNamedType(
            "telecom-service-address", ILLString().subtype(explicitTag=_explicit(1))
        ),
    )


# Postal-Address ::= SEQUENCE {
#     name-of-person-or-institution    [0] Name-Of-Person-Or-Institution OPTIONAL,
#     extended-postal-delivery-address [1] ILL-String OPTIONAL,
#     street-and-number                [2] ILL-String OPTIONAL,
#     post-office-box                  [3] ILL-String OPTIONAL,
#     city                             [4] ILL-String OPTIONAL,
#     region                           [5] ILL-String OPTIONAL,
#     country                          [6] ILL-String OPTIONAL,
#     postal-code                      [7] ILL-String OPTIONAL
#     }
class PostalAddress(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "name-of-person-or-institution",
            NameOfPersonOrInstitution().subtype(explicitTag=_explicit(0)),
        ),
        namedtype.OptionalNamedType(
            "extended-postal-delivery-address", ILLString().subtype(explicitTag=_explicit(1))
        ),
        namedtype.OptionalNamedType(
            "street-and-number", ILLString().subtype(explicitTag=_explicit(2))
        ),
        namedtype.OptionalNamedType(
            "post-office-box", ILLString().subtype(explicitTag=_explicit(3))
        ),
        namedtype.OptionalNamedType("city", ILLString().subtype(explicitTag=_explicit(4))),
        namedtype.OptionalNamedType("region", ILLString().subtype(explicitTag=_explicit(5))),
        namedtype.OptionalNamedType("country", ILLString().subtype(explicitTag=_explicit(6))),
        namedtype.OptionalNamedType("postal-code", ILLString().subtype(explicitTag=_explicit(7))),
    )


# Delivery-Address ::= SEQUENCE {
#     postal-address     [0] IMPLICIT Postal-Address OPTIONAL,
#     electronic-address [1] IMPLICIT System-Address OPTIONAL
#     }
class DeliveryAddress(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "postal-address", PostalAddress().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.OptionalNamedType(
            "electronic-address", SystemAddress().subtype(implicitTag=_implicit_constructed(1))
        ),
    )


# Client-Id ::= SEQUENCE {
#     client-name       [0] ILL-String OPTIONAL,
#     client-status     [1] ILL-String OPTIONAL,
#     client-identifier [2] ILL-String OPTIONAL
#     }
class ClientId(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("client-name", ILLString().subtype(explicitTag=_explicit(0))),
        namedtype.OptionalNamedType("client-status", ILLString().subtype(explicitTag=_explicit(1))),
        namedtype.OptionalNamedType(
            "client-identifier", ILLString().subtype(explicitTag=_explicit(2))
        ),
    )


# Location-Info ::= SEQUENCE {
#     location-id      [0] IMPLICIT System-Id,
#     location-address [1] IMPLICIT System-Address OPTIONAL,
#     location-note    [2] ILL-String OPTIONAL
#     }
class LocationInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "location-id", SystemId().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.OptionalNamedType(
            "location-address", SystemAddress().subtype(implicitTag=_implicit_constructed(1))
        ),
        namedtype.OptionalNamedType("location-note", ILLString().subtype(explicitTag=_explicit(2))),
    )


def _locations(n: int) -> univ.SequenceOf:
    """``[n] IMPLICIT SEQUENCE OF Location-Info``, used by several result types."""
    return univ.SequenceOf(componentType=LocationInfo()).subtype(
        implicitTag=_implicit_constructed(n)
    )


# Already-Forwarded ::= SEQUENCE {
#     responder-id      [0] IMPLICIT System-Id,
#     responder-address [1] IMPLICIT System-Address OPTIONAL
#     }
class AlreadyForwarded(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "responder-id", SystemId().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.OptionalNamedType(
            "responder-address", SystemAddress().subtype(implicitTag=_implicit_constructed(1))
        ),
    )


# Already-Tried-List-Type ::= SEQUENCE OF System-Id
class AlreadyTriedListType(univ.SequenceOf):
    componentType = SystemId()


# Send-To-List-Type ::= SEQUENCE OF SEQUENCE {
#     system-id      [0] IMPLICIT System-Id,
#     account-number [1] Account-Number OPTIONAL,
#     system-address [2] IMPLICIT System-Address OPTIONAL
#     }
class SendToListType(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType(
                "system-id", SystemId().subtype(implicitTag=_implicit_constructed(0))
            ),
            namedtype.OptionalNamedType(
                "account-number", AccountNumber().subtype(explicitTag=_explicit(1))
            ),
            namedtype.OptionalNamedType(
                "system-address", SystemAddress().subtype(implicitTag=_implicit_constructed(2))
            ),
        )
    )


# =============================================================================
# Transaction identification and service date/time
# =============================================================================


# Transaction-Id ::= SEQUENCE {
#     initial-requester-id        [0] IMPLICIT System-Id OPTIONAL,
#         -- mandatory for sub-transactions
#     transaction-group-qualifier [1] ILL-String,
#     transaction-qualifier       [2] ILL-String,
#     sub-transaction-qualifier   [3] ILL-String OPTIONAL
#         -- mandatory for sub-transactions
#     }
class TransactionId(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "initial-requester-id", SystemId().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.NamedType(
            "transaction-group-qualifier", ILLString().subtype(explicitTag=_explicit(1))
        ),
        namedtype.NamedType("transaction-qualifier", ILLString().subtype(explicitTag=_explicit(2))),
        namedtype.OptionalNamedType(
            "sub-transaction-qualifier", ILLString().subtype(explicitTag=_explicit(3))
        ),
    )


def _date_and_time(n: int) -> univ.Sequence:
    """``[n] IMPLICIT SEQUENCE { date [0] IMPLICIT ISO-Date, time [1] IMPLICIT ISO-Time OPTIONAL }``

    Used twice in Service-Date-Time.
    """
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("date", ISODate().subtype(implicitTag=_implicit(0))),
            namedtype.OptionalNamedType("time", ISOTime().subtype(implicitTag=_implicit(1))),
        )
    ).subtype(implicitTag=_implicit_constructed(n))


# Service-Date-Time ::= SEQUENCE {
#     date-time-of-this-service     [0] IMPLICIT SEQUENCE {
#         date [0] IMPLICIT ISO-Date,
#         time [1] IMPLICIT ISO-Time OPTIONAL
#             -- mandatory for 2nd and subsequent services invoked for a given
#             -- ILL-transaction on the same day
#         },
#     date-time-of-original-service [1] IMPLICIT SEQUENCE {
#         date [0] IMPLICIT ISO-Date,
#         time [1] IMPLICIT ISO-Time OPTIONAL
#         } OPTIONAL
#     }
class ServiceDateTime(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("date-time-of-this-service", _date_and_time(0)),
        namedtype.OptionalNamedType("date-time-of-original-service", _date_and_time(1)),
    )


# =============================================================================
# Request details
# =============================================================================


# Amount ::= SEQUENCE {
#     currency-code  [0] IMPLICIT PrintableString (SIZE (3)) OPTIONAL,
#         -- values defined in ISO 4217-1981
#     monetary-value [1] IMPLICIT AmountString (SIZE (1..10))
#     }
class Amount(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "currency-code",
            char.PrintableString().subtype(
                implicitTag=_implicit(0), subtypeSpec=constraint.ValueSizeConstraint(3, 3)
            ),
        ),
        namedtype.NamedType(
            "monetary-value",
            AmountString().subtype(
                implicitTag=_implicit(1), subtypeSpec=constraint.ValueSizeConstraint(1, 10)
            ),
        ),
    )


# Cost-Info-Type ::= SEQUENCE {
#     account-number       [0] Account-Number OPTIONAL,
#     maximum-cost         [1] IMPLICIT Amount OPTIONAL,
#     reciprocal-agreement [2] IMPLICIT BOOLEAN DEFAULT FALSE,
#     will-pay-fee         [3] IMPLICIT BOOLEAN DEFAULT FALSE,
#     payment-provided     [4] IMPLICIT BOOLEAN DEFAULT FALSE
#     }
class CostInfoType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "account-number", AccountNumber().subtype(explicitTag=_explicit(0))
        ),
        namedtype.OptionalNamedType(
            "maximum-cost", Amount().subtype(implicitTag=_implicit_constructed(1))
        ),
        namedtype.DefaultedNamedType(
            "reciprocal-agreement", univ.Boolean().subtype(implicitTag=_implicit(2), value=False)
        ),
        namedtype.DefaultedNamedType(
            "will-pay-fee", univ.Boolean().subtype(implicitTag=_implicit(3), value=False)
        ),
        namedtype.DefaultedNamedType(
            "payment-provided", univ.Boolean().subtype(implicitTag=_implicit(4), value=False)
        ),
    )


# Date-Due ::= SEQUENCE {
#     date-due-field [0] IMPLICIT ISO-Date,
#     renewable      [1] IMPLICIT BOOLEAN DEFAULT TRUE
#     }
class DateDue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("date-due-field", ISODate().subtype(implicitTag=_implicit(0))),
        namedtype.DefaultedNamedType(
            "renewable", univ.Boolean().subtype(implicitTag=_implicit(1), value=True)
        ),
    )


# Electronic-Delivery-Service ::= SEQUENCE {
#     -- the first four parameters are intended to be used in an automated environment
#     e-delivery-service     [0] IMPLICIT SEQUENCE {
#         e-delivery-mode        [0] IMPLICIT OBJECT IDENTIFIER,
#         e-delivery-parameters  [1] ANY DEFINED BY e-delivery-mode
#         } OPTIONAL,
#     document-type          [1] IMPLICIT SEQUENCE {
#         document-type-id           [2] IMPLICIT OBJECT IDENTIFIER,
#         document-type-parameters   [3] ANY DEFINED BY document-type-id
#         } OPTIONAL,
#     e-delivery-description [4] ILL-String OPTIONAL,
#     e-delivery-details     [5] CHOICE {
#         e-delivery-address [0] IMPLICIT System-Address,
#         e-delivery-id      [1] IMPLICIT System-Id
#         },
#     name-or-code           [6] ILL-String OPTIONAL,
#     delivery-time          [7] IMPLICIT ISO-Time OPTIONAL
#     }
class ElectronicDeliveryService(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "e-delivery-service",
            univ.Sequence(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "e-delivery-mode",
                        univ.ObjectIdentifier().subtype(implicitTag=_implicit(0)),
                    ),
                    namedtype.NamedType(
                        "e-delivery-parameters", univ.Any().subtype(explicitTag=_explicit(1))
                    ),
                )
            ).subtype(implicitTag=_implicit_constructed(0)),
        ),
        namedtype.OptionalNamedType(
            "document-type",
            univ.Sequence(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "document-type-id",
                        univ.ObjectIdentifier().subtype(implicitTag=_implicit(2)),
                    ),
                    namedtype.NamedType(
                        "document-type-parameters", univ.Any().subtype(explicitTag=_explicit(3))
                    ),
                )
            ).subtype(implicitTag=_implicit_constructed(1)),
        ),
        namedtype.OptionalNamedType(
            "e-delivery-description", ILLString().subtype(explicitTag=_explicit(4))
        ),
        namedtype.NamedType(
            "e-delivery-details",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "e-delivery-address",
                        SystemAddress().subtype(implicitTag=_implicit_constructed(0)),
                    ),
                    namedtype.NamedType(
                        "e-delivery-id", SystemId().subtype(implicitTag=_implicit_constructed(1))
                    ),
                )
            ).subtype(explicitTag=_explicit(5)),
        ),
        namedtype.OptionalNamedType("name-or-code", ILLString().subtype(explicitTag=_explicit(6))),
        namedtype.OptionalNamedType("delivery-time", ISOTime().subtype(implicitTag=_implicit(7))),
    )


# Delivery-Service ::= CHOICE {
#     physical-delivery   [7]  Transportation-Mode,
#     electronic-delivery [50] IMPLICIT SEQUENCE OF Electronic-Delivery-Service
#         -- electronic-delivery may only be present in APDUs
#         -- with a protocol-version-num value of 2 or greater
#     }
class DeliveryService(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "physical-delivery", TransportationMode().subtype(explicitTag=_explicit(7))
        ),
        namedtype.NamedType(
            "electronic-delivery",
            univ.SequenceOf(componentType=ElectronicDeliveryService()).subtype(
                implicitTag=_implicit_constructed(50)
            ),
        ),
    )


# Item-Id ::= SEQUENCE {
#     item-type                     [0] IMPLICIT ENUMERATED {
#                                           monograph (1), serial (2), other (3)
#                                           } OPTIONAL,
#     held-medium-type              [1] IMPLICIT Medium-Type OPTIONAL,
#     call-number                   [2] ILL-String OPTIONAL,
#     author                        [3] ILL-String OPTIONAL,
#     title                         [4] ILL-String OPTIONAL,
#     sub-title                     [5] ILL-String OPTIONAL,
#     sponsoring-body               [6] ILL-String OPTIONAL,
#     place-of-publication          [7] ILL-String OPTIONAL,
#     publisher                     [8] ILL-String OPTIONAL,
#     series-title-number           [9] ILL-String OPTIONAL,
#     volume-issue                  [10] ILL-String OPTIONAL,
#     edition                       [11] ILL-String OPTIONAL,
#     publication-date              [12] ILL-String OPTIONAL,
#     publication-date-of-component [13] ILL-String OPTIONAL,
#     author-of-article             [14] ILL-String OPTIONAL,
#     title-of-article              [15] ILL-String OPTIONAL,
#     pagination                    [16] ILL-String OPTIONAL,
#     national-bibliography-no      [17] EXTERNAL OPTIONAL,
#     iSBN                          [18] ILL-String (SIZE (10)) OPTIONAL,
#         -- must conform to ISO 2108-1978
#     iSSN                          [19] ILL-String (SIZE (8)) OPTIONAL,
#         -- must conform to ISO 3297-1986
#     system-no                     [20] EXTERNAL OPTIONAL,
#     additional-no-letters         [21] ILL-String OPTIONAL,
#     verification-reference-source [22] ILL-String OPTIONAL
#     }
class ItemId(univ.Sequence):
    """Bibliographic description of the wanted item.

    The SIZE limits on iSBN (10) and iSSN (8) are not enforced: see the module notes.
    """

    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "item-type",
            _enumerated(("monograph", 1), ("serial", 2), ("other", 3)).subtype(
                implicitTag=_implicit(0)
            ),
        ),
        namedtype.OptionalNamedType(
            "held-medium-type", MediumType().subtype(implicitTag=_implicit(1))
        ),
        namedtype.OptionalNamedType("call-number", ILLString().subtype(explicitTag=_explicit(2))),
        namedtype.OptionalNamedType("author", ILLString().subtype(explicitTag=_explicit(3))),
        namedtype.OptionalNamedType("title", ILLString().subtype(explicitTag=_explicit(4))),
        namedtype.OptionalNamedType("sub-title", ILLString().subtype(explicitTag=_explicit(5))),
        namedtype.OptionalNamedType(
            "sponsoring-body", ILLString().subtype(explicitTag=_explicit(6))
        ),
        namedtype.OptionalNamedType(
            "place-of-publication", ILLString().subtype(explicitTag=_explicit(7))
        ),
        namedtype.OptionalNamedType("publisher", ILLString().subtype(explicitTag=_explicit(8))),
        namedtype.OptionalNamedType(
            "series-title-number", ILLString().subtype(explicitTag=_explicit(9))
        ),
        namedtype.OptionalNamedType("volume-issue", ILLString().subtype(explicitTag=_explicit(10))),
        namedtype.OptionalNamedType("edition", ILLString().subtype(explicitTag=_explicit(11))),
        namedtype.OptionalNamedType(
            "publication-date", ILLString().subtype(explicitTag=_explicit(12))
        ),
        namedtype.OptionalNamedType(
            "publication-date-of-component", ILLString().subtype(explicitTag=_explicit(13))
        ),
        namedtype.OptionalNamedType(
            "author-of-article", ILLString().subtype(explicitTag=_explicit(14))
        ),
        namedtype.OptionalNamedType(
            "title-of-article", ILLString().subtype(explicitTag=_explicit(15))
        ),
        namedtype.OptionalNamedType("pagination", ILLString().subtype(explicitTag=_explicit(16))),
        namedtype.OptionalNamedType(
            "national-bibliography-no", External().subtype(explicitTag=_explicit(17))
        ),
        namedtype.OptionalNamedType("iSBN", ILLString().subtype(explicitTag=_explicit(18))),
        namedtype.OptionalNamedType("iSSN", ILLString().subtype(explicitTag=_explicit(19))),
        namedtype.OptionalNamedType("system-no", External().subtype(explicitTag=_explicit(20))),
        namedtype.OptionalNamedType(
            "additional-no-letters", ILLString().subtype(explicitTag=_explicit(21))
        ),
        namedtype.OptionalNamedType(
            "verification-reference-source", ILLString().subtype(explicitTag=_explicit(22))
        ),
    )


def _requires_desires_neither(n: int) -> univ.Enumerated:
    """``[n] IMPLICIT ENUMERATED { requires (1), desires (2), neither (3) }``."""
    return _enumerated(("requires", 1), ("desires", 2), ("neither", 3)).subtype(
        implicitTag=_implicit(n)
    )


# Requester-Optional-Messages-Type ::= SEQUENCE {
#     can-send-RECEIVED    [0] IMPLICIT BOOLEAN,
#     can-send-RETURNED    [1] IMPLICIT BOOLEAN,
#     requester-SHIPPED    [2] IMPLICIT ENUMERATED {
#                                  requires (1), desires (2), neither (3) },
#     requester-CHECKED-IN [3] IMPLICIT ENUMERATED {
#                                  requires (1), desires (2), neither (3) }
#     }
class RequesterOptionalMessagesType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("can-send-RECEIVED", univ.Boolean().subtype(implicitTag=_implicit(0))),
        namedtype.NamedType("can-send-RETURNED", univ.Boolean().subtype(implicitTag=_implicit(1))),
        namedtype.NamedType("requester-SHIPPED", _requires_desires_neither(2)),
        namedtype.NamedType("requester-CHECKED-IN", _requires_desires_neither(3)),
    )


# Responder-Optional-Messages-Type ::= SEQUENCE {
#     can-send-SHIPPED    [0] IMPLICIT BOOLEAN,
#     can-send-CHECKED-IN [1] IMPLICIT BOOLEAN,
#     responder-RECEIVED  [2] IMPLICIT ENUMERATED {
#                                 requires (1), desires (2), neither (3) },
#     responder-RETURNED  [3] IMPLICIT ENUMERATED {
#                                 requires (1), desires (2), neither (3) }
#     }
class ResponderOptionalMessagesType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("can-send-SHIPPED", univ.Boolean().subtype(implicitTag=_implicit(0))),
        namedtype.NamedType(
            "can-send-CHECKED-IN", univ.Boolean().subtype(implicitTag=_implicit(1))
        ),
        namedtype.NamedType("responder-RECEIVED", _requires_desires_neither(2)),
        namedtype.NamedType("responder-RETURNED", _requires_desires_neither(3)),
    )


# Search-Type ::= SEQUENCE {
#     level-of-service [0] ILL-String (SIZE (1)) OPTIONAL,
#     need-before-date [1] IMPLICIT ISO-Date OPTIONAL,
#     expiry-flag      [2] IMPLICIT ENUMERATED {
#                              need-Before-Date (1),
#                              other-Date (2),
#                              no-Expiry (3)
#                              } DEFAULT 3,
#         -- need-Before-Date: need-before-date is also the transaction expiry date
#     expiry-date      [3] IMPLICIT ISO-Date OPTIONAL
#         -- only when expiry-flag is "other-Date"
#     }
class SearchType(univ.Sequence):
    """Search parameters. The SIZE (1) on level-of-service is not enforced (module notes)."""

    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "level-of-service", ILLString().subtype(explicitTag=_explicit(0))
        ),
        namedtype.OptionalNamedType(
            "need-before-date", ISODate().subtype(implicitTag=_implicit(1))
        ),
        namedtype.DefaultedNamedType(
            "expiry-flag",
            _enumerated(("need-Before-Date", 1), ("other-Date", 2), ("no-Expiry", 3)).subtype(
                implicitTag=_implicit(2), value=3
            ),
        ),
        namedtype.OptionalNamedType("expiry-date", ISODate().subtype(implicitTag=_implicit(3))),
    )


# Supply-Medium-Info-Type ::= SEQUENCE {
#     supply-medium-type     [0] IMPLICIT Supply-Medium-Type,
#     medium-characteristics [1] ILL-String OPTIONAL
#     }
class SupplyMediumInfoType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "supply-medium-type", SupplyMediumType().subtype(implicitTag=_implicit(0))
        ),
        namedtype.OptionalNamedType(
            "medium-characteristics", ILLString().subtype(explicitTag=_explicit(1))
        ),
    )


# Supplemental-Item-Description ::= SEQUENCE OF EXTERNAL
#     -- the syntax of supplementary item description information is defined
#     -- outside this standard
class SupplementalItemDescription(univ.SequenceOf):
    componentType = External()


# Third-Party-Info-Type ::= SEQUENCE {
#     permission-to-forward             [0] IMPLICIT BOOLEAN DEFAULT FALSE,
#     permission-to-chain               [1] IMPLICIT BOOLEAN DEFAULT FALSE,
#     permission-to-partition           [2] IMPLICIT BOOLEAN DEFAULT FALSE,
#     permission-to-change-send-to-list [3] IMPLICIT BOOLEAN DEFAULT FALSE,
#     initial-requester-address         [4] IMPLICIT System-Address OPTIONAL,
#     preference                        [5] IMPLICIT ENUMERATED {
#                                               ordered (1),
#                                               unordered (2)
#                                               } DEFAULT 2,
#     send-to-list                      [6] IMPLICIT Send-To-List-Type OPTIONAL,
#     already-tried-list                [7] IMPLICIT Already-Tried-List-Type OPTIONAL
#     }
class ThirdPartyInfoType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.DefaultedNamedType(
            "permission-to-forward", univ.Boolean().subtype(implicitTag=_implicit(0), value=False)
        ),
        namedtype.DefaultedNamedType(
            "permission-to-chain", univ.Boolean().subtype(implicitTag=_implicit(1), value=False)
        ),
        namedtype.DefaultedNamedType(
            "permission-to-partition",
            univ.Boolean().subtype(implicitTag=_implicit(2), value=False),
        ),
        namedtype.DefaultedNamedType(
            "permission-to-change-send-to-list",
            univ.Boolean().subtype(implicitTag=_implicit(3), value=False),
        ),
        namedtype.OptionalNamedType(
            "initial-requester-address",
            SystemAddress().subtype(implicitTag=_implicit_constructed(4)),
        ),
        namedtype.DefaultedNamedType(
            "preference",
            _enumerated(("ordered", 1), ("unordered", 2)).subtype(
                implicitTag=_implicit(5), value=2
            ),
        ),
        namedtype.OptionalNamedType(
            "send-to-list", SendToListType().subtype(implicitTag=_implicit_constructed(6))
        ),
        namedtype.OptionalNamedType(
            "already-tried-list",
            AlreadyTriedListType().subtype(implicitTag=_implicit_constructed(7)),
        ),
    )


# =============================================================================
# ILL-Answer results
# =============================================================================


# Conditional-Results ::= SEQUENCE {
#     conditions                [0] IMPLICIT ENUMERATED {
#         cost-exceeds-limit (13), charges (14), prepayment-required (15),
#         lacks-copyright-compliance (16), library-use-only (22), no-reproduction (23),
#         client-signature-required (24), special-collections-supervision-required (25),
#         other (27), responder-specific (28), proposed-delivery-service (30)
#         },
#     date-for-reply            [1] IMPLICIT ISO-Date OPTIONAL,
#     locations                 [2] IMPLICIT SEQUENCE OF Location-Info OPTIONAL,
#     proposed-delivery-service     Delivery-Service OPTIONAL
#         -- only in APDUs with protocol-version-num 2 or greater
#     }
class ConditionalResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "conditions",
            _enumerated(
                ("cost-exceeds-limit", 13),
                ("charges", 14),
                ("prepayment-required", 15),
                ("lacks-copyright-compliance", 16),
                ("library-use-only", 22),
                ("no-reproduction", 23),
                ("client-signature-required", 24),
                ("special-collections-supervision-required", 25),
                ("other", 27),
                ("responder-specific", 28),
                ("proposed-delivery-service", 30),
            ).subtype(implicitTag=_implicit(0)),
        ),
        namedtype.OptionalNamedType("date-for-reply", ISODate().subtype(implicitTag=_implicit(1))),
        namedtype.OptionalNamedType("locations", _locations(2)),
        namedtype.OptionalNamedType("proposed-delivery-service", DeliveryService()),
    )


# Retry-Results ::= SEQUENCE {
#     reason-not-available [0] IMPLICIT ENUMERATED {
#         in-use-on-loan (1), in-process (2), on-order (6),
#         volume-issue-not-yet-available (7), at-bindery (8), cost-exceeds-limit (13),
#         charges (14), prepayment-required (15), lacks-copyright-compliance (16),
#         not-found-as-cited (17), on-hold (19), other (27), responder-specific (28)
#         } OPTIONAL,
#     retry-date           [1] IMPLICIT ISO-Date OPTIONAL,
#     locations            [2] IMPLICIT SEQUENCE OF Location-Info OPTIONAL
#     }
class RetryResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "reason-not-available",
            _enumerated(
                ("in-use-on-loan", 1),
                ("in-process", 2),
                ("on-order", 6),
                ("volume-issue-not-yet-available", 7),
                ("at-bindery", 8),
                ("cost-exceeds-limit", 13),
                ("charges", 14),
                ("prepayment-required", 15),
                ("lacks-copyright-compliance", 16),
                ("not-found-as-cited", 17),
                ("on-hold", 19),
                ("other", 27),
                ("responder-specific", 28),
            ).subtype(implicitTag=_implicit(0)),
        ),
        namedtype.OptionalNamedType("retry-date", ISODate().subtype(implicitTag=_implicit(1))),
        namedtype.OptionalNamedType("locations", _locations(2)),
    )


# Unfilled-Results ::= SEQUENCE {
#     reason-unfilled [0] IMPLICIT Reason-Unfilled,
#     locations       [1] IMPLICIT SEQUENCE OF Location-Info OPTIONAL
#     }
class UnfilledResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("reason-unfilled", ReasonUnfilled().subtype(implicitTag=_implicit(0))),
        namedtype.OptionalNamedType("locations", _locations(1)),
    )


# Locations-Results ::= SEQUENCE {
#     reason-locs-provided [0] IMPLICIT Reason-Locs-Provided OPTIONAL,
#     locations            [1] IMPLICIT SEQUENCE OF Location-Info
#     }
class LocationsResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "reason-locs-provided", ReasonLocsProvided().subtype(implicitTag=_implicit(0))
        ),
        namedtype.NamedType("locations", _locations(1)),
    )


# Will-Supply-Results ::= SEQUENCE {
#     reason-will-supply          [0] ENUMERATED {
#         in-use-on-loan (1), in-process (2), on-order (6), at-bindery (8), on-hold (19),
#         being-processed-for-supply (26), other (27), responder-specific (28),
#         electronic-delivery (30)
#         },
#     supply-date                 [1] ISO-Date OPTIONAL,
#     return-to-address           [2] Postal-Address OPTIONAL,
#     locations                   [3] IMPLICIT SEQUENCE OF Location-Info OPTIONAL,
#     electronic-delivery-service [4] Electronic-Delivery-Service OPTIONAL
#         -- if present, this must be one of the services proposed by the requester
#     }
class WillSupplyResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "reason-will-supply",
            _enumerated(
                ("in-use-on-loan", 1),
                ("in-process", 2),
                ("on-order", 6),
                ("at-bindery", 8),
                ("on-hold", 19),
                ("being-processed-for-supply", 26),
                ("other", 27),
                ("responder-specific", 28),
                ("electronic-delivery", 30),
            ).subtype(explicitTag=_explicit(0)),
        ),
        namedtype.OptionalNamedType("supply-date", ISODate().subtype(explicitTag=_explicit(1))),
        namedtype.OptionalNamedType(
            "return-to-address", PostalAddress().subtype(explicitTag=_explicit(2))
        ),
        namedtype.OptionalNamedType("locations", _locations(3)),
        namedtype.OptionalNamedType(
            "electronic-delivery-service",
            ElectronicDeliveryService().subtype(explicitTag=_explicit(4)),
        ),
    )


# Hold-Placed-Results ::= SEQUENCE {
#     estimated-date-available [0] IMPLICIT ISO-Date,
#     hold-placed-medium-type  [1] IMPLICIT Medium-Type OPTIONAL,
#     locations                [2] IMPLICIT SEQUENCE OF Location-Info OPTIONAL
#     }
class HoldPlacedResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "estimated-date-available", ISODate().subtype(implicitTag=_implicit(0))
        ),
        namedtype.OptionalNamedType(
            "hold-placed-medium-type", MediumType().subtype(implicitTag=_implicit(1))
        ),
        namedtype.OptionalNamedType("locations", _locations(2)),
    )


# Estimate-Results ::= SEQUENCE {
#     cost-estimate [0] ILL-String,
#     locations     [1] IMPLICIT SEQUENCE OF Location-Info OPTIONAL
#     }
class EstimateResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("cost-estimate", ILLString().subtype(explicitTag=_explicit(0))),
        namedtype.OptionalNamedType("locations", _locations(1)),
    )


# =============================================================================
# Shipping and damage
# =============================================================================


# Units-Per-Medium-Type ::= SEQUENCE {
#     medium      [0] Supply-Medium-Type,
#     no-of-units [1] INTEGER (1..9999)
#     }
class UnitsPerMediumType(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("medium", SupplyMediumType().subtype(explicitTag=_explicit(0))),
        namedtype.NamedType(
            "no-of-units",
            univ.Integer().subtype(
                explicitTag=_explicit(1), subtypeSpec=constraint.ValueRangeConstraint(1, 9999)
            ),
        ),
    )


# Supply-Details ::= SEQUENCE {
#     date-shipped             [0] IMPLICIT ISO-Date OPTIONAL,
#     date-due                 [1] IMPLICIT Date-Due OPTIONAL,
#     chargeable-units         [2] IMPLICIT INTEGER (1..9999) OPTIONAL,
#     cost                     [3] IMPLICIT Amount OPTIONAL,
#     shipped-conditions       [4] IMPLICIT ENUMERATED {
#         library-use-only (22), no-reproduction (23), client-signature-required (24),
#         special-collections-supervision-required (25), other (27)
#         } OPTIONAL,
#     shipped-via                  CHOICE {
#         physical-delivery   [5]  Transportation-Mode,
#         electronic-delivery [50] IMPLICIT Electronic-Delivery-Service
#         } OPTIONAL,
#         -- electronic-delivery only in APDUs with protocol-version-num 2 or greater
#     insured-for              [6] IMPLICIT Amount OPTIONAL,
#     return-insurance-require [7] IMPLICIT Amount OPTIONAL,
#     no-of-units-per-medium   [8] IMPLICIT SEQUENCE OF Units-Per-Medium-Type OPTIONAL
#     }
class SupplyDetails(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("date-shipped", ISODate().subtype(implicitTag=_implicit(0))),
        namedtype.OptionalNamedType(
            "date-due", DateDue().subtype(implicitTag=_implicit_constructed(1))
        ),
        namedtype.OptionalNamedType(
            "chargeable-units",
            univ.Integer().subtype(
                implicitTag=_implicit(2), subtypeSpec=constraint.ValueRangeConstraint(1, 9999)
            ),
        ),
        namedtype.OptionalNamedType("cost", Amount().subtype(implicitTag=_implicit_constructed(3))),
        namedtype.OptionalNamedType(
            "shipped-conditions",
            _enumerated(
                ("library-use-only", 22),
                ("no-reproduction", 23),
                ("client-signature-required", 24),
                ("special-collections-supervision-required", 25),
                ("other", 27),
            ).subtype(implicitTag=_implicit(4)),
        ),
        namedtype.OptionalNamedType(
            "shipped-via",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "physical-delivery",
                        TransportationMode().subtype(explicitTag=_explicit(5)),
                    ),
                    namedtype.NamedType(
                        "electronic-delivery",
                        ElectronicDeliveryService().subtype(implicitTag=_implicit_constructed(50)),
                    ),
                )
            ),
        ),
        namedtype.OptionalNamedType(
            "insured-for", Amount().subtype(implicitTag=_implicit_constructed(6))
        ),
        namedtype.OptionalNamedType(
            "return-insurance-require", Amount().subtype(implicitTag=_implicit_constructed(7))
        ),
        namedtype.OptionalNamedType(
            "no-of-units-per-medium",
            univ.SequenceOf(componentType=UnitsPerMediumType()).subtype(
                implicitTag=_implicit_constructed(8)
            ),
        ),
    )


# Damaged-Details ::= SEQUENCE {
#     document-type-id [0] IMPLICIT OBJECT IDENTIFIER OPTIONAL,
#         -- an OSI document type registered per ISO 9834-2
#     damaged-portion      CHOICE {
#         complete-document [1] IMPLICIT NULL,
#         specific-units    [2] IMPLICIT SEQUENCE OF INTEGER
#             -- what a "unit" is follows from document-type-id, if supplied
#         }
#     }
class DamagedDetails(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType(
            "document-type-id", univ.ObjectIdentifier().subtype(implicitTag=_implicit(0))
        ),
        namedtype.NamedType(
            "damaged-portion",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "complete-document", univ.Null().subtype(implicitTag=_implicit(1))
                    ),
                    namedtype.NamedType(
                        "specific-units",
                        univ.SequenceOf(componentType=univ.Integer()).subtype(
                            implicitTag=_implicit_constructed(2)
                        ),
                    ),
                )
            ),
        ),
    )


# =============================================================================
# Status and error reports
# =============================================================================


# History-Report ::= SEQUENCE {
#     date-requested                   [0] IMPLICIT ISO-Date OPTIONAL,
#     author                           [1] ILL-String OPTIONAL,
#     title                            [2] ILL-String OPTIONAL,
#     author-of-article                [3] ILL-String OPTIONAL,
#     title-of-article                 [4] ILL-String OPTIONAL,
#     date-of-last-transition          [5] IMPLICIT ISO-Date,
#     most-recent-service              [6] IMPLICIT ENUMERATED {
#         iLL-REQUEST (1), fORWARD (21), fORWARD-NOTIFICATION (2), sHIPPED (3),
#         iLL-ANSWER (4), cONDITIONAL-REPLY (5), cANCEL (6), cANCEL-REPLY (7),
#         rECEIVED (8), rECALL (9), rETURNED (10), cHECKED-IN (11), rENEW-ANSWER (14),
#         lOST (15), dAMAGED (16), mESSAGE (17), sTATUS-QUERY (18),
#         sTATUS-OR-ERROR-REPORT (19), eXPIRED (20)
#         },
#     date-of-most-recent-service      [7] IMPLICIT ISO-Date,
#     initiator-of-most-recent-service [8] IMPLICIT System-Id,
#     shipped-service-type             [9] IMPLICIT Shipped-Service-Type OPTIONAL,
#         -- supplied if a SHIPPED or RECEIVED has been sent or received
#     transaction-results              [10] IMPLICIT Transaction-Results OPTIONAL,
#         -- supplied if an ILL-ANSWER has been sent or received
#     most-recent-service-note         [11] ILL-String OPTIONAL
#         -- supplied if the most recent service primitive carried a note
#     }
class HistoryReport(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("date-requested", ISODate().subtype(implicitTag=_implicit(0))),
        namedtype.OptionalNamedType("author", ILLString().subtype(explicitTag=_explicit(1))),
        namedtype.OptionalNamedType("title", ILLString().subtype(explicitTag=_explicit(2))),
        namedtype.OptionalNamedType(
            "author-of-article", ILLString().subtype(explicitTag=_explicit(3))
        ),
        namedtype.OptionalNamedType(
            "title-of-article", ILLString().subtype(explicitTag=_explicit(4))
        ),
        namedtype.NamedType("date-of-last-transition", ISODate().subtype(implicitTag=_implicit(5))),
        namedtype.NamedType(
            "most-recent-service",
            _enumerated(
                ("iLL-REQUEST", 1),
                ("fORWARD", 21),
                ("fORWARD-NOTIFICATION", 2),
                ("sHIPPED", 3),
                ("iLL-ANSWER", 4),
                ("cONDITIONAL-REPLY", 5),
                ("cANCEL", 6),
                ("cANCEL-REPLY", 7),
                ("rECEIVED", 8),
                ("rECALL", 9),
                ("rETURNED", 10),
                ("cHECKED-IN", 11),
                ("rENEW-ANSWER", 14),
                ("lOST", 15),
                ("dAMAGED", 16),
                ("mESSAGE", 17),
                ("sTATUS-QUERY", 18),
                ("sTATUS-OR-ERROR-REPORT", 19),
                ("eXPIRED", 20),
            ).subtype(implicitTag=_implicit(6)),
        ),
        namedtype.NamedType(
            "date-of-most-recent-service", ISODate().subtype(implicitTag=_implicit(7))
        ),
        namedtype.NamedType(
            "initiator-of-most-recent-service",
            SystemId().subtype(implicitTag=_implicit_constructed(8)),
        ),
        namedtype.OptionalNamedType(
            "shipped-service-type", ShippedServiceType().subtype(implicitTag=_implicit(9))
        ),
        namedtype.OptionalNamedType(
            "transaction-results", TransactionResults().subtype(implicitTag=_implicit(10))
        ),
        namedtype.OptionalNamedType(
            "most-recent-service-note", ILLString().subtype(explicitTag=_explicit(11))
        ),
    )


# State-Transition-Prohibited ::= SEQUENCE {
#     aPDU-type     [0] IMPLICIT ILL-APDU-Type,
#     current-state [1] IMPLICIT Current-State
#     }
class StateTransitionProhibited(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("aPDU-type", ILLAPDUType().subtype(implicitTag=_implicit(0))),
        namedtype.NamedType("current-state", CurrentState().subtype(implicitTag=_implicit(1))),
    )


# Status-Report ::= SEQUENCE {
#     user-status-report     [0] IMPLICIT History-Report,
#     provider-status-report [1] IMPLICIT Current-State
#     }
class StatusReport(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "user-status-report", HistoryReport().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.NamedType(
            "provider-status-report", CurrentState().subtype(implicitTag=_implicit(1))
        ),
    )


# Provider-Error-Report ::= CHOICE {
#     general-problem             [0] IMPLICIT General-Problem,
#     transaction-id-problem      [1] IMPLICIT Transaction-Id-Problem,
#     state-transition-prohibited [2] IMPLICIT State-Transition-Prohibited
#     }
class ProviderErrorReport(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("general-problem", GeneralProblem().subtype(implicitTag=_implicit(0))),
        namedtype.NamedType(
            "transaction-id-problem", TransactionIdProblem().subtype(implicitTag=_implicit(1))
        ),
        namedtype.NamedType(
            "state-transition-prohibited",
            StateTransitionProhibited().subtype(implicitTag=_implicit_constructed(2)),
        ),
    )


# User-Error-Report ::= CHOICE {
#     already-forwarded    [0] IMPLICIT Already-Forwarded,
#     intermediary-problem [1] IMPLICIT Intermediary-Problem,
#     security-problem     [2] Security-Problem,
#     unable-to-perform    [3] IMPLICIT Unable-To-Perform
#     }
class UserErrorReport(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "already-forwarded", AlreadyForwarded().subtype(implicitTag=_implicit_constructed(0))
        ),
        namedtype.NamedType(
            "intermediary-problem", IntermediaryProblem().subtype(implicitTag=_implicit(1))
        ),
        namedtype.NamedType(
            "security-problem", SecurityProblem().subtype(explicitTag=_explicit(2))
        ),
        namedtype.NamedType(
            "unable-to-perform", UnableToPerform().subtype(implicitTag=_implicit(3))
        ),
    )


# Error-Report ::= SEQUENCE {
#     correlation-information [0] ILL-String,
#     report-source           [1] IMPLICIT Report-Source,
#     user-error-report       [2] User-Error-Report OPTIONAL,
#         -- mandatory if report-source is "user"; not present otherwise
#     provider-error-report   [3] Provider-Error-Report OPTIONAL
#         -- mandatory if report-source is "provider"; not present otherwise
#     }
class ErrorReport(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "correlation-information", ILLString().subtype(explicitTag=_explicit(0))
        ),
        namedtype.NamedType("report-source", ReportSource().subtype(implicitTag=_implicit(1))),
        namedtype.OptionalNamedType(
            "user-error-report", UserErrorReport().subtype(explicitTag=_explicit(2))
        ),
        namedtype.OptionalNamedType(
            "provider-error-report", ProviderErrorReport().subtype(explicitTag=_explicit(3))
        ),
    )


# =============================================================================
# Extensions
# =============================================================================


# Extension ::= SEQUENCE {
#     identifier [0] IMPLICIT INTEGER,
#     critical   [1] IMPLICIT BOOLEAN DEFAULT FALSE,
#     item       [2] ANY DEFINED BY identifier
#     }
class Extension(univ.Sequence):
    """A protocol extension; ``item`` holds the raw TLV (usually an EXTERNAL)."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("identifier", univ.Integer().subtype(implicitTag=_implicit(0))),
        namedtype.DefaultedNamedType(
            "critical", univ.Boolean().subtype(implicitTag=_implicit(1), value=False)
        ),
        namedtype.NamedType("item", univ.Any().subtype(explicitTag=_explicit(2))),
    )


# =============================================================================
# Fields shared by every APDU
# =============================================================================


def _protocol_version_num() -> namedtype.NamedType:
    """``protocol-version-num [0] IMPLICIT INTEGER { version-1 (1), version-2 (2) }``."""
    return namedtype.NamedType(
        "protocol-version-num",
        univ.Integer(namedValues=namedval.NamedValues(("version-1", 1), ("version-2", 2))).subtype(
            implicitTag=_implicit(0)
        ),
    )


def _transaction_id() -> namedtype.NamedType:
    """``transaction-id [1] IMPLICIT Transaction-Id``."""
    return namedtype.NamedType(
        "transaction-id", TransactionId().subtype(implicitTag=_implicit_constructed(1))
    )


def _service_date_time() -> namedtype.NamedType:
    """``service-date-time [2] IMPLICIT Service-Date-Time``."""
    return namedtype.NamedType(
        "service-date-time", ServiceDateTime().subtype(implicitTag=_implicit_constructed(2))
    )


def _system_id(name: str, n: int, *, optional: bool = True) -> namedtype.NamedType:
    """``name [n] IMPLICIT System-Id [OPTIONAL]``."""
    kind = namedtype.OptionalNamedType if optional else namedtype.NamedType
    return kind(name, SystemId().subtype(implicitTag=_implicit_constructed(n)))


def _note(name: str, *, optional: bool = True) -> namedtype.NamedType:
    """``name [46] ILL-String [OPTIONAL]`` (requester-note, responder-note, note)."""
    kind = namedtype.OptionalNamedType if optional else namedtype.NamedType
    return kind(name, ILLString().subtype(explicitTag=_explicit(46)))


def _extensions(name: str) -> namedtype.NamedType:
    """``name [49] IMPLICIT SEQUENCE OF Extension OPTIONAL``."""
    return namedtype.OptionalNamedType(
        name,
        univ.SequenceOf(componentType=Extension()).subtype(implicitTag=_implicit_constructed(49)),
    )


def _optional_supplemental_item_description() -> namedtype.NamedType:
    """``supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL``."""
    return namedtype.OptionalNamedType(
        "supplemental-item-description",
        SupplementalItemDescription().subtype(implicitTag=_implicit_constructed(17)),
    )


def _responder_optional_messages() -> namedtype.NamedType:
    """``responder-optional-messages [28] IMPLICIT Responder-Optional-Messages-Type OPTIONAL``."""
    return namedtype.OptionalNamedType(
        "responder-optional-messages",
        ResponderOptionalMessagesType().subtype(implicitTag=_implicit_constructed(28)),
    )


def _transaction_type() -> namedtype.NamedType:
    """``transaction-type [5] IMPLICIT Transaction-Type DEFAULT 1``."""
    return namedtype.DefaultedNamedType(
        "transaction-type", TransactionType().subtype(implicitTag=_implicit(5), value=1)
    )


# =============================================================================
# The APDUs
#
# Every APDU starts with the same five components; the comments below write
# them out once per APDU as the standard does, minus the repeated remarks
#     -- mandatory when using store-and-forward communications
#     -- optional when using connection-oriented communications
# that the standard attaches to requester-id and responder-id.
# =============================================================================


# ILL-Request ::= [APPLICATION 1] SEQUENCE {
#     protocol-version-num          [0]  IMPLICIT INTEGER {
#                                            version-1 (1),
#                                            version-2 (2)
#                                            },
#     transaction-id                [1]  IMPLICIT Transaction-Id,
#     service-date-time             [2]  IMPLICIT Service-Date-Time,
#     requester-id                  [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                  [4]  IMPLICIT System-Id OPTIONAL,
#     transaction-type              [5]  IMPLICIT Transaction-Type DEFAULT 1,
#     delivery-address              [6]  IMPLICIT Delivery-Address OPTIONAL,
#     delivery-service                   Delivery-Service OPTIONAL,
#     billing-address               [8]  IMPLICIT Delivery-Address OPTIONAL,
#     iLL-service-type              [9]  IMPLICIT SEQUENCE SIZE (1..5) OF ILL-Service-Type,
#         -- this sequence is a list, in order of preference
#     responder-specific-service    [10] EXTERNAL OPTIONAL,
#         -- use direct reference style
#     requester-optional-messages   [11] IMPLICIT Requester-Optional-Messages-Type,
#     search-type                   [12] IMPLICIT Search-Type OPTIONAL,
#     supply-medium-info-type       [13] IMPLICIT SEQUENCE SIZE (1..7) OF
#                                            Supply-Medium-Info-Type OPTIONAL,
#         -- this sequence is a list, in order of preference
#     place-on-hold                 [14] IMPLICIT Place-On-Hold-Type DEFAULT 3,
#     client-id                     [15] IMPLICIT Client-Id OPTIONAL,
#     item-id                       [16] IMPLICIT Item-Id,
#     supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL,
#     cost-info-type                [18] IMPLICIT Cost-Info-Type OPTIONAL,
#     copyright-compliance          [19] ILL-String OPTIONAL,
#     third-party-info-type         [20] IMPLICIT Third-Party-Info-Type OPTIONAL,
#         -- mandatory when initiating a FORWARD service or an ILL-REQUEST service
#         -- for a partitioned ILL sub-transaction or when initiating an ILL-REQUEST
#         -- service for an ILL sub-transaction if the received ILL-REQUEST included
#         -- an "already-tried-list"; optional otherwise
#     retry-flag                    [21] IMPLICIT BOOLEAN DEFAULT FALSE,
#     forward-flag                  [22] IMPLICIT BOOLEAN DEFAULT FALSE,
#     requester-note                [46] ILL-String OPTIONAL,
#     forward-note                  [47] ILL-String OPTIONAL,
#     iLL-request-extensions        [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class ILLRequest(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(1))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _transaction_type(),
        namedtype.OptionalNamedType(
            "delivery-address", DeliveryAddress().subtype(implicitTag=_implicit_constructed(6))
        ),
        namedtype.OptionalNamedType("delivery-service", DeliveryService()),
        namedtype.OptionalNamedType(
            "billing-address", DeliveryAddress().subtype(implicitTag=_implicit_constructed(8))
        ),
        namedtype.NamedType(
            "iLL-service-type",
            univ.SequenceOf(
                componentType=ILLServiceType(),
                subtypeSpec=constraint.ValueSizeConstraint(1, 5),
            ).subtype(implicitTag=_implicit_constructed(9)),
        ),
        namedtype.OptionalNamedType(
            "responder-specific-service", External().subtype(explicitTag=_explicit(10))
        ),
        namedtype.NamedType(
            "requester-optional-messages",
            RequesterOptionalMessagesType().subtype(implicitTag=_implicit_constructed(11)),
        ),
        namedtype.OptionalNamedType(
            "search-type", SearchType().subtype(implicitTag=_implicit_constructed(12))
        ),
        namedtype.OptionalNamedType(
            "supply-medium-info-type",
            univ.SequenceOf(
                componentType=SupplyMediumInfoType(),
                subtypeSpec=constraint.ValueSizeConstraint(1, 7),
            ).subtype(implicitTag=_implicit_constructed(13)),
        ),
        namedtype.DefaultedNamedType(
            "place-on-hold", PlaceOnHoldType().subtype(implicitTag=_implicit(14), value=3)
        ),
        namedtype.OptionalNamedType(
            "client-id", ClientId().subtype(implicitTag=_implicit_constructed(15))
        ),
        namedtype.NamedType("item-id", ItemId().subtype(implicitTag=_implicit_constructed(16))),
        _optional_supplemental_item_description(),
        namedtype.OptionalNamedType(
            "cost-info-type", CostInfoType().subtype(implicitTag=_implicit_constructed(18))
        ),
        namedtype.OptionalNamedType(
            "copyright-compliance", ILLString().subtype(explicitTag=_explicit(19))
        ),
        namedtype.OptionalNamedType(
            "third-party-info-type",
            ThirdPartyInfoType().subtype(implicitTag=_implicit_constructed(20)),
        ),
        namedtype.DefaultedNamedType(
            "retry-flag", univ.Boolean().subtype(implicitTag=_implicit(21), value=False)
        ),
        namedtype.DefaultedNamedType(
            "forward-flag", univ.Boolean().subtype(implicitTag=_implicit(22), value=False)
        ),
        _note("requester-note"),
        namedtype.OptionalNamedType("forward-note", ILLString().subtype(explicitTag=_explicit(47))),
        _extensions("iLL-request-extensions"),
    )


# Forward-Notification ::= [APPLICATION 2] SEQUENCE {
#     protocol-version-num            [0]  IMPLICIT INTEGER {
#                                              version-1 (1),
#                                              version-2 (2)
#                                              },
#     transaction-id                  [1]  IMPLICIT Transaction-Id,
#     service-date-time               [2]  IMPLICIT Service-Date-Time,
#     requester-id                    [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                    [4]  IMPLICIT System-Id,
#         -- mandatory in this APDU
#     responder-address               [24] IMPLICIT System-Address OPTIONAL,
#     intermediary-id                 [25] IMPLICIT System-Id,
#     notification-note               [48] ILL-String OPTIONAL,
#     forward-notification-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class ForwardNotification(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(2))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4, optional=False),
        namedtype.OptionalNamedType(
            "responder-address", SystemAddress().subtype(implicitTag=_implicit_constructed(24))
        ),
        _system_id("intermediary-id", 25, optional=False),
        namedtype.OptionalNamedType(
            "notification-note", ILLString().subtype(explicitTag=_explicit(48))
        ),
        _extensions("forward-notification-extensions"),
    )


# Shipped ::= [APPLICATION 3] SEQUENCE {
#     protocol-version-num          [0]  IMPLICIT INTEGER {
#                                            version-1 (1),
#                                            version-2 (2)
#                                            },
#     transaction-id                [1]  IMPLICIT Transaction-Id,
#     service-date-time             [2]  IMPLICIT Service-Date-Time,
#     requester-id                  [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                  [4]  IMPLICIT System-Id OPTIONAL,
#     responder-address             [24] IMPLICIT System-Address OPTIONAL,
#     intermediary-id               [25] IMPLICIT System-Id OPTIONAL,
#     supplier-id                   [26] IMPLICIT System-Id OPTIONAL,
#     client-id                     [15] IMPLICIT Client-Id OPTIONAL,
#     transaction-type              [5]  IMPLICIT Transaction-Type DEFAULT 1,
#     supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL,
#     shipped-service-type          [27] IMPLICIT Shipped-Service-Type,
#     responder-optional-messages   [28] IMPLICIT Responder-Optional-Messages-Type OPTIONAL,
#     supply-details                [29] IMPLICIT Supply-Details,
#     return-to-address             [30] IMPLICIT Postal-Address OPTIONAL,
#     responder-note                [46] ILL-String OPTIONAL,
#     shipped-extensions            [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Shipped(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(3))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.OptionalNamedType(
            "responder-address", SystemAddress().subtype(implicitTag=_implicit_constructed(24))
        ),
        _system_id("intermediary-id", 25),
        _system_id("supplier-id", 26),
        namedtype.OptionalNamedType(
            "client-id", ClientId().subtype(implicitTag=_implicit_constructed(15))
        ),
        _transaction_type(),
        _optional_supplemental_item_description(),
        namedtype.NamedType(
            "shipped-service-type", ShippedServiceType().subtype(implicitTag=_implicit(27))
        ),
        _responder_optional_messages(),
        namedtype.NamedType(
            "supply-details", SupplyDetails().subtype(implicitTag=_implicit_constructed(29))
        ),
        namedtype.OptionalNamedType(
            "return-to-address", PostalAddress().subtype(implicitTag=_implicit_constructed(30))
        ),
        _note("responder-note"),
        _extensions("shipped-extensions"),
    )


# ILL-Answer ::= [APPLICATION 4] SEQUENCE {
#     protocol-version-num          [0]  IMPLICIT INTEGER {
#                                            version-1 (1),
#                                            version-2 (2)
#                                            },
#     transaction-id                [1]  IMPLICIT Transaction-Id,
#     service-date-time             [2]  IMPLICIT Service-Date-Time,
#     requester-id                  [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                  [4]  IMPLICIT System-Id OPTIONAL,
#     transaction-results           [31] IMPLICIT Transaction-Results,
#     results-explanation           [32] CHOICE {
#         conditional-results  [1] Conditional-Results,  -- transaction-results=CONDITIONAL
#         retry-results        [2] Retry-Results,        -- transaction-results=RETRY
#         unfilled-results     [3] Unfilled-Results,     -- transaction-results=UNFILLED
#         locations-results    [4] Locations-Results,    -- ...=LOCATIONS-PROVIDED
#         will-supply-results  [5] Will-Supply-Results,  -- transaction-results=WILL-SUPPLY
#         hold-placed-results  [6] Hold-Placed-Results,  -- transaction-results=HOLD-PLACED
#         estimate-results     [7] Estimate-Results      -- transaction-results=ESTIMATE
#         } OPTIONAL,
#         -- optional for RETRY, UNFILLED, WILL-SUPPLY or HOLD-PLACED;
#         -- required for CONDITIONAL, LOCATIONS-PROVIDED or ESTIMATE
#     responder-specific-results    [33] EXTERNAL OPTIONAL,
#         -- mandatory if a results-explanation has the value "responder-specific"
#     supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL,
#     send-to-list                  [23] IMPLICIT Send-To-List-Type OPTIONAL,
#     already-tried-list            [34] IMPLICIT Already-Tried-List-Type OPTIONAL,
#     responder-optional-messages   [28] IMPLICIT Responder-Optional-Messages-Type OPTIONAL,
#     responder-note                [46] ILL-String OPTIONAL,
#     ill-answer-extensions         [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class ILLAnswer(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(4))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType(
            "transaction-results", TransactionResults().subtype(implicitTag=_implicit(31))
        ),
        namedtype.OptionalNamedType(
            "results-explanation",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "conditional-results",
                        ConditionalResults().subtype(explicitTag=_explicit(1)),
                    ),
                    namedtype.NamedType(
                        "retry-results", RetryResults().subtype(explicitTag=_explicit(2))
                    ),
                    namedtype.NamedType(
                        "unfilled-results", UnfilledResults().subtype(explicitTag=_explicit(3))
                    ),
                    namedtype.NamedType(
                        "locations-results", LocationsResults().subtype(explicitTag=_explicit(4))
                    ),
                    namedtype.NamedType(
                        "will-supply-results",
                        WillSupplyResults().subtype(explicitTag=_explicit(5)),
                    ),
                    namedtype.NamedType(
                        "hold-placed-results",
                        HoldPlacedResults().subtype(explicitTag=_explicit(6)),
                    ),
                    namedtype.NamedType(
                        "estimate-results", EstimateResults().subtype(explicitTag=_explicit(7))
                    ),
                )
            ).subtype(explicitTag=_explicit(32)),
        ),
        namedtype.OptionalNamedType(
            "responder-specific-results", External().subtype(explicitTag=_explicit(33))
        ),
        _optional_supplemental_item_description(),
        namedtype.OptionalNamedType(
            "send-to-list", SendToListType().subtype(implicitTag=_implicit_constructed(23))
        ),
        namedtype.OptionalNamedType(
            "already-tried-list",
            AlreadyTriedListType().subtype(implicitTag=_implicit_constructed(34)),
        ),
        _responder_optional_messages(),
        _note("responder-note"),
        _extensions("ill-answer-extensions"),
    )


# Conditional-Reply ::= [APPLICATION 5] SEQUENCE {
#     protocol-version-num         [0]  IMPLICIT INTEGER {
#                                           version-1 (1),
#                                           version-2 (2)
#                                           },
#     transaction-id               [1]  IMPLICIT Transaction-Id,
#     service-date-time            [2]  IMPLICIT Service-Date-Time,
#     requester-id                 [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                 [4]  IMPLICIT System-Id OPTIONAL,
#     answer                       [35] IMPLICIT BOOLEAN,
#     requester-note               [46] ILL-String OPTIONAL,
#     conditional-reply-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class ConditionalReply(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(5))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType("answer", univ.Boolean().subtype(implicitTag=_implicit(35))),
        _note("requester-note"),
        _extensions("conditional-reply-extensions"),
    )


# Cancel ::= [APPLICATION 6] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     requester-note       [46] ILL-String OPTIONAL,
#     cancel-extensions    [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Cancel(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(6))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _note("requester-note"),
        _extensions("cancel-extensions"),
    )


# Cancel-Reply ::= [APPLICATION 7] SEQUENCE {
#     protocol-version-num    [0]  IMPLICIT INTEGER {
#                                      version-1 (1),
#                                      version-2 (2)
#                                      },
#     transaction-id          [1]  IMPLICIT Transaction-Id,
#     service-date-time       [2]  IMPLICIT Service-Date-Time,
#     requester-id            [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id            [4]  IMPLICIT System-Id OPTIONAL,
#     answer                  [35] IMPLICIT BOOLEAN,
#     responder-note          [46] ILL-String OPTIONAL,
#     cancel-reply-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class CancelReply(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(7))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType("answer", univ.Boolean().subtype(implicitTag=_implicit(35))),
        _note("responder-note"),
        _extensions("cancel-reply-extensions"),
    )


# Received ::= [APPLICATION 8] SEQUENCE {
#     protocol-version-num          [0]  IMPLICIT INTEGER {
#                                            version-1 (1),
#                                            version-2 (2)
#                                            },
#     transaction-id                [1]  IMPLICIT Transaction-Id,
#     service-date-time             [2]  IMPLICIT Service-Date-Time,
#     requester-id                  [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                  [4]  IMPLICIT System-Id OPTIONAL,
#     supplier-id                   [26] IMPLICIT System-Id OPTIONAL,
#     supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL,
#     date-received                 [36] IMPLICIT ISO-Date,
#     shipped-service-type          [27] IMPLICIT Shipped-Service-Type,
#     requester-note                [46] ILL-String OPTIONAL,
#     received-extensions           [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Received(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(8))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _system_id("supplier-id", 26),
        _optional_supplemental_item_description(),
        namedtype.NamedType("date-received", ISODate().subtype(implicitTag=_implicit(36))),
        namedtype.NamedType(
            "shipped-service-type", ShippedServiceType().subtype(implicitTag=_implicit(27))
        ),
        _note("requester-note"),
        _extensions("received-extensions"),
    )


# Recall ::= [APPLICATION 9] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     responder-note       [46] ILL-String OPTIONAL,
#     recall-extensions    [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Recall(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(9))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _note("responder-note"),
        _extensions("recall-extensions"),
    )


# Returned ::= [APPLICATION 10] SEQUENCE {
#     protocol-version-num          [0]  IMPLICIT INTEGER {
#                                            version-1 (1),
#                                            version-2 (2)
#                                            },
#     transaction-id                [1]  IMPLICIT Transaction-Id,
#     service-date-time             [2]  IMPLICIT Service-Date-Time,
#     requester-id                  [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                  [4]  IMPLICIT System-Id OPTIONAL,
#     supplemental-item-description [17] IMPLICIT Supplemental-Item-Description OPTIONAL,
#     date-returned                 [37] IMPLICIT ISO-Date,
#     returned-via                  [38] Transportation-Mode OPTIONAL,
#     insured-for                   [39] IMPLICIT Amount OPTIONAL,
#     requester-note                [46] ILL-String OPTIONAL,
#     returned-extensions           [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Returned(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(10))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _optional_supplemental_item_description(),
        namedtype.NamedType("date-returned", ISODate().subtype(implicitTag=_implicit(37))),
        namedtype.OptionalNamedType(
            "returned-via", TransportationMode().subtype(explicitTag=_explicit(38))
        ),
        namedtype.OptionalNamedType(
            "insured-for", Amount().subtype(implicitTag=_implicit_constructed(39))
        ),
        _note("requester-note"),
        _extensions("returned-extensions"),
    )


# Checked-In ::= [APPLICATION 11] SEQUENCE {
#     protocol-version-num  [0]  IMPLICIT INTEGER {
#                                    version-1 (1),
#                                    version-2 (2)
#                                    },
#     transaction-id        [1]  IMPLICIT Transaction-Id,
#     service-date-time     [2]  IMPLICIT Service-Date-Time,
#     requester-id          [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id          [4]  IMPLICIT System-Id OPTIONAL,
#     date-checked-in       [40] IMPLICIT ISO-Date,
#     responder-note        [46] ILL-String OPTIONAL,
#     checked-in-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class CheckedIn(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(11))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType("date-checked-in", ISODate().subtype(implicitTag=_implicit(40))),
        _note("responder-note"),
        _extensions("checked-in-extensions"),
    )


# Overdue ::= [APPLICATION 12] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     date-due             [41] IMPLICIT Date-Due,
#     responder-note       [46] ILL-String OPTIONAL,
#     overdue-extensions   [49] SEQUENCE OF Extension OPTIONAL
#     }
class Overdue(univ.Sequence):
    """Note: unlike every other APDU, the extensions tag here is *explicit* (``bf 31 30``)."""

    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(12))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType("date-due", DateDue().subtype(implicitTag=_implicit_constructed(41))),
        _note("responder-note"),
        namedtype.OptionalNamedType(
            "overdue-extensions",
            univ.SequenceOf(componentType=Extension()).subtype(explicitTag=_explicit(49)),
        ),
    )


# Renew ::= [APPLICATION 13] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     desired-due-date     [42] IMPLICIT ISO-Date OPTIONAL,
#     requester-note       [46] ILL-String OPTIONAL,
#     renew-extensions     [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Renew(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(13))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.OptionalNamedType(
            "desired-due-date", ISODate().subtype(implicitTag=_implicit(42))
        ),
        _note("requester-note"),
        _extensions("renew-extensions"),
    )


# Renew-Answer ::= [APPLICATION 14] SEQUENCE {
#     protocol-version-num    [0]  IMPLICIT INTEGER {
#                                      version-1 (1),
#                                      version-2 (2)
#                                      },
#     transaction-id          [1]  IMPLICIT Transaction-Id,
#     service-date-time       [2]  IMPLICIT Service-Date-Time,
#     requester-id            [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id            [4]  IMPLICIT System-Id OPTIONAL,
#     answer                  [35] IMPLICIT BOOLEAN,
#     date-due                [41] IMPLICIT Date-Due OPTIONAL,
#     responder-note          [46] ILL-String OPTIONAL,
#     renew-answer-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class RenewAnswer(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(14))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.NamedType("answer", univ.Boolean().subtype(implicitTag=_implicit(35))),
        namedtype.OptionalNamedType(
            "date-due", DateDue().subtype(implicitTag=_implicit_constructed(41))
        ),
        _note("responder-note"),
        _extensions("renew-answer-extensions"),
    )


# Lost ::= [APPLICATION 15] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     note                 [46] ILL-String OPTIONAL,
#     lost-extensions      [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Lost(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(15))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _note("note"),
        _extensions("lost-extensions"),
    )


# Damaged ::= [APPLICATION 16] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     damaged-details      [5]  IMPLICIT Damaged-Details OPTIONAL,
#         -- only in APDUs with protocol-version-num 2 or greater
#     note                 [46] ILL-String OPTIONAL,
#     damaged-extensions   [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Damaged(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(16))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.OptionalNamedType(
            "damaged-details", DamagedDetails().subtype(implicitTag=_implicit_constructed(5))
        ),
        _note("note"),
        _extensions("damaged-extensions"),
    )


# Message ::= [APPLICATION 17] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     note                 [46] ILL-String,
#     message-extensions   [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Message(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(17))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _note("note", optional=False),
        _extensions("message-extensions"),
    )


# Status-Query ::= [APPLICATION 18] SEQUENCE {
#     protocol-version-num    [0]  IMPLICIT INTEGER {
#                                      version-1 (1),
#                                      version-2 (2)
#                                      },
#     transaction-id          [1]  IMPLICIT Transaction-Id,
#     service-date-time       [2]  IMPLICIT Service-Date-Time,
#     requester-id            [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id            [4]  IMPLICIT System-Id OPTIONAL,
#     note                    [46] ILL-String OPTIONAL,
#     status-query-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class StatusQuery(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(18))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _note("note"),
        _extensions("status-query-extensions"),
    )


# Status-Or-Error-Report ::= [APPLICATION 19] SEQUENCE {
#     protocol-version-num              [0]  IMPLICIT INTEGER {
#                                                version-1 (1),
#                                                version-2 (2)
#                                                },
#     transaction-id                    [1]  IMPLICIT Transaction-Id,
#     service-date-time                 [2]  IMPLICIT Service-Date-Time,
#     requester-id                      [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id                      [4]  IMPLICIT System-Id OPTIONAL,
#     reason-no-report                  [43] IMPLICIT Reason-No-Report OPTIONAL,
#         -- mandatory if no report is present; not present otherwise
#     status-report                     [44] IMPLICIT Status-Report OPTIONAL,
#     error-report                      [45] IMPLICIT Error-Report OPTIONAL,
#     note                              [46] ILL-String OPTIONAL,
#     status-or-error-report-extensions [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class StatusOrErrorReport(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(19))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        namedtype.OptionalNamedType(
            "reason-no-report", ReasonNoReport().subtype(implicitTag=_implicit(43))
        ),
        namedtype.OptionalNamedType(
            "status-report", StatusReport().subtype(implicitTag=_implicit_constructed(44))
        ),
        namedtype.OptionalNamedType(
            "error-report", ErrorReport().subtype(implicitTag=_implicit_constructed(45))
        ),
        _note("note"),
        _extensions("status-or-error-report-extensions"),
    )


# Expired ::= [APPLICATION 20] SEQUENCE {
#     protocol-version-num [0]  IMPLICIT INTEGER {
#                                   version-1 (1),
#                                   version-2 (2)
#                                   },
#     transaction-id       [1]  IMPLICIT Transaction-Id,
#     service-date-time    [2]  IMPLICIT Service-Date-Time,
#     requester-id         [3]  IMPLICIT System-Id OPTIONAL,
#     responder-id         [4]  IMPLICIT System-Id OPTIONAL,
#     expired-extensions   [49] IMPLICIT SEQUENCE OF Extension OPTIONAL
#     }
class Expired(univ.Sequence):
    tagSet = univ.Sequence.tagSet.tagExplicitly(_application(20))
    componentType = namedtype.NamedTypes(
        _protocol_version_num(),
        _transaction_id(),
        _service_date_time(),
        _system_id("requester-id", 3),
        _system_id("responder-id", 4),
        _extensions("expired-extensions"),
    )


# ILL-APDU ::= CHOICE {
#     ILL-Request, Forward-Notification, Shipped, ILL-Answer, Conditional-Reply,
#     Cancel, Cancel-Reply, Received, Recall, Returned, Checked-In, Overdue, Renew,
#     Renew-Answer, Lost, Damaged, Message, Status-Query, Status-Or-Error-Report,
#     Expired
#     }
class ILLAPDU(univ.Choice):
    """Any of the twenty APDUs; alternatives are named after the ASN.1 type names."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("ILL-Request", ILLRequest()),
        namedtype.NamedType("Forward-Notification", ForwardNotification()),
        namedtype.NamedType("Shipped", Shipped()),
        namedtype.NamedType("ILL-Answer", ILLAnswer()),
        namedtype.NamedType("Conditional-Reply", ConditionalReply()),
        namedtype.NamedType("Cancel", Cancel()),
        namedtype.NamedType("Cancel-Reply", CancelReply()),
        namedtype.NamedType("Received", Received()),
        namedtype.NamedType("Recall", Recall()),
        namedtype.NamedType("Returned", Returned()),
        namedtype.NamedType("Checked-In", CheckedIn()),
        namedtype.NamedType("Overdue", Overdue()),
        namedtype.NamedType("Renew", Renew()),
        namedtype.NamedType("Renew-Answer", RenewAnswer()),
        namedtype.NamedType("Lost", Lost()),
        namedtype.NamedType("Damaged", Damaged()),
        namedtype.NamedType("Message", Message()),
        namedtype.NamedType("Status-Query", StatusQuery()),
        namedtype.NamedType("Status-Or-Error-Report", StatusOrErrorReport()),
        namedtype.NamedType("Expired", Expired()),
    )


#: ILL-APDU alternative name -> APDU class, in the order of ILL-APDU-Type (1..20).
APDU_TYPES: dict[str, type[univ.Sequence]] = {
    "ILL-Request": ILLRequest,
    "Forward-Notification": ForwardNotification,
    "Shipped": Shipped,
    "ILL-Answer": ILLAnswer,
    "Conditional-Reply": ConditionalReply,
    "Cancel": Cancel,
    "Cancel-Reply": CancelReply,
    "Received": Received,
    "Recall": Recall,
    "Returned": Returned,
    "Checked-In": CheckedIn,
    "Overdue": Overdue,
    "Renew": Renew,
    "Renew-Answer": RenewAnswer,
    "Lost": Lost,
    "Damaged": Damaged,
    "Message": Message,
    "Status-Query": StatusQuery,
    "Status-Or-Error-Report": StatusOrErrorReport,
    "Expired": Expired,
}
