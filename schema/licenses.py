"""The license service: every license change, in one transaction each, with its event.

Callers (activities, the API, the CLI) pass the partner whose data they act on, a timezone-aware
``now`` and an ``actor`` (a user's email, ``api:<key prefix>`` or ``workflow:<id>``). Every lookup
goes through :func:`get_license` / :func:`get_website`, which apply the tenant filter, so another
partner's id is simply not found. The caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schema import plans
from schema.models import Customer, License, LicenseEvent, Website
from schema.plans import LicenseStatus, PlanKind, Slot


class LicenseError(ValueError):
    """Root of the license errors; each message says what the user can do."""

    code = "license_error"


class NotFound(LicenseError):
    """No such license, customer or website for this partner."""

    code = "not_found"


class NotEligible(LicenseError):
    """The upgrade table does not allow this change."""

    code = "not_eligible"


class NoLicenseAvailable(LicenseError):
    """Neither the customer nor the partner's pool has an unused license of the plan."""

    code = "no_license_available"


class LicenseInUse(LicenseError):
    """The license is already on a website."""

    code = "license_in_use"


class LicenseExpired(LicenseError):
    """The license is expired or replaced and cannot be used."""

    code = "license_expired"


class WrongPlanKind(LicenseError):
    """A backup license where a security license belongs, or the other way round."""

    code = "wrong_plan_kind"


def record_event(session: Session, lic: License, kind: str, actor: str, now: datetime,
                 **details: Any) -> None:
    session.add(LicenseEvent(license_id=lic.id, kind=kind, actor=actor, at=now, details=details))


def get_license(session: Session, partner_id: int, license_id: int, *,
                for_update: bool = False) -> License:
    stmt = select(License).where(License.id == license_id, License.partner_id == partner_id)
    if for_update:
        stmt = stmt.with_for_update()
    lic = session.scalars(stmt).one_or_none()
    if lic is None:
        raise NotFound(f"license {license_id} not found")
    return lic


def get_customer(session: Session, partner_id: int, customer_id: int) -> Customer:
    cust = session.scalars(select(Customer).where(
        Customer.id == customer_id, Customer.partner_id == partner_id)).one_or_none()
    if cust is None:
        raise NotFound(f"customer {customer_id} not found")
    return cust


def get_website(session: Session, partner_id: int, website_id: int) -> Website:
    site = session.scalars(select(Website).where(
        Website.id == website_id, Website.partner_id == partner_id)).one_or_none()
    if site is None:
        raise NotFound(f"website {website_id} not found")
    return site


def website_of(session: Session, lic: License) -> Website | None:
    """The website the license is on now, if any."""
    return session.scalars(select(Website).where(or_(
        Website.security_license_id == lic.id, Website.backup_license_id == lic.id))).one_or_none()


def in_use_clause() -> Any:
    """SQL truth of 'this license is on a website'."""
    return exists().where(or_(Website.security_license_id == License.id,
                              Website.backup_license_id == License.id))


def _check_usable(lic: License, now: datetime, slot: Slot) -> None:
    p = plans.plan(lic.plan_code)
    if p.slot is not slot:
        raise WrongPlanKind(f"license {lic.id} is a {p.name} license; choose a {slot.value} license")
    if lic.status != LicenseStatus.ACTIVE or (lic.expires_at is not None and lic.expires_at <= now):
        raise LicenseExpired(f"license {lic.id} ({p.name}) is expired or replaced; renew it or "
                             "choose another license")


def distribute(session: Session, partner_id: int, customer_id: int, plan_code: str,
               now: datetime, actor: str) -> License:
    """Give the customer one unused license of ``plan_code`` from the partner's pool.

    Sets the Order Date and the first expiry. Concurrent distributions never take the same
    license: PostgreSQL skips rows another transaction has locked.
    """
    p = plans.plan(plan_code)
    get_customer(session, partner_id, customer_id)
    stmt = (select(License).where(License.partner_id == partner_id,
                                  License.plan_code == plan_code,
                                  License.customer_id.is_(None),
                                  License.status == LicenseStatus.ACTIVE)
            .order_by(License.id).limit(1).with_for_update(skip_locked=True))
    lic = session.scalars(stmt).first()
    if lic is None:
        raise NoLicenseAvailable(f"the partner's pool has no unused {p.name} license; "
                                 "buy more licenses of this plan first")
    lic.customer_id = customer_id
    lic.ordered_at = now
    lic.expires_at = plans.first_expiry(plan_code, now)
    session.flush()
    record_event(session, lic, "distributed", actor, now, customer_id=customer_id)
    return lic


@dataclass(frozen=True)
class NewWebsite:
    """What Add Website step 1 records."""

    customer_id: int
    domain_ascii: str
    domain_unicode: str
    dns_mode: str
    license_id: int
    workflow_id: str | None = None


def _write_or(session: Session, write: Callable[[], None], err: LicenseError) -> None:
    """Apply ``write`` in a savepoint and flush; a constraint violation (another session won
    the license or the domain) undoes just that write and raises ``err``."""
    try:
        with session.begin_nested():
            write()
            session.flush()
    except IntegrityError as exc:
        raise err from exc


def add_website(session: Session, partner_id: int, new: NewWebsite, now: datetime,
                actor: str) -> Website:
    """Record the website with its security license attached (the database refuses a used one)."""
    get_customer(session, partner_id, new.customer_id)
    lic = get_license(session, partner_id, new.license_id)
    if lic.customer_id != new.customer_id:
        raise NotFound(f"license {lic.id} is not one of this customer's licenses")
    _check_usable(lic, now, Slot.SECURITY)
    if website_of(session, lic) is not None:
        raise LicenseInUse(f"license {lic.id} is already on a website; choose an unused license")
    site = Website(partner_id=partner_id, customer_id=new.customer_id,
                   domain_ascii=new.domain_ascii, domain_unicode=new.domain_unicode,
                   dns_mode=new.dns_mode, security_license_id=lic.id,
                   workflow_id=new.workflow_id, step="Pending", created_at=now, updated_at=now)
    _write_or(session, lambda: session.add(site), LicenseInUse(
        f"license {lic.id} or domain {new.domain_unicode} was just taken by another website; "
        "choose an unused license or another domain"))
    lic.website_id = site.id
    record_event(session, lic, "attached", actor, now, website_id=site.id)
    return site


def attach_backup(session: Session, partner_id: int, website_id: int, license_id: int,
                  now: datetime, actor: str) -> Website:
    """Put an unused backup license of the site's customer on the site."""
    site = get_website(session, partner_id, website_id)
    lic = get_license(session, partner_id, license_id)
    if lic.customer_id != site.customer_id:
        raise NotFound(f"license {lic.id} is not one of this customer's licenses")
    _check_usable(lic, now, Slot.BACKUP)
    if site.backup_license_id == lic.id:
        return site
    if site.backup_license_id is not None:
        raise LicenseInUse(f"{site.domain_unicode} already has a backup license; upgrade it instead")
    if website_of(session, lic) is not None:
        raise LicenseInUse(f"license {lic.id} is already on a website; choose an unused license")
    def write() -> None:
        site.backup_license_id = lic.id

    _write_or(session, write, LicenseInUse(f"license {lic.id} was just attached to another website"))
    lic.website_id = site.id
    record_event(session, lic, "attached", actor, now, website_id=site.id)
    return site


def eligible_targets(lic: License) -> list[plans.Plan]:
    return [plans.plan(code) for code in plans.plan(lic.plan_code).upgrades]


def _unused_license_of(session: Session, partner_id: int, customer_id: int, plan_code: str,
                       now: datetime, actor: str) -> License:
    """An unused valid license of the plan: the customer's own first, else from the pool."""
    stmt = (select(License).where(License.partner_id == partner_id,
                                  License.customer_id == customer_id,
                                  License.plan_code == plan_code,
                                  License.status == LicenseStatus.ACTIVE,
                                  or_(License.expires_at.is_(None), License.expires_at > now),
                                  ~in_use_clause())
            .order_by(License.id).limit(1).with_for_update(skip_locked=True))
    own = session.scalars(stmt).first()
    if own is not None:
        return own
    try:
        return distribute(session, partner_id, customer_id, plan_code, now, actor)
    except NoLicenseAvailable:
        name = plans.plan(plan_code).name
        raise NoLicenseAvailable(f"no unused {name} license: the customer has none and the "
                                 f"partner's pool is empty; buy a {name} license first") from None


def upgrade(session: Session, partner_id: int, license_id: int, target_plan: str, now: datetime,
            actor: str) -> License:
    """Replace the license by an unused license of an eligible plan; the old one is Upgraded.

    Returns the new license. When the old license is on a website the new one takes its place.
    """
    old = get_license(session, partner_id, license_id, for_update=True)
    current = plans.plan(old.plan_code)
    target = plans.plan(target_plan)
    if old.customer_id is None:
        raise NotEligible(f"license {old.id} is still in the partner's pool; distribute it first")
    if old.status != LicenseStatus.ACTIVE:
        raise LicenseExpired(f"license {old.id} is {old.status}; only an active license can be "
                             "upgraded (renew it first)")
    if not plans.can_upgrade(old.plan_code, target_plan):
        allowed = ", ".join(p.name for p in eligible_targets(old)) or "none"
        raise NotEligible(f"{current.name} cannot be upgraded to {target.name}; "
                          f"eligible upgrades: {allowed}")
    new = _unused_license_of(session, partner_id, old.customer_id, target_plan, now, actor)
    site = website_of(session, old)
    if site is not None:
        if current.slot is Slot.SECURITY:
            site.security_license_id = new.id
        else:
            site.backup_license_id = new.id
        new.website_id = site.id
        site.updated_at = now
    old.status = LicenseStatus.UPGRADED
    session.flush()
    record_event(session, old, "upgraded", actor, now, to_license_id=new.id, to_plan=target_plan)
    record_event(session, new, "attached" if site else "upgrade_target", actor, now,
                 from_license_id=old.id, website_id=site.id if site else None)
    return new


def renew(session: Session, partner_id: int, license_id: int, now: datetime, actor: str) -> License:
    """Extend a paid license by its term from the later of now and its expiry.

    Renewing an expired license whose site was dropped to Basic puts it back on that site.
    """
    lic = get_license(session, partner_id, license_id, for_update=True)
    if lic.customer_id is None:
        raise NotEligible(f"license {lic.id} is still in the partner's pool; distribute it first")
    if lic.status == LicenseStatus.UPGRADED:
        raise LicenseExpired(f"license {lic.id} was replaced by an upgrade; renew the new license")
    try:
        new_expiry = plans.renewed_expiry(lic.plan_code, lic.expires_at, now)
    except plans.NotRenewable as exc:
        raise NotEligible(str(exc)) from None
    was_expired = lic.status == LicenseStatus.EXPIRED
    old_expiry = lic.expires_at
    lic.expires_at = new_expiry
    lic.status = LicenseStatus.ACTIVE
    restored = _restore_after_drop(session, lic, now, actor) if was_expired else None
    session.flush()
    record_event(session, lic, "renewed", actor, now,
                 old_expiry=old_expiry.isoformat() if old_expiry else None,
                 new_expiry=new_expiry.isoformat(), restored_website_id=restored)
    return lic


def _restore_after_drop(session: Session, lic: License, now: datetime, actor: str) -> int | None:
    """Put a renewed license back on the site it was dropped from, if that site is still there."""
    if lic.website_id is None:
        return None
    site = session.get(Website, lic.website_id)
    if site is None or site.removed_at is not None:
        return None
    if plans.plan(lic.plan_code).slot is Slot.BACKUP:
        if site.backup_license_id is None:
            site.backup_license_id = lic.id
            return site.id
        return None
    current = session.get(License, site.security_license_id)
    if current is None or plans.plan(current.plan_code).kind is not PlanKind.FREE:
        return None  # the site was upgraded since: the renewed license stays unused
    site.security_license_id = lic.id
    site.updated_at = now
    current.status = LicenseStatus.UPGRADED
    session.flush()
    record_event(session, current, "replaced", actor, now, by_license_id=lic.id)
    return site.id


def set_auto_renew(session: Session, partner_id: int, license_id: int, on: bool, now: datetime,
                   actor: str) -> License:
    lic = get_license(session, partner_id, license_id, for_update=True)
    p = plans.plan(lic.plan_code)
    if on and p.kind not in (PlanKind.PAID, PlanKind.BACKUP):
        raise NotEligible(f"a {p.name} license has nothing to renew; auto-renewal applies to paid "
                          "and backup licenses")
    if lic.status == LicenseStatus.UPGRADED:
        raise LicenseExpired(f"license {lic.id} was replaced by an upgrade")
    if lic.auto_renew != on:
        lic.auto_renew = on
        session.flush()
        record_event(session, lic, "auto_renew_on" if on else "auto_renew_off", actor, now)
    return lic
