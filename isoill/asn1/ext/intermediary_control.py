"""ASN.1 module ``Intermediary-Control``, OID 1.0.10161.13.1000.2.7.

Source: ``reference/asn1/ill-extensions.asn`` (OID from the comment in the module header).
Lets an intermediary (a broker between requester and responders) report and take control
of a transaction. No tagging default in the header: EXPLICIT unless marked IMPLICIT.
"""
# mypy: allow-subclassing-any

from pyasn1.type import namedtype, namedval, univ

from isoill.asn1.ext._tagging import explicit, implicit, implicit_constructed
from isoill.asn1.ill9702 import (
    ConditionalResults,
    EstimateResults,
    HoldPlacedResults,
    LocationsResults,
    RetryResults,
    SystemId,
    TransactionResults,
    UnfilledResults,
    WillSupplyResults,
)

__all__ = [
    "OID",
    "IntermediaryActions",
    "IntermediaryControl",
    "IntermediaryResponderControl",
]

OID = "1.0.10161.13.1000.2.7"


# Intermediary-Actions ::= ENUMERATED {
#      statusInformation	(1),
#      controlRequest	(2),
#      controlRelease	(3),
#      controlDenied	(4)
#      }
class IntermediaryActions(univ.Enumerated):
    namedValues = namedval.NamedValues(
        ("statusInformation", 1),
        ("controlRequest", 2),
        ("controlRelease", 3),
        ("controlDenied", 4),
    )


# Intermediary-Responder-Control ::= SEQUENCE {
#      transactionResults         [1] IMPLICIT Transaction-Results,
#      resultsExplanation         [2] CHOICE {
#             conditionalResults              [1] Conditional-Results,
#             retryResults                    [2] Retry-Results,
#             unfilledResults                 [3] Unfilled-Results,
#             locationsResults                [4] Locations-Results,
#             willSupplyResults               [5] Will-Supply-Results,
#             holdPlacedResults               [6] Hold-Placed-Results,
#             estimateResults                 [7] Estimate-Results
# 	    } OPTIONAL,
#      responderId			[3] IMPLICIT System-Id
#      }
# (the module's comments pair each alternative with the transactionResults value it goes with)
class IntermediaryResponderControl(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType(
            "transactionResults", TransactionResults().subtype(implicitTag=implicit(1))
        ),
        namedtype.OptionalNamedType(
            "resultsExplanation",
            univ.Choice(
                componentType=namedtype.NamedTypes(
                    namedtype.NamedType(
                        "conditionalResults",
                        ConditionalResults().subtype(explicitTag=explicit(1)),
                    ),
                    namedtype.NamedType(
                        "retryResults", RetryResults().subtype(explicitTag=explicit(2))
                    ),
                    namedtype.NamedType(
                        "unfilledResults", UnfilledResults().subtype(explicitTag=explicit(3))
                    ),
                    namedtype.NamedType(
                        "locationsResults", LocationsResults().subtype(explicitTag=explicit(4))
                    ),
                    namedtype.NamedType(
                        "willSupplyResults",
                        WillSupplyResults().subtype(explicitTag=explicit(5)),
                    ),
                    namedtype.NamedType(
                        "holdPlacedResults",
                        HoldPlacedResults().subtype(explicitTag=explicit(6)),
                    ),
                    namedtype.NamedType(
                        "estimateResults", EstimateResults().subtype(explicitTag=explicit(7))
                    ),
                )
            ).subtype(explicitTag=explicit(2)),
        ),
        namedtype.NamedType("responderId", SystemId().subtype(implicitTag=implicit_constructed(3))),
    )


# Intermediary-Control ::= SEQUENCE {
#      actionFlag		[0] IMPLICIT Intermediary-Actions,
#      lastResponder	[1] IMPLICIT Intermediary-Responder-Control OPTIONAL,
#      currentResponderId	[2] IMPLICIT System-Id OPTIONAL
#      }
class IntermediaryControl(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("actionFlag", IntermediaryActions().subtype(implicitTag=implicit(0))),
        namedtype.OptionalNamedType(
            "lastResponder",
            IntermediaryResponderControl().subtype(implicitTag=implicit_constructed(1)),
        ),
        namedtype.OptionalNamedType(
            "currentResponderId", SystemId().subtype(implicitTag=implicit_constructed(2))
        ),
    )
