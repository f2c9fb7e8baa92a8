"""The read side of the API and the portal: every query here is scoped to one partner.

Reads go straight to the database (DESIGN.md). Each function takes the caller's ``partner_id``
and filters on it, so another partner's id is simply not found (the routes answer 404). Rows come
back as frozen dataclasses, never ORM objects, so templates and JSON see the same shape.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from schema import plans
from schema.licenses import NotFound, get_customer, get_website
from schema.models import Certificate, Customer, License, Website
from schema.plans import LicenseStatus, PlanKind, Slot

# Site Provisioning values after which nothing more happens by itself.
FINAL_STEPS = frozenset({"Completed", "Failed", "Cancelled"})


class BadCursor(ValueError):
    """A pagination cursor that this API did not hand out."""

    code = "bad_cursor"


@dataclass(frozen=True)
class CustomerRow:
    id: int
    name: str
    email: str
    company: str
    phone: str
    address: str
    created_at: datetime


@dataclass(frozen=True)
class Page:
    items: list[CustomerRow]
    next_cursor: str | None


@dataclass(frozen=True)
class LicenseRow:
    """One row of the licenses table, with what the Actions column may offer."""

    id: int
    customer_id: int | None
    plan_code: str
    type: str
    slot: str
    site_id: int | None
    site_name: str | None
    site_ascii: str | None
    site_provisioning: str | None
    site_reason: str
    ordered_at: datetime | None
    expires_at: datetime | None
    auto_renew: bool
    status: str
    in_use: bool
    eligible_upgrades: list[str] = field(default_factory=list)

    @property
    def can_add_website(self) -> bool:
        return self.slot == Slot.SECURITY and not self.in_use and self.status == "Active"

    @property
    def can_manage_backup(self) -> bool:
        return self.slot == Slot.SECURITY and self.in_use and self.status == "Active"

    @property
    def can_upgrade(self) -> bool:
        return bool(self.eligible_upgrades) and self.status == "Active"

    @property
    def renewable(self) -> bool:
        kind = plans.plan(self.plan_code).kind
        return kind in (PlanKind.PAID, PlanKind.BACKUP) and self.status != "Upgraded"

    @property
    def auto_renew_applies(self) -> bool:
        return self.renewable


@dataclass(frozen=True)
class WebsiteRow:
    id: int
    customer_id: int
    domain: str
    domain_ascii: str
    dns_mode: str
    step: str
    step_reason: str
    security_license_id: int
    security_plan: str
    backup_license_id: int | None
    backup_plan: str | None
    backup_settings: dict[str, Any]
    workflow_id: str | None
    created_at: datetime
    removed_at: datetime | None

    @property
    def final(self) -> bool:
        return self.step in FINAL_STEPS


@dataclass(frozen=True)
class CertificateRow:
    names: list[str]
    issuer: str
    serial: str
    sha256: str
    not_before: datetime
    not_after: datetime


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this API handed out; start again without it") from None
    if not isinstance(values, list) or len(values) != arity:
        raise BadCursor("the cursor is not one this API handed out; start again without it")
    return values


def _customer_row(c: Customer) -> CustomerRow:
    return CustomerRow(c.id, c.name, c.email, c.company, c.phone, c.address, c.created_at)


def list_customers(session: Session, partner_id: int, q: str = "", limit: int = 50,
                   cursor: str | None = None) -> Page:
    """Customers ordered by name then id, ``limit`` at a time (keyset: stable under inserts)."""
    stmt = select(Customer).where(Customer.partner_id == partner_id)
    if q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(or_(func.lower(Customer.name).contains(needle, autoescape=True),
                              func.lower(Customer.email).contains(needle, autoescape=True),
                              func.lower(Customer.company).contains(needle, autoescape=True)))
    if cursor:
        name, last_id = decode_cursor(cursor, 2)
        if not isinstance(name, str) or not isinstance(last_id, int):
            raise BadCursor("the cursor is not one this API handed out; start again without it")
        stmt = stmt.where(or_(Customer.name > name, and_(Customer.name == name, Customer.id > last_id)))
    rows = session.scalars(stmt.order_by(Customer.name, Customer.id).limit(limit + 1)).all()
    items = [_customer_row(c) for c in rows[:limit]]
    nxt = encode_cursor(items[-1].name, items[-1].id) if len(rows) > limit else None
    return Page(items, nxt)


def customer(session: Session, partner_id: int, customer_id: int) -> CustomerRow:
    return _customer_row(get_customer(session, partner_id, customer_id))


def _license_stmt(partner_id: int) -> Select[License, Website]:
    return (select(License, Website)
            .outerjoin(Website, and_(Website.id == License.website_id,
                                     Website.partner_id == License.partner_id))
            .where(License.partner_id == partner_id))


def _license_row(lic: License, site: Website | None, now: datetime) -> LicenseRow:
    p = plans.plan(lic.plan_code)
    current = site is not None and site.removed_at is None and lic.id in (
        site.security_license_id, site.backup_license_id)
    status = plans.status_shown(lic.status, lic.expires_at, now)
    return LicenseRow(
        id=lic.id, customer_id=lic.customer_id, plan_code=lic.plan_code, type=p.name,
        slot=p.slot.value, site_id=site.id if site else None,
        site_name=site.domain_unicode if site else None,
        site_ascii=site.domain_ascii if site else None,
        site_provisioning=site.step if site and current else None,
        site_reason=site.step_reason if site and current else "",
        ordered_at=lic.ordered_at, expires_at=lic.expires_at, auto_renew=lic.auto_renew,
        status=status, in_use=current,
        eligible_upgrades=list(p.upgrades) if lic.status == LicenseStatus.ACTIVE else [])


def customer_licenses(session: Session, partner_id: int, customer_id: int,
                      now: datetime) -> list[LicenseRow]:
    get_customer(session, partner_id, customer_id)
    stmt = _license_stmt(partner_id).where(License.customer_id == customer_id).order_by(License.id)
    return [_license_row(lic, site, now) for lic, site in session.execute(stmt)]


def licenses(session: Session, partner_id: int, now: datetime, *, customer_id: int | None = None,
             pool: bool | None = None, plan_code: str | None = None, after: int = 0,
             limit: int = 100) -> list[LicenseRow]:
    """The partner's licenses by id (keyset on id): a customer's, the pool's, or all."""
    stmt = _license_stmt(partner_id).where(License.id > after)
    if customer_id is not None:
        stmt = stmt.where(License.customer_id == customer_id)
    if pool is True:
        stmt = stmt.where(License.customer_id.is_(None))
    elif pool is False:
        stmt = stmt.where(License.customer_id.is_not(None))
    if plan_code is not None:
        plans.plan(plan_code)
        stmt = stmt.where(License.plan_code == plan_code)
    rows = session.execute(stmt.order_by(License.id).limit(limit))
    return [_license_row(lic, site, now) for lic, site in rows]


def license_row(session: Session, partner_id: int, license_id: int, now: datetime) -> LicenseRow:
    row = session.execute(_license_stmt(partner_id).where(License.id == license_id)).first()
    if row is None:
        raise NotFound(f"license {license_id} not found")
    return _license_row(row[0], row[1], now)


def pool_counts(session: Session, partner_id: int) -> dict[str, int]:
    """Unused licenses in the partner's pool, per plan code."""
    stmt = (select(License.plan_code, func.count()).where(
        License.partner_id == partner_id, License.customer_id.is_(None),
        License.status == LicenseStatus.ACTIVE).group_by(License.plan_code))
    return {code: int(n) for code, n in session.execute(stmt)}


def upgrade_availability(session: Session, partner_id: int, customer_id: int | None,
                         codes: list[str], now: datetime) -> dict[str, int]:
    """For each target plan: the customer's unused valid licenses plus the pool's."""
    pool = pool_counts(session, partner_id)
    own: dict[str, int] = {}
    if customer_id is not None and codes:
        from schema.licenses import in_use_clause

        stmt = (select(License.plan_code, func.count()).where(
            License.partner_id == partner_id, License.customer_id == customer_id,
            License.plan_code.in_(codes), License.status == LicenseStatus.ACTIVE,
            or_(License.expires_at.is_(None), License.expires_at > now), ~in_use_clause())
            .group_by(License.plan_code))
        own = {code: int(n) for code, n in session.execute(stmt)}
    return {c: own.get(c, 0) + pool.get(c, 0) for c in codes}


def unused_backup_licenses(session: Session, partner_id: int, customer_id: int,
                           now: datetime) -> list[LicenseRow]:
    """The customer's backup licenses that are valid and on no website (the wizard's choices)."""
    return [r for r in customer_licenses(session, partner_id, customer_id, now)
            if r.slot == Slot.BACKUP and not r.in_use and r.status == "Active"]


def _website_row(site: Website, sec: License, backup: License | None) -> WebsiteRow:
    return WebsiteRow(
        id=site.id, customer_id=site.customer_id, domain=site.domain_unicode,
        domain_ascii=site.domain_ascii, dns_mode=site.dns_mode, step=site.step,
        step_reason=site.step_reason, security_license_id=site.security_license_id,
        security_plan=plans.plan(sec.plan_code).name, backup_license_id=site.backup_license_id,
        backup_plan=plans.plan(backup.plan_code).name if backup else None,
        backup_settings=dict(site.backup_settings or {}), workflow_id=site.workflow_id,
        created_at=site.created_at, removed_at=site.removed_at)


def customer_websites(session: Session, partner_id: int, customer_id: int) -> list[WebsiteRow]:
    get_customer(session, partner_id, customer_id)
    sites = session.scalars(select(Website).where(
        Website.partner_id == partner_id, Website.customer_id == customer_id)
        .order_by(Website.id)).all()
    return [website_row_of(session, s) for s in sites]


def website_row_of(session: Session, site: Website) -> WebsiteRow:
    sec = session.get(License, site.security_license_id)
    assert sec is not None  # NOT NULL foreign key
    backup = session.get(License, site.backup_license_id) if site.backup_license_id else None
    return _website_row(site, sec, backup)


def website(session: Session, partner_id: int, website_id: int) -> WebsiteRow:
    return website_row_of(session, get_website(session, partner_id, website_id))


def certificate(session: Session, partner_id: int, website_id: int) -> CertificateRow | None:
    """The newest certificate of the website, if one was issued."""
    get_website(session, partner_id, website_id)
    cert = session.scalars(select(Certificate).where(Certificate.website_id == website_id)
                           .order_by(Certificate.id.desc()).limit(1)).first()
    if cert is None:
        return None
    return CertificateRow(list(cert.names), cert.issuer, cert.serial, cert.sha256, cert.not_before,
                          cert.not_after)


def provisioning(session: Session, partner_id: int, customer_id: int) -> list[dict[str, Any]]:
    """The Site Provisioning value of each of the customer's websites (the live column)."""
    get_customer(session, partner_id, customer_id)
    rows = session.execute(select(Website.id, Website.step, Website.step_reason, Website.dns_mode)
                           .where(Website.partner_id == partner_id,
                                  Website.customer_id == customer_id))
    return [{"website_id": i, "step": s, "reason": r, "final": s in FINAL_STEPS,
             "waiting_for_name_servers": waiting_for_name_servers(s, m)} for i, s, r, m in rows]


def waiting_for_name_servers(step: str, dns_mode: str) -> bool:
    """Whether 'Check name servers now' helps: the workflow waits for the delegation."""
    return dns_mode == "import_ssl" and step not in FINAL_STEPS and "name server" in step.lower()
