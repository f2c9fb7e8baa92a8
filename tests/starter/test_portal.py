"""The portal over HTTP as a browser drives it: login, sessions that expire, CSRF rejection,
the Customer Details screen's columns, the site page and the backup schedule."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from schema import licenses as svc
from schema.models import ApiKey, License, PartnerUser, Website, utcnow
from schema.secrets import hash_password
from schema.settings import Settings
from starter.auth import SESSION_COOKIE, SessionSigner
from tests.fixtures.portal import PortalServer
from tests.starter.tenants import Tenant, csrf_of, login, make_tenant

LICENSE_COLUMNS = ["Type", "Site Name", "Site Provisioning", "Order Date", "Expiration Date",
                   "Auto Renewal", "Status", "Actions"]


@pytest.fixture
def a(portal: PortalServer, sessions: sessionmaker[Session]) -> Tenant:
    return make_tenant(sessions, "Alpha", with_cert=True)


@pytest.fixture
def web(portal: PortalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=portal.base_url, timeout=30) as c:
        yield c


def test_login_sets_a_secure_session_cookie_and_refuses_wrong_passwords(web: httpx.Client, a: Tenant) -> None:
    page = web.get("/login")
    assert '<label for="email">E-mail</label>' in page.text and 'id="password"' in page.text
    token = csrf_of(page.text)
    login_cookie = {"Cookie": f"ew_login_csrf={page.cookies['ew_login_csrf']}"}
    r = web.post("/login", data={"email": a.email, "password": "wrong password!", "csrf_token": token},
                 headers=login_cookie)
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    assert SESSION_COOKIE not in r.cookies
    r = web.post("/login", data={"email": a.email, "password": a.password, "csrf_token": "forged"},
                 headers=login_cookie)
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    r = web.post("/login", data={"email": a.email.upper(), "password": a.password, "csrf_token": token,
                                 "next": "//evil.example/x"}, headers=login_cookie)
    assert r.status_code == 303 and r.headers["location"] == "/customers"  # no open redirect
    set_cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE))
    assert {"HttpOnly", "Secure", "SameSite=strict"} <= {p.strip() for p in set_cookie.split(";")}
    assert "Max-Age=28800" in set_cookie


def test_pages_need_a_session_and_expired_or_forged_sessions_are_refused(
        web: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    r = web.get(f"/customers/{a.customer_id}")
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/customers/{a.customer_id}"
    signer = SessionSigner(Settings().secret_key)
    with sessions() as s:
        user = s.query(PartnerUser).filter_by(email=a.email).one()
        expired, _ = signer.issue(user, now=time.time() - signer.lifetime_s - 5)
        fresh, _ = signer.issue(user)
    assert web.get("/customers", headers={"Cookie": f"{SESSION_COOKIE}={fresh}"}).status_code == 200
    assert web.get("/customers", headers={"Cookie": f"{SESSION_COOKIE}={expired}"}).status_code == 303
    body, sig = fresh.split(".")
    forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sig
    assert web.get("/customers", headers={"Cookie": f"{SESSION_COOKIE}={forged}"}).status_code == 303
    with sessions.begin() as s:  # a new password ends the older sessions
        s.query(PartnerUser).filter_by(email=a.email).one().password_hash = hash_password("a new password 1")
    assert web.get("/customers", headers={"Cookie": f"{SESSION_COOKIE}={fresh}"}).status_code == 303


def test_forms_without_the_sessions_csrf_token_are_rejected_and_change_nothing(
        web: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    cookie = {"Cookie": login(web, a.email, a.password)}
    other_session = login(web, a.email, a.password)
    other_token = csrf_of(web.get("/customers", headers={"Cookie": other_session}).text)
    path = f"/customers/{a.customer_id}/licenses/{a.pro_id}/auto-renew"
    for data in ({"enabled": "on"}, {"enabled": "on", "csrf_token": "x" * 32},
                 {"enabled": "on", "csrf_token": other_token}):
        r = web.post(path, data=data, headers=cookie)
        assert r.status_code == 403 and "did not come from this portal" in r.text
    for other in (f"/customers/{a.customer_id}/licenses/{a.pro_id}/renew", "/logout",
                  f"/websites/{a.website_id}/backup-settings",
                  f"/customers/{a.customer_id}/licenses/{a.basic_id}/add-website"):
        r = web.post(other, data={"step": "submit", "domain": "csrf.test"}, headers=cookie)
        assert r.status_code == 403
    with sessions() as s:
        lic = s.get(License, a.pro_id)
        assert lic is not None and lic.auto_renew is False
        assert s.query(Website).filter_by(domain_ascii="csrf.test").count() == 0
    assert web.get("/customers", headers=cookie).status_code == 200  # logout was refused too


def test_customer_details_show_contact_licenses_table_and_websites(web: httpx.Client, a: Tenant) -> None:
    cookie = {"Cookie": login(web, a.email, a.password)}
    listing = web.get("/customers", headers=cookie).text
    assert "Customer and License Management" in listing and "Alpha Customer One" in listing
    html = web.get(f"/customers/{a.customer_id}", headers=cookie).text
    table = html.split('id="licenses"', 1)[1].split("</thead>", 1)[0]
    assert re.findall(r'<th scope="col">([^<]+)</th>', table) == LICENSE_COLUMNS
    assert "+1 555 0100" in html and "1 Main St" in html and "Alpha Ltd" in html
    assert "Download CSV" in html and f"/customers/{a.customer_id}/report.csv" in html
    assert f"/customers/{a.customer_id}/licenses/{a.basic_id}/add-website" in html
    assert f"/customers/{a.customer_id}/licenses/{a.pro_id}/upgrade" in html
    assert f"/customers/{a.customer_id}/websites/{a.website_id}/backup-license" in html
    assert "café." in html and "Pending" in html
    csv_resp = web.get(f"/customers/{a.customer_id}/report.csv", headers=cookie)
    assert csv_resp.status_code == 200 and "café." in csv_resp.content.decode("utf-8-sig")
    r = web.get(f"/customers/{a.customer_id}")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_site_page_shows_dns_to_change_certificate_and_saves_the_backup_schedule(
        web: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions.begin() as s:
        svc.attach_backup(s, a.partner_id, a.website_id, a.backup_id, now, "test")
        imported = svc.add_website(s, a.partner_id, svc.NewWebsite(
            customer_id=a.customer_id, domain_ascii=f"ns-{a.partner_id}.example.test",
            domain_unicode=f"ns-{a.partner_id}.example.test", dns_mode="import_ssl",
            license_id=a.basic_id), now, "test")
        imported.step, imported.step_reason = "Waiting for name servers", "NS still point at the old host"
    cookie = {"Cookie": login(web, a.email, a.password)}
    page = web.get(f"/websites/{a.website_id}", headers=cookie).text
    assert "Create these records" in page and ">CNAME<" in page and "CN=Pebble Intermediate" in page
    ns_page = web.get(f"/websites/{imported.id}", headers=cookie).text
    assert "ns1.edgeward.net" in ns_page and "NS still point at the old host" in ns_page
    assert "No certificate yet" in ns_page
    prov = web.get(f"/customers/{a.customer_id}/provisioning.json", headers=cookie).json()
    assert {(p["website_id"], p["waiting_for_name_servers"]) for p in prov} == {
        (a.website_id, False), (imported.id, True)}
    token = csrf_of(page)
    form = {"csrf_token": token, "enabled": "on", "frequency": "weekly", "weekday": "4", "hour": "3",
            "retention_days": "14"}
    r = web.post(f"/websites/{a.website_id}/backup-settings", data=form, headers=cookie)
    assert r.status_code == 303
    saved = web.get(f"/websites/{a.website_id}", headers=cookie).text
    assert 'value="weekly" selected' in saved and 'value="4" selected' in saved and 'value="14"' in saved
    r = web.post(f"/websites/{a.website_id}/backup-settings", data={**form, "hour": "24"}, headers=cookie)
    assert r.status_code == 422 and "hour" in r.text
    with httpx.Client(base_url=f"{str(web.base_url).rstrip('/')}/api/v1", headers=a.auth) as api:
        got = api.get(f"/websites/{a.website_id}/backup-settings").json()
    assert (got["frequency"], got["weekday"], got["retention_days"], got["include_database"]) == (
        "weekly", 4, 14, False)


def test_api_keys_are_shown_once_work_and_can_be_revoked(
        web: httpx.Client, a: Tenant, sessions: sessionmaker[Session], portal: PortalServer) -> None:
    cookie = {"Cookie": login(web, a.email, a.password)}
    token = csrf_of(web.get("/api-keys", headers=cookie).text)
    assert web.post("/api-keys", data={"csrf_token": token, "name": " "}, headers=cookie).status_code == 422
    r = web.post("/api-keys", data={"csrf_token": token, "name": "billing system"}, headers=cookie)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    key = re.search(r'id="new-key">(ew_[^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    listing = web.get("/api-keys", headers=cookie).text
    assert "billing system" in listing and key not in listing and key.split("_")[1] in listing
    with httpx.Client(base_url=f"{portal.base_url}/api/v1", timeout=30) as api:
        assert api.get("/customers", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        with sessions() as s:
            row = s.query(ApiKey).filter_by(name="billing system").one()
            assert key not in (row.key_hash, row.prefix)
        r = web.post(f"/api-keys/{row.id}/revoke", data={"csrf_token": token}, headers=cookie)
        assert r.status_code == 303
        assert api.get("/customers", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_distribute_from_the_pool_and_cancel_needs_a_running_provisioning(
        web: httpx.Client, a: Tenant, sessions: sessionmaker[Session]) -> None:
    cookie = {"Cookie": login(web, a.email, a.password)}
    page = web.get(f"/customers/{a.other_customer_id}", headers=cookie).text
    assert '<option value="premium">Premium (1 in pool)</option>' in page
    r = web.post(f"/customers/{a.other_customer_id}/licenses",
                 data={"csrf_token": csrf_of(page), "plan_code": "premium"}, headers=cookie)
    assert r.status_code == 303
    page = web.get(f"/customers/{a.other_customer_id}", headers=cookie).text
    assert "Premium <span" in page and '<option value="premium">' not in page
    r = web.post(f"/customers/{a.other_customer_id}/licenses",
                 data={"csrf_token": csrf_of(page), "plan_code": "premium"}, headers=cookie)
    assert r.status_code == 409 and "no unused Premium license" in r.text
    r = web.post(f"/websites/{a.website_id}/cancel", data={"csrf_token": csrf_of(page)}, headers=cookie)
    assert r.status_code == 409 and "is not running" in r.text
