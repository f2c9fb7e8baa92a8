"""Small builders of test data: a partner with customers and a pool of licenses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from schema import licenses as svc
from schema.models import Customer, License, Partner, Website
from schema.plans import PLANS

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@dataclass
class World:
    partner_id: int
    customer_id: int
    other_customer_id: int


def make_world(session: Session, pool: dict[str, int] | None = None) -> World:
    """A partner, two customers, and ``pool`` licenses (plan code -> count) in its pool."""
    partner = Partner(name=f"partner-{uuid.uuid4().hex[:6]}")
    session.add(partner)
    session.flush()
    customers = []
    for n in range(2):
        c = Customer(partner_id=partner.id, name=f"Customer {n}", email=f"c{n}@example.test")
        session.add(c)
        customers.append(c)
    for code, count in (pool or {}).items():
        for _ in range(count):
            session.add(License(partner_id=partner.id, plan_code=code, slot=PLANS[code].slot.value,
                                status="active"))
    session.flush()
    return World(partner.id, customers[0].id, customers[1].id)


def give(session: Session, world: World, code: str, customer_id: int | None = None,
         now: datetime = NOW) -> License:
    """Distribute one license of ``code`` from the pool (adding one to the pool first)."""
    session.add(License(partner_id=world.partner_id, plan_code=code,
                        slot=PLANS[code].slot.value, status="active"))
    session.flush()
    return svc.distribute(session, world.partner_id, customer_id or world.customer_id, code, now,
                          "test")


def site(session: Session, world: World, lic: License, domain: str | None = None,
         now: datetime = NOW) -> Website:
    domain = domain or f"site-{uuid.uuid4().hex[:8]}.test"
    return svc.add_website(session, world.partner_id, svc.NewWebsite(
        customer_id=lic.customer_id or world.customer_id, domain_ascii=domain,
        domain_unicode=domain, dns_mode="none", license_id=lic.id), now, "test")
