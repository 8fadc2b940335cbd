"""What the access tests share: ILL-Requests with a chosen requester and Prompt-1 login, and
test certificates made with the ``openssl`` command (the tests that need them skip without)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from paths import CAPTURES

from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.jsonform import from_json, to_json


def _system_id(symbol: str) -> dict[str, object]:
    return {"person-or-institution-symbol": {"institution-symbol": symbol}}


def prompt1(user_id: str, password: str) -> dict[str, object]:
    """An Extension with a Prompt-1 response, as ``yaz-illclient -o -u -p`` sends it."""
    response = [
        {"promptId": {"enummeratedPrompt": {"type": 1}}, "promptResponse": {"string": user_id}},
        {"promptId": {"enummeratedPrompt": {"type": 2}}, "promptResponse": {"string": password}},
    ]
    item = {"direct-reference": PROMPT_1, "encoding": {"single-ASN1-type": {"response": response}}}
    return {"identifier": 1, "item": item}


def request(
    number: int,
    *,
    requester: str | None = None,
    initial_requester: str | None = None,
    responder: str = "RESPLIB",
    login: tuple[str, str] | None = None,
) -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request) with its own transaction-qualifier, the
    parties given (the initial requester is the requester unless said; a party not given is
    an empty System-Id, as yaz-illclient sends it), and a Prompt-1 ``login`` (userId,
    password)."""
    document = to_json(decode((CAPTURES / "yaz-illclient-2.ber").read_bytes()))
    body = document["ILL-Request"]
    initial = initial_requester or requester
    body["transaction-id"]["transaction-qualifier"] = f"TX-{number:04d}"
    body["transaction-id"]["initial-requester-id"] = _system_id(initial) if initial else {}
    body["requester-id"] = _system_id(requester) if requester else {}
    body["responder-id"] = _system_id(responder)
    if login is not None:
        body["iLL-request-extensions"] = [prompt1(*login)]
    return encode(from_json(document))


@dataclass(frozen=True)
class Certificates:
    """A CA, the gateway's server certificate, and two client certificates (``client``
    signed by the CA with CN ``reqlib.example``, ``stranger`` self-signed), PEM files."""

    ca: Path
    server: Path
    server_key: Path
    client: Path
    client_key: Path
    stranger: Path
    stranger_key: Path


def make_certificates(directory: Path) -> Certificates:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make test certificates (and no cryptography package)")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory)

    def signed(name: str, cn: str, *extra: str) -> None:
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")
        run("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.pem",
            *extra,
        )

    def self_signed(name: str, cn: str) -> None:
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")
        run(
            "req",
            "-new",
            "-x509",
            "-key",
            f"{name}.key",
            "-subj",
            f"/CN={cn}",
            "-days",
            "2",
            "-out",
            f"{name}.pem",
        )

    self_signed("ca", "isoill test CA")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    signed("server", "127.0.0.1", "-extfile", "san.ext")
    signed("client", "reqlib.example")
    self_signed("stranger", "reqlib.example")
    return Certificates(
        ca=directory / "ca.pem",
        server=directory / "server.pem",
        server_key=directory / "server.key",
        client=directory / "client.pem",
        client_key=directory / "client.key",
        stranger=directory / "stranger.pem",
        stranger_key=directory / "stranger.key",
    )
