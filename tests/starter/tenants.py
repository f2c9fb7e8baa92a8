"""Test data for the API and portal tests: a partner with a login, an API key, customers,
distributed licenses, a website and a pool, made through the license service as the app would."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from schema import licenses as svc
from schema.models import (
    ApiKey,
    Certificate,
    Customer,
    License,
    Partner,
    PartnerUser,
    Website,
    utcnow,
)
from schema.plans import PLANS
from schema.secrets import hash_password, new_api_key
from starter.auth import SESSION_COOKIE

POOL = {"basic": 4, "starter": 1, "pro": 3, "premium": 1, "backup_small": 2, "backup_medium": 1}


@dataclass
class Tenant:
    partner_id: int
    email: str
    password: str
    api_key: str
    customer_id: int
    other_customer_id: int
    basic_id: int  # unused Basic of customer_id
    pro_id: int  # unused Pro of customer_id
    backup_id: int  # unused Backup Small of customer_id
    site_license_id: int  # the Basic on the website
    website_id: int  # café.<tag>.test, No DNS, on site_license_id
    api_key_id: int = 0
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def jump_website_ids(s: Session) -> None:
    """Move the next website id to a random spot, so that this test's ``website-<id>`` workflow
    ids never meet another test's runs on the session-wide Temporal server (the tables are
    emptied between tests, and SQLite then hands out the same ids again)."""
    if s.scalar(select(func.max(Website.id))):
        return  # the test's first tenant already moved it
    jump = secrets.randbelow(10**9) + 10**6  # ids stay far below the 32-bit limit
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT setval('websites_id_seq', :jump)"), {"jump": jump})
        return
    # SQLite gives max(id) + 1: park a website of a partner of its own at the random id.
    p = Partner(name="id jump")
    s.add(p)
    s.flush()
    c = Customer(partner_id=p.id, name="id jump", email="jump@id.test")
    lic = License(partner_id=p.id, plan_code="basic", slot="security", status="active")
    s.add_all([c, lic])
    s.flush()
    lic.customer_id, lic.ordered_at = c.id, utcnow()
    s.add(Website(id=jump, partner_id=p.id,
                  customer_id=c.id, domain_ascii=f"jump{jump}.test", domain_unicode=f"jump{jump}.test",
                  dns_mode="none", security_license_id=lic.id))
    s.flush()


def make_tenant(sessions: sessionmaker[Session], name: str, with_cert: bool = False) -> Tenant:
    now = utcnow()
    tag = f"{name.lower()}{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(12)
    key, prefix, key_hash = new_api_key()
    with sessions.begin() as s:
        jump_website_ids(s)
        p = Partner(name=f"Partner {name}")
        s.add(p)
        s.flush()
        email = f"staff@{tag}.example"
        s.add(PartnerUser(partner_id=p.id, email=email, password_hash=hash_password(password)))
        api_key = ApiKey(partner_id=p.id, name="test", prefix=prefix, key_hash=key_hash)
        s.add(api_key)
        c1 = Customer(partner_id=p.id, name=f"{name} Customer One", email=f"one@{tag}.test",
                      company=f"{name} Ltd", phone="+1 555 0100", address="1 Main St")
        c2 = Customer(partner_id=p.id, name=f"{name} Customer Two", email=f"two@{tag}.test")
        s.add_all([c1, c2])
        for code, n in POOL.items():
            s.add_all(License(partner_id=p.id, plan_code=code, slot=PLANS[code].slot.value,
                              status="active") for _ in range(n))
        s.flush()
        site_lic = svc.distribute(s, p.id, c1.id, "basic", now, "test")
        basic = svc.distribute(s, p.id, c1.id, "basic", now, "test")
        pro = svc.distribute(s, p.id, c1.id, "pro", now, "test")
        backup = svc.distribute(s, p.id, c1.id, "backup_small", now, "test")
        site = svc.add_website(s, p.id, svc.NewWebsite(
            customer_id=c1.id, domain_ascii=f"xn--caf-dma.{tag}.test", domain_unicode=f"café.{tag}.test",
            dns_mode="none", license_id=site_lic.id, workflow_id=None), now, "test")
        if with_cert:
            s.add(Certificate(website_id=site.id, names=[site.domain_ascii], serial="0a1b", sha256="ab" * 32,
                              issuer="CN=Pebble Intermediate", not_before=now,
                              not_after=now + timedelta(days=90), fullchain_pem="-", key_encrypted=b"-"))
        return Tenant(p.id, email, password, key, c1.id, c2.id, basic.id, pro.id, backup.id, site_lic.id,
                      site.id, api_key.id)


def login(client: httpx.Client, email: str, password: str) -> str:
    """Log in through the form as a browser would; returns the session cookie header value.

    The cookie is ``Secure``, so httpx's cookie jar would not send it over plain http; the tests
    carry it by hand (Chromium does send it to 127.0.0.1).
    """
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers={"Cookie": f"ew_login_csrf={page.cookies['ew_login_csrf']}"})
    assert resp.status_code == 303, resp.text
    return f"{SESSION_COOKIE}={resp.cookies[SESSION_COOKIE]}"


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
