"""ASN.1 module ``OCLCSpecificResults``, OID 1.0.10161.8.1000.2.1.

Source: ``reference/asn1/ill-extensions.asn`` (OID from the comment in the module header).
OCLC's responder-specific-results for an ILL-Answer: why a request went to the review file.
No tagging default in the header: EXPLICIT unless marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit, implicit_constructed
from isoill.asn1.ill9702 import ILLString

__all__ = [
    "OID",
    "OCLCSpecificResults",
    "OCLCSpecificStatus",
    "ReasonInReview",
    "ReasonInReviewList",
]

OID = "1.0.10161.8.1000.2.1"


# OCLCSpecificStatus ::= ENUMERATED {
#      review                (1),
#      reviewInProcess       (2),
#      saved                 (3)
#      }
class OCLCSpecificStatus(univ.Enumerated):
    namedValues = namedval.NamedValues(("review", 1), ("reviewInProcess", 2), ("saved", 3))


# ReasonInReview ::= ENUMERATED {
#      reasonUnknown (1), reasonOther (2), directToReviewService (3),
#      noBibRecordNumbers (4), noBibRecordMatched (5), multipleBibRecordsMatched (6),
#      problemMatchingBibRecord (7), noProfilesDefined (8), noProfileMatched (9),
#      problemMatchingProfile (10), heldByYourLibrary (11), noValidLenders (12),
#      firstLenderInvalid (13), notEnoughLenders (14), serialItem (15),
#      holdingsPathNotFound (16), invalidHoldingsPath (17), noCustomHoldings (18),
#      noPreferredLenders (19), constantDataNotFound (20), invalidNeedBeforeDate (21),
#      invalidCopyrightCompliance (22), noShipToAddress (23), maxCostInvalidForIfm (24),
#      produceOptionInProfileOff (25), noVerification (26), noTitle (27),
#      noMainTitle (28), heldByYourCustomHoldingsGroup (29), holdingsGroupNotFound (30),
#      potentialDuplicateRequest (31)
#      }
class ReasonInReview(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("reasonUnknown", 1),
        ("reasonOther", 2),
        ("directToReviewService", 3),
        ("noBibRecordNumbers", 4),
        ("noBibRecordMatched", 5),
        ("multipleBibRecordsMatched", 6),
        ("problemMatchingBibRecord", 7),
        ("noProfilesDefined", 8),
        ("noProfileMatched", 9),
        ("problemMatchingProfile", 10),
        ("heldByYourLibrary", 11),
        ("noValidLenders", 12),
        ("firstLenderInvalid", 13),
        ("notEnoughLenders", 14),
        ("serialItem", 15),
        ("holdingsPathNotFound", 16),
        ("invalidHoldingsPath", 17),
        ("noCustomHoldings", 18),
        ("noPreferredLenders", 19),
        ("constantDataNotFound", 20),
        ("invalidNeedBeforeDate", 21),
        ("invalidCopyrightCompliance", 22),
        ("noShipToAddress", 23),
        ("maxCostInvalidForIfm", 24),
        ("produceOptionInProfileOff", 25),
        ("noVerification", 26),
        ("noTitle", 27),
        ("noMainTitle", 28),
        ("heldByYourCustomHoldingsGroup", 29),
        ("holdingsGroupNotFound", 30),
        ("potentialDuplicateRequest", 31),
    )


# ReasonInReviewList ::= SEQUENCE OF SEQUENCE {
#      reasonInReview        [0]  IMPLICIT ReasonInReview,
#      reasonInReviewText    [1]  ILL-String OPTIONAL
#      }
class ReasonInReviewList(univ.SequenceOf):
    componentType = univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType(
                "reasonInReview", ReasonInReview().subtype(implicitTag=implicit(0))
            ),
            namedtype.OptionalNamedType(
                "reasonInReviewText", ILLString().subtype(explicitTag=explicit(1))
            ),
        )
    )


# OCLCSpecificResults ::= SEQUENCE {
#      oclcSpecificStatus    [0]  IMPLICIT OCLCSpecificStatus,
#      reasonInReviewList    [1]  IMPLICIT ReasonInReviewList OPTIONAL
#      }
class OCLCSpecificResults(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "oclcSpecificStatus", OCLCSpecificStatus().subtype(implicitTag=implicit(0))
        ),
        namedtype.OptionalNamedType(
            "reasonInReviewList",
            ReasonInReviewList().subtype(implicitTag=implicit_constructed(1)),
        ),
    )
