"""Query rows to API bodies, and what a website's owner must change at their DNS host."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schema.settings import Settings
from starter import queries
from starter.api.schemas import BackupSettings, CertificateOut, DnsRecord, LicenseOut, WebsiteOut


def license_out(r: queries.LicenseRow) -> LicenseOut:
    return LicenseOut(
        id=r.id, customer_id=r.customer_id, plan_code=r.plan_code, type=r.type, slot=r.slot,
        site_id=r.site_id, site_name=r.site_name, site_ascii=r.site_ascii,
        site_provisioning=r.site_provisioning, ordered_at=r.ordered_at, expires_at=r.expires_at,
        auto_renew=r.auto_renew, status=r.status, eligible_upgrades=r.eligible_upgrades)


def name_servers(settings: Settings, w: queries.WebsiteRow) -> list[str]:
    """Initiate DNS: the name servers the domain must be delegated to."""
    return [ns.rstrip(".") for ns in settings.nameservers] if w.dns_mode != "none" else []


def records_to_create(settings: Settings, w: queries.WebsiteRow) -> list[DnsRecord]:
    """No DNS: the records the customer creates at their own DNS host to reach the edge."""
    if w.dns_mode != "none":
        return []
    recs = [DnsRecord(name=w.domain_ascii, type="AAAA" if ":" in a else "A", value=a)
            for a in settings.edge_addresses]
    recs.append(DnsRecord(name=f"www.{w.domain_ascii}", type="CNAME", value=w.domain_ascii))
    return recs


def backup_settings(w: queries.WebsiteRow) -> BackupSettings | None:
    if w.backup_license_id is None:
        return None
    return BackupSettings.model_validate(w.backup_settings or {})


def website_out(session: Session, settings: Settings, partner_id: int,
                w: queries.WebsiteRow) -> WebsiteOut:
    cert = queries.certificate(session, partner_id, w.id)
    return WebsiteOut(
        id=w.id, customer_id=w.customer_id, domain=w.domain, domain_ascii=w.domain_ascii,
        dns_mode=w.dns_mode, step=w.step, step_reason=w.step_reason,  # type: ignore[arg-type]
        security_license_id=w.security_license_id, security_plan=w.security_plan,
        backup_license_id=w.backup_license_id, backup_plan=w.backup_plan, workflow_id=w.workflow_id,
        name_servers=name_servers(settings, w), records_to_create=records_to_create(settings, w),
        certificate=CertificateOut(**vars(cert)) if cert else None,
        backup_settings=backup_settings(w))
