"""ASN.1 module ``Forwarded-Additional-Info``, OID 1.0.10161.13.5.

Source: ``reference/asn1/ill-extensions.asn``: the module identifier ``{1 0 10161 13 5}``
gives the OID. Carries, with a Forward-Notification, why the forwarding responder could not
supply. No tagging default (EXPLICIT); the module defines no tags of its own.
"""
# mypy: allow-subclassing-any

from isoill.asn1.ill9702 import UnfilledResults

__all__ = ["OID", "ForwardedAddInfo"]

OID = "1.0.10161.13.5"


# Forwarded-Add-Info ::= Unfilled-Results
class ForwardedAddInfo(UnfilledResults):
    pass
