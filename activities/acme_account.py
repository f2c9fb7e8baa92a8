"""What the ACME activities keep: the account key (sealed at rest), the network wrapper that
keeps a rate limit's ``Retry-After``, CSRs and chain verification.

The account key is one ECDSA P-256 key per ACME directory, sealed by SecretBox in a file
(``<run dir>/acme/account-<directory hash>.sealed``), created once with O_EXCL so concurrent
workers agree on one key. Registering an existing key again returns the same account, so a CA
that forgot us (Pebble restarted) simply registers it anew.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import josepy as jose
import requests
from acme import messages
from acme.client import ClientNetwork
from acme.crypto_util import make_csr
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification

from schema.secrets import SecretBox

ACCOUNT_CONTEXT = b"acme-account-key"


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an ECDSA key")
    return key


def csr_for(key: ec.EllipticCurvePrivateKey | bytes, names: list[str]) -> bytes:
    """A CSR (PEM) for ``names`` signed by ``key`` (a key object or its PEM)."""
    pem = key if isinstance(key, bytes) else key_pem(key)
    return make_csr(pem, list(names))


class AcmeAccount:
    """The account key for one directory, created on first use and sealed at rest."""

    def __init__(self, folder: Path, directory_url: str, box: SecretBox) -> None:
        digest = hashlib.sha256(directory_url.encode()).hexdigest()[:16]
        self.path = folder / f"account-{digest}.sealed"
        self._box = box
        self._lock = threading.Lock()
        self._jwk: jose.JWKEC | None = None

    def jwk(self) -> jose.JWKEC:
        with self._lock:
            if self._jwk is None:
                self._jwk = jose.JWKEC(key=load_key(self._load_or_create()))
            return self._jwk

    def _load_or_create(self) -> bytes:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            sealed = self._box.seal(key_pem(ec.generate_private_key(ec.SECP256R1())), ACCOUNT_CONTEXT)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another worker made it first: use theirs
            else:
                with os.fdopen(fd, "wb") as f:
                    f.write(sealed)
        return self._box.open(self.path.read_bytes(), ACCOUNT_CONTEXT)


class AcmeNetwork(ClientNetwork):
    """``ClientNetwork`` with ES256, which keeps a problem's ``Retry-After`` (seconds) on it."""

    def __init__(self, key: jose.JWK, verify_ssl: str | bool = True) -> None:
        # requests takes a CA file path for `verify` too (the stub says bool only).
        super().__init__(key, alg=jose.ES256, verify_ssl=verify_ssl,  # type: ignore[arg-type]
                         user_agent="edgeward",
                         timeout=30)

    @classmethod
    def _check_response(cls, response: requests.Response,
                        content_type: str | None = None) -> requests.Response:
        try:
            return super()._check_response(response, content_type=content_type)
        except messages.Error as exc:
            exc.retry_after = _retry_after(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise


def _retry_after(value: Any) -> float | None:
    if not value:
        return None
    try:
        return max(1.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(str(value))
        return max(1.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def verify_chain(fullchain_pem: str, root_pem: str, key: bytes, names: list[str]) -> None:
    """The chain builds to the CA's root for every name, and the leaf carries our key.

    Raises ValueError saying what is wrong.
    """
    certs = x509.load_pem_x509_certificates(fullchain_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    leaf, intermediates = certs[0], certs[1:]
    ours = load_key(key).public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        raise ValueError("the certificate does not carry the key we generated")
    builder = verification.PolicyBuilder().store(verification.Store([root]))
    for name in names:
        try:
            builder.build_server_verifier(verification.DNSName(name)).verify(leaf, intermediates)
        except verification.VerificationError as exc:
            raise ValueError(f"no valid path to the CA root for {name}: {exc}") from None
