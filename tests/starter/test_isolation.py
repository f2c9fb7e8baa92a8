"""The tenant-isolation matrix: every API endpoint and portal page, called by partner A with
partner B's ids, answers 404 and changes nothing of B's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from schema.models import ApiKey, Customer, License, LicenseEvent, Website
from tests.fixtures.portal import PortalServer
from tests.starter.tenants import Tenant, csrf_of, login, make_tenant


def api_matrix(a: Tenant, b: Tenant) -> list[tuple[str, str, Any]]:
    site = {"dns_mode": "none", "domain": "isolation.test"}
    return [
        ("GET", f"/customers/{b.customer_id}", None),
        ("PATCH", f"/customers/{b.customer_id}", {"phone": "+0 000"}),
        ("POST", f"/customers/{b.customer_id}/licenses", {"plan_code": "pro"}),
        ("GET", f"/customers/{b.customer_id}/report.csv", None),
        ("GET", f"/licenses?customer_id={b.customer_id}", None),
        ("GET", f"/licenses/{b.pro_id}", None),
        ("POST", f"/licenses/{b.basic_id}/upgrade", {"plan_code": "pro"}),
        ("POST", f"/licenses/{b.pro_id}/renew", None),
        ("PUT", f"/licenses/{b.pro_id}/auto-renew", {"enabled": True}),
        ("POST", "/websites", {**site, "customer_id": b.customer_id, "license_id": b.basic_id}),
        ("POST", "/websites", {**site, "customer_id": a.customer_id, "license_id": b.basic_id}),
        ("POST", "/websites", {**site, "customer_id": b.customer_id, "license_id": a.basic_id}),
        ("GET", f"/websites/{b.website_id}", None),
        ("POST", f"/websites/{b.website_id}/check-name-servers", None),
        ("POST", f"/websites/{b.website_id}/cancel", None),
        ("POST", f"/websites/{b.website_id}/backup-license", {"license_id": b.backup_id}),
        ("POST", f"/websites/{a.website_id}/backup-license", {"license_id": b.backup_id}),
        ("GET", f"/websites/{b.website_id}/backup-settings", None),
        ("PUT", f"/websites/{b.website_id}/backup-settings", {"frequency": "weekly"}),
    ]


def snapshot(sessions: sessionmaker[Session], partner_id: int) -> tuple[Any, ...]:
    with sessions() as s:
        cust = s.scalars(select(Customer).where(Customer.partner_id == partner_id)
                         .order_by(Customer.id)).all()
        lics = s.execute(select(License.id, License.customer_id, License.status, License.expires_at,
                                License.auto_renew, License.website_id)
                         .where(License.partner_id == partner_id).order_by(License.id)).all()
        sites = s.execute(select(Website.id, Website.backup_license_id, Website.backup_settings,
                                 Website.step).where(Website.partner_id == partner_id)).all()
        keys = s.execute(select(ApiKey.id, ApiKey.revoked_at).where(ApiKey.partner_id == partner_id)).all()
        events = s.scalar(select(func.count()).select_from(LicenseEvent).join(
            License, License.id == LicenseEvent.license_id).where(License.partner_id == partner_id))
        return ([(c.name, c.email, c.phone) for c in cust], lics, sites, events, keys)


@pytest.fixture
def ab(portal: PortalServer, sessions: sessionmaker[Session]) -> tuple[Tenant, Tenant]:
    return make_tenant(sessions, "Alpha"), make_tenant(sessions, "Beta")


def test_every_api_endpoint_answers_404_for_another_partners_ids(
        portal: PortalServer, ab: tuple[Tenant, Tenant], sessions: sessionmaker[Session]) -> None:
    a, b = ab
    before = snapshot(sessions, b.partner_id)
    with httpx.Client(base_url=f"{portal.base_url}/api/v1", headers=a.auth, timeout=30) as api:
        for method, path, body in api_matrix(a, b):
            r = api.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert "not found" in r.json()["detail"]
            assert "beta" not in r.text.lower()  # no name, e-mail or company of B's
    assert snapshot(sessions, b.partner_id) == before


def portal_matrix(a: Tenant, b: Tenant) -> list[tuple[str, str, dict[str, str] | None]]:
    c, w = b.customer_id, b.website_id
    return [
        ("GET", f"/customers/{c}", None),
        ("GET", f"/customers/{c}/provisioning.json", None),
        ("GET", f"/customers/{c}/report.csv", None),
        ("GET", f"/websites/{w}", None),
        ("GET", f"/customers/{c}/licenses/{b.basic_id}/add-website", None),
        ("GET", f"/customers/{a.customer_id}/licenses/{b.basic_id}/add-website", None),
        ("POST", f"/customers/{c}/licenses/{b.basic_id}/add-website",
         {"step": "submit", "domain": "isolation.test", "dns_mode": "none"}),
        ("GET", f"/customers/{c}/websites/{w}/backup-license", None),
        ("POST", f"/customers/{c}/websites/{w}/backup-license", {"step": "submit",
                                                                 "license_id": str(b.backup_id)}),
        ("POST", f"/customers/{a.customer_id}/websites/{a.website_id}/backup-license",
         {"step": "submit", "license_id": str(b.backup_id)}),
        ("GET", f"/customers/{c}/licenses/{b.pro_id}/upgrade", None),
        ("POST", f"/customers/{c}/licenses/{b.basic_id}/upgrade", {"step": "submit", "plan_code": "pro"}),
        ("POST", f"/customers/{c}/licenses/{b.pro_id}/renew", {}),
        ("POST", f"/customers/{a.customer_id}/licenses/{b.pro_id}/renew", {}),
        ("POST", f"/customers/{c}/licenses/{b.pro_id}/auto-renew", {"enabled": "on"}),
        ("POST", f"/websites/{w}/check-name-servers", {}),
        ("POST", f"/websites/{w}/backup-settings", {"frequency": "weekly", "enabled": "on"}),
        ("POST", f"/api-keys/{b.api_key_id}/revoke", {}),
        ("POST", f"/customers/{c}/licenses", {"plan_code": "pro"}),
        ("POST", f"/websites/{w}/cancel", {}),
    ]


def test_every_portal_page_answers_404_for_another_partners_ids(
        portal: PortalServer, ab: tuple[Tenant, Tenant], sessions: sessionmaker[Session]) -> None:
    a, b = ab
    before = snapshot(sessions, b.partner_id)
    with httpx.Client(base_url=portal.base_url, timeout=30) as web:
        cookie = login(web, a.email, a.password)
        csrf = csrf_of(web.get("/customers", headers={"Cookie": cookie}).text)
        for method, path, form in portal_matrix(a, b):
            data = {**form, "csrf_token": csrf} if form is not None else None
            r = web.request(method, path, data=data, headers={"Cookie": cookie})
            assert r.status_code == 404, (method, path, r.status_code, r.text[:300])
            assert "not found" in r.text and "beta" not in r.text.lower()
    assert snapshot(sessions, b.partner_id) == before
