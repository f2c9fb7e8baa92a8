"""Typed SQLAlchemy 2.0 models of Edgeward.

The invariants of DESIGN.md that a database can hold are constraints here, not code:
- a website holds exactly one security license (``security_license_id`` NOT NULL) and at most
  one backup license, and each column is UNIQUE, so a license is on at most one website;
- the composite foreign keys ``(license id, slot)`` make a backup license unusable as the
  security license and the other way round;
- a domain is unique among the websites that are not removed (a partial unique index).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass a timezone-aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Partner(Base):
    """A reseller or MSP; owns customers, a pool of licenses, users and API keys."""

    __tablename__ = "partners"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerUser(Base):
    """A member of a partner's staff who logs in to the portal (password: Argon2id hash)."""

    __tablename__ = "partner_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A partner API key: only its prefix (to find it) and its SHA-256 hash are stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Customer(Base):
    """A partner's customer and their contact information."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("partner_id", "email"),
        Index("ix_customers_partner_name", "partner_id", "name", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    company: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class License(Base):
    """A license of one plan. In the partner's pool until distributed (customer_id set).

    ``slot`` is the plan's slot (security or backup), stored so that websites can refer to
    ``(id, slot)`` and the database refuses a license in the wrong place. ``website_id`` is the
    site the license is or was last on (kept after expiry so a renewal can restore it).
    """

    __tablename__ = "licenses"
    __table_args__ = (
        UniqueConstraint("id", "slot", name="uq_licenses_id_slot"),
        CheckConstraint("slot IN ('security', 'backup')", name="slot"),
        CheckConstraint("status IN ('active', 'expired', 'upgraded')", name="status"),
        CheckConstraint("customer_id IS NULL OR ordered_at IS NOT NULL", name="ordered"),
        Index("ix_licenses_due", "expires_at", "id", postgresql_where=text("status = 'active'"),
              sqlite_where=text("status = 'active'")),
        Index("ix_licenses_pool", "partner_id", "plan_code", "customer_id"),
        # Workflow ids derive from license ids: SQLite must never hand out a deleted row's id.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    plan_code: Mapped[str] = mapped_column(String(40))
    slot: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="active")
    ordered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    auto_renew: Mapped[bool] = mapped_column(default=False)
    website_id: Mapped[int | None] = mapped_column(
        ForeignKey("websites.id", ondelete="SET NULL", use_alter=True), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Website(Base):
    """A customer's website and where its provisioning stands."""

    __tablename__ = "websites"
    __table_args__ = (
        ForeignKeyConstraint(["security_license_id", "security_slot"],
                             ["licenses.id", "licenses.slot"],
                             name="fk_websites_security_license"),
        ForeignKeyConstraint(["backup_license_id", "backup_slot"],
                             ["licenses.id", "licenses.slot"],
                             name="fk_websites_backup_license"),
        CheckConstraint("security_slot = 'security'", name="security_slot"),
        CheckConstraint("backup_slot = 'backup'", name="backup_slot"),
        CheckConstraint("dns_mode IN ('none', 'import', 'import_ssl')", name="dns_mode"),
        Index("uq_websites_active_domain", "domain_ascii", unique=True,
              postgresql_where=text("removed_at IS NULL"), sqlite_where=text("removed_at IS NULL")),
        # Workflow ids derive from website ids: SQLite must never hand out a deleted row's id.
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"),
                                             index=True)
    domain_ascii: Mapped[str] = mapped_column(String(253))
    domain_unicode: Mapped[str] = mapped_column(String(253))
    dns_mode: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(40), default="Pending")
    step_reason: Mapped[str] = mapped_column(Text, default="")
    origin_addresses: Mapped[list[str]] = mapped_column(default=list)
    security_license_id: Mapped[int] = mapped_column(Integer, unique=True)
    security_slot: Mapped[str] = mapped_column(String(10), default="security")
    backup_license_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    backup_slot: Mapped[str] = mapped_column(String(10), default="backup")
    backup_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    removed_at: Mapped[datetime | None]

    security_license: Mapped[License] = relationship(
        foreign_keys=[security_license_id], primaryjoin="Website.security_license_id == License.id")
    backup_license: Mapped[License | None] = relationship(
        foreign_keys=[backup_license_id], primaryjoin="Website.backup_license_id == License.id")


class Certificate(Base):
    """An issued certificate: the public chain and metadata; the private key only encrypted."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    website_id: Mapped[int] = mapped_column(ForeignKey("websites.id", ondelete="CASCADE"),
                                            index=True)
    names: Mapped[list[str]] = mapped_column(default=list)
    serial: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(300), default="")
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    fullchain_pem: Mapped[str] = mapped_column(Text)
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LicenseEvent(Base):
    """One transition of a license, and who or which workflow made it."""

    __tablename__ = "license_events"
    __table_args__ = (Index("ix_license_events_license", "license_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
