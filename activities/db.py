"""Database activities: what workflows record in Edgeward's own database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.errors import permanent
from schema.models import Certificate, License, Website, utcnow
from schema.secrets import SecretBox


@dataclass(frozen=True)
class SetStepInput:
    """The Site Provisioning value of one website, and why."""

    website_id: int
    step: str
    reason: str = ""


class DbActivities:
    """Writes from workflows to the database, each one idempotent."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    @activity.defn(name="db.set_website_step")
    def set_website_step(self, inp: SetStepInput) -> None:
        """Record the provisioning step shown in the Site Provisioning column."""
        with self._sessions.begin() as session:
            session.execute(update(Website).where(Website.id == inp.website_id).values(
                step=inp.step, step_reason=inp.reason, updated_at=utcnow()))


# -- Add Website (issue 4) -------------------------------------------------------------------


@dataclass(frozen=True)
class WebsiteInfo:
    """What a provisioning workflow needs to know about its website (no personal data)."""

    website_id: int
    domain_ascii: str
    plan_code: str
    dns_mode: str
    origin_addresses: list[str]
    removed: bool = False


@dataclass(frozen=True)
class WebsiteRef:
    website_id: int


@dataclass(frozen=True)
class RecordOriginInput:
    """The origin the edges proxy to: addresses (``ip`` or ``host:port``)."""

    website_id: int
    origins: list[str]


@dataclass(frozen=True)
class StoreCertificateInput:
    """An issued chain and its key, sealed by SecretBox (context: the website id) before it
    left the ACME activity; the key is never in a payload in plain text."""

    website_id: int
    fullchain_pem: str
    key_sealed: bytes


@dataclass(frozen=True)
class CertificateInfo:
    certificate_id: int
    sha256: str  # of the leaf (DER), hex
    names: list[str]
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class StoredCertificate:
    """A certificate as the edges need it: key opened (in memory only, never in a payload)."""

    info: CertificateInfo
    fullchain_pem: str
    key_pem: str


def key_context(website_id: int) -> bytes:
    """The SecretBox context of a website's certificate keys: a key sealed for one website
    does not open as another's."""
    return f"website:{website_id}:certificate-key".encode()


def leaf_info(fullchain_pem: str) -> tuple[str, list[str], datetime, datetime, str, str]:
    """(sha256 hex of the leaf DER, names, not_before, not_after, serial hex, issuer)."""
    leaf = x509.load_pem_x509_certificates(fullchain_pem.encode())[0]
    der = leaf.public_bytes(serialization.Encoding.DER)
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    return (hashlib.sha256(der).hexdigest(), names, leaf.not_valid_before_utc,
            leaf.not_valid_after_utc, format(leaf.serial_number, "x"), leaf.issuer.rfc4514_string())


class CertificateStore:
    """Certificates at rest: the chain in clear, the key sealed by SecretBox."""

    def __init__(self, session_factory: sessionmaker[Session], box: SecretBox) -> None:
        self._sessions = session_factory
        self._box = box

    def store(self, inp: StoreCertificateInput) -> CertificateInfo:
        """Idempotent: the same chain stored twice is one row."""
        sha, names, nb, na, serial, issuer = leaf_info(inp.fullchain_pem)
        self._box.open(inp.key_sealed, key_context(inp.website_id))  # refuse a key we cannot use
        with self._sessions.begin() as session:
            row = session.scalars(select(Certificate).where(
                Certificate.website_id == inp.website_id, Certificate.sha256 == sha)).first()
            if row is None:
                row = Certificate(website_id=inp.website_id, names=names, serial=serial, sha256=sha,
                                  issuer=issuer[:300], not_before=nb, not_after=na,
                                  fullchain_pem=inp.fullchain_pem, key_encrypted=inp.key_sealed)
                session.add(row)
                session.flush()
            return CertificateInfo(row.id, sha, names, nb, na)

    def load(self, certificate_id: int) -> StoredCertificate:
        with self._sessions() as session:
            row = session.get(Certificate, certificate_id)
            if row is None:
                raise LookupError(f"certificate {certificate_id} not found")
            key = self._box.open(row.key_encrypted, key_context(row.website_id)).decode()
            info = CertificateInfo(row.id, row.sha256, list(row.names), row.not_before,
                                   row.not_after)
            return StoredCertificate(info, row.fullchain_pem, key)


class WebsiteDbActivities:
    """The Add Website writes and reads (its own class so DbActivities stays small)."""

    def __init__(self, session_factory: sessionmaker[Session], certificates: CertificateStore) -> None:
        self._sessions = session_factory
        self._certs = certificates

    @activity.defn(name="db.get_website")
    def get_website(self, inp: WebsiteRef) -> WebsiteInfo:
        """The website's domain, plan and origin; a missing website is a permanent error."""
        with self._sessions() as session:
            site = session.get(Website, inp.website_id)
            if site is None:
                raise permanent(f"website {inp.website_id} does not exist (was it deleted?)")
            plan_code = session.scalar(select(License.plan_code).where(
                License.id == site.security_license_id)) or "basic"
            return WebsiteInfo(site.id, site.domain_ascii, plan_code, site.dns_mode,
                               list(site.origin_addresses or []), site.removed_at is not None)

    @activity.defn(name="db.record_origin")
    def record_origin(self, inp: RecordOriginInput) -> None:
        with self._sessions.begin() as session:
            session.execute(update(Website).where(Website.id == inp.website_id).values(
                origin_addresses=list(inp.origins), updated_at=utcnow()))

    @activity.defn(name="db.store_certificate")
    def store_certificate(self, inp: StoreCertificateInput) -> CertificateInfo:
        return self._certs.store(inp)
