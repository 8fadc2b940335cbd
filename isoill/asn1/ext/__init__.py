"""ISO ILL extension syntaxes and the registry that maps their OIDs to pyasn1 types.

An ILL ``Extension`` (and a few other fields) carries an ``EXTERNAL`` whose
``direct-reference`` names the syntax of its ``single-ASN1-type``. :data:`EXTENSION_SYNTAXES`
is the one place that says which OIDs this package can decode and with which type; the codec
looks the OID up there and decodes the content with ``asn1Spec=syntax.spec()``. An OID that is
not registered is left undecoded by the codec.

One submodule per ASN.1 module; see each module's docstring for its source. Class names are
the ASN.1 type names without hyphens and component names are the ASN.1 identifiers
unchanged, as in the main ILL module.
"""

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from isoill.asn1.ext import (
    apdu_delivery_info,
    forwarded_additional_info,
    intermediary_control,
    internal_reference_number,
    ipig_ill_request,
    ipig_system_number,
    ipig_user_error,
    oclc_ill_request,
    oclc_ill_service,
    oclc_prism_ill_error,
    oclc_shipped,
    oclc_specific_results,
    prompt1,
    supplemental_client_info,
    suppliers_reference,
    system_no,
)

__all__ = ["EXTENSION_SYNTAXES", "ExtensionSyntax", "syntax_for"]


@dataclass(frozen=True, slots=True)
class ExtensionSyntax:
    """A registered syntax: its OID (dotted), the ASN.1 module's name for it, its pyasn1 type.

    ``spec`` is the class of the value held in the EXTERNAL's ``single-ASN1-type``.
    """

    oid: str
    name: str
    spec: type[Any]


_SYNTAXES = (
    ExtensionSyntax(prompt1.OID, "AccessControlFormat-prompt-1", prompt1.PromptObject),
    ExtensionSyntax(
        oclc_prism_ill_error.OID, "OCLC-Prism-ILL-Error", oclc_prism_ill_error.OCLCPrismIllError
    ),
    ExtensionSyntax(
        oclc_ill_request.OID, "OCLCILLRequestExtension", oclc_ill_request.OCLCILLRequestExtension
    ),
    ExtensionSyntax(
        apdu_delivery_info.OID, "ILL-APDU-Delivery-Info", apdu_delivery_info.APDUDeliveryInfo
    ),
    ExtensionSyntax(
        supplemental_client_info.OID,
        "ILL-Supplemental-Client-Info",
        supplemental_client_info.SupplementalClientInfo,
    ),
    ExtensionSyntax(
        forwarded_additional_info.OID,
        "Forwarded-Additional-Info",
        forwarded_additional_info.ForwardedAddInfo,
    ),
    ExtensionSyntax(
        ipig_user_error.OID,
        "IPIG-Additional-User-Error-Information",
        ipig_user_error.AdditionalUserErrorReportInfo,
    ),
    ExtensionSyntax(
        suppliers_reference.OID, "Suppliers-Reference", suppliers_reference.SuppliersReference
    ),
    ExtensionSyntax(
        internal_reference_number.OID,
        "Internal-Reference-Number",
        internal_reference_number.InternalReference,
    ),
    ExtensionSyntax(
        ipig_ill_request.OID, "IPIG-ILL-Request-Extension", ipig_ill_request.IPIGILLRequestExtension
    ),
    ExtensionSyntax(oclc_ill_service.OID, "OCLCILLService", oclc_ill_service.OCLCILLService),
    ExtensionSyntax(
        oclc_specific_results.OID, "OCLCSpecificResults", oclc_specific_results.OCLCSpecificResults
    ),
    ExtensionSyntax(
        intermediary_control.OID, "Intermediary-Control", intermediary_control.IntermediaryControl
    ),
    ExtensionSyntax(oclc_shipped.OID, "OCLC-Shipped-Extension", oclc_shipped.OCLCShippedExtension),
    ExtensionSyntax(
        ipig_system_number.OID, "IPIG-System-Number", ipig_system_number.IPIGsystemnumber
    ),
    ExtensionSyntax(system_no.OID, "SystemNo", system_no.SystemNo),
)

#: Dotted OID -> registered syntax. Read-only.
EXTENSION_SYNTAXES: MappingProxyType[str, ExtensionSyntax] = MappingProxyType(
    {syntax.oid: syntax for syntax in _SYNTAXES}
)
if len(EXTENSION_SYNTAXES) != len(_SYNTAXES):  # pragma: no cover - a programming error
    raise RuntimeError("duplicate OID in the extension registry")


def syntax_for(oid: object) -> ExtensionSyntax | None:
    """The syntax registered for ``oid`` (a dotted string or a pyasn1 ObjectIdentifier)."""
    return EXTENSION_SYNTAXES.get(str(oid))
