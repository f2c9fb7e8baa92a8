"""Test helpers for certificates: a self-made CA-less certificate for a domain (edge tests that
do not need the ACME CA) and the SecretBox the tests seal keys with."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from schema.secrets import SecretBox
from schema.settings import DEV_SECRET_KEY, DEV_SECRET_KEY_ID


def secret_box() -> SecretBox:
    return SecretBox(DEV_SECRET_KEY, DEV_SECRET_KEY_ID)


def self_signed(domain: str, days: int = 90) -> tuple[str, str]:
    """(certificate PEM, key PEM) for ``domain`` and ``www.<domain>``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain),
                                                        x509.DNSName(f"www.{domain}")]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem
