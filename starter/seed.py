"""Demo data for `make up`: one partner with a login, an API key, customers and licenses.

Running it again keeps the data and gives the demo login a new password and a new API key,
since neither can be shown again once stored as a hash.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schema import licenses as svc
from schema.db import make_engine, make_session_factory
from schema.models import ApiKey, Customer, License, Partner, PartnerUser, utcnow
from schema.plans import PLANS
from schema.secrets import hash_password, new_api_key

DEMO_PARTNER = "Demo Partner"
DEMO_LOGIN = "demo@partner.example"
POOL_PER_PLAN = 5
DEMO_CUSTOMERS = (
    ("Alice Martin", "alice@alpha-shop.test", "Alpha Shop Ltd", "+44 20 7946 0001",
     "1 High Street, London"),
    ("Bruno Costa", "bruno@beta-blog.test", "Beta Blog", "+351 21 000 0002", "Rua Augusta 2, Lisboa"),
    ("Chloé Dubois", "chloe@xn--caf-dma.test", "Café Chloé", "+33 1 00 00 00 03",
     "3 rue de Rivoli, Paris"),
)
# The domains the demo customers will add; `make up` serves them on the old DNS host.
DEMO_DOMAINS = ("alpha-shop.test", "beta-blog.test", "café.test")
DISTRIBUTED_PLANS = ("basic", "pro", "pro_trial_30", "starter_paid_trial", "backup_small")


@dataclass(frozen=True)
class SeedResult:
    partner_id: int
    partner_name: str
    login_email: str
    password: str
    api_key: str
    customers: int
    pool_licenses: int


def seed_demo(url: str) -> SeedResult:
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            return _seed(session)
    finally:
        engine.dispose()


def _seed(session: Session) -> SeedResult:
    now = utcnow()
    partner = session.scalars(select(Partner).where(Partner.name == DEMO_PARTNER)).first()
    password = secrets.token_urlsafe(12)
    key, prefix, key_hash = new_api_key()
    if partner is None:
        partner = Partner(name=DEMO_PARTNER, created_at=now)
        session.add(partner)
        session.flush()
        session.add(PartnerUser(partner_id=partner.id, email=DEMO_LOGIN,
                                password_hash=hash_password(password)))
        for code in PLANS:
            for _ in range(POOL_PER_PLAN):
                session.add(License(partner_id=partner.id, plan_code=code,
                                    slot=PLANS[code].slot.value, status="active"))
        for name, email, company, phone, address in DEMO_CUSTOMERS:
            cust = Customer(partner_id=partner.id, name=name, email=email, company=company,
                            phone=phone, address=address)
            session.add(cust)
            session.flush()
            for code in DISTRIBUTED_PLANS:
                svc.distribute(session, partner.id, cust.id, code, now, "seed-demo")
    else:
        user = session.scalars(select(PartnerUser).where(PartnerUser.email == DEMO_LOGIN)).one()
        user.password_hash = hash_password(password)
        for old in session.scalars(select(ApiKey).where(ApiKey.partner_id == partner.id,
                                                        ApiKey.name == "demo")):
            old.revoked_at = now
    session.add(ApiKey(partner_id=partner.id, name="demo", prefix=prefix, key_hash=key_hash))
    session.flush()
    customers = len(session.scalars(select(Customer.id).where(
        Customer.partner_id == partner.id)).all())
    pool = len(session.scalars(select(License.id).where(
        License.partner_id == partner.id, License.customer_id.is_(None))).all())
    return SeedResult(partner.id, partner.name, DEMO_LOGIN, password, key, customers, pool)
