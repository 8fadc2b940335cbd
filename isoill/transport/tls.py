"""TLS on a listener: the server context (standard library ``ssl``), and what a peer's client
certificate says about it (its subject's commonName, its SHA-256 fingerprint)."""

from __future__ import annotations

import hashlib
import ssl
from typing import cast

from isoill.config import ConfigError, Tls
from isoill.service.access import ClientCertificate


def server_context(tls: Tls) -> ssl.SSLContext:
    """A server context for TLS 1.2 or later; with ``client_ca`` it asks for a client
    certificate and verifies one signed by that CA (or listed in it, when self-signed).
    :class:`~isoill.config.ConfigError` when a file cannot be used."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.certificate, tls.key)
        if tls.client_ca is not None:
            context.load_verify_locations(cafile=tls.client_ca)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"tls: {error}") from None
    if tls.client_ca is not None:
        required = tls.require_client_certificate
        context.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
    return context


def client_certificate(ssl_object: ssl.SSLObject | None) -> ClientCertificate | None:
    """The peer's verified certificate, if it sent one."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        return None
    # getpeercert() gives the subject as RDNs, each a tuple of (attribute, value) pairs.
    subject = cast(
        tuple[tuple[tuple[str, str], ...], ...], (ssl_object.getpeercert() or {}).get("subject", ())
    )
    names = frozenset(value for rdn in subject for name, value in rdn if name == "commonName")
    return ClientCertificate(names, hashlib.sha256(der).hexdigest())
